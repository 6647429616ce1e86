"""The label layout gives exactly the same answer as before the speed work on it (branch perf-place).

``tests/fixtures/layout_equivalence.json`` holds the layouts (every placement's fields, legend
box and flags, notes, canvas size) of ~40 varied scenes, computed by the unmodified code at commit
db53cb7 (the start of perf-place). Any change to ``_placement``/``labels``/``legend`` that is meant
to be a pure speed-up must reproduce them exactly. Regenerate (only when the layout is meant to
change, and say so in the commit): ``python tests/test_layout_equivalence.py --write``.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest

from spatial_nb.colors import item_colors
from spatial_nb.drawing import clear_label_caches, resolve_style
from spatial_nb.labels import layout_labels
from spatial_nb.result import Item

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "layout_equivalence.json"

CLASSES = ["person", "car", "bicycle", "traffic light", "dog", "backpack", "umbrella", "bus", "truck", "bench",
           "handbag", "stop sign", "cat", "bird", "motorcycle", "parking meter", "fire hydrant", "suitcase"]
LONG = ["white ceramic mug with a chipped handle standing next to the kettle on the left side of the counter",
        "a stack of three old hardcover books with faded green spines and golden lettering",
        "cupcake with pink frosting", "红色的袜子和白色的杯子放在桌子上", "spoon", "glass jar with a cork lid"]
BENCH_CLASSES = CLASSES + ["skateboard", "potted plant"]
BENCH_LABELS = ["cupcake with pink frosting", "red sock", "white frosting with googly eyes", "spoon", "glass jar",
                "chocolate frosting", "knife on the counter", "sugar pot"]
SIZES = [(320, 240), (640, 480), (480, 640), (1024, 768), (1920, 1080), (3840, 2160), (7680, 4320)]


def _boxes(rng, n: int, small: float, big: float, labels, masks: float = 0.0) -> list[Item]:
    items = []
    for i in range(n):
        w, h = rng.uniform(small, big, 2)
        x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        mask = np.full((4, 4), 200, np.uint8) if rng.random() < masks else None
        items.append(Item(labels[int(rng.integers(0, len(labels)))], box=(x0, y0, x0 + w, y0 + h), mask=mask))
    return items


def _clustered(rng, n: int, spread: float) -> list[Item]:
    items = []
    for i in range(n):
        w, h = rng.uniform(0.08, 0.2), rng.uniform(0.05, 0.14)
        cx, cy = rng.normal(0.5, spread), rng.normal(0.5, spread)
        x0, y0 = float(np.clip(cx - w / 2, 0, 1 - w)), float(np.clip(cy - h / 2, 0, 1 - h))
        items.append(Item(f"{LONG[i % len(LONG)][:30]} {i}", box=(x0, y0, x0 + w, y0 + h)))
    return items


def _points(rng, n: int, labels) -> list[Item]:
    return [Item(labels[i % len(labels)], point=tuple(rng.uniform(0.02, 0.98, 2))) for i in range(n)]


def _cubes(rng, n: int) -> list[Item]:
    items = []
    for i in range(n):
        centre = (rng.uniform(-2, 2), rng.uniform(2, 9), rng.uniform(-1, 1))
        size = tuple(rng.uniform(0.3, 1.5, 3))
        items.append(Item(f"cube {i}", box3d=(*centre, *size, 0.0, 0.0, float(rng.uniform(-40, 40)))))
    return items


def _bench_crowd(n: int, seed: int = 5) -> list[Item]:
    """The crowded answer of ``benchmarks/draw.py`` (``crowd``): same recipe, same numbers."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        w, h = rng.uniform(0.01, 0.06), rng.uniform(0.02, 0.10)
        x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        items.append(Item(BENCH_CLASSES[int(rng.integers(0, len(BENCH_CLASSES)))], box=(x0, y0, x0 + w, y0 + h)))
    return items


