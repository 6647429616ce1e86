"""Draw a Result onto a picture with Pillow: boxes, label chips, masks, points, 3D wireframes.

``draw`` returns a NEW upright RGB image of the input's size (larger only with
``legend="outside"``); coordinates follow the shared pixel rule (``round(fraction * size)``, half-open
boxes). Labels come from the one layout of :mod:`spatial_nb.labels` (no chip overlaps another,
long labels wrap, a crowded picture gets numbered tags and a legend). Speed comes from doing
everything inside each item's box in Pillow's C code (see ``_maskpaint``), from a glyph cache
for text (see ``text``) and from painting each chip as one palette image (its text coverage, 256
entries from chip colour to ink: no per-pixel blend); the layout is computed while a worker
thread prepares masks.
"""

from __future__ import annotations

import difflib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from .colors import item_colors, text_color_for
from .fonts import warn_missing
from .geometry import point_to_pixels
from .images import _orientation, load_image
from .labels import LabelLayout, _legend_mode, item_geometry, layout_labels
from .legend import NOTE_RGB, PANEL_ALPHA, PANEL_RGB, TEXT_RGB
from ._maskpaint import MaskJob, MaskPainter, run_overlay
from .projection import DEFAULT_FOV_DEG
from ._glyphs import paint_simple_line
from .text import layout_text, paint_text

__all__ = ["Style", "resolve_style", "draw", "check_aspect", "picture_size", "clear_label_caches"]

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
        legend: Where labels that find no room on a crowded picture (shown as numbered tags)
            and items without a position (``in_frame: false``) are listed in full:
            ``True`` / ``"inside"`` (default; a translucent panel in the emptiest corner, the
            picture keeps its size), ``"outside"`` (below or beside the picture, which grows)
            or ``False`` (no legend: labels without room are shortened with "…" or left out,
            so the promise that every label is shown in full no longer holds).
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
    legend: bool | str = True


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
    _legend_mode(st.legend)
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


def picture_size(image: Any) -> tuple[int, int]:
    """``(width, height)`` of the upright picture :func:`draw` would return (loads it only when needed)."""
    size = _upright_size(image)
    return size if size is not None else load_image(image).size


# -- pieces --------------------------------------------------------------------------------


