"""One label layout for draw, to_html and plot: chips never overlap, and every full label is shown.

``layout_labels`` decides where each item's label chip goes (the search is in ``_placement``),
how long labels wrap (at a width that fits, never cut with "…"), and, when a crowded picture
has no room, which items get a short numbered tag on the picture plus a legend entry with the
full text. The legend is a translucent panel in the emptiest corner (default, the picture keeps
its size), beside or below the picture (``legend="outside"``: the picture grows), or off
(``legend=False``: labels that find no room are shortened with "…" or left out, and off-frame
items are not listed). :func:`label_boxes` is the public view of the same layout.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ._placement import W_EXTRA_LINE, W_WIDE, Obstacles, Request, Solver, _overlap
from .fonts import latin_font_path
from .geometry import point_to_pixels
from .legend import LegendGroup, legend_layout, legend_spot
from .projection import NEAR_PLANE, box3d_segments, project_points
from .text import layout_text, line_metrics, normalize_label, wrap_text

__all__ = ["Placement", "LabelLayout", "ItemGeometry", "item_geometry", "layout_labels", "label_boxes", "chip_padding"]


@dataclass(frozen=True)
class Placement:
    """One chip, tag or legend entry as drawn.

    Attributes:
        index: Position in ``result.items`` of the item (for a legend entry: its first item).
        box: ``(x0, y0, x1, y1)`` in pixels of the picture ``snb.draw`` returns (half-open).
        lines: The text shown, one string per line: the whole label, wrapped (a tag shows
            its number; a legend entry shows the full label next to the number).
        kind: ``"label"`` (a chip with the label), ``"tag"`` (a numbered tag on the picture)
            or ``"legend"`` (an entry of the legend).
        color: Fill colour of the chip (legend: of the swatch).
        tag: The number on a tag or legend swatch (``None`` for chips and off-frame entries).
        indices: Every item a legend entry stands for (items with the same label share one).
        font_size: Text size in pixels.
    """

    index: int
    box: tuple[int, int, int, int]
    lines: tuple[str, ...]
    kind: str = "label"
    color: tuple[int, int, int] = (0, 0, 0)
    tag: str | None = None
    indices: tuple[int, ...] = ()
    font_size: int = 0
    ascent: int = field(default=0, repr=False)
    line_height: int = field(default=0, repr=False)
    text_x: int = field(default=0, repr=False)
    text_y: int = field(default=0, repr=False)
    swatch_width: int = field(default=0, repr=False)


@dataclass
class LabelLayout:
    """Where every chip, tag and legend entry goes (see :func:`layout_labels`).

    Attributes:
        width, height: Size of the drawn picture (larger than the photo when the legend is outside).
        picture_size: Size of the photo itself (drawn at the top-left corner).
        placements: Chips and tags in item order, then legend entries.
        legend_box: The legend panel ``(x0, y0, x1, y1)``, or None.
        legend_outside: True when the legend panel lies outside the photo.
        legend_clipped: True when the legend did not fit inside the picture and is cut at its edges.
        notes: Legend rows that are not items (``(text, box, font_size)``, e.g. "not in frame").
        missing: Characters no font could draw.
    """

    width: int
    height: int
    picture_size: tuple[int, int]
    placements: list[Placement]
    legend_box: tuple[int, int, int, int] | None = None
    legend_outside: bool = False
    notes: list[tuple[str, tuple[int, int, int, int], int, int]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    legend_clipped: bool = False


@dataclass(frozen=True)
class ItemGeometry:
    """What an item looks like in pixels: its kind, the rectangle its label belongs to, 3D lines."""

    kind: str  # "box", "mask", "point", "box3d" or "none"
    rect: tuple[float, float, float, float] | None
    xyxy: tuple[int, int, int, int] | None = None
    lines3d: tuple = ()


def chip_padding(font_size: int) -> tuple[int, int]:
    """``(horizontal, vertical)`` padding of a chip around its text, in pixels."""
    pad = max(2, round(font_size * 0.25))
    return pad, pad


def _box3d(item: Any, st: Any, width: int, height: int) -> ItemGeometry:
    segments, depths = box3d_segments(item.box3d, width, height, st.fov)
    if not len(segments):
        return ItemGeometry("box3d", None)
    ref = float(np.median(depths))
    lines = tuple(
        ((tuple(map(float, a)), tuple(map(float, b))), max(1, int(round(st.line_width * min(2.5, max(0.5, ref / max(float(d), NEAR_PLANE)))))))
        for (a, b), d in zip(segments, depths, strict=True)
    )
    xs, ys = segments[..., 0], segments[..., 1]
    rect = (max(float(xs.min()), 0.0), max(float(ys.min()), 0.0), min(float(xs.max()), width), min(float(ys.max()), height))
    centre = np.asarray(item.box3d[:3], dtype=np.float64)
    if centre[1] > NEAR_PLANE:
        u, v = project_points(centre[None, :], width, height, st.fov)[0]
        if rect[0] <= u <= rect[2] and rect[1] <= v <= rect[3]:  # a box around the centre, for the centred candidate
            half_w, half_h = min(u - rect[0], rect[2] - u), min(v - rect[1], rect[3] - v)
            rect = (u - half_w, v - half_h, u + half_w, v + half_h) if half_w > 2 and half_h > 2 else rect
    if rect[2] <= rect[0] or rect[3] <= rect[1]:
        return ItemGeometry("box3d", None, lines3d=lines)
    return ItemGeometry("box3d", rect, lines3d=lines)


def item_geometry(items: Sequence[Any], st: Any, width: int, height: int) -> list[ItemGeometry]:
    """Pixel geometry of every item (``st`` is a resolved ``Style``)."""
    items = list(items)
    # Every box at once: the same numbers as ``box_to_pixels`` (round half to even, clipped to the frame).
    boxed = [k for k, item in enumerate(items) if item.box is not None]
    pixels: dict[int, tuple[int, int, int, int]] = {}
    if boxed:
        arr = np.array([items[k].box for k in boxed], dtype=np.float64).reshape(-1, 4) * (width, height, width, height)
        arr = np.clip(np.round(arr), 0, (width, height, width, height)).astype(np.int64)
        pixels = dict(zip(boxed, map(tuple, arr.tolist()), strict=True))
    out = []
    for k, item in enumerate(items):
        if item.box is not None:
            xyxy = pixels[k]
            x0, y0, x1, y1 = xyxy
            rect = (float(x0), float(y0), float(max(x1, x0 + 1)), float(max(y1, y0 + 1)))
            out.append(ItemGeometry("mask" if item.mask is not None else "box", rect, xyxy))
        elif item.point is not None:
            px, py = point_to_pixels(item.point, width, height)
            r = st.point_radius + max(1, round(st.point_radius * 0.4))
            out.append(ItemGeometry("point", (float(px - r), float(py - r), float(px + r + 1), float(py + r + 1))))
        elif item.box3d is not None:
            out.append(_box3d(item, st, width, height))
        else:
            out.append(ItemGeometry("none", None))
    return out


def _chip(lines: Sequence[str], size: int, st: Any) -> tuple[int, int, int, int]:
    """``(width, height, ascent, line_height)`` of a chip showing ``lines``."""
    return _chip_cached(tuple(lines), size, st.font, st.lang)


@lru_cache(maxsize=4096)
def _chip_cached(lines: tuple[str, ...], size: int, font, lang) -> tuple[int, int, int, int]:
    metrics = [line_metrics(line, size, font, lang) for line in lines]
    ascent = max(m[1] for m in metrics)
    line_h = ascent + max(m[2] for m in metrics)
    pad_x, pad_y = chip_padding(size)
    return max(m[0] for m in metrics) + 2 * pad_x, line_h * len(metrics) + pad_y, ascent, line_h


def _variants(text: str, rect, st: Any, width: int, height: int, natural: int | None = None) -> list[tuple[tuple[str, ...], float]]:
    """Line-wrapping choices of a chip: ``(lines, penalty)``; extra lines and chips wider than 40% of the picture cost a little.

    ``natural``: the text's width on one line, when already measured.
    """
    fs = st.font_size
    pad_x, _ = chip_padding(fs)
    max_text = width - 2 * pad_x
    if natural is None:
        natural = line_metrics(text, fs, st.font, st.lang)[0]
    choices: list[tuple[str, ...]] = []
    if natural <= max_text:
        choices.append((text,))
    if natural > min(max_text, 10 * fs):
        obj_w = rect[2] - rect[0] - 2 * pad_x
        targets = {max(obj_w, 10 * fs), 0.3 * width, 0.5 * width, max_text}
        for target in sorted(targets):
            target = min(max_text, max(target, min(6 * fs, max_text)))
            if target >= natural:
                continue
            lines = wrap_text(text, fs, fs * int(target // fs) if target >= fs else target, st.font, st.lang)
            if lines and lines not in choices:
                choices.append(lines)
    out = []
    for lines in choices[:4]:
        w, h, _, _ = _chip(lines, fs, st)
        if w <= width and h <= height:
            out.append((lines, W_EXTRA_LINE * (len(lines) - 1) + W_WIDE * max(0.0, w / width - 0.4)))
    return out


def _shortened(text: str, st: Any, width: int) -> list[tuple[tuple[str, ...], float]]:
    """Single-line shortened forms (legend=False only): the one place a label is cut with "…"."""
    out = []
    for keep in (0.6, 0.35, 0.2):
        n = max(3, int(len(text) * keep))
        if n < len(text):
            line = text[: n - 1].rstrip() + "…"
            if layout_text(line, st.font_size, st.font, st.lang).width <= width - 2 * chip_padding(st.font_size)[0]:
                out.append(((line,), 1.0 - keep))
    return out


def _legend_mode(value: Any) -> str | None:
    if value is False or value is None:
        return None
    if value is True or value == "inside":
        return "inside"
    if value == "outside":
        return "outside"
    raise ValueError(f"legend must be True, False, 'inside' or 'outside', got {value!r}")


class _Planner:
    """The layout of one picture: chip requests, rounds of placement, tags and the legend."""

    def __init__(self, items, colors, st, width: int, height: int, geometry):
        self.items, self.colors, self.st = list(items), list(colors), st
        self.width, self.height = int(width), int(height)
        self.geo = geometry if geometry is not None else item_geometry(self.items, st, self.width, self.height)
        self.texts = [normalize_label(it.label) for it in self.items]
        self.mode = _legend_mode(st.legend)
        rects = np.array([g.rect if g.rect is not None else (np.nan,) * 4 for g in self.geo], dtype=np.float64).reshape(-1, 4)
        gap = max(2, round(st.font_size * 0.15))
        self.solver = Solver(self.width, self.height, Obstacles(rects, [g.kind for g in self.geo]), st.font_size, gap)
        self.area = np.nan_to_num((rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1]), nan=0.0)
        self._wraps: dict[str, bool] = {}  # text -> whether its chip may wrap (then its variants depend on the object's width)
        self._natural: dict[str, int] = {}  # text -> its width on one line

    def _order(self, reqs: Sequence[Request]) -> list[int]:
        """Smaller objects first (their chips have fewer good places), then item order."""
        items = np.array([req.item for req in reqs], dtype=np.int64)
        return np.lexsort((items, self.area[items])).tolist() if len(items) else []

    def _requests(self, indices, variants_of, key_of=None) -> tuple[list[Request], dict[int, list]]:
        """Chip requests of ``indices``; items with the same ``key_of(i)`` share one measured set of variants."""
        reqs, lines_of = [], {}
        memo: dict[Any, tuple] = {}
        fs = self.st.font_size
        for i in indices:
            key = key_of(i) if key_of is not None else None
            found = memo.get(key) if key is not None else None
            if found is None:
                variants = variants_of(i)
                found = (
                    [_chip(lines, fs, self.st)[:2] for lines, _ in variants],
                    [pen for _, pen in variants],
                    [lines for lines, _ in variants],
                )
                if key is not None:
                    memo[key] = found
            if not found[0]:
                continue
            reqs.append(Request(i, found[0], found[1]))
            lines_of[i] = found[2]
        return reqs, lines_of

    def _chip_key(self, i: int):
        """What an item's chip variants depend on: its text, and its width when the text may wrap."""
        text = self.texts[i]
        wraps = self._wraps.get(text)
        if wraps is None:
            st = self.st
            natural = self._natural[text] = line_metrics(text, st.font_size, st.font, st.lang)[0]
            wraps = self._wraps[text] = natural > min(self.width - 2 * chip_padding(st.font_size)[0], 10 * st.font_size)
        if wraps:
            rect = self.geo[i].rect
            return (text, rect[2] - rect[0])
        return text

    def _place(self, reqs, cand, items: set[int]) -> dict[int, tuple]:
        """Greedy placement of the chips of ``items`` (on the solver's current occupancy)."""
        order = [r for r in self._order(reqs) if reqs[r].item in items]
        return {reqs[r].item: value for r, value in self.solver.place(reqs, cand, order).items()}

    def run(self) -> LabelLayout:
        st = self.st
        chip_items = self.chip_items = [i for i, t in enumerate(self.texts) if st.show_labels and t and self.geo[i].rect is not None]
        offframe = [i for i, g in enumerate(self.geo) if g.rect is None] if self.mode else []
        reqs, lines_of = self._requests(
            chip_items,
            lambda i: _variants(self.texts[i], self.geo[i].rect, st, self.width, self.height, self._natural.get(self.texts[i])),
            self._chip_key,
        )
        unplaceable = {i for i in chip_items if i not in lines_of}  # too long for this picture even wrapped
        cand = self.solver.candidates(reqs)  # the solver is new: its grid holds only the dots
        chosen = self._place(reqs, cand, set(lines_of))
        tagged = (set(lines_of) - set(chosen)) | unplaceable if self.mode else set()
        legend = None
        if self.mode and (tagged or offframe):
            legend = self._legend(tagged, offframe, chosen)
        marked = None
        while legend is not None and not legend.outside:
            # The panel takes its corner; chips under it move elsewhere or join it (it may grow, then repeat).
            if marked != legend.box:
                if marked is not None:
                    self.solver.unmark(marked)
                self.solver.mark(legend.box)
                marked = legend.box
            hit = {i for i, (_, b) in chosen.items() if _overlap(b, legend.box)}
            if not hit:
                break
            for i in hit:
                self.solver.unmark(chosen.pop(i)[1])
            moved = self._place(reqs, cand, hit)
            chosen.update(moved)
            if len(moved) < len(hit):
                tagged |= hit - set(moved)
                legend = self._legend(tagged, offframe, chosen, corner=legend.corner)
        return self._finish(chosen, lines_of, tagged, offframe, legend, unplaceable)

    def _legend(self, tagged: set[int], offframe: list[int], chosen, corner: int | None = None):
        groups: list[LegendGroup] = []
        by_text: dict[str, LegendGroup] = {}
        for i in sorted(tagged):
            key = self.texts[i]
            if key in by_text:
                by_text[key].indices.append(i)
            else:
                by_text[key] = LegendGroup(str(len(by_text) + 1), key, [i], self.colors[i])
                groups.append(by_text[key])
        off_groups: dict[str, LegendGroup] = {}
        for i in offframe:
            key = self.texts[i] or "(no label)"
            if key in off_groups:
                off_groups[key].indices.append(i)
            else:
                off_groups[key] = LegendGroup(None, key, [i], self.colors[i])
        layout = legend_layout(groups, list(off_groups.values()), self.st, self.width, self.height, self.mode)
        if not layout.outside:
            chips = [b for _, b in chosen.values()]
            layout = legend_spot(layout, self.solver, chips, self.width, self.height, corner)
        return layout

    def _finish(self, chosen, lines_of, tagged, offframe, legend, unplaceable) -> LabelLayout:
        st, fs = self.st, self.st.font_size
        pad_x, pad_y = chip_padding(fs)
        placements: dict[int, list[Placement]] = {}
        for i, (variant, box) in chosen.items():
            lines = lines_of[i][variant]
            _, _, ascent, line_h = _chip(lines, fs, st)
            placements[i] = [Placement(i, box, tuple(lines), "label", self.colors[i], None, (), fs, ascent, line_h, pad_x, pad_y // 2)]
        # the solver's occupancy holds the chips (and an inside legend): tags go in what is left
        if self.mode is None:
            failed = [i for i in self.chip_items if i not in chosen]
            self._place_extra(failed, placements, lambda i: _shortened(self.texts[i], st, self.width), "label")
        elif legend is not None:
            tag_of = {i: g.tag for g in legend.groups for i in g.indices if g.tag}
            self._place_extra(sorted(tag_of), placements, lambda i: [((tag_of[i],), 0.0)], "tag", tag_of, tag_of.get)
        out = [p for i in sorted(placements) for p in placements[i]]
        notes = []
        if legend is not None:
            out.extend(legend.placements)
            notes = legend.notes
        missing = set()
        latin = st.font is None and latin_font_path() is not None
        for line, size in {(line, p.font_size) for p in out for line in p.lines}:
            if latin and line.isascii() and line.isprintable():
                continue  # the default Latin font (DejaVu Sans) draws every printable ASCII character
            missing.update(layout_text(line, size, st.font, st.lang).missing)
        width = legend.canvas[0] if legend is not None and legend.outside else self.width
        height = legend.canvas[1] if legend is not None and legend.outside else self.height
        return LabelLayout(
            width, height, (self.width, self.height), out, legend.box if legend else None,
            bool(legend and legend.outside), notes, missing, bool(legend and legend.clipped),
        )

    def _place_extra(self, indices, placements, variants_of, kind: str, tags=None, key_of=None) -> None:
        st, fs = self.st, self.st.font_size
        pad_x, pad_y = chip_padding(fs)
        reqs, lines_of = self._requests(indices, variants_of, key_of)
        if not reqs:
            return
        cand = self.solver.candidates(reqs)
        chosen = self.solver.place(reqs, cand, self._order(reqs))
        for r, (variant, box) in chosen.items():
            i = reqs[r].item
            lines = lines_of[i][variant]
            _, _, ascent, line_h = _chip(lines, fs, st)
            tag = tags[i] if tags else None
            placements.setdefault(i, []).append(Placement(i, box, tuple(lines), kind, self.colors[i], tag, (), fs, ascent, line_h, pad_x, pad_y // 2))


#: The last layouts, by what they depend on (a redraw of the same answer reuses its layout).
_LAYOUTS: OrderedDict[tuple, LabelLayout] = OrderedDict()
_LAYOUTS_KEPT = 16
_LAYOUTS_LOCK = threading.Lock()


def _layout_key(items, colors, st, width: int, height: int) -> tuple | None:
    try:
        style = tuple(
            tuple(tuple(c) if isinstance(c, (list, tuple)) else c for c in v) if isinstance(v, (list, tuple)) else v
            for v in vars(st).values()
        )
        things = tuple(
            (str(it.label), it.box, it.point, tuple(it.box3d) if it.box3d is not None else None, it.mask is not None)
            for it in items
        )
        key = (int(width), int(height), style, tuple(map(tuple, colors)), things)
        hash(key)
    except TypeError:  # something unhashable in a style option: no caching
        return None
    return key


def layout_labels(
    items: Sequence[Any], colors: Sequence[tuple[int, int, int]], st: Any, width: int, height: int, geometry=None,
    *, stacklevel: int = 3,
) -> LabelLayout:
    """Lay out every label of ``items`` on a ``width`` x ``height`` picture (``st``: a resolved Style).

    The last few layouts are kept: drawing the same answer again reuses its layout.
    Warns (UserWarning) when the legend cannot fit inside the picture (it is then cut at the edges).
    """
    key = _layout_key(items, colors, st, width, height)
    layout = _LAYOUTS.get(key) if key is not None else None
    if layout is None:
        layout = _Planner(items, colors, st, width, height, geometry).run()
        if key is not None:
            with _LAYOUTS_LOCK:
                _LAYOUTS[key] = layout
                while len(_LAYOUTS) > _LAYOUTS_KEPT:
                    _LAYOUTS.popitem(last=False)
    if layout.legend_clipped:
        entries = sum(p.kind == "legend" for p in layout.placements)
        warnings.warn(
            f"the legend ({entries} {'entry' if entries == 1 else 'entries'}) does not fit inside the "
            f"{width}x{height} picture, so it is cut at the picture's edges. Pass legend='outside' to show it in "
            "full beside the picture (which grows), draw on a bigger picture or use a smaller font_size.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return layout


def label_boxes(image: Any, result: Any, **style: Any) -> list[Placement]:
    """Where ``snb.draw(image, result, **style)`` puts every label chip, tag and legend entry.

    Args:
        image: The picture (any input ``snb.draw`` takes; only its size matters).
        result: The :class:`~spatial_nb.result.Result` (or a list of Items).
        **style: Drawing options (see ``spatial_nb.drawing.Style``).

    Returns:
        One :class:`Placement` per chip, tag and legend entry: ``.index`` (the item's position
        in ``result.items``), ``.box`` (pixels of the drawn picture), ``.lines`` (the text shown).

    Example:
        >>> from PIL import Image
        >>> from spatial_nb.result import Item, Result
        >>> [p.lines for p in label_boxes(Image.new("RGB", (200, 100)), Result([Item("cat", box=(0.3, 0.4, 0.6, 0.9))]))]
        [('cat',)]
    """
    from .colors import item_colors
    from .drawing import picture_size, resolve_style

    items = list(result)
    width, height = picture_size(image)
    st = resolve_style(width, height, **style)
    return layout_labels(items, item_colors(items, st.color_by, st.palette), st, width, height).placements
