"""One overall time limit per request, over every HTTP attempt, wait and adaptation step.

A :class:`Deadline` is made when a request starts and made current (a context variable)
while the SDK runs; :mod:`spatial_nb.http_guard` reads it on every HTTP attempt the SDK makes:
each attempt gets the time left as its timeout, a slow or dribbling body is cut at the limit,
and a failed attempt is not retried when the SDK's next backoff wait would end past it. The
SDK keeps doing the retrying (:class:`RetrySchedule` is its schedule, in one place); nothing
here multiplies its attempts.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import SpatialNBError

__all__ = ["DEFAULT_TIMEOUT", "RetrySchedule", "Deadline", "DeadlineExceeded", "current", "active",
           "check_timeout", "FAULT_HEADER", "fault_of"]

#: Seconds one request may take in all (attempts, waits between them, adaptation), by default.
DEFAULT_TIMEOUT = 120.0
#: The SDK's exponential backoff base (``HttpRetryOptions.exp_base``); we send it explicitly.
EXP_BASE = 2.0

#: Header on answers spatial_nb.http_guard made up: ``connection`` (reset, refused, broken
#: body) or ``not-json`` (a 200 whose body is not JSON).
FAULT_HEADER = "x-spatial-nb-fault"

_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("spatial_nb_deadline", default=None)


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` as seconds (a positive number) or None (no limit); anything else is a ValueError."""
    if timeout is None:
        return None
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"timeout must be a number of seconds or None, got {timeout!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"timeout must be more than 0 seconds (or None for no limit), got {timeout!r}")
    return value


@dataclass(frozen=True)
class RetrySchedule:
    """How the SDK retries 408/429/5xx: its ``HttpRetryOptions``, and how long it may wait.

    Both SDK request paths (``generate_content``'s tenacity loop and the Interactions API's
    attempt-count backoff) wait ``min(initial_delay * 2**(n-1) + U(0, jitter), max_delay)``
    before attempt n+1.

    Example:
        >>> RetrySchedule(attempts=3, initial_delay=1.0, jitter=0.5).longest_wait(after_attempt=2)
        2.5
    """

    attempts: int = 3
    initial_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 1.0

    def longest_wait(self, after_attempt: int) -> float:
        """The most the SDK can sleep after attempt ``after_attempt`` (1-based) failed."""
        wait = self.initial_delay * EXP_BASE ** (after_attempt - 1) + self.jitter
        return min(wait, self.max_delay)

    def http_retry_options(self, status_codes: list[int]) -> Any:
        """The SDK's ``HttpRetryOptions`` for this schedule."""
        from google.genai import types

        return types.HttpRetryOptions(
            attempts=self.attempts, initial_delay=self.initial_delay, max_delay=self.max_delay,
            exp_base=EXP_BASE, jitter=self.jitter, http_status_codes=list(status_codes),
        )


class DeadlineExceeded(SpatialNBError):
    """The request's overall time ran out (raised inside the SDK; the client explains it)."""

    def __init__(self, deadline: Deadline, reason: str):
        self.timeout = deadline.timeout
        self.attempts = deadline.attempts_made
        self.last_failure = deadline.last_failure
        self.reason = reason
        super().__init__(reason)


class Deadline:
    """The time limit of one request and what happened under it.

    Args:
        timeout: Seconds for the whole request (None: no limit).
        schedule: The SDK's retry schedule (to know whether another attempt fits).
        retry_statuses: HTTP statuses the SDK retries.
        started: ``time.monotonic()`` at the start (default: now).
    """

    def __init__(self, timeout: float | None, schedule: RetrySchedule, retry_statuses: frozenset[int] | set[int],
                 started: float | None = None):
        self.timeout = timeout
        self.schedule = schedule
        self.retry_statuses = frozenset(retry_statuses)
        self.started = time.monotonic() if started is None else started
        self.attempt = 0  # HTTP attempts in the current SDK call
        self.attempts_made = 0  # HTTP attempts in all
        self.last_failure: str | None = None

    def time_left(self) -> float | None:
        """Seconds left (negative once over), or None without a limit."""
        if self.timeout is None:
            return None
        return self.timeout - (time.monotonic() - self.started)

    def expired(self) -> bool:
        left = self.time_left()
        return left is not None and left <= 0

    def begin_call(self) -> None:
        """A new SDK call starts (the SDK counts its attempts per call)."""
        self.attempt = 0

    def next_attempt(self) -> int:
        """Count one more HTTP attempt; returns its number within the current SDK call."""
        self.attempt += 1
        self.attempts_made += 1
        return self.attempt

    def room_for_retry(self, retry_after: float | None = None) -> bool:
        """True when the SDK may retry the attempt that just failed and still start in time."""
        if self.attempt >= self.schedule.attempts:
            return True  # the SDK will not retry: the failure is reported as it is
        left = self.time_left()
        if left is None:
            return True
        wait = max(self.schedule.longest_wait(self.attempt), retry_after or 0.0)
        return left > wait

    def exceeded(self, reason: str | None = None) -> DeadlineExceeded:
        """The error for "time is up" (``reason``: why the request stopped now)."""
        return DeadlineExceeded(self, reason or "the time limit was reached")


def fault_of(exc: BaseException) -> str | None:
    """The ``x-spatial-nb-fault`` of the answer behind an SDK error (None for real answers)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    try:
        return headers.get(FAULT_HEADER) if headers is not None else None
    except Exception:  # noqa: BLE001 - an unexpected headers type
        return None


def current() -> Deadline | None:
    """The deadline of the request running in this thread (or context), if any."""
    return _current.get()


@contextmanager
def active(deadline: Deadline) -> Iterator[Deadline]:
    """Make ``deadline`` current while the block runs (nested requests keep their own)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
