"""Recorded Gemini answers: verbatim, keyed to a bundled photo and prompt, drawn where they belong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatial_nb import draw, parse, samples
from spatial_nb.colors import PALETTE
from spatial_nb.recordings import LIVE_HINT, Recording, recorded_answer, recording_for, recordings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path("/work/shared/fixtures")
if not FIXTURES.exists():  # a checkout next to shared/
    FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

PROVENANCE = "recorded answer quoted in Google's Gemini cookbook, Spatial understanding; model as stated there"
SOCKS_PROMPT = "Show me the positions of the socks with the face"
SPILL_PROMPT = "Tell me how to clean my table with an explanation as label. Do not just label the items"


def _by_id(rec_id: str) -> Recording:
    return next(r for r in recordings() if r.id == rec_id)


@pytest.mark.parametrize(
    "rec_id, fixture, n_items",
    [
        ("socks-with-face", "socks_search.txt", 2),
        ("spill-cleaning-advice", "spill_reasoning.txt", 6),
    ],
)
def test_recorded_labels_and_boxes_equal_the_fixtures(rec_id, fixture, n_items):
    if not (FIXTURES / fixture).is_file():
        pytest.skip("shared fixtures not on this machine")
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    rec = _by_id(rec_id)
    got, want = rec.result(), parse(text)
    assert len(got) == n_items and got.warnings == [] and want.warnings == []
    assert got.labels == want.labels
    assert [it.box for it in got] == [it.box for it in want]
    # The stored text is the notebook's own (two-space indents); the shared fixtures lost some
    # indentation when copied. Everything but whitespace is identical.
    assert "".join(rec.raw_text.split()) == "".join(text.split())


def test_entries_carry_provenance_and_fit_their_bundled_photo():
    data = json.loads((REPO / "spatial_nb" / "data" / "recorded_answers.json").read_text(encoding="utf-8"))
    assert data["format"] == "spatial_nb.recorded_answers" and data["version"] == 1
    assert [e["id"] for e in data["answers"]] == [r.id for r in recordings()]
    for rec in recordings():
        assert rec.provenance == PROVENANCE
        assert rec.model == "gemini-2.5-flash-preview-05-20"  # the notebook's model cell where it first appears
        src = rec.source
        assert src["repository"] == "google-gemini/cookbook" and src["path"] == "quickstarts/Spatial_understanding.ipynb"
        assert len(src["commit"]) == 40 and src["date"] == "2025-06-17" and src["licence"] == "Apache-2.0"
        # keyed to a bundled photo and to one of its sample prompts, which is quoted from the cookbook
        assert rec.prompt in samples.prompts_for(rec.image, rec.kind)
        assert samples.prompt_source(rec.image, rec.prompt)["key"] == "cookbook"
        # the picture the model saw has the shipped photo's shape, so the boxes land on the same spots
        sent_w, sent_h = rec.image_size
        with Image.open(rec.path()) as photo:
            assert abs(photo.size[0] / photo.size[1] - sent_w / sent_h) < 0.005, rec.image


@pytest.mark.parametrize(
    "image, prompt, kind, found",
    [
        ("socks.jpg", SOCKS_PROMPT, None, "socks-with-face"),
        ("Socks", SOCKS_PROMPT, "boxes", "socks-with-face"),  # forgiving sample name
        ("socks.jpg", "  Show me the positions of  the socks with the face\n", None, "socks-with-face"),  # spacing
        ("spill.jpg", SPILL_PROMPT, None, "spill-cleaning-advice"),
        ("socks.jpg", SOCKS_PROMPT, "points", None),  # another kind: no recording
        ("socks.jpg", SOCKS_PROMPT.lower(), None, None),  # other words (case): no recording
        ("spill.jpg", SOCKS_PROMPT, None, None),  # the prompt of another photo
        ("my_upload.png", SOCKS_PROMPT, None, None),  # not a bundled photo
    ],
)
def test_lookup_by_image_and_prompt(image, prompt, kind, found):
    rec = recording_for(image, prompt, kind)
    assert (rec.id if rec else None) == found
    res = recorded_answer(image, prompt, kind)
    assert (res is None) == (found is None)


def test_recorded_answer_says_what_it_is():
    res = recorded_answer("socks.jpg", SOCKS_PROMPT)
    assert res.model == "gemini-2.5-flash-preview-05-20" and res.image_size == (640, 482)
    assert res.cached is False and res.usage is None
    assert res.request["prompt"] == SOCKS_PROMPT and res.request["kind"] == "boxes"
    assert res.request["recorded"]["provenance"] == PROVENANCE
    assert res.request["temperature"] == 0.5 and "Limit to 25 objects" in res.request["system_instruction"]
    # a saved copy still says it is a recording
    again = type(res).from_json(res.to_json())
    assert again.request["recorded"]["id"] == "socks-with-face" and again.labels == res.labels
    notice = recording_for("socks.jpg", SOCKS_PROMPT).notice
    assert notice.startswith("Recorded answer (no key)") and "gemini-2.5-flash-preview-05-20" in notice
    assert LIVE_HINT in notice and "GOOGLE_API_KEY" in notice


def test_sock_box_edges_carry_the_box_colour_on_the_shipped_photo():
    photo_path = samples.sample_path("socks.jpg")
    res = recorded_answer("socks.jpg", SOCKS_PROMPT)
    with Image.open(photo_path) as im:
        plain = np.asarray(im.convert("RGB"))
    drawn = draw(photo_path, res)
    assert drawn.size == (1600, 1205)  # drawn on the shipped, re-encoded photo at its full size
    pixels = np.asarray(drawn)
    height, width = pixels.shape[:2]
    for index, item in enumerate(res):
        color = PALETTE[index]
        x0, y0, x1, y1 = item.xyxy(width, height)
        xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
        # left, right and bottom edges at their middle (labels sit on the top edge)
        for x, y in ((x0, ym), (x1 - 1, ym), (xm, y1 - 1)):
            assert tuple(pixels[y, x]) == color, (item.label, (x, y), tuple(pixels[y, x]), color)
            assert tuple(plain[y, x]) != color  # the photo itself is not that colour there
        # the inside is the photo, not a fill
        assert np.abs(pixels[ym, xm].astype(int) - plain[ym, xm].astype(int)).max() <= 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot read the recorded answers"),
        ('{"format": "spatial_nb.recorded_answers", "version": 2, "answers": []}', "not a version-1"),
        ('{"format": "spatial_nb.recorded_answers", "version": 1, "answers": [{"id": "x"}]}', "lacks image, kind"),
    ],
)
def test_a_broken_data_file_is_a_clear_error(tmp_path, monkeypatch, content, message):
    from spatial_nb import SpatialNBError, recordings as module

    bad = tmp_path / "recorded_answers.json"
    bad.write_text(content, encoding="utf-8")
    monkeypatch.setattr(module, "_DATA_FILE", bad)
    module._load.cache_clear()
    try:
        with pytest.raises(SpatialNBError, match=message):
            recordings()
    finally:
        module._load.cache_clear()  # the next test reads the real file again
