"""Turn anything that went wrong during a panel run into a short, escaped HTML message.

The panel never lets a traceback reach the notebook log: every exception becomes one
:class:`PanelMessage` (a title, one or two plain sentences, what to do) rendered with every
piece of text ``html.escape``-d, because error text can quote model output, file names or server
bodies. Messages are written for the panel (no command-line flags or concurrency advice), tidied
(no repeated sentence, no double period) and scrubbed of API keys before they are shown.
"""

from __future__ import annotations

import html
import logging
import os
import re
import sys
from dataclasses import dataclass

from ..errors import (
    GeminiRequestError,
    ImageLoadError,
    MissingKeyError,
    OfflineCacheMiss,
    SpatialNBError,
)
from ..redaction import redact as redact_everywhere

__all__ = [
    "PanelMessage", "describe_error", "message_html", "esc", "redact", "log_failure", "tidy", "plural",
    "key_banner", "needs_key", "guard", "NOTHING_READ", "KEY_URL",
]

#: Shown when the model answered but no item could be parsed from the answer.
NOTHING_READ = "Nothing could be read from the model's answer: no boxes, masks or points were found in it."

#: Where keys come from (shown once, in the key banner).
KEY_URL = "https://aistudio.google.com/apikey"

_TRUE = {"1", "true", "yes", "on"}


