"""Waiting for a Batch API job: which states are final, and a wait that always ends.

Final states come from google-genai's ``JobState`` enum — succeeded, partially succeeded,
failed, cancelled, expired — the SDK's own ``JOB_STATES_ENDED`` leaves out partial success.
Every other enum member means "still working". A state the SDK does not know ends the wait
when the job reports an end time, and otherwise after a few checks in a row, with a
one-line error; a deadline bounds the whole wait. The job itself is never cancelled.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import GeminiRequestError

__all__ = ["FINAL_STATE_NAMES", "SUCCESS_STATE_NAMES", "UNKNOWN_STATE_CHECKS", "final_states", "job_state", "wait_for_job"]

#: ``JobState`` members after which a job no longer changes.
FINAL_STATE_NAMES = ("JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED", "JOB_STATE_FAILED",
                     "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED")
#: Final states that come with answers.
SUCCESS_STATE_NAMES = ("JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED")
#: Checks in a row in a state the SDK does not know (and no end time) before giving up.
UNKNOWN_STATE_CHECKS = 5


def final_states() -> tuple[frozenset[str], frozenset[str]]:
    """``(final, still working)`` state names, both taken from the SDK's ``JobState`` enum."""
    from google.genai import types

    members = set(types.JobState.__members__)
    final = frozenset(name for name in FINAL_STATE_NAMES if name in members)
    working = frozenset(members - final - {"JOB_STATE_UNSPECIFIED"})
    return final, working


def job_state(job: Any) -> str:
    """The job's state as a ``JOB_STATE_*`` name (the API's ``BATCH_STATE_*`` spelling mapped)."""
    state = getattr(job, "state", None)
    name = getattr(state, "name", None) or str(state or "JOB_STATE_UNSPECIFIED")
    return "JOB_STATE_" + name[len("BATCH_STATE_"):] if name.startswith("BATCH_STATE_") else name


def _sdk_version() -> str:
    try:
        from google.genai import version

        return version.__version__
    except (ImportError, AttributeError):  # pragma: no cover - very old or odd installs
        return "unknown"


def wait_for_job(
    sdk: Any,
    name: str,
    *,
    poll_interval: float,
    deadline: float | None,
    progress: bool,
    on_poll: Callable[[str, float], None] | None = None,
) -> tuple[Any, str]:
    """Poll ``batches.get`` until the job ends; returns ``(job, state)``.

    Args:
        deadline: ``time.monotonic()`` value after which waiting stops (None: no limit).

    Raises:
        GeminiRequestError: The deadline passed, or the job stayed in a state this SDK does
            not know (both say the job keeps running and how to collect it later).
    """
    final, working = final_states()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=None, desc=f"batch job {name}", unit="check", dynamic_ncols=True)
    start = time.monotonic()
    unknown = 0
    try:
        while True:
            with warnings.catch_warnings():  # the SDK warns "<state> is not a valid JobState"
                warnings.simplefilter("ignore")
                job = sdk.batches.get(name=name)
            state = job_state(job)
            waited = time.monotonic() - start
            if bar is not None:
                bar.update(1)
                bar.set_postfix(state=state.removeprefix("JOB_STATE_"), waited=f"{waited:.0f}s", refresh=True)
            if on_poll is not None:
                on_poll(state, waited)
            if state in final:
                return job, state
            if state not in working:
                if getattr(job, "end_time", None) is not None:
                    return job, state  # it ended, in a state this SDK has no name for
                unknown += 1
                if unknown >= UNKNOWN_STATE_CHECKS:
                    raise GeminiRequestError(
                        f"batch job {name} reports state {state!r}, which google-genai {_sdk_version()} does "
                        f"not know, on {unknown} checks in a row; stopped waiting (the job keeps running): "
                        "run the same command again later, or upgrade google-genai"
                    )
            else:
                unknown = 0
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise GeminiRequestError(
                    f"batch job {name} is still {state.removeprefix('JOB_STATE_')} after {waited:.0f} s "
                    "(the deadline); it keeps running — run the same command again later to collect the answers"
                )
            time.sleep(poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - now)))
    finally:
        if bar is not None:
            bar.close()
