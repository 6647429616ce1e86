"""Label a folder through the Gemini Batch API: half the price, answers within hours, resumable.

Requests are built exactly like ``Client.detect`` builds them (same prompt, system instruction,
generation config and image preparation), as ``InlinedRequest`` objects keyed by image name —
or, when the inline payload would pass the API's 20 MB request limit, as a JSONL file
(``{"key", "request"}`` per line) uploaded with the File API. The job name is saved in
``out/batch_job.json`` at once, so a crash while waiting loses nothing: run again (or pass
``job=``) to resume polling. Answers are parsed into the same ``results.jsonl`` records as
``run_folder`` and stored in the answer cache.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import GeminiRequestError, SpatialNBError
from ..filenames import escape_file_name
from ..result import Result
from .records import BatchSummary, _prepare_out, _Writer
from .runner import image_names, plan_request

__all__ = ["run_batch_api", "build_requests", "JOB_FILENAME", "INLINE_LIMIT_BYTES"]

#: Where the job name of the run in progress is kept (inside ``out``).
JOB_FILENAME = "batch_job.json"
#: Inline requests above this many bytes (base64 included) go through the File API instead.
#: The Batch API docs give 20 MB for inline requests (ai.google.dev/gemini-api/docs/batch-mode).
INLINE_LIMIT_BYTES = 19 * 1024 * 1024
#: States after which a job no longer changes (the SDK's names for the API's BATCH_STATE_*).
TERMINAL_STATES = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


def _state(job: Any) -> str:
    state = getattr(job, "state", None)
    return getattr(state, "name", None) or str(state or "JOB_STATE_UNSPECIFIED")


def build_requests(plans: dict[str, Any]) -> list[Any]:
    """``InlinedRequest`` per image: contents + config (system instruction, safety and
    generation settings are nested where the API wants them by the SDK), ``metadata.key`` = name."""
    from google.genai import types

    return [
        types.InlinedRequest(contents=plan.contents(), config=types.GenerateContentConfig(**plan.config),
                             metadata={"key": name})
        for name, plan in plans.items()
    ]


def _sdk_version() -> str:
    try:
        from google.genai import version

        return version.__version__
    except (ImportError, AttributeError):  # pragma: no cover - very old or odd installs
        return "unknown"


def _rest_request(sdk: Any, request: Any) -> dict[str, Any]:
    """The REST JSON (``GenerateContentRequest``) of one inlined request, for the JSONL file.

    The SDK has no public way to turn typed requests into the REST JSON the request file
    needs, so this borrows the converter ``batches.create`` itself applies to inline requests
    (same nesting of system instruction, safety and generation settings). If a google-genai
    release moves it, the error says so and points at inline requests (``use_file=False``).
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
            f"({type(exc).__name__}: {exc}). Send inline requests instead (run_batch_api(..., use_file=False); "
            "the API takes up to 20 MB inline per job, so split a bigger folder) or install the tested "
            'SDK: pip install "google-genai>=3.6,<4"'
        ) from None
    body.pop("model", None)
    return body


def _size(request: Any) -> int:
    total = 0
    for content in request.contents or []:
        for part in content.parts or []:
            if part.inline_data is not None and part.inline_data.data:
                total += len(part.inline_data.data) * 4 // 3 + 64
            if part.text:
                total += len(part.text.encode())
    return total + 2048  # config, system instruction


