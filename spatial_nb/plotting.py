"""Matplotlib views of a Result: ``plot`` on one Axes, ``plot_grid`` to compare several results.

Boxes are patches, masks box-local RGBA images placed with ``extent`` (never a full-frame
layer), points scatter dots with a white ring, 3D boxes line segments from
:mod:`spatial_nb.projection`. Labels follow the one layout of :mod:`spatial_nb.labels` (the
same chips, tags and legend as ``draw``): chips are patches and text is drawn as vector glyph
outlines in image pixels, so it scales with the Axes and always fits its chip. The packaged Noto
Sans CJK collection is registered with matplotlib's font manager (it falls back per glyph).
The figure size is capped whatever the picture's shape; colour emoji are not drawn (bitmap fonts).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from .colors import item_colors, text_color_for
from .drawing import check_aspect, resolve_style
from .fonts import cjk_face, cjk_font_path
from .images import load_image
from .labels import item_geometry, layout_labels
from .legend import NOTE_RGB, PANEL_ALPHA, PANEL_RGB, TEXT_RGB
from .text import layout_text

__all__ = ["plot", "plot_grid", "register_fonts", "figure_size"]

_PLOT_MAX_SIDE = 2048
#: Longest and shortest side of a figure ``plot`` makes, in inches.
FIGURE_MAX_INCHES, FIGURE_MIN_INCHES = 10.0, 1.5
_CJK_NAMES = ("Noto Sans CJK JP", "Noto Sans CJK KR", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK HK")


@lru_cache(maxsize=1)
def register_fonts() -> bool:
    """Register the packaged CJK collection with matplotlib (once); True when available."""
    path = cjk_font_path()
    if path is None:
        return False
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(path)
    except Exception:  # noqa: BLE001 - an unreadable font must not break plotting
        return False
    return True


@lru_cache(maxsize=1)
def _registered_cjk_names() -> frozenset[str]:
    from matplotlib import font_manager

    return frozenset(f.name for f in font_manager.fontManager.ttflist if f.name in _CJK_NAMES)


def _families(text: str, lang: str | None) -> list[str]:
    families = ["DejaVu Sans"]
    if register_fonts():
        face = cjk_face(text, lang)
        names = _registered_cjk_names()
        if face is not None and names:
            # Older matplotlib registers only the first face of a collection (JP).
            families.append(_CJK_NAMES[face.index] if _CJK_NAMES[face.index] in names else sorted(names)[0])
    return families


def figure_size(width: int, height: int) -> tuple[float, float]:
    """Inches for a ``width`` x ``height`` picture: longest side 10, none under 1.5 (whatever the shape).

    >>> figure_size(640, 480), figure_size(3, 2000)
    ((10.0, 7.5), (1.5, 10.0))
    """
    scale = FIGURE_MAX_INCHES / max(width, height, 1)
    w, h = width * scale, height * scale
    return (round(min(max(w, FIGURE_MIN_INCHES), FIGURE_MAX_INCHES), 3), round(min(max(h, FIGURE_MIN_INCHES), FIGURE_MAX_INCHES), 3))


def _mask_area(item: Any) -> float:
    if item.mask is None or item.box is None:
        return 0.0
    return (item.box[2] - item.box[0]) * (item.box[3] - item.box[1])


def _rgba_mask(mask: np.ndarray, color, alpha: float) -> np.ndarray:
    inside = np.asarray(mask) > 127
    rgba = np.zeros(inside.shape + (4,), dtype=np.float32)
    rgba[..., :3] = np.asarray(color, dtype=np.float32) / 255.0
    rgba[..., 3] = inside * float(alpha)
    return rgba


def _rgb(color) -> tuple[float, float, float]:
    return tuple(c / 255.0 for c in color)


def _text_patches(lines, size: int, ascent: int, line_h: int, x: float, y: float, color, st, gid: str) -> list:
    """Vector glyph outlines of ``lines`` in image pixels (baselines ``line_h`` apart), squeezed to the measured width."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    patches = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        lay = layout_text(line, size, st.font, st.lang)
        path = TextPath((0, 0), line, size=size, prop=FontProperties(family=_families(line, st.lang)))
        ink = path.get_extents()
        squeeze = min(1.0, lay.width / ink.x1) if ink.x1 > 0 else 1.0
        baseline = y + k * line_h + ascent
        path = path.transformed(Affine2D().scale(squeeze, -1).translate(x, baseline))
        patch = PathPatch(path, facecolor=_rgb(color), edgecolor="none", linewidth=0, zorder=5)
        patch.set_gid(gid)
        patch.set_label(line)
        patches.append(patch)
    return patches


