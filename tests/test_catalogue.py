"""The live catalogue: fetched through the real SDK (all pages), cached for a day, merged with the table."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from spatial_nb import Client, catalogue, models
from spatial_nb.catalogue import FILENAME

from .fake_gemini import catalogue_model


def test_fetch_follows_pages_keeps_generate_content_models_and_caches_for_a_day(fake_gemini, tmp_path):
    fake_gemini.page_size = 3  # 9 entries: 3 pages
    cat = Client().catalogue()
    pages = fake_gemini.list_requests()
    assert len(pages) == 3 and "pageToken=3" in pages[1].path
    names = [m.name for m in cat.models]
    assert "gemini-3.6-flash" in names and "gemini-3.9-flash-preview" in names
    assert "gemini-embedding-2" not in names  # cannot generateContent
    entry = cat.get("models/gemini-3.6-flash")
    assert entry.thinking is True and entry.temperature == 1.0 and entry.max_temperature == 2.0
    assert entry.input_token_limit == 1048576 and "generateContent" in entry.actions
    path = tmp_path / "cache" / FILENAME
    saved = json.loads(path.read_text())
    assert saved["format"] == "spatial_nb.models_catalogue" and len(saved["models"]) == len(names)
    # within a day: no request
    assert Client().catalogue().models == cat.models and len(fake_gemini.list_requests()) == 3
    # a day later: fetched again
    old = time.time() - catalogue.MAX_AGE_SECONDS - 60
    saved["fetched"] = old
    path.write_text(json.dumps(saved))
    os.utime(path, (old, old))
    Client().catalogue()
    assert len(fake_gemini.list_requests()) == 6
    Client().catalogue(refresh=True)
    assert len(fake_gemini.list_requests()) == 9


def test_never_called_offline_or_by_detect_or_pickers(fake_gemini, monkeypatch):
    assert Client(offline=True).catalogue() is None
    Client().detect(np.zeros((24, 32, 3), np.uint8), "Detect")
    models.picker_models()
    models.default_temperature("gemini-3.8-flash")
    assert fake_gemini.list_requests() == []


def test_picker_adds_cached_spatial_models_after_the_table(fake_gemini):
    before = models.picker_models()
    assert before[0] == models.DEFAULT_MODEL and "gemini-3.9-flash-preview" not in before
    Client().catalogue()
    after = models.picker_models()
    assert after[: len(before) - 1] == before[:-1]  # table ids first, in order (deprecated ones last)
    assert "gemini-3.9-flash-preview" in after  # listed by the API, set up by the family rule
    assert "gemini-3.1-flash-tts-preview" not in after and "gemini-embedding-2" not in after
    assert after.index("gemini-3.9-flash-preview") > after.index("gemini-2.5-flash-lite")
    assert after[-1] == "gemini-3-flash-preview"  # deprecated last; retired ids not offered


def test_catalogue_temperature_is_the_default_sent(fake_gemini):
    fake_gemini.catalogue = [catalogue_model("gemini-3.8-flash", temperature=0.8)]
    Client().catalogue()
    Client(model="gemini-3.8-flash").detect(np.zeros((24, 32, 3), np.uint8), "Detect")
    Client(model="gemini-3.8-flash").detect(np.zeros((24, 32, 3), np.uint8), "Detect again", temperature=0.2)
    assert [r.generation_config["temperature"] for r in fake_gemini.generate_requests()] == [0.8, 0.2]  # explicit wins


def test_merged_marks_listing_and_orders_retired_last(fake_gemini):
    cat = Client().catalogue()
    rows = catalogue.merged(cat)
    names = [r["name"] for r in rows]
    assert names[0] == models.DEFAULT_MODEL
    by = {r["name"]: r for r in rows}
    assert by["gemini-3.6-flash"]["listed"] is True and by["gemini-3.7-flash"]["listed"] is False
    assert by["gemini-3.9-flash-preview"]["profile"].origin == "family rule"
    statuses = [r["profile"].status for r in rows]
    assert statuses == sorted(statuses, key=["current", "deprecated", "retired", "shut_down"].index)
    assert all(r["listed"] is None for r in catalogue.merged(None))


def test_a_damaged_catalogue_file_is_ignored(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FILENAME).write_text("{oops")
    assert catalogue.load() is None
    assert models.picker_models()[0] == models.DEFAULT_MODEL


def test_list_errors_are_one_line(fake_gemini):
    def broken(req, handler):
        handler._send_json(403, {"error": {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}})
        return True

    fake_gemini.extra_routes[r"/models(\?|$)"] = broken
    from spatial_nb import GeminiRequestError

    with pytest.raises(GeminiRequestError, match="refused the API key") as info:
        Client().catalogue()
    assert "\n" not in str(info.value)