def _submit(sdk: Any, model: str, requests: list[Any], names: list[str], out: Path, use_file: bool | None,
            display_name: str) -> dict[str, Any]:
    """Create the job (inline or via an uploaded JSONL file) and save its name at once."""
    from google.genai import types

    total = sum(_size(r) for r in requests)
    if use_file is None:
        use_file = total > INLINE_LIMIT_BYTES
    config = types.CreateBatchJobConfig(display_name=display_name)
    if use_file:
        jsonl = out / "batch_requests.jsonl"
        with jsonl.open("w", encoding="utf-8") as fh:
            for name, request in zip(names, requests):
                fh.write(json.dumps({"key": name, "request": _rest_request(sdk, request)}) + "\n")
        uploaded = sdk.files.upload(
            file=str(jsonl), config=types.UploadFileConfig(display_name=display_name, mime_type="jsonl")
        )
        job = sdk.batches.create(model=model, src=uploaded.name, config=config)
        source = {"file": uploaded.name}
    else:
        job = sdk.batches.create(model=model, src=requests, config=config)
        source = {"inline": True}
    info = {"name": job.name, "model": model, "keys": names, "submitted": time.time(), **source}
    (out / JOB_FILENAME).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def _responses(sdk: Any, job: Any, keys: list[str]) -> Iterable[tuple[str, Any, Any]]:
    """``(key, GenerateContentResponse or None, error or None)`` for every answer of a finished job."""
    from google.genai import types

    dest = job.dest
    if dest is None:
        raise GeminiRequestError(f"batch job {job.name} finished without output")
    if dest.inlined_responses is not None:
        for index, item in enumerate(dest.inlined_responses):
            key = (item.metadata or {}).get("key") if isinstance(item.metadata, dict) else None
            if key is None and index < len(keys):
                key = keys[index]  # inline answers come back in request order
            yield key, item.response, item.error
        return
    if dest.file_name:
        data = sdk.files.download(file=dest.file_name)
        for line in data.decode("utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            response = None
            if row.get("response") is not None:
                response = _response_from_rest(row["response"], types)
            yield row.get("key"), response, row.get("error")
        return
    raise GeminiRequestError(f"batch job {job.name} finished without inline answers or a result file")


def _response_from_rest(body: dict[str, Any], types: Any) -> Any:
    """One answer line of a result file (REST ``GenerateContentResponse`` JSON) as an object
    ``client._read_response`` reads: the SDK type when it validates, else the JSON as-is
    (fields this SDK release does not know yet make the strict SDK types refuse the answer)."""
    try:
        return types.GenerateContentResponse.model_validate(body)
    except ValueError:  # pydantic.ValidationError
        return _RestObject.wrap(body)


class _RestObject:
    """Read-only attribute view of REST JSON with snake_case names (``finishReason`` -> ``finish_reason``)."""

    def __init__(self, data: dict[str, Any]):
        for key, value in data.items():
            setattr(self, re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(), self.wrap(value))

    @classmethod
    def wrap(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return cls(value)
        if isinstance(value, list):
            return [cls.wrap(v) for v in value]
        return value


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('message') or error} (code {error.get('code')})"
    return str(getattr(error, "message", None) or error)


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
    use_file: bool | None = None,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    progress: bool = True,
    recursive: bool = True,
    on_poll: Callable[[str, float], None] | None = None,
    **detect_kwargs: Any,
) -> BatchSummary:
    """Label a folder with one Gemini Batch API job; write ``out/results.jsonl`` like ``run_folder``.

    Images already recorded ``"ok"`` in ``out`` or answered in the cache are not sent. The job
    name goes to ``out/batch_job.json`` as soon as it exists; running again with the same
    ``out`` (or ``job="batches/..."``) resumes waiting for that job instead of submitting
    another.

    Args:
        folder_or_paths, prompt, kind, out, client, model, temperature, max_size,
            **detect_kwargs: As in :func:`~spatial_nb.batch.run_folder`.
        job: Resume this job (``batches/...``) instead of the one saved in ``out``.
        use_file: Force the File API (True) or inline requests (False); default: by size.
        poll_interval: Seconds between status checks (the API takes minutes to hours).
        timeout: Give up waiting after this many seconds (the job keeps running; resume later).
        on_poll: Called with ``(state, seconds waited)`` after each check.

    Raises:
        GeminiRequestError: The job failed, was cancelled or expired, or the wait timed out.
    """
    started = time.perf_counter()
    root, names = image_names(folder_or_paths, recursive=recursive)
    out_dir = Path(out) if out is not None else Path.cwd() / "spatial_nb_batch"
    if client is None:
        from ..client import Client

        client = Client(model=model)
    settings = {"temperature": temperature, "max_size": max_size, **detect_kwargs}
    if model is not None:
        settings["model"] = model
    run_settings = {
        "prompt": prompt, "kind": kind, "model": model or getattr(client, "model", None),
        "temperature": temperature, "max_size": max_size,
        **{k: v for k, v in detect_kwargs.items() if isinstance(v, (str, int, float, bool, type(None)))},
    }
    results_path, already = _prepare_out(out_dir, run_settings, resume=True)
    by_name = {escape_file_name(name): root / name for name in names}  # keys as records store them
    summary = BatchSummary(images=len(names), path=results_path, skipped=sum(1 for n in names if n in already))
    writer = _Writer(results_path)
    try:
        job_file = out_dir / JOB_FILENAME
        info: dict[str, Any] | None = None
        if job is not None:
            saved = json.loads(job_file.read_text()) if job_file.exists() else {}
            keys = saved.get("keys") if saved.get("name") == job else None
            info = {"name": job, "keys": keys or [n for n in by_name if n not in already]}
        elif job_file.exists():
            info = json.loads(job_file.read_text(encoding="utf-8"))
        plans: dict[str, Any] = {}
        if info is None:
            for name, path in by_name.items():
                if name in already:
                    continue
                plan = plan_request(client, path, prompt, kind, settings)
                hit = plan.cached()
                if hit is not None:  # answered before: no need to pay again
                    _write_ok(writer, summary, name, hit, 0.0)
                    continue
                plans[name] = plan
            if not plans:
                return _finish(summary, started)
            sdk = client._sdk()
            model_name = next(iter(plans.values())).profile.name
            try:
                info = _submit(sdk, model_name, build_requests(plans), list(plans), out_dir, use_file,
                               display_name=f"spatial-nb {out_dir.name} {len(plans)} images")
            except Exception as exc:  # noqa: BLE001
                raise _explain(client, plans, exc) from None
        sdk = client._sdk()
        finished = _wait(sdk, info["name"], poll_interval, timeout, progress, on_poll)
        state = _state(finished)
        if state != "JOB_STATE_SUCCEEDED":
            detail = getattr(finished, "error", None)
            raise GeminiRequestError(
                f"batch job {info['name']} ended as {state.removeprefix('JOB_STATE_')}"
                + (f": {_error_text(detail)}" if detail else "")
                + f"; images not answered: {len(info.get('keys') or [])}. Run again to submit a new job"
            )
        elapsed = time.perf_counter() - started
        for key, response, error in _responses(sdk, finished, list(info.get("keys") or [])):
            if key is None or key not in by_name or key in already:
                continue
            if error is not None or response is None:
                _write_error(writer, summary, key, f"Gemini batch request failed: {_error_text(error)}")
                continue
            plan = plans.get(key) or plan_request(client, by_name[key], prompt, kind, settings)
            from ..client import _read_response
            from ..parsing import parse

            text, finish, block, usage = _read_response([response])
            result = plan.finish(parse(text), text, finish, block, usage)
            _write_ok(writer, summary, key, result, elapsed, job_name=info["name"])
            already.add(key)
        if job_file.exists():  # keep the job's record, but do not resume it again
            job_file.replace(out_dir / f"batch_job.{info['name'].rsplit('/', 1)[-1]}.done.json")
    finally:
        writer.close()
    return _finish(summary, started)


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


