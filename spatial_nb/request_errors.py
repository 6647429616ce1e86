"""SDK exceptions turned into one-line :class:`GeminiRequestError` messages without the key.

Both request paths end here: ``generate_content`` raises ``google.genai.errors.APIError``
(``code``, ``status``, ``message``), the Interactions API raises its own ``APIStatusError``
family (``status_code``, a JSON ``body``, and a ``request`` whose headers hold the key). Only
the status and the API's message are kept, with every spelling of the key removed
(:func:`spatial_nb.redaction.redact`). Answers :mod:`spatial_nb.http_guard` made up for a
reset or a non-JSON body, and the request's time limit, are told apart from real statuses.
"""

from __future__ import annotations

import re

from typing import Any

from .deadline import DeadlineExceeded, fault_of
from .errors import GeminiRequestError
from .redaction import redact

__all__ = ["explain", "api_error_details", "one_line", "find_in_chain"]


def one_line(text: str, key: str | None, limit: int = 400) -> str:
    """``text`` on one line, at most ``limit`` characters, with every known key (and any key shape) masked."""
    text = " ".join(redact(text, key).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def find_in_chain(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc`` or the first exception of type ``kind`` it was raised from or during."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return item
        stack += [item.__cause__, item.__context__, getattr(item, "inner", None)]
    return None


def _tries(n: int) -> str:
    return f"{n} attempt" + ("" if n == 1 else "s")


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


def explain(exc: BaseException, *, client: Any, model: str, sent_thinking: str | None = None,
            timeout: float | None = None) -> BaseException:
    """``exc`` as a one-line :class:`GeminiRequestError` (never containing the key).

    The error is new and carries nothing of ``exc`` but words: raise it outside the
    ``except`` block (or clear ``__context__``) so the SDK's exception, whose request holds
    the key, is not attached to it.

    Args:
        exc: What the SDK raised.
        client: The :class:`~spatial_nb.client.Client` (its key, attempts and timeout).
        model: The model id asked for (named in the message).
        sent_thinking: Wording of the thinking setting that was sent, for a 400 about thinking.
        timeout: The request's time limit in seconds (default: the client's).

    Returns:
        A :class:`GeminiRequestError`, or ``exc`` itself when it is not an API/network error.
    """
    key = client._secret_key()
    attempts = client.retry_attempts
    if timeout is None:
        timeout = getattr(client, "timeout", None)
    late = find_in_chain(exc, DeadlineExceeded)
    if late is not None:
        return _late(late, model, key)  # type: ignore[arg-type]
    details = api_error_details(exc)
    fault = fault_of(exc) if details is not None else None
    if fault is not None:
        detail = one_line(details[2], key)  # type: ignore[index]
        if fault == "not-json":
            msg = (f"Gemini's address answered with something that is not Gemini JSON on all {_tries(attempts)} "
                   f"for {model} ({detail}); a proxy, firewall or captive portal may be answering instead "
                   "— check the network (and GOOGLE_GEMINI_BASE_URL) and retry")
        else:
            msg = (f"could not reach Gemini on all {_tries(attempts)} for {model} ({detail}); check the network "
                   "connection (or GOOGLE_GEMINI_BASE_URL) and retry")
        return GeminiRequestError(msg, transient=True)
    if details is not None:
        code, status, raw = details
        detail = re.sub(r"(?<!\.)\.$", "", one_line(raw, key))  # the sentences below add their own full stop
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
            msg = (f"Gemini quota or rate limit exhausted (HTTP 429) after {_tries(attempts)}: {detail}. "
                   "Wait a minute and retry, lower the concurrency, or check your quota")
        elif code == 408 or code >= 500:
            msg = (f"Gemini server error (HTTP {code} {status}) on all {_tries(attempts)} for {model}: "
                   f"{detail}. Try again later or pick another model")
        else:
            msg = f"Gemini request failed (HTTP {code} {status}) for {model}: {detail}"
        return GeminiRequestError(msg, status=code or None, detail=detail or None)
    if _is_timeout(exc):
        limit = f"{timeout:g} s" if timeout else "the SDK's time limit"
        return GeminiRequestError(
            f"Gemini did not answer within {limit} ({type(exc).__name__}); retry, pick a faster model or a "
            "smaller max_size, or raise the limit: Client(timeout=...) or --timeout", transient=True)
    if _is_connection_error(exc):
        return GeminiRequestError(
            f"could not reach Gemini ({type(exc).__name__}: {one_line(str(exc), key)}); check the network "
            "connection (or GOOGLE_GEMINI_BASE_URL) and retry", transient=True)
    return exc


def _late(exc: DeadlineExceeded, model: str, key: str | None) -> GeminiRequestError:
    """The one line for a request that ran out of time."""
    limit = f"{exc.timeout:g} s" if exc.timeout is not None else "its time limit"
    what = one_line(exc.reason, key, limit=200)
    tries = f"{_tries(exc.attempts)}" + (f", the last failure: {one_line(exc.last_failure, key, 160)}"
                                          if exc.last_failure else "")
    return GeminiRequestError(
        f"Gemini did not answer within {limit} for {model} ({what}; {tries}); retry later, pick a faster "
        "model or a smaller max_size, or raise the limit: Client(timeout=...) or --timeout", transient=True)
