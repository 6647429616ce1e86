"""Recognize the shapes a model's ``"mask"`` value comes in, by their form, whatever the model.

Gemini 2.5 sends a base64 PNG probability map covering only the box (with or without the
``data:image/png;base64,`` prefix), and lately often ``<start_of_mask><seg_..>`` tokens that
only the model can decode (forum thread discuss.ai.google.dev/t/146559, read 2026-12-03). Gemini 3.5+ / Robotics-ER send a polygon of ``[x, y]`` points over
the whole image (see :mod:`spatial_nb.polygons`). Boolean / 0-1 grids also occur. Everything
decodable is returned; everything else gets a phrase naming the format, never silence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .masks import MAX_MASK_PIXELS, MaskDecodeError, decode_png_mask
from .polygons import PolygonError, Rings, polygon_bounds, rasterize_in_box, read_polygon

__all__ = ["MaskOutcome", "SEG_TOKENS", "decode_mask_value", "read_mask_value"]

#: ``problem`` of a mask sent as segmentation tokens (the parser words its own warning for it).
SEG_TOKENS = "<start_of_mask><seg_..> segmentation tokens"

_PNG_B64_SIGNATURE = "iVBORw0KGgo"  # base64 of the 8-byte PNG signature
_SEG_TOKEN_TEXT = re.compile(r"\s*(?:<start_of_mask>|<end_of_mask>|<seg_\d+>|<loc\d+>)")


@dataclass
class MaskOutcome:
    """Result of reading one mask value.

    Attributes:
        mask: Box-local ``uint8`` map (PNG, grid, or a rasterized polygon), or None.
        polygon: Normalized ``[x, y]`` rings when the mask was a polygon, else None.
        problem: Why nothing could be decoded (a phrase naming the format), or None.
        repairs: Phrases for what was repaired while reading (clipped polygon points, ...).
    """

    mask: np.ndarray | None = None
    polygon: Rings | None = None
    problem: str | None = None
    repairs: list[str] = field(default_factory=list)

    @property
    def pixels(self) -> int:
        return 0 if self.mask is None else int(self.mask.size)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_seg_tokens(text: str) -> bool:
    return text.startswith("<start_of_mask>") or text.startswith("<seg_")


def read_mask_value(value: Any, max_pixels: int = MAX_MASK_PIXELS) -> MaskOutcome:
    """Read one ``"mask"`` value without placing it: PNGs and grids are decoded, polygons are
    returned as normalized rings (``polygon``) for the caller to rasterize into the item's box.

    Args:
        value: What the model put under ``"mask"``: PNG data URL, bare base64 PNG, polygon
            (``[[x, y], ...]`` 0-1000 over the image, a list of rings, a flat ``[x, y, ...]``
            list, ``[{"x":..,"y":..}, ...]``, or ``{"polygon"|"points"|"vertices": ...}``), a 2-D
            grid of booleans / 0-1 / 0-255 values, a flat boolean list of square length,
            ``<seg_..>`` tokens (a string or a list of token strings), or something undecodable.
        max_pixels: Refuse PNGs and grids larger than this.
    """
    if isinstance(value, str):
        return _decode_string(value, max_pixels)
    if isinstance(value, dict):
        if "counts" in value and "size" in value:
            return MaskOutcome(problem="a COCO run-length encoding (RLE) dict, which spatial_nb does not decode")
        for key in ("polygon", "points", "vertices"):
            if key in value:
                return _from_polygon(value[key])
        return MaskOutcome(problem=f"an object with keys {sorted(map(str, value))[:6]}, an unknown mask format")
    if isinstance(value, list):
        if not value:
            return MaskOutcome(problem="an empty list")
        return _decode_list(value, max_pixels)
    return MaskOutcome(problem=f"a {type(value).__name__} ({_short(value)}), not a mask format")


def decode_mask_value(
    value: Any,
    box: tuple[float, float, float, float] | None,
    max_pixels: int = MAX_MASK_PIXELS,
) -> MaskOutcome:
    """:func:`read_mask_value`, with a polygon also rasterized into ``box`` (or its own bounds).

    Example:
        >>> out = decode_mask_value([[1, 0], [0, 1]], (0.0, 0.0, 0.5, 0.5))
        >>> out.mask.tolist()
        [[255, 0], [0, 255]]
    """
    out = read_mask_value(value, max_pixels)
    if out.polygon is not None and out.mask is None:
        try:
            out.mask = rasterize_in_box(out.polygon, box or polygon_bounds(out.polygon), max_pixels=max_pixels)
        except PolygonError as exc:
            out.problem = str(exc)
        else:
            if out.mask is None:
                out.problem = "a polygon whose box covers no pixel"
    return out


def _decode_string(value: str, max_pixels: int) -> MaskOutcome:
    text = value.strip()
    if not text:
        return MaskOutcome(problem="an empty string")
    if _is_seg_tokens(text):
        return MaskOutcome(problem=SEG_TOKENS)
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


def _is_binary(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, int) and v in (0, 1))


def _decode_list(value: list, max_pixels: int) -> MaskOutcome:
    first = value[0]
    if isinstance(first, str) and all(isinstance(v, str) and _SEG_TOKEN_TEXT.match(v) for v in value):
        return MaskOutcome(problem=SEG_TOKENS)  # ["<seg_4>", "<seg_20>", ...]
    # Polygon shapes: pairs that are not a 0/1 grid, x-y objects, a list of rings.
    if isinstance(first, dict) or (
        len(value) >= 3
        and all(isinstance(p, list) and len(p) == 2 for p in value)
        and not all(_is_binary(c) for p in value for c in p)
    ):
        return _from_polygon(value)
    if isinstance(first, list) and first and isinstance(first[0], (list, dict)):
        return _from_polygon(value)  # several rings
    if isinstance(first, list):
        return _from_grid(value, max_pixels)
    if all(_is_binary(v) for v in value):
        side = math.isqrt(len(value))
        if side * side != len(value):
            return MaskOutcome(problem=f"a flat list of {len(value)} booleans, which has no known width and height")
        return _from_grid([value[r * side : (r + 1) * side] for r in range(side)], max_pixels)
    if len(value) >= 6 and len(value) % 2 == 0 and all(_is_number(v) for v in value):
        return _from_polygon(value)  # flat [x, y, x, y, ...]
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


def _from_polygon(value: Any) -> MaskOutcome:
    read = read_polygon(value)
    if read.rings is None:
        return MaskOutcome(problem=read.problem or f"a polygon that could not be read ({_short(value)})",
                           repairs=read.repairs)
    return MaskOutcome(polygon=read.rings, repairs=read.repairs)
