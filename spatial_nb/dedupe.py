"""De-duplication of looping model output: same label and box IoU >= a threshold, in O(1) per item.

Two boxes with IoU >= t have widths (and heights) within a factor t of each other and centres
closer than (1 - t) / t of the width (height). So kept boxes are filed in a grid per label and
power-of-two size class, with cells as large as the class: a new box meets only the few cells
that can hold a match, and the first kept match (lowest position) is the same one a full
scan would find. Points and 3D boxes repeat only when identical (a dict lookup).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from .geometry import box_iou

__all__ = ["Deduper"]

_SLACK = 1e-9  # widen the search bounds a hair so float rounding never hides a match


def _classes(low: float, high: float) -> range:
    """Power-of-two classes k (2**(k-1) <= size < 2**k) that sizes in [low, high] fall in."""
    return range(math.frexp(low)[1], math.frexp(high)[1] + 1)


class Deduper:
    """Remembers kept items; answers "is this a repeat of a kept item, and of which one?".

    Args:
        iou: Same-label boxes overlapping at least this much are one object repeated (0 < iou <= 1).

    Example:
        >>> d = Deduper(0.9)
        >>> d.check_box("cup", (0.1, 0.1, 0.3, 0.3), 0), d.check_box("cup", (0.1, 0.1, 0.3, 0.301), 1)
        (-1, 0)
    """

    __slots__ = ("iou", "cells", "exact", "comparisons")

    def __init__(self, iou: float) -> None:
        if not 0 < iou <= 1:
            raise ValueError(f"iou must be in (0, 1], got {iou}")
        self.iou = iou
        self.cells: dict[tuple, list[tuple[tuple[float, float, float, float], int]]] = {}
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
        best = -1
        for key in self._candidate_keys(label, x0, y0, width, height, t):
            bucket = self.cells.get(key)
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
        kw, kh = math.frexp(width)[1], math.frexp(height)[1]
        key = (label, kw, kh, math.floor(math.ldexp(x0 + width / 2, -kw)), math.floor(math.ldexp(y0 + height / 2, -kh)))
        self.cells.setdefault(key, []).append((box, position))
        return -1

    @staticmethod
    def _candidate_keys(label: str, x0: float, y0: float, width: float, height: float, t: float) -> Iterator[tuple]:
        cx, cy = x0 + width / 2, y0 + height / 2
        reach_x = (1 - t) / t * width * (1 + _SLACK) + _SLACK
        reach_y = (1 - t) / t * height * (1 + _SLACK) + _SLACK
        kws = _classes(width * t * (1 - _SLACK), width / t * (1 + _SLACK))
        khs = _classes(height * t * (1 - _SLACK), height / t * (1 + _SLACK))
        for kw in kws:
            ix0, ix1 = math.floor(math.ldexp(cx - reach_x, -kw)), math.floor(math.ldexp(cx + reach_x, -kw))
            for kh in khs:
                iy0, iy1 = math.floor(math.ldexp(cy - reach_y, -kh)), math.floor(math.ldexp(cy + reach_y, -kh))
                for ix in range(ix0, ix1 + 1):
                    for iy in range(iy0, iy1 + 1):
                        yield (label, kw, kh, ix, iy)

    def check_exact(self, key: tuple, position: int) -> int:
        """Position of the kept item with the same ``key`` (label, kind, values), or -1 (then kept)."""
        owner = self.exact.get(key)
        if owner is not None:
            return owner
        self.exact[key] = position
        return -1
