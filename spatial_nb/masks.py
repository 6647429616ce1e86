"""Box-local segmentation masks: PNG <-> array, and placing a mask into a frame.

Gemini sends a mask as a 0-255 probability map covering only its box. We keep it that
way (small, resolution-free) and only resize it to the box's pixel size when a caller
asks for a full-frame mask or draws it. Decoding refuses oversized PNGs so a hostile
answer cannot make us allocate gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
from PIL import Image

from .geometry import box_to_pixels

__all__ = [
    "MAX_MASK_PIXELS",
    "MaskDecodeError",
    "decode_png_mask",
    "encode_png_mask",
    "resize_mask",
    "place_mask",
]

#: Masks larger than this many pixels are refused (Gemini sends ~256x256 maps).
MAX_MASK_PIXELS = 4096 * 4096
#: Base64 text longer than this is refused before decoding.
MAX_MASK_BASE64_CHARS = 16 * 1024 * 1024

_DATA_URL_PREFIX = "data:image/png;base64,"


class MaskDecodeError(ValueError):
    """A mask string could not be decoded; the message says why."""


def decode_png_mask(text: str, *, max_pixels: int | None = None) -> np.ndarray:
    """Decode a base64 PNG (with or without a data-URL prefix) into a uint8 2-D array.

    Args:
        text: ``"data:image/png;base64,..."`` or bare base64 of a PNG.
        max_pixels: Refuse PNGs with more pixels than this (default :data:`MAX_MASK_PIXELS`).

    Returns:
        The mask as ``uint8`` of shape ``(height, width)``; colour PNGs are reduced to
        their luminance, and an alpha channel, when present, is used as the mask.

    Raises:
        MaskDecodeError: not base64, not a PNG, or larger than ``max_pixels``.
    """
    cap = MAX_MASK_PIXELS if max_pixels is None else max_pixels
    payload = text.strip()
    if payload.startswith("data:"):
        _, sep, payload = payload.partition(",")
        if not sep:
            raise MaskDecodeError("data URL without a comma")
    if len(payload) > MAX_MASK_BASE64_CHARS:
        raise MaskDecodeError(f"mask text of {len(payload):,} characters exceeds the size cap")
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise MaskDecodeError(f"not base64 ({exc})") from None
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise MaskDecodeError("base64 payload is not a PNG")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            width, height = img.size
            if width * height > cap or width <= 0 or height <= 0:
                raise MaskDecodeError(f"mask PNG of {width}x{height} pixels exceeds the cap of {cap:,}")
            if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA").getchannel("A")
            elif img.mode == "1":
                img = img.convert("L")
            elif img.mode == "I;16" or img.mode == "I":
                arr = np.asarray(img, dtype=np.float64)
                top = max(float(arr.max()), 1.0)
                scale = 255.0 / (65535.0 if top > 255 else 255.0)
                return np.clip(arr * scale, 0, 255).astype(np.uint8)
            elif img.mode != "L":
                img = img.convert("L")
            return np.asarray(img, dtype=np.uint8).copy()
    except MaskDecodeError:
        raise
    except Exception as exc:  # PIL raises many types for broken files
        raise MaskDecodeError(f"PNG could not be decoded ({type(exc).__name__}: {exc})") from None


def encode_png_mask(mask: np.ndarray, *, data_url: bool = True) -> str:
    """Encode a uint8 2-D mask as base64 PNG (lossless), the inverse of :func:`decode_png_mask`.

    A mask holding only 0 and 255 (a rasterized polygon, a binary grid) is written as a 1-bit
    PNG: about half the bytes and a quarter of the time of 8-bit, and every PNG reader
    (including this module's, since the first format version) decodes it back to 0/255.

    >>> decode_png_mask(encode_png_mask(np.full((2, 3), 200, np.uint8))).tolist()
    [[200, 200, 200], [200, 200, 200]]
    """
    arr = np.ascontiguousarray(mask, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {arr.shape}")
    buf = io.BytesIO()
    binary = bool(((arr == 0) | (arr == 255)).all())
    img = Image.fromarray(arr == 255) if binary else Image.fromarray(arr, mode="L")
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return _DATA_URL_PREFIX + b64 if data_url else b64


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a box-local probability map to ``width`` x ``height`` pixels (bilinear)."""
    if mask.shape == (height, width):
        return mask
    img = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="L")
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)


def place_mask(
    mask: np.ndarray,
    box: tuple[float, float, float, float],
    width: int,
    height: int,
    threshold: int = 127,
) -> np.ndarray:
    """Binarize a box-local mask at ``> threshold`` and paste it into a ``(height, width)`` frame.

    Args:
        mask: uint8 probability map covering exactly ``box``.
        box: normalized ``(x0, y0, x1, y1)``.
        width: Frame width in pixels.
        height: Frame height in pixels.
        threshold: Pixels strictly above it are inside the object.

    Returns:
        A boolean array of shape ``(height, width)``.
    """
    full = np.zeros((height, width), dtype=bool)
    x0, y0, x1, y1 = box_to_pixels(box, width, height)
    if x1 <= x0 or y1 <= y0:
        return full
    local = resize_mask(mask, x1 - x0, y1 - y0)
    full[y0:y1, x0:x1] = local > threshold
    return full
