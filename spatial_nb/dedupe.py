"""De-duplication of looping model output: same label and box IoU >= a threshold, without a full scan.

Two boxes with IoU >= t have widths (and heights) within a factor t of each other and centres
closer than (1 - t) / t of the width (height). A label's first few boxes are compared one by
one (cheapest for ordinary answers); past that, kept boxes are filed in a grid per label and
power-of-two size class, with cells a quarter of the class size: a new box looks up the few
cells that can hold a match (about 8) and compares with the boxes there, whose number is
bounded by how many non-repeating boxes fit in a cell, not by the answer's length. The first
kept match (lowest position) is the one a full scan finds. Points and 3D boxes repeat only
when identical (a dict lookup).
"""

from __future__ import annotations

import math

from .geometry import box_iou

__all__ = ["Deduper"]

_SLACK = 1e-9  # widen the search bounds a hair so float rounding never hides a match
_CELL_SHIFT = 2  # cells of size class k are 2**(k - 2) wide: a quarter of the class's sizes
_SMALL = 8  # a label's kept boxes are scanned one by one up to this many, then filed in the grid


class Deduper:
    """Remembers kept items; answers "is this a repeat of a kept item, and of which one?".

    Args:
        iou: Same-label boxes overlapping at least this much are one object repeated (0 < iou <= 1).

    Example:
        >>> d = Deduper(0.9)
        >>> d.check_box("cup", (0.1, 0.1, 0.3, 0.3), 0), d.check_box("cup", (0.1, 0.1, 0.3, 0.301), 1)
        (-1, 0)
    """

    __slots__ = ("iou", "cells", "small", "exact", "comparisons")

    def __init__(self, iou: float) -> None:
        if not 0 < iou <= 1:
            raise ValueError(f"iou must be in (0, 1], got {iou}")
        self.iou = iou
        self.cells: dict[tuple, list[tuple[tuple[float, float, float, float], int]]] = {}
        self.small: dict[str, list | None] = {}  # label -> kept (box, position) while few; None: in the grid
        self.exact: dict[tuple, int] = {}
        self.comparisons = 0  # IoU computations so far (a work counter the tests read)

    def check_box(self, label: str, box: tuple[float, float, float, float], position: int) -> int:
        """Position of the kept same-label box that ``box`` repeats, or -1 (then it is kept).

        Boxes of zero area overlap nothing (IoU 0), so they are never repeats, nor filed.
        """
        x0, y0, x1, y1 = box
        width, height = x1 - x0, y1 - y0
        if not (width > 0 and height > 0):
            return -1
        t = self.iou
        group = self.small.get(label, ())
        if group is not None:  # few kept boxes with this label: scan them in order
            for kept, owner in group:
                self.comparisons += 1
                if box_iou(kept, box) >= t:
                    return owner
            if not group:
                self.small[label] = [(box, position)]
            elif len(group) < _SMALL:
                group.append((box, position))
            else:
                for kept, owner in group:
                    self._file(label, kept, owner)
                self._file(label, box, position)
                self.small[label] = None
            return -1
        reach = (1 - t) / t * (1 + _SLACK)
        # Rounding of the centres is absolute (a few ulps of the coordinates), the rest relative.
        cx, cy = x0 + width / 2, y0 + height / 2
        rx = reach * width + 4 * math.ulp(abs(x0) + width)
        ry = reach * height + 4 * math.ulp(abs(y0) + height)
        low, high = t * (1 - _SLACK), (1 + _SLACK) / t
        frexp, ldexp, floor = math.frexp, math.ldexp, math.floor
        cells = self.cells
        best = -1
        # Size class k holds sizes in [2**(k-1), 2**k): frexp's exponent.
        for kw in range(frexp(width * low)[1], frexp(width * high)[1] + 1):
            sx = _CELL_SHIFT - kw
            xs = range(floor(ldexp(cx - rx, sx)), floor(ldexp(cx + rx, sx)) + 1)
            for kh in range(frexp(height * low)[1], frexp(height * high)[1] + 1):
                sy = _CELL_SHIFT - kh
                ys = range(floor(ldexp(cy - ry, sy)), floor(ldexp(cy + ry, sy)) + 1)
                for ix in xs:
                    for iy in ys:
                        bucket = cells.get((label, kw, kh, ix, iy))
                        if bucket is None:
                            continue
                        for kept, owner in bucket:
                            if best != -1 and owner > best:
                                continue  # only an earlier kept box could change the answer
                            self.comparisons += 1
                            if box_iou(kept, box) >= t:
                                best = owner
        if best != -1:
            return best
        self._file(label, box, position)
        return -1

    def _file(self, label: str, box: tuple[float, float, float, float], position: int) -> None:
        x0, y0, x1, y1 = box
        width, height = x1 - x0, y1 - y0
        if not (width > 0 and height > 0):
            return  # zero area: matches nothing, so never needs finding
        kw, kh = math.frexp(width)[1], math.frexp(height)[1]
        key = (label, kw, kh, math.floor(math.ldexp(x0 + width / 2, _CELL_SHIFT - kw)),
               math.floor(math.ldexp(y0 + height / 2, _CELL_SHIFT - kh)))
        bucket = self.cells.get(key)
        if bucket is None:
            self.cells[key] = [(box, position)]
        else:
            bucket.append((box, position))

    def check_exact(self, key: tuple, position: int) -> int:
        """Position of the kept item with the same ``key`` (label, kind, values), or -1 (then kept)."""
        owner = self.exact.get(key)
        if owner is not None:
            return owner
        self.exact[key] = position
        return -1
