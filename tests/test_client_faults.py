"""Network faults against the real SDK and the fake server: empty answers, one overall deadline,
resets and non-JSON bodies (issue #12, findings 2, 3 and 4). Both request paths, and streams."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from spatial_nb import Client, GeminiRequestError
from spatial_nb.cache import Cache
from spatial_nb.result import Result

from .fake_gemini import Reply

IMG = np.zeros((16, 16, 3), np.uint8)
BOXES = json.dumps([{"box_2d": [100, 100, 400, 500], "label": "cup"}])
BACKENDS = ["generate_content", "interactions"]
NO_TEXT = json.dumps({"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}]}).encode()
EMPTY_INTERACTION = json.dumps({"id": "i-1", "status": "completed", "model": "gemini-3.6-flash", "steps": [],
                                "created": "2026-12-03T00:00:00Z", "updated": "2026-12-03T00:00:00Z"}).encode()


def _client(**kw) -> Client:
    kw.setdefault("retry_initial_delay", 0.01)
    return Client(**kw)


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    """Poll ``predicate`` (the fake server notices a hang-up a moment after the client leaves)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# -- finding 2: empty answers are warnings, never cached --------------------------------------

EMPTY_BODIES = [
    ("generate_content", b""),
    ("generate_content", b'{"candidates": []}'),
    ("generate_content", NO_TEXT),
    ("interactions", b""),
    ("interactions", EMPTY_INTERACTION),
]


@pytest.mark.parametrize("backend, body", EMPTY_BODIES,
                         ids=["empty-body", "no-candidates", "no-text", "interactions-empty-body",
                              "interactions-no-steps"])
def test_an_empty_answer_is_a_warning_and_never_cached(fake_gemini, backend, body):
    """Before the fix: 0 items, no warning, cached and replayed (interactions: a raw validation error)."""
    fake_gemini.queue(Reply(raw_body=body), Reply(BOXES))
    client = _client(backend=backend)
    first = client.detect(IMG, "Detect the cups")
    assert first.items == [] and not first.cached
    assert any("empty answer" in w for w in first.warnings), first.warnings
    second = client.detect(IMG, "Detect the cups")  # asks again: nothing was cached
    assert not second.cached and second.labels == ["cup"]
    assert len(fake_gemini.model_requests()) == 2
    assert client.detect(IMG, "Detect the cups").cached  # the real answer is


def test_an_empty_streamed_answer_is_a_warning_and_never_cached(fake_gemini):
    fake_gemini.queue(Reply(raw_body=b'{"candidates": []}'), Reply(BOXES))
    client = _client()
    stream = client.detect_stream(IMG, "Detect the cups")
    assert list(stream) == [] and any("empty answer" in w for w in stream.result.warnings)
    again = client.detect_stream(IMG, "Detect the cups")
    assert [i.label for i in again] == ["cup"] and not again.result.cached
    assert len(fake_gemini.generate_requests()) == 2


def test_a_parsed_empty_list_is_a_cached_nothing_found(fake_gemini):
    fake_gemini.queue(Reply("[]"))
    client = _client()
    first = client.detect(IMG, "Detect the unicorns")
    assert first.items == [] and not any("empty answer" in w for w in first.warnings)
    assert client.detect(IMG, "Detect the unicorns").cached
    assert len(fake_gemini.generate_requests()) == 1


def test_an_empty_answer_cached_by_an_older_version_is_a_miss_and_deleted(fake_gemini):
    """Before the fix: the stored empty answer was replayed as "nothing found" forever."""
    client = _client()
    key = client._plan(IMG, "Detect the cups", "boxes", {"max_size": 640}).key
    cache = Cache()
    cache.put(key, Result(raw_text="", finish_reason="STOP"))  # what older versions stored
    assert key in cache
    fake_gemini.queue(Reply(BOXES))
    res = client.detect(IMG, "Detect the cups")
    assert not res.cached and res.labels == ["cup"] and len(fake_gemini.generate_requests()) == 1
    assert cache.get(key).labels == ["cup"]  # replaced by the real answer


