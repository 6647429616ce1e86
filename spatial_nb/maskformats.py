"""Recognize the shapes a model's ``"mask"`` value comes in and turn them into box-local maps.

Gemini 2.5 sends a base64 PNG probability map covering only the box (with or without the
``data:image/png;base64,`` prefix). Other shapes seen from newer models: polygons of points,
boolean / 0-1 grids, and ``<seg_..>`` tokens. Everything decodable becomes a ``uint8``
box-local map (polygons are rasterized into their box); everything else is reported with a
sentence naming the format, never silently dropped. Decoding is eager and size-capped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .masks import MAX_MASK_PIXELS, MaskDecodeError, decode_png_mask

__all__ = ["MaskOutcome", "POLYGON_RESOLUTION", "decode_mask_value", "polygon_from_value", "rasterize_polygon"]

#: Side (pixels) of the box-local map a polygon is rasterized into; it is stretched to the
#: box's real pixel size when drawn, like a PNG mask.
POLYGON_RESOLUTION = 256

_PNG_B64_SIGNATURE = "iVBORw0KGgo"  # base64 of the 8-byte PNG signature


@dataclass
class MaskOutcome:
    """Result of reading one mask value.

    Attributes:
        mask: Box-local ``uint8`` map, or None.
        polygon: Rings of normalized frame points ``[[[x, y], ...], ...]`` when the mask was
            a polygon, else None.
        problem: Why nothing could be decoded (a phrase naming the format), or None.
        pixels: Pixels allocated for ``mask`` (for the parser's total budget).
    """

    mask: np.ndarray | None = None
    polygon: list[list[list[float]]] | None = None
    problem: str | None = None

    @property
    def pixels(self) -> int:
        return 0 if self.mask is None else int(self.mask.size)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def decode_mask_value(
    value: Any,
    box: tuple[float, float, float, float] | None,
    max_pixels: int = MAX_MASK_PIXELS,
) -> MaskOutcome:
    """Decode one ``"mask"`` value into a box-local map.

    Args:
        value: What the model put under ``"mask"``: PNG data URL, bare base64 PNG, polygon
            (``[[y, x], ...]`` in 0-1000 or 0-1, a flat ``[y, x, y, x, ...]`` list, a list of
            rings, or ``[{"x":..,"y":..}, ...]``), a 2-D grid of booleans / 0-1 / 0-255
            values, a flat boolean list of square length, or something undecodable.
        box: The item's normalized ``(x0, y0, x1, y1)`` (polygons are rasterized into it).
        max_pixels: Refuse maps larger than this.

    Returns:
        A :class:`MaskOutcome`; ``problem`` says what was wrong when ``mask`` is None.

    Example:
        >>> out = decode_mask_value([[1, 0], [0, 1]], (0.0, 0.0, 0.5, 0.5))
        >>> out.mask.tolist()
        [[255, 0], [0, 255]]
    """
    if isinstance(value, str):
        return _decode_string(value, max_pixels)
    if isinstance(value, dict):
        if "counts" in value and "size" in value:
            return MaskOutcome(problem="a COCO run-length encoding (RLE) dict, which spatial_nb does not decode")
        for key in ("polygon", "points", "vertices"):
            if key in value:
                return _from_polygon(value[key], box)
        return MaskOutcome(problem=f"an object with keys {sorted(map(str, value))[:6]}, an unknown mask format")
    if isinstance(value, list):
        if not value:
            return MaskOutcome(problem="an empty list")
        return _decode_list(value, box, max_pixels)
    return MaskOutcome(problem=f"a {type(value).__name__} ({_short(value)}), not a mask format")


def _decode_string(value: str, max_pixels: int) -> MaskOutcome:
    text = value.strip()
    if not text:
        return MaskOutcome(problem="an empty string")
    if text.startswith("<start_of_mask>") or text.startswith("<seg_"):
        return MaskOutcome(problem="<seg_..> segmentation tokens, which only the model itself can decode")
    if text.startswith("data:"):
        mime = text[5:].split(";", 1)[0].split(",", 1)[0].strip().lower()
        if mime != "image/png":
            return MaskOutcome(problem=f"a {mime or 'untyped'} data URL (only PNG masks are decoded)")
    elif not text.startswith(_PNG_B64_SIGNATURE):
        return MaskOutcome(problem=f"a string in an unknown format ({_short(text)!r})")
    try:
        mask = decode_png_mask(text, max_pixels=max_pixels)
    except MaskDecodeError as exc:
        return MaskOutcome(problem=f"a PNG that could not be used ({exc})")
    return MaskOutcome(mask=mask)


def _is_pair(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and _is_number(v[0]) and _is_number(v[1])


def _is_binary(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, int) and v in (0, 1))


def _decode_list(value: list, box, max_pixels: int) -> MaskOutcome:
    first = value[0]
    # Polygon shapes.
    if isinstance(first, dict) or (
        len(value) >= 3
        and _is_pair(first)
        and all(_is_pair(p) for p in value)
        and not all(_is_binary(c) for p in value for c in p)
    ):
        return _from_polygon(value, box)
    if isinstance(first, list) and first and isinstance(first[0], (list, dict)):
        return _from_polygon(value, box)  # several rings
    if isinstance(first, list):
        return _from_grid(value, max_pixels)
    if all(_is_binary(v) for v in value):
        side = math.isqrt(len(value))
        if side * side != len(value):
            return MaskOutcome(problem=f"a flat list of {len(value)} booleans, which has no known width and height")
        return _from_grid([value[r * side : (r + 1) * side] for r in range(side)], max_pixels)
    if len(value) >= 6 and len(value) % 2 == 0 and all(_is_number(v) for v in value):
        return _from_polygon([[value[i], value[i + 1]] for i in range(0, len(value), 2)], box)
    return MaskOutcome(problem=f"a list in an unknown format ({_short(value)})")


def _from_grid(rows: list, max_pixels: int) -> MaskOutcome:
    width = len(rows[0]) if isinstance(rows[0], list) else 0
    if width == 0 or any(not isinstance(r, list) or len(r) != width for r in rows):
        return MaskOutcome(problem="a nested list whose rows differ in length")
    if width * len(rows) > max_pixels:
        return MaskOutcome(problem=f"a {width}x{len(rows)} grid above the size cap of {max_pixels:,} pixels")
    if not all(_is_number(v) or isinstance(v, bool) for r in rows for v in r):
        return MaskOutcome(problem="a nested list holding values that are not numbers or booleans")
    arr = np.asarray(rows, dtype=np.float64)
    top = float(arr.max()) if arr.size else 0.0
    if float(arr.min()) < 0 or top > 255:
        return MaskOutcome(problem="a nested list with values outside 0..255")
    if top <= 1.0:
        arr = arr * 255.0  # booleans, 0/1 or probabilities
    return MaskOutcome(mask=np.rint(arr).astype(np.uint8))


def polygon_from_value(value: Any) -> list[list[list[float]]] | None:
    """Normalize a polygon value to rings of ``[x, y]`` in [0, 1], or None if it is not one.

    Points are Gemini-style ``[y, x]`` (y first) in 0-1000, or in 0-1 when no value exceeds
    1; ``{"x": .., "y": ..}`` objects are read by name. Values are clipped to the frame.

    >>> polygon_from_value([[0, 0], [0, 500], [1000, 500]])
    [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0]]]
    """
    if not isinstance(value, list) or not value:
        return None
    if isinstance(value[0], list) and value[0] and isinstance(value[0][0], (list, dict)):
        rings_in = value
    else:
        rings_in = [value]
    rings_yx: list[list[tuple[float, float]]] = []
    for ring in rings_in:
        if not isinstance(ring, list):
            return None
        pts: list[tuple[float, float]] = []
        for p in ring:
            if _is_pair(p):
                pts.append((float(p[0]), float(p[1])))
            elif isinstance(p, dict) and _is_number(p.get("x")) and _is_number(p.get("y")):
                pts.append((float(p["y"]), float(p["x"])))
            else:
                return None
        if len(pts) >= 3:
            rings_yx.append(pts)
    if not rings_yx:
        return None
    top = max(max(abs(y), abs(x)) for ring in rings_yx for y, x in ring)
    scale = 1.0 if top <= 1.0 else 1000.0
    return [
        [[min(max(x / scale, 0.0), 1.0), min(max(y / scale, 0.0), 1.0)] for y, x in ring] for ring in rings_yx
    ]


def rasterize_polygon(
    rings: list[list[list[float]]],
    box: tuple[float, float, float, float],
    resolution: int = POLYGON_RESOLUTION,
) -> np.ndarray | None:
    """Fill normalized frame polygons into a ``resolution``-square box-local ``uint8`` map (0/255).

    Returns None for a box of zero width or height.
    """
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return None
    img = Image.new("L", (resolution, resolution), 0)
    draw = ImageDraw.Draw(img)
    sx = resolution / (x1 - x0)
    sy = resolution / (y1 - y0)
    for ring in rings:
        # Pixel centres sit at +0.5; PIL fills pixels whose centre lies inside.
        pts = [((x - x0) * sx - 0.5, (y - y0) * sy - 0.5) for x, y in ring]
        draw.polygon(pts, fill=255)
    return np.asarray(img, dtype=np.uint8)


def polygon_bounds(rings: list[list[list[float]]]) -> tuple[float, float, float, float]:
    """Normalized ``(x0, y0, x1, y1)`` around all rings."""
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _from_polygon(value: Any, box) -> MaskOutcome:
    rings = polygon_from_value(value)
    if rings is None:
        return MaskOutcome(problem=f"a polygon that could not be read ({_short(value)})")
    if box is None:
        box = polygon_bounds(rings)
    mask = rasterize_polygon(rings, box)
    if mask is None:
        return MaskOutcome(polygon=rings, problem="a polygon whose box has no area")
    return MaskOutcome(mask=mask, polygon=rings)
