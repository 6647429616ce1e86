"""The client with the real google-genai SDK against the fake Gemini server (no network)."""

from __future__ import annotations

import io
import json
import sys
import types as pytypes
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatial_nb import Client, GeminiRequestError, MissingKeyError, OfflineCacheMiss
from spatial_nb.cache import Cache
from spatial_nb.client import ModelSupportWarning
from spatial_nb.images import sniff_mime
from spatial_nb.prompts import system_instruction

from .conftest import TEST_KEY
from .fake_gemini import Reply

BOXES = json.dumps([
    {"box_2d": [100, 100, 400, 500], "label": "cup"},
    {"box_2d": [500, 600, 900, 950], "label": "plate"},
])


def _client(**kw):
    kw.setdefault("retry_initial_delay", 0.01)
    return Client(**kw)


def _jpeg(width=800, height=600, color=(200, 30, 30), exif_orientation=None) -> bytes:
    img = Image.new("RGB", (width, height), color)
    buf = io.BytesIO()
    exif = Image.Exif()
    if exif_orientation:
        exif[0x0112] = exif_orientation
    img.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def _thinking(req) -> dict:
    """The thinking config in a recorded body, with snake_case keys and lower-case values."""
    cfg = req.generation_config.get("thinkingConfig") or req.generation_config.get("thinking_config")
    if cfg is None:
        return {}
    out = {}
    for key, value in cfg.items():
        key = {"thinkingBudget": "thinking_budget", "thinkingLevel": "thinking_level"}.get(key, key)
        out[key] = value.lower() if isinstance(value, str) else value
    return out


# -- what is sent ---------------------------------------------------------------------------

def test_request_body_holds_image_instruction_temperature_and_safety(fake_gemini, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg(1600, 1200))
    res = _client().detect(path, "Detect the cups", temperature=0.3)

    (req,) = fake_gemini.generate_requests()
    assert req.model == "gemini-3.6-flash" and req.action == "generateContent"  # the default model
    (mime, data), = req.images
    assert mime == sniff_mime(data) == "image/jpeg"
    sent = Image.open(io.BytesIO(data))
    assert sent.size == res.image_size == (640, 480)  # thumbnail to 640 by default
    assert req.prompt == "Detect the cups"
    assert req.system_instruction == system_instruction("boxes")
    assert req.generation_config["temperature"] == pytest.approx(0.3)
    assert req.safety_settings == [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}]
    assert _thinking(req) == {"thinking_level": "minimal"}
    assert "mediaResolution" not in req.generation_config and "media_resolution" not in req.generation_config
    # the Result records what happened
    assert res.model == "gemini-3.6-flash" and res.finish_reason == "STOP" and not res.cached
    assert res.model_version == "gemini-3.6-flash"  # the answer's modelVersion
    assert isinstance(res.elapsed, float) and res.elapsed >= 0
    assert res.usage == {"prompt_tokens": 300, "output_tokens": res.usage["output_tokens"],
                         "thinking_tokens": 0, "total_tokens": res.usage["total_tokens"]}
    assert res.request["prompt"] == "Detect the cups" and res.request["source_name"] == "photo.jpg"
    assert res.request["mime_type"] == "image/jpeg" and res.request["image_size"] == [640, 480]
    assert len(res) == 3  # the fake's default answer for boxes


def test_exif_rotated_photo_arrives_upright(fake_gemini):
    # stored 800x400 landscape: left half red, right half blue; orientation 6 = rotate 90 clockwise
    stored = Image.new("RGB", (800, 400), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 400, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", exif=exif, quality=95)

    res = _client().detect(buf.getvalue(), "Detect things", max_size=200)
    (mime, data), = fake_gemini.generate_requests()[0].images
    sent = Image.open(io.BytesIO(data)).convert("RGB")
    assert sent.size == res.image_size == (100, 200)  # portrait, as the phone showed it
    top, bottom = sent.getpixel((50, 20)), sent.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60, top  # red on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_png_source_is_sent_as_png(fake_gemini):
    buf = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 255, 0, 128)).save(buf, "PNG")
    res = _client().detect(buf.getvalue(), "Detect things")
    (mime, data), = fake_gemini.generate_requests()[0].images
    assert mime == sniff_mime(data) == "image/png" == res.request["mime_type"]