def _bench_scene(seed: int = 1) -> list[Item]:
    """The 25 labelled boxes of ``benchmarks/draw.py`` (``scene(False)``)."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(25):
        w, h = rng.uniform(0.05, 0.30, 2)
        x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        items.append(Item(f"{BENCH_LABELS[i % len(BENCH_LABELS)]} {i}", box=(x0, y0, x0 + w, y0 + h)))
    return items


def scenes() -> list[tuple[str, list[Item], int, int, dict]]:
    """``(name, items, width, height, style)`` of every scene (deterministic: fixed seeds)."""
    out = []
    for k, n in enumerate((5, 20, 60, 150, 400, 600)):
        for legend in (True, "outside", False):
            width, height = SIZES[(k + len(str(legend))) % len(SIZES)]
            rng = np.random.default_rng(100 + k)
            out.append((f"crowd{n}-{legend}-{width}x{height}", _boxes(rng, n, 0.01, 0.08, CLASSES), width, height,
                        {"legend": legend}))
    rng = np.random.default_rng(7)
    out.append(("crowd400-4K", _boxes(rng, 400, 0.01, 0.06, CLASSES), 3840, 2160, {}))
    for seed, (width, height) in enumerate(SIZES):
        rng = np.random.default_rng(seed)
        out.append((f"long-{width}x{height}", _boxes(rng, 12, 0.05, 0.3, LONG, masks=0.4), width, height, {}))
        rng = np.random.default_rng(50 + seed)
        out.append((f"clustered-{width}x{height}", _clustered(rng, 10 + 15 * seed, 0.1), width, height,
                    {"legend": ("outside", True, False)[seed % 3]}))
    for seed, (width, height) in enumerate([(320, 240), (640, 480), (1920, 1080), (480, 640)]):
        rng = np.random.default_rng(200 + seed)
        items = _points(rng, 8 + 12 * seed, CLASSES + LONG) + _cubes(rng, 3 + seed) + _boxes(rng, 6 * seed, 0.05, 0.2, LONG)
        items += [Item("left sock", extra={"in_frame": False}), Item("")]  # off-frame, and an empty label
        out.append((f"mixed-{width}x{height}", items, width, height, {"legend": (True, "outside")[seed % 2]}))
    out.append(("bench-crowd400-4K", _bench_crowd(400), 3840, 2160, {}))
    out.append(("bench-scene25-8K", _bench_scene(), 7680, 4320, {}))
    rng = np.random.default_rng(300)
    out.append(("small-font-8K", _boxes(rng, 200, 0.005, 0.03, CLASSES), 7680, 4320, {"font_size": 11}))
    rng = np.random.default_rng(301)
    out.append(("big-font", _boxes(rng, 30, 0.05, 0.2, LONG), 1280, 720, {"font_size": 40}))
    rng = np.random.default_rng(302)
    out.append(("huge-label", [Item("a " * 200, box=(0.1, 0.1, 0.3, 0.3))] + _boxes(rng, 5, 0.1, 0.3, LONG), 200, 150, {}))
    rng = np.random.default_rng(303)
    out.append(("by-label", _boxes(rng, 80, 0.02, 0.1, CLASSES), 1920, 1080, {"color_by": "label"}))
    rng = np.random.default_rng(304)
    out.append(("no-labels", _boxes(rng, 20, 0.02, 0.1, CLASSES), 640, 480, {"show_labels": False}))
    return out


def layout_record(items, width: int, height: int, style: dict) -> dict:
    """Everything a layout decides, as plain JSON values (cold caches, warnings silenced)."""
    clear_label_caches()
    st = resolve_style(width, height, **style)
    colors = item_colors(items, st.color_by, st.palette)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layout = layout_labels(items, colors, st, width, height)
    return json.loads(json.dumps({
        "canvas": [layout.width, layout.height],
        "legend_box": layout.legend_box,
        "flags": [layout.legend_outside, layout.legend_clipped],
        "notes": layout.notes,
        "placements": [astuple(p) for p in layout.placements],
    }))


def _write() -> None:  # pragma: no cover - run by hand
    records = {name: layout_record(items, w, h, style) for name, items, w, h, style in scenes()}
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(records, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} layouts, {sum(len(r['placements']) for r in records.values())} placements to {FIXTURE}")


SCENES = scenes()


@functools.cache
def _expected() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fixture_covers_every_scene_and_the_crowded_ones():
    expected = _expected()
    assert sorted(expected) == sorted(name for name, *_ in SCENES)
    kinds = {p[3] for record in expected.values() for p in record["placements"]}
    assert kinds == {"label", "tag", "legend"}  # chips, numbered tags and legend entries are all pinned
    assert any(record["flags"][0] for record in expected.values())  # an outside legend
    assert any(record["flags"][1] for record in expected.values())  # a clipped one


@pytest.mark.parametrize("name,items,width,height,style", SCENES, ids=[s[0] for s in SCENES])
def test_layout_is_unchanged(name, items, width, height, style):
    want = _expected()[name]
    got = layout_record(items, width, height, style)
    for k, (a, b) in enumerate(zip(got["placements"], want["placements"])):
        assert a == b, f"placement {k} differs"
    assert len(got["placements"]) == len(want["placements"])
    assert got == want


if __name__ == "__main__" and "--write" in sys.argv:
    _write()
