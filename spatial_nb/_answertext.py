"""Any answer ``parse`` accepts -> the text to parse (plus decoded JSON, finish reason, warnings).

Model text (``str``), ``bytes`` (UTF-8, BOM tolerated, bad bytes replaced and reported),
already-decoded JSON, ``None``, and ``google.genai`` responses (whose ``.text`` may raise or be
None: then the text parts are read directly and a blocked prompt or finish reason is reported).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["NOTHING", "coerce", "read_response"]

#: "No decoded JSON came with the answer" (None is a valid decoded value).
NOTHING = object()


def read_response(obj: Any) -> tuple[str | None, str | None, list[str]]:
    """Text of a google.genai response (or any object with ``.text``), its finish reason, warnings."""
    warnings: list[str] = []
    text = None
    try:
        text = obj.text
    except Exception as exc:  # the SDK's .text may raise on odd responses
        warnings.append(f"reading response.text failed ({type(exc).__name__}); read the text parts directly")
    finish = None
    candidates = getattr(obj, "candidates", None) or []
    try:
        if candidates:
            fr = getattr(candidates[0], "finish_reason", None)
            if fr is not None:
                finish = getattr(fr, "name", None) or str(fr)
        if text is None and candidates:
            content = getattr(candidates[0], "content", None)
            parts = getattr(content, "parts", None) or []
            texts = [p.text for p in parts if isinstance(getattr(p, "text", None), str) and not getattr(p, "thought", False)]
            text = "".join(texts) if texts else None
    except Exception:  # pragma: no cover - defensive against foreign objects
        pass
    if text is None:
        why = f"finish reason {finish}" if finish else None
        feedback = getattr(obj, "prompt_feedback", None)
        block = getattr(feedback, "block_reason", None) if feedback is not None else None
        if block is not None:
            why = f"the prompt was blocked: {getattr(block, 'name', None) or block}"
        warnings.append(f"the response had no text ({why or 'no candidates'}); nothing to parse")
    elif not isinstance(text, str):
        text = str(text)
    return text, finish, warnings


def coerce(answer: Any) -> tuple[str, Any, str | None, list[str]]:
    """Answer of any accepted type -> (text, decoded JSON or NOTHING, finish_reason, warnings)."""
    if isinstance(answer, str):
        return answer, NOTHING, None, []
    if answer is None:
        return "", NOTHING, None, ["there was no answer to parse (got None)"]
    if isinstance(answer, (bytes, bytearray, memoryview)):
        raw = bytes(answer)
        text = raw.decode("utf-8-sig", errors="replace")
        warnings = []
        if "\ufffd" in text and "\ufffd".encode() not in raw:
            warnings.append("the answer was not valid UTF-8; undecodable bytes were replaced by \ufffd")
        return text, NOTHING, None, warnings
    if isinstance(answer, (dict, list)):
        try:
            text = json.dumps(answer, ensure_ascii=False, default=repr)
        except (TypeError, ValueError, RecursionError):
            text = ""
        return text, answer, None, []
    if hasattr(answer, "text") or hasattr(answer, "candidates"):
        text, finish, warnings = read_response(answer)
        return text or "", NOTHING, finish, warnings
    return "", NOTHING, None, [
        f"cannot read an answer of type {type(answer).__name__}; pass the model's text, bytes, "
        "decoded JSON or a google.genai response"
    ]
