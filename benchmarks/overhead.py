"""Client-side work per request on 12 MP photos, against the cookbook's real flow, and a cache hit.

1. Per request (no model time), on 12 MP JPEGs made from the bundled photos (one stored
   sideways with EXIF orientation 6), in ``ROUNDS`` interleaved rounds (the order of the
   paths rotates each round; each ratio is taken within its round, the verdict is the median):

   * **Same output size** (a 640-px overlay). The cookbook's flow, as its notebook
     ``quickstarts/Spatial_understanding.ipynb`` runs it (google-gemini/cookbook, stored copy
     c7b8b14, read 2026-12-03): ``Image.open`` + ``im.thumbnail([640, 640], LANCZOS)``; the
     SDK turns the thumbnail into request bytes (google-genai 3.6 ``pil_to_blob``: JPEG with
     ``quality="keep"`` for a JPEG opened from a file); ``parse_json`` + ``json.loads``;
     ``plot_bounding_boxes`` draws on the thumbnail (ImageDraw, width-4 outlines, Noto Sans
     CJK 14 px loaded per call); the notebook shows ``im`` (IPython asks ``_repr_png_``).
     Against the toolkit's flow that decodes the photo once: ``photo = prepare_image(path,
     640)`` (the request bytes: ``client.detect(photo, ...)`` sends them unchanged under the
     file's cache key), ``snb.parse``, ``snb.show(photo, res, max_side=640)`` (draws on that
     thumbnail) and its display JPEG. Target: <= 0.5x the cookbook. Also reported: the same
     with a second, reduced-scale decode for display (``load_image(path, max_size=640)``),
     and ``snb.show(path, res, max_side=640)`` (the common notebook flow: it decodes the file a
     second time, at reduced scale, and draws at display size).
   * **Full resolution** (the overlay on the whole 12 MP picture). The cookbook's functions
     applied to the full image: full decode, a thumbnail copy sent (the SDK sends a copy as
     PNG: it has no file name), ``plot_bounding_boxes`` on the full picture, ``_repr_png_`` of
     it. Against ``prepare_image`` + ``snb.parse`` + ``snb.show(path, res)`` (its 1280-px
     display JPEG) + ``.image`` (the full-resolution overlay, which ``show`` draws on demand).
     Reported, no target.

   Times are process CPU seconds (``time.process_time``: other load on the machine does not
   inflate them); wall-clock medians are printed too.
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import spatial_nb as snb  # noqa: E402
from spatial_nb.display import show  # noqa: E402
from spatial_nb.images import load_image, prepare_image  # noqa: E402

ROUNDS = 5
SAME_SIZE_TARGET = 0.5
CACHE_TARGET = 0.05
N_BOXES = 25
THUMB = 640


def make_answer() -> str:
    """25 boxes in the fenced form Gemini often sends (the cookbook's parser expects it)."""
    rng = np.random.default_rng(1)
    items = []
    for i in range(N_BOXES):
        y0, x0 = rng.integers(0, 800, size=2)
        items.append({"box_2d": [int(y0), int(x0), int(y0 + 150), int(x0 + 180)], "label": f"object {i}"})
    return "```json\n" + json.dumps(items, indent=2) + "\n```"


# -- the cookbook's flow (its notebook's functions, restated) ----------------------------------------

_COLORS = ["red", "green", "blue", "yellow", "orange", "pink", "purple", "brown", "gray", "beige", "turquoise",
           "cyan", "magenta", "lime", "navy", "maroon", "teal", "olive", "coral", "lavender", "violet", "gold",
           "silver"] + list(ImageColor.colormap)


def _cjk_font_path() -> str | None:
    from spatial_nb.fonts import cjk_font_path

    return cjk_font_path()


FONT_PATH = _cjk_font_path()


def cookbook_parse_json(text: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line == "```json":
            return "\n".join(lines[i + 1:]).split("```")[0]
    return text


def cookbook_plot(im: Image.Image, answer: str) -> None:
    width, height = im.size
    draw = ImageDraw.Draw(im)
    boxes = cookbook_parse_json(answer)
    font = ImageFont.truetype(FONT_PATH, size=14) if FONT_PATH else ImageFont.load_default(size=14)
    for i, box in enumerate(json.loads(boxes)):
        color = _COLORS[i % len(_COLORS)]
        y1, x1, y2, x2 = (int(box["box_2d"][0] / 1000 * height), int(box["box_2d"][1] / 1000 * width),
                          int(box["box_2d"][2] / 1000 * height), int(box["box_2d"][3] / 1000 * width))
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        draw.rectangle(((x1, y1), (x2, y2)), outline=color, width=4)
        if "label" in box:
            draw.text((x1 + 8, y1 + 6), box["label"], fill=color, font=font)


def sdk_request_bytes(image: Image.Image) -> bytes:
    """What google-genai 3.6 sends for a PIL image (``_transformers.pil_to_blob``): JPEG with the
    file's own quantization for a JPEG opened from a file, PNG otherwise."""
    buf = io.BytesIO()
    if image.format == "JPEG" and getattr(image, "filename", "") and image.mode in ("1", "L", "RGB", "RGBX", "CMYK"):
        image.save(buf, "JPEG", quality="keep")
    else:
        image.save(buf, "PNG")
    return buf.getvalue()


def cookbook_same_size(path: Path, answer: str) -> None:
    im = Image.open(path)
    im.thumbnail([THUMB, THUMB], Image.Resampling.LANCZOS)
    sdk_request_bytes(im)
    cookbook_plot(im, answer)
    im._repr_png_()  # what the notebook shows


def cookbook_full_resolution(path: Path, answer: str) -> None:
    im = Image.open(path)
    im.load()
    small = im.copy()
    small.thumbnail([THUMB, THUMB], Image.Resampling.LANCZOS)
    sdk_request_bytes(small)
    cookbook_plot(im, answer)
    im._repr_png_()


# -- the toolkit's flow -------------------------------------------------------------------------------


def toolkit_same_size(path: Path, answer: str) -> None:
    photo = prepare_image(path, max_size=THUMB)  # the request bytes (client.detect(photo) sends them)
    result = snb.parse(answer)
    show(photo, result, max_side=THUMB).encoded()  # drawn on the thumbnail that was sent


def toolkit_same_size_decoded_twice(path: Path, answer: str) -> None:
    prepare_image(path, max_size=THUMB)
    result = snb.parse(answer)
    show(load_image(path, max_size=THUMB), result, max_side=THUMB).encoded()


def toolkit_same_size_show_path(path: Path, answer: str) -> None:
    prepare_image(path, max_size=THUMB)
    result = snb.parse(answer)
    show(path, result, max_side=THUMB).encoded()


def toolkit_full_resolution(path: Path, answer: str) -> None:
    prepare_image(path, max_size=THUMB)
    result = snb.parse(answer)
    shown = show(path, result)
    shown.encoded()
    shown.image  # the full-resolution overlay (drawn on demand)


# -- measuring ----------------------------------------------------------------------------------------

PATHS: dict[str, Callable[[Path, str], None]] = {
    "cookbook, 640-px overlay": cookbook_same_size,
    "toolkit, 640-px overlay": toolkit_same_size,
    "toolkit, 640-px, decoded twice": toolkit_same_size_decoded_twice,
    "toolkit, 640-px, show(path)": toolkit_same_size_show_path,
    "cookbook, full-res overlay": cookbook_full_resolution,
    "toolkit, full-res overlay": toolkit_full_resolution,
}


def measure(fn: Callable[[Path, str], None], photos: list[Path], answer: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per photo, averaged over ``photos``."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for photo in photos:
        fn(photo, answer)
    return (time.process_time() - cpu0) / len(photos), (time.perf_counter() - wall0) / len(photos)


def run_rounds(photos: list[Path], answer: str) -> dict[str, list[tuple[float, float]]]:
    names = list(PATHS)
    for name in names:  # warm up imports, fonts, caches
        PATHS[name](photos[0], answer)
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for r in range(ROUNDS):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            rounds[name].append(measure(PATHS[name], photos, answer))
    return rounds


def ratio(rounds: dict[str, list[tuple[float, float]]], ours: str, theirs: str, index: int = 0) -> float:
    return statistics.median(a[index] / b[index] for a, b in zip(rounds[ours], rounds[theirs]))


def cache_hit_figures(path: Path, answer: str, tmp: Path) -> tuple[float, float]:
    from spatial_nb.cache import Cache
    from tests.fake_gemini import FakeGemini, Reply

    with FakeGemini() as server:
        os.environ["GOOGLE_GEMINI_BASE_URL"] = server.url
        os.environ["GOOGLE_API_KEY"] = "benchmark-key-not-real"
        server.default = Reply(answer, delay=0.2)
        client = snb.Client(cache=Cache(tmp / "cache"))
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


def thumbnail_quality(photo: Path) -> float:
    """PSNR (dB) of the thumbnail that is encoded and sent (``PreparedImage.image``, from a
    reduced-scale decode) against a full decode + Lanczos thumbnail of the same upright file."""
    reference = Image.open(photo)
    reference.load()
    reference.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    sent = prepare_image(photo, THUMB).image
    diff = np.asarray(sent, np.float64) - np.asarray(reference.convert("RGB"), np.float64)
    return float(10 * np.log10(255 ** 2 / max((diff ** 2).mean(), 1e-12)))


def main() -> int:
    from batch import make_photos  # the 12 MP photos of benchmarks/batch.py

    ok = True
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        photos = make_photos(tmp / "photos", 4)
        photos = [photos[0], photos[3]]  # one landscape, one stored sideways (EXIF 6)
        answer = make_answer()
        sizes = ", ".join(f"{Image.open(p).size[0]}x{Image.open(p).size[1]} ({p.stat().st_size / 1e6:.1f} MB)"
                          for p in photos)
        print(f"input: 12 MP JPEGs {sizes}; {N_BOXES} boxes; {ROUNDS} interleaved rounds; "
              "CPU ms per request (wall ms)")
        rounds = run_rounds(photos, answer)
        for name, values in rounds.items():
            cpu = statistics.median(v[0] for v in values) * 1000
            wall = statistics.median(v[1] for v in values) * 1000
            print(f"  {name:32}: {cpu:8.1f} ms  ({wall:8.1f} ms wall)")
        same = ratio(rounds, "toolkit, 640-px overlay", "cookbook, 640-px overlay")
        twice = ratio(rounds, "toolkit, 640-px, decoded twice", "cookbook, 640-px overlay")
        by_path = ratio(rounds, "toolkit, 640-px, show(path)", "cookbook, 640-px overlay")
        full = ratio(rounds, "toolkit, full-res overlay", "cookbook, full-res overlay")
        same_wall = ratio(rounds, "toolkit, 640-px overlay", "cookbook, 640-px overlay", 1)
        verdict = "PASS" if same <= SAME_SIZE_TARGET else "FAIL"
        ok &= verdict == "PASS"
        print(f"same output size  : toolkit / cookbook = {same:.2f}x CPU ({same_wall:.2f}x wall)  "
              f"(target <= {SAME_SIZE_TARGET}x)  {verdict}")
        print(f"                    decoded twice: {twice:.2f}x CPU; show(path): {by_path:.2f}x CPU")
        print(f"full resolution   : toolkit / cookbook = {full:.2f}x CPU  (reported, no target)")
        print(f"thumbnail sent    : {thumbnail_quality(photos[0]):.1f} dB PSNR against a full decode + Lanczos")

        miss, hit = cache_hit_figures(photos[0], answer, tmp)
        share = hit / 0.2
        verdict = "PASS" if share <= CACHE_TARGET else "FAIL"
        ok &= verdict == "PASS"
        print(f"first call (200 ms simulated model): {miss * 1000:8.1f} ms")
        print(f"cache hit, file -> Result (median)  : {hit * 1000:8.1f} ms = {share * 100:.1f}% of 200 ms  "
              f"(target <= {CACHE_TARGET * 100:.0f}%)  {verdict}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
