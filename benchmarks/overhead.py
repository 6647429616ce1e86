"""Toolkit overhead per request on a 12 MP JPEG, against a cookbook-style path, and a cache hit.

1. Per-request work (no model time): the toolkit path — ``prepare_image`` (load with JPEG
   draft decode, EXIF orientation, thumbnail to 640, encode), ``parse``, ``snb.show`` (draw on
   the full picture, display as a 1280-px JPEG) — versus a cookbook-style path on the same file:
   full decode, thumbnail, PNG encode, ``json.loads`` parse, full-frame draw with
   ImageDraw (straight onto a copy: the cheap variant, no per-box RGBA layers), PNG display
   encode (what IPython does with a PIL image). Target: ratio <= 0.25.
2. A cache hit (source file -> Result, through ``Client.detect``) versus a 200 ms simulated
   model call (the fake Gemini server with ``delay=0.2``). Target: <= 5 %.

Run: ``python benchmarks/overhead.py`` (prints figures and PASS/FAIL; exit 1 on FAIL).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import spatial_nb as snb  # noqa: E402
from spatial_nb.images import prepare_image  # noqa: E402

WIDTH, HEIGHT = 4000, 3000  # 12 MP
N_BOXES = 25


def make_photo(path: Path) -> None:
    """A photo-like 12 MP JPEG (smooth shapes + sensor noise), stored sideways with EXIF 6."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, size=(30, 40, 3), dtype=np.uint8)
    base = Image.fromarray(small).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    arr = np.asarray(base).astype(np.int16)
    arr += rng.integers(-12, 13, size=arr.shape, dtype=np.int16)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(path, "JPEG", quality=90, exif=exif)


def make_answer() -> str:
    rng = np.random.default_rng(1)
    items = []
    for i in range(N_BOXES):
        y0, x0 = rng.integers(0, 800, size=2)
        items.append({"box_2d": [int(y0), int(x0), int(y0 + 150), int(x0 + 180)], "label": f"object {i}"})
    return "```json\n" + json.dumps(items, indent=2) + "\n```"


def toolkit_path(path: Path, answer: str) -> None:
    prepared = prepare_image(path, max_size=640)  # what would be sent
    result = snb.parse(answer)
    result.image_size = prepared.size
    shown = snb.show(path, result)
    shown.encoded()  # what the notebook receives


def cookbook_path(path: Path, answer: str) -> None:
    im = Image.open(path)
    im.load()  # full decode, no EXIF handling
    thumb = im.copy()
    thumb.thumbnail((640, 640), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "PNG")  # request bytes
    text = answer.split("```json", 1)[1].split("```", 1)[0]
    boxes = json.loads(text)
    width, height = im.size
    frame = im.copy()  # full-frame draw, straight onto a copy (as the cookbook does for boxes)
    pen = ImageDraw.Draw(frame)
    for box in boxes:
        y0, x0, y1, x1 = box["box_2d"]
        pen.rectangle((x0 / 1000 * width, y0 / 1000 * height, x1 / 1000 * width, y1 / 1000 * height),
                      outline=(255, 0, 0), width=4)
        pen.text((x0 / 1000 * width + 8, y0 / 1000 * height + 6), box["label"], fill=(255, 0, 0))
    out = io.BytesIO()
    frame.save(out, "PNG")  # IPython's display of a PIL image


def timed(fn, *args, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cache_hit_figures(path: Path, answer: str, tmp: Path) -> tuple[float, float]:
    from tests.fake_gemini import FakeGemini, Reply

    with FakeGemini() as server:
        os.environ["GOOGLE_GEMINI_BASE_URL"] = server.url
        os.environ["GOOGLE_API_KEY"] = "benchmark-key-not-real"
        server.default = Reply(answer, delay=0.2)
        client = snb.Client(cache=snb_cache(tmp / "cache"))
        t0 = time.perf_counter()
        first = client.detect(path, "Detect the objects")
        miss = time.perf_counter() - t0
        assert not first.cached
        hits = []
        for _ in range(20):
            t0 = time.perf_counter()
            res = client.detect(path, "Detect the objects")
            hits.append(time.perf_counter() - t0)
            assert res.cached and len(res) == N_BOXES
    return miss, statistics.median(hits)


def snb_cache(directory: Path):
    from spatial_nb.cache import Cache

    return Cache(directory)


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        photo = tmp / "photo_12mp.jpg"
        make_photo(photo)
        answer = make_answer()
        print(f"input: {WIDTH}x{HEIGHT} JPEG ({photo.stat().st_size / 1e6:.1f} MB, EXIF orientation 6), {N_BOXES} boxes")

        toolkit_path(photo, answer)  # warm up imports and fonts
        cookbook_path(photo, answer)
        t_toolkit = timed(toolkit_path, photo, answer)
        t_cookbook = timed(cookbook_path, photo, answer)
        ratio = t_toolkit / t_cookbook
        verdict = "PASS" if ratio <= 0.25 else "FAIL"
        ok &= verdict == "PASS"
        print(f"toolkit per request : {t_toolkit * 1000:8.1f} ms (load+orient+thumbnail+encode, parse, draw, display JPEG)")
        print(f"cookbook-style      : {t_cookbook * 1000:8.1f} ms (full decode, PNG encode, parse, full-frame draw, PNG display)")
        print(f"ratio               : {ratio:8.3f}  (target <= 0.25)  {verdict}")

        for name, fn in (("  prepare_image", lambda: prepare_image(photo)), ("  parse", lambda: snb.parse(answer))):
            print(f"{name:20}: {timed(fn, repeat=5) * 1000:8.1f} ms")

        miss, hit = cache_hit_figures(photo, answer, tmp)
        share = hit / 0.2
        verdict = "PASS" if share <= 0.05 else "FAIL"
        ok &= verdict == "PASS"
        print(f"first call (200 ms simulated model): {miss * 1000:8.1f} ms")
        print(f"cache hit, file -> Result (median)  : {hit * 1000:8.1f} ms = {share * 100:.1f}% of 200 ms  (target <= 5%)  {verdict}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
