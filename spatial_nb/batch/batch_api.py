"""Label a folder through the Gemini Batch API: half the price, answers within hours, resumable.

Requests are built exactly like ``Client.detect`` builds them (same prompt, system instruction,
generation config and image preparation) and always sent as one JSONL file (``{"key",
"request"}`` per line, uploaded with the File API), so every answer names its image. The job
name is saved in ``out/batch_job.json`` at once: a crash or a ``deadline`` while waiting loses
nothing, run again (or pass ``job=``) to go on waiting. Answers become the same
``results.jsonl`` records as ``run_folder`` and go to the answer cache; answers that cannot be
matched to an image go to ``unmatched.jsonl`` (see :mod:`.batch_answers`). Gemini API only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..empty_answers import empty_answer_message, is_empty_answer
from ..errors import GeminiRequestError, SpatialNBError
from ..filenames import escape_file_name
from ..redaction import redact
from ..result import Result
from .batch_answers import UNMATCHED_FILENAME, error_text, job_answers, split_answers, write_unmatched
from .batch_wait import SUCCESS_STATE_NAMES, _sdk_version, wait_for_job
from .records import BatchSummary, _prepare_out, _Writer, run_settings
from .runner import image_names, plan_request

__all__ = ["run_batch_api", "build_requests", "JOB_FILENAME", "REQUESTS_FILENAME", "UNMATCHED_FILENAME"]

#: Where the job name of the run in progress is kept (inside ``out``).
JOB_FILENAME = "batch_job.json"
#: The request file uploaded for the job (inside ``out``; kept for reference).
REQUESTS_FILENAME = "batch_requests.jsonl"


def build_requests(plans: dict[str, Any]) -> list[Any]:
    """``InlinedRequest`` per image: contents + config (system instruction, safety and
    generation settings are nested where the API wants them by the SDK), ``metadata.key`` = name."""
    from google.genai import types

    return [
        types.InlinedRequest(contents=plan.contents(), config=types.GenerateContentConfig(**plan.config),
                             metadata={"key": name})
        for name, plan in plans.items()
    ]


def _rest_request(sdk: Any, request: Any) -> dict[str, Any]:
    """The REST JSON (``GenerateContentRequest``) of one request, for the JSONL file.

    The SDK has no public way to turn typed requests into the REST JSON the request file
    needs, so this borrows the converter ``batches.create`` itself applies to inline requests
    (same nesting of system instruction, safety and generation settings). If a google-genai
    release moves it, the error says so.
    """
    try:
        from google.genai import _common, batches

        converted = batches._InlinedRequest_to_mldev(sdk._api_client, request)  # same conversion as inline
        converted = _common.encode_unserializable_types(_common.convert_to_dict(converted))
        body = converted["request"]
    except (ImportError, AttributeError, TypeError, KeyError) as exc:
        raise SpatialNBError(
            f"google-genai {_sdk_version()} cannot build the Batch API request file: its internal "
            f"request converter (google.genai.batches._InlinedRequest_to_mldev) is missing or changed "
            f"({type(exc).__name__}: {exc}). Install the tested SDK (pip install \"google-genai>=3.6,<4\") "
            "or label the folder without the Batch API (concurrent requests)"
        ) from None
    body.pop("model", None)
    return body


def _submit(sdk: Any, model: str, plans: dict[str, Any], out: Path, display_name: str) -> dict[str, Any]:
    """Write the keyed request file, upload it, create the job and save its name at once."""
    from google.genai import types

    path = out / REQUESTS_FILENAME
    with path.open("w", encoding="utf-8") as fh:
        for name, request in zip(plans, build_requests(plans)):
            fh.write(json.dumps({"key": name, "request": _rest_request(sdk, request)}) + "\n")
    uploaded = sdk.files.upload(
        file=str(path), config=types.UploadFileConfig(display_name=display_name, mime_type="jsonl")
    )
    job = sdk.batches.create(model=model, src=uploaded.name, config=types.CreateBatchJobConfig(display_name=display_name))
    info = {"name": job.name, "model": model, "keys": list(plans), "submitted": time.time(), "file": uploaded.name}
    (out / JOB_FILENAME).write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    return info


def _held_keys(out: Path) -> set[str]:
    """Images whose answers came back unmatched in an earlier job (kept in ``unmatched.jsonl``)."""
    held: set[str] = set()
    for path in out.glob("batch_job.*.done.json"):
        try:
            held.update(json.loads(path.read_text(encoding="utf-8")).get("unmatched_keys") or [])
        except (OSError, ValueError):
            continue
    return held


def _refuse_vertex(client: Any) -> None:
    if getattr(client, "vertexai", False):
        raise SpatialNBError(
            "Batch API mode needs the Gemini API (an API key), not Vertex AI: run without --batch-api "
            "(concurrent requests), or use Vertex AI batch prediction from Cloud Storage/BigQuery yourself"
        )


def run_batch_api(
    folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
    prompt: str,
    kind: str = "boxes",
    *,
    out: str | os.PathLike | None = None,
    client: Any = None,
    model: str | None = None,
    temperature: float = 0.5,
    max_size: int = 640,
    job: str | None = None,
    poll_interval: float = 30.0,
    deadline: float | None = None,
    timeout: float | None = None,
    resubmit_unmatched: bool = False,
    progress: bool = True,
    recursive: bool = True,
    on_poll: Callable[[str, float], None] | None = None,
    **detect_kwargs: Any,
) -> BatchSummary:
    """Label a folder with one Gemini Batch API job; write ``out/results.jsonl`` like ``run_folder``.

    Images already recorded ``"ok"`` in ``out`` or answered in the cache are not sent. The job
    name goes to ``out/batch_job.json`` as soon as it exists; running again with the same
    ``out`` (or ``job="batches/..."``) resumes waiting for that job instead of submitting
    another. An answer is matched to its image only by its key; answers without a usable key
    go to ``out/unmatched.jsonl`` and their images are not sent again unless
    ``resubmit_unmatched=True`` (they were paid for). An answer with no text at all is an
    ``"error"`` record (a re-run asks again) and is not cached.

    Args:
        folder_or_paths, prompt, kind, out, client, model, temperature, max_size,
            **detect_kwargs: As in :func:`~spatial_nb.batch.run_folder`.
        job: Resume this job (``batches/...``) instead of the one saved in ``out``.
        poll_interval: Seconds between status checks (the API takes minutes to hours).
        deadline: Stop waiting this many seconds after the call started (the job keeps
            running; run again to collect it). None waits until the job ends.
        timeout: Older name of ``deadline``.
        resubmit_unmatched: Send images again whose earlier answers are in ``unmatched.jsonl``.
        on_poll: Called with ``(state, seconds waited)`` after each check.

    Raises:
        SpatialNBError: The client uses Vertex AI (the Batch API mode is Gemini API only).
        GeminiRequestError: The job failed, was cancelled or expired without answers, or the
            deadline passed.
    """
    started = time.perf_counter()
    deadline = timeout if deadline is None else deadline
    deadline_at = None if deadline is None else time.monotonic() + float(deadline)
    if client is None:
        from ..client import Client

        client = Client(model=model)
    _refuse_vertex(client)
    root, names = image_names(folder_or_paths, recursive=recursive)
    out_dir = Path(out) if out is not None else Path.cwd() / "spatial_nb_batch"
    settings = {"temperature": temperature, "max_size": max_size, **detect_kwargs}
    if model is not None:
        settings["model"] = model
    recorded = run_settings(prompt, kind, model or getattr(client, "model", None), temperature, max_size,
                            detect_kwargs)
    results_path, already = _prepare_out(out_dir, recorded, resume=True)
    by_name = {escape_file_name(name): root / name for name in names}  # keys as records store them
    summary = BatchSummary(images=len(by_name), path=results_path, skipped=sum(1 for n in by_name if n in already))
    writer = _Writer(results_path)
    try:
        job_file = out_dir / JOB_FILENAME
        info: dict[str, Any] | None = None
        if job is not None:
            saved = json.loads(job_file.read_text(encoding="utf-8")) if job_file.exists() else {}
            # keys unknown (a job made elsewhere): answers match any image of the folder by key
            info = {"name": job, "keys": saved.get("keys") if saved.get("name") == job else None}
        elif job_file.exists():
            info = json.loads(job_file.read_text(encoding="utf-8"))
        plans: dict[str, Any] = {}
        if info is None:
            held = set() if resubmit_unmatched else _held_keys(out_dir)
            for name, path in by_name.items():
                if name in already:
                    continue
                if name in held:
                    summary.held += 1
                    continue
                plan = plan_request(client, path, prompt, kind, settings)
                hit = plan.cached()
                if hit is not None and not is_empty_answer(hit):  # answered before: no need to pay again
                    _write_ok(writer, summary, name, hit, 0.0)
                    continue
                plans[name] = plan
            if not plans:
                return _finish(summary, started)
            sdk = client._sdk()
            model_name = next(iter(plans.values())).profile.name
            failure: Exception | None = None
            try:
                info = _submit(sdk, model_name, plans, out_dir, display_name=f"spatial-nb {out_dir.name} {len(plans)} images")
            except SpatialNBError:
                raise
            except Exception as exc:  # noqa: BLE001
                failure = _explain(plans, exc)
            if failure is not None:
                raise failure  # outside the except block: the SDK's error (and its request) stays behind
        sdk = client._sdk()
        finished, state = wait_for_job(sdk, info["name"], poll_interval=poll_interval, deadline=deadline_at,
                                       progress=progress, on_poll=on_poll)
        _collect(sdk, finished, state, info, out_dir, by_name, already, plans, writer, summary,
                 lambda path: plan_request(client, path, prompt, kind, settings), time.perf_counter() - started)
    finally:
        writer.close()
    return _finish(summary, started)


def _collect(sdk: Any, finished: Any, state: str, info: dict[str, Any], out_dir: Path,
             by_name: dict[str, Path], already: set[str], plans: dict[str, Any], writer: _Writer,
             summary: BatchSummary, plan_for: Callable[[Path], Any], elapsed: float) -> None:
    """Write the records of a finished job, keep what cannot be matched, retire the job file."""
    from ..backends import read_response
    from ..parsing import parse

    sent = info.get("keys")  # None: not known (resumed by name only)
    keys = [k for k in sent if k in by_name] if sent is not None else []
    answers, trusted = job_answers(sdk, finished)
    matched, unmatched = split_answers(answers, trusted, set(keys) if sent is not None else set(by_name))
    for key, answer in matched.items():
        if key in already:
            continue
        if answer.error is not None or answer.response is None:
            _write_error(writer, summary, key, f"Gemini batch request failed: {error_text(answer.error)}")
            continue
        plan = plans.get(key) or plan_for(by_name[key])
        reply = read_response([answer.response])
        text, finish, block, usage = reply.text, reply.finish, reply.block, reply.usage
        empty = is_empty_answer(text)
        result = plan.finish(parse(text), text, finish, block, usage, store=not empty,
                             model_version=reply.model_version)
        if empty:
            summary.empty_answers += 1
            _write_error(writer, summary, key, empty_answer_message(result), finish_reason=result.finish_reason)
        else:
            _write_ok(writer, summary, key, result, elapsed, job_name=info["name"])
        already.add(key)
    unanswered = [k for k in keys if k not in matched and k not in already]
    outcome = {**info, "state": state, "collected": time.time()}
    if unmatched:
        path = write_unmatched(out_dir, info["name"], unmatched)
        summary.unmatched += len(unmatched)
        summary.held += len(unanswered)
        outcome["unmatched_keys"] = unanswered  # their answers may be among the unmatched ones
        summary.notes.append(
            f"{len(unmatched)} answers of {info['name']} could not be matched to an image (no key: python-genai "
            f"#1909/#2008) and are kept in {path}; their {len(unanswered)} images are not sent again "
            "(re-run with --resubmit-unmatched / resubmit_unmatched=True to pay for them again)"
        )
    elif state in SUCCESS_STATE_NAMES or finished.dest is not None:
        for key in unanswered:
            _write_error(writer, summary, key, f"batch job {info['name']} ({state.removeprefix('JOB_STATE_')}) "
                                               "returned no answer for this image; run again to send it again")
    done_file = out_dir / f"batch_job.{info['name'].rsplit('/', 1)[-1]}.done.json"
    done_file.write_text(json.dumps(outcome, indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / JOB_FILENAME).unlink(missing_ok=True)  # kept as the .done record, never resumed again
    if state not in SUCCESS_STATE_NAMES and finished.dest is None and not matched:
        detail = getattr(finished, "error", None)
        raise GeminiRequestError(
            f"batch job {info['name']} ended as {state.removeprefix('JOB_STATE_')}"
            + (f": {error_text(detail)}" if detail else "")
            + f"; {len(unanswered)} images were not answered. Run again to submit a new job for them"
        )


def _finish(summary: BatchSummary, started: float) -> BatchSummary:
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _write_ok(writer: _Writer, summary: BatchSummary, name: str, result: Result, elapsed: float,
              job_name: str | None = None) -> None:
    record: dict[str, Any] = {"path": name, "status": "ok", "result": result.to_dict(), "elapsed_s": round(elapsed, 3)}
    if job_name:
        record["batch_job"] = job_name
    writer.write(record)
    summary.count_answer(result)


def _write_error(writer: _Writer, summary: BatchSummary, name: str, message: str, **extra: Any) -> None:
    writer.write({"path": name, "status": "error", "error": message, **extra, "elapsed_s": None})
    summary.errors += 1
    summary.error_messages[name] = message


def _explain(plans: dict[str, Any], exc: Exception) -> Exception:
    explained = next(iter(plans.values())).explain(exc)
    if isinstance(explained, SpatialNBError):
        return explained
    return GeminiRequestError(f"could not submit the batch job: {redact(f'{type(exc).__name__}: {exc}')}")
