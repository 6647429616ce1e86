"""snb.parse and StreamParser: every answer shape from DESIGN.md "Output formats", as tables."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from google.genai import types
from PIL import Image, ImageDraw

import spatial_nb.parsing as parse_mod
from spatial_nb import Item, Result
from spatial_nb.geometry import box_iou
from spatial_nb.masks import encode_png_mask
from spatial_nb.parsing import LOOP_RUN, StreamParser, parse

FIXTURES = Path("/work/shared/fixtures")
if not FIXTURES.exists():  # a checkout next to shared/
    FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    """Internal errors raise here instead of becoming a warning, so no test passes by accident."""
    monkeypatch.setattr(parse_mod, "_STRICT", True)


def ellipse_png(width=256, height=256, *, data_url=True) -> str:
    img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(img).ellipse((width * 0.1, height * 0.2, width * 0.9, height * 0.8), fill=255)
    return encode_png_mask(np.asarray(img), data_url=data_url)


def box(label, b, **more):
    return {"box_2d": b, "label": label, **more}


def dumps(items) -> str:
    return json.dumps(items)


A = box("a", [100, 200, 300, 400])
B = box("b", [500, 600, 700, 800])
AB = dumps([A, B])


# -- the real answers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, count, first_label, first_box",
    [
        # cookbook cupcakes: 15 boxes, two same-label boxes at IoU 0.64 both stay
        ("cupcakes_boxes.txt", 15, "red sprinkles", (0.064, 0.39, 0.203, 0.574)),
        # search within an image: 2 socks
        ("socks_search.txt", 2, "light blue sock with cat face on left", (0.246, 0.046, 0.526, 0.385)),
        # reasoning labels (long sentences), fenced with newlines; x0 == 0 stays 0
        ("spill_reasoning.txt", 6, "Use this cloth to absorb the spilled liquid by gently dabbing or wiping the area.",
         (0.0, 0.447, 0.42, 0.992)),
    ],
)
def test_real_fixtures(name, count, first_label, first_box):
    text = (FIXTURES / name).read_text()
    res = parse(text)
    assert len(res) == count
    assert res.warnings == []
    assert res[0].label == first_label
    assert res[0].box == pytest.approx(first_box)
    assert [it.index for it in res] == list(range(count))
    assert res.raw_text == text
    # Round trip to Gemini's own format gives back the model's numbers.
    assert [d["box_2d"] for d in res.to_gemini()] == [d["box_2d"] for d in json.loads(text.strip("`json\n"))]


def test_cupcakes_overlapping_same_label_boxes_both_stay():
    res = parse((FIXTURES / "cupcakes_boxes.txt").read_text())
    same = [it for it in res if it.label == "white frosting with colorful sprinkles"]
    assert len(same) == 3
    ious = sorted(box_iou(a.box, b.box) for i, a in enumerate(same) for b in same[i + 1:])
    assert ious[-1] == pytest.approx(0.64, abs=0.01)
    assert res[-1].box == pytest.approx((0.133, 0.743, 0.307, 0.921))
    assert res[14].xyxy(1000, 1000) == (133, 743, 307, 921)


# -- wrappers, fences, prose, truncation, junk ---------------------------------------------------
@pytest.mark.parametrize(
    "text, labels, warning",
    [
        (AB, ["a", "b"], None),  # plain JSON list
        ("```json\n" + AB + "\n```", ["a", "b"], None),  # the usual fence
        ("```JSON\n" + AB + "\n```", ["a", "b"], None),  # upper-case tag
        ("    ```Json\n    " + AB + "\n    ```", ["a", "b"], None),  # indented fence
        ("```\n" + AB + "\n```", ["a", "b"], None),  # bare fence
        ("```json " + AB + "```", ["a", "b"], None),  # fence on one line
        ("Here are the boxes:\n```json\n" + AB + "\n```\nLet me know!", ["a", "b"], None),  # prose around fence
        ("Sure, the [requested] boxes: " + AB + " Hope it helps {really}.", ["a", "b"], None),  # prose, no fence
        (dumps({"boxes": [A, B]}), ["a", "b"], None),  # wrapper object
        (dumps({"objects": [A], "note": "done", "count": 1}), ["a"], None),  # one list among other keys
        (dumps({"result": {"detections": [A, B]}}), ["a", "b"], None),  # wrapper inside wrapper
        (dumps(A), ["a"], None),  # a single item object
        (dumps([[A], [B]]), ["a", "b"], None),  # list of lists of items
        (AB[:-1], ["a", "b"], "cut off"),  # closing bracket missing
        (AB[: AB.index('"b"') - 2], ["a"], "cut off"),  # cut inside the second item
        ("```json\n[\n" + dumps(A) + ",\n" + dumps(B)[:20], ["a"], "cut off"),  # cut, fence never closed
        (dumps({"boxes": [A, B]})[:-30], ["a"], "cut off"),  # truncated wrapper
        ("[" + dumps(A) + " oops, " + dumps(B) + "]", ["a", "b"], "not valid JSON"),  # junk between items
        ("[" + dumps(A) + dumps(B) + "]", ["a", "b"], "not valid JSON"),  # missing comma between items
        ("[" + dumps(A) + ",\n" + dumps(B) + ",]", ["a", "b"], "not valid JSON"),  # trailing comma
        ('[{"box_2d": [1, 2, 3, 4] "label": "x"},\n' + dumps(B) + "]", ["b"], "damaged"),  # broken item skipped
        ("[" + dumps(A) + ' so"me,\n' + dumps(B) + "]", ["a", "b"], "not valid JSON"),  # stray quote in junk
        ("[]", [], None),  # the model found nothing: no warning
        ("```json\n[]\n```", [], None),  # same, fenced
    ],
)
def test_wrappers_and_noise(text, labels, warning):
    res = parse(text)
    assert [it.label for it in res] == labels
    if warning is None:
        assert res.warnings == []
    else:
        assert any(warning in w for w in res.warnings), res.warnings


def test_truncated_inside_a_mask_string_keeps_earlier_items():
    mask = ellipse_png()
    items = [box("a", [0, 0, 500, 500], mask=mask), box("b", [500, 500, 900, 900], mask=mask)]
    text = "```json\n" + json.dumps(items)
    cut = text[: text.rindex(mask[:40]) + len(mask) // 2]
    res = parse(cut)
    assert [it.label for it in res] == ["a"]
    assert res[0].mask is not None and res[0].mask.shape == (256, 256)
    assert any("cut off" in w for w in res.warnings)


# -- nothing readable --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, reason",
    [
        ("I cannot help with that request.", "no JSON list of items found"),  # refusal in prose
        ('{"error": "no objects"}', "without a list of items"),  # JSON of another shape
        ('"just a string"', "JSON string"),  # a JSON string
        ("42", "JSON int"),  # a number
        ('[{"label": "cat"}]', "no entry had a usable label and geometry"),  # labels, no geometry
        ("[1, 2, 3]", "no entry had a usable"),  # numbers instead of objects
        ('[{"box_2d": [1, 2', "cut off before the first item"),  # truncated at once
        ('[{"bbox": [1, 2, 3, 4], "label": "x"}]', "no entry had a usable"),  # an unknown geometry key
    ],
)
def test_answer_without_items_says_so(text, reason):
    res = parse(text)
    assert len(res) == 0
    last = res.warnings[-1]
    assert last.startswith("the model answered but nothing could be read: ")
    assert reason in last
    assert repr(" ".join(text[:80].split())) in last  # the start of the answer is quoted


@pytest.mark.parametrize(
    "answer, warning",
    [
        (None, "no answer to parse"),  # None
        ("", None),  # empty text: nothing to say beyond zero items
        ("   \n ", None),  # whitespace only
        (b"[]", None),  # bytes, valid
        (b"\xff\xfe junk", "not valid UTF-8"),  # undecodable bytes
        (12.5, "cannot read an answer of type float"),  # a foreign type
    ],
)
def test_odd_answer_types_never_raise(answer, warning):
    res = parse(answer)
    assert isinstance(res, Result) and len(res) == 0
    if warning is None:
        assert res.warnings == []
    else:
        assert any(warning in w for w in res.warnings), res.warnings


def test_bytes_and_decoded_json_are_accepted():
    assert parse(AB.encode("utf-8")).labels == ["a", "b"]
    assert parse(("\ufeff" + AB).encode("utf-8")).labels == ["a", "b"]  # BOM
    assert parse([A, B]).labels == ["a", "b"]  # already decoded list
    assert parse({"boxes": [A]}).labels == ["a"]  # already decoded wrapper
    assert json.loads(parse([A]).raw_text) == [A]


# -- google.genai responses --------------------------------------------------------------------
def _response(text=None, finish="STOP", block=None, thought=None):
    parts = []
    if thought:
        parts.append(types.Part(text=thought, thought=True))
    if text is not None:
        parts.append(types.Part(text=text))
    candidates = None
    if text is not None or finish is not None:
        candidates = [types.Candidate(content=types.Content(role="model", parts=parts or None), finish_reason=finish)]
    feedback = types.GenerateContentResponsePromptFeedback(block_reason=block) if block else None
    return types.GenerateContentResponse(candidates=candidates, prompt_feedback=feedback)


@pytest.mark.parametrize(
    "response, labels, warning",
    [
        (_response(AB), ["a", "b"], None),  # ordinary answer
        (_response("```json\n" + AB + "\n```", thought="let me think [about] {it}"), ["a", "b"], None),  # thoughts skipped
        (_response(None, finish="SAFETY"), [], "finish reason SAFETY"),  # .text is None
        (_response(None, finish=None, block="SAFETY"), [], "prompt was blocked: SAFETY"),  # blocked prompt
        (_response(AB[:-1], finish="MAX_TOKENS"), ["a", "b"], "cut off"),  # truncated at the token limit
    ],
)
def test_genai_response_objects(response, labels, warning):
    res = parse(response)
    assert res.labels == labels
    if warning is None:
        assert res.warnings == []
    else:
        assert any(warning in w for w in res.warnings), res.warnings


def test_finish_reason_is_kept_from_responses():
    assert parse(_response(AB[:-1], finish="MAX_TOKENS")).finish_reason == "MAX_TOKENS"


# -- item repairs ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "item, label, geometry, warning",
    [
        (box("a", [100, 200, 300, 400]), "a", ("box", (0.2, 0.1, 0.4, 0.3)), None),  # y first, 0-1000
        (box("a", [300, 200, 100, 400]), "a", ("box", (0.2, 0.1, 0.4, 0.3)), "reverse order"),  # y reversed
        (box("a", [100, 400, 300, 200]), "a", ("box", (0.2, 0.1, 0.4, 0.3)), "swapped"),  # x reversed
        (box("a", [-20, 200, 300, 1200]), "a", ("box", (0.2, 0.0, 1.0, 0.3)), "clipped"),  # out of range
        (box("a", [100.5, 200, 300, 400.25]), "a", ("box", (0.2, 0.1005, 0.40025, 0.3)), None),  # floats
        (box(7, [100, 200, 300, 400]), "7", ("box", (0.2, 0.1, 0.4, 0.3)), "not text"),  # int label
        (box(None, [100, 200, 300, 400]), "", ("box", (0.2, 0.1, 0.4, 0.3)), "not text"),  # null label
        (box(["x", 1], [100, 200, 300, 400]), '["x", 1]', ("box", (0.2, 0.1, 0.4, 0.3)), "not text"),  # list label
        ({"box_2d": [100, 200, 300, 400]}, "", ("box", (0.2, 0.1, 0.4, 0.3)), "no label"),  # missing label
        ({"box_2d": [100, 200, 300, 400], "name": "cat"}, "cat", ("box", (0.2, 0.1, 0.4, 0.3)), '"name"'),  # alt key
        ({"point": [500, 250], "label": "p"}, "p", ("point", (0.25, 0.5)), None),  # point is [y, x]
        ({"point": [1500, 250], "label": "p"}, "p", ("point", (0.25, 1.0)), "clipped"),  # point out of range
        ({"box_3d": [0.1, 2, -0.3, 1, 1.5, 0.5, 0, 10, 90], "label": "car"}, "car",
         ("box3d", (0.1, 2, -0.3, 1, 1.5, 0.5, 0, 10, 90)), None),  # 3D box, kept as is
        ({"box_2d": [0, 0, 10, 10], "point": [5, 5], "label": "both"}, "both", ("box", (0, 0, 0.01, 0.01)), None),
    ],
)
def test_item_repairs(item, label, geometry, warning):
    res = parse(dumps([item]))
    assert len(res) == 1
    it = res[0]
    assert it.label == label
    kind, value = geometry
    assert getattr(it, kind) == pytest.approx(value)
    if warning is None:
        assert res.warnings == []
    else:
        assert len(res.warnings) == 1 and warning in res.warnings[0], res.warnings


@pytest.mark.parametrize(
    "item, warning",
    [
        ({"label": "x"}, "no usable box_2d"),  # no geometry at all
        ({"box_2d": [1, 2, 3], "label": "x"}, "box_2d value was not 4 numbers"),  # three numbers
        ({"box_2d": ["1", "2", "3", "4"], "label": "x"}, "was not 4 numbers"),  # strings
        ({"box_2d": [1, 2, True, 4], "label": "x"}, "was not 4 numbers"),  # a boolean
        ({"point": [1], "label": "x"}, "point value was not 2 numbers"),  # short point
        ({"box_3d": [1, 2, 3], "label": "x"}, "box_3d value was not 9 numbers"),  # short 3D box
        ("cat", "not a JSON object"),  # a bare string in the list
    ],
)
def test_items_without_usable_geometry_are_skipped(item, warning):
    res = parse(dumps([item, A]))
    assert res.labels == ["a"]
    assert res[0].index == 1
    assert any(warning in w for w in res.warnings), res.warnings


def test_nan_and_infinity_are_not_geometry():
    res = parse('[{"box_2d": [NaN, 1, 2, 3], "label": "n"}, {"point": [Infinity, 3], "label": "i"}]')
    assert len(res) == 0
    assert any("not 4 numbers" in w for w in res.warnings)


def test_extra_keeps_unknown_keys_and_index():
    res = parse(dumps([{"box_2d": [1, 2, 3, 4], "label": "a", "confidence": 0.9, "attrs": {"c": "red"}, "index": 7}]))
    assert res[0].extra == {"confidence": 0.9, "attrs": {"c": "red"}, "model_index": 7, "index": 0}


# -- points and multi-view ------------------------------------------------------------------------
def test_points_and_off_frame_entries():
    text = dumps([
        {"point": [500, 250], "label": "cup", "in_frame": True},
        {"in_frame": False, "label": "cup"},
        {"point": [10, 20], "label": "cup", "in_frame": False},
        {"in_frame": False, "label": "cup"},
    ])
    res = parse(text)
    assert [it.point for it in res] == [(0.25, 0.5), None, None, None]  # off-frame entries are never merged
    assert [it.kind for it in res] == ["point", "none", "none", "none"]
    assert res[1].extra == {"in_frame": False, "index": 1}
    assert res[2].extra["point"] == [10, 20]  # what the model sent, unconverted
    assert res.warnings == []


# -- looping output -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "items, labels, removed",
    [
        ([A, A, A, A], ["a"], 3),  # the same box repeated
        ([A, box("a", [101, 201, 301, 401]), B], ["a", "b"], 1),  # near-identical box, IoU > 0.9
        ([A, box("b", [100, 200, 300, 400])], ["a", "b"], 0),  # same box, other label: both stay
        ([A, box("a", [100, 200, 300, 430])], ["a", "a"], 0),  # same label, IoU 0.87 < 0.9: both stay
        ([{"point": [5, 5], "label": "p"}, {"point": [5, 5], "label": "p"}], ["p"], 1),  # identical points
        ([{"point": [5, 5], "label": "p"}, {"point": [5, 6], "label": "p"}], ["p", "p"], 0),  # distinct points
        ([{"point": [5, 5], "label": "p"}, {"point": [5, 5], "label": "q"}], ["p", "q"], 0),  # other label
        ([{"box_3d": [1] * 9, "label": "c"}, {"box_3d": [1] * 9, "label": "c"}], ["c"], 1),  # identical 3D boxes
    ],
)
def test_dedupe(items, labels, removed):
    res = parse(dumps(items))
    assert res.labels == labels
    dup = [w for w in res.warnings if "repeated itself" in w]
    if removed:
        assert len(dup) == 1 and f"removed {removed} duplicate" in dup[0]
    else:
        assert dup == []


def test_dedupe_of_a_long_loop_keeps_indices_of_first_occurrences():
    loop = [box(f"o{i}", [i, i, i + 50, i + 50]) for i in range(0, 400, 60)] * 50
    res = parse(dumps(loop))
    assert len(res) == 7
    assert [it.index for it in res] == list(range(7))
    assert any("removed 343 duplicate items" in w for w in res.warnings)


def test_dedupe_many_distinct_same_label_boxes_uses_the_vector_path():
    items = [box("cell", [y, x, y + 20, x + 20]) for y in range(0, 1000, 25) for x in range(0, 1000, 25)]
    res = parse(dumps(items + items[:5]))
    assert len(res) == 1600
    assert any("removed 5 duplicate" in w for w in res.warnings)


# -- masks --------------------------------------------------------------------------------------------
def _mask_item(mask, b=(0, 0, 500, 500)):
    return dumps([{"box_2d": list(b), "mask": mask, "label": "m"}])


def _png_b64(arr: np.ndarray, fmt="PNG") -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize(
    "mask, shape, warning",
    [
        (ellipse_png(), (256, 256), None),  # data-URL PNG
        (ellipse_png(data_url=False), (256, 256), None),  # bare base64 PNG
        (ellipse_png(64, 32), (32, 64), None),  # non-square PNG
        ("  " + ellipse_png() + "\n", (256, 256), None),  # whitespace around
        (_png_b64(np.full((8, 8, 4), 255, np.uint8)), (8, 8), None),  # RGBA: alpha is the mask
        ([[True, False, True], [False, True, False]], (2, 3), None),  # nested booleans
        ([[0, 1], [1, 0]], (2, 2), None),  # nested 0/1
        ([[0.0, 0.5], [1.0, 0.25]], (2, 2), None),  # probabilities
        ([[0, 200], [255, 10]], (2, 2), None),  # 0-255 grid
        ([1, 0, 0, 1], (2, 2), None),  # flat booleans of square length
        # polygons ([x, y] over the whole image): box-local map on the box's pixels of a 3840x2160
        # frame (the box [0, 0, 500, 500] is 1920x1080 there); tables in test_polygons.py
        ([[0, 0], [500, 0], [500, 500], [0, 400]], (1080, 1920), None),  # polygon 0-1000
        ([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.4]], (1080, 1920), None),  # polygon in 0-1
        ([0, 0, 500, 0, 500, 500, 0, 400], (1080, 1920), None),  # flat polygon
        ([{"x": 0, "y": 0}, {"x": 500, "y": 0}, {"x": 500, "y": 500}], (1080, 1920), None),  # x/y objects
        ([[[0, 0], [200, 0], [200, 500]], [[300, 0], [500, 0], [500, 500]]], (1080, 1920), None),  # 2 rings
        ({"polygon": [[0, 0], [500, 0], [500, 500]]}, (1080, 1920), None),  # polygon inside an object
        ("data:image/jpeg;base64,/9j/4AAQ", None, "image/jpeg data URL"),  # another image type
        ("iVBORw0KGgoAAAA!!!", None, "PNG that could not be used"),  # broken PNG
        ("aGVsbG8=", None, "unknown format"),  # base64 of something else
        ("", None, "empty string"),  # empty string
        ([], None, "empty list"),  # empty list
        ([1, 0, 1], None, "no known width and height"),  # flat booleans, not square
        ([[0, 1], [1]], None, "rows differ"),  # ragged grid
        ({"size": [2, 2], "counts": "abc"}, None, "COCO run-length"),  # RLE
        ({"shape": 3}, None, "unknown mask format"),  # some object
        (17, None, "a int"),  # a number
        (["a", "b"], None, "unknown format"),  # list of strings
    ],
)
def test_mask_shapes(mask, shape, warning):
    res = parse(_mask_item(mask))
    assert res.labels == ["m"]  # the item is kept either way
    it = res[0]
    if shape is None:
        assert it.mask is None
        assert len(res.warnings) == 1 and warning in res.warnings[0]
        assert "kept the item without a mask" in res.warnings[0]
    else:
        assert res.warnings == []
        assert it.mask is not None and it.mask.dtype == np.uint8 and it.mask.shape == shape
        assert it.mask.max() > 0


def test_polygon_is_rasterized_into_its_box_and_kept_normalized_in_extra():
    # Triangle [x, y] covering the upper-right half of the box [0,0]-[500,500]. (The issue
    # changed this test: polygons were read as [y, x] and kept in extra as the model sent them.)
    res = parse(_mask_item([[0, 0], [500, 0], [500, 500]]))
    it = res[0]
    assert it.extra["polygon"] == [[[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]]  # normalized [x, y] rings
    full = it.mask_full(400, 400)
    assert full[10, 190] and not full[190, 10]  # above the diagonal only
    assert full.sum() == pytest.approx(200 * 200 / 2, rel=0.03)


def test_polygon_without_box_gets_its_bounds_as_box():
    res = parse(dumps([{"polygon": [[200, 100], [600, 100], [600, 300], [200, 300]], "label": "r"}]))
    assert res[0].box == pytest.approx((0.2, 0.1, 0.6, 0.3))
    assert res[0].mask.min() == 255  # a rectangle fills its own box


@pytest.mark.parametrize(
    "mask",
    [
        "<start_of_mask><seg_35><seg_65><seg_4>",  # Gemini 2.5's token answer
        "<seg_12><seg_13>",  # tokens without the start marker
        ["<start_of_mask>", "<seg_4>", "<seg_20>"],  # tokens as a list of strings
    ],
)
def test_segmentation_tokens_keep_the_box_and_warn_naming_the_mask_models(mask):
    from spatial_nb import models

    items = [box(f"m{i}", [0, 100 * i, 100, 100 * i + 90], mask=mask) for i in range(3)]
    res = parse(dumps(items))
    assert res.labels == ["m0", "m1", "m2"] and all(it.mask is None and it.box for it in res)
    (warning,) = res.warnings  # once for all three
    assert "3 masks came as <start_of_mask><seg_..> segmentation tokens" in warning
    assert "kept the boxes without a mask" in warning
    mask_models = [m for m in models.KNOWN_MODELS if models.supports(m, "masks")]
    current = [m for m in mask_models if models.profile(m).status == "current"]
    retired = [m for m in mask_models if models.profile(m).status != "current"]
    assert current and all(m in warning for m in current)
    assert retired and not any(f"{m}," in warning or warning.endswith(m) for m in retired)  # never a retired id


def test_png_mask_without_box_is_dropped_with_warning():
    res = parse(dumps([{"mask": ellipse_png(), "point": [5, 5], "label": "m"}]))
    assert res[0].mask is None and res[0].point is not None
    assert any("without a box_2d" in w for w in res.warnings)


def test_oversized_png_mask_is_refused():
    big = encode_png_mask(np.zeros((4100, 4100), np.uint8))
    res = parse(_mask_item(big))
    assert res[0].mask is None
    assert any("exceeds the cap" in w for w in res.warnings), res.warnings


def test_total_mask_budget(monkeypatch):
    monkeypatch.setattr(parse_mod, "MAX_TOTAL_MASK_PIXELS", 3 * 256 * 256)
    items = [box(f"m{i}", [0, 0, 500, 500], mask=ellipse_png()) for i in range(5)]
    res = parse(dumps(items))
    assert [it.mask is not None for it in res] == [True, True, True, False, False]
    assert any("went over the total" in w for w in res.warnings)


def test_masks_are_decoded_eagerly_into_box_local_maps():
    res = parse(_mask_item(ellipse_png(), (100, 200, 600, 700)))
    it = res[0]
    assert it.kind == "mask" and it.mask.shape == (256, 256)
    full = it.mask_full(1000, 1000)
    ys, xs = np.nonzero(full)
    assert 200 <= xs.min() and xs.max() < 700 and 100 <= ys.min() and ys.max() < 600


# -- hostile input stays cheap ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,  # deeply nested, open
        "[" * 100_000 + "]" * 100_000,  # deeply nested, balanced
        '{"a":' * 50_000 + "1" + "}" * 50_000,  # deep objects
        "{" * 100_000,  # open braces
        "[" + "{" * 50_000 + dumps(A) + "]",  # item at the bottom of a pit
        '"' * 100_001,  # quotes
        "}" * 100_000 + AB,  # closers before the answer
        "[" + ('{"x": [' * 2000 + "]}" * 2000 + ",") * 10 + "]",  # many medium-deep objects
    ],
)
def test_hostile_nesting_does_not_crash(text):
    res = parse(text)
    assert isinstance(res, Result)
    assert all(isinstance(w, str) for w in res.warnings)


def test_huge_answer_is_read():
    items = [box(f"object {i}", [i % 900, (7 * i) % 900, i % 900 + 50, (7 * i) % 900 + 50]) for i in range(20_000)]
    text = dumps(items)
    assert len(parse(text)) == 20_000
    half = text[: len(text) // 2]
    truncated = parse(half)
    assert len(truncated) == half.count("}")  # every item closed before the cut
    assert any("cut off" in w for w in truncated.warnings)


def test_internal_errors_become_a_warning_when_not_strict(monkeypatch):
    monkeypatch.setattr(parse_mod, "_STRICT", False)
    monkeypatch.setattr(parse_mod, "_find_entries", lambda text, notes: 1 / 0)
    res = parse(AB)
    assert len(res) == 0 and "internal parser error (ZeroDivisionError" in res.warnings[0]


# -- streaming ------------------------------------------------------------------------------------------
def _chunks(text, size):
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize(
    "text, size",
    [
        ((FIXTURES / "cupcakes_boxes.txt").read_text(), 1),  # one character at a time
        ((FIXTURES / "cupcakes_boxes.txt").read_text(), 37),  # odd chunk size
        ((FIXTURES / "spill_reasoning.txt").read_text(), 5),  # long labels
        ("Sure! [here]:\n" + dumps({"boxes": [A, B, A]}), 3),  # prose + wrapper + a duplicate
        (AB[:-15], 4),  # truncated
        ("[" + dumps(A) + " junk\" here,\n" + dumps(B) + "]", 2),  # junk with a stray quote
        (dumps([box("m", [0, 0, 500, 500], mask=ellipse_png()), B]), 100),  # a mask split over many chunks
        (dumps([{"point": [5, 5], "label": "p"}, {"in_frame": False, "label": "q"}]), 6),  # points
    ],
)
def test_stream_matches_parse(text, size):
    sp = StreamParser()
    streamed = []
    for chunk in _chunks(text, size):
        streamed.extend(sp.feed(chunk))
    final = sp.result()
    assert final == parse(text)
    assert streamed == final.items
    assert sp.text == text


def test_stream_returns_items_as_soon_as_they_complete():
    sp = StreamParser()
    assert sp.feed("```json\n[" + dumps(A)[:-1]) == []
    got = sp.feed("}, " + dumps(B)[:10])
    assert [it.label for it in got] == ["a"]
    assert [it.label for it in sp.feed(dumps(B)[10:] + "]\n```")] == ["b"]
    assert sp.feed("") == [] and sp.feed(None) == []


def test_stream_accepts_bytes_split_inside_a_character():
    text = dumps([box("猫", [1, 2, 3, 4]), box("café", [5, 6, 7, 8])]).encode("utf-8")
    sp = StreamParser()
    labels = [it.label for k in range(len(text)) for it in sp.feed(text[k : k + 1])]
    assert labels == ["猫", "café"]


def test_stream_accepts_genai_chunks():
    sp = StreamParser()
    got = [it.label for piece in _chunks(AB, 9) for it in sp.feed(_response(piece))]
    assert got == ["a", "b"]


@pytest.mark.parametrize(
    "items, looping",
    [
        ([A, B, A, B], False),  # two repeats, not in a run of 3
        ([A, B, A, B, A], True),  # three repeats in a row
        ([A, A, B, A, box("c", [1, 1, 9, 9]), A], True),  # item a repeated three times
        ([A, B, box("c", [1, 1, 9, 9])], False),  # all distinct
        ([{"point": [5, 5], "label": "p"}] * 4, True),  # the same point again and again
    ],
)
def test_stream_looping_rule(items, looping):
    sp = StreamParser()
    for chunk in _chunks(dumps(items), 7):
        sp.feed(chunk)
    assert sp.looping is looping
    assert sp.looping is (sp.duplicates >= LOOP_RUN) or looping


def test_stream_result_on_empty_and_partial():
    sp = StreamParser()
    assert len(sp.result()) == 0
    sp.feed('[{"box_2d": [1, 2')
    res = sp.result()
    assert len(res) == 0 and res.warnings[-1].startswith("the model answered but nothing could be read")


def test_stream_item_equals_item_type():
    sp = StreamParser()
    (item,) = sp.feed(dumps([A]))
    assert isinstance(item, Item) and item.box == pytest.approx((0.2, 0.1, 0.4, 0.3))


def test_backticks_inside_a_label_are_not_a_fence():
    # Found by hypothesis: a label "```" plus junk made the parser start reading inside the string.
    res = parse('[{"point": [0, 0], "label": "```"}0, {"point": [0, 0], "label": ""}]')
    assert res.labels == ["```", ""]
