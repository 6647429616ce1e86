"""The API key never shows: not in an error's chain, not in the SDK's log lines, not base64-encoded
(issue #12, finding 7). The real SDK against the fake server, both request paths."""

from __future__ import annotations

import base64
import logging

import numpy as np
import pytest

from spatial_nb import Client, GeminiRequestError
from spatial_nb.batch.batch_answers import error_text
from spatial_nb.redaction import redact

from .conftest import TEST_KEY
from .fake_gemini import Reply

IMG = np.zeros((16, 16, 3), np.uint8)
KEY = TEST_KEY.encode()


def _encodings(data: bytes) -> list[str]:
    """``data`` base64-encoded (both alphabets) inside longer byte strings, at each alignment."""
    out = []
    for prefix in (b"", b"a", b"ab"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            out.append(encode(prefix + data + b"!?").decode())
    return out


def _chain(exc: BaseException) -> list[BaseException]:
    seen, out = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def _leaks(text: str) -> bool:
    return TEST_KEY in text or any(piece in text for piece in _key_pieces())


def _key_pieces() -> list[str]:
    """The middle of each base64 spelling of the key (what must not survive anywhere)."""
    pieces = []
    for encoded in _encodings(KEY):
        pieces.append(encoded[4:20])
    return pieces


# -- redact() -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    f"403 for key {TEST_KEY}",
    f"headers: {{'x-goog-api-key': {TEST_KEY!r}}}",
    f"body: {KEY!r}",
    *(f"echoed: {e}" for e in _encodings(KEY)),
    "an AIza-shaped key: AIzaSyA1234567890abcdefghijklmnopqrstuv",
], ids=["plain", "str-repr", "bytes-repr", "b64-0", "urlsafe-0", "b64-1", "urlsafe-1", "b64-2", "urlsafe-2",
        "google-key-shape"])
def test_redact_removes_every_spelling(text):
    """Before the fix: base64 spellings of the key passed through."""
    out = redact(text, TEST_KEY)
    assert "***" in out and not _leaks(out) and "AIzaSy" not in out


def test_redact_leaves_other_text_alone():
    text = "HTTP 503 UNAVAILABLE: the model is overloaded; retry in 3 s"
    assert redact(text, TEST_KEY) == text


def test_a_clients_key_is_known_without_passing_it():
    other = "sk-other-" + "q" * 24
    Client(api_key=other)
    assert redact(f"echo {other}") == "echo ***"
    assert redact(base64.b64encode(b"xy" + other.encode()).decode()).count("***") == 1


# -- the exception chain ------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["generate_content", "interactions"])
def test_no_key_anywhere_in_the_error_chain(fake_gemini, backend):
    """Before the fix: ``__context__`` held the SDK's error (its request headers hold the key)
    and the base64 key in the message passed through."""
    echoed = base64.b64encode(b"k=" + KEY).decode()
    fake_gemini.queue(Reply(status=403, error_message=f"API key {TEST_KEY} ({echoed}) is not valid"))
    with pytest.raises(GeminiRequestError) as info:
        Client(backend=backend).detect(IMG, "Detect")
    err = info.value
    assert err.__context__ is None and err.__cause__ is None
    for exc in _chain(err):
        assert not _leaks(str(exc)) and not _leaks(repr(exc)) and not _leaks(repr(exc.args)), exc


def test_no_key_in_the_chain_of_a_stream_error(fake_gemini):
    fake_gemini.queue(Reply(status=403, error_message=f"bad key {TEST_KEY}"))
    with pytest.raises(GeminiRequestError) as info:
        list(Client().detect_stream(IMG, "Detect"))
    assert info.value.__context__ is None and not _leaks(str(info.value))


# -- the SDK's log lines --------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["generate_content", "interactions"])
def test_the_sdks_retry_log_line_is_redacted(fake_gemini, caplog, backend):
    """Before the fix: google_genai._api_client's INFO retry line quoted the body with the key."""
    echoed = base64.urlsafe_b64encode(b"?" + KEY).decode()
    body = f"backend overloaded for key {TEST_KEY} / {echoed}"
    fake_gemini.queue(Reply(status=503, error_message=body), Reply("[]"))
    with caplog.at_level(logging.DEBUG):
        Client(backend=backend, retry_attempts=2, retry_initial_delay=0.01).detect(IMG, "Detect")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    if backend == "generate_content":  # tenacity's before_sleep line on the SDK's logger
        assert any(r.name.startswith("google_genai") and "overloaded" in r.getMessage() for r in caplog.records)
    assert not _leaks(text)


def test_debug_logging_of_request_headers_is_redacted(fake_gemini, caplog, monkeypatch):
    """The Interactions client logs every request's headers (x-goog-api-key) at DEBUG."""
    monkeypatch.setenv("GOOGLE_GENAI_DEBUG", "1")
    fake_gemini.queue(Reply("[]"))
    with caplog.at_level(logging.DEBUG):
        Client(backend="interactions").detect(IMG, "Detect")
    assert any("x-goog-api-key" in r.getMessage().lower() for r in caplog.records)
    assert not _leaks("\n".join(r.getMessage() for r in caplog.records))


# -- batch error records ----------------------------------------------------------------------------------

def test_batch_error_text_is_redacted():
    b64 = base64.b64encode(b"ab" + KEY).decode()
    assert not _leaks(error_text({"message": f"bad key {TEST_KEY} {b64}", "code": 400}))
    assert not _leaks(error_text(RuntimeError(f"key {TEST_KEY}")))
