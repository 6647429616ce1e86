"""Matplotlib views of a Result: ``plot`` on one Axes, ``plot_grid`` to compare several results.

Boxes are patches, masks box-local RGBA images placed with ``extent`` (never a full-frame
layer), points scatter dots with a white ring, 3D boxes line segments from
:mod:`spatial_nb.projection`. The packaged Noto Sans CJK collection is registered with
matplotlib's font manager, and each label gets DejaVu Sans plus the CJK face that suits it
(matplotlib falls back per glyph). Big photos are shown downscaled; coordinates stay in
full-resolution pixels. Colour emoji are not drawn by matplotlib (bitmap fonts).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from .colors import item_colors, text_color_for
from .drawing import check_aspect, label_text, resolve_style
from .fonts import cjk_face, cjk_font_path
from .geometry import box_to_pixels, point_to_pixels
from .images import load_image
from .projection import NEAR_PLANE, box3d_segments, project_points

__all__ = ["plot", "plot_grid", "register_fonts"]

_PLOT_MAX_SIDE = 2048
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


#: Fraction of the image near an edge where a label is turned to grow inwards.
_EDGE = 0.1
#: Padding (points) around label text, plus half a point.
_PAD = 2.0


def _edge_align(value: float, size: float, low: str, middle: str, high: str) -> str:
    """Alignment that keeps a label anchored at ``value`` (0..size) growing away from the nearest edge."""
    if value < _EDGE * size:
        return low
    return high if value > (1 - _EDGE) * size else middle


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


def plot(image: Any, result: Any, ax: Any = None, *, title: str | None = None, **style: Any):
    """Draw ``image`` and ``result`` on a matplotlib Axes and return the Axes.

    Args:
        image: Any image input (path, bytes, PIL, ndarray); EXIF orientation is honoured.
        result: The :class:`~spatial_nb.result.Result` to show.
        ax: Axes to draw on; a new figure is made when None.
        title: Optional Axes title.
        **style: Drawing options (see ``spatial_nb.drawing.Style``); sizes are in points for
            text and line widths scale with the figure.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> from spatial_nb.result import Item, Result
        >>> ax = plot(Image.new("RGB", (64, 48)), Result([Item("猫", box=(0.1, 0.1, 0.5, 0.5))]))
        >>> len(ax.patches)
        1
    """
    from matplotlib.patches import Rectangle

    img = load_image(image)
    width, height = img.size
    check_aspect(width, height, getattr(result, "image_size", None))
    st = resolve_style(width, height, **style)
    explicit = {k for k in style if k in ("line_width", "font_size")}
    items = list(result)
    colors = item_colors(items, st.color_by, st.palette)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 10 * height / max(width, 1)))
    shown = img
    if max(width, height) > _PLOT_MAX_SIDE:
        scale = _PLOT_MAX_SIDE / max(width, height)
        shown = img.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
    ax.imshow(np.asarray(shown), extent=(0, width, height, 0), interpolation="antialiased")
    lw = st.line_width if "line_width" in explicit else 2.0
    fs = st.font_size if "font_size" in explicit else 9.0
    legend = []
    # Masks first, bigger ones first, so a small mask inside a big one stays visible (as in draw).
    order = sorted(range(len(items)), key=lambda i: -_mask_area(items[i]))
    for item, color in ((items[i], colors[i]) for i in order):
        rgb = tuple(c / 255.0 for c in color)
        fg = tuple(c / 255.0 for c in text_color_for(color))
        text = label_text(item)
        anchor = None
        if item.box is not None:
            x0, y0, x1, y1 = box_to_pixels(item.box, width, height)
            if item.mask is not None and item.mask.size and x1 > x0 and y1 > y0:
                ax.imshow(_rgba_mask(item.mask, color, st.mask_alpha), extent=(x0, x1, y1, y0), interpolation="bilinear")
                if st.mask_outline:
                    ax.contour(
                        np.linspace(x0, x1, item.mask.shape[1]),
                        np.linspace(y0, y1, item.mask.shape[0]),
                        item.mask.astype(np.float32),
                        levels=[127.5],
                        colors=[rgb],
                        linewidths=lw * 0.75,
                    )
            elif st.show_boxes:
                ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=rgb, linewidth=lw))
            # Above the box, or inside it at the top edge; from the box's right edge in the right half.
            x, ha = (x0, "left") if x0 + x1 <= width else (x1, "right")
            anchor = (x, y0, ha, "bottom") if y0 >= _EDGE * height else (x, y0, ha, "top")
        elif item.point is not None:
            px, py = point_to_pixels(item.point, width, height)
            ax.scatter([px], [py], s=64, c=[rgb], edgecolors="white", linewidths=2, zorder=3)
            gap = 0.01 * width
            x, ha = (px + gap, "left") if px <= (1 - 3 * _EDGE) * width else (px - gap, "right")
            anchor = (x, py, ha, _edge_align(py, height, "top", "center", "bottom"))
        elif item.box3d is not None:
            segments, depths = box3d_segments(item.box3d, width, height, st.fov)
            if len(segments):
                from matplotlib.collections import LineCollection

                ref = float(np.median(depths))
                widths = [lw * min(2.5, max(0.5, ref / max(float(d), NEAR_PLANE))) for d in depths]
                ax.add_collection(LineCollection(segments, colors=[rgb], linewidths=widths))
                centre = np.asarray(item.box3d[:3], dtype=np.float64)
                u, v = (
                    project_points(centre[None, :], width, height, st.fov)[0] if centre[1] > NEAR_PLANE else segments[0, 0]
                )
                u, v = float(min(max(u, 0), width)), float(min(max(v, 0), height))
                ha = _edge_align(u, width, "left", "center", "right")
                anchor = (u, v, ha, _edge_align(v, height, "top", "center", "bottom"))
        else:
            legend.append((text, rgb))
            continue
        if st.show_labels and text and anchor is not None:
            x, y, ha, va = anchor
            # Shifted by the chip's padding (points) so the whole chip is on the anchor's side.
            shift = {"left": _PAD, "right": -_PAD, "bottom": _PAD, "top": -_PAD}
            ax.annotate(
                text, (x, y), xytext=(shift.get(ha, 0.0), shift.get(va, 0.0)), textcoords="offset points",
                color=fg, fontsize=fs, ha=ha, va=va, fontfamily=_families(text, st.lang), annotation_clip=False,
                clip_on=True, bbox={"facecolor": rgb, "edgecolor": "none", "pad": _PAD - 0.5, "alpha": 0.9},
            )
    if legend and st.legend:
        lines = "\n".join(["not in frame:"] + [t or "(no label)" for t, _ in legend])
        ax.text(
            0.01, 0.01, lines, transform=ax.transAxes, fontsize=fs, va="bottom", ha="left", color="white",
            fontfamily=_families(lines, st.lang), bbox={"facecolor": (0.15, 0.15, 0.15), "alpha": 0.8, "pad": 3},
        )
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
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
    aspect = img.height / max(img.width, 1)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=figsize or (4.5 * ncols, 4.5 * aspect * nrows + 0.4 * nrows), squeeze=False
    )
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
