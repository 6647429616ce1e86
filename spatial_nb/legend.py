"""The legend of a crowded picture: one entry per distinct label, with its tag number and full text.

Entries are wrapped to a column width, in as few columns and at as large a size as fit in
half the picture; the panel goes in the corner that hides the least (objects and chips) — or,
when asked (``legend="outside"``), below a landscape picture or beside a portrait one, which
enlarges the drawn picture. When even the smallest inside legend does not fit (a thumbnail with
many labels), it is cut at the picture's edges rather than changing the picture's size. Items without a position ("not in frame")
follow under a note. Same-label items share one entry (their tags show the same number).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .text import layout_text, wrap_text

__all__ = ["LegendGroup", "LegendLayout", "legend_layout", "legend_spot", "NOT_IN_FRAME", "PANEL_RGB", "PANEL_ALPHA"]

NOT_IN_FRAME = "not in frame:"
#: Panel colour and opacity (inside the picture; outside, the panel is opaque).
PANEL_RGB, PANEL_ALPHA = (24, 24, 24), 0.78
#: Colours of legend text and notes on the panel.
TEXT_RGB, NOTE_RGB = (255, 255, 255), (200, 200, 200)
_SCALES = (1.0, 0.85, 0.7, 0.6, 0.5)
_MAX_AREA = 0.5


@dataclass
class LegendGroup:
    """Items sharing one legend entry: their tag number (None: not in frame), text and swatch colour."""

    tag: str | None
    text: str
    indices: list[int]
    color: tuple[int, int, int]


@dataclass
class LegendLayout:
    """A laid-out legend: its panel box, entries (as placements), notes and the canvas it needs."""

    box: tuple[int, int, int, int]
    placements: list[Any]
    notes: list[tuple[str, tuple[int, int, int, int], int, int]]
    groups: list[LegendGroup]
    outside: bool
    canvas: tuple[int, int]
    font_size: int = 0
    corner: int | None = None
    clipped: bool = False  # inside, but bigger than the picture: cut at its edges


def _rows(groups, off_groups, size: int, text_width: float, st) -> tuple[list[tuple], int, int, int]:
    """Rows ``("entry", group, lines)`` / ``("note", lines)`` plus swatch width, ascent and line height."""
    rows: list[tuple] = [("entry", g, wrap_text(g.text, size, text_width, st.font, st.lang)) for g in groups]
    if off_groups:
        rows.append(("note", wrap_text(NOT_IN_FRAME, size, text_width, st.font, st.lang)))
        rows += [("entry", g, wrap_text(g.text, size, text_width, st.font, st.lang)) for g in off_groups]
    lays = [layout_text(line, size, st.font, st.lang) for row in rows for line in row[-1]]
    ascent = max(lay.ascent for lay in lays)
    line_h = ascent + max(lay.descent for lay in lays)
    pad = max(2, round(size * 0.25))
    tags = [g.tag for g in groups if g.tag]
    swatch = max([layout_text(t, size, st.font, st.lang).width + 2 * pad for t in tags] + [line_h])
    return rows, swatch, ascent, line_h


def _arrange(groups, off_groups, size: int, text_width: float, cols: int, st):
    """Stack rows into ``cols`` columns of similar height; positions relative to the panel's corner."""
    from .labels import Placement

    rows, swatch, ascent, line_h = _rows(groups, off_groups, size, text_width, st)
    pad = max(2, round(size * 0.25))
    gap, col_gap, row_gap = pad, 2 * pad, max(1, pad // 2)
    heights = [len(r[-1]) * line_h + row_gap for r in rows]
    target = sum(heights) / cols
    placements, notes = [], []
    x, y, col_w, used, col = pad, pad, 0, 0, 0
    max_h = 0
    for row, h in zip(rows, heights, strict=True):
        if used and col < cols - 1 and y - pad + h > target * 1.02:
            x += col_w + col_gap
            y, col_w, used, col = pad, 0, 0, col + 1
        if row[0] == "note":
            w = 0
            for k, line in enumerate(row[1]):
                line_w = layout_text(line, size, st.font, st.lang).width
                notes.append((line, (x, y + k * line_h, x + line_w, y + (k + 1) * line_h), size, ascent))
                w = max(w, line_w)
        else:
            g, lines = row[1], row[2]
            text_w = max(layout_text(line, size, st.font, st.lang).width for line in lines)
            w = swatch + gap + text_w
            placements.append(
                Placement(g.indices[0], (x, y, x + w, y + len(lines) * line_h), tuple(lines), "legend", g.color, g.tag,
                          tuple(g.indices), size, ascent, line_h, swatch + gap, 0, swatch)
            )
        col_w = max(col_w, w)
        y += h
        used += 1
        max_h = max(max_h, y - row_gap)
    width, height = x + col_w + pad, max_h + pad
    return placements, notes, (int(width), int(height))


def _shift(layout: LegendLayout, dx: int, dy: int) -> LegendLayout:
    def move(b):
        return (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)

    placements = [replace(p, box=move(p.box)) for p in layout.placements]
    notes = [(t, move(b), s, a) for t, b, s, a in layout.notes]
    return replace(layout, box=move(layout.box), placements=placements, notes=notes)


def legend_layout(groups, off_groups, st, width: int, height: int, mode: str) -> LegendLayout:
    """Lay out the legend for a ``width`` x ``height`` picture (inside: at the origin, see :func:`legend_spot`)."""
    fs = st.font_size
    if mode == "inside":
        tried = set()
        for scale in _SCALES:
            size = fs if fs <= 9 else max(9, round(fs * scale))
            if size in tried:
                continue
            tried.add(size)
            pad = max(2, round(size * 0.25))
            swatch = _rows(groups, off_groups, size, 10**6, st)[1]  # depends on the size only
            for cols in range(1, 7):
                text_width = min(28 * size, (0.9 * width - 2 * pad - (cols - 1) * 2 * pad) / cols - swatch - pad)
                if text_width < min(6 * size, max(2 * size, 0.4 * width)):  # small pictures accept narrow columns
                    break
                placements, notes, (pw, ph) = _arrange(groups, off_groups, size, text_width, cols, st)
                margin = max(4, fs // 2)
                if pw <= width - 2 * margin and ph <= height - 2 * margin and pw * ph <= _MAX_AREA * width * height:
                    return LegendLayout((0, 0, pw, ph), placements, notes, list(groups) + list(off_groups), False, (width, height), size)
        # Nothing fits: the picture keeps its size (draw's promise), so the legend is drawn at its
        # smallest size in one column from the top-left corner and cut at the picture's edges.
        size = fs if fs <= 9 else max(9, round(fs * _SCALES[-1]))
        pad = max(2, round(size * 0.25))
        swatch = _rows(groups, off_groups, size, 10**6, st)[1]
        text_width = max(2 * size, 0.9 * width - 3 * pad - swatch)
        placements, notes, (pw, ph) = _arrange(groups, off_groups, size, text_width, 1, st)
        return LegendLayout((0, 0, pw, ph), placements, notes, list(groups) + list(off_groups), False, (width, height),
                            size, clipped=True)
    # outside: below a landscape picture, beside a portrait one
    pad = max(2, round(fs * 0.25))
    swatch = _rows(groups, off_groups, fs, 10**6, st)[1]
    if width >= height:
        cols = max(1, int((width - 2 * pad) // (36 * fs)))
        text_width = max(6 * fs, (width - 2 * pad - (cols - 1) * 2 * pad) / cols - swatch - pad)
        placements, notes, (pw, ph) = _arrange(groups, off_groups, fs, text_width, cols, st)
        layout = LegendLayout((0, 0, width, ph), placements, notes, list(groups) + list(off_groups), True, (width, height + ph), fs)
        return _shift(layout, 0, height)
    panel_w = int(min(max(0.45 * width, 18 * fs), 40 * fs))
    placements, notes, (pw, ph) = _arrange(groups, off_groups, fs, max(6 * fs, panel_w - 2 * pad - swatch - pad), 1, st)
    layout = LegendLayout((0, 0, pw, max(ph, height)), placements, notes, list(groups) + list(off_groups), True, (width + pw, max(height, ph)), fs)
    return _shift(layout, width, 0)


def legend_spot(layout: LegendLayout, solver, chips, width: int, height: int, corner: int | None = None) -> LegendLayout:
    """Move an inside legend to the corner that hides the least (objects, weighted, and placed chips).

    ``corner`` (0 bottom-left, 1 bottom-right, 2 top-left, 3 top-right) keeps a legend that grew where it was.
    """
    pw, ph = layout.box[2], layout.box[3]
    margin = max(4, solver.font_size // 2)
    if layout.clipped:  # bigger than the picture: start at the top-left corner so its first entries show
        return replace(_shift(layout, min(margin, max(0, width - pw)), min(margin, max(0, height - ph))), corner=2)
    corners = [
        (margin, height - margin - ph),  # bottom-left
        (width - margin - pw, height - margin - ph),  # bottom-right
        (margin, margin),  # top-left
        (width - margin - pw, margin),  # top-right
    ]
    if corner is None:
        chip_arr = np.array(chips, dtype=np.float64).reshape(-1, 4)
        best_cost = None
        for k, (x, y) in enumerate(corners):
            cost = float(solver.cover.total(*solver._cells(np.array([[x, y, x + pw, y + ph]], dtype=np.float64)))[0])
            if len(chip_arr):
                ix = np.clip(np.minimum(chip_arr[:, 2], x + pw) - np.maximum(chip_arr[:, 0], x), 0, None)
                iy = np.clip(np.minimum(chip_arr[:, 3], y + ph) - np.maximum(chip_arr[:, 1], y), 0, None)
                area = np.maximum((chip_arr[:, 2] - chip_arr[:, 0]) * (chip_arr[:, 3] - chip_arr[:, 1]), 1)
                cost += 4.0 * float((ix * iy / area).sum())
            if best_cost is None or cost < best_cost - 1e-9:
                corner, best_cost = k, cost
    x, y = corners[corner]
    return replace(_shift(layout, int(x), int(y)), corner=corner)