# -- finding 3: one overall deadline --------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_that_never_answers_gives_an_error_at_the_deadline(fake_gemini, backend):
    """Before the fix: no default limit, so this call hung forever (pytest-timeout guards it)."""
    fake_gemini.queue(Reply(hang=True))
    with pytest.raises(GeminiRequestError, match=r"did not answer within 2 s") as info:
        _client(backend=backend, timeout=2).detect(IMG, "Detect")
    message = str(info.value)
    assert "\n" not in message and "--timeout" in message and info.value.transient
    assert _wait_for(lambda: fake_gemini.model_requests()[0].client_hung_up)  # the client hung up
    assert len(fake_gemini.model_requests()) == 1  # no time was left for another attempt


@pytest.mark.timeout(60)
def test_the_default_limit_is_120_seconds_and_applies_per_call():
    client = Client(api_key="x" * 39)
    assert client.timeout == 120 and client.deadline == 120
    with pytest.raises(ValueError, match="more than 0"):
        Client(api_key="x" * 39, timeout=0)
    with pytest.raises(ValueError, match="number of seconds"):
        Client(api_key="x" * 39, timeout="soon")
    assert Client(api_key="x" * 39, timeout=None).timeout is None


@pytest.mark.timeout(60)
def test_a_per_call_timeout_overrides_the_clients(fake_gemini):
    fake_gemini.queue(Reply(hang=True))
    with pytest.raises(GeminiRequestError, match=r"did not answer within 1 s"):
        _client(timeout=300).detect(IMG, "Detect", timeout=1)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dribbling_body_ends_at_the_deadline(fake_gemini, backend):
    """Before the fix: timeout=2 bounded each read, so a body arriving a byte every 0.25 s took
    as long as the server liked (here about 90 s)."""
    fake_gemini.queue(Reply(BOXES * 3, dribble_delay=0.25))
    with pytest.raises(GeminiRequestError, match=r"did not answer within 2 s .*still arriving"):
        _client(backend=backend, timeout=2, retry_attempts=1).detect(IMG, "Detect")
    req = fake_gemini.model_requests()[0]
    assert _wait_for(lambda: req.client_hung_up)  # the client closed the connection


@pytest.mark.timeout(60)
def test_a_slow_stream_ends_at_the_deadline_with_the_items_so_far(fake_gemini):
    many = json.dumps([{"box_2d": [10 * i, 0, 10 * i + 5, 5], "label": f"x{i}"} for i in range(40)])
    fake_gemini.queue(Reply(many, chunk_size=20, chunk_delay=0.2))
    got = []
    with pytest.raises(GeminiRequestError, match=r"did not answer within 2 s .*streamed answer"):
        for item in _client(timeout=2).detect_stream(IMG, "Detect"):
            got.append(item.label)
    assert 0 < len(got) < 40  # the items that completed in time were given out
    assert fake_gemini.generate_requests()[0].stream_completed is False


@pytest.mark.timeout(60)
def test_each_attempt_is_given_the_time_left(fake_gemini):
    """The server sees the time left in X-Server-Timeout: less on the second attempt."""
    fake_gemini.queue(Reply(status=503, delay=1.5), Reply(BOXES))
    res = _client(timeout=8).detect(IMG, "Detect")
    assert res.labels == ["cup"]
    first, second = (int(r.headers["X-Server-Timeout"]) for r in fake_gemini.generate_requests())
    assert first == 8 and second <= 7


@pytest.mark.timeout(60)
def test_no_retry_starts_when_its_backoff_would_end_past_the_deadline(fake_gemini):
    """Attempt 1 fails 1.5 s in; the SDK could wait up to 2 s (1 s delay + 1 s jitter) before
    attempt 2, past the 3 s limit: the error comes now, naming the last failure."""
    fake_gemini.queue(*[Reply(status=503, delay=1.5)] * 3)
    client = Client(timeout=3, retry_attempts=3, retry_initial_delay=1.0)
    with pytest.raises(GeminiRequestError, match=r"within 3 s .*HTTP 503 on attempt 1"):
        client.detect(IMG, "Detect")
    assert len(fake_gemini.generate_requests()) == 1


def test_retries_stay_the_sdks_and_are_not_multiplied(fake_gemini):
    fake_gemini.queue(*[Reply(status=500)] * 10)
    with pytest.raises(GeminiRequestError, match="on all 3 attempts"):
        _client(retry_attempts=3).detect(IMG, "Detect")
    assert len(fake_gemini.generate_requests()) == 3