@pytest.mark.parametrize(
    "model, expected",
    [
        ("gemini-3.6-flash", {"thinking_level": "minimal"}),
        ("gemini-3.8-flash", {"thinking_level": "low"}),  # its lowest level
        ("gemini-3.1-pro-preview", {"thinking_level": "low"}),
        ("gemini-2.5-flash-lite", {"thinking_budget": 0}),
        ("gemini-2.5-flash", {"thinking_level": "minimal"}),  # retired: sent gemini-3.5-flash-lite's setting
        ("gemini-3.6-flash-001", {"thinking_level": "minimal"}),  # versioned name
        ("gemini-3.9-flash", {"thinking_level": "low"}),  # a new point release: family rule
        ("gemini-future-model", {}),  # unknown: nothing sent
    ],
)
def test_thinking_setting_per_model_family(fake_gemini, model, expected):
    _client(model=model).detect(np.zeros((32, 32, 3), np.uint8), "Detect things")
    req = fake_gemini.generate_requests()[0]
    assert req.model == model
    assert _thinking(req) == expected


def test_thinking_overrides(fake_gemini):
    img = np.zeros((32, 32, 3), np.uint8)
    client = _client(model="gemini-3.6-flash", profile_overrides={"thinking_value": "low"})
    client.detect(img, "a")
    client.detect(img, "b", thinking=False)
    client.detect(img, "c", thinking=512)
    reqs = fake_gemini.generate_requests()
    assert [_thinking(r) for r in reqs] == [{"thinking_level": "low"}, {}, {"thinking_budget": 512}]


def test_env_model_and_structured_output(fake_gemini, monkeypatch):
    monkeypatch.setenv("SPATIAL_NB_MODEL", "gemini-3.1-pro-preview")
    fake_gemini.queue(Reply(json.dumps([{"point": [500, 250], "label": "cat"}])))
    res = _client().detect(np.zeros((32, 32, 3), np.uint8), "Point to the cat", kind="points", structured=True)
    req = fake_gemini.generate_requests()[0]
    assert req.model == "gemini-3.1-pro-preview"
    cfg = req.generation_config
    assert (cfg.get("responseMimeType") or cfg.get("response_mime_type")) == "application/json"
    schema = cfg.get("responseSchema") or cfg.get("response_schema")
    assert schema["type"] == "ARRAY" and "point" in schema["items"]["properties"]
    assert res[0].point == (0.25, 0.5) and res.request["structured"] is True


def test_masks_on_a_model_without_masks_warns_and_names_one(fake_gemini):
    with pytest.warns(ModelSupportWarning, match="gemini-3.6-flash"):
        res = _client(model="gemini-3.1-pro-preview").detect(np.zeros((32, 32, 3), np.uint8), "Segment", kind="masks")
    assert any("gemini-3.6-flash" in w for w in res.warnings)
    assert len(fake_gemini.generate_requests()) == 1  # still sent


def test_multi_view_with_context(fake_gemini):
    first = Image.new("RGB", (64, 48), (255, 0, 0))
    second = Image.new("RGB", (64, 48), (0, 0, 255))
    earlier = '[{"point": [500, 500], "label": "mug"}]'
    fake_gemini.queue(Reply('[{"point": [400, 300], "label": "mug"}, {"label": "spoon", "in_frame": false}]'))
    res = _client().detect([first, second], "Find the same objects in the second image", kind="points",
                           context=earlier)
    req = fake_gemini.generate_requests()[0]
    roles = [c.get("role") for c in req.body["contents"]]
    assert roles == ["user", "model", "user"]
    assert len(req.images) == 2
    colors = [Image.open(io.BytesIO(d)).convert("RGB").getpixel((5, 5)) for _, d in req.images]
    assert colors[0][0] > 200 and colors[1][2] > 200  # both images, in order
    assert req.body["contents"][1]["parts"][0]["text"] == earlier
    assert req.texts[-1] == "Find the same objects in the second image"
    assert res[0].point == (0.3, 0.4) and len(res.request["images"]) == 2


# -- retries and errors ---------------------------------------------------------------------

def test_429_then_success_is_retried(fake_gemini):
    fake_gemini.queue(Reply(status=429), Reply(BOXES))
    res = _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert len(fake_gemini.generate_requests()) == 2
    assert res.labels == ["cup", "plate"]


