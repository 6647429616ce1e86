"""Draw a Result onto a picture with Pillow: boxes, label chips, masks, points, 3D wireframes.

``draw`` returns a NEW upright RGB image of the input's size; coordinates are mapped with
the shared pixel rule (``round(fraction * size)``, half-open boxes). Speed comes from doing
everything inside each item's box in Pillow's C code (see ``_maskpaint``): a mask is resized
to its box, binarised, and only that box is blended (a 256-entry lookup table per channel),
on two threads for big frames, instead of compositing full-frame RGBA layers. Big upscales
binarise the mask at its own resolution and upscale by nearest neighbour; that differs from
``Item.mask_full`` by under one mask pixel along the outline.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from .colors import item_colors, text_color_for
from .fonts import warn_missing
from .geometry import box_to_pixels, point_to_pixels
from .images import _orientation, load_image
from ._maskpaint import MaskJob, MaskPainter
from .projection import DEFAULT_FOV_DEG, NEAR_PLANE, box3d_segments, project_points
from .text import layout_text, render_text

__all__ = ["Style", "resolve_style", "draw", "check_aspect", "label_text", "point_label_x"]

#: Labels longer than this many characters are shortened with an ellipsis when drawn.
MAX_LABEL_CHARS = 80
_ASPECT_TOLERANCE = 0.02


@dataclass
class Style:
    """Drawing options shared by :func:`draw`, ``to_html`` and ``plot`` (sizes in pixels).

    Attributes:
        line_width: Box / outline width; default scales with the image (2 px at 480p).
        font_size: Label text height; default about 2% of the shorter side (min 11).
        mask_alpha: Opacity of mask fills, 0..1.
        mask_outline: Draw an outline around each mask.
        show_labels: Draw label chips.
        show_boxes: Draw the rectangle of 2D boxes.
        color_by: ``"index"`` (default; neighbours differ even with equal labels) or ``"label"``.
        palette: Optional list of colours to use instead of the default palette.
        fov: Horizontal field of view (degrees) for 3D boxes.
        font: Path of a font file that is tried first for every character.
        lang: Han-only labels: ``"sc"`` (default), ``"tc"``, ``"hk"``, ``"jp"`` or ``"kr"`` forms.
        point_radius: Radius of point dots.
        legend: List items without a position (``in_frame: false``) in a small legend.
    """

    line_width: int = 0
    font_size: int = 0
    mask_alpha: float = 0.45
    mask_outline: bool = True
    show_labels: bool = True
    show_boxes: bool = True
    color_by: str = "index"
    palette: Sequence[Any] | None = None
    fov: float = DEFAULT_FOV_DEG
    font: str | None = None
    lang: str | None = None
    point_radius: int = 0
    legend: bool = True


_STYLE_KEYS = tuple(f.name for f in fields(Style))


def resolve_style(width: int, height: int, **style: Any) -> Style:
    """Fill in size-dependent defaults and check option names and values.

    Raises:
        TypeError: an unknown option (the message suggests the closest valid one).
        ValueError: an option with an impossible value.

    >>> resolve_style(640, 480).line_width, resolve_style(3840, 2160).line_width
    (2, 7)
    """
    unknown = [k for k in style if k not in _STYLE_KEYS]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, _STYLE_KEYS, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise TypeError(f"unknown style option {', '.join(hints)}; valid options: {', '.join(_STYLE_KEYS)}")
    st = Style(**style)
    short = max(1, min(width, height))
    if not st.line_width:
        st.line_width = max(2, round(short / 300))
    if not st.font_size:
        st.font_size = max(11, round(short * 0.02))
    if not st.point_radius:
        st.point_radius = max(3, round(short / 120))
    st.line_width = max(1, int(round(st.line_width)))
    st.font_size = max(4, int(round(st.font_size)))
    st.point_radius = max(1, int(round(st.point_radius)))
    if not 0.0 <= float(st.mask_alpha) <= 1.0:
        raise ValueError(f"mask_alpha must be between 0 and 1, got {st.mask_alpha!r}")
    if st.color_by not in ("index", "label"):
        raise ValueError(f"color_by must be 'index' or 'label', got {st.color_by!r}")
    if not 0 < float(st.fov) < 180:
        raise ValueError(f"fov must be between 0 and 180 degrees, got {st.fov!r}")
    return st


# -- input ---------------------------------------------------------------------------------


def _upright_size(image: Any) -> tuple[int, int] | None:
    """``(width, height)`` that :func:`~spatial_nb.images.load_image` will return, when cheap to know (else None)."""
    if isinstance(image, Image.Image) and image.mode == "RGB":
        width, height = image.size
        return (height, width) if _orientation(image) in (5, 6, 7, 8) else (width, height)
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return image.shape[1], image.shape[0]
    return None


def check_aspect(width: int, height: int, image_size: Sequence[int] | None, stacklevel: int = 3) -> None:
    """Warn when a ``width`` x ``height`` picture is not the shape the model saw."""
    if not image_size:
        return
    seen_w, seen_h = (int(v) for v in image_size)
    if seen_w <= 0 or seen_h <= 0 or width <= 0 or height <= 0:
        return
    ratio, seen = width / height, seen_w / seen_h
    if abs(ratio - seen) / seen <= _ASPECT_TOLERANCE:
        return
    hint = (
        " It looks rotated by 90 degrees: pass the image with its EXIF orientation (a file path or "
        "the original bytes), or rotate it back."
        if abs(height / width - seen) / seen <= _ASPECT_TOLERANCE
        else " Was the picture cropped or padded? Pass the same picture (any size is fine)."
    )
    warnings.warn(
        f"the image is {width}x{height} (aspect {ratio:.3f}) but the result was computed on a "
        f"{seen_w}x{seen_h} image (aspect {seen:.3f}); the overlay will not line up.{hint}",
        UserWarning,
        stacklevel=stacklevel,
    )


def label_text(item: Any) -> str:
    """The label as drawn: one line, shortened to :data:`MAX_LABEL_CHARS`."""
    text = " ".join(str(item.label).split())
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


# -- pieces --------------------------------------------------------------------------------


def _chip_size(text: str, st: Style) -> tuple[int, int, int]:
    lay = layout_text(text, st.font_size, st.font, st.lang)
    pad = max(2, round(st.font_size * 0.25))
    return lay.width + 2 * pad, lay.height + pad, pad


@lru_cache(maxsize=512)
def _chip_tile(text: str, color: tuple[int, int, int], size: int, font: str | None, lang: str | None) -> Image.Image:
    """An RGB label chip (colour fill + contrasting text), cached: labels repeat across redraws."""
    lay = layout_text(text, size, font, lang)
    pad = max(2, round(size * 0.25))
    chip = Image.new("RGB", (lay.width + 2 * pad, lay.height + pad), color)
    tile = render_text(text, size, text_color_for(color), font, lang, warn=False)
    chip.paste(tile, (pad, pad // 2), tile)
    return chip


def _chip_op(
    text: str,
    xy: tuple[float, float],
    color: tuple[int, int, int],
    st: Style,
    missing: set[str],
    width: int,
    height: int,
) -> tuple:
    """Overlay op of a label chip with its top-left at ``xy``, moved inside the image."""
    chip = _chip_tile(text, tuple(color), st.font_size, st.font, st.lang)
    chip_w, chip_h = chip.size
    x = int(round(min(max(xy[0], 0), max(0, width - chip_w))))
    y = int(round(min(max(xy[1], 0), max(0, height - chip_h))))
    missing.update(layout_text(text, st.font_size, st.font, st.lang).missing)
    return ("tile", chip, (x, y))


def _rect_ops(xyxy: tuple[int, int, int, int], color: tuple[int, int, int], line_width: int) -> list[tuple]:
    """Overlay ops of a box outline ``line_width`` pixels wide, drawn inside the half-open box."""
    x0, y0, x1, y1 = xyxy
    w = min(line_width, max(1, (min(x1 - x0, y1 - y0) + 1) // 2))
    bands = [(x0, y0, x1, y0 + w), (x0, max(y0 + w, y1 - w), x1, y1), (x0, y0 + w, x0 + w, y1 - w), (x1 - w, y0 + w, x1, y1 - w)]
    return [("fill", color, band) for band in bands if band[2] > band[0] and band[3] > band[1]]


def point_label_x(px: float, dot_radius: float, chip_width: float, width: int) -> float:
    """Left edge of a point's label chip: right of the dot, or left of it when it would not fit.

    >>> point_label_x(10, 5, 40, 100), point_label_x(95, 5, 40, 100)
    (17, 48)
    """
    right = px + dot_radius + 2
    if right + chip_width <= width or px - dot_radius - 2 - chip_width < 0:
        return right
    return px - dot_radius - 2 - chip_width


def _box3d_lines(item, st: Style, width: int, height: int):
    """Projected wireframe ``[((a, b), line_width)]`` and the label anchor (or ``(None, None)``)."""
    segments, depths = box3d_segments(item.box3d, width, height, st.fov)
    if not len(segments):
        return None, None
    ref = float(np.median(depths))
    lines = []
    for (a, b), depth in zip(segments, depths, strict=True):
        scale = min(2.5, max(0.5, ref / max(float(depth), NEAR_PLANE)))
        lines.append(((tuple(a), tuple(b)), max(1, int(round(st.line_width * scale)))))
    centre = np.asarray(item.box3d[:3], dtype=np.float64)
    if centre[1] > NEAR_PLANE:
        u, v = project_points(centre[None, :], width, height, st.fov)[0]
        if -width < u < 2 * width and -height < v < 2 * height:
            return lines, (float(u), float(v))
    return lines, (float(segments[0, 0, 0]), float(segments[0, 0, 1]))


def _pen_lines(lines, color):
    def paint(pen):
        for (a, b), line_width in lines:
            pen.line([a, b], fill=color, width=line_width)

    return paint


def _pen_dot(xy: tuple[int, int], radius: int, ring: int, color):
    px, py = xy

    def paint(pen):
        pen.ellipse((px - radius - ring, py - radius - ring, px + radius + ring, py + radius + ring), fill=(255, 255, 255))
        pen.ellipse((px - radius, py - radius, px + radius, py + radius), fill=color)

    return paint


def _legend_ops(entries, st: Style, missing: set[str], width: int, height: int) -> list[tuple]:
    """Small legend (bottom-left) of items without a position in the picture."""
    if not entries:
        return []
    margin = max(4, st.font_size // 2)
    rows = [("not in frame:", (40, 40, 40))] + [(label_text(it) or "(no label)", c) for it, c in entries]
    sizes = [_chip_size(text, st) for text, _ in rows]
    y = height - margin - sum(h for _, h, _ in sizes)
    ops = []
    for (text, color), (_w, chip_h, _pad) in zip(rows, sizes, strict=True):
        ops.append(_chip_op(text, (margin, y), color, st, missing, width, height))
        y += chip_h
    return ops


def _overlay_ops(items, colors, st: Style, width: int, height: int) -> tuple[list[tuple], set[str]]:
    """Everything drawn over the masks, in drawing order: box outlines, dots, wireframes, chips, legend.

    Ops are ``("fill", color, xyxy)`` and ``("tile", image, (x, y))`` (pasted; chips and bands
    lie inside the frame) or ``("pen", fn(pen))`` for shapes drawn with ``ImageDraw``. Laying
    them out needs no pixels, so it runs while a worker thread prepares the masks.
    """
    ops: list[tuple] = []
    labels: list[tuple[str, tuple[float, float], tuple[int, int, int]]] = []
    legend = []
    for item, color in zip(items, colors, strict=True):
        text = label_text(item)
        if item.box is not None:
            x0, y0, x1, y1 = box_to_pixels(item.box, width, height)
            if st.show_boxes and item.mask is None and x1 > x0 and y1 > y0:
                ops.extend(_rect_ops((x0, y0, x1, y1), color, st.line_width))
            if text:
                chip_h = _chip_size(text, st)[1]
                top = y0 - chip_h if y0 - chip_h >= 0 else y0
                labels.append((text, (x0, top), color))
        elif item.point is not None:
            px, py = point_to_pixels(item.point, width, height)
            r, ring = st.point_radius, max(1, round(st.point_radius * 0.4))
            ops.append(("pen", _pen_dot((px, py), r, ring, color)))
            if text:
                chip_w, chip_h, _ = _chip_size(text, st)
                labels.append((text, (point_label_x(px, r + ring, chip_w, width), py - chip_h / 2), color))
        elif item.box3d is not None:
            lines, anchor = _box3d_lines(item, st, width, height)
            if lines:
                ops.append(("pen", _pen_lines(lines, color)))
            if anchor is not None and text:
                chip_w, chip_h, _ = _chip_size(text, st)
                labels.append((text, (anchor[0] - chip_w / 2, anchor[1] - chip_h / 2), color))
        elif st.legend:
            legend.append((item, color))
    missing: set[str] = set()
    if st.show_labels:
        ops.extend(_chip_op(text, xy, color, st, missing, width, height) for text, xy, color in labels)
    if st.legend:
        ops.extend(_legend_ops(legend, st, missing, width, height))
    return ops, missing


def draw(image: Any, result: Iterable[Any], **style: Any) -> Image.Image:
    """Draw ``result`` onto a copy of ``image`` and return it.

    Args:
        image: File path, bytes, ``PIL.Image`` or numpy array of the picture the model saw
            (any size; EXIF orientation is honoured).
        result: A :class:`~spatial_nb.result.Result` (or a list of Items).
        **style: Options of :class:`Style` (``line_width``, ``font_size``, ``mask_alpha``,
            ``show_labels``, ``color_by``, ``fov``, ``font``, ``lang``, ...).

    Returns:
        A new RGB ``PIL.Image`` of the upright input's size.

    Warns:
        UserWarning: the picture's aspect ratio differs from ``result.image_size`` by > 2%.
        MissingGlyphWarning: once, when some label characters have no font.

    Example:
        >>> from spatial_nb.result import Item, Result
        >>> img = Image.new("RGB", (64, 48))
        >>> draw(img, Result([Item("cat", box=(0.25, 0.25, 0.75, 0.75))]), show_labels=False).getpixel((16, 24))
        (230, 25, 75)
    """
    items = list(result)

    def plan(width: int, height: int):
        st = resolve_style(width, height, **style)
        colors = item_colors(items, st.color_by, st.palette)
        jobs = [
            MaskJob(box_to_pixels(item.box, width, height), item.mask, tuple(color))
            for item, color in zip(items, colors, strict=True)
            if item.mask is not None and item.box is not None
        ]
        # Bigger masks first, so a small object inside a big one stays visible (as in to_html).
        jobs.sort(key=lambda job: -(job.xyxy[2] - job.xyxy[0]) * (job.xyxy[3] - job.xyxy[1]))
        outline_px = max(1, st.line_width // 2) if st.mask_outline else 0
        painter = MaskPainter(jobs, float(st.mask_alpha), outline_px)
        # Laid out while a worker thread prepares the masks.
        return (width, height), painter, _overlay_ops(items, colors, st, width, height)

    # Masks are prepared (on a worker thread for big frames) while the frame is copied.
    expected = _upright_size(image)
    planned = plan(*expected) if expected else None
    out = load_image(image)
    width, height = out.size
    if planned is None or planned[0] != (width, height):
        planned = plan(width, height)
    _, painter, (overlay, missing) = planned
    check_aspect(width, height, getattr(result, "image_size", None))
    painter.paint(out, overlay)
    if missing:
        warn_missing(missing, stacklevel=3)
    return out