def _write_error(writer: _Writer, summary: BatchSummary, name: str, message: str) -> None:
    writer.write({"path": name, "status": "error", "error": message, "elapsed_s": None})
    summary.errors += 1
    summary.error_messages[name] = message


def _wait(sdk: Any, name: str, poll_interval: float, timeout: float | None, progress: bool,
          on_poll: Callable[[str, float], None] | None) -> Any:
    """Poll ``batches.get`` until the job ends; a status line shows state and time waited."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=None, desc=f"batch job {name}", unit="check", dynamic_ncols=True)
    start = time.monotonic()
    try:
        while True:
            job = sdk.batches.get(name=name)
            state = _state(job)
            waited = time.monotonic() - start
            if bar is not None:
                bar.update(1)
                bar.set_postfix(state=state.removeprefix("JOB_STATE_"), waited=f"{waited:.0f}s", refresh=True)
            if on_poll is not None:
                on_poll(state, waited)
            if state in TERMINAL_STATES:
                return job
            if timeout is not None and waited >= timeout:
                raise GeminiRequestError(
                    f"batch job {name} is still {state.removeprefix('JOB_STATE_')} after {waited:.0f} s; "
                    "it keeps running — run the same command again later to collect the answers"
                )
            time.sleep(poll_interval)
    finally:
        if bar is not None:
            bar.close()


def _explain(client: Any, plans: dict[str, Any], exc: Exception) -> Exception:
    plan = next(iter(plans.values()))
    explained = plan.explain(exc)
    if isinstance(explained, SpatialNBError):
        return explained
    return GeminiRequestError(f"could not submit the batch job: {type(exc).__name__}: {exc}")
