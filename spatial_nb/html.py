"""Self-contained HTML/SVG overlay of a Result: inline image, the same label layout as ``draw``, hover cards.

One ``<div>`` holding a single ``<svg>`` whose viewBox is the drawn picture's pixel grid; the
picture is an inlined, bounded-size JPEG ``<image>``. Chips, tags and the legend come from
:mod:`spatial_nb.labels` (the placements ``draw`` uses), sized with the same font metrics.
Everything visual is a presentation attribute, so the overlay stays complete where a notebook
strips ``<style>``; the ``<style>`` inside the SVG (kept by JupyterLab and Voilà) adds hover
(the object highlighted, its full label in a card) and ``@font-face`` subsets of the bundled
fonts for CJK labels, with glyph outlines as the fallback when the style is gone. No script, no
external URL; every string from the model goes through ``html.escape``.
"""

from __future__ import annotations

import html as _html
import io
import uuid
from typing import Any

import numpy as np
from PIL import Image

from .colors import item_colors, text_color_for, to_hex
from .display import DISPLAY_MAX_SIDE, data_url, encode_for_display
from .drawing import check_aspect, resolve_style
from .images import load_image
from .labels import ItemGeometry, Placement, chip_padding, item_geometry, layout_labels
from .legend import NOTE_RGB, PANEL_ALPHA, PANEL_RGB, TEXT_RGB
from ._maskpaint import box_alpha
from .text import layout_text, normalize_label, wrap_text
from .webfonts import WebFonts, web_fonts

__all__ = ["to_html", "OverlayHTML"]

_FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', 'Noto Sans', sans-serif"
_CARD_RGB, _CARD_TEXT = (255, 255, 255), (17, 17, 17)


class OverlayHTML(str):
    """The HTML of an overlay: a plain ``str`` that notebooks display as the picture itself.

    It is the last line of a cell? The overlay shows (``_repr_html_``). Everything a string
    does (write it to a file, ``IPython.display.HTML(...)``, an ipywidgets ``HTML`` value) works.
    """

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<spatial_nb HTML overlay, {len(self) / 1024:.0f} KiB (display it, or str() for the markup)>"


def _e(value: Any) -> str:
    return _html.escape(str(value), quote=True)


def _num(value: float) -> str:
    return f"{float(value):.1f}".rstrip("0").rstrip(".")


def _mask_png(mask: np.ndarray, color: tuple[int, int, int], alpha: float, outline_px: int, width: int, height: int) -> str:
    """RGBA PNG of a box-local mask at ``width`` x ``height`` (its size on screen): the item colour at
    ``alpha`` inside, an opaque outline ``outline_px`` wide (0: none), transparent outside.

    Masks arrive at any resolution (a polygon rasterised on a 4K grid gives 3072 x 216 for a wide
    object); resizing to the displayed size keeps the page small, and finding the outline at that
    size keeps it one crisp line of screen pixels however the mask was sent.
    """
    coverage = box_alpha(mask, max(1, width), max(1, height), int(round(alpha * 255)), outline_px)
    rgba = Image.new("RGBA", coverage.size, tuple(color) + (0,))
    rgba.putalpha(coverage)
    buf = io.BytesIO()
    rgba.save(buf, format="PNG", optimize=False)
    return data_url(buf.getvalue(), "image/png")


class _Text:
    """Writes SVG text lines with the same metrics as ``draw``: exact widths, embedded fonts, outline fallback."""

    def __init__(self, st, fonts: WebFonts, uid: str):
        self.st, self.fonts, self.uid = st, fonts, uid

    def lines(self, lines, size: int, ascent: int, line_h: int, x: float, y: float, color) -> str:
        out = []
        fill = to_hex(color)
        for k, line in enumerate(lines):
            lay = layout_text(line, size, self.st.font, self.st.lang)
            baseline = y + k * line_h + ascent
            family = self.fonts.family_list(lay)
            attrs = (
                f'x="{_num(x)}" y="{_num(baseline)}" font-size="{size}" fill="{fill}" '
                f'textLength="{max(lay.width, 1)}" lengthAdjust="spacingAndGlyphs"'
            )
            if family is None:
                out.append(f"<text {attrs}>{_e(line)}</text>")
                continue
            # Shown by the stylesheet (with its @font-face); without it, the outlines below are shown instead.
            out.append(f'<text class="snb-t" opacity="0" font-family="{family}, {_FONT_STACK}" {attrs}>{_e(line)}</text>')
            out.append(f'<g class="snb-g" fill="{fill}">{self._outlines(lay, x, baseline)}</g>')
        return "".join(out)

    def _outlines(self, lay, x: float, baseline: float) -> str:
        from ._glyphs import _glyph_cache

        out = []
        for run in lay.runs:
            if run.kind != "glyphs":  # shaped scripts and emoji stay text (the browser's fonts)
                out.append(f'<text x="{_num(x + run.x)}" y="{_num(baseline)}" font-size="{lay.size}">{_e(run.text)}</text>')
                continue
            cache = _glyph_cache(run.face, lay.size)
            pen = x + run.x
            for ch in run.text:
                found = None if ch.isspace() else self.fonts.glyph(run.face, ch, self.uid)
                if found is not None:
                    gid, upem = found
                    s = lay.size / upem
                    out.append(f'<use href="#{gid}" transform="translate({_num(pen)} {_num(baseline)}) scale({s:.5f} {-s:.5f})"/>')
                pen += cache.advance(ch)
        return "".join(out)