def esc(value: object) -> str:
    """``html.escape`` for any value (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """Replace every API key we know of with ``***``: the one rule of :mod:`spatial_nb.redaction`
    (environment keys, every client's key, escaped and base64 spellings, key-shaped strings)."""
    return redact_everywhere(text, extra_secrets)


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Note a handled failure at DEBUG level: one redacted line, no traceback.

    A traceback repeats the exception's text unredacted (an HTTP library's message can hold
    a request header), and API keys must never reach a log.
    """
    logger.debug("%s failed: %s", what, redact(f"{type(exc).__name__}: {exc}"))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "item") == "1 item"``, ``plural(3, "item") == "3 items"``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


# a sentence ends at . ! ? followed by a space, except after "e.g." / "i.e." / "vs." and an ellipsis
# ("export GOOGLE_API_KEY=... in its shell" is one sentence)
_SENTENCE_END = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<!\bvs\.)(?<!\.\.\.)(?<=[.!?])\s+(?=\S)")


def tidy(*parts: str) -> str:
    """Join text into plain sentences: one space, no double period, no sentence said twice.

    Example:
        >>> tidy("An error occurred.. Wait a minute.", "wait a minute")
        'An error occurred. Wait a minute.'
    """
    out: list[str] = []
    seen: set[str] = set()
    for part in parts:
        text = " ".join(str(part or "").split())
        text = re.sub(r"(?<!\.)\.\s*\.(?!\.)", ".", text)  # "occurred.." / "occurred. ." -> "occurred."
        for sentence in _SENTENCE_END.split(text):
            sentence = sentence.strip()
            key = sentence.rstrip(".!?;: ").casefold()
            if not key or key in seen:
                continue
            seen.add(key)
            if sentence[-1] not in ".!?…":
                sentence = sentence.rstrip(";:,") + "."
            first = sentence.split(" ", 1)[0]
            if first.isalpha() and first.islower():  # never "Gemini-2.5-flash" for a model name
                sentence = sentence[:1].upper() + sentence[1:]
            out.append(sentence)
    return " ".join(out)


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

    def plain(self) -> str:
        """Title and sentences as one line of plain text (each sentence once)."""
        return f"{self.title}: {tidy(self.text, self.hint)}"


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status", "code", "status_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _looks_like_safety(text: str) -> bool:
    low = text.lower()
    return "safety" in low or "blocked" in low or "prohibited" in low or "block_reason" in low


def _sdk_detail(exc: BaseException) -> str | None:
    """The server's own message: ``GeminiRequestError.detail``, else a wrapped google-genai error's."""
    message = getattr(exc, "detail", None)
    if not message:
        inner = exc.__cause__ or exc.__context__
        message = getattr(inner, "message", None) if inner is not None else None
    return redact(" ".join(str(message).split())) if message else None


_NOT_FOR_THE_PANEL = re.compile(r"concurren|\s--[a-z]|Client\(|detect\(|profile_overrides", re.IGNORECASE)


def _panel_terms(text: str) -> str:
    """Drop advice written for code or the command line (flags, Client(...), concurrency)."""
    kept = [s for s in re.split(r"(?<=[.!?;])\s+", text) if not _NOT_FOR_THE_PANEL.search(s)]
    return " ".join(kept).rstrip(";") or text


def _model_in(exc: BaseException) -> str | None:
    found = re.search(r"\b(?:for|model) '?([a-z][\w.\-]*-[\w.\-]+)'?", str(exc))
    return found.group(1) if found else None


def describe_error(exc: BaseException) -> PanelMessage:
    """Map an exception to a message saying what happened and what to do, in panel terms.

    Example:
        >>> describe_error(GeminiRequestError("quota", status=429)).title
        'Rate limit (HTTP 429)'
    """
    text = redact(" ".join((str(exc).strip() or type(exc).__name__).split()))
    if isinstance(exc, MissingKeyError):
        return PanelMessage("error", "No Gemini API key", "Runs need a key; see the note at the top of the panel.")
    if isinstance(exc, ImageLoadError):
        return PanelMessage("error", "Image could not be read", text, "Pick another image or check the path.")
    if isinstance(exc, OfflineCacheMiss):
        return PanelMessage(
            "error", "Offline: no recorded answer",
            "SPATIAL_NB_OFFLINE=1 is set and this picture was never run with these settings, so there is nothing to replay.",
            "Pick settings that were run before (those of the workshop pack), or unset SPATIAL_NB_OFFLINE and set a key.",
        )
    status = _status_of(exc)
    if isinstance(exc, GeminiRequestError) or status is not None:
        detail = _sdk_detail(exc) or _panel_terms(text)
        model = _model_in(exc)
        if status == 429:
            return PanelMessage(
                "error", "Rate limit (HTTP 429)",
                f"Gemini kept answering 'too many requests' after the retries: {detail}",
                "Wait a minute and click Run again, or check your plan's quota in Google AI Studio.",
            )
        if _looks_like_safety(detail):
            return PanelMessage("error", "Blocked by safety filters", detail, "Try another prompt or image.")
        if status in (401, 403):
            return PanelMessage(
                "error", f"Key refused (HTTP {status})", detail,
                "Check that the key is valid and may use this model, then click Run again.",
            )
        if status == 404:
            what = f"The model {model} was not found" if model else "The model was not found"
            return PanelMessage("error", "Model not found (HTTP 404)", f"{what}: {detail}", "Pick another model.")
        if status is not None and (status >= 500 or status == 408):
            return PanelMessage(
                "error", f"Gemini server error (HTTP {status})", f"Gemini could not answer: {detail}",
                "This is usually temporary: click Run again in a moment, or pick another model.",
            )
        if status == 400 and "thinking" in detail.lower():
            return PanelMessage(
                "error", "Thinking setting refused (HTTP 400)", detail,
                "This model does not take the thinking setting that was sent; pick another model.",
            )
        if status is None and ("did not answer within" in text or "Deadline" in type(exc).__name__):
            return PanelMessage(
                "error", "No answer in time", "Gemini did not answer before the time limit.",
                "Click Run again, or pick a faster model or a smaller max size.",
            )
        if status is None and text.lower().startswith("could not reach gemini"):
            return PanelMessage(
                "error", "Gemini unreachable", text.split(";")[0],
                "Check the network connection, then click Run again.",
            )
        title = f"Request rejected (HTTP {status})" if status else "Request failed"
        return PanelMessage("error", title, detail, "Check the model and the settings, then click Run again.")
    if isinstance(exc, SpatialNBError):
        return PanelMessage("error", "Could not run", text)
    return PanelMessage(
        "error", "Unexpected error", f"{type(exc).__name__}: {text}",
        "The panel is still usable; change a setting and click Run again.",
    )


def _where() -> str:
    """``"colab"``, ``"voila"`` or ``"notebook"``: where the panel's kernel runs."""
    if "google.colab" in sys.modules:
        return "colab"
    if os.environ.get("VOILA_KERNEL_ID") or os.environ.get("SERVER_SOFTWARE", "").startswith("voila"):
        return "voila"
    return "notebook"