def _rect_ops(xyxy: tuple[int, int, int, int], color: tuple[int, int, int], line_width: int) -> list[tuple]:
    """Overlay ops of a box outline ``line_width`` pixels wide, drawn inside the half-open box.

    Four filled strips (the pixels of ``ImageDraw.rectangle(..., width=w)``, which draws the sides
    pixel by pixel: several times slower for tall boxes, and slower per call for small ones).
    """
    x0, y0, x1, y1 = xyxy
    w = min(line_width, max(1, (min(x1 - x0, y1 - y0) + 1) // 2))
    if min(x1 - x0, y1 - y0) <= 2 * w:  # no hole left inside: the outline is the whole box
        return [("fill", color, xyxy)]
    return [
        ("fill", color, (x0, y0, x1, y0 + w)),
        ("fill", color, (x0, y1 - w, x1, y1)),
        ("fill", color, (x0, y0 + w, x0 + w, y1 - w)),
        ("fill", color, (x1 - w, y0 + w, x1, y1 - w)),
    ]


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


def _shape_ops(items, colors, geometry, st: Style, width: int, height: int) -> list[tuple]:
    """Box outlines, point dots and 3D wireframes, in item order (drawn over the masks, under the labels)."""
    ops: list[tuple] = []
    for item, color, geo in zip(items, colors, geometry, strict=True):
        if geo.kind == "box" and st.show_boxes:
            x0, y0, x1, y1 = geo.xyxy
            if x1 > x0 and y1 > y0:
                ops.extend(_rect_ops(geo.xyxy, color, st.line_width))
        elif geo.kind == "point":
            px, py = point_to_pixels(item.point, width, height)
            ops.append(("pen", _pen_dot((px, py), st.point_radius, max(1, round(st.point_radius * 0.4)), color)))
        elif geo.kind == "box3d" and geo.lines3d:
            ops.append(("pen", _pen_lines(geo.lines3d, color)))
    return ops


def _label_ops(layout: LabelLayout, st: Style) -> tuple[list[tuple], list[tuple]]:
    """Ops for the inside legend panel, every chip, tag and legend entry; plus ops for an outside legend."""
    inside: list[tuple] = []
    outside: list[tuple] = []
    if layout.legend_box is not None:
        ops = outside if layout.legend_outside else inside
        x0, y0, x1, y1 = layout.legend_box
        if layout.legend_outside:
            ops.append(("fill", PANEL_RGB, layout.legend_box))
        else:
            ops.append(("shade", _shade_lut(PANEL_RGB, int(round(PANEL_ALPHA * 255))), layout.legend_box))
        for text, box, size, ascent in layout.notes:
            ops.extend(_text_ops((text,), size, ascent, 0, box[0], box[1], NOTE_RGB, st))
    for p in layout.placements:
        ops = outside if (p.kind == "legend" and layout.legend_outside) else inside
        x0, y0, x1, y1 = p.box
        if p.kind == "legend":
            sw = p.swatch_width
            ops.append(("fill", p.color, (x0, y0, x0 + sw, y0 + p.line_height)))
            if p.tag:
                tag_w = layout_text(p.tag, p.font_size, st.font, st.lang).width
                ops.extend(_text_ops((p.tag,), p.font_size, p.ascent, p.line_height, x0 + (sw - tag_w) // 2, y0, text_color_for(p.color), st))
            ops.extend(_text_ops(p.lines, p.font_size, p.ascent, p.line_height, x0 + p.text_x, y0, TEXT_RGB, st))
        else:
            ops.append(_chip_op(p, st))
    return inside, outside


#: Text coverage of recent chips at chip size ("P" images, shared by chips with the same text
#: and size whatever their colour), kept up to a total number of pixels.
_COVERAGE: OrderedDict[tuple, tuple] = OrderedDict()
_COVERAGE_MAX_PIXELS = 32_000_000
_coverage_pixels = 0
_COVERAGE_LOCK = threading.Lock()


def _chip_op(p, st: Style) -> tuple:
    """The overlay op of a chip or tag: ``("chip", coverage, palette, (x, y), emoji, ring)``.

    The chip is painted as a palette image: its text coverage, with 256 palette entries running
    from the chip colour to the text colour. Pasting it (Pillow converts it to RGB on the way)
    gives the same pixels as filling the chip and blending the text colour through the coverage
    (Pillow's rounding), three to five times faster: no per-pixel blend, and the coverage is made
    once for every chip showing the same text at the same size. On a big chip the coverage holds
    only the rows with ink; ``ring`` lists the boxes around them, filled with the chip colour.
    """
    global _coverage_pixels
    x0, y0, x1, y1 = p.box
    shape = (p.lines, p.font_size, p.ascent, p.line_height, p.text_x, p.text_y, x1 - x0, y1 - y0, st.font, st.lang)
    with _COVERAGE_LOCK:
        found = _COVERAGE.get(shape)
        if found is not None:
            _COVERAGE.move_to_end(shape)
    if found is None:
        found = _chip_coverage(*shape)
        with _COVERAGE_LOCK:
            if shape not in _COVERAGE:
                _COVERAGE[shape] = found
                _coverage_pixels += found[3]
            while _coverage_pixels > _COVERAGE_MAX_PIXELS and len(_COVERAGE) > 1:
                _coverage_pixels -= _COVERAGE.popitem(last=False)[1][3]
    coverage, emoji, ink, _ = found
    color = tuple(p.color)
    ix0, iy0, ix1, iy1 = x0 + ink[0], y0 + ink[1], x0 + ink[2], y0 + ink[3]
    ring = tuple(box for box in ((x0, y0, x1, iy0), (x0, iy1, x1, y1), (x0, iy0, ix0, iy1), (ix1, iy0, x1, iy1))
                 if box[2] > box[0] and box[3] > box[1])
    return ("chip", coverage, _gradient(color, text_color_for(color)), (ix0, iy0), tuple((t, x0 + ex, y0 + ey) for t, ex, ey in emoji), ring)


#: A chip's coverage is cut to the rows holding ink when that leaves out at least this many
#: pixels: filling them costs a third of converting them, but each fill is one more call.
_CROP_MIN_PIXELS = 8000


@lru_cache(maxsize=16)
def _shade_lut(color: tuple[int, int, int], alpha: int) -> list[int]:
    """An RGB ``point`` table laying ``color`` at opacity ``alpha`` (0..255) over any pixel, rounded as Pillow blends."""
    return [(v * (255 - alpha) + c * alpha + 127) // 255 for c in color for v in range(256)]


@lru_cache(maxsize=256)
def _gradient(background: tuple[int, int, int], ink: tuple[int, int, int]) -> bytes:
    """A 256-entry RGB palette from ``background`` (0) to ``ink`` (255), rounded as Pillow blends."""
    out = bytearray()
    for a in range(256):
        for bg, fg in zip(background, ink, strict=True):
            out.append((bg * (255 - a) + fg * a + 127) // 255)
    return bytes(out)


def _chip_coverage(lines, size: int, ascent: int, line_h: int, text_x: int, text_y: int, width: int, height: int, font, lang):
    """``(coverage, emoji, ink, pixels)`` of a chip: a "P" image holding the text (baselines
    ``line_h`` apart) inside the chip's ``ink`` box ``(x0, y0, x1, y1)`` (None when nothing is inked),
    colour-emoji tiles as ``(rgba, x, y)`` in chip pixels, and the pixels kept (the cache's budget).

    The ink box spans the chip's width and the rows the glyphs may ink (known from the glyph
    cells for printable ASCII, else found in the pixels); it is the whole chip when cutting saves little.
    """
    canvas = np.zeros((height, width), dtype=np.uint8)
    emoji = []
    rows: list[tuple[int, int]] | None = []
    for k, line in enumerate(lines):
        baseline = text_y + k * line_h + ascent
        # lines never share rows (baselines line_h apart, each line_h tall at most): each box is still blank
        inked = paint_simple_line(canvas, line, size, font, text_x, baseline, fresh=True)
        if inked is not None:  # drawn from the glyph cache: its rows are known
            if rows is not None and inked != (0, 0):
                rows.append((baseline + inked[0], baseline + inked[1]))
            continue
        lay = layout_text(line, size, font, lang)
        emoji.extend(paint_text(canvas, lay, text_x, baseline - lay.ascent))
        rows = None
    if rows is None:  # some line went through text layout: look at the pixels
        found = np.flatnonzero(canvas.max(axis=1)) if width * height >= 2 * _CROP_MIN_PIXELS else np.arange(height)
        rows = [(int(found[0]), int(found[-1]) + 1)] if len(found) else []
    if not rows:
        return None, tuple(emoji), (0, 0, 0, 0), 1
    top, bottom = max(0, min(r[0] for r in rows)), min(height, max(r[1] for r in rows))
    if width * (height - (bottom - top)) < _CROP_MIN_PIXELS:
        top, bottom = 0, height
    # mode "P" over the array's own memory (a run of whole rows is contiguous): painting sets its palette
    coverage = Image.frombuffer("P", (width, bottom - top), canvas[top:bottom], "raw", "P", 0, 1)
    return coverage, tuple(emoji), (0, top, width, bottom), width * (bottom - top)


@lru_cache(maxsize=1024)
def _lines_alpha(lines: tuple[str, ...], size: int, ascent: int, line_h: int, font, lang):
    """One "L" image holding every line of a chip (baselines ``line_h`` apart) and its emoji tiles."""
    lays = [layout_text(line, size, font, lang) for line in lines]
    line_h = line_h or max(lay.height for lay in lays)
    ascent = ascent or max(lay.ascent for lay in lays)
    width = max(1, max(lay.width for lay in lays))
    canvas = np.zeros((line_h * len(lays), width), dtype=np.uint8)
    emoji = []
    for k, lay in enumerate(lays):
        emoji.extend(paint_text(canvas, lay, 0, k * line_h + ascent - lay.ascent))
    return Image.fromarray(canvas), tuple(emoji)


def clear_label_caches() -> None:
    """Forget every measured, wrapped and rendered label and glyph, every layout and prepared mask.

    Benchmarks call it to time a first draw (a new answer: nothing cached but the fonts' tables).
    """
    from .text import clear_caches

    from ._maskpaint import clear_cache
    from .labels import _LAYOUTS, _chip_cached

    clear_cache()
    clear_caches()
    _lines_alpha.cache_clear()
    global _coverage_pixels
    with _COVERAGE_LOCK:
        _COVERAGE.clear()
        _coverage_pixels = 0
    _chip_cached.cache_clear()
    _LAYOUTS.clear()


def _text_ops(lines, size: int, ascent: int, line_h: int, x: int, y: int, color, st: Style) -> list[tuple]:
    mask, emoji = _lines_alpha(tuple(lines), size, ascent, line_h, st.font, st.lang)
    ops: list[tuple] = [("paste", tuple(color), (x, y, x + mask.width, y + mask.height), mask)]
    ops.extend(("paste", tile, (x + ex, y + ey), tile) for tile, ex, ey in emoji)
    return ops


def draw(image: Any, result: Iterable[Any], **style: Any) -> Image.Image:
    """Draw ``result`` onto a copy of ``image`` and return it.

    Args:
        image: File path, bytes, ``PIL.Image`` or numpy array of the picture the model saw
            (any size; EXIF orientation is honoured).
        result: A :class:`~spatial_nb.result.Result` (or a list of Items).
        **style: Options of :class:`Style` (``line_width``, ``font_size``, ``mask_alpha``,
            ``show_labels``, ``color_by``, ``fov``, ``font``, ``lang``, ``legend``, ...).

    Returns:
        A new RGB ``PIL.Image`` of the upright input's size (taller or wider only with
        ``legend="outside"``; a legend too big for the picture is cut at its edges, with a warning).
        :func:`spatial_nb.label_boxes` tells where every label went.

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
        geometry = item_geometry(items, st, width, height)
        jobs = [
            MaskJob(geo.xyxy, item.mask, tuple(color))
            for item, color, geo in zip(items, colors, geometry, strict=True)
            if item.mask is not None and geo.xyxy is not None
        ]
        # Bigger masks first, so a small object inside a big one stays visible (as in to_html).
        jobs.sort(key=lambda job: -(job.xyxy[2] - job.xyxy[0]) * (job.xyxy[3] - job.xyxy[1]))
        outline_px = max(1, st.line_width // 2) if st.mask_outline else 0
        painter = MaskPainter(jobs, float(st.mask_alpha), outline_px)
        # Laid out while a worker thread prepares the masks.
        layout = layout_labels(items, colors, st, width, height, geometry, stacklevel=4)
        inside, outside = _label_ops(layout, st)
        return (width, height), painter, _shape_ops(items, colors, geometry, st, width, height) + inside, outside, layout

    # Masks are prepared (on a worker thread for big frames) while the frame is copied.
    expected = _upright_size(image)
    planned = plan(*expected) if expected else None
    out = load_image(image)
    width, height = out.size
    if planned is None or planned[0] != (width, height):
        planned = plan(width, height)
    _, painter, overlay, outside, layout = planned
    check_aspect(width, height, getattr(result, "image_size", None))
    painter.paint(out, overlay)
    if layout.legend_outside:
        canvas = Image.new("RGB", (layout.width, layout.height), PANEL_RGB)
        canvas.paste(out, (0, 0))
        run_overlay(canvas, outside)
        out = canvas
    if layout.missing:
        warn_missing(layout.missing, stacklevel=3)
    return out
