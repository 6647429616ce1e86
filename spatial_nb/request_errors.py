"""SDK exceptions turned into one-line :class:`GeminiRequestError` messages without the key.

Both request paths end here: ``generate_content`` raises ``google.genai.errors.APIError``
(``code``, ``status``, ``message``), the Interactions API raises its own ``APIStatusError``
family (``status_code``, a JSON ``body``, and a ``request`` whose headers hold the key). Only
the status and the API's message are kept, with every spelling of the key removed.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import GeminiRequestError

__all__ = ["explain", "api_error_details", "one_line"]


def one_line(text: str, key: str | None, limit: int = 400) -> str:
    """``text`` on one line, at most ``limit`` characters, with the key (and any key shape) masked."""
    if key:  # the key as is, and as str/bytes reprs spell it inside error messages
        for spelling in {key, repr(key)[1:-1], repr(key.encode("utf-8", "backslashreplace"))[2:-1]}:
            text = text.replace(spelling, "***")
    text = re.sub(r"AIza[0-9A-Za-z_\-]{20,}", "***", text)  # any Google API key shape
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _interactions_errors() -> Any:
    try:
        from google.genai import _interactions_errors  # the Interactions API's exceptions (SDK 3.x)
    except ImportError:  # pragma: no cover - an SDK without the Interactions API
        return None
    return _interactions_errors


def api_error_details(exc: BaseException) -> tuple[int, str, str] | None:
    """``(http_code, status, message)`` of an API error from either request path, else None."""
    from google.genai import errors as genai_errors

    if isinstance(exc, genai_errors.APIError):
        return (int(getattr(exc, "code", 0) or 0), str(getattr(exc, "status", None) or ""),
                str(getattr(exc, "message", None) or exc))
    ierrors = _interactions_errors()
    if ierrors is not None and isinstance(exc, ierrors.APIStatusError):
        body = getattr(exc, "body", None)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            message, status = str(error.get("message") or ""), str(error.get("status") or "")
        else:
            message, status = (str(body) if body else str(getattr(exc, "message", "") or "")), ""
        return int(getattr(exc, "status_code", 0) or 0), status, message
    return None


def _is_connection_error(exc: BaseException) -> bool:
    ierrors = _interactions_errors()
    if ierrors is not None and isinstance(exc, ierrors.APIConnectionError):
        return True
    return exc.__class__.__module__.startswith(("httpx", "httpcore")) or isinstance(exc, OSError)


def _is_timeout(exc: BaseException) -> bool:
    return "Timeout" in type(exc).__name__ or isinstance(exc, TimeoutError)


def explain(exc: BaseException, *, client: Any, model: str, sent_thinking: str | None = None) -> BaseException:
    """``exc`` as a one-line :class:`GeminiRequestError` (never containing the key).

    Args:
        exc: What the SDK raised.
        client: The :class:`~spatial_nb.client.Client` (its key, attempts and timeout).
        model: The model id asked for (named in the message).
        sent_thinking: Wording of the thinking setting that was sent, for a 400 about thinking.

    Returns:
        A :class:`GeminiRequestError`, or ``exc`` itself when it is not an API/network error.
    """
    key = client._secret_key()
    attempts = client.retry_attempts
    details = api_error_details(exc)
    if details is not None:
        code, status, raw = details
        detail = one_line(raw, key)
        if code == 400 and "thinking" in detail.lower():
            msg = (
                f"{model} rejected the thinking setting that was sent ({sent_thinking or 'none'}): {detail}. "
                "Change it per call with detect(..., thinking='low') (a thinking_level), thinking=128 "
                "(a thinking_budget) or thinking=False (send none), or for every call with "
                "Client(profile_overrides={'thinking': 'level', 'thinking_value': 'low'}); "
                "on the command line: --thinking low | 128 | off"
            )
        elif code == 400:
            msg = f"Gemini rejected the request (HTTP 400 {status}) for {model}: {detail}"
        elif code in (401, 403):
            msg = (f"Gemini refused the API key or permission (HTTP {code} {status}): {detail}. Check the key "
                   f"at https://aistudio.google.com/apikey and that it may use {model}")
        elif code == 404:
            from . import models

            notice = models.retirement_notice(model)
            hint = f" ({notice})" if notice else ""
            msg = (f"model {model!r} was not found (HTTP 404){hint}: {detail}. Current models: "
                   + ", ".join(models.picker_models()[:8]) + " (spatial-nb models lists them all)")
        elif code == 429:
            msg = (f"Gemini quota or rate limit exhausted (HTTP 429) after {attempts} attempt(s): {detail}. "
                   "Wait a minute and retry, lower the concurrency, or check your quota")
        elif code == 408 or code >= 500:
            msg = (f"Gemini server error (HTTP {code} {status}) on all {attempts} attempt(s) for {model}: "
                   f"{detail}. Try again later or pick another model")
        else:
            msg = f"Gemini request failed (HTTP {code} {status}) for {model}: {detail}"
        return GeminiRequestError(msg, status=code or None)
    if _is_timeout(exc):
        limit = f"{client.timeout:g} s" if client.timeout else "the SDK's time limit"
        return GeminiRequestError(
            f"Gemini did not answer within {limit} ({type(exc).__name__}); retry, pick a faster model or a "
            "smaller max_size, or raise Client(timeout=...)"
        )
    if _is_connection_error(exc):
        return GeminiRequestError(
            f"could not reach Gemini ({type(exc).__name__}: {one_line(str(exc), key)}); check the network "
            "connection (or GOOGLE_GEMINI_BASE_URL) and retry"
        )
    return exc
