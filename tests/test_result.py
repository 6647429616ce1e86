"""The result model: pixel conversions, Gemini round trip, and the versioned on-disk format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spatial_nb import FormatVersionError, Item, Result
from spatial_nb.parsing import parse
from spatial_nb.result import FORMAT_NAME, FORMAT_VERSION

MASK = (np.arange(48, dtype=np.uint8).reshape(6, 8) * 5)

ALL_KINDS = [
    Item("box", box=(0.1, 0.2, 0.3, 0.4), extra={"index": 0}),
    Item("mask", box=(0.25, 0.5, 0.75, 1.0), mask=MASK, extra={"index": 1, "polygon": [[[0.25, 0.5], [0.75, 0.5], [0.5, 1.0]]]}),
    Item("point", point=(0.123, 0.987), extra={"index": 2, "in_frame": True}),
    Item("box3d", box3d=(0.1, 2.5, -0.3, 1.0, 1.5, 0.5, 0.0, 10.0, 90.0), extra={"index": 3}),
    Item("off frame", extra={"in_frame": False, "index": 4}),
    Item("猫 <b>&\"'", box=(0.0, 0.0, 1.0, 1.0), extra={"confidence": 0.91, "attrs": {"colour": ["red", None]}}),
    Item("", point=(0.0, 1.0)),
]


@pytest.mark.parametrize("item", ALL_KINDS, ids=lambda it: it.kind + ":" + it.label)
def test_every_kind_of_item_round_trips_exactly(item):
    res = Result([item], warnings=["w"], raw_text="raw", image_size=(640, 480), model="gemini-2.5-flash",
                 usage={"prompt_tokens": 10}, finish_reason="STOP", cached=True, request={"kind": item.kind})
    back = Result.from_json(res.to_json())
    assert back == res
    got = back[0]
    assert (got.label, got.box, got.point, got.box3d, got.extra) == (item.label, item.box, item.point, item.box3d, item.extra)
    assert (got.mask is None) == (item.mask is None)
    if item.mask is not None:
        assert got.mask.dtype == np.uint8 and np.array_equal(got.mask, item.mask)
    assert (back.image_size, back.model, back.usage, back.finish_reason, back.cached, back.request) == (
        (640, 480), "gemini-2.5-flash", {"prompt_tokens": 10}, "STOP", True, {"kind": item.kind})


def test_whole_result_with_all_kinds_round_trips_and_is_plain_json():
    res = Result(ALL_KINDS)
    text = res.to_json(indent=2)
    data = json.loads(text)
    assert data["format"] == FORMAT_NAME and data["version"] == FORMAT_VERSION
    assert data["items"][0]["box"] == [0.1, 0.2, 0.3, 0.4]  # normalized xyxy on disk
    assert data["items"][1]["mask"].startswith("data:image/png;base64,")
    assert Result.from_json(text) == res
    assert Result.from_json(text.encode()) == res


def test_parsed_answers_round_trip():
    text = json.dumps([
        {"box_2d": [100, 200, 300, 400], "label": "a", "mask": [[0, 0], [0, 1000], [1000, 1000]]},
        {"point": [5, 7], "label": "b"},
        {"box_3d": [1, 2, 3, 4, 5, 6, 7, 8, 9], "label": "c"},
    ])
    res = parse(text)
    assert Result.from_json(res.to_json()) == res


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"format": FORMAT_NAME, "version": 2, "items": []}, "uses spatial_nb result format version 2, but this spatial_nb reads version 1"),  # newer
        ({"format": FORMAT_NAME, "version": 0, "items": []}, "version 0"),  # older
        ({"format": FORMAT_NAME, "items": []}, "version None"),  # missing version
        ({"format": "something.else", "version": 1}, "not a spatial_nb result"),  # another format
        ([{"box_2d": [1, 2, 3, 4], "label": "a"}], "to read a raw model answer use snb.parse"),  # a raw answer
    ],
)
def test_other_versions_and_formats_are_refused_clearly(payload, message):
    with pytest.raises(FormatVersionError, match=message.replace("(", r"\(")):
        Result.from_json(json.dumps(payload))


def test_upgrade_advice_in_version_error():
    with pytest.raises(FormatVersionError) as info:
        Result.from_json(json.dumps({"format": FORMAT_NAME, "version": 99}))
    assert "upgrade spatial_nb" in str(info.value)


def test_invalid_json_file_is_a_format_error():
    with pytest.raises(FormatVersionError, match="invalid JSON"):
        Result.from_json("{not json")


# -- pixels -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "box, size, xyxy",
    [
        ((0.25, 0.5, 0.75, 1.0), (640, 480), (160, 240, 480, 480)),  # exact
        ((0.1, 0.2, 0.5, 1.0), (640, 480), (64, 96, 320, 480)),  # docstring example
        ((0.0015, 0.0025, 0.0035, 0.0045), (1000, 1000), (2, 2, 4, 4)),  # round half to even: 1.5->2, 2.5->2, 3.5->4, 4.5->4
        ((0.0, 0.0, 1.0, 1.0), (7, 5), (0, 0, 7, 5)),  # full frame, half-open: x1 == width
        ((0.1, 0.1, 0.1004, 0.1004), (1000, 1000), (100, 100, 100, 100)),  # rounds to empty
        ((0.333, 0.333, 0.667, 0.667), (3, 3), (1, 1, 2, 2)),  # tiny frame, one pixel
    ],
)
def test_item_xyxy_rounding(box, size, xyxy):
    assert Item("x", box=box).xyxy(*size) == xyxy


def test_item_xy_and_missing_geometry():
    assert Item("p", point=(0.5, 0.25)).xy(640, 480) == (320, 120)
    assert Item("p", point=(0.5, 0.25)).xyxy(640, 480) is None
    assert Item("b", box=(0, 0, 1, 1)).xy(640, 480) is None
    assert not Item("p", point=(0.5, 0.5)).mask_full(4, 3).any()


def test_result_xyxy_matches_items_and_skips_boxless():
    res = Result([Item("a", box=(0.1, 0.2, 0.5, 1.0)), Item("p", point=(0.5, 0.5)), Item("b", box=(0.0015, 0.0, 1.0, 0.5))])
    arr = res.xyxy(1000, 480)
    assert arr.dtype.kind == "i" and arr.shape == (2, 4)
    assert arr.tolist() == [list(it.xyxy(1000, 480)) for it in res.boxes()]
    assert [it.label for it in res.boxes()] == ["a", "b"]
    assert Result([]).xyxy(10, 10).shape == (0, 4)


# -- Gemini's own format -------------------------------------------------------------------------
def test_to_gemini_round_trips_through_parse():
    source = json.dumps([
        {"box_2d": [390, 64, 574, 203], "label": "red sprinkles"},
        {"point": [500, 250], "label": "p", "confidence": 0.5},
        {"box_3d": [0.1, 2.0, 0.3, 1.0, 1.0, 1.0, 0.0, 0.0, 90.0], "label": "car"},
        {"box_2d": [0, 0, 500, 500], "mask": [[0, 0], [0, 500], [500, 500]], "label": "tri"},
    ])
    res = parse(source)
    again = parse(res.to_gemini_json())
    assert again.items == res.items  # same labels, geometry, extra (index, polygon), masks
    assert again.warnings == []
    assert res.to_gemini()[0] == {"box_2d": [390, 64, 574, 203], "label": "red sprinkles"}
    assert res.to_gemini()[1] == {"point": [500, 250], "label": "p", "confidence": 0.5}


def test_item_validation_errors():
    with pytest.raises(ValueError, match="box needs 4 numbers"):
        Item("x", box=(0, 0, 1))
    with pytest.raises(ValueError, match="needs a box"):
        Item("x", mask=np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="2-D"):
        Item("x", box=(0, 0, 1, 1), mask=np.zeros((2, 2, 2), np.uint8))
    assert Item("x", box=(0, 0, 1, 1), mask=np.ones((2, 2), bool)).mask.max() == 255


def test_result_is_a_sequence():
    res = Result(ALL_KINDS[:3])
    assert len(res) == 3 and res[0] is ALL_KINDS[0] and list(res) == ALL_KINDS[:3]
    assert res[1:] == ALL_KINDS[1:3]
    assert res.labels == ["box", "mask", "point"]
    assert "3 items" in repr(res)
