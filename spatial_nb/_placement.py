"""Place label chips without overlaps: candidate positions, penalties from integral maps, greedy search.

Every chip gets a dozen candidate positions around and inside its object (above, below,
inside corners, beside; for points: around the dot) for each of its line-wrapping variants.
A candidate's penalty (how much of other objects it hides, how many of their outlines it
crosses, how much of its own object it hides, how far it drifts) is read from summed-area
tables on a coarse grid, so scoring is O(1) per candidate and vectorised. The greedy pass then
takes each chip's cheapest candidate that is free in an occupancy grid (cells of 1/8 of the font
size, rounded outwards, so no two chips overlap and no chip hides a point's dot), with one step
of repair that moves a single blocking chip aside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

try:  # the C function behind np.count_nonzero, without its Python wrapper (the hot loop calls it ~10^4 times)
    from numpy._core.multiarray import count_nonzero as _count_nonzero
except ImportError:  # pragma: no cover - other numpy layouts
    _count_nonzero = np.count_nonzero

from ._candidates import Candidates, _Group, _variant_table

__all__ = ["Obstacles", "Request", "Solver"]

#: Penalty weights (dimensionless; a whole hidden object costs about 1).
W_RANK, W_OTHERS, W_EDGES, W_SELF, W_DETACH, W_EXTRA_LINE, W_WIDE = 0.02, 1.0, 0.6, 0.25, 0.3, 0.04, 0.6
#: Object weights by kind: hiding a point's dot is worse than hiding part of a box.
KIND_WEIGHT = {"box": 1.0, "mask": 1.0, "point": 3.0, "box3d": 0.7}
EDGE_WEIGHT = {"box": 1.0, "mask": 0.5, "point": 0.0, "box3d": 0.0}
#: Repair (moving one blocking chip) is tried for at most this many failed chips per pass
#: (on crowded pictures about one attempt in ten succeeds; each costs ~0.1 ms).
MAX_REPAIRS = 24


@dataclass
class Request:
    """A chip to place for item ``item``: one ``(width, height)`` per variant and its penalty."""

    item: int
    sizes: Sequence[tuple[int, int]]
    variant_penalty: Sequence[float]


@dataclass
class Obstacles:
    """The objects a chip should not hide: one float ``rect`` per item (NaN rows: no geometry)."""

    rects: np.ndarray  # (N, 4) x0, y0, x1, y1
    kinds: Sequence[str]


def _positions(kind: str, x0, y0, x1, y1, w, h, gap: float) -> list[tuple]:
    """Candidate top-left corners in order of preference (arrays broadcast over items and variants)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if kind == "point":
        return [
            (x1 + gap, cy - h / 2),  # right of the dot
            (x0 - gap - w, cy - h / 2),  # left
            (cx - w / 2, y0 - gap - h),  # above
            (cx - w / 2, y1 + gap),  # below
            (x1 + gap, y0 - h),  # upper right
            (x0 - gap - w, y0 - h),  # upper left
            (x1 + gap, y1),  # lower right
            (x0 - gap - w, y1),  # lower left
        ]
    positions = [
        (x0, y0 - h),  # above, left-aligned
        (x1 - w, y0 - h),  # above, right-aligned
        (x0, y0),  # inside top-left
        (x0, y1),  # below, left-aligned
        (x1 - w, y0),  # inside top-right
        (x1 - w, y1),  # below, right-aligned
        (x0, y1 - h),  # inside bottom-left
        (x1 - w, y1 - h),  # inside bottom-right
        (x1, y0),  # beside, right
        (x0 - w, y0),  # beside, left
        (cx - w / 2, y0 - h),  # above, centred
        (cx - w / 2, y1),  # below, centred
        (cx - w / 2, cy - h / 2),  # centred inside
    ]
    if kind == "box3d":  # the projected centre first, as Google's viewers do
        positions.insert(0, (cx - w / 2, cy - h / 2))
    return positions


class _Integral:
    """Summed-area table of a coarse map: ``total(x0, y0, x1, y1)`` over cell rectangles, vectorised."""

    def __init__(self, grid: np.ndarray):
        self.table = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1), dtype=np.float64)
        np.cumsum(np.cumsum(grid, axis=0), axis=1, out=self.table[1:, 1:])

    def total(self, cx0, cy0, cx1, cy1) -> np.ndarray:
        t = self.table
        return t[cy1, cx1] - t[cy0, cx1] - t[cy1, cx0] + t[cy0, cx0]


