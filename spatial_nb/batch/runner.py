"""Label a folder: many images, one prompt, concurrent requests, results streamed to disk.

Threads (the SDK call is blocking I/O) run up to ``concurrency`` requests; an
:class:`AdaptiveLimit` lowers that when 429s get through the SDK's own retries. The main
thread alone writes ``results.jsonl`` — one flushed JSON line per finished image — so a crash
or Ctrl-C loses at most the requests in flight (and those still land in the answer cache);
a re-run skips every image already recorded ``"ok"``. Memory stays flat: results go to disk,
not into a list. Record names are :func:`~spatial_nb.filenames.escape_file_name` of the file
name, so names of any bytes are stored losslessly and one odd name never stops a run.

One retry mechanism: inside a folder run the SDK sends each request once
(``Client.copy(retry_attempts=1)``) and the runner alone retries what may pass later
(``GeminiRequestError.transient``: 429, 5xx, resets, non-JSON bodies; and empty answers),
with its own doubling delay, the concurrency limiter seeing every 429, and all attempts of
one image inside that image's time limit (the client's ``timeout``; each attempt gets the
time left).
"""

from __future__ import annotations

import gc
import os
import sys
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
from ..redaction import redact
from ..result import Result
from .limiter import AdaptiveLimit
from .records import RESULTS_FILENAME, BatchSummary, _prepare_out, _Writer, load_results, read_records

__all__ = [
    "IMAGE_EXTENSIONS",
    "RESULTS_FILENAME",
    "BatchSummary",
    "find_images",
    "image_names",
    "read_records",
    "load_results",
    "run_folder",
]

#: File extensions picked up from a folder (case-insensitive).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
#: A full garbage collection after this many records: the SDK leaves reference cycles
#: (~0.2 KB per request) that Python's generational GC otherwise lets pile up for thousands
#: of requests; collecting keeps a 100,000-image run as small as a 100-image one.
GC_EVERY = 100
#: What ``Client.detect`` uses when a setting is not given (to rebuild a request's cache key).
DETECT_DEFAULTS = dict(temperature=0.5, max_size=640, system_instruction=None, model=None, structured=False,
                       thinking=None, max_output_tokens=None, context=None, seed=None, image_format=None)


# -- finding images -------------------------------------------------------------------------


def image_names(
    folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True
) -> tuple[Path, list[str]]:
    """The root folder and the sorted image names relative to it (posix ``/``), as plain strings.

    Strings, not Path objects, so a 100,000-image folder costs a few MB, not tens (see
    :func:`find_images` for the arguments). These are OS names (undecodable bytes
    surrogate-escaped, PEP 383); records store ``escape_file_name(name)``.
    """
    if isinstance(folder_or_paths, (str, os.PathLike)):
        root = Path(folder_or_paths)
        if root.is_file():
            return root.parent, [root.name]
        if not root.is_dir():
            raise SpatialNBError(f"{root} is not a folder or an image file")
        names: list[str] = []
        prefix_len = len(os.fspath(root).rstrip(os.sep)) + 1
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")] if recursive else []
            rel = directory[prefix_len:].replace(os.sep, "/")
            for file in files:
                if not file.startswith(".") and os.path.splitext(file)[1].lower() in IMAGE_EXTENSIONS:
                    names.append(f"{rel}/{file}" if rel else file)
        names.sort()
        return root, names
    paths = sorted({Path(p) for p in folder_or_paths})
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SpatialNBError(f"{len(missing)} image paths do not exist, e.g. {missing[0]}")
    if not paths:
        return Path.cwd(), []
    resolved = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return root, sorted(p.relative_to(root).as_posix() for p in resolved)


def find_images(
    folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True
) -> tuple[Path, list[Path]]:
    """The images to label, sorted by name, and the root their record names are relative to.

    Args:
        folder_or_paths: A folder (searched for jpg/jpeg/png/webp/gif/bmp/tif/tiff, any case),
            or a list of image paths (root = their common folder).
        recursive: Search sub-folders too (hidden files and folders are skipped).
    """
    root, names = image_names(folder_or_paths, recursive)
    return root, [root / name for name in names]


# -- running --------------------------------------------------------------------------------


def _detect(client: Any, path: Path, prompt: str, kwargs: dict[str, Any],
            time_left: float | None) -> tuple[Result, float]:
    start = time.perf_counter()
    if time_left is not None:
        kwargs = {**kwargs, "timeout": time_left}
    res = client.detect(str(path), prompt, **kwargs)
    return res, time.perf_counter() - start


def _is_ours(client: Any) -> bool:
    """A spatial_nb Client (not a stand-in): it takes ``timeout=`` per call and has ``copy``."""
    return hasattr(client, "copy") and hasattr(client, "retry_schedule")


