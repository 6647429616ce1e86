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
