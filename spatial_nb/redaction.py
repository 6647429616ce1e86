"""Keep API keys out of every text spatial_nb shows or writes: errors, records, log lines.

:func:`redact` removes a key in every spelling seen in error text: as is, as Python's str and
bytes reprs escape it, in standard and URL-safe base64 at each of the three byte alignments
(a key inside an encoded body or header), and anything shaped like a Google API key. Keys
of every :class:`~spatial_nb.Client` made in this process and of ``GOOGLE_API_KEY`` /
``GEMINI_API_KEY`` are known without being passed. :func:`install_log_filter` applies the same
rule to the SDK's and HTTP libraries' loggers (the SDK's retry line quotes the server's body).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from collections.abc import Iterable

__all__ = ["redact", "remember_secret", "install_log_filter", "RedactingFilter", "MASK"]

#: What a secret is replaced with.
MASK = "***"

#: Anything shaped like a Google API key (``AIza`` + 35 characters), known or not.
_KEY_SHAPE = re.compile(r"AIza[0-9A-Za-z_\-]{20,}")
#: Loggers that may print request headers, URLs or the server's error bodies.
LOGGER_PREFIXES = ("google_genai", "google.genai", "httpx", "httpx2", "httpcore", "httpcore2")

_known: set[str] = set()
_lock = threading.Lock()
_spellings_cache: dict[str, tuple[str, ...]] = {}


def remember_secret(secret: str | None) -> None:
    """Add ``secret`` to the keys :func:`redact` removes without being told (one process)."""
    if secret and len(secret) >= 8:
        with _lock:
            _known.add(secret)


def _base64_spellings(data: bytes) -> list[str]:
    """The base64 text that ``data`` always turns into inside any longer base64 stream.

    A byte string starting at offset 0, 1 or 2 (mod 3) of the encoded bytes gives three
    different encodings; only the characters made of ``data``'s bits alone are kept (the
    first and last character can mix in neighbouring bytes). Both alphabets are returned.
    """
    out = []
    n = len(data)
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data + b"\0\0").decode("ascii")
        start = -(-8 * pad // 6)  # ceil: the first character made only of data's bits
        end = (8 * (pad + n)) // 6  # the character after the last one made only of data's bits
        piece = encoded[start:end]
        if len(piece) >= 8:
            out.append(piece)
            out.append(piece.replace("+", "-").replace("/", "_"))
    return out


def _spellings(secret: str) -> tuple[str, ...]:
    cached = _spellings_cache.get(secret)
    if cached is not None:
        return cached
    raw = secret.encode("utf-8", "backslashreplace")
    forms = {secret, repr(secret)[1:-1], repr(raw)[2:-1], *_base64_spellings(raw)}
    result = tuple(sorted((f for f in forms if f), key=len, reverse=True))  # longest first
    _spellings_cache[secret] = result
    return result


def _secrets(extra: str | Iterable[str | None] | None) -> set[str]:
    found = {os.environ.get("GOOGLE_API_KEY"), os.environ.get("GEMINI_API_KEY")}
    if isinstance(extra, str):
        found.add(extra)
    elif extra is not None:
        found.update(extra)
    with _lock:
        found.update(_known)
    return {s.strip() for s in found if s and len(s.strip()) >= 8}


def redact(text: object, secrets: str | Iterable[str | None] | None = None) -> str:
    """``text`` (made a string) with every spelling of every known key replaced by ``***``.

    Args:
        text: Anything; ``str(text)`` is redacted.
        secrets: A key or keys to remove besides the known ones (the keys of clients made in
            this process and ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``).

    Example:
        >>> redact("HTTP 403 for key sk-test-123456789", "sk-test-123456789")
        'HTTP 403 for key ***'
        >>> import base64  # the key base64-encoded after one other byte
        >>> redact(base64.b64encode(b"x" + b"sk-test-123456789").decode(), "sk-test-123456789")
        'eH***'
    """
    out = str(text)
    for secret in _secrets(secrets):
        for spelling in _spellings(secret):
            if spelling in out:
                out = out.replace(spelling, MASK)
    return _KEY_SHAPE.sub(MASK, out)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message and any exception text of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: leave the record as it is
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Put the redacting filter on the SDK's and HTTP libraries' loggers (idempotent).

    A filter on a parent logger does not see its children's records, so it goes on every
    existing logger under :data:`LOGGER_PREFIXES` (call again after importing more of them).
    """
    manager = logging.Logger.manager
    names = set(LOGGER_PREFIXES)
    with _lock:
        names.update(n for n in list(manager.loggerDict) if n.startswith(LOGGER_PREFIXES))
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
