"""Rebuild ``images/`` from the original photos: the AI Studio gallery and package sample data.

The eight gallery photos come from a folder of the originals as published in
google-gemini/starter-applets (``--gallery DIR``); each file's git blob id is checked against
the upstream commit before use. The other photos come from scikit-image / scikit-learn
installed on this machine. Sources and licences: ``images/LICENSES.md``. Encoded bytes depend
on the Pillow/libjpeg/LittleCMS versions, so the JPEGs are committed and ``--check`` says
whether this machine reproduces them byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

REPO = Path(__file__).resolve().parents[1]

#: Where the gallery photos are published (a repository, a commit and its folder).
GALLERY_REPOSITORY = "google-gemini/starter-applets"
GALLERY_COMMIT = "82a598ad721c5c5cff4b78d743de7062fde2f86a"  # 2025-02-04
GALLERY_FOLDER = "spatial/public"


@dataclass(frozen=True)
class Recipe:
    """How one shipped photo is made.

    Attributes:
        source: Returns the path of the original (may raise ``LookupError`` with a hint).
        max_side_px: Longest side of the output.
        jpeg_quality: libjpeg quality of the output.
        git_blob_sha1: For gallery photos, the git blob id of the original at GALLERY_COMMIT.
        to_srgb: Convert the pixels from the embedded ICC profile to sRGB (the gallery has
            Display P3 photos); the earlier samples are sRGB and were made without it.
    """

    source: Callable[[], Path]
    max_side_px: int
    jpeg_quality: int
    git_blob_sha1: str | None = None
    to_srgb: bool = True


def _package_file(package: str, *parts: str) -> Callable[[], Path]:
    def find() -> Path:
        try:
            module = __import__(package)
        except ImportError:
            dist = {"skimage": "scikit-image", "sklearn": "scikit-learn"}.get(package, package)
            raise LookupError(f"needs {package} (pip install {dist})") from None
        return Path(module.__file__).parent.joinpath(*parts)

    return find


_gallery_dir: Path | None = None


def _gallery(name: str) -> Callable[[], Path]:
    def find() -> Path:
        if _gallery_dir is None:
            raise LookupError(
                f"needs the originals: git clone https://github.com/{GALLERY_REPOSITORY} && "
                f"git -C starter-applets checkout {GALLERY_COMMIT[:12]}, then pass "
                f"--gallery starter-applets/{GALLERY_FOLDER}"
            )
        return _gallery_dir / name

    return find


# The gallery first, in the AI Studio app's order (spatial/src/consts.tsx imageOptions; its
# pumpkins.jpg is not in the stored copy), then the earlier samples that are kept.
# Blob ids: `git ls-tree <commit> spatial/public/` in google-gemini/starter-applets.
RECIPES: dict[str, Recipe] = {
    "origami.jpg": Recipe(_gallery("origami.jpg"), 1600, 85, "c7a8c773ec68f3417daacc9b9461ca9fcd01be0b"),
    "clock.jpg": Recipe(_gallery("clock.jpg"), 1600, 85, "d67c821d5e84e96d380d52e0ca3193077b084b83"),
    "socks.jpg": Recipe(_gallery("socks.jpg"), 1600, 85, "556ac6230fa11be509b5a79ba10eee090cce9211"),
    "breakfast.jpg": Recipe(_gallery("breakfast.jpg"), 1600, 85, "6c12bb1f67616ef0615e3589b43257c0692f5c22"),
    "cat.jpg": Recipe(_gallery("cat.jpg"), 1600, 85, "5f2980fe675e341c89159242bc580790722d4f6c"),
    "spill.jpg": Recipe(_gallery("spill.jpg"), 1600, 85, "c5a0208ac303d1908ffb666cb559191fc2181ec7"),
    "fruit.jpg": Recipe(_gallery("fruit.jpg"), 1600, 85, "d25cf7f132ff240e7c585ddc7695f5c896f296b9"),
    "baklava.jpg": Recipe(_gallery("baklava.jpg"), 1600, 85, "1dfa6899a9fd3eb2f53910bbef63e8cc3402216c"),
    # Earlier samples (long side 1024 px, quality 90, as they were first made).
    "coffee.jpg": Recipe(_package_file("skimage", "data", "coffee.png"), 1024, 90, to_srgb=False),
    "china_palace.jpg": Recipe(_package_file("sklearn", "datasets", "images", "china.jpg"), 1024, 90, to_srgb=False),
    "chelsea.jpg": Recipe(_package_file("skimage", "data", "chelsea.png"), 1024, 90, to_srgb=False),
    "hubble_deep_field.jpg": Recipe(_package_file("skimage", "data", "hubble_deep_field.jpg"), 1024, 90, to_srgb=False),
}


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a file with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _to_srgb(im: Image.Image) -> Image.Image:
    """RGB pixels in sRGB: converts from an embedded ICC profile (e.g. Display P3)."""
    icc = im.info.get("icc_profile")
    if icc:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(
            im.convert("RGB"), source, srgb, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    return im.convert("RGB")


def encode(original: bytes, max_side_px: int, jpeg_quality: int, to_srgb: bool = True) -> bytes:
    """Upright, sRGB, at most ``max_side_px`` on the long side, JPEG without any metadata."""
    with Image.open(io.BytesIO(original)) as im:
        icc = im.info.get("icc_profile")
        upright = ImageOps.exif_transpose(im)  # applies the EXIF orientation
        if to_srgb and icc:
            upright.info["icc_profile"] = icc
            rgb = _to_srgb(upright)
        else:
            rgb = upright.convert("RGB")
    rgb.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", rgb.size)  # a fresh image carries no EXIF, ICC, XMP or comments
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=jpeg_quality, optimize=True)
    return out.getvalue()


def build(name: str, recipe: Recipe) -> bytes:
    """The shipped bytes of ``name``; raises LookupError when its original is unavailable."""
    path = recipe.source()
    if not path.is_file():
        raise LookupError(f"original not found: {path}")
    original = path.read_bytes()
    if recipe.git_blob_sha1 and git_blob_sha1(original) != recipe.git_blob_sha1:
        raise LookupError(
            f"{path} is not the file published at {GALLERY_REPOSITORY}@{GALLERY_COMMIT[:12]} "
            f"(git blob {git_blob_sha1(original)[:12]}, expected {recipe.git_blob_sha1[:12]})"
        )
    return encode(original, recipe.max_side_px, recipe.jpeg_quality, recipe.to_srgb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=Path, help=f"folder with the originals of {GALLERY_REPOSITORY}/{GALLERY_FOLDER}")
    parser.add_argument("--out", type=Path, default=REPO / "images", help="where to write (default: images/)")
    parser.add_argument(
        "--check", action="store_true",
        help="compare with the files in --out instead of writing (exit 1: a file differs, 2: some were skipped)",
    )
    parser.add_argument("names", nargs="*", help="only these outputs (default: all)")
    args = parser.parse_args(argv)
    global _gallery_dir
    _gallery_dir = args.gallery
    unknown = [n for n in args.names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown output {', '.join(unknown)}; choose from {', '.join(RECIPES)}")

    failures = skipped = 0
    for name in args.names or list(RECIPES):
        try:
            data = build(name, RECIPES[name])
        except LookupError as exc:
            print(f"{name:22s} skipped: {exc}")
            skipped += 1
            continue
        with Image.open(io.BytesIO(data)) as check:
            size = check.size
            assert not check.getexif() and "icc_profile" not in check.info, f"{name}: metadata survived"
        target = args.out / name
        if args.check:
            same = target.is_file() and target.read_bytes() == data
            failures += not same
            verdict = "identical" if same else "DIFFERS from the shipped file"
            print(f"{name:22s} {size[0]}x{size[1]}  {len(data) / 1024:6.1f} KiB  {verdict}")
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=args.out, delete=False, suffix=".tmp") as tmp:
                tmp.write(data)
            Path(tmp.name).chmod(0o644)  # NamedTemporaryFile makes 0600 files
            Path(tmp.name).replace(target)
            print(f"{name:22s} {size[0]}x{size[1]}  {len(data) / 1024:6.1f} KiB  wrote {target}")
    if skipped:
        print(f"{skipped} skipped (see the reasons above)")
    if failures:
        return 1
    return 2 if args.check and skipped else 0  # a check that verified nothing must not pass


if __name__ == "__main__":
    sys.exit(main())
