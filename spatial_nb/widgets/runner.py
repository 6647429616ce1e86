"""Run one job at a time off the kernel's message loop, with a live elapsed-time tick.

The click handler must return at once so the kernel keeps processing widget messages (the
status line can only tick if it does). ``BackgroundRunner.start`` takes a non-blocking lock
in the calling thread: a second click while a job runs is a no-op that returns False, never a
second API call. A supervisor thread runs the job in a worker thread and calls ``on_tick``
every ``tick_s`` seconds, then ``on_done`` with an :class:`Outcome`; the lock is released only
after ``on_done`` has finished, so the panel is fully updated before the next run can start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .messages import log_failure

__all__ = ["Outcome", "BackgroundRunner"]

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a job produced: a value or an exception, and how long it took."""

    value: Any = None
    error: BaseException | None = None
    elapsed_s: float = 0.0


class BackgroundRunner:
    """One background job at a time.

    Example:
        >>> r = BackgroundRunner()
        >>> done = []
        >>> r.start(lambda: 42, on_done=done.append)
        True
        >>> r.wait(5)
        True
        >>> done[0].value
        42
    """

    def __init__(self, tick_s: float = 0.2):
        self.tick_s = tick_s
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self.started = 0  # how many jobs were actually started (tests read it)

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def start(
        self,
        job: Callable[[], Any],
        on_done: Callable[[Outcome], None] | None = None,
        on_tick: Callable[[float], None] | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> bool:
        """Start ``job`` in the background unless one is running; returns whether it started.

        ``on_start`` runs in the calling thread once the job is sure to start and before it
        does (so "running" UI is set before a fast job can finish and reset it).
        """
        if not self._lock.acquire(blocking=False):
            return False
        self._idle.clear()
        self.started += 1
        try:
            if on_start is not None:
                on_start()
            threading.Thread(
                target=self._supervise, args=(job, on_done, on_tick), daemon=True, name="spatial_nb-panel-run"
            ).start()
        except BaseException:
            self._finish()
            raise
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs; False when ``timeout`` seconds passed first."""
        return self._idle.wait(timeout)

    # -- internals ----------------------------------------------------------------------------
    def _finish(self) -> None:
        self._idle.set()
        self._lock.release()

    def _supervise(self, job, on_done, on_tick) -> None:
        outcome = Outcome()
        t0 = time.monotonic()

        def work() -> None:
            try:
                outcome.value = job()
            except BaseException as exc:  # noqa: BLE001 - handed to on_done, shown in the panel
                outcome.error = exc

        worker = threading.Thread(target=work, daemon=True, name="spatial_nb-panel-call")
        worker.start()
        try:
            while True:
                worker.join(self.tick_s)
                if not worker.is_alive():
                    break
                if on_tick is not None:
                    try:
                        on_tick(time.monotonic() - t0)
                    except Exception as exc:  # a failed status update must not stop the run
                        log_failure(log, "on_tick", exc)
            outcome.elapsed_s = time.monotonic() - t0
            if on_done is not None:
                try:
                    on_done(outcome)
                except Exception as exc:
                    log_failure(log, "on_done", exc)
        finally:
            self._finish()
