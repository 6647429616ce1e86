"""Benchmark snb.parse against the floor of the work it must do, measured in the same run.

* 15-mask answer (256x256 ellipse PNGs, masks decoded eagerly): parse <= 1.5x the bare
  base64 + PNG decoding of the same 15 masks.
* 25-box answer: parse <= 10x ``json.loads`` of the same text.
* 15 polygon masks (Gemini 3.5+ ``[x, y]`` polygons of 48 points, same boxes as the PNG
  answer, rasterized on the 3840x2160 grid): parse <= 4x parsing the 15-PNG-mask answer.
* 20,000 same-label boxes (a long looping answer; de-duplication on every one):
  parse <= 20x ``json.loads`` of the same text (before issue 11 it was ~140x: quadratic).

Both sides are timed alternately, round by round, and the median per-round ratio is
compared with the target (robust on a shared machine). Prints the ratios and PASS/FAIL,
exits 1 on any FAIL.
Run: ``python benchmarks/parse.py``
"""

from __future__ import annotations

import base64
import io
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from spatial_nb.masks import encode_png_mask  # noqa: E402
from spatial_nb.parsing import parse  # noqa: E402

MASK_TARGET = 1.5
BOX_TARGET = 10.0
POLYGON_TARGET = 4.0
MANY_BOXES_TARGET = 20.0


def paired(fn, base, rounds: int, number: int) -> tuple[float, float, float]:
    """Time ``fn`` and ``base`` alternately (so load on a shared machine hits both alike).

    Returns the median time of ``fn``, of ``base`` (seconds per call), and the median of
    the per-round ratios.
    """
    fn(), base()  # warm up
    t_fn, t_base, ratios = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(number):
            base()
        t1 = time.perf_counter()
        for _ in range(number):
            fn()
        t2 = time.perf_counter()
        t_base.append((t1 - t0) / number)
        t_fn.append((t2 - t1) / number)
        ratios.append((t2 - t1) / (t1 - t0))
    return statistics.median(t_fn), statistics.median(t_base), statistics.median(ratios)


def mask_answer(rng: random.Random) -> tuple[str, list[str]]:
    items, payloads = [], []
    for i in range(15):
        img = Image.new("L", (256, 256), 0)
        x0, y0 = rng.randint(0, 60), rng.randint(0, 60)
        ImageDraw.Draw(img).ellipse((x0, y0, 256 - rng.randint(0, 60), 256 - rng.randint(0, 60)), fill=255)
        # Soft edge like a probability map.
        arr = np.asarray(img.resize((64, 64)).resize((256, 256), Image.Resampling.BILINEAR))
        url = encode_png_mask(arr)
        payloads.append(url.partition(",")[2])
        y, x = rng.randint(0, 700), rng.randint(0, 700)
        items.append({"box_2d": [y, x, y + 250, x + 250], "mask": url, "label": f"object {i}"})
    return "```json\n" + json.dumps(items, indent=2) + "\n```", payloads


def bare_decode(payloads: list[str]) -> None:
    for b64 in payloads:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
            np.asarray(img)


def polygon_answer(png_text: str) -> str:
    """The PNG-mask answer with each mask replaced by a 48-point ellipse polygon in its box."""
    items = json.loads(png_text.strip("`json\n"))
    for item in items:
        y0, x0, y1, x1 = item["box_2d"]
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * 0.9, (y1 - y0) / 2 * 0.8
        item["mask"] = [[round(cx + rx * math.cos(a), 1), round(cy + ry * math.sin(a), 1)]
                        for a in (2 * math.pi * k / 48 for k in range(48))]
    return "```json\n" + json.dumps({"boxes": items}) + "\n```"


def many_boxes_answer(rng: random.Random, n: int = 20_000) -> str:
    items = []
    for _ in range(n):
        y, x = rng.randint(0, 950), rng.randint(0, 950)
        items.append({"box_2d": [y, x, y + rng.randint(5, 50), x + rng.randint(5, 50)], "label": "cell"})
    return json.dumps(items)


def box_answer(rng: random.Random) -> tuple[str, str]:
    items = []
    for i in range(25):
        y, x = rng.randint(0, 800), rng.randint(0, 800)
        items.append({"box_2d": [y, x, y + rng.randint(20, 199), x + rng.randint(20, 199)],
                      "label": f"white frosting with colorful sprinkles {i}"})
    body = json.dumps(items, indent=1)
    return "```json\n" + body + "\n```", body


def main() -> int:
    rng = random.Random(1)
    mask_text, payloads = mask_answer(rng)
    res = parse(mask_text)
    assert len(res) == 15 and all(it.mask is not None for it in res) and not res.warnings, res.warnings
    t_parse_masks, t_bare, r_masks = paired(lambda: parse(mask_text), lambda: bare_decode(payloads), 31, 3)

    box_text, body = box_answer(rng)
    assert len(parse(box_text)) == 25
    t_parse_boxes, t_json, r_boxes = paired(lambda: parse(box_text), lambda: json.loads(body), 31, 300)

    poly_text = polygon_answer(mask_text)
    res = parse(poly_text)
    assert len(res) == 15 and all(it.mask is not None and "polygon" in it.extra for it in res), res.warnings
    assert not res.warnings, res.warnings
    t_parse_poly, t_parse_png, r_poly = paired(lambda: parse(poly_text), lambda: parse(mask_text), 15, 2)

    many_text = many_boxes_answer(rng)
    res = parse(many_text)
    assert 19_900 < len(res) <= 20_000, len(res)
    t_parse_many, t_json_many, r_many = paired(lambda: parse(many_text), lambda: json.loads(many_text), 7, 1)

    failed = False
    rows = [
        ("15 masks (256x256 PNG)", "base64+PNG decode", t_parse_masks, t_bare, r_masks, MASK_TARGET),
        ("25 boxes", "json.loads", t_parse_boxes, t_json, r_boxes, BOX_TARGET),
        ("15 polygon masks", "parse of PNG masks", t_parse_poly, t_parse_png, r_poly, POLYGON_TARGET),
        ("20k same-label boxes", "json.loads", t_parse_many, t_json_many, r_many, MANY_BOXES_TARGET),
    ]
    for name, base_name, t, base, ratio, target in rows:
        ok = ratio <= target
        failed |= not ok
        print(f"{name:24s} parse {t * 1e3:8.3f} ms  {base_name:18s} {base * 1e3:8.3f} ms  "
              f"ratio {ratio:5.2f}x (target <= {target}x)  {'PASS' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
