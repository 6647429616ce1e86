"""Self-contained HTML/SVG overlay of a Result: inline image, one <g> per item, CSS-only hover.

One ``<div>`` holding ``<style>`` and a single ``<svg>`` whose viewBox is the image's pixel
grid; the picture is an inlined, bounded-size JPEG ``<image>``. Everything visual is a
presentation attribute, so the overlay stays complete where a notebook strips ``<style>``;
the stylesheet only adds hover (one object highlighted, others dimmed), scoped by a unique
id. No script, no external URL; every string from the model goes through ``html.escape``.
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
from .drawing import check_aspect, label_text, point_label_x, resolve_style
from .geometry import box_to_pixels, point_to_pixels
from .images import load_image
from .projection import NEAR_PLANE, box3d_segments, project_points
from .text import layout_text

__all__ = ["to_html"]


def _e(value: Any) -> str:
    return _html.escape(str(value), quote=True)


def _num(value: float) -> str:
    return f"{float(value):.1f}".rstrip("0").rstrip(".")


def _mask_png(mask: np.ndarray, color: tuple[int, int, int], alpha: float, outline: bool) -> str:
    """Box-local RGBA PNG: the item colour where the mask is > 127, outline opaque."""
    inside = np.asarray(mask) > 127
    rgba = np.zeros(inside.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = color
    rgba[..., 3] = np.where(inside, int(round(alpha * 255)), 0)
    if outline:
        core = inside.copy()
        core[1:, :] &= inside[:-1, :]
        core[:-1, :] &= inside[1:, :]
        core[:, 1:] &= inside[:, :-1]
        core[:, :-1] &= inside[:, 1:]
        rgba[..., 3][inside & ~core] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return data_url(buf.getvalue(), "image/png")


def _chip(text: str, x: float, y: float, color, st, width: int, height: int) -> str:
    lay = layout_text(text, st.font_size, st.font, st.lang)
    pad = max(2, round(st.font_size * 0.25))
    chip_w, chip_h = lay.width + 2 * pad, lay.height + pad
    x = min(max(x, 0), max(0, width - chip_w))
    y = min(max(y, 0), max(0, height - chip_h))
    fg = to_hex(text_color_for(color))
    return (
        f'<rect class="snb-chip" x="{_num(x)}" y="{_num(y)}" width="{chip_w}" height="{chip_h}" '
        f'fill="{to_hex(color)}"/>'
        f'<text x="{_num(x + pad)}" y="{_num(y + pad // 2 + lay.ascent)}" font-size="{st.font_size}" '
        f'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, \'Noto Sans\', \'Noto Sans CJK JP\', '
        f'sans-serif" fill="{fg}" textLength="{lay.width}" lengthAdjust="spacingAndGlyphs">{_e(text)}</text>'
    )


def to_html(image: Any, result: Any, *, max_side: int = DISPLAY_MAX_SIDE, **style: Any) -> str:
    """An HTML fragment showing ``image`` with ``result`` as an interactive SVG overlay.

    Args:
        image: Any image input (path, bytes, PIL, ndarray); EXIF orientation is honoured.
        result: The :class:`~spatial_nb.result.Result` to show.
        max_side: Longest side of the inlined JPEG (the overlay keeps full-resolution
            coordinates in its viewBox).
        **style: Drawing options (see ``spatial_nb.drawing.Style``); sizes are in image pixels.

    Returns:
        A string to display (``IPython.display.HTML``) or write into an .html file.

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
    data, mime = encode_for_display(img, max_side=max_side)
    uid = "snb-" + uuid.uuid4().hex[:12]
    lw = st.line_width

    # Larger objects first, so smaller ones lie on top and can be hovered.
    def area(pair) -> float:
        it = pair[1]
        if it.box is not None:
            return -(it.box[2] - it.box[0]) * (it.box[3] - it.box[1])
        return 0.0

    groups: list[str] = []
    legend: list[tuple[int, Any, tuple[int, int, int]]] = []
    for pos, item in sorted(enumerate(items), key=area):
        color = colors[pos]
        hex_color = to_hex(color)
        text = label_text(item)
        body: list[str] = [f"<title>{_e(item.label)}</title>"]
        if item.box is not None:
            x0, y0, x1, y1 = box_to_pixels(item.box, width, height)
            if item.mask is not None and item.mask.size:
                href = _mask_png(item.mask, color, float(st.mask_alpha), st.mask_outline)
                body.append(
                    f'<image href="{href}" x="{x0}" y="{y0}" width="{max(0, x1 - x0)}" '
                    f'height="{max(0, y1 - y0)}" preserveAspectRatio="none"/>'
                )
            stroke = "none" if (item.mask is not None or not st.show_boxes) else hex_color
            body.append(
                f'<rect class="snb-box" x="{x0 + lw / 2:.1f}" y="{y0 + lw / 2:.1f}" '
                f'width="{max(0.0, x1 - x0 - lw):.1f}" height="{max(0.0, y1 - y0 - lw):.1f}" '
                f'fill="none" stroke="{stroke}" stroke-width="{lw}" pointer-events="all"/>'
            )
            if st.show_labels and text:
                chip_h = layout_text(text, st.font_size, st.font, st.lang).height + max(2, round(st.font_size * 0.25))
                body.append(_chip(text, x0, y0 - chip_h if y0 - chip_h >= 0 else y0, color, st, width, height))
            kind = "mask" if item.mask is not None else "box"
        elif item.point is not None:
            px, py = point_to_pixels(item.point, width, height)
            r, ring = st.point_radius, max(1, round(st.point_radius * 0.4))
            body.append(f'<circle cx="{px}" cy="{py}" r="{r + ring}" fill="#ffffff"/>')
            body.append(f'<circle cx="{px}" cy="{py}" r="{r}" fill="{hex_color}"/>')
            if st.show_labels and text:
                lay = layout_text(text, st.font_size, st.font, st.lang)
                chip_w = lay.width + 2 * max(2, round(st.font_size * 0.25))
                x = point_label_x(px, r + ring, chip_w, width)
                body.append(_chip(text, x, py - lay.height / 2, color, st, width, height))
            kind = "point"
        elif item.box3d is not None:
            segments, depths = box3d_segments(item.box3d, width, height, st.fov)
            if len(segments):
                ref = float(np.median(depths))
                for (a, b), depth in zip(segments, depths, strict=True):
                    w = lw * min(2.5, max(0.5, ref / max(float(depth), NEAR_PLANE)))
                    body.append(
                        f'<line x1="{_num(a[0])}" y1="{_num(a[1])}" x2="{_num(b[0])}" y2="{_num(b[1])}" '
                        f'stroke="{hex_color}" stroke-width="{_num(w)}" stroke-linecap="round"/>'
                    )
                centre = np.asarray(item.box3d[:3], dtype=np.float64)
                if centre[1] > NEAR_PLANE:
                    u, v = project_points(centre[None, :], width, height, st.fov)[0]
                else:
                    u, v = segments[0, 0]
                if st.show_labels and text:
                    lay = layout_text(text, st.font_size, st.font, st.lang)
                    body.append(_chip(text, u - lay.width / 2, v - lay.height / 2, color, st, width, height))
            kind = "box3d"
        else:
            legend.append((pos, item, color))
            continue
        groups.append(
            f'<g class="snb-item snb-{kind}" data-index="{pos}" data-label="{_e(item.label)}">{"".join(body)}</g>'
        )

    if legend and st.legend:
        line_h = layout_text("Ag", st.font_size, st.font, st.lang).height + max(2, round(st.font_size * 0.25))
        margin = max(4, st.font_size // 2)
        y = height - margin - line_h * (len(legend) + 1)
        groups.append(
            f'<g class="snb-legend">{_chip("not in frame:", margin, y, (40, 40, 40), st, width, height)}</g>'
        )
        for row, (pos, item, color) in enumerate(legend, start=1):
            text = label_text(item) or "(no label)"
            groups.append(
                f'<g class="snb-item snb-offframe" data-index="{pos}" data-label="{_e(item.label)}">'
                f"<title>{_e(item.label)}</title>{_chip(text, margin, y + row * line_h, color, st, width, height)}</g>"
            )

    css = (
        f"#{uid} .snb-item{{transition:opacity .12s}}"
        f"#{uid} svg:has(.snb-item:hover) .snb-item:not(:hover){{opacity:.2}}"
        f"#{uid} .snb-item:hover .snb-box{{stroke-width:{lw * 2}}}"
    )
    title = f"{len(items)} objects: " + ", ".join(it.label for it in items[:20])
    return (
        f'<div class="snb-overlay" id="{uid}" style="max-width:100%;line-height:0">'
        f"<style>{css}</style>"
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{min(width, max_side) if width >= height else round(width * min(1, max_side / height))}" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{_e(title)}" '
        f'font-family="sans-serif">'
        f'<image href="{data_url(data, mime)}" x="0" y="0" width="{width}" height="{height}" '
        f'preserveAspectRatio="none"/>'
        f"{''.join(groups)}</svg></div>"
    )