def plan_request(client: Any, path: str | os.PathLike, prompt: str, kind: str, settings: dict[str, Any]) -> Any:
    """The client's plan of one request (what ``client.detect`` would send; nothing is sent)."""
    unknown = set(settings) - set(DETECT_DEFAULTS)
    if unknown:
        raise TypeError(f"batch mode got unknown settings {sorted(unknown)}")
    return client._plan(str(path), prompt, kind, {**DETECT_DEFAULTS, **settings})


class _NameList:
    """Names packed into one NUL-separated string (file names never contain NUL)."""

    def __init__(self, names: list[str]):
        self._blob = "\0".join(names)
        self._empty = not names

    def __iter__(self) -> Iterator[str]:
        if self._empty:
            return
        blob, start = self._blob, 0
        while True:
            end = blob.find("\0", start)
            if end < 0:
                yield blob[start:]
                return
            yield blob[start:end]
            start = end + 1


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

    Returns:
        A :class:`BatchSummary` (also printable).

    Raises:
        MissingKeyError: No API key (nothing is sent).
        KeyboardInterrupt: After Ctrl-C, once the requests in flight are finished and
            written (press again to abandon them; they still land in the cache).
    """
    started = time.perf_counter()
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
    settings = {
        "prompt": prompt,
        "kind": kind,
        "model": model or getattr(client, "model", None),
        "temperature": temperature,
        "max_size": max_size,
        **{k: v for k, v in detect_kwargs.items() if isinstance(v, (str, int, float, bool, type(None)))},
    }
    results_path, already = _prepare_out(out_dir, settings, resume)
    summary = BatchSummary(images=len(names), path=results_path, lowest_concurrency=concurrency)
    summary.skipped = sum(1 for n in names if escape_file_name(n) in already)
    # The names live on as ONE string (a 100k-image folder: a few MB, not a list of 100k
    # objects); fresh jobs are cut from it one at a time, only re-sends wait in a queue.
    fresh: Iterator[str] = (n for n in _NameList(names) if escape_file_name(n) not in already)
    del names
    next_fresh: str | None = next(fresh, None)
    pending: deque[_Job] = deque()
    limit = AdaptiveLimit(concurrency, increase_after=increase_after)
    bar = _progress_bar(progress, summary)
    writer = _Writer(results_path)
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="spatial-nb-batch")
    in_flight: dict[Future, _Job] = {}

    def requeue(job: _Job, tries: int) -> bool:
        """Send ``job`` again after the ``tries``-th doubling delay, if that fits its time limit."""
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
                if not is_refusal(res) and job.empty < empty_retries and notify:
                    job.empty += 1
                    job.last_error = message
                    if requeue(job, job.empty):
                        return
                    job.empty -= 1
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
                job.attempt += 1
                job.last_error = message
                if requeue(job, job.attempt):
                    return
                job.attempt -= 1
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

    try:
        while pending or in_flight or next_fresh is not None:
            now = time.monotonic()
            while len(in_flight) < limit.limit:
                job = next((j for j in pending if j.not_before <= now), None)
                if job is not None:
                    pending.remove(job)
                elif next_fresh is not None:
                    job, next_fresh = _Job(next_fresh), next(fresh, None)
                else:
                    break
                job.epoch = limit.epoch
                job.started = time.perf_counter()
                left = None
                if image_timeout is not None:
                    if job.deadline_at is None:
                        job.deadline_at = time.monotonic() + image_timeout
                    left = job.deadline_at - time.monotonic()
                    if left <= 0:  # waited past its limit behind the others: not sent again
                        late: Future = Future()
                        late.set_exception(_OutOfTime(
                            f"{job.last_error or 'not answered'} (gave up: the {image_timeout:g} s limit for "
                            "this image ran out while it waited to be sent again; run again to retry it, or "
                            "raise --timeout / Client(timeout=...))", transient=True))
                        record(job, late)
                        continue
                in_flight[executor.submit(_detect, client, root / job.name, prompt, kwargs, left)] = job
            timeout = None
            if pending and next_fresh is None and len(in_flight) < limit.limit:
                timeout = max(0.0, min(j.not_before for j in pending) - time.monotonic())
            if not in_flight:
                time.sleep(timeout or 0.0)
                continue
            finished, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: in_flight[f].name):
                record(in_flight.pop(fut), fut)
    except KeyboardInterrupt:
        summary.interrupted = True
        for fut in in_flight:
            fut.cancel()
        _drain(in_flight, record, bar)
        raise
    except BaseException:
        summary.interrupted = True
        for fut in in_flight:
            fut.cancel()
        raise
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        writer.close()
        summary.elapsed_s = time.perf_counter() - started
        if bar is not None:
            bar.close()
    return summary


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
