"""Rebuild ``images/`` from photos that ship inside installed packages (no network).

Sources and licences are listed in ``images/LICENSES.md``; this script only re-encodes:
RGB JPEG at quality 90, long side at most 1024 px, no EXIF or other metadata. Run it from
the repository root: ``python scripts/make_sample_images.py``. Output bytes can differ
between Pillow versions (encoders change), which is why the JPEGs are committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

MAX_SIDE_PX = 1024
JPEG_QUALITY = 90


def _skimage(name: str) -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / name


def _sklearn(name: str) -> Path:
    import sklearn

    return Path(sklearn.__file__).parent / "datasets" / "images" / name


# output file name -> where the original lives in the installed package
SOURCES = {
    "coffee.jpg": lambda: _skimage("coffee.png"),
    "cat.jpg": lambda: _skimage("chelsea.png"),
    "astronaut.jpg": lambda: _skimage("astronaut.png"),
    "rocket.jpg": lambda: _skimage("rocket.jpg"),
    "hubble_deep_field.jpg": lambda: _skimage("hubble_deep_field.jpg"),
    "china_palace.jpg": lambda: _sklearn("china.jpg"),
    "flower.jpg": lambda: _sklearn("flower.jpg"),
}


def convert(src: Path, dst: Path) -> None:
    """Write ``src`` as a metadata-free RGB JPEG no larger than MAX_SIDE_PX."""
    with Image.open(src) as im:
        rgb = im.convert("RGB")  # also drops the palette / alpha / EXIF / ICC of the source
    rgb.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", rgb.size)  # a fresh image carries no .info metadata at all
    clean.paste(rgb)
    clean.save(dst, "JPEG", quality=JPEG_QUALITY, optimize=True)


def main(out_dir: str = "images") -> int:
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    for name, where in SOURCES.items():
        src = where()
        convert(src, out / name)
        with Image.open(out / name) as check:
            assert not check.getexif(), f"{name}: EXIF survived"
            print(f"{name:24s} {check.size[0]}x{check.size[1]}  {(out / name).stat().st_size / 1024:6.1f} KiB  <- {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
