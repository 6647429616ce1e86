"""Label a folder: many images, one prompt, concurrent requests, results streamed to disk.

A pipeline of two thread pools (:mod:`spatial_nb.batch.stages`): a few preparation threads
(one per core) read each file, answer from the cache when they can (no decode) and otherwise
decode, shrink and encode it, while the request threads (the SDK call is blocking I/O) run up
to ``concurrency`` requests, each sending an image prepared ahead of it; an
:class:`AdaptiveLimit` lowers that number when 429s get through the SDK's own retries. So
preparing the next images overlaps the requests in flight instead of holding a request slot.
Prefetch is bounded (at most the current limit plus one per preparation thread, ~100 KB
each), and an image waiting to be sent again keeps only its name (it is prepared again).

The main thread alone writes ``results.jsonl`` — one flushed JSON line per finished image — so
a crash or Ctrl-C loses at most the requests in flight (and those still land in the answer
cache); a re-run skips every image already recorded ``"ok"``. Memory stays flat: results go to
disk, not into a list. Record names are :func:`~spatial_nb.filenames.escape_file_name` of the
file name, so names of any bytes are stored losslessly and one odd name never stops a run.

One retry mechanism: inside a folder run the SDK sends each request once
(``Client.copy(retry_attempts=1)``) and the runner alone retries what may pass later
(``GeminiRequestError.transient``: 429, 5xx, resets, non-JSON bodies; and empty answers),
with its own doubling delay, the concurrency limiter seeing every 429, and all attempts of
one image inside that image's time limit (the client's ``timeout``, counted from its first
request; each attempt gets the time left).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..empty_answers import empty_answer_message, is_empty_answer, is_refusal
from ..errors import GeminiRequestError, MissingKeyError, SpatialNBError
from ..filenames import escape_file_name
from ..images import PreparedImage
from ..redaction import redact
from . import stages
from .folders import IMAGE_EXTENSIONS, NameList, find_images, image_names
from .limiter import AdaptiveLimit
from .records import (RESULTS_FILENAME, BatchSummary, _prepare_out, _Writer, load_results, read_records,
                      run_settings)
from .stages import DETECT_DEFAULTS, plan_request

__all__ = [
    "IMAGE_EXTENSIONS",
    "RESULTS_FILENAME",
    "BatchSummary",
    "DETECT_DEFAULTS",
    "find_images",
    "image_names",
    "plan_request",
    "read_records",
    "load_results",
    "run_folder",
]

#: A full garbage collection after this many records: the SDK leaves reference cycles
#: (~0.2 KB per request) that Python's generational GC otherwise lets pile up for thousands
#: of requests; collecting keeps a 100,000-image run as small as a 100-image one.
GC_EVERY = 100

_is_ours = stages.is_ours


@dataclass
class _Job:
    name: str
    attempt: int = 0
    empty: int = 0  # empty answers so far
    not_before: float = 0.0
    epoch: int = 0
    started: float = 0.0
    deadline_at: float | None = None  # time.monotonic() when this image's time limit ends
    last_error: str | None = None  # why the last attempt failed (for a time-limit record)
    prepared: PreparedImage | None = None  # set between preparation and sending only


def _is_transient(exc: BaseException) -> bool:
    """True for a failure that may pass if the same request is sent later (the error says so)."""
    return isinstance(exc, GeminiRequestError) and bool(getattr(exc, "transient", False))


class _OutOfTime(GeminiRequestError):
    """An image whose time limit ran out before it could be sent again."""


def run_folder(
    folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
    prompt: str,
    kind: str = "boxes",
    *,
    out: str | os.PathLike | None = None,
    concurrency: int = 8,
    client: Any = None,
    model: str | None = None,
    temperature: float = 0.5,
    max_size: int = 640,
    progress: bool = True,
    resume: bool = True,
    recursive: bool = True,
    on_record: Callable[[dict[str, Any], BatchSummary], None] | None = None,
    max_requeues: int = 4,
    empty_retries: int = 2,
    requeue_delay: float = 2.0,
    increase_after: int = 10,
    prepare_threads: int | None = None,
    **detect_kwargs: Any,
) -> BatchSummary:
    """Ask the same question about every image in a folder; write one JSON line per image.

    Each line of ``out/results.jsonl`` is ``{"path": <name relative to the folder, escaped by
    spatial_nb.filenames.escape_file_name>,
    "status": "ok" | "error", "result": <Result.to_dict()> | "error": <message>,
    "elapsed_s": <seconds>}`` and is flushed as soon as the image finishes. Re-running with
    the same ``out`` skips images already recorded ``"ok"`` (errors are tried again), and the
    answer cache skips requests answered before.

    Args:
        folder_or_paths: A folder (see :func:`find_images`) or a list of image paths.
        prompt: The prompt for every image.
        kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``.
        out: Output folder (default ``./spatial_nb_batch``); holds ``results.jsonl`` and
            ``run.json`` (the settings; a resume with other settings is refused).
        concurrency: Most requests in flight; lowered automatically on 429s.
        client: A :class:`spatial_nb.Client` (default: ``Client(model=model)``).
        model, temperature, max_size, **detect_kwargs: Passed to ``client.detect``.
        progress: Show a tqdm bar (images, items, tokens, errors, current concurrency).
        resume: False moves an existing ``results.jsonl`` aside and starts over.
        on_record: Called with each record and the running summary after it is written.
        max_requeues: How often one image is sent again after a failure that may pass
            (``GeminiRequestError.transient``: 429, 5xx, a reset, a non-JSON body, the time
            limit of one attempt). The only retrying in a folder run: the SDK sends each
            request once here (a :class:`~spatial_nb.Client` is used as ``client.copy(
            retry_attempts=1)``), so attempts never multiply.
        empty_retries: How often one image is asked again after an answer with no text at
            all (no candidates, no text parts); then it gets an ``"error"`` record. A parsed
            ``[]`` is a valid "nothing found"; a blocked prompt or a safety stop is an error at
            once (Gemini said why). Empty answers never stay in the answer cache.
        requeue_delay: Seconds before the first re-send (doubles each time). Every attempt
            of one image, and the waits between them, fit in the client's ``timeout`` (120 s
            by default): a re-send that would start later is not made, and the image gets an
            ``"error"`` record saying so (a re-run tries it again).
        increase_after: Successes in a row before concurrency grows by one again.
        prepare_threads: Threads that read, decode and shrink images ahead of the requests
            (default: one per CPU core, at most ``concurrency``). They do not count against
            ``concurrency``, which bounds only the requests in flight.

    Returns:
        A :class:`BatchSummary` (also printable).

    Raises:
        MissingKeyError: No API key (nothing is sent).
        KeyboardInterrupt: After Ctrl-C, once the requests in flight are finished and
            written (press again to abandon them; they still land in the cache).
    """
    started = time.perf_counter()
    if prepare_threads is not None and (isinstance(prepare_threads, bool) or int(prepare_threads) < 1):
        raise ValueError(f"prepare_threads must be 1 or more (or None: one per core), got {prepare_threads!r}")
    root, names = image_names(folder_or_paths, recursive=recursive)
    out_dir = Path(out) if out is not None else Path.cwd() / "spatial_nb_batch"
    if client is None:
        from ..client import Client

        client = Client(model=model)
    image_timeout: float | None = None
    if _is_ours(client):
        client = client.copy(retry_attempts=1)  # the runner does the retrying (module doc)
        image_timeout = client.timeout
    kwargs: dict[str, Any] = {"kind": kind, "temperature": temperature, "max_size": max_size, **detect_kwargs}
    if model is not None:
        kwargs["model"] = model
    settings = run_settings(prompt, kind, model or getattr(client, "model", None), temperature, max_size, detect_kwargs)
    results_path, already = _prepare_out(out_dir, settings, resume)
    summary = BatchSummary(images=len(names), path=results_path, lowest_concurrency=concurrency)
    summary.skipped = sum(1 for n in names if escape_file_name(n) in already)
    # The names live on as ONE string (a 100k-image folder: a few MB, not a list of 100k
    # objects); fresh jobs are cut from it one at a time, only re-sends wait in a queue.
    fresh: Iterator[str] = (n for n in NameList(names) if escape_file_name(n) not in already)
    del names
    next_fresh: str | None = next(fresh, None)
    pending: deque[_Job] = deque()
    limit = AdaptiveLimit(concurrency, increase_after=increase_after)
    bar = _progress_bar(progress, summary)
    writer = _Writer(results_path)
    pipelined = _is_ours(client)  # a stand-in client gets paths: it prepares inside its requests
    prep_threads = int(prepare_threads) if prepare_threads is not None else stages.default_prepare_threads(concurrency)
    preparer = ThreadPoolExecutor(max_workers=prep_threads, thread_name_prefix="spatial-nb-prepare")
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="spatial-nb-batch")
    warm_up_lock = threading.Lock()
    warming: list[Future] = []

    def cache_missed() -> None:
        """Called by a preparation thread on its way to decode an image that must be sent:
        the first time, the SDK client and types are built on a request thread while the
        images are prepared, not by the first request while the others queue behind it
        (~60 ms of CPU; a run answered wholly from the cache never builds them)."""
        with warm_up_lock:
            if not warming:
                warming.append(executor.submit(_warm_up, client))
    preparing: dict[Future, _Job] = {}  # being read / answered from the cache / prepared
    ready: deque[_Job] = deque()  # prepared, waiting for a request slot
    in_flight: dict[Future, _Job] = {}  # requests

    def requeue(job: _Job, tries: int, error: str) -> bool:
        """Send ``job`` again after the ``tries``-th doubling delay, if that fits its time limit.

        ``error`` is why this attempt failed (kept for a later time-limit record). The caller
        counts the attempt only when this returns True.
        """
        job.last_error = error
        job.not_before = time.monotonic() + requeue_delay * 2 ** (tries - 1)
        if job.deadline_at is not None and job.not_before >= job.deadline_at:
            return False
        pending.appendleft(job)
        summary.requeued += 1
        return True

    def out_of_time(message: str, job: _Job) -> str:
        if job.deadline_at is None or job.not_before < job.deadline_at:
            return message
        return (f"{message} (gave up after {job.attempt + job.empty + 1} attempts: the {image_timeout:g} s "
                "limit for this image ran out; run again to retry it, or raise --timeout / Client(timeout=...))")

    def record(job: _Job, fut: Future, notify: bool = True) -> None:
        """Turn a finished future into a record (or a re-queue)."""
        elapsed = time.perf_counter() - job.started
        name = escape_file_name(job.name)  # what the record stores (lossless, valid UTF-8)
        exc = fut.exception()
        if exc is None:
            res, elapsed = fut.result()
            if is_empty_answer(res):  # the client warned and did not cache it
                summary.empty_answers += 1
                message = empty_answer_message(res, attempts=job.empty + 1)
                if (not is_refusal(res) and job.empty < empty_retries and notify
                        and requeue(job, job.empty + 1, message)):
                    job.empty += 1
                    return
                message = out_of_time(message, job)
                rec = {"path": name, "status": "error", "error": message, "finish_reason": res.finish_reason,
                       "elapsed_s": round(elapsed, 3)}
                summary.errors += 1
                summary.error_messages[name] = message
            else:
                rec = {"path": name, "status": "ok", "result": res.to_dict(), "elapsed_s": round(elapsed, 3)}
                summary.count_answer(res)
                limit.on_success()
        else:
            if isinstance(exc, (MissingKeyError, TypeError)):
                raise exc  # every request would fail the same way
            throttled = isinstance(exc, GeminiRequestError) and getattr(exc, "status", None) == 429
            if throttled and limit.on_throttle(job.epoch):
                summary.throttles = limit.throttles
                summary.lowest_concurrency = limit.lowest
            message = str(exc) if isinstance(exc, SpatialNBError) else f"{type(exc).__name__}: {exc}"
            message = redact(message, getattr(client, "_secret_key", lambda: None)())
            if isinstance(exc, _OutOfTime):
                pass  # already says why; nothing more to try
            elif (throttled or _is_transient(exc)) and job.attempt < max_requeues and notify:
                if requeue(job, job.attempt + 1, message):
                    job.attempt += 1
                    return
                message = out_of_time(message, job)
            rec = {"path": name, "status": "error", "error": message, "elapsed_s": round(elapsed, 3)}
            status = getattr(exc, "status", None)
            if status is not None:
                rec["status_code"] = status
            summary.errors += 1
            summary.error_messages[name] = message
        writer.write(rec)
        if (summary.done + summary.errors) % GC_EVERY == 0:
            gc.collect()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(items=summary.items, tokens=summary.tokens, errors=summary.errors,
                            concurrency=limit.limit, refresh=False)
        if notify and on_record is not None:
            on_record(rec, summary)

    def next_job(now: float) -> _Job | None:
        """A re-send whose delay is over, else the next fresh image, else None."""
        nonlocal next_fresh
        job = next((j for j in pending if j.not_before <= now), None)
        if job is not None:
            pending.remove(job)
        elif next_fresh is not None:
            job, next_fresh = _Job(next_fresh), next(fresh, None)
        return job

    def room() -> bool:
        """True while another image may start preparing (a free thread, prefetch not full)."""
        return len(preparing) < prep_threads and len(preparing) + len(ready) < limit.limit + prep_threads

    def prepared(job: _Job, fut: Future) -> None:
        """A finished preparation: ready to send, or a record (a cache hit, an unreadable file)."""
        if fut.exception() is None and isinstance(fut.result(), PreparedImage):
            job.prepared = fut.result()
            ready.append(job)
        else:
            record(job, fut)

    def send(job: _Job) -> None:
        """Start the request of a prepared job (or record that its time ran out)."""
        job.epoch = limit.epoch
        left = None
        if image_timeout is not None:
            if job.deadline_at is None:
                job.deadline_at = time.monotonic() + image_timeout
            left = job.deadline_at - time.monotonic()
            if left <= 0:  # waited past its limit behind the others: not sent again
                job.prepared = None
                late: Future = Future()
                late.set_exception(_OutOfTime(
                    f"{job.last_error or 'not answered'} (gave up: the {image_timeout:g} s limit for "
                    "this image ran out while it waited to be sent again; run again to retry it, or "
                    "raise --timeout / Client(timeout=...))", transient=True))
                record(job, late)
                return
        image = job.prepared if job.prepared is not None else root / job.name
        job.prepared = None  # the request holds it until it is sent; a re-send prepares again
        in_flight[executor.submit(stages.send, client, image, prompt, kwargs, left)] = job

    try:
        while pending or preparing or ready or in_flight or next_fresh is not None:
            # 1. Keep the preparation threads busy, with at most limit + prep_threads images
            #    prepared or being prepared (bounded memory; re-sends come first).
            now = time.monotonic()
            while room():
                job = next_job(now)
                if job is None:
                    break
                job.started = time.perf_counter()
                if pipelined:
                    preparing[preparer.submit(stages.prepare, client, root / job.name, prompt, kwargs, cache_missed)] = job
                else:
                    ready.append(job)
            # 2. Fill the request slots with prepared images.
            while len(in_flight) < limit.limit and ready:
                send(ready.popleft())
            # 3. Wait for a preparation or a request to finish (or the next re-send to be due).
            timeout = None
            if pending and next_fresh is None and room():  # else a finishing future wakes us
                timeout = max(0.0, min(j.not_before for j in pending) - time.monotonic())
            waiting = [*preparing, *in_flight]
            if not waiting:  # only re-sends left, none due yet (ready is empty: step 2 sent it)
                time.sleep(timeout or 0.0)
                continue
            finished, _ = wait(waiting, timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: (preparing[f] if f in preparing else in_flight[f]).name):
                if fut in preparing:
                    prepared(preparing.pop(fut), fut)
                else:
                    record(in_flight.pop(fut), fut)
    except BaseException as exc:
        summary.interrupted = True
        for fut in [*preparing, *in_flight]:
            fut.cancel()
        if isinstance(exc, KeyboardInterrupt):
            _drain(in_flight, record, bar)
        raise
    finally:
        preparer.shutdown(wait=False, cancel_futures=True)
        executor.shutdown(wait=False, cancel_futures=True)
        writer.close()
        summary.elapsed_s = time.perf_counter() - started
        if bar is not None:
            bar.close()
    return summary


def _warm_up(client: Any) -> None:
    """``client.warm_up()`` where it has one; any failure is left to the first request to report."""
    warm_up = getattr(client, "warm_up", None)
    if warm_up is None:
        return
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - the first request raises it again, as a record
        pass


def _drain(in_flight: dict[Future, _Job], record: Callable[..., None], bar: Any) -> None:
    """After Ctrl-C: write what the requests in flight bring back (a second Ctrl-C abandons them)."""
    running = {f: j for f, j in in_flight.items() if not f.cancelled()}
    if not running:
        return
    if bar is not None:
        bar.write(f"Interrupted: finishing {len(running)} requests in flight (Ctrl-C again to abandon them)",
                  file=sys.stderr)
    try:
        for fut in sorted(wait(list(running)).done, key=lambda f: running[f].name):
            try:
                record(running[fut], fut, notify=False)
            except Exception:  # noqa: BLE001 - an error record is not worth losing the others
                pass
    except KeyboardInterrupt:
        pass


def _progress_bar(progress: bool, summary: BatchSummary) -> Any:
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        warnings.warn("tqdm is not installed: no progress bar (pip install tqdm)", stacklevel=3)
        return None
    return tqdm(total=summary.images, initial=summary.skipped, unit="img", desc="labelling", dynamic_ncols=True)