def _card(pos: int, text: str, geo: ItemGeometry, anchor_box, color, st, width: int, height: int, writer: _Text) -> str:
    """A hidden card with the item's full label, shown by the stylesheet while the item is hovered.

    It opens over the item's chip, tag or legend entry (``anchor_box``), else under the object.
    """
    size = st.font_size
    pad, _ = chip_padding(size)
    lines = wrap_text(text, size, min(0.6 * width, 32 * size) - 2 * pad, st.font, st.lang) or ("(no label)",)
    lays = [layout_text(line, size, st.font, st.lang) for line in lines]
    ascent = max(lay.ascent for lay in lays)
    line_h = ascent + max(lay.descent for lay in lays)
    w = max(lay.width for lay in lays) + 2 * pad
    h = line_h * len(lines) + 2 * pad
    if anchor_box is not None:
        x, y = anchor_box[0], anchor_box[1]
    else:
        rect = geo.rect or (0, 0, width, height)
        x = rect[0]
        y = rect[3] + pad if rect[3] + pad + h <= height else rect[1] - pad - h
    x = min(max(x, 0), max(0, width - w))
    y = min(max(y, 0), max(0, height - h))
    lw = max(1, st.line_width)
    return (
        f'<g class="snb-hovercard snb-k{pos}" display="none" pointer-events="none">'
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{w}" height="{h}" rx="{pad}" fill="{to_hex(_CARD_RGB)}" '
        f'fill-opacity="0.96" stroke="{to_hex(color)}" stroke-width="{lw}"/>'
        f"{writer.lines(lines, size, ascent, line_h, x + pad, y + pad, _CARD_TEXT)}</g>"
    )


