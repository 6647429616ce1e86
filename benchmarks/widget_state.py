"""How much a panel adds to a saved notebook: widget state after one run and after five.

JupyterLab saves the state of every live widget with the notebook ("Save Widget State
Automatically"), so whatever the panel keeps in its widgets (overlay JPEGs, SVG, data-URL links)
lands in the .ipynb. For each picture below this builds a real ``snb.Panel`` against the fake Gemini
server (tests/fake_gemini.py, in this process), runs five kinds, compares two runs in the lab, and
prints the state size with ``ipywidgets.embed.dependency_state``. Baseline, measured in the same run:
the same panel plus the display-size overlay PNG data URL that the Download tab built eagerly for
every shown run before #14. Target: at most 300 KiB of widget state per run. Exit 1 on FAIL.

    python benchmarks/widget_state.py
"""

from __future__ import annotations

import base64
import io
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_gemini import FakeGemini  # noqa: E402

TARGET_PER_RUN = 300 * 1024
KINDS = ("boxes", "points", "masks", "boxes3d", "boxes")


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """Gradients, blobs and noise: compresses like a busy photo (a hard case for JPEG)."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    pen = ImageDraw.Draw(img)
    for _ in range(60):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(width // 80, width // 8))
        pen.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    arr = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, (height, width, 1), dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def eager_png_bytes(panel, record) -> int:
    """Size of the data URL the pre-#14 Download tab held for a shown run (display-size PNG)."""
    from spatial_nb.drawing import draw

    buf = io.BytesIO()
    draw(record.picture, record.result, **panel._style(record)).save(buf, "PNG")
    return len("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))


def measure(name: str, image) -> tuple[int, int, int]:
    """(state after one run, after five runs and a compare of two, baseline after five)."""
    from spatial_nb.client import Client
    from spatial_nb.widgets import ImageChoice, Panel

    panel = Panel(client=Client(retry_attempts=1))
    panel.set_image(ImageChoice("upload", name, image))
    sizes = []
    for kind in KINDS:
        panel.kind_buttons.value = kind
        record = panel.run()
        if record is None:
            raise SystemExit(f"{name}: the run failed: {panel.last_error}")
        sizes.append(panel.widget_state_bytes())
    panel.compare(1, 2)
    five = panel.widget_state_bytes()
    baseline = five + eager_png_bytes(panel, panel.state.current)
    return sizes[0], five, baseline


def main() -> int:
    warnings.simplefilter("ignore")
    big = photo_like(4000, 3000)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    pictures = [
        ("coffee.jpg (600x400)", str(ROOT / "images" / "coffee.jpg")),
        ("hubble_deep_field.jpg (1000x872, busy)", str(ROOT / "images" / "hubble_deep_field.jpg")),
        ("photo-like 4000x3000 upload", buf.getvalue()),
    ]
    failed = False
    with tempfile.TemporaryDirectory() as cache, FakeGemini() as server:
        os.environ.update(GOOGLE_GEMINI_BASE_URL=server.url, GOOGLE_API_KEY="benchmark-key", SPATIAL_NB_CACHE_DIR=cache)
        print(f"{'picture':40} {'1 run':>9} {'5 runs+compare':>15} {'per run':>9} {'baseline':>10} {'ratio':>6}")
        for name, image in pictures:
            one, five, baseline = measure(name, image)
            per_run = five / len(KINDS)
            ok = one <= TARGET_PER_RUN and per_run <= TARGET_PER_RUN
            failed |= not ok
            print(f"{name:40} {one / 1024:8.0f}K {five / 1024:14.0f}K {per_run / 1024:8.0f}K "
                  f"{baseline / 1024:9.0f}K {five / baseline:6.2f}  {'PASS' if ok else 'FAIL'}")
    print(f"target: <= {TARGET_PER_RUN // 1024} KiB of widget state per run (after one run, and after five "
          "runs plus a compare of two, divided by five); ratio = state / pre-#14 baseline")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
