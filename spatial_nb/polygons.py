"""Polygon masks: read the model's ``[x, y]`` points, fill them even-odd, and place them in a box.

Gemini 3.5+ and Robotics-ER send a mask as a polygon of ``[x, y]`` points, 0-1000 over the
whole image (Google AI developer forum thread "Image Understanding and Segmentation Mask
Support", discuss.ai.google.dev/t/146559, and supervision 0.31.2's ``from_google_gemini_3_6``;
both read 2026-12-03).
Polygons are kept normalized (resolution-free) and rasterized with one exact rule: a pixel is
inside when its centre is, by the even-odd rule over all rings (so rings can be parts or holes).
The box-local map is rasterized on the pixel grid of a 3840x2160 frame, so a 4K mask is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .geometry import GEMINI_SCALE, box_to_pixels

__all__ = [
    "POLYGON_REFERENCE_SIZE",
    "MAX_POLYGON_POINTS",
    "PolygonError",
    "PolygonRead",
    "read_polygon",
    "is_polygon_rings",
    "polygon_bounds",
    "polygon_area",
    "transpose_polygon",
    "fill_even_odd",
    "polygon_mask",
    "rasterize_in_box",
    "polygon_to_coco",
]

#: The frame whose pixel grid box-local polygon maps are rasterized on: ``mask_full`` at this
#: size is exactly the direct rasterization; other sizes are resampled from it (within 1 px).
POLYGON_REFERENCE_SIZE = (3840, 2160)
#: Polygons with more points than this (all rings together) are refused.
MAX_POLYGON_POINTS = 100_000
#: Edge/row crossings a fill may compute beyond the pixels it fills (hostile zig-zag guard).
_MAX_EXTRA_CROSSINGS = 2_000_000

Rings = list[list[list[float]]]


class PolygonError(ValueError):
    """A polygon cannot be rasterized (too complex for the work cap); the message says why."""


@dataclass
class PolygonRead:
    """What :func:`read_polygon` made of a value.

    Attributes:
        rings: Normalized rings ``[[[x, y], ...], ...]`` in [0, 1], or None.
        problem: Why it is not a usable polygon (a phrase), or None.
        repairs: Phrases for what was repaired (clipped points, short rings dropped).
    """

    rings: Rings | None = None
    problem: str | None = None
    repairs: list[str] = field(default_factory=list)


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _pair(p: Any) -> tuple[float, float] | None:
    """``[x, y]`` or ``{"x": .., "y": ..}`` -> (x, y); None when it is neither."""
    if type(p) is list and len(p) == 2 and _is_number(p[0]) and _is_number(p[1]):
        return p[0], p[1]
    if type(p) is dict and _is_number(p.get("x")) and _is_number(p.get("y")):
        return p["x"], p["y"]
    return None


def _ring_points(ring: Any) -> list[tuple[float, float]] | None:
    """One ring as (x, y) tuples: a list of pairs / x-y objects, or a flat ``[x, y, x, y, ...]``."""
    if type(ring) is not list or not ring:
        return None
    if _is_number(ring[0]):
        if len(ring) % 2 or not all(_is_number(v) for v in ring):
            return None
        return [(ring[i], ring[i + 1]) for i in range(0, len(ring), 2)]
    out = []
    for p in ring:
        xy = _pair(p)
        if xy is None:
            return None
        out.append(xy)
    return out


def _looks_like_rings(value: list) -> bool:
    first = value[0]
    return type(first) is list and bool(first) and type(first[0]) in (list, dict)


def read_polygon(value: Any) -> PolygonRead:
    """Read a polygon value into normalized ``[x, y]`` rings.

    Accepted: ``[[x, y], ...]`` (Gemini 3.5+), a list of such rings (parts and holes of ONE
    object), a flat ``[x, y, x, y, ...]`` list and ``[{"x": .., "y": ..}, ...]``. Coordinates are 0-1000 over the whole image; a polygon whose numbers are all
    within [-1, 1] and include a fraction is read as already normalized (0-1). Points outside
    the image are clipped and rings with fewer than 3 points are dropped (both reported in
    ``repairs``); a polygon without area is a ``problem``.

    >>> read_polygon([[100, 0], [300, 0], [300, 50]]).rings
    [[[0.1, 0.0], [0.3, 0.0], [0.3, 0.05]]]
    """
    if type(value) is not list or not value:
        return PolygonRead(problem="a polygon with no points")
    rings_in = value if _looks_like_rings(value) else [value]
    rings_raw: list[list[tuple[float, float]]] = []
    short = total = 0
    for ring in rings_in:
        pts = _ring_points(ring)
        if pts is None:
            return PolygonRead(problem="a polygon whose points are not all [x, y] pairs of finite numbers")
        total += len(pts)
        if total > MAX_POLYGON_POINTS:
            return PolygonRead(problem=f"a polygon with more than {MAX_POLYGON_POINTS:,} points")
        if len(pts) < 3:
            short += 1
            continue
        rings_raw.append(pts)
    if not rings_raw:
        return PolygonRead(problem="a polygon with fewer than 3 points")
    flat = [v for ring in rings_raw for xy in ring for v in xy]
    low, high = min(flat), max(flat)
    normalized = low >= -1 and high <= 1 and any(type(v) is float and not v.is_integer() for v in flat)
    top = 1.0 if normalized else float(GEMINI_SCALE)
    repairs = []
    if low < 0 or high > top:
        repairs.append(f"points outside {'0-1' if normalized else '0-1000'} were clipped to the image")
    if short:
        repairs.append(f"{short} ring{'s' if short > 1 else ''} with fewer than 3 points "
                       f"{'were' if short > 1 else 'was'} dropped")
    rings = [[[min(max(x / top, 0.0), 1.0), min(max(y / top, 0.0), 1.0)] for x, y in ring] for ring in rings_raw]
    if polygon_area(rings) == 0.0:
        return PolygonRead(problem="a polygon without area (its points lie on one line)", repairs=repairs)
    return PolygonRead(rings=rings, repairs=repairs)


def is_polygon_rings(value: Any) -> bool:
    """True for the normalized rings this module writes to ``item.extra["polygon"]``:
    a list of rings of at least 3 ``[x, y]`` pairs, all within [0, 1]."""
    if type(value) is not list or not value:
        return False
    for ring in value:
        if type(ring) is not list or len(ring) < 3:
            return False
        for p in ring:
            if type(p) is not list or len(p) != 2:
                return False
            for v in p:
                if type(v) not in (int, float) or not 0.0 <= v <= 1.0:
                    return False
    return True


def polygon_bounds(rings: Rings) -> tuple[float, float, float, float]:
    """Normalized ``(x0, y0, x1, y1)`` around all rings."""
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def polygon_area(rings: Rings) -> float:
    """Sum of the rings' absolute shoelace areas (a zero means no ring encloses anything)."""
    total = 0.0
    for ring in rings:
        a = np.asarray(ring, dtype=np.float64)
        x, y = a[:, 0], a[:, 1]
        total += abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2
    return total


