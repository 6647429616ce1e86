"""The status line and the message a finished run leaves in the panel.

One line says what happened (time, items, tokens, cached or not), who really answered when
Google routed the request to another model (``models.answered_by``), and, for a recorded answer,
that it is a recording and not a live call. The message below it explains anything the user
should act on (nothing found, blocked, cut short) or, for a recording, where it comes from.
All text is plain and escaped here; the line is shown as HTML.
"""

from __future__ import annotations

from typing import Any

from ..empty_answers import SAFETY_FINISH_REASONS, refusal_cause
from .compare import total_tokens
from .messages import NOTHING_READ, PanelMessage, esc, plural
from .state import RunRecord

__all__ = ["status_text", "result_message", "recording_message", "answered_by"]


def answered_by(result: Any) -> str | None:
    """The model that answered when it is another family than the one asked for (else None)."""
    from .. import models

    try:
        return models.answered_by(result)
    except (AttributeError, TypeError, ValueError):
        return None


def status_text(record: RunRecord) -> str:
    """The escaped status line of a finished run.

    Example: ``Done in 1.2 s (run #3) · 2 items · answered by gemini-3.5-flash-lite · 812 tokens · not cached``;
    a recording: ``Recorded answer (no key), not a live call (run #1) · 2 items · <the model it states>``.
    """
    res = record.result
    if record.recorded:
        parts = [f"Recorded answer (no key), not a live call (run #{record.number})", plural(len(res), "item"),
                 str(res.model)]
        return esc(" · ".join(parts))
    parts = [f"Done in {record.elapsed_s:.1f} s (run #{record.number})", plural(len(res), "item")]
    other = answered_by(res)
    if other:
        parts.append(f"answered by {other}")
    tokens = total_tokens(getattr(res, "usage", None))
    if tokens is not None:
        parts.append(f"{tokens} tokens")
    parts.append("cached" if getattr(res, "cached", False) else "not cached")
    return esc(" · ".join(parts))


def recording_message(recording: Any) -> PanelMessage:
    """Where a recorded answer comes from, in panel terms (``Recording.notice`` without its CLI hint)."""
    from ..recordings import LIVE_HINT

    notice = str(recording.notice).replace(f" Not a live call: {LIVE_HINT}", "").strip()
    prefix = "Recorded answer (no key), "
    if notice.startswith(prefix):  # the title says it already
        notice = notice[len(prefix)].upper() + notice[len(prefix) + 1:]
    return PanelMessage(
        "info", "Recorded answer (no key)", notice,
        "This is not a live call: to ask Gemini now, set a key and choose Gemini live.",
    )


def result_message(record: RunRecord, recording: Any = None) -> PanelMessage | None:
    """What to tell the user about a finished run (None: nothing to say)."""
    res = record.result
    finish = str(getattr(res, "finish_reason", "") or "").upper()
    if finish == "RECITATION":
        return PanelMessage("error", "Stopped: recitation", f"Gemini stopped its answer {refusal_cause(finish)} ({finish}).",
                            "Try another prompt or image.")
    if finish.startswith("BLOCKED") or finish in SAFETY_FINISH_REASONS:
        return PanelMessage("error", "Blocked by safety filters", f"Gemini stopped its answer ({finish}).", "Try another prompt or image.")
    if len(res) == 0:
        hint = "See the Raw text tab for what the model said; try another prompt or model."
        return PanelMessage("warning", "Nothing found", NOTHING_READ if (res.raw_text or "").strip() else "The model returned no objects.", hint)
    if finish == "MAX_TOKENS":
        return PanelMessage("warning", "Answer cut short", "The answer hit the token limit; the complete items were kept.")
    if recording is not None:
        return recording_message(recording)
    return None