# -- finding 4: non-JSON bodies and resets are retried like 5xx -----------------------------------

HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fault", [
    Reply(raw_body=HTML, content_type="text/html"),  # a proxy's error page with status 200
    Reply(raw_body=b'{"candidates": [', content_type="application/json"),  # JSON cut short
    Reply(reset=True),  # TCP reset before any answer
    Reply(BOXES, reset_after_bytes=20),  # TCP reset part-way through the body
], ids=["html-200", "broken-json-200", "reset", "reset-mid-body"])
def test_a_fault_is_retried_like_a_5xx(fake_gemini, backend, fault):
    """Before the fix: a raw JSONDecodeError / APIError, or a reset error, on the first attempt."""
    fake_gemini.queue(fault, Reply(BOXES))
    res = _client(backend=backend, retry_attempts=2).detect(IMG, "Detect")
    assert res.labels == ["cup"] and len(fake_gemini.model_requests()) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_non_json_body_on_every_attempt_is_one_line_saying_so(fake_gemini, backend):
    fake_gemini.queue(*[Reply(raw_body=HTML, content_type="text/html")] * 2)
    with pytest.raises(GeminiRequestError) as info:
        _client(backend=backend, retry_attempts=2).detect(IMG, "Detect")
    message = str(info.value)
    assert "not Gemini JSON on all 2 attempts" in message and "text/html" in message and "502 Bad Gateway" in message
    assert "\n" not in message and info.value.transient and info.value.__context__ is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_resets_on_every_attempt_are_one_line_saying_so(fake_gemini, backend):
    fake_gemini.queue(*[Reply(reset=True)] * 3)
    with pytest.raises(GeminiRequestError, match="could not reach Gemini on all 3 attempts") as info:
        _client(backend=backend, retry_attempts=3).detect(IMG, "Detect")
    assert "\n" not in str(info.value) and info.value.transient
    assert len(fake_gemini.model_requests()) == 3


def test_transient_tells_a_retryable_failure_from_a_request_to_fix(fake_gemini):
    fake_gemini.queue(Reply(status=400, error_message="Request contains an invalid argument."))
    with pytest.raises(GeminiRequestError) as bad:
        _client().detect(IMG, "Detect")
    fake_gemini.queue(Reply(status=503))
    with pytest.raises(GeminiRequestError) as busy:
        _client(retry_attempts=1).detect(IMG, "Detect")
    assert (bad.value.status, bad.value.transient) == (400, False)
    assert (busy.value.status, busy.value.transient) == (503, True)


def test_a_refused_connection_is_retried_then_one_line(monkeypatch):
    import socket

    from .conftest import TEST_KEY

    with socket.socket() as sock:  # a port with nothing listening on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    with pytest.raises(GeminiRequestError, match="could not reach Gemini on all 2 attempts .*ConnectError") as info:
        _client(retry_attempts=2).detect(IMG, "Detect")
    assert info.value.transient and "\n" not in str(info.value)


def test_a_bad_per_call_timeout_fails_before_sending(fake_gemini):
    with pytest.raises(ValueError, match="more than 0"):
        _client().detect(IMG, "Detect", timeout=-1)
    assert fake_gemini.model_requests() == []


def test_the_limit_can_be_changed_on_a_client_and_is_checked():
    client = Client(api_key="x" * 39)
    client.timeout = 45
    assert client.timeout == 45 and client.copy(timeout=10).timeout == 10 and client.timeout == 45
    with pytest.raises(ValueError):
        client.timeout = 0
    with pytest.raises(ValueError):
        client.copy(timeout=-5)


def test_a_copy_with_another_limit_gets_an_sdk_client_with_that_per_read_timeout(fake_gemini):
    # Regression: copies shared SDK clients keyed by the retry setting alone, so a copy with
    # timeout=7 made its model-list / Batch API file calls with the original's 120 s reads.
    base = Client()
    quick = base.copy(timeout=7)
    read_ms = lambda client: client._sdk()._api_client._http_options.timeout  # noqa: E731
    assert read_ms(base) == 120_000 and read_ms(quick) == 7_000
    assert quick.copy(timeout=7)._sdk() is quick._sdk()  # same settings still share one SDK client