def transpose_polygon(rings: Rings) -> Rings:
    """The same points read the other way round (``[x, y]`` <-> ``[y, x]``)."""
    return [[[p[1], p[0]] for p in ring] for ring in rings]


def fill_even_odd(rings_px: list[np.ndarray], width: int, height: int) -> np.ndarray:
    """Fill rings given in pixel units into a ``(height, width)`` bool array.

    Pixel ``(col, row)`` is inside when its centre ``(col + 0.5, row + 0.5)`` is inside by the
    even-odd rule over all rings (a centre exactly on a left or top edge counts as inside).
    Scanline: every non-horizontal edge crosses the row centres in ``[y_low, y_high)``; each
    crossing toggles the pixels to its right. Cost: the crossings plus one pass over the array.

    Raises:
        PolygonError: the rings cross the rows far more often than there are pixels to fill.
    """
    edges = []
    for ring in rings_px:
        a = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        edges.append(np.hstack([a, np.roll(a, -1, axis=0)]))
    e = np.vstack(edges) if edges else np.zeros((0, 4))
    e = e[e[:, 1] != e[:, 3]]
    down = e[:, 1] > e[:, 3]
    e[down] = e[down][:, [2, 3, 0, 1]]  # every edge from its upper end: an edge and its reverse cross identically
    x0, y0, x1, y1 = e[:, 0], e[:, 1], e[:, 2], e[:, 3]
    y_low, y_high = y0, y1
    row_start = np.clip(np.ceil(y_low - 0.5), 0, height).astype(np.int64)
    row_end = np.clip(np.ceil(y_high - 0.5), 0, height).astype(np.int64)
    counts = np.maximum(row_end - row_start, 0)
    total = int(counts.sum())
    if total > width * height + _MAX_EXTRA_CROSSINGS:
        raise PolygonError(f"a polygon too complex to fill ({total:,} edge crossings for {width}x{height} pixels)")
    toggles = np.zeros((height, width + 1), dtype=np.uint8)  # 0/1: xor-accumulated along rows
    if total:
        edge = np.repeat(np.arange(len(counts)), counts)
        first = np.cumsum(counts) - counts
        rows = row_start[edge] + (np.arange(total) - first[edge])
        centre = rows + 0.5
        x = x0[edge] + (centre - y0[edge]) * (x1 - x0)[edge] / (y1 - y0)[edge]
        cols = np.clip(np.ceil(x - 0.5), 0, width).astype(np.int64)
        flat, n = np.unique(rows * (width + 1) + cols, return_counts=True)
        toggles.reshape(-1)[flat[(n & 1) == 1]] = 1
    return np.bitwise_xor.accumulate(toggles, axis=1)[:, :width].view(bool)


