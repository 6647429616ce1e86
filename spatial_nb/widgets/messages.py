"""Turn anything that went wrong during a panel run into a short, escaped HTML message.

The panel never lets a traceback reach the notebook log: every exception becomes one
:class:`PanelMessage` (what happened, what to do) rendered with every piece of text
``html.escape``-d, because error text can quote model output, file names or server bodies.
API keys found in the environment are redacted from every message before it is shown.
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass

from ..errors import (
    GeminiRequestError,
    ImageLoadError,
    MissingKeyError,
    OfflineCacheMiss,
    SpatialNBError,
)

__all__ = ["PanelMessage", "describe_error", "message_html", "esc", "redact", "log_failure", "NOTHING_READ", "KEY_HELP"]

#: Shown when the model answered but no item could be parsed from the answer.
NOTHING_READ = "Nothing could be read from the model's answer: no boxes, masks or points were found in it."

#: How to set a key, shown under every missing-key message.
KEY_HELP = (
    "Set it before clicking Run: in a notebook cell run "
    "os.environ[\"GOOGLE_API_KEY\"] = \"...\" (or %env GOOGLE_API_KEY=...), "
    "export GOOGLE_API_KEY=... in the shell that starts Jupyter/Voilà, "
    "or in Colab add a secret named GOOGLE_API_KEY (key icon in the left bar). "
    "Get a key at https://aistudio.google.com/apikey."
)

_KEY_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")


def esc(value: object) -> str:
    """``html.escape`` for any value (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """Replace every API key we know of (environment or given) with ``***``."""
    for secret in (*(os.environ.get(v, "") for v in _KEY_VARS), *extra_secrets):
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return text


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Note a handled failure at DEBUG level: one redacted line, no traceback.

    A traceback repeats the exception's text unredacted (an HTTP library's message can hold
    a request header), and API keys must never reach a log.
    """
    logger.debug("%s failed: %s", what, redact(f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class PanelMessage:
    """One message for the panel.

    Attributes:
        level: ``"error"``, ``"warning"`` or ``"info"``.
        title: A few words (``"No API key"``).
        text: What happened, one or two sentences (plain text, unescaped).
        hint: What to do about it (plain text, unescaped), or "".
    """

    level: str
    title: str
    text: str
    hint: str = ""


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status", "code", "status_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None


def _looks_like_safety(text: str) -> bool:
    low = text.lower()
    return "safety" in low or "blocked" in low or "prohibited" in low or "block_reason" in low


def _drop_prefix(text: str, title: str) -> str:
    """``"No key: get one"`` -> ``"get one"`` when the title already says ``"No key"``."""
    if text.lower().startswith(title.lower()):
        rest = text[len(title):].lstrip(" :.-")
        return rest[:1].upper() + rest[1:] if rest else text
    return text


def describe_error(exc: BaseException) -> PanelMessage:
    """Map an exception to a message saying what happened and what to do.

    Example:
        >>> describe_error(GeminiRequestError("quota", status=429)).title
        'Rate limit (HTTP 429)'
    """
    text = redact(str(exc).strip() or type(exc).__name__)
    if isinstance(exc, MissingKeyError):
        return PanelMessage("error", "No Gemini API key", _drop_prefix(text, "No Gemini API key"), KEY_HELP)
    if isinstance(exc, ImageLoadError):
        return PanelMessage("error", "Image could not be read", text, "Pick another image or check the path/upload.")
    if isinstance(exc, OfflineCacheMiss):
        return PanelMessage(
            "error", "Offline: no cached answer", text,
            "Unset SPATIAL_NB_OFFLINE to call Gemini, or use settings that were run before.",
        )
    status = _status_of(exc)
    if isinstance(exc, GeminiRequestError) or status is not None:
        if status == 429:
            return PanelMessage(
                "error", "Rate limit (HTTP 429)",
                f"Gemini kept answering 'too many requests' after the retries. Its message: {text}",
                "Wait a minute and click Run again (the panel stays usable), or check your quota "
                "and plan at https://aistudio.google.com.",
            )
        if _looks_like_safety(text):
            return PanelMessage(
                "error", "Blocked by safety filters", text,
                "Gemini refused this image or prompt. Try another prompt or image.",
            )
        if status in (401, 403):
            return PanelMessage("error", f"Key refused (HTTP {status})", text, KEY_HELP)
        if status is not None and status >= 500:
            return PanelMessage(
                "error", f"Gemini server error (HTTP {status})", text,
                "This is usually temporary: click Run again in a moment.",
            )
        title = f"Request failed (HTTP {status})" if status else "Request failed"
        return PanelMessage("error", title, text, "Check the model name and the settings, then click Run again.")
    if isinstance(exc, SpatialNBError):
        return PanelMessage("error", "Could not run", text)
    return PanelMessage(
        "error", "Unexpected error",
        f"{type(exc).__name__}: {text}",
        "The panel is still usable; change a setting and click Run again. "
        "If it keeps happening, please report it with the message above.",
    )


_COLOURS = {"error": ("#b00020", "#fdecee"), "warning": ("#8a5a00", "#fff6e0"), "info": ("#0b5394", "#eaf2fb")}


def message_html(msg: PanelMessage) -> str:
    """Render a message as a small HTML box; every text part is escaped."""
    fg, bg = _COLOURS.get(msg.level, _COLOURS["info"])
    hint = f'<div class="snb-msg-hint" style="margin-top:4px">{esc(msg.hint)}</div>' if msg.hint else ""
    return (
        f'<div class="snb-msg snb-msg-{esc(msg.level)}" role="alert" style="border-left:4px solid {fg};'
        f'background:{bg};color:{fg};padding:6px 10px;margin:4px 0;white-space:normal;line-height:1.35">'
        f"<b>{esc(msg.title)}</b>: {esc(msg.text)}{hint}</div>"
    )
