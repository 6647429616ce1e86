"""Image loading/preparation: every input type and mode -> upright RGB, honest mime, clear errors."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from spatial_nb.errors import ImageLoadError
from spatial_nb.images import load_image, prepare_image, sniff_mime


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _sideways_jpeg() -> bytes:
    """A 400x200 JPEG stored sideways: red left half, blue right half, EXIF orientation 6.

    Orientation 6 means "rotate 90 degrees clockwise to display": the upright picture is
    200 wide and 400 tall, with red on top.
    """
    stored = Image.new("RGB", (400, 200), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(stored, "JPEG", exif=exif, quality=95)


# -- modes and inputs ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "mode, fill, expected",
    [
        ("RGBA", (255, 0, 0, 0), (255, 255, 255)),  # fully transparent -> white background
        ("RGBA", (255, 0, 0, 255), (255, 0, 0)),  # opaque red stays red
        ("LA", (0, 0), (255, 255, 255)),  # transparent grey -> white
        ("P", 0, (0, 0, 0)),  # palette index 0 of the default palette is black
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),  # CMYK red
        ("I;16", 65535, (255, 255, 255)),  # full-range 16-bit white
        ("I;16", 200, (200, 200, 200)),  # 8-bit data in a 16-bit container is kept
        ("1", 1, (255, 255, 255)),  # bilevel
        ("L", 128, (128, 128, 128)),
        ("F", 0.5, (128, 128, 128)),  # float in [0, 1]
    ],
)
def test_every_mode_becomes_rgb(mode, fill, expected):
    img = Image.new(mode, (8, 6), fill)
    out = load_image(img)
    assert out.mode == "RGB" and out.size == (8, 6)
    assert out.getpixel((3, 3)) == pytest.approx(expected, abs=2)


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.full((6, 8), 7, np.uint8), (7, 7, 7)),  # grey uint8
        (np.full((6, 8, 1), 9, np.uint8), (9, 9, 9)),  # trailing channel of 1
        (np.full((6, 8, 3), [1, 2, 3], np.uint8), (1, 2, 3)),  # RGB
        (np.full((6, 8, 4), [10, 20, 30, 255], np.uint8), (10, 20, 30)),  # RGBA opaque
        (np.full((6, 8), 65535, np.uint16), (255, 255, 255)),  # 16-bit
        (np.full((6, 8, 3), 1.0, np.float32), (255, 255, 255)),  # float [0, 1]
        (np.full((6, 8, 3), 100.0, np.float64), (100, 100, 100)),  # float 0-255
        (np.ones((6, 8), bool), (255, 255, 255)),  # boolean
    ],
)
def test_numpy_arrays(array, expected):
    out = load_image(array)
    assert out.mode == "RGB" and out.size == (8, 6)
    assert out.getpixel((0, 0)) == expected


def test_numpy_bad_shape_says_what_to_do():
    with pytest.raises(ImageLoadError, match="transpose"):
        load_image(np.zeros((3, 20, 30), np.uint8))


def test_path_bytes_and_pil_give_same_pixels(tmp_path):
    img = Image.new("RGB", (50, 30), (10, 200, 30))
    data = _encode(img, "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(data)
    for source in (str(path), path, data, img):
        out = load_image(source)
        assert out.size == (50, 30) and out.getpixel((10, 10)) == (10, 200, 30)


def test_load_image_does_not_return_callers_object():
    img = Image.new("RGB", (5, 5))
    assert load_image(img) is not img


def test_exif_orientation_is_applied():
    out = load_image(_sideways_jpeg())
    assert out.size == (200, 400)  # upright: portrait
    top, bottom = out.getpixel((100, 50)), out.getpixel((100, 350))
    assert top[0] > 200 and top[2] < 60  # red on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_upright_image_carries_no_orientation_tag():
    from PIL import ImageOps

    out = load_image(_sideways_jpeg())
    assert ImageOps.exif_transpose(out).size == out.size == (200, 400)  # not rotated twice
    pil = Image.open(io.BytesIO(_sideways_jpeg()))
    assert load_image(pil).size == (200, 400) and pil.size == (400, 200)  # caller's image untouched


def test_gif_first_frame():
    frames = [Image.new("P", (10, 10), i) for i in (1, 2)]
    pal = [0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9)
    for f in frames:
        f.putpalette(pal)
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(data).getpixel((5, 5)) == (255, 0, 0)
    assert prepare_image(data).mime_type == "image/png"


def test_16bit_png_file(tmp_path):
    arr = np.full((10, 12), 65535, np.uint16)
    arr[:, :6] = 0
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    out = load_image(path)
    assert out.getpixel((0, 0)) == (0, 0, 0) and out.getpixel((11, 0)) == (255, 255, 255)


# -- errors -------------------------------------------------------------------------------

def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size (IHDR) without the pixels: a decompression-bomb header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize(
    "source, message",
    [
        ("/definitely/missing.jpg", "not found"),
        (b"", "empty"),
        (b"<html>not an image</html>", "not an image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "corrupt|not an image"),  # JPEG magic, garbage body
        (_png_header_only(20000, 20000), "decompression|too large"),  # 400 MP bomb
        (12345, "cannot load an image from int"),
        ("https://example.com/cat.jpg", "URL"),
    ],
)
def test_clear_errors(source, message):
    with pytest.raises(ImageLoadError, match=message):
        prepare_image(source)


def test_truncated_jpeg_is_a_clear_error():
    data = _encode(Image.new("RGB", (300, 300), (1, 2, 3)), "JPEG")
    with pytest.raises(ImageLoadError, match="corrupt|truncated"):
        load_image(data[: len(data) // 3])


def test_truncated_file_error_names_the_file(tmp_path):
    path = tmp_path / "holiday.jpg"
    data = _encode(Image.new("RGB", (300, 300), (1, 2, 3)), "JPEG")
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError, match="'holiday.jpg' is corrupt or truncated"):
        prepare_image(path)


def test_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


# -- preparation --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "max_size, expected",
    [
        (640, (640, 480)),
        (1024, (1024, 768)),
        (None, (2000, 1500)),
        ("original", (2000, 1500)),
        ("1024", (1024, 768)),
        (4000, (2000, 1500)),  # never enlarged
    ],
)
def test_prepare_sizes(max_size, expected):
    data = _encode(Image.new("RGB", (2000, 1500), (9, 9, 9)), "JPEG")
    prep = prepare_image(data, max_size=max_size)
    assert prep.size == expected
    assert prep.original_size == (2000, 1500)
    assert Image.open(io.BytesIO(prep.data)).size == expected


def test_prepared_mime_matches_bytes_and_source_digest():
    photo = _encode(Image.new("RGB", (900, 700), (5, 6, 7)), "JPEG")
    png = _encode(Image.new("RGBA", (900, 700), (5, 6, 7, 128)), "PNG")
    for data, mime in ((photo, "image/jpeg"), (png, "image/png")):
        prep = prepare_image(data)
        assert prep.mime_type == mime == sniff_mime(prep.data)
        assert Image.open(io.BytesIO(prep.data)).format == prep.format
        assert prep.source_digest == hashlib.sha256(data).hexdigest()
    for fmt, mime in (("png", "image/png"), ("JPEG", "image/jpeg"), ("webp", "image/webp")):
        prep = prepare_image(photo, format=fmt)
        assert prep.mime_type == mime == sniff_mime(prep.data)


def test_prepared_exif_photo_is_upright():
    prep = prepare_image(_sideways_jpeg(), max_size=100)
    sent = Image.open(io.BytesIO(prep.data))
    assert sent.size == prep.size == (50, 100)
    assert prep.original_size == (200, 400)
    assert sent.convert("RGB").getpixel((25, 10))[0] > 200  # red on top


def test_digest_of_pixels_depends_on_content_not_object():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    assert prepare_image(a).source_digest == prepare_image(a.copy()).source_digest
    assert prepare_image(a).source_digest != prepare_image(b).source_digest
    pil = Image.fromarray(a)
    assert prepare_image(pil).source_digest == prepare_image(pil.copy()).source_digest


def test_prepare_does_not_modify_callers_image():
    img = Image.new("RGB", (1500, 1000))
    prepare_image(img, max_size=100)
    assert img.size == (1500, 1000)


@pytest.mark.parametrize("bad", [-5 + 0j, "big", 3, True])
def test_bad_max_size(bad):
    with pytest.raises((ValueError, TypeError)):
        prepare_image(np.zeros((20, 20), np.uint8), max_size=bad)


# -- reduced-scale decoding (issue #12, finding 8) ------------------------------------------------

def _photo_jpeg(width: int = 3200, height: int = 2400) -> bytes:
    """A camera-like JPEG: a bundled photo enlarged, with sensor-like noise."""
    from pathlib import Path

    src = Image.open(Path(__file__).resolve().parents[1] / "images" / "coffee.jpg").convert("RGB")
    big = src.resize((width, height), Image.Resampling.BICUBIC)
    rng = np.random.default_rng(0)
    arr = np.asarray(big).astype(np.int16) + rng.normal(0, 5, size=(height, width, 3)).astype(np.int16)
    return _encode(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), "JPEG", quality=92)


def _psnr(a: Image.Image, b: Image.Image) -> float:
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(10 * np.log10(255 ** 2 / max((diff ** 2).mean(), 1e-12)))


@pytest.mark.parametrize("limit", [640, 1024])
def test_a_reduced_scale_decode_still_sends_a_good_thumbnail(limit):
    """The JPEG is decoded at 1/4 (640) or 1/2 (1024) scale, not 2x the target as before: the
    thumbnail must still match a full decode + Lanczos (JPEG q90 itself costs ~40 dB)."""
    data = _photo_jpeg()
    full = Image.open(io.BytesIO(data))
    full.load()
    reference = full.copy()
    reference.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    prepared = prepare_image(data, max_size=limit)
    assert prepared.size == reference.size == (limit, limit * 3 // 4)
    assert _psnr(prepared.image, reference) > 45
    lazy = Image.open(io.BytesIO(data))
    lazy.draft(None, prepared.size)
    assert lazy.size == (3200 // (4 if limit == 640 else 2), 2400 // (4 if limit == 640 else 2))
    assert prepared.source_digest == hashlib.sha256(data).hexdigest()  # cache keys unchanged


def test_load_image_with_max_size_is_upright_and_small():
    img = load_image(_sideways_jpeg(), max_size=100)
    assert img.size == (50, 100) and img.getpixel((25, 10))[0] > 200  # red on top, upright
    assert load_image(_photo_jpeg(1600, 1200), max_size="original").size == (1600, 1200)


def test_a_prepared_image_is_an_input_decoded_once():
    data = _photo_jpeg(1600, 1200)
    prepared = prepare_image(data, max_size=640)
    assert prepare_image(prepared, max_size=640) is prepared  # the same bytes, not encoded again
    smaller = prepare_image(prepared, max_size=320)
    assert smaller.size == (320, 240) and smaller.source_digest == prepared.source_digest
    assert smaller.original_size == (1600, 1200)
    shown = load_image(prepared)
    assert shown.size == (640, 480) and shown is not prepared.image  # a copy: drawing never touches it
    with pytest.raises(ImageLoadError, match="cannot be sent at max_size=1024"):
        prepare_image(prepared, max_size=1024)
