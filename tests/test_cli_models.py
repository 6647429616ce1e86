"""``spatial-nb models``, ``spatial-nb doctor`` and the detect options of issue 10, in process."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from spatial_nb import Client, Result, models
from spatial_nb.cli import main

from .conftest import TEST_KEY
from .fake_gemini import Reply


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "kitchen.jpg"
    Image.new("RGB", (400, 300), (120, 130, 140)).save(path, quality=90)
    return path


def _line(out: str, start: str) -> str:
    (line,) = [ln for ln in out.splitlines() if ln.startswith(start)]
    return line


def test_models_offline_lists_the_table_with_retired_replacements(capsys):
    assert main(["models", "--offline"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("offline: spatial_nb's table (no cached catalogue)")
    header = out.splitlines()[1]
    assert header.split() == ["model", "status", "thinking", "sent", "kinds", "temp", "listed"]
    assert out.splitlines()[2].startswith("gemini-3.6-flash (default)")
    line = _line(out, "gemini-3.8-flash ")
    assert "current" in line and "thinking_level='low' (accepts low/medium/high)" in line
    assert "masks(polygon)" in line and line.split()[-2:] == ["1.0", "-"]
    assert "thinking_budget=0" in _line(out, "gemini-2.5-flash-lite ") and "masks(png)" in _line(out, "gemini-2.5-flash-lite ")
    assert "0.5" in _line(out, "gemini-2.5-flash-lite ").split()
    assert "retired 2026-12-01 -> gemini-3.5-flash-lite" in _line(out, "gemini-2.5-flash ")
    assert "shut down 2026-03-09 -> gemini-3.1-pro-preview" in _line(out, "gemini-3-pro-preview ")
    lines = out.splitlines()[2:-1]
    first_retired = next(i for i, ln in enumerate(lines) if " retired " in ln or " shut down " in ln)
    assert all(" current " not in ln for ln in lines[first_retired:])  # retired ids never before current ones


def test_models_with_a_key_merges_the_live_catalogue(fake_gemini, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "merged with the live catalogue" in out.splitlines()[0]
    assert len(fake_gemini.list_requests()) == 3  # 9 entries in pages of 4
    assert _line(out, "gemini-3.6-flash (default)").split()[-1] == "yes"
    assert _line(out, "gemini-3.7-flash ").split()[-1] == "no"  # in the table, not listed by this API
    assert "family rule" in _line(out, "gemini-3.9-flash-preview ")
    assert "tts" not in out
    assert main(["models", "--json"]) == 0  # fresh: no second fetch
    data = json.loads(capsys.readouterr().out)
    assert len(fake_gemini.list_requests()) == 3
    by = {m["id"]: m for m in data["models"]}
    assert by["gemini-3.6-flash"]["default"] and by["gemini-3.6-flash"]["listed"] is True
    assert by["gemini-2.5-pro"]["status"] == "retired" and by["gemini-2.5-pro"]["replacement"] == "gemini-3.8-flash"
    assert TEST_KEY not in json.dumps(data)
    assert main(["models", "--all", "--offline"]) == 0
    assert "gemini-3.1-flash-tts-preview" in capsys.readouterr().out


def test_models_without_a_key_sends_nothing(fake_gemini, monkeypatch, capsys):
    monkeypatch.delenv("GOOGLE_API_KEY")
    assert main(["models"]) == 0
    assert capsys.readouterr().out.startswith("no API key (GOOGLE_API_KEY / GEMINI_API_KEY)")
    assert fake_gemini.requests == []


def test_doctor_without_a_key_says_where_keys_are_looked_for(monkeypatch, capsys):
    assert main(["doctor", "--model", "gemini-2.5-flash"]) == 1
    out = capsys.readouterr().out
    assert "no API key found" in out and "GOOGLE_API_KEY" in out and "GEMINI_API_KEY" in out
    assert "Colab" in out and "https://aistudio.google.com/apikey" in out
    assert "model: gemini-2.5-flash (table; retired)" in out and "gemini-3.5-flash-lite" in out
    assert f"{len(models.KNOWN_MODELS)} models in spatial_nb's table" in out


def test_doctor_sends_one_tiny_request_per_kind_and_prints_a_table(fake_gemini, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "key: found in GOOGLE_API_KEY (not shown)" in out and TEST_KEY not in out
    assert "gemini-3.6-flash is listed" in out
    sent = fake_gemini.generate_requests()
    assert len(sent) == 4 and all(max(Image.open(io.BytesIO(r.images[0][1])).size) <= 384 for r in sent)
    header = _line(out, "kind ")
    assert header.split() == ["kind", "accepted", "settings", "answer", "format", "items", "model_version", "tokens"]
    boxes = _line(out, "boxes ")
    assert "thinking_level='minimal', temperature 1.0" in boxes and "boxes: box_2d" in boxes
    assert boxes.split()[-3:] == ["3", "gemini-3.6-flash", "365"]  # items, model_version, tokens
    assert "masks: polygons [x, y]" in _line(out, "masks ")
    assert "points: point" in _line(out, "points ") and "boxes3d: box_3d" in _line(out, "boxes3d ")
    # the cache is bypassed: a second run asks again
    assert main(["doctor"]) == 0
    assert len(fake_gemini.generate_requests()) == 8


def test_doctor_shows_adapted_settings_png_masks_and_who_answered(fake_gemini, capsys):
    fake_gemini.reject(thinking_level="minimal")

    def routed(req):
        from .fake_gemini import kind_aware_answer

        reply = kind_aware_answer(req)
        reply.model_version = "gemini-3.5-flash-lite-001"
        return reply

    fake_gemini.default = routed
    assert main(["doctor", "--model", "gemini-2.5-flash"]) == 0
    out = capsys.readouterr().out
    assert "retired on 2026-12-01" in out
    assert "thinking_level='low', temperature 1.0 (adapted)" in _line(out, "boxes ")
    assert "masks: PNG data URLs" in _line(out, "masks ")
    assert "answered by gemini-3.5-flash-lite-001 (asked for gemini-2.5-flash)" in out
    assert "note: gemini-2.5-flash rejected thinking_level='minimal'" in out


def test_doctor_reports_errors_per_kind(fake_gemini, capsys):
    fake_gemini.default = Reply(status=404, error_message="models/gemini-9-x is not found")
    assert main(["doctor", "--model", "gemini-9-x"]) == 1
    out = capsys.readouterr().out
    assert out.count("error: model 'gemini-9-x' was not found (HTTP 404)") == 4


def test_answered_by_and_model_version_through_cache_json_and_cli(fake_gemini, photo, tmp_path, capsys):
    fake_gemini.queue(Reply('[{"box_2d": [100, 100, 500, 500], "label": "cup"}]',
                            model_version="gemini-3.5-flash-lite"))
    js = tmp_path / "r.json"
    assert main(["detect", str(photo), "Detect the cup", "--model", "gemini-2.5-flash", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "1 item from gemini-2.5-flash (Gemini)" in out
    assert "answered by gemini-3.5-flash-lite (asked for gemini-2.5-flash; Google routed the request)" in out
    assert out.count("was retired on 2026-12-01") == 1  # the retired id, named once with its replacement
    saved = Result.from_json(js.read_text())
    assert saved.model_version == "gemini-3.5-flash-lite" and saved.elapsed is not None
    assert json.loads(js.read_text())["model_version"] == "gemini-3.5-flash-lite"
    # through the cache: same answer, same model_version, nothing sent
    assert main(["detect", str(photo), "Detect the cup", "--model", "gemini-2.5-flash"]) == 0
    out = capsys.readouterr().out
    assert "(cache)" in out and "answered by gemini-3.5-flash-lite" in out
    assert len(fake_gemini.generate_requests()) == 1
    hit = Client(model="gemini-2.5-flash").detect(photo, "Detect the cup")
    assert hit.cached and hit.model_version == "gemini-3.5-flash-lite" and hit.elapsed == saved.elapsed


def test_media_resolution_and_backend_flags_reach_the_request(fake_gemini, photo, capsys):
    assert main(["detect", str(photo), "Detect", "--media-resolution", "high"]) == 0
    cfg = fake_gemini.generate_requests()[0].generation_config
    assert cfg["mediaResolution"] == "MEDIA_RESOLUTION_HIGH"
    assert main(["detect", str(photo), "Detect", "--media-resolution", "low"]) == 0  # another cache entry
    assert fake_gemini.generate_requests()[1].generation_config["mediaResolution"] == "MEDIA_RESOLUTION_LOW"
    assert main(["detect", str(photo), "Detect", "--backend", "interactions", "--media-resolution", "medium"]) == 0
    (req,) = fake_gemini.interaction_requests()
    assert req.body["store"] is False and req.body["input"][0]["content"][0]["resolution"] == "medium"
    assert "3 items from gemini-3.6-flash (Gemini)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["detect", str(photo), "Detect", "--media-resolution", "ultra"])


def test_temperature_default_is_the_models(fake_gemini, photo):
    assert main(["detect", str(photo), "Detect"]) == 0
    assert main(["detect", str(photo), "Detect", "--model", "gemini-2.5-flash-lite"]) == 0
    assert main(["detect", str(photo), "Detect", "--model", "gemini-2.5-flash-lite", "--temperature", "0.9"]) == 0
    temps = [r.generation_config["temperature"] for r in fake_gemini.generate_requests()]
    assert temps == [1.0, 0.5, 0.9]


def test_the_media_resolution_is_part_of_the_cache_key(fake_gemini):
    img = np.zeros((24, 32, 3), np.uint8)
    Client().detect(img, "Detect")
    Client().detect(img, "Detect", media_resolution="high")
    assert Client().detect(img, "Detect", media_resolution="high").cached
    assert len(fake_gemini.generate_requests()) == 2


def test_help_lists_the_new_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "models" in out and "doctor" in out
    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    out = capsys.readouterr().out
    assert "--media-resolution" in out and "--backend" in out and "gemini-3.6-flash" in out