class Solver:
    """Scores and places chips for one picture; keeps the occupancy of everything placed so far.

    Args:
        width, height: Picture size in pixels.
        obstacles: Object rectangles of every item (the ones a chip should not hide).
        font_size: Label font size (sets the grid resolution and the drift penalty scale).
        gap: Pixels between a point's dot and its chip.
    """

    def __init__(self, width: int, height: int, obstacles: Obstacles, font_size: int, gap: float):
        self.width, self.height = int(width), int(height)
        self.font_size = max(1, int(font_size))
        self.gap = gap
        self.rects = np.asarray(obstacles.rects, dtype=np.float64).reshape(-1, 4)
        self.kinds = list(obstacles.kinds)
        # Penalty maps on at most ~96 cells a side (cumsum is sequential: keep the grid small).
        self.cell = max(2, self.font_size // 3, -(-max(self.width, self.height) // 96))
        self.grid_w = -(-self.width // self.cell)
        self.grid_h = -(-self.height // self.cell)
        # Occupancy on cells of at most 1/8 of the font size (and at most ~1024 a side: a small font on
        # a big picture), rounded outwards: exact enough, and cheap.
        self.occ_cell = max(1, self.font_size // 8, -(-max(self.width, self.height) // 1024))
        self.occupied = np.zeros((-(-self.height // self.occ_cell), -(-self.width // self.occ_cell)), dtype=np.int16)
        self._flat = memoryview(self.occupied).cast("B").cast("h")  # the same memory, read cell by cell as ints
        dots = [k for k, kind in enumerate(self.kinds) if kind == "point"]
        for x0, y0, x1, y1 in self.rects[dots].tolist():  # no chip may hide a point's dot
            if not np.isnan((x0, y0, x1, y1)).any():
                self.mark((int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))))
        self._build_maps()

    # -- static penalties ------------------------------------------------------------------
    def _cells(self, rects: np.ndarray) -> tuple[np.ndarray, ...]:
        c, limit = self.cell, (self.grid_w, self.grid_h)
        lo = np.clip(np.floor(rects[:, :2] / c), 0, limit).astype(np.int64)
        hi = np.maximum(np.clip(np.ceil(rects[:, 2:] / c), 0, limit).astype(np.int64), lo)
        return lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]

    def _build_maps(self) -> None:
        n = len(self.rects)
        valid = ~np.isnan(self.rects).any(axis=1) if n else np.zeros(0, bool)
        rects = np.where(valid[:, None], self.rects, 0.0)
        cx0, cy0, cx1, cy1 = self._cells(rects)
        # Point dots are smaller than a cell: give them one cell at least.
        cx1, cy1 = np.maximum(cx1, np.minimum(cx0 + 1, self.grid_w)), np.maximum(cy1, np.minimum(cy0 + 1, self.grid_h))
        self.obj_cells = (cx0, cy0, cx1, cy1)
        area = np.maximum((cx1 - cx0) * (cy1 - cy0), 1)
        weight = np.array([KIND_WEIGHT.get(k, 1.0) for k in self.kinds], dtype=np.float64) if n else np.zeros(0)
        edge_w = np.array([EDGE_WEIGHT.get(k, 0.0) for k in self.kinds], dtype=np.float64) if n else np.zeros(0)
        weight, edge_w = weight * valid, edge_w * valid
        self.obj_density = weight / area  # coverage weight per cell of each object
        self.obj_edge_w = edge_w
        density = self.obj_density
        cover = self._scatter((cy0, cy0, cy1, cy1), (cx0, cx1, cx0, cx1), (density, -density, -density, density))
        self.cover = _Integral(np.cumsum(np.cumsum(cover, axis=0), axis=1)[:-1, :-1])
        # Outlines: horizontal edges as row runs, vertical edges as column runs (difference arrays).
        bottom, right = np.maximum(cy1 - 1, cy0), np.maximum(cx1 - 1, cx0)
        rows = self._scatter((cy0, cy0, bottom, bottom), (cx0, cx1, cx0, cx1), (edge_w, -edge_w, edge_w, -edge_w))
        cols = self._scatter((cy0, cy1, cy0, cy1), (cx0, cx0, right, right), (edge_w, -edge_w, edge_w, -edge_w))
        edges = np.cumsum(rows, axis=1)[:-1, :-1] + np.cumsum(cols, axis=0)[:-1, :-1]
        self.edges = _Integral(edges)

    def _scatter(self, ys, xs, weights) -> np.ndarray:
        """A ``(grid_h + 1, grid_w + 1)`` map with each weight added at its cell, in order (one ``bincount``)."""
        shape = (self.grid_h + 1, self.grid_w + 1)
        flat = np.concatenate(ys) * shape[1] + np.concatenate(xs)
        return np.bincount(flat, np.concatenate(weights), minlength=shape[0] * shape[1]).reshape(shape)

    def candidates(self, requests: Sequence[Request]) -> "Candidates":
        """Every candidate of every request, clamped into the picture, with its static penalty."""
        by_kind: dict[str, list[int]] = {}
        for r, req in enumerate(requests):
            by_kind.setdefault(self.kinds[req.item], []).append(r)
        groups = [self._kind_candidates(kind, members, requests) for kind, members in by_kind.items()]
        return Candidates(groups, len(requests), self.occ_cell, self.occupied.shape[1])

    def _kind_candidates(self, kind: str, members: list[int], requests: Sequence[Request]) -> "_Group":
        """The candidates of requests ``members`` (all of one kind) as ``(member, rank, variant)`` arrays."""
        sizes, vpen = _variant_table([requests[r] for r in members])
        nvar = sizes.shape[1]
        items = np.array([requests[r].item for r in members], dtype=np.int64)
        x0, y0, x1, y1 = (self.rects[items, k][:, None] for k in range(4))
        w, h = sizes[..., 0], sizes[..., 1]
        positions = _positions(kind, x0, y0, x1, y1, w, h, self.gap)
        shape = (len(members), len(positions), nvar)
        xs, ys = np.empty(shape), np.empty(shape)
        for rank, (px, py) in enumerate(positions):
            xs[:, rank], ys[:, rank] = px, py
        ok = np.broadcast_to((~np.isnan(w) & (w <= self.width) & (h <= self.height))[:, None, :], shape)
        w, h = w[:, None, :], h[:, None, :]
        if not ok.all():  # missing variants, chips bigger than the picture: no candidates (any numbers keep numpy quiet)
            w, h = (np.where(ok[:, :1], v, 1.0) for v in (w, h))
            xs, ys = np.where(ok, xs, 0.0), np.where(ok, ys, 0.0)
        fields = np.empty((5, *shape))  # x, y, width, height, variant
        np.round(np.clip(xs, 0, self.width - w), out=fields[0])
        np.round(np.clip(ys, 0, self.height - h), out=fields[1])
        fields[2], fields[3], fields[4] = w, h, np.arange(nvar)
        cost = self._penalty(fields[0], fields[1], w, h, items, np.arange(len(positions))[None, :, None], vpen[:, None, :])
        return _Group(np.asarray(members), fields, ok, cost)

    def _penalty(self, x0, y0, w, h, items, rank, vpen) -> np.ndarray:
        """Static penalty of chips at ``(x0, y0)`` of size ``(w, h)`` (arrays ``(member, rank, variant)``, broadcast)."""
        x1, y1 = x0 + w, y0 + h
        cx0, cy0, cx1, cy1 = self._cell_range(x0, y0, x1, y1)
        # others hidden: all objects' coverage under the chip minus the item's own share
        ox0, oy0, ox1, oy1 = (a[items][:, None, None] for a in self.obj_cells)
        ix = np.clip(np.minimum(cx1, ox1) - np.maximum(cx0, ox0), 0, None)
        iy = np.clip(np.minimum(cy1, oy1) - np.maximum(cy0, oy0), 0, None)
        own_cover = ix * iy * self.obj_density[items][:, None, None]
        others = np.clip(self.cover.total(cx0, cy0, cx1, cy1) - own_cover, 0, None)
        # outlines crossed, minus the item's own outline
        own_edges = np.zeros_like(others)
        ew = self.obj_edge_w[items][:, None, None]
        for row in (oy0, np.maximum(oy1 - 1, oy0)):
            own_edges += ((row >= cy0) & (row < cy1)) * ix * ew
        for col in (ox0, np.maximum(ox1 - 1, ox0)):
            own_edges += ((col >= cx0) & (col < cx1)) * iy * ew
        edges = np.clip(self.edges.total(cx0, cy0, cx1, cy1) - own_edges, 0, None) / np.maximum(cx1 - cx0 + cy1 - cy0, 1)
        # own object hidden (exact pixels) and drift away from it
        rx0, ry0, rx1, ry1 = (self.rects[items, k][:, None, None] for k in range(4))
        own_w = np.clip(np.minimum(x1, rx1) - np.maximum(x0, rx0), 0, None)
        own_h = np.clip(np.minimum(y1, ry1) - np.maximum(y0, ry0), 0, None)
        own_area = np.maximum((rx1 - rx0) * (ry1 - ry0), 1.0)
        hidden_self = own_w * own_h / own_area
        gap_x = np.maximum(np.maximum(rx0 - x1, x0 - rx1), 0)
        gap_y = np.maximum(np.maximum(ry0 - y1, y0 - ry1), 0)
        drift = np.maximum(np.hypot(gap_x, gap_y) - (self.gap + 1), 0) / self.font_size
        return W_RANK * rank + W_OTHERS * others + W_EDGES * edges + W_SELF * hidden_self + W_DETACH * drift + vpen

    def _cell_range(self, x0, y0, x1, y1) -> tuple[np.ndarray, ...]:
        """Penalty-map cells ``cx0, cy0, cx1, cy1`` covered by pixel boxes (rounded outwards, clipped to the map)."""
        c = self.cell
        cx0 = np.clip(np.floor(x0 / c), 0, self.grid_w).astype(np.int64)
        cy0 = np.clip(np.floor(y0 / c), 0, self.grid_h).astype(np.int64)
        cx1 = np.maximum(np.clip(np.ceil(x1 / c), 0, self.grid_w).astype(np.int64), cx0)
        cy1 = np.maximum(np.clip(np.ceil(y1 / c), 0, self.grid_h).astype(np.int64), cy0)
        return cx0, cy0, cx1, cy1

    # -- placement -------------------------------------------------------------------------
    def _cell_box(self, box) -> tuple[int, int, int, int]:
        """Occupancy cells ``(cy0, cy1, cx0, cx1)`` touched by a pixel box (rounded outwards)."""
        c = self.occ_cell
        x0, y0, x1, y1 = (int(v) for v in box)
        return max(y0, 0) // c, max(-(-y1 // c), 0), max(x0, 0) // c, max(-(-x1 // c), 0)

    def mark(self, box, count: int = 1) -> None:
        """Mark ``box`` as taken (``count=-1`` releases it again)."""
        cy0, cy1, cx0, cx1 = self._cell_box(box)
        self.occupied[cy0:cy1, cx0:cx1] += count

    def unmark(self, box) -> None:
        self.mark(box, -1)

    def place(self, requests: Sequence[Request], cand: "Candidates", order: Sequence[int]) -> dict[int, tuple]:
        """Greedy placement of the requests in ``order`` (positions in ``requests``).

        Returns ``{request: (variant, box)}``; requests with no free candidate are left out after
        a repair step that tries to move one blocking chip to another of its free candidates.
        """
        if not cand.count or not len(order):
            return {}
        chosen: dict[int, tuple] = {}
        at: dict[int, int] = {}  # request -> its chosen candidate
        for r in order:
            k = self._first_free(cand, cand.start[r], cand.start[r + 1])
            if k is not None:
                self.occupied[cand.region(k)] += 1
                chosen[r], at[r] = (cand.variant(k), cand.box(k)), k
        failed = [r for r in order if r not in chosen and cand.start[r + 1] > cand.start[r]][:MAX_REPAIRS]
        if failed and chosen:
            self._repair_all(failed, cand, chosen, at)
        return chosen

    def _repair_all(self, failed: list[int], cand: "Candidates", chosen: dict, at: dict) -> None:
        """Try :meth:`_repair` on each failed request with its six best candidates, in order."""
        options = [range(cand.start[r], min(cand.start[r] + 6, cand.start[r + 1])) for r in failed]
        chips = _PassChips(cand, at, options)
        lo = 0
        for r, opts in zip(failed, options):
            self._repair(r, opts, lo, cand, chosen, at, chips)
            lo += len(opts)

    def _first_free(self, cand: "Candidates", lo: int, hi: int) -> int | None:
        """The first of candidates ``lo..hi-1`` whose occupancy cells are all free (None: none is).

        Most candidates of a crowded picture are taken: a look at the four corner cells (plain
        integer reads of the grid's memory) rejects most of them before the exact test.
        """
        flat, occupied, count = self._flat, self.occupied, _count_nonzero
        tl, tr, bl, br = cand.probes
        if not cand.exact:  # pragma: no cover - chips have a padding
            return next((k for k in range(lo, hi) if not count(occupied[cand.region(k)])), None)
        for k in range(lo, hi):
            if flat[tl[k]] or flat[tr[k]] or flat[bl[k]] or flat[br[k]]:
                continue
            if not count(occupied[cand.probe_region(tl[k], br[k])]):
                return k
        return None

    def _has_free(self, cand: "Candidates", lo: int, skip: int, hi: int) -> bool:
        """Whether a candidate in ``lo..hi-1`` other than ``skip`` is free."""
        return self._first_free(cand, lo, skip) is not None or self._first_free(cand, skip + 1, hi) is not None

    def _repair(self, r: int, options: range, row: int, cand: "Candidates", chosen: dict, at: dict,
                chips: "_PassChips") -> bool:
        """Place request ``r`` by moving exactly one chip that blocks one of its best candidates (``options``).

        ``row``: where the options start in ``chips``' table of which chip blocks what.
        """
        occupied, count = self.occupied, _count_nonzero
        end = row + len(options)
        stuck: set[int] = set()  # chips with no other free candidate even before r takes a place
        for k, n, slot in zip(options, chips.counts[row:end], chips.first[row:end]):
            if n != 1:  # free of this pass's chips (blocked by the legend, a dot, an earlier pass), or more than one
                continue
            other = chips.request[slot]
            if other in stuck:
                continue
            ok = at[other]
            if not _overlap(cand.box(k), cand.box(ok)):  # it only shares a rounded-out cell
                continue
            oregion = occupied[cand.region(ok)]
            oregion -= 1
            region = occupied[cand.region(k)]
            if count(region):  # blocked by the legend, a dot or something else too
                oregion += 1
                continue
            if not self._has_free(cand, cand.start[other], ok, cand.start[other + 1]):
                stuck.add(other)  # taking k only blocks more: no need to try
                oregion += 1
                continue
            region += 1
            j = self._first_free(cand, cand.start[other], ok)  # the blocking chip's first other free candidate
            if j is None:
                j = self._first_free(cand, ok + 1, cand.start[other + 1])
            if j is not None:
                occupied[cand.region(j)] += 1
                chosen[other], at[other] = (cand.variant(j), cand.box(j)), j
                chosen[r], at[r] = (cand.variant(k), cand.box(k)), k
                chips.moved(slot, j, r, k)
                return True
            region -= 1
            oregion += 1
        return False


class _PassChips:
    """The chips one pass placed, and which of them share an occupancy cell with each option of a repair.

    The table (options x chips) is computed once for all failed requests and kept up to date
    when a repair moves a chip and adds one (about one repair in ten succeeds).
    """

    def __init__(self, cand: Candidates, at: dict[int, int], options: list[range]):
        self.cand = cand
        self.request = list(at)
        self.mine = cand.cells[np.concatenate([np.arange(o.start, o.stop) for o in options])]
        self.hit = _shares_cells(self.mine[:, None, :], cand.cells[list(at.values())][None, :, :])
        self._count()

    def _count(self) -> None:
        self.counts, self.first = self.hit.sum(axis=1).tolist(), self.hit.argmax(axis=1).tolist()

    def moved(self, slot: int, k: int, r: int, k_new: int) -> None:
        """Chip ``slot`` moved to candidate ``k``; request ``r`` took candidate ``k_new`` (a new chip)."""
        self.hit[:, slot] = _shares_cells(self.mine, self.cand.cells[k])
        self.hit = np.concatenate([self.hit, _shares_cells(self.mine, self.cand.cells[k_new])[:, None]], axis=1)
        self.request.append(r)
        self._count()


def _shares_cells(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether cell rectangles ``a`` and ``b`` (``..., 4``: cx0, cy0, cx1, cy1, half-open) share a cell, broadcast."""
    return (a[..., 0] < b[..., 2]) & (b[..., 0] < a[..., 2]) & (a[..., 1] < b[..., 3]) & (b[..., 1] < a[..., 3])


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