def polygon_mask(rings: Rings, width: int, height: int) -> np.ndarray:
    """The polygon rasterized directly into a ``(height, width)`` bool frame (the reference rule).

    >>> polygon_mask([[[0, 0], [0.5, 0], [0.5, 1]]], 4, 2).astype(int).tolist()
    [[1, 1, 0, 0], [0, 1, 0, 0]]
    """
    scale = np.array([width, height], dtype=np.float64)
    return fill_even_odd([np.asarray(r, dtype=np.float64) * scale for r in rings], width, height)


def rasterize_in_box(
    rings: Rings,
    box: tuple[float, float, float, float],
    *,
    reference: tuple[int, int] = POLYGON_REFERENCE_SIZE,
    max_pixels: int | None = None,
) -> np.ndarray | None:
    """Box-local ``uint8`` map (0/255) of ``rings`` covering the normalized ``box``.

    The map's pixels are the box's pixels in a ``reference`` frame (3840x2160 by default), so
    ``Item.mask_full(*reference)`` equals :func:`polygon_mask` inside the box exactly. When that
    is more than ``max_pixels``, the map is scaled down evenly to fit (the caller may say so).

    Returns:
        The map, or None when the box covers no pixel of the reference frame.

    Raises:
        PolygonError: see :func:`fill_even_odd`.
    """
    ref_w, ref_h = reference
    px0, py0, px1, py1 = box_to_pixels(box, ref_w, ref_h)
    width, height = px1 - px0, py1 - py0
    if width <= 0 or height <= 0:
        return None
    out_w, out_h = width, height
    if max_pixels is not None and width * height > max_pixels:
        s = math.sqrt(max(max_pixels, 1) / (width * height))
        out_w, out_h = max(1, int(width * s)), max(1, int(height * s))
    sx, sy = out_w / width, out_h / height
    rings_px = [
        (np.asarray(r, dtype=np.float64) * (ref_w, ref_h) - (px0, py0)) * (sx, sy) for r in rings
    ]
    inside = fill_even_odd(rings_px, out_w, out_h)
    return inside.view(np.uint8) * np.uint8(255)


def polygon_to_coco(rings: Rings, width: int, height: int) -> list[list[float]]:
    """COCO polygon segmentation (flat ``x, y`` pixel lists, one per ring) of a ``width`` x ``height`` image."""
    return [[round(v * s, 2) for x, y in ring for v, s in ((x, width), (y, height))] for ring in rings]
