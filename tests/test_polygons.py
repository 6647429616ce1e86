"""Polygon masks (issue 11, item 1): [x, y] over the whole image, even-odd rings, box rules, and
a box-local raster that mask_full(3840, 2160) turns into exactly the direct rasterization.

The reference rasterizer here is written independently of spatial_nb.polygons: a per-pixel
crossing-number test at pixel centres."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spatial_nb.parsing as parse_mod
from spatial_nb.parsing import parse
from spatial_nb.polygons import fill_even_odd, polygon_mask, read_polygon

# Google developer forum, "Image Understanding and Segmentation Mask Support" (Gemini 3.x answer).
FORUM = [[325, 411], [327, 471], [332, 523], [397, 534], [403, 492], [408, 426]]
# Wide and flat, and lopsided: read as [y, x] it becomes a tall thin sliver somewhere else.
WIDE = [[100, 600], [900, 620], [880, 700], [150, 690]]


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setattr(parse_mod, "_STRICT", True)


def reference(rings_xy: list, width: int, height: int, scale: float = 1000.0) -> np.ndarray:
    """Even-odd fill at pixel centres by counting edge crossings per pixel (slow, obvious)."""
    inside = np.zeros((height, width), dtype=bool)
    pts = [np.asarray(r, dtype=np.float64) / scale * (width, height) for r in rings_xy]
    allp = np.vstack(pts)
    c0, c1 = max(int(allp[:, 0].min()) - 2, 0), min(int(allp[:, 0].max()) + 3, width)
    r0, r1 = max(int(allp[:, 1].min()) - 2, 0), min(int(allp[:, 1].max()) + 3, height)
    if c1 <= c0 or r1 <= r0:
        return inside  # wholly outside the frame
    ys, xs = np.mgrid[r0:r1, c0:c1] + 0.5
    sub = np.zeros(ys.shape, dtype=bool)
    for ring in pts:
        for (ax, ay), (bx, by) in zip(ring, np.roll(ring, -1, axis=0)):
            if ay == by:
                continue
            if ay > by:  # the same crossing whichever way the edge runs (coincident edges cancel)
                ax, ay, bx, by = bx, by, ax, ay
            spans = (np.minimum(ay, by) <= ys) & (ys < np.maximum(ay, by))
            x_cross = ax + (ys - ay) * (bx - ax) / (by - ay)
            sub ^= spans & (xs >= x_cross)
    inside[r0:r1, c0:c1] = sub
    return inside


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def near_boundary(mask: np.ndarray, px: int = 1) -> np.ndarray:
    """Pixels within ``px`` pixels (square neighbourhood) of both an inside and an outside pixel."""
    def grow(m):
        p = np.pad(m, px)
        out = np.zeros_like(m)
        for dy in range(2 * px + 1):
            for dx in range(2 * px + 1):
                out |= p[dy : dy + m.shape[0], dx : dx + m.shape[1]]
        return out
    return grow(mask) & grow(~mask)


def transposed(poly):
    return [[y, x] for x, y in poly]


def gemini_box(poly):
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return [min(ys), min(xs), max(ys), max(xs)]


def item(**fields):
    return json.dumps([{"label": "thing", **fields}])


# -- every way the model writes a polygon ----------------------------------------------------------
def _forms(poly):
    flat = [v for p in poly for v in p]
    return [
        ("[x, y] list", item(mask=poly)),  # Gemini 3.5+/Robotics-ER
        ("with box_2d", item(box_2d=gemini_box(poly), mask=poly)),  # box and polygon agree
        ("flat list", item(mask=flat)),  # [x, y, x, y, ...]
        ("x/y objects", item(mask=[{"x": x, "y": y} for x, y in poly])),
        ("polygon key", item(polygon=poly)),
        ("object holding it", item(mask={"polygon": poly})),
        ("points object", item(mask={"points": poly})),
        ("normalized 0-1", item(mask=[[x / 1000, y / 1000] for x, y in poly])),
        ("one ring in a list", item(mask=[poly])),
        ("3.6 wrapper", json.dumps({"boxes": [{"box_2d": gemini_box(poly), "label": "thing", "mask": poly,
                                               "confidence": 0.87}]})),
        ("fenced", "```json\n" + item(box_2d=gemini_box(poly), mask=poly) + "\n```"),
    ]


CASES = [(name, shape_name, poly, text)
         for shape_name, poly in (("forum", FORUM), ("wide", WIDE)) for name, text in _forms(poly)]


@pytest.mark.parametrize("name, shape_name, poly, text", CASES, ids=[f"{c[1]}:{c[0]}" for c in CASES])
def test_polygon_forms(name, shape_name, poly, text):
    res = parse(text)
    assert res.warnings == []
    (it,) = res.items
    xs, ys = [p[0] / 1000 for p in poly], [p[1] / 1000 for p in poly]
    assert it.box == pytest.approx((min(xs), min(ys), max(xs), max(ys)))  # x from x, y from y
    assert it.extra["polygon"] == [[[pytest.approx(x), pytest.approx(y)] for x, y in zip(xs, ys)]]
    if name == "3.6 wrapper":
        assert it.extra["confidence"] == 0.87
    full = it.mask_full(3840, 2160)
    expected = reference([poly], 3840, 2160)
    assert np.array_equal(full, expected)  # exact at 4K: the box-local map is on the 4K pixel grid
    assert iou(full, reference([transposed(poly)], 3840, 2160)) < 0.2  # so an x/y swap cannot pass


@pytest.mark.parametrize(
    "width, height, px",
    [
        (1920, 1080, 1),  # full HD: downscaled from the 4K grid
        (640, 480, 1),  # another aspect ratio
        (333, 777, 1),  # portrait, odd sizes
        (100, 60, 1),  # thumbnail
        # 8K: upscaled 2x, so half a 4K pixel of edge placement is 1 px here, plus the box's
        # own rounding; the polygon itself is only precise to 1/1000 of the width (7.7 px).
        (7680, 4320, 2),
    ],
)
@pytest.mark.parametrize("poly", [FORUM, WIDE], ids=["forum", "wide"])
def test_other_frame_sizes_are_within_one_pixel(poly, width, height, px):
    it = parse(item(box_2d=gemini_box(poly), mask=poly))[0]
    full, expected = it.mask_full(width, height), reference([poly], width, height)
    differ = full ^ expected
    assert not (differ & ~near_boundary(expected, px)).any()  # every difference sits on the outline
    if expected.sum() > 2000:
        assert iou(full, expected) >= 0.97


# -- rings, repairs and disagreements ---------------------------------------------------------------
SQUARE = [[100, 100], [900, 100], [900, 900], [100, 900]]
HOLE = [[300, 300], [700, 300], [700, 700], [300, 700]]
OTHER = [[950, 950], [990, 950], [990, 990]]


@pytest.mark.parametrize(
    "text, box, rings, warning",
    [
        (item(mask=[SQUARE, HOLE]), (0.1, 0.1, 0.9, 0.9), [SQUARE, HOLE], None),  # a hole: even-odd
        (item(mask=[HOLE, OTHER]), (0.3, 0.3, 0.99, 0.99), [HOLE, OTHER], None),  # two parts of one object
        (item(box_2d=[0, 0, 100, 100], mask=WIDE), (0.0, 0.0, 0.9, 0.7), [WIDE],
         "disagreed with its box_2d (IoU 0.00 < 0.5"),  # box widened to hold both
        (item(box_2d=gemini_box(WIDE), mask=transposed(WIDE)), (0.1, 0.6, 0.9, 0.7), [WIDE],
         "read as [y, x]"),  # only the [y, x] reading matches box_2d: taken, said
        (item(mask=WIDE[:2] + [[1100, 700], [150, 690]]), (0.1, 0.6, 1.0, 0.7),
         [WIDE[:2] + [[1000, 700], [150, 690]]], "points outside 0-1000 were clipped"),
        (item(mask=[WIDE, [[1, 1], [2, 2]]]), (0.1, 0.6, 0.9, 0.7), [WIDE],
         "1 ring with fewer than 3 points was dropped"),
    ],
)
def test_rings_and_repairs(text, box, rings, warning):
    res = parse(text)
    it = res[0]
    assert it.box == pytest.approx(box)
    if warning is None:
        assert res.warnings == []
    else:
        assert len(res.warnings) == 1 and warning in res.warnings[0], res.warnings
    assert np.array_equal(it.mask_full(3840, 2160), reference(rings, 3840, 2160))


def test_a_hole_is_empty_and_parts_are_filled():
    it = parse(item(mask=[SQUARE, HOLE]))[0]
    full = it.mask_full(1000, 1000)
    assert full[200, 200] and not full[500, 500] and full[800, 500]


@pytest.mark.parametrize(
    "mask, problem",
    [
        ([[0, 0], [500, 500], [1000, 1000]], "without area"),  # collinear
        ([[0, 0], [500, 500]], "a nested list"),  # two pairs read as a 2x2 grid: out of range
        ([[1, 2], [3, "x"], [5, 6]], "not all [x, y] pairs of finite numbers"),  # not numbers
        ([[[0, 0], [1, 1]]], "fewer than 3 points"),  # a ring too short
        ([[0, 0], [1000, 0], [500, float("nan")]], "not all [x, y] pairs of finite numbers"),  # NaN point (decoded input)
    ],
)
def test_unusable_polygons_keep_the_box_and_say_why(mask, problem):
    res = parse([{"box_2d": [0, 0, 500, 500], "mask": mask, "label": "x"}])
    assert res.labels == ["x"] and res[0].mask is None and res[0].box == (0.0, 0.0, 0.5, 0.5)
    assert any(problem in w for w in res.warnings), res.warnings
    assert "polygon" not in res[0].extra


def test_polygon_kept_in_extra_survives_to_json():
    from spatial_nb import Result

    res = parse(json.dumps({"boxes": [{"box_2d": gemini_box(FORUM), "label": "k", "mask": FORUM}]}))
    back = Result.from_json(res.to_json())
    assert back == res and back[0].extra["polygon"] == res[0].extra["polygon"]
    assert np.array_equal(back[0].mask_full(3840, 2160), res[0].mask_full(3840, 2160))


def test_the_box_local_map_is_the_4k_box_size_and_stays_within_the_budget(monkeypatch):
    res = parse(item(mask=WIDE))
    assert res[0].mask.shape == (216, 3072)  # 0.1 of 2160 rows, 0.8 of 3840 columns
    monkeypatch.setattr(parse_mod, "MAX_TOTAL_MASK_PIXELS", 3072 * 216 + 100_000)
    res = parse(json.dumps([{"label": f"w{i}", "mask": WIDE} for i in range(3)]))
    sizes = [it.mask.size if it.mask is not None else 0 for it in res]
    assert sizes[0] == 3072 * 216 and 0 < sizes[1] <= 100_000 and sizes[2] == 0
    assert any("rasterized below the usual 3840x2160 detail" in w for w in res.warnings)
    assert any("went over the total" in w for w in res.warnings)
    assert all("polygon" in it.extra for it in res)  # export can still write their segmentation


# -- the fill itself, against the reference ----------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.integers(-50, 1050), st.integers(-50, 1050)), min_size=3, max_size=9),
                min_size=1, max_size=3),
       st.sampled_from([(40, 30), (97, 13), (64, 64)]))
def test_fill_matches_the_crossing_count_reference(rings, size):
    # Any rings (self-intersecting, overlapping, partly outside): same pixels as the reference.
    width, height = size
    got = fill_even_odd([np.asarray(r, dtype=np.float64) / 1000 * (width, height) for r in rings], width, height)
    assert np.array_equal(got, reference([list(map(list, r)) for r in rings], width, height))


def test_polygon_mask_is_the_reference_at_4k():
    rng = random.Random(3)
    poly = [[rng.randint(0, 1000), rng.randint(0, 1000)] for _ in range(12)]
    rings = read_polygon(poly).rings
    assert np.array_equal(polygon_mask(rings, 3840, 2160), reference([poly], 3840, 2160))


def test_to_gemini_writes_the_polygon_back_in_the_models_form():
    res = parse(json.dumps([{"box_2d": gemini_box(FORUM), "mask": FORUM, "label": "k", "confidence": 0.5},
                            {"mask": [SQUARE, HOLE], "label": "frame"}]))
    out = res.to_gemini()
    assert out[0] == {"box_2d": gemini_box(FORUM), "mask": FORUM, "label": "k", "confidence": 0.5}
    assert out[1]["mask"] == [SQUARE, HOLE] and "polygon" not in out[1]
    again = parse(res.to_gemini_json())
    assert again.warnings == [] and again.items == res.items  # same boxes, masks, rings and extra


@pytest.mark.parametrize(
    "raw, mask_shape, warning",
    [
        # a PNG for box_2d and a polygon: the PNG covers box_2d, the polygon is kept for export
        ({"box_2d": [400, 300, 550, 420], "mask": "PNG", "polygon": FORUM}, (8, 8), None),
        # no box_2d to place the PNG in: the polygon gives box and mask
        ({"mask": "PNG", "polygon": FORUM}, (265, 319), "the polygon was used"),
        # unreadable tokens next to a polygon: the polygon is used, the tokens reported
        ({"box_2d": gemini_box(FORUM), "mask": "<seg_1><seg_2>", "polygon": FORUM}, (265, 319), "the readable one was used"),
    ],
)
def test_a_mask_and_a_polygon_together(raw, mask_shape, warning):
    from spatial_nb.masks import encode_png_mask

    raw = {k: (encode_png_mask(np.full((8, 8), 255, np.uint8)) if v == "PNG" else v) for k, v in raw.items()}
    res = parse([{"label": "x", **raw}])
    it = res[0]
    assert it.mask.shape == mask_shape
    assert it.extra["polygon"][0][0] == [0.325, 0.411]
    if warning is None:
        assert res.warnings == []
    else:
        assert len(res.warnings) == 1 and warning in res.warnings[0], res.warnings