def test_400_is_not_retried_and_names_the_thinking_setting(fake_gemini):
    # Behaviour changed by issue 10: a 400 about thinking walks the chain (budget 0 -> minimal ->
    # low -> none); when every step is refused too, the error names the last setting sent.
    why = "Thinking configuration is not supported for this model."
    fake_gemini.queue(*[Reply(status=400, error_message=why)] * 4)
    with pytest.raises(GeminiRequestError) as info:
        _client(model="gemini-2.5-flash-lite").detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert [_thinking(r) for r in fake_gemini.generate_requests()] == [
        {"thinking_budget": 0}, {"thinking_level": "minimal"}, {"thinking_level": "low"}, {}]  # 3 extra, no SDK retry
    msg = str(info.value)
    assert info.value.status == 400
    assert "no thinking config" in msg and "thinking=" in msg and "profile_overrides" in msg and why in msg
    assert "\n" not in msg


def test_other_400s_are_not_adapted(fake_gemini):
    fake_gemini.queue(Reply(status=400, error_message="Image could not be decoded."))
    with pytest.raises(GeminiRequestError, match="HTTP 400 INVALID_ARGUMENT.*Image could not be decoded"):
        _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert len(fake_gemini.generate_requests()) == 1


def test_500_on_every_attempt_gives_a_clear_error_after_the_configured_attempts(fake_gemini):
    fake_gemini.default = Reply(status=500)
    with pytest.raises(GeminiRequestError) as info:
        _client(retry_attempts=4).detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert len(fake_gemini.generate_requests()) == 4
    assert "4 attempt" in str(info.value) and info.value.status == 500


def test_server_words_are_kept_as_detail_without_a_double_full_stop(fake_gemini):
    # Regression: "...try again later.. Try again later or pick another model" (the server's sentence
    # ended with a full stop, ours added another); the panel shows .detail with its own advice.
    fake_gemini.default = Reply(status=503, error_message="The model is overloaded. Please try again later.")
    with pytest.raises(GeminiRequestError) as info:
        _client(retry_attempts=2).detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert ".." not in str(info.value) and "Please try again later. Try again later" in str(info.value)
    assert info.value.detail == "The model is overloaded. Please try again later" and info.value.transient


def test_403_explains_the_key_without_showing_it(fake_gemini):
    fake_gemini.queue(Reply(status=403, error_message=f"API key {TEST_KEY} is not valid. Key AIzaSyA1234567890abcdefghijklmnop"))
    with pytest.raises(GeminiRequestError) as info:
        _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    msg = str(info.value)
    assert len(fake_gemini.generate_requests()) == 1
    assert "API key" in msg and "aistudio.google.com/apikey" in msg
    assert TEST_KEY not in msg and "AIzaSyA123" not in msg


def test_429_after_all_attempts_says_quota(fake_gemini):
    fake_gemini.default = Reply(status=429)
    with pytest.raises(GeminiRequestError, match="quota.*3 attempt|3 attempt.*quota"):
        _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert len(fake_gemini.generate_requests()) == 3


def test_max_tokens_salvages_complete_items(fake_gemini):
    cut = BOXES[: BOXES.index("plate") + 3]  # second item cut mid-way
    fake_gemini.queue(Reply(cut, finish_reason="MAX_TOKENS"))
    res = _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert res.labels == ["cup"]
    assert res.finish_reason == "MAX_TOKENS"
    assert any("MAX_TOKENS" in w and "max_output_tokens" in w for w in res.warnings)


def test_safety_gives_a_warning_not_an_exception(fake_gemini):
    fake_gemini.queue(Reply("", finish_reason="SAFETY"))
    res = _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert len(res) == 0 and res.finish_reason == "SAFETY"
    assert any("safety" in w.lower() for w in res.warnings)


@pytest.mark.parametrize("finish, cause", [("SPII", "for safety"), ("IMAGE_SAFETY", "for safety"),
                                           ("RECITATION", "because it would repeat source material")])
