"""numpy arrays as pictures: any common shape and dtype -> a PIL image (L, RGB or RGBA).

Split out of :mod:`spatial_nb.images`, which uses it for array inputs and for 16-bit and
float PIL modes. Floats in [0, 1] are scaled to 0-255; 16-bit data that fits in 8 bits is
kept as is, otherwise the full 16-bit range is mapped down (value / 257).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .errors import ImageLoadError

__all__ = ["array_to_image", "deep_to_uint8"]


def array_to_image(arr: np.ndarray) -> Image.Image:
    """numpy (H, W), (H, W, 1|3|4) of uint8/uint16/float/bool -> PIL image (L, RGB or RGBA)."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        hint = " (channels first? use arr.transpose(1, 2, 0))" if a.ndim == 3 and a.shape[0] in (1, 3, 4) else ""
        raise ImageLoadError(
            f"numpy image has shape {a.shape}; expected (height, width), (height, width, 3) "
            f"or (height, width, 4){hint}"
        )
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint8:
        pass
    elif np.issubdtype(a.dtype, np.floating):
        finite = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0  # [0, 1] floats or 0-255
        a = np.clip(np.rint(finite * scale), 0, 255).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = deep_to_uint8(a)
    else:
        raise ImageLoadError(f"numpy image has dtype {a.dtype}; use uint8, uint16, float or bool")
    a = np.ascontiguousarray(a)
    mode = "L" if a.ndim == 2 else ("RGB" if a.shape[2] == 3 else "RGBA")
    return Image.fromarray(a, mode)


def deep_to_uint8(a: np.ndarray) -> np.ndarray:
    """Integer data deeper than 8 bits -> uint8.

    Values that already fit in 0-255 (8-bit data in a 16-bit container) are kept; otherwise
    the full 16-bit range is mapped to 0-255 (value / 257), clipping anything above 65535.
    """
    if a.size == 0 or (a.min() >= 0 and a.max() <= 255):
        return np.clip(a, 0, 255).astype(np.uint8)
    return np.clip(np.rint(a.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
