"""Streaming with the real SDK against the fake server: items as they complete, loops cut early."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from spatial_nb import Client, GeminiRequestError
from spatial_nb.cache import Cache
from spatial_nb.client import DetectStream

from .fake_gemini import Reply

IMG = np.zeros((48, 64, 3), np.uint8)


def _items(n: int) -> list[dict]:
    return [{"box_2d": [10 * i, 10 * i, 10 * i + 50, 10 * i + 80], "label": f"object {i}"} for i in range(n)]


def _chunks_per_item(items: list[dict]) -> list[str]:
    """The answer split so that each SSE event completes exactly one item."""
    texts = [json.dumps(it) for it in items]
    return ["[" + texts[0]] + ["," + t for t in texts[1:]] + ["]"]


def _settle(req, quiet: float = 0.3, limit: float = 5.0) -> None:
    """Wait until the server stops sending events (finished, or noticed the hang-up)."""
    deadline = time.monotonic() + limit
    last, last_change = req.events_sent, time.monotonic()
    while time.monotonic() < deadline and req.stream_completed is not True:
        time.sleep(0.05)
        if req.events_sent != last:
            last, last_change = req.events_sent, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return


def _client(**kw):
    kw.setdefault("retry_initial_delay", 0.01)
    return Client(**kw)


def test_stream_yields_items_as_they_complete(fake_gemini):
    items = _items(4)
    chunks = _chunks_per_item(items)
    fake_gemini.queue(Reply("".join(chunks), chunks=chunks))
    stream = _client().detect_stream(IMG, "Detect things")
    assert isinstance(stream, DetectStream) and stream.result is None
    got = []
    for item in stream:
        got.append(item.label)
        if len(got) == 1:
            assert stream.result is None  # still streaming
    assert got == [f"object {i}" for i in range(4)]
    req = fake_gemini.generate_requests()[0]
    assert req.action == "streamGenerateContent" and req.stream_completed is True
    res = stream.result
    assert res.labels == got and res.finish_reason == "STOP" and res.usage["prompt_tokens"] == 300
    assert res.raw_text == "".join(chunks) and res.image_size == (64, 48)
    assert req.images and req.system_instruction  # same request body as detect()


def test_generator_return_value_is_the_result(fake_gemini):
    stream = _client().detect_stream(IMG, "Detect things")
    try:
        while True:
            next(stream._gen)
    except StopIteration as stop:
        assert stop.value is stream.result and len(stop.value) == 3


def test_looping_stream_is_cut_early(fake_gemini):
    # 3 distinct items, then the model repeats the last one over and over
    items = _items(3) + [_items(3)[-1]] * 60
    chunks = _chunks_per_item(items)
    fake_gemini.queue(Reply(json.dumps(items), chunks=chunks, chunk_delay=0.03))
    stream = _client().detect_stream(IMG, "Detect things")
    labels = [it.label for it in stream]
    assert labels == ["object 0", "object 1", "object 2"]
    assert stream.stopped_early
    res = stream.result
    assert any("repeating" in w for w in res.warnings)
    req = fake_gemini.generate_requests()[0]
    _settle(req)
    assert req.stream_completed is False
    assert req.events_sent < len(chunks)


def test_closing_the_stream_hangs_up(fake_gemini):
    items = _items(40)
    chunks = _chunks_per_item(items)
    fake_gemini.queue(Reply(json.dumps(items), chunks=chunks, chunk_delay=0.03))
    with _client().detect_stream(IMG, "Detect things") as stream:
        first = next(stream)
    assert first.label == "object 0"
    req = fake_gemini.generate_requests()[0]
    _settle(req)
    assert req.stream_completed is False and req.events_sent < len(chunks)
    assert stream.result is None  # no result for an abandoned stream


def test_stream_max_tokens_and_cache_replay(fake_gemini, tmp_path):
    items = _items(3)
    text = json.dumps(items)
    cut = text[: text.index("object 2")]
    fake_gemini.queue(Reply(cut, finish_reason="MAX_TOKENS", chunk_size=25))
    client = _client(cache=Cache(tmp_path / "c"))
    stream = client.detect_stream(IMG, "Detect things")
    assert [it.label for it in stream] == ["object 0", "object 1"]
    assert stream.result.finish_reason == "MAX_TOKENS"
    assert any("MAX_TOKENS" in w for w in stream.result.warnings)
    replay = client.detect_stream(IMG, "Detect things")
    assert [it.label for it in replay] == ["object 0", "object 1"]
    assert replay.result.cached
    assert len(fake_gemini.generate_requests()) == 1


def test_stream_retries_429_and_explains_400(fake_gemini):
    fake_gemini.queue(Reply(status=429), Reply(json.dumps(_items(2))))
    assert len(list(_client().detect_stream(IMG, "Detect things"))) == 2
    fake_gemini.queue(Reply(status=400, error_message="Invalid image"))
    with pytest.raises(GeminiRequestError, match="HTTP 400"):
        list(_client(cache=False).detect_stream(IMG, "Detect other things"))


def test_stream_rejects_unknown_settings(fake_gemini):
    with pytest.raises(TypeError, match="temprature"):
        _client().detect_stream(IMG, "x", temprature=1)
