"""Box-local masks: PNG round trip, placement into frames of any size, caps."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from spatial_nb import Item
from spatial_nb.masks import MaskDecodeError, decode_png_mask, encode_png_mask, place_mask, resize_mask
from spatial_nb.parsing import parse


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def source_frame(width: int, height: int, box_px: tuple[int, int, int, int]) -> np.ndarray:
    """A full-frame boolean ellipse filling ``box_px`` (x0, y0, x1, y1, half-open)."""
    img = Image.new("L", (width, height), 0)
    x0, y0, x1, y1 = box_px
    ImageDraw.Draw(img).ellipse((x0, y0, x1 - 1, y1 - 1), fill=255)
    return np.asarray(img) > 127


@pytest.mark.parametrize(
    "width, height, box",
    [
        (640, 480, (0.1, 0.2, 0.6, 0.9)),  # VGA, mid-size box
        (1920, 1080, (0.05, 0.05, 0.5, 0.4)),  # full HD
        (3840, 2160, (0.3, 0.3, 0.9, 0.95)),  # 4K, large box
        (300, 800, (0.0, 0.5, 1.0, 1.0)),  # portrait, box touching the edges
        (257, 193, (0.33, 0.21, 0.71, 0.77)),  # odd sizes
    ],
)
def test_png_mask_in_a_box_round_trips_through_mask_full(width, height, box):
    item = Item("o", box=box)
    x0, y0, x1, y1 = item.xyxy(width, height)
    source = source_frame(width, height, (x0, y0, x1, y1))
    local = (source[y0:y1, x0:x1].astype(np.uint8) * 255)
    # Gemini sends box-local maps at their own resolution: resample to 256x256 like the model.
    sent = resize_mask(local, 256, 256)
    answer = f'[{{"box_2d": {Item("o", box=box).to_gemini()["box_2d"]}, "mask": "{encode_png_mask(sent)}", "label": "o"}}]'
    res = parse(answer)
    full = res[0].mask_full(width, height)
    assert full.shape == (height, width) and full.dtype == bool
    assert iou(full, source) >= 0.97
    assert not full[:, :x0].any() and not full[:, x1:].any()  # nothing outside the box


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((1, 1), np.uint8),  # smallest
        np.arange(256, dtype=np.uint8).reshape(16, 16),  # every value
        np.full((3, 700), 200, np.uint8),  # wide
    ],
)
def test_encode_decode_is_lossless(mask):
    assert np.array_equal(decode_png_mask(encode_png_mask(mask)), mask)
    assert np.array_equal(decode_png_mask(encode_png_mask(mask, data_url=False)), mask)


@pytest.mark.parametrize(
    "text, message",
    [
        ("data:image/png;base64", "without a comma"),  # no payload
        ("aGVsbG8=", "not a PNG"),  # base64 of text
        ("iVBORw0KGgoAAAANSUhEUgAA", "could not be decoded"),  # PNG header only
    ],
)
def test_decode_errors_say_why(text, message):
    with pytest.raises(MaskDecodeError, match=message):
        decode_png_mask(text)


def test_decode_cap_is_adjustable():
    png = encode_png_mask(np.zeros((64, 64), np.uint8))
    assert decode_png_mask(png).shape == (64, 64)
    with pytest.raises(MaskDecodeError, match="exceeds the cap of 1,000"):
        decode_png_mask(png, max_pixels=1000)


@pytest.mark.parametrize(
    "threshold, expected",
    [
        (127, 2),  # default: strictly above 127
        (200, 1),  # only the 255 pixel
        (0, 3),  # everything above 0
    ],
)
def test_place_mask_threshold(threshold, expected):
    mask = np.array([[0, 128, 255, 1]], np.uint8)
    full = place_mask(mask, (0.0, 0.0, 1.0, 1.0), 4, 1, threshold)
    assert int(full.sum()) == expected


def test_place_mask_in_an_empty_box_is_empty():
    full = place_mask(np.full((4, 4), 255, np.uint8), (0.5, 0.5, 0.5, 0.9), 100, 100)
    assert full.shape == (100, 100) and not full.any()