def _draw_labels(ax, layout, st) -> None:
    from matplotlib.patches import Rectangle

    def rect(box, color, alpha=1.0, gid="snb-chip"):
        x0, y0, x1, y1 = box
        patch = Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=_rgb(color), edgecolor="none", alpha=alpha, zorder=4)
        patch.set_gid(gid)
        ax.add_patch(patch)

    if layout.legend_box is not None:
        rect(layout.legend_box, PANEL_RGB, 1.0 if layout.legend_outside else PANEL_ALPHA, "snb-legend")
        for text, box, size, ascent in layout.notes:
            for patch in _text_patches((text,), size, ascent, 0, box[0], box[1], NOTE_RGB, st, "snb-note"):
                ax.add_patch(patch)
    for p in layout.placements:
        x0, y0 = p.box[:2]
        if p.kind == "legend":
            rect((x0, y0, x0 + p.swatch_width, y0 + p.line_height), p.color, gid="snb-swatch")
            if p.tag:
                tag_w = layout_text(p.tag, p.font_size, st.font, st.lang).width
                for patch in _text_patches((p.tag,), p.font_size, p.ascent, p.line_height, x0 + (p.swatch_width - tag_w) / 2, y0,
                                           text_color_for(p.color), st, "snb-tag-text"):
                    ax.add_patch(patch)
            text_color, x, y = TEXT_RGB, x0 + p.text_x, y0
        else:
            rect(p.box, p.color)
            text_color, x, y = text_color_for(p.color), x0 + p.text_x, y0 + p.text_y
        for patch in _text_patches(p.lines, p.font_size, p.ascent, p.line_height, x, y, text_color, st, f"snb-{p.kind}-text"):
            ax.add_patch(patch)


