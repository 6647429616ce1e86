"""One rule for "Gemini sent nothing back": an answer without any text.

An HTTP 200 with no candidates, or candidates without text parts, is not "nothing found":
the model never answered. A parsed ``[]`` is a real answer ("nothing found") and stays one.
Folder runs record an empty answer as an error and ask again a few times; the client is to
warn and never cache it. A blocked prompt or a safety stop is also empty, but Gemini said
why, so asking again the same way does not help (:func:`is_refusal`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_empty_answer", "is_refusal", "refusal_cause", "empty_answer_message",
    "SAFETY_FINISH_REASONS", "REFUSAL_FINISH_REASONS",
]

#: Finish reasons of a safety filter (the Gemini API's ``FinishReason`` values).
SAFETY_FINISH_REASONS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"})
#: Finish reasons meaning Gemini stopped on purpose: a safety filter, or ``RECITATION`` (the
#: answer would have repeated source material). Asking again the same way does not help.
REFUSAL_FINISH_REASONS = SAFETY_FINISH_REASONS | {"RECITATION"}


def is_empty_answer(answer: Any) -> bool:
    """True when an answer holds no text at all (a :class:`~spatial_nb.result.Result` or its text).

    Example:
        >>> from spatial_nb.parsing import parse
        >>> is_empty_answer(""), is_empty_answer("  \\n"), is_empty_answer("[]")
        (True, True, False)
        >>> is_empty_answer(parse("[]"))
        False
    """
    if answer is None:
        return True
    if isinstance(answer, str):
        return not answer.strip()
    if len(getattr(answer, "items", ()) or ()):
        return False  # items built in code, without raw text, are an answer
    return not (getattr(answer, "raw_text", None) or "").strip()


def is_refusal(result: Any) -> bool:
    """True when an empty answer says why: the prompt was blocked or a safety filter stopped it."""
    finish = getattr(result, "finish_reason", None) or ""
    return finish.startswith("BLOCKED") or finish in REFUSAL_FINISH_REASONS


def refusal_cause(finish: str) -> str:
    """Why Gemini stopped, for a sentence "Gemini stopped the answer <cause> (<finish>)".

    >>> refusal_cause("SPII"), refusal_cause("RECITATION")
    ('for safety', 'because it would repeat source material')
    """
    return "because it would repeat source material" if finish == "RECITATION" else "for safety"


def empty_answer_message(result: Any, attempts: int = 1) -> str:
    """One line for an empty answer: what came back and what to do.

    Example:
        >>> from spatial_nb.result import Result
        >>> empty_answer_message(Result(raw_text="", finish_reason="STOP"), attempts=3)[:52]
        'Gemini sent an empty answer (no text; finish_reason '
    """
    finish = getattr(result, "finish_reason", None)
    if is_refusal(result):
        reason = finish.split(":", 1)[-1] if finish.startswith("BLOCKED") else finish
        what = "blocked the prompt" if finish.startswith("BLOCKED") else f"stopped the answer {refusal_cause(finish)}"
        return (f"Gemini {what} ({reason}) and sent no text; not asked again: rephrase the prompt "
                "or check the image")
    tries = f" on {attempts} attempts" if attempts > 1 else ""
    return (f"Gemini sent an empty answer (no text; finish_reason {finish or 'none'}){tries}; "
            "run again later to retry this image, or try another model")
