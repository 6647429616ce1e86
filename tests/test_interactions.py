"""``Client(backend="interactions")``: the Interactions API through the real SDK against the fake server."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from spatial_nb import Client, GeminiRequestError
from spatial_nb.adaptation import SettingsAdaptedWarning
from spatial_nb.prompts import POLYGON_MASKS_INSTRUCTION, system_instruction

from .conftest import TEST_KEY
from .fake_gemini import Reply

BOXES = json.dumps([{"box_2d": [100, 100, 400, 500], "label": "cup"},
                    {"box_2d": [500, 600, 900, 950], "label": "plate"}])


def _client(**kw):
    kw.setdefault("retry_initial_delay", 0.01)
    return Client(backend="interactions", **kw)


def _photo(width=800, height=600) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_request_body_and_parsed_result(fake_gemini):
    fake_gemini.queue(Reply(BOXES, model_version="gemini-3.6-flash-001"))
    res = _client().detect(_photo(), "Detect the cups", media_resolution="high")

    assert fake_gemini.generate_requests() == []  # nothing went through generateContent
    (req,) = fake_gemini.interaction_requests()
    body = req.body
    assert req.path.endswith("/interactions") and body["model"] == "gemini-3.6-flash"
    assert body["store"] is False  # the image is not kept on Google's servers
    assert body["system_instruction"] == system_instruction("boxes")
    (step,) = body["input"]
    assert step["type"] == "user_input"
    image, text = step["content"]
    assert image["type"] == "image" and image["mime_type"] == "image/jpeg" and image["resolution"] == "high"
    (mime, data), = req.images
    assert Image.open(io.BytesIO(data)).size == (640, 480) == res.image_size
    assert text == {"type": "text", "text": "Detect the cups"}
    assert body["generation_config"] == {"temperature": 1.0, "thinking_level": "minimal"}  # level only
    assert body["safety_settings"] == [{"type": "dangerous_content", "threshold": "block_only_high"}]
    assert "response_format" not in body
    assert TEST_KEY not in json.dumps(body)

    assert res.labels == ["cup", "plate"] and res.finish_reason == "STOP"
    assert res.model == "gemini-3.6-flash" and res.model_version == "gemini-3.6-flash-001"
    assert res.usage["prompt_tokens"] == 300 and res.usage["total_tokens"] == res.usage["prompt_tokens"] + \
        res.usage["output_tokens"]
    assert res.request["backend"] == "interactions" and res.request["media_resolution"] == "high"


def test_structured_output_is_a_response_format_and_budgets_become_levels(fake_gemini):
    fake_gemini.queue(Reply(json.dumps([{"box_2d": [10, 10, 500, 500], "label": "cup",
                                         "mask": [[50, 50], [400, 60], [300, 450]]}])))
    res = _client(model="gemini-2.5-flash-lite").detect(_photo(), "Segment", kind="masks", structured=True, seed=7,
                                                        max_output_tokens=2000)
    body = fake_gemini.interaction_requests()[0].body
    assert body["generation_config"] == {"temperature": 0.5, "seed": 7, "max_output_tokens": 2000,
                                         "thinking_level": "minimal"}  # thinking_budget=0 -> "minimal"
    fmt = body["response_format"]
    assert fmt["type"] == "text" and fmt["mime_type"] == "application/json"
    assert fmt["schema"]["type"] == "array" and fmt["schema"]["items"]["required"] == ["box_2d", "mask", "label"]
    assert len(res) == 1 and res[0].mask is not None


def test_polygon_family_and_context_steps(fake_gemini):
    first = _client().detect(_photo(), "Segment the cup", kind="masks")
    assert fake_gemini.interaction_requests()[0].system_instruction == POLYGON_MASKS_INSTRUCTION
    assert len(first) == 2 and all(it.mask is not None for it in first)  # polygons drawn into masks
    fake_gemini.queue(Reply('[{"point": [400, 300], "label": "cup"}]'))
    _client().detect([_photo(), _photo(640, 480)], "Find the cup in the second image", kind="points",
                     context='[{"point": [500, 500], "label": "cup"}]')
    steps = fake_gemini.interaction_requests()[-1].body["input"]
    assert [s["type"] for s in steps] == ["user_input", "model_output", "user_input"]
    assert [c["type"] for c in steps[0]["content"]] == ["image", "image", "text"]
    assert steps[1]["content"][0]["text"] == '[{"point": [500, 500], "label": "cup"}]'


def test_same_cache_with_the_backend_in_the_key(fake_gemini):
    photo = _photo()
    a = _client().detect(photo, "Detect the cups")
    b = _client().detect(photo, "Detect the cups")
    assert b.cached and b.labels == a.labels and len(fake_gemini.interaction_requests()) == 1
    c = Client(retry_initial_delay=0.01).detect(photo, "Detect the cups")  # generate_content: another entry
    assert not c.cached and len(fake_gemini.generate_requests()) == 1


def test_adapts_to_a_rejected_level(fake_gemini):
    fake_gemini.reject(model="gemini-3.8-flash", thinking_level="minimal")
    with pytest.warns(SettingsAdaptedWarning):
        res = _client(model="gemini-3.8-flash").detect(_photo(), "Detect", thinking="minimal")
    assert [r.thinking for r in fake_gemini.interaction_requests()] == [{"thinking_level": "minimal"},
                                                                        {"thinking_level": "low"}]
    assert len(res) == 3


@pytest.mark.parametrize(
    "replies, pattern, requests",
    [
        ([Reply(status=400, error_message=f"Invalid image for key {TEST_KEY}")],
         "HTTP 400 INVALID_ARGUMENT.*Invalid image", 1),
        ([Reply(status=429)] * 2, "quota or rate limit exhausted.*after 2 attempt", 2),
        ([Reply(status=500)] * 2, "server error.*HTTP 500", 2),
        ([Reply(status=404, error_message="model not found")], "not found.*HTTP 404", 1),
        ([Reply(status=403, error_message=f"API key {TEST_KEY} not valid")], "refused the API key", 1),
    ],
)
def test_errors_are_one_redacted_line(fake_gemini, replies, pattern, requests):
    fake_gemini.queue(*replies)
    with pytest.raises(GeminiRequestError, match=pattern) as info:
        _client(retry_attempts=2).detect(_photo(), "Detect")
    msg = str(info.value)
    assert "\n" not in msg and TEST_KEY not in msg and "x-goog-api-key" not in msg.lower()
    assert len(fake_gemini.interaction_requests()) == requests


def test_incomplete_and_failed_statuses(fake_gemini):
    fake_gemini.queue(Reply(BOXES[:-30], interaction_status="incomplete"))
    res = _client().detect(_photo(), "Detect")
    assert res.finish_reason == "INCOMPLETE" and any("incomplete" in w for w in res.warnings)
    fake_gemini.queue(Reply("", interaction_status="failed"))
    with pytest.raises(GeminiRequestError, match="interaction failed"):
        _client().detect(_photo(), "Detect again")


def test_stream_on_the_interactions_backend_yields_the_items(fake_gemini):
    stream = _client().detect_stream(_photo(), "Detect")
    assert len(list(stream)) == 3 and stream.result.request["backend"] == "interactions"


def test_backend_is_keyword_only_and_checked():
    with pytest.raises(ValueError, match="backend must be one of"):
        Client(backend="rest", offline=True)
    with pytest.raises(TypeError):
        Client("gemini-3.6-flash", None, "interactions")  # not positional
    assert "interactions" in repr(Client(backend="interactions", offline=True))
