"""Answers of a finished Batch API job, matched to their images by key — never by position.

Result-file rows carry the ``key`` we sent with each request. Inline answers are accepted only
when every one carries ``metadata.key``: the API returns inline answers out of order
(python-genai issue #1909) and can drop their metadata (#2008; both open in the stored copies
read 2026-12-03), so a position says nothing. Whatever cannot be matched is written to
``unmatched.jsonl``: it was paid for, so it is kept, and its images are not re-sent unasked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GeminiRequestError
from ..redaction import redact

__all__ = ["Answer", "UNMATCHED_FILENAME", "job_answers", "split_answers", "write_unmatched", "error_text"]

#: Answers that could not be matched to an image, one JSON line each (inside ``out``).
UNMATCHED_FILENAME = "unmatched.jsonl"


@dataclass
class Answer:
    """One answer row of a finished job.

    Attributes:
        key: The image name it says it belongs to (None when the row has none).
        response: A ``GenerateContentResponse`` (or a read-only view of its REST JSON), or None.
        error: The row's error (dict or SDK object), or None.
        raw: The row as JSON data, for ``unmatched.jsonl`` (``index`` = position in the output).
    """

    key: str | None
    response: Any
    error: Any
    raw: dict[str, Any]


def _as_json(value: Any) -> Any:
    if value is None or isinstance(value, (dict, list, str, int, float, bool)):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)


def job_answers(sdk: Any, job: Any) -> tuple[list[Answer], bool]:
    """The answer rows of a finished job, and whether their keys may be trusted as a whole.

    Result-file rows are judged one by one (each carries its own ``key``). Inline answers are
    trusted only when every row has a key; otherwise none is (a missing key means the API
    dropped the metadata, and the order is no guide).
    """
    dest = getattr(job, "dest", None)
    if dest is None:
        return [], True
    if dest.inlined_responses is not None:
        rows = []
        for index, item in enumerate(dest.inlined_responses):
            metadata = item.metadata if isinstance(item.metadata, dict) else None
            key = metadata.get("key") if metadata else None
            raw = {"index": index, "metadata": metadata, "response": _as_json(item.response),
                   "error": _as_json(item.error)}
            rows.append(Answer(key if isinstance(key, str) else None, item.response, item.error, raw))
        return rows, all(row.key is not None for row in rows)
    if dest.file_name:
        data = sdk.files.download(file=dest.file_name)
        rows = []
        for index, line in enumerate(data.decode("utf-8", "replace").splitlines()):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                rows.append(Answer(None, None, {"message": "unreadable result line"}, {"index": index, "line": line}))
                continue
            if not isinstance(row, dict):
                rows.append(Answer(None, None, {"message": "result line is not an object"}, {"index": index, "row": row}))
                continue
            response = _response_from_rest(row["response"]) if row.get("response") is not None else None
            key = row.get("key")
            rows.append(Answer(key if isinstance(key, str) else None, response, row.get("error"), {"index": index, **row}))
        return rows, True
    raise GeminiRequestError(f"batch job {job.name} finished without inline answers or a result file")


def split_answers(answers: list[Answer], trusted: bool, keys: set[str]) -> tuple[dict[str, Answer], list[Answer]]:
    """``({key: answer}, unmatched)``: an answer matches when its keys are trusted, its key is
    one of ``keys`` and no earlier row claimed the same key."""
    if not trusted:
        return {}, list(answers)
    matched: dict[str, Answer] = {}
    unmatched = []
    for answer in answers:
        if answer.key in keys and answer.key not in matched:
            matched[answer.key] = answer
        else:
            unmatched.append(answer)
    return matched, unmatched


def write_unmatched(out: Path, job_name: str, answers: list[Answer]) -> Path:
    """Append the answers to ``out/unmatched.jsonl`` (``{"batch_job", "index", ...the row}``)."""
    path = out / UNMATCHED_FILENAME
    with path.open("a", encoding="utf-8", errors="backslashreplace") as fh:
        for answer in answers:
            fh.write(json.dumps({"batch_job": job_name, **answer.raw}, ensure_ascii=False, default=str) + "\n")
    return path


def error_text(error: Any) -> str:
    """One line for a row's error (a REST dict or an SDK object), with any API key removed."""
    if isinstance(error, dict):
        text = f"{error.get('message') or error} (code {error.get('code')})"
    else:
        text = str(getattr(error, "message", None) or error)
    return " ".join(redact(text).split())


def _response_from_rest(body: dict[str, Any]) -> Any:
    """One answer line of a result file (REST ``GenerateContentResponse`` JSON) as an object
    the client's response reader takes: the SDK type when it validates, else the JSON as-is
    (fields this SDK release does not know yet make the strict SDK types refuse the answer)."""
    from google.genai import types

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