def test_every_refusal_reason_is_named_and_its_partial_answer_not_cached(fake_gemini, tmp_path, finish, cause):
    """SPII, IMAGE_SAFETY and RECITATION stops read as refusals (not "stopped early") and, like SAFETY,
    their partial answers are not cached: the next identical request asks Gemini again."""
    cut = BOXES[: BOXES.index("plate") + 3]
    fake_gemini.queue(Reply(cut, finish_reason=finish), Reply(BOXES))
    client = _client(cache=Cache(tmp_path / "answers"))
    image = np.zeros((32, 32, 3), np.uint8)
    res = client.detect(image, "Detect")
    assert res.labels == ["cup"] and res.finish_reason == finish
    assert any(f"stopped the answer {cause} ({finish}); kept the 1 complete item —" in w for w in res.warnings), res.warnings
    again = client.detect(image, "Detect")
    assert len(fake_gemini.generate_requests()) == 2 and again.finish_reason != finish


def test_blocked_prompt_gives_a_warning(fake_gemini):
    fake_gemini.queue(Reply(block_reason="PROHIBITED_CONTENT"))
    res = _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert len(res) == 0
    assert any("PROHIBITED_CONTENT" in w for w in res.warnings)


# -- keys ------------------------------------------------------------------------------------

def test_missing_key_raises_at_construction():
    with pytest.raises(MissingKeyError, match="GOOGLE_API_KEY"):
        Client()


def test_gemini_api_key_env_is_used(fake_gemini, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("GEMINI_API_KEY", "other-key-5678")
    _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    req = fake_gemini.generate_requests()[0]
    assert req.headers.get("x-goog-api-key") == "other-key-5678"


@pytest.fixture
def fake_colab(monkeypatch):
    """A stand-in for google.colab.userdata (only present inside Colab)."""
    userdata = pytypes.ModuleType("google.colab.userdata")

    class SecretNotFoundError(Exception):
        pass

    userdata.SecretNotFoundError = SecretNotFoundError
    userdata.secrets = {}

    def get(name):
        if name not in userdata.secrets:
            raise SecretNotFoundError(name)
        return userdata.secrets[name]

    userdata.get = get
    colab = pytypes.ModuleType("google.colab")
    colab.userdata = userdata
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)
    return userdata


