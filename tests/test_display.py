"""Bounded-size display encoding and snb.show's rich display bundle."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from spatial_nb.display import encode_for_display, show
from spatial_nb.result import Item, Result


@pytest.mark.parametrize(
    "size,fmt,expected_size,mime",
    [
        ((4000, 3000), "JPEG", (1280, 960), "image/jpeg"),  # 12 MP landscape
        ((3000, 4000), "WEBP", (960, 1280), "image/webp"),  # portrait, WebP
        ((300, 200), "JPEG", (300, 200), "image/jpeg"),  # small: never upscaled
    ],
)
def test_encode_for_display_bounds_the_size(size, fmt, expected_size, mime):
    data, got_mime = encode_for_display(Image.new("RGB", size, (10, 200, 30)), format=fmt)
    assert got_mime == mime
    assert Image.open(io.BytesIO(data)).size == expected_size


def test_show_displays_a_bounded_jpeg_not_a_png():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize((4000, 3000), Image.BICUBIC)
    shown = show(photo, Result([Item("cat", box=(0.1, 0.1, 0.6, 0.6))]))
    bundle = shown._repr_mimebundle_()
    assert set(bundle) == {"image/jpeg", "text/plain"}
    data = base64.b64decode(bundle["image/jpeg"])
    assert Image.open(io.BytesIO(data)).size == (1280, 960)
    assert len(data) < 300 * 1024
    assert shown._repr_jpeg_() == data
    assert shown.image.size == (4000, 3000)  # full resolution kept for saving


def test_show_draws_at_display_size_and_the_full_overlay_only_on_demand(tmp_path):
    # The common notebook flow, detect(path) then show(path, res), drew the whole 12 MP picture
    # to display 1280 px of it; now the display copy is drawn on a picture loaded at that size.
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(path, quality=90)
    res = Result([Item("cat", box=(0.25, 0.25, 0.75, 0.75))])
    shown = show(path, res)
    assert shown._image is None and "drawn on demand" in repr(shown)
    preview = Image.open(io.BytesIO(shown.encoded()[0]))
    assert preview.size == (1280, 960)
    full = shown.image  # drawn now, at full size
    assert full.size == (4000, 3000) and shown.image is full
    # same picture, same proportions: the box edge is in the same place with the same colour
    small_full = full.resize((1280, 960), Image.Resampling.BOX)
    edge = (round(0.25 * 1280) + 1, 480)
    grey = (90, 90, 90)
    a, b = np.array(preview.getpixel(edge)), np.array(small_full.getpixel(edge))
    assert np.abs(a - grey).max() > 60 and np.abs(a - b).max() < 40
    shown.save(tmp_path / "out.png")
    assert Image.open(tmp_path / "out.png").size == (4000, 3000)