def _placement(p: Placement, st, writer: _Text) -> str:
    x0, y0, x1, y1 = p.box
    kind = f'data-kind="{p.kind}" data-index="{p.index}"'
    if p.kind == "legend":
        sw = p.swatch_width
        body = [
            f'<rect class="snb-entry" {kind} x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="{to_hex(PANEL_RGB)}" fill-opacity="0"/>',
            f'<rect x="{x0}" y="{y0}" width="{sw}" height="{p.line_height}" fill="{to_hex(p.color)}"/>',
        ]
        if p.tag:
            tag_w = layout_text(p.tag, p.font_size, st.font, st.lang).width
            body.append(writer.lines((p.tag,), p.font_size, p.ascent, p.line_height, x0 + (sw - tag_w) // 2, y0, text_color_for(p.color)))
        body.append(writer.lines(p.lines, p.font_size, p.ascent, p.line_height, x0 + p.text_x, y0, TEXT_RGB))
        return "".join(body)
    return (
        f'<rect class="snb-chip" {kind} x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="{to_hex(p.color)}"/>'
        + writer.lines(p.lines, p.font_size, p.ascent, p.line_height, x0 + p.text_x, y0 + p.text_y, text_color_for(p.color))
    )


def _shape(item, geo: ItemGeometry, color, st, scale: float) -> str:
    """SVG of an item's shape; ``scale`` is screen pixels per picture pixel (masks are encoded at that size)."""
    hex_color, lw = to_hex(color), st.line_width
    body: list[str] = []
    if geo.kind in ("box", "mask"):
        x0, y0, x1, y1 = geo.xyxy
        if item.mask is not None and item.mask.size and x1 > x0 and y1 > y0:
            # draw's outline (half the line width), in screen pixels, at least one
            outline = max(1, round(max(1, lw // 2) * scale)) if st.mask_outline else 0
            size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            href = _mask_png(item.mask, color, float(st.mask_alpha), outline, *size)
            body.append(
                f'<image href="{href}" x="{x0}" y="{y0}" width="{max(0, x1 - x0)}" height="{max(0, y1 - y0)}" preserveAspectRatio="none"/>'
            )
        stroke = "none" if (item.mask is not None or not st.show_boxes) else hex_color
        body.append(
            f'<rect class="snb-box" x="{x0 + lw / 2:.1f}" y="{y0 + lw / 2:.1f}" width="{max(0.0, x1 - x0 - lw):.1f}" '
            f'height="{max(0.0, y1 - y0 - lw):.1f}" fill="none" stroke="{stroke}" stroke-width="{lw}" pointer-events="all"/>'
        )
    elif geo.kind == "point":
        r, ring = st.point_radius, max(1, round(st.point_radius * 0.4))
        px, py = geo.rect[0] + r + ring, geo.rect[1] + r + ring
        body.append(f'<circle cx="{_num(px)}" cy="{_num(py)}" r="{r + ring}" fill="#ffffff"/>')
        body.append(f'<circle cx="{_num(px)}" cy="{_num(py)}" r="{r}" fill="{hex_color}"/>')
    elif geo.kind == "box3d":
        for (a, b), w in geo.lines3d:
            body.append(
                f'<line x1="{_num(a[0])}" y1="{_num(a[1])}" x2="{_num(b[0])}" y2="{_num(b[1])}" '
                f'stroke="{hex_color}" stroke-width="{_num(w)}" stroke-linecap="round"/>'
            )
    return "".join(body)


def to_html(image: Any, result: Any, *, max_side: int = DISPLAY_MAX_SIDE, **style: Any) -> OverlayHTML:
    """An HTML fragment showing ``image`` with ``result`` as an interactive SVG overlay.

    Labels are laid out exactly as :func:`spatial_nb.draw` lays them out (the same
    :func:`spatial_nb.label_boxes`). Hovering an object (or its label or legend entry)
    highlights it and shows its full label in a card. Labels in scripts a browser may lack
    (CJK; Greek or Cyrillic) carry a subset of the bundled font with only their glyphs, so they
    render even on a machine without such fonts; colour emoji are left to the browser's own
    emoji font.

    Args:
        image: Any image input (path, bytes, PIL, ndarray); EXIF orientation is honoured.
        result: The :class:`~spatial_nb.result.Result` to show.
        max_side: Longest side of the inlined JPEG (the overlay keeps full-resolution
            coordinates in its viewBox); masks are embedded at that scale too (their size on screen).
        **style: Drawing options (see ``spatial_nb.drawing.Style``); sizes are in image pixels.

    Returns:
        An :class:`OverlayHTML`: a ``str`` that displays itself in a notebook (last line of a
        cell), or that you write into an .html file or pass to ``IPython.display.HTML``.

    Example:
        >>> from spatial_nb.result import Item, Result
        >>> frag = to_html(Image.new("RGB", (64, 48)), Result([Item("<b>", box=(0.1, 0.1, 0.5, 0.5))]))
        >>> "&lt;b&gt;" in frag and "<b>" not in frag
        True
    """
    img = load_image(image)
    width, height = img.size
    check_aspect(width, height, getattr(result, "image_size", None))
    st = resolve_style(width, height, **style)
    items = list(result)
    colors = item_colors(items, st.color_by, st.palette)
    geometry = item_geometry(items, st, width, height)
    layout = layout_labels(items, colors, st, width, height, geometry)
    canvas_w, canvas_h = layout.width, layout.height
    texts = [normalize_label(it.label) for it in items]
    data, mime = encode_for_display(img, max_side=max_side)
    uid = "snb-" + uuid.uuid4().hex[:12]

    # Every line any chip, legend row or card shows, laid out once to pick the fonts to embed.
    pad, _ = chip_padding(st.font_size)
    card_width = min(0.6 * canvas_w, 32 * st.font_size) - 2 * pad
    shown = [(line, p.font_size) for p in layout.placements for line in p.lines + ((p.tag,) if p.tag else ())]
    shown += [(text, size) for text, _, size, _ in layout.notes]
    shown += [(line, st.font_size) for t in texts for line in wrap_text(t, st.font_size, card_width, st.font, st.lang)]
    fonts = web_fonts(layout_text(line, size, st.font, st.lang) for line, size in shown)
    writer = _Text(st, fonts, uid)

    # Larger objects first, so smaller ones lie on top and can be hovered.
    def area(pos: int) -> float:
        box = items[pos].box
        return -(box[2] - box[0]) * (box[3] - box[1]) if box is not None else 0.0

    # Screen pixels per picture pixel at the overlay's displayed width (masks are encoded at that size).
    display_w = min(canvas_w, max_side) if canvas_w >= canvas_h else round(canvas_w * min(1, max_side / canvas_h))
    scale = display_w / canvas_w
    shapes, offframe = [], []
    for pos in sorted(range(len(items)), key=area):
        geo = geometry[pos]
        if geo.kind == "none" or (geo.kind == "box3d" and not geo.lines3d):
            offframe.append(pos)
            continue
        shapes.append(
            f'<g class="snb-item snb-{geo.kind} snb-hov snb-k{pos}" data-index="{pos}" data-label="{_e(items[pos].label)}">'
            f"<title>{_e(items[pos].label)}</title>{_shape(items[pos], geo, colors[pos], st, scale)}</g>"
        )
    labels, legend, anchor, wrapped = [], [], {}, set()
    for p in layout.placements:
        if p.kind == "legend":
            for i in p.indices:
                anchor.setdefault(i, p.box)
            continue
        anchor[p.index] = p.box  # a chip or tag: the card opens over it
        labels.append(
            f'<g class="snb-label snb-hov snb-k{p.index}" data-index="{p.index}"><title>{_e(items[p.index].label)}</title>'
            f"{_placement(p, st, writer)}</g>"
        )
    if layout.legend_box is not None:
        x0, y0, x1, y1 = layout.legend_box
        opacity = "1" if layout.legend_outside else f"{PANEL_ALPHA:g}"
        legend.append(f'<rect class="snb-legend-panel" x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="{to_hex(PANEL_RGB)}" fill-opacity="{opacity}"/>')
        for text, box, size, ascent in layout.notes:
            legend.append(writer.lines((text,), size, ascent, 0, box[0], box[1], NOTE_RGB))
        for p in layout.placements:
            if p.kind != "legend":
                continue
            ks = " ".join(f"snb-k{i}" for i in p.indices)
            title = f"<title>{_e(items[p.index].label)}</title>"
            if all(i in offframe for i in p.indices):
                wrapped.add(p.index)
                legend.append(
                    f'<g class="snb-item snb-offframe snb-hov {ks}" data-index="{p.index}" data-label="{_e(items[p.index].label)}">'
                    f"{title}{_placement(p, st, writer)}</g>"
                )
            else:
                legend.append(f'<g class="snb-legend-item snb-hov {ks}" data-index="{p.index}">{title}{_placement(p, st, writer)}</g>')
    # Off-frame items without an entry of their own (legend=False, or a label shared with another) get one too.
    for pos in offframe:
        if pos not in wrapped:
            shapes.append(
                f'<g class="snb-item snb-offframe snb-hov snb-k{pos}" data-index="{pos}" data-label="{_e(items[pos].label)}">'
                f"<title>{_e(items[pos].label)}</title></g>"
            )
    cards = [
        _card(pos, texts[pos], geometry[pos], anchor.get(pos), colors[pos], st, canvas_w, canvas_h, writer)
        for pos in range(len(items))
    ]
    lw = st.line_width
    css = [
        fonts.css,
        f"#{uid} .snb-hov{{transition:opacity .12s}}",
        f"#{uid} svg:has(.snb-hov:hover) .snb-hov{{opacity:.22}}",
        f"#{uid} .snb-item:hover .snb-box{{stroke-width:{lw * 2}}}",
        f"#{uid} .snb-t{{opacity:1}}",
        f"#{uid} .snb-g{{display:none}}",
    ]
    for pos in range(len(items)):
        css.append(f"#{uid} svg:has(.snb-k{pos}:hover) .snb-k{pos}.snb-hov{{opacity:1}}")
        css.append(f"#{uid} svg:has(.snb-k{pos}.snb-hov:hover) .snb-hovercard.snb-k{pos}{{display:inline}}")
    title = f"{len(items)} objects: " + ", ".join(it.label for it in items[:20])
    defs = fonts.defs()
    return OverlayHTML(
        f'<div class="snb-overlay" id="{uid}" style="max-width:100%;line-height:0">'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {canvas_w} {canvas_h}" width="{display_w}" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{_e(title)}" font-family="{_FONT_STACK}">'
        f"<style>{''.join(css)}</style>"
        + (f"<defs>{defs}</defs>" if defs else "")
        + (f'<rect x="0" y="0" width="{canvas_w}" height="{canvas_h}" fill="{to_hex(PANEL_RGB)}"/>' if layout.legend_outside else "")
        + f'<image href="{data_url(data, mime)}" x="0" y="0" width="{width}" height="{height}" preserveAspectRatio="none"/>'
        f"{''.join(shapes)}<g class=\"snb-labels\">{''.join(labels)}</g>"
        f"<g class=\"snb-legend\">{''.join(legend)}</g><g class=\"snb-cards\">{''.join(cards)}</g></svg></div>"
    )

