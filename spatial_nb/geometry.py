"""Coordinate conventions shared by every part: normalized xyxy <-> pixels <-> Gemini's 0-1000.

From the parser on, geometry is resolution-free: fractions of the image in [0, 1].
Pixels appear only at the drawing edge, always as ``round(fraction * size)``, with boxes
half-open ``[x0, x1)``. Gemini's own ``box_2d`` order (y first, 0-1000) lives here and in
the parser only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "GEMINI_SCALE",
    "box_to_pixels",
    "point_to_pixels",
    "box_iou",
    "box_to_gemini",
    "point_to_gemini",
    "gemini_box_to_xyxy",
]

#: Gemini's coordinate scale: integers 0..1000 across each side of the image.
GEMINI_SCALE = 1000


def _px(fraction: float, size: int) -> int:
    return int(round(fraction * size))


def box_to_pixels(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Normalized ``(x0, y0, x1, y1)`` -> integer pixel box, half-open, clipped to the frame.

    >>> box_to_pixels((0.1, 0.2, 0.5, 1.0), 640, 480)
    (64, 96, 320, 480)
    """
    x0, y0, x1, y1 = box
    px0 = min(max(_px(x0, width), 0), width)
    py0 = min(max(_px(y0, height), 0), height)
    px1 = min(max(_px(x1, width), 0), width)
    py1 = min(max(_px(y1, height), 0), height)
    return px0, py0, px1, py1


def point_to_pixels(point: Sequence[float], width: int, height: int) -> tuple[int, int]:
    """Normalized ``(x, y)`` -> integer pixel position (``round(fraction * size)``)."""
    x, y = point
    return _px(x, width), _px(y, height)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (any consistent units)."""
    ix0, iy0 = max(a[0], b[0]), max(a[1], b[1])
    ix1, iy1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix1 - ix0) * max(0.0, iy1 - iy0)
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def gemini_box_to_xyxy(box_2d: Sequence[float]) -> tuple[float, float, float, float]:
    """Gemini ``[ymin, xmin, ymax, xmax]`` in 0..1000 -> normalized ``(x0, y0, x1, y1)``.

    No repair happens here (the parser swaps and clips, with warnings).

    >>> gemini_box_to_xyxy([100, 200, 500, 800])
    (0.2, 0.1, 0.8, 0.5)
    """
    ymin, xmin, ymax, xmax = box_2d
    return (
        xmin / GEMINI_SCALE,
        ymin / GEMINI_SCALE,
        xmax / GEMINI_SCALE,
        ymax / GEMINI_SCALE,
    )


def box_to_gemini(box: Sequence[float]) -> list[int]:
    """Normalized ``(x0, y0, x1, y1)`` -> Gemini ``[ymin, xmin, ymax, xmax]`` integers 0..1000."""
    x0, y0, x1, y1 = box
    return [_px(y0, GEMINI_SCALE), _px(x0, GEMINI_SCALE), _px(y1, GEMINI_SCALE), _px(x1, GEMINI_SCALE)]


def point_to_gemini(point: Sequence[float]) -> list[int]:
    """Normalized ``(x, y)`` -> Gemini ``[y, x]`` integers 0..1000."""
    x, y = point
    return [_px(y, GEMINI_SCALE), _px(x, GEMINI_SCALE)]


def boxes_to_pixels(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Vectorised :func:`box_to_pixels` for an ``(N, 4)`` array; returns int64 ``(N, 4)``."""
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scale = np.array([width, height, width, height], dtype=np.float64)
    px = np.rint(arr * scale).astype(np.int64)
    return np.clip(px, 0, np.array([width, height, width, height]))