def _offline(client: object = None) -> bool:
    return os.environ.get("SPATIAL_NB_OFFLINE", "").strip().lower() in _TRUE or bool(getattr(client, "offline", False))


def needs_key(client: object = None) -> bool:
    """True when a live run could not start for want of a key: no client given, not offline,
    not Vertex AI, and no key in the environment or Colab."""
    if _offline(client) or client is not None:
        return False
    if os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower() in _TRUE:
        return False
    from ..client import find_api_key

    return not find_api_key()


def _recordings_sentence() -> str:
    """One sentence naming the photos with recorded answers ("" when there are none)."""
    try:
        from ..recordings import recordings
        from ..samples import sample

        titles = list(dict.fromkeys(str(sample(r.image).title) for r in recordings()))
    except Exception:  # noqa: BLE001 - no recordings: say nothing about them
        return ""
    if not titles:
        return ""
    which = "one of the sample photos" if len(titles) == 1 else f"{plural(len(titles), 'sample photo')}"
    return (f"Recorded answers are available without a key: Google's cookbook quotes Gemini's answers for {which} "
            f"({'; '.join(titles)}); click Show a recorded answer (no key).")


def key_banner(client: object = None) -> PanelMessage | None:
    """The note shown at the top of a panel built without a usable key (None when one is set).

    Offline mode needs no key (answers replay from the cache) and gets a short info note instead.
    Without a key the note also says that recorded answers are available.
    """
    if _offline(client):
        return PanelMessage(
            "info", "Offline replay",
            "SPATIAL_NB_OFFLINE=1 is set: answers come from the cache only and nothing is sent to Gemini.",
        )
    if not needs_key(client):
        return None
    where = _where()
    if where == "colab":
        how = ("Add a secret named GOOGLE_API_KEY (key icon in the left bar), allow this notebook to "
               "read it, then click Run.")
    elif where == "voila":
        how = "Stop Voilà, run export GOOGLE_API_KEY=... in its shell, then start it again."
    else:
        how = ('Run os.environ["GOOGLE_API_KEY"] = "..." in a cell (or start Jupyter from a shell with '
               "GOOGLE_API_KEY set), then click Run.")
    hint = " ".join(filter(None, [f"Get a key at {KEY_URL}.", _recordings_sentence()]))
    return PanelMessage("warning", "No Gemini API key yet", f"Live runs need one. {how}", hint)


_COLOURS = {"error": ("#b00020", "#fdecee"), "warning": ("#8a5a00", "#fff6e0"), "info": ("#0b5394", "#eaf2fb")}


def message_html(msg: PanelMessage) -> str:
    """Render a message as a small HTML box; every text part is escaped, each sentence said once."""
    fg, bg = _COLOURS.get(msg.level, _COLOURS["info"])
    text = tidy(msg.text)
    hint = tidy(*[s for s in _SENTENCE_END.split(tidy(msg.hint)) if s and s.casefold() not in text.casefold()])
    hint_html = f'<div class="snb-msg-hint" style="margin-top:4px">{esc(hint)}</div>' if hint else ""
    return (
        f'<div class="snb-msg snb-msg-{esc(msg.level)}" role="alert" style="border-left:4px solid {fg};'
        f'background:{bg};color:{fg};padding:6px 10px;margin:4px 0;white-space:normal;line-height:1.35">'
        f"<b>{esc(msg.title)}</b>: {esc(text)}{hint_html}</div>"
    )


def guard(method):
    """Wrap a panel callback so any exception is shown in the panel, never raised into the kernel log."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            log_failure(logging.getLogger("spatial_nb.widgets"), f"panel callback {method.__name__}", exc)
            self._show_exception(exc)
            return None

    return wrapper