def test_colab_secret_is_used(fake_gemini, fake_colab, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY")
    fake_colab.secrets["GOOGLE_API_KEY"] = "colab-key-9999"
    _client().detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert fake_gemini.generate_requests()[0].headers.get("x-goog-api-key") == "colab-key-9999"


def test_colab_without_secret_is_a_missing_key(fake_colab):
    with pytest.raises(MissingKeyError):
        Client()


@pytest.mark.parametrize(
    "bad_key",
    [
        "test-key-DO-NOT\nLEAK-1234",  # two lines pasted into a .env file
        "test-key-DO-NOT-LEAK-1234\u00e9",  # non-ASCII (a stray accented character)
        "test-key-DO-NOT LEAK-1234",  # a space inside
    ],
)
def test_unusable_key_is_refused_in_one_line_without_showing_it(fake_gemini, monkeypatch, bad_key):
    # httpx refuses such header values with an error that quotes the whole key
    monkeypatch.setenv("GOOGLE_API_KEY", bad_key)
    with pytest.raises(MissingKeyError, match="GOOGLE_API_KEY") as info:
        Client()
    msg = str(info.value)
    assert "\n" not in msg and "LEAK" not in msg and "DO-NOT" not in msg
    assert fake_gemini.generate_requests() == []
    with pytest.raises(MissingKeyError, match="api_key argument"):
        Client(api_key="abc\x01def-123")


def test_error_text_hides_escaped_spellings_of_the_key():
    from spatial_nb.request_errors import one_line as _one_line

    key = "abc-SECRET\n9876\u00e9"
    text = f"Illegal header value {key.encode('utf-8')!r}; also {key!r} and {key}"
    out = _one_line(text, key)
    assert "SECRET" not in out and "9876" not in out and out.count("***") == 3


def test_missing_key_is_one_line_in_ipython(tmp_path):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    proc = subprocess.run(
        [sys.executable, "-m", "IPython", "--colors=NoColor", "-c", "import spatial_nb as snb; snb.Client()"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("MissingKeyError: No Gemini API key") and "Traceback" not in lines[0]


def test_key_not_in_repr_or_result(fake_gemini):
    client = _client()
    res = client.detect(np.zeros((32, 32, 3), np.uint8), "Detect")
    assert TEST_KEY not in repr(client) and TEST_KEY not in res.to_json() and TEST_KEY not in repr(vars(client))


# -- cache and offline -------------------------------------------------------------------------

def test_cache_replays_and_never_stores_the_key(fake_gemini, tmp_path):
    cache_dir = tmp_path / "answers"
    client = _client(cache=Cache(cache_dir))
    path = tmp_path / "p.jpg"
    path.write_bytes(_jpeg())
    first = client.detect(path, "Detect the cups")
    second = client.detect(path, "Detect the cups")
    assert len(fake_gemini.generate_requests()) == 1
    assert not first.cached and second.cached
    assert second.labels == first.labels and second.request == first.request
    client.detect(path, "Detect the cups", temperature=0.9)  # another setting: another entry
    assert len(fake_gemini.generate_requests()) == 2
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert TEST_KEY.encode() not in p.read_bytes(), p


def test_offline_replays_without_a_key_and_explains_a_miss(fake_gemini, tmp_path, monkeypatch):
    path = tmp_path / "kitchen.jpg"
    path.write_bytes(_jpeg())
    online = _client().detect(path, "Detect the cups")
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("SPATIAL_NB_OFFLINE", "1")
    offline = Client()  # no key needed offline
    replay = offline.detect(path, "Detect the cups")
    assert replay.cached and replay.labels == online.labels
    with pytest.raises(OfflineCacheMiss) as info:
        offline.detect(path, "Detect the plates")
    msg = str(info.value)
    assert "kitchen.jpg" in msg and "Detect the plates" in msg and "online" in msg
    assert len(fake_gemini.generate_requests()) == 1


def test_cache_false_always_sends(fake_gemini):
    client = _client(cache=False)
    img = np.zeros((16, 16, 3), np.uint8)
    client.detect(img, "Detect")
    client.detect(img, "Detect")
    assert len(fake_gemini.generate_requests()) == 2


def test_bad_arguments_fail_before_sending(fake_gemini):
    client = _client()
    with pytest.raises(ValueError, match="kind"):
        client.detect(np.zeros((8, 8), np.uint8), "x", kind="polygons")
    with pytest.raises(ValueError, match="prompt"):
        client.detect(np.zeros((8, 8), np.uint8), "  ")
    with pytest.raises(TypeError, match="thinkng"):
        Client(profile_overrides={"thinkng": "none"})
    assert fake_gemini.generate_requests() == []


def test_timeout_is_a_clear_error(fake_gemini):
    fake_gemini.queue(Reply(BOXES, delay=3.0))
    with pytest.raises(GeminiRequestError, match=r"did not answer within 0.5 s"):
        _client(timeout=0.5, retry_attempts=1, cache=False).detect(np.zeros((16, 16, 3), np.uint8), "Detect")


def test_vertex_needs_no_api_key_at_construction(monkeypatch):
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    client = Client()
    assert client.vertexai and "vertexai" in repr(client)


@pytest.mark.parametrize(
    "kind, check",
    [
        ("boxes", lambda it: it.box is not None and it.mask is None),
        ("masks", lambda it: it.mask is not None and it.mask_full(64, 48).any()),
        ("points", lambda it: it.point is not None),
        ("boxes3d", lambda it: it.box3d is not None),
    ],
)
def test_each_kind_gets_its_instruction_and_parses(fake_gemini, kind, check):
    res = _client().detect(np.zeros((48, 64, 3), np.uint8), "Find the objects", kind=kind)
    expected = system_instruction(kind, mask_format="polygon")  # the default model answers polygons
    assert fake_gemini.generate_requests()[0].system_instruction == expected
    assert len(res) >= 2 and all(check(it) for it in res), res
    assert res.request["kind"] == kind


def test_a_prepared_image_is_sent_as_is_with_the_files_cache_key(fake_gemini, tmp_path):
    """Decode once: prepare_image's bytes go out unchanged, and the cache knows the file."""
    from spatial_nb.images import prepare_image

    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg(1600, 1200))
    photo = prepare_image(path)
    fake_gemini.queue(Reply(BOXES))
    first = _client().detect(photo, "Detect the cups")
    assert fake_gemini.generate_requests()[0].images == [("image/jpeg", photo.data)]
    assert first.request["source_name"] == "photo.jpg" and first.request["original_size"] == [1600, 1200]
    assert _client().detect(str(path), "Detect the cups").cached  # same key as the file itself