def plot(image: Any, result: Any, ax: Any = None, *, title: str | None = None, **style: Any):
    """Draw ``image`` and ``result`` on a matplotlib Axes and return the Axes.

    Args:
        image: Any image input (path, bytes, PIL, ndarray); EXIF orientation is honoured.
        result: The :class:`~spatial_nb.result.Result` to show.
        ax: Axes to draw on; a new figure (at most 10 inches on its longest side) is made when None.
        title: Optional Axes title.
        **style: Drawing options (see ``spatial_nb.drawing.Style``); label sizes are in image
            pixels, as in ``draw``; line widths are in points and default to 2.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> from spatial_nb.result import Item, Result
        >>> ax = plot(Image.new("RGB", (64, 48)), Result([Item("猫", box=(0.1, 0.1, 0.5, 0.5))]))
        >>> [p.get_gid() for p in ax.patches][:2]
        ['snb-box', 'snb-chip']
    """
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    img = load_image(image)
    width, height = img.size
    check_aspect(width, height, getattr(result, "image_size", None))
    st = resolve_style(width, height, **style)
    items = list(result)
    colors = item_colors(items, st.color_by, st.palette)
    geometry = item_geometry(items, st, width, height)
    layout = layout_labels(items, colors, st, width, height, geometry)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figure_size(layout.width, layout.height))
    shown = img
    if max(width, height) > _PLOT_MAX_SIDE:
        scale = _PLOT_MAX_SIDE / max(width, height)
        shown = img.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
    ax.imshow(np.asarray(shown), extent=(0, width, height, 0), interpolation="antialiased")
    lw = st.line_width if "line_width" in style else 2.0
    # Masks first, bigger ones first, so a small mask inside a big one stays visible (as in draw).
    order = sorted(range(len(items)), key=lambda i: -_mask_area(items[i]))
    for i in order:
        item, color, geo = items[i], colors[i], geometry[i]
        rgb = _rgb(color)
        if geo.kind == "mask":
            x0, y0, x1, y1 = geo.xyxy
            mask = np.asarray(item.mask)
            if mask.size and x1 > x0 and y1 > y0:
                ax.imshow(_rgba_mask(mask, color, st.mask_alpha), extent=(x0, x1, y1, y0), interpolation="bilinear")
                # contour needs at least 2x2 samples: a 1-pixel-wide mask is shown by its fill alone
                if st.mask_outline and min(mask.shape) >= 2 and (mask > 127).any() and (mask <= 127).any():
                    ax.contour(
                        np.linspace(x0, x1, mask.shape[1]), np.linspace(y0, y1, mask.shape[0]),
                        mask.astype(np.float32), levels=[127.5], colors=[rgb], linewidths=lw * 0.75,
                    )
        elif geo.kind == "box" and st.show_boxes:
            x0, y0, x1, y1 = geo.xyxy
            patch = Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=rgb, linewidth=lw)
            patch.set_gid("snb-box")
            ax.add_patch(patch)
        elif geo.kind == "point":
            px, py = (geo.rect[0] + geo.rect[2] - 1) / 2, (geo.rect[1] + geo.rect[3] - 1) / 2
            ax.scatter([px], [py], s=64, c=[rgb], edgecolors="white", linewidths=2, zorder=3)
        elif geo.kind == "box3d" and geo.lines3d:
            segments = [seg for seg, _ in geo.lines3d]
            widths = [lw * w / max(st.line_width, 1) for _, w in geo.lines3d]
            ax.add_collection(LineCollection(segments, colors=[rgb], linewidths=widths))
    _draw_labels(ax, layout, st)
    ax.set_xlim(0, layout.width)
    ax.set_ylim(layout.height, 0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontfamily=_families(title, st.lang), fontsize=10)
    return ax


def plot_grid(image: Any, results: Any, titles: Any = None, ncols: int = 3, figsize: Any = None, **style: Any):
    """Compare several results on the same image side by side; returns the Figure.

    Args:
        image: The picture (loaded once).
        results: Sequence of Results (e.g. different prompts, models or temperatures);
            a dict maps titles to results.
        titles: Optional titles, one per result (defaults: the result's model and prompt).
        ncols: Panels per row.
        figsize: Figure size in inches (default: 4.5 inches per panel).
        **style: Drawing options for every panel.
    """
    import matplotlib.pyplot as plt

    if isinstance(results, dict):
        titles = list(results) if titles is None else titles
        results = list(results.values())
    results = list(results)
    if not results:
        raise ValueError("plot_grid needs at least one result")
    if titles is not None and len(titles) != len(results):
        raise ValueError(f"got {len(titles)} titles for {len(results)} results")
    img = load_image(image)
    ncols = max(1, min(int(ncols), len(results)))
    nrows = -(-len(results) // ncols)
    panel_w, panel_h = (v * 0.45 for v in figure_size(*img.size))  # at most 4.5 inches a side, whatever the shape
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (panel_w * ncols, (panel_h + 0.4) * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(results):
            ax.set_axis_off()
            continue
        res = results[k]
        if titles is not None:
            title = str(titles[k])
        else:
            req = getattr(res, "request", None) or {}
            title = " · ".join(str(p) for p in (getattr(res, "model", None), req.get("prompt")) if p) or f"result {k + 1}"
        plot(img, res, ax=ax, title=f"{title} ({len(res)})", **style)
    fig.tight_layout()
    return fig
