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
        cover = np.zeros((self.grid_h + 1, self.grid_w + 1))
        for ys, xs, sign in ((cy0, cx0, 1), (cy0, cx1, -1), (cy1, cx0, -1), (cy1, cx1, 1)):
            np.add.at(cover, (ys, xs), sign * self.obj_density)
        self.cover = _Integral(np.cumsum(np.cumsum(cover, axis=0), axis=1)[:-1, :-1])
        # Outlines: horizontal edges as row runs, vertical edges as column runs (difference arrays).
        rows = np.zeros((self.grid_h + 1, self.grid_w + 1))
        cols = np.zeros((self.grid_h + 1, self.grid_w + 1))
        bottom, right = np.maximum(cy1 - 1, cy0), np.maximum(cx1 - 1, cx0)
        for y in (cy0, bottom):
            np.add.at(rows, (y, cx0), edge_w)
            np.add.at(rows, (y, cx1), -edge_w)
        for x in (cx0, right):
            np.add.at(cols, (cy0, x), edge_w)
            np.add.at(cols, (cy1, x), -edge_w)
        edges = np.cumsum(rows, axis=1)[:-1, :-1] + np.cumsum(cols, axis=0)[:-1, :-1]
        self.edges = _Integral(edges)

    def candidates(self, requests: Sequence[Request]) -> dict[str, np.ndarray]:
        """Every candidate of every request, clamped into the picture, with its static penalty."""
        fields: dict[str, list] = {k: [] for k in ("req", "item", "variant", "rank", "x", "y", "w", "h", "vpen")}
        by_kind: dict[str, list[int]] = {}
        for r, req in enumerate(requests):
            by_kind.setdefault(self.kinds[req.item], []).append(r)
        nan2 = (np.nan, np.nan)
        for kind, members in by_kind.items():
            nvar = max(len(requests[r].sizes) for r in members)
            sizes = np.array([list(requests[r].sizes) + [nan2] * (nvar - len(requests[r].sizes)) for r in members],
                             dtype=np.float64).reshape(len(members), nvar, 2)
            vpen = np.array([list(requests[r].variant_penalty) + [0.0] * (nvar - len(requests[r].variant_penalty)) for r in members],
                            dtype=np.float64).reshape(len(members), nvar)
            items = np.array([requests[r].item for r in members])
            x0, y0, x1, y1 = (self.rects[items, k][:, None] for k in range(4))
            w, h = sizes[..., 0], sizes[..., 1]
            positions = _positions(kind, x0, y0, x1, y1, w, h, self.gap)
            # Candidates in the order (position rank, variant, member): arrays of shape (ranks, nvar, members).
            shape = (len(positions), nvar, len(members))
            xs, ys = np.empty((len(positions), len(members), nvar)), np.empty((len(positions), len(members), nvar))
            for rank, (px, py) in enumerate(positions):
                xs[rank], ys[rank] = px, py
            fields["x"].append(xs.transpose(0, 2, 1).ravel())
            fields["y"].append(ys.transpose(0, 2, 1).ravel())
            fields["req"].append(np.broadcast_to(np.array(members)[None, None, :], shape).ravel())
            fields["item"].append(np.broadcast_to(items[None, None, :], shape).ravel())
            fields["variant"].append(np.broadcast_to(np.arange(nvar)[None, :, None], shape).ravel())
            fields["rank"].append(np.broadcast_to(np.arange(len(positions))[:, None, None], shape).ravel())
            fields["w"].append(np.broadcast_to(w.T[None], shape).ravel())
            fields["h"].append(np.broadcast_to(h.T[None], shape).ravel())
            fields["vpen"].append(np.broadcast_to(vpen.T[None], shape).ravel())
        if not fields["req"]:
            return {k: np.zeros(0) for k in (*fields, "cost")}
        cand = {k: np.concatenate(v) for k, v in fields.items()}
        ok = ~np.isnan(cand["w"]) & (cand["w"] <= self.width) & (cand["h"] <= self.height)
        cand = {k: v[ok] for k, v in cand.items()}
        w, h = cand["w"], cand["h"]
        cand["x"] = np.round(np.clip(cand["x"], 0, self.width - w))
        cand["y"] = np.round(np.clip(cand["y"], 0, self.height - h))
        cand["cost"] = self._penalty(cand)
        for k in ("req", "item", "variant", "rank", "x", "y", "w", "h"):
            cand[k] = cand[k].astype(np.int64)
        return cand

    def _penalty(self, cand: dict[str, np.ndarray]) -> np.ndarray:
        x0, y0 = cand["x"], cand["y"]
        x1, y1 = x0 + cand["w"], y0 + cand["h"]
        item = cand["item"].astype(np.int64)
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        cx0, cy0, cx1, cy1 = self._cells(boxes)
        # others hidden: all objects' coverage under the chip minus the item's own share
        ox0, oy0, ox1, oy1 = (a[item] for a in self.obj_cells)
        ix = np.clip(np.minimum(cx1, ox1) - np.maximum(cx0, ox0), 0, None)
        iy = np.clip(np.minimum(cy1, oy1) - np.maximum(cy0, oy0), 0, None)
        own_cover = ix * iy * self.obj_density[item]
        others = np.clip(self.cover.total(cx0, cy0, cx1, cy1) - own_cover, 0, None)
        # outlines crossed, minus the item's own outline
        own_edges = np.zeros_like(others)
        ew = self.obj_edge_w[item]
        for row in (oy0, np.maximum(oy1 - 1, oy0)):
            own_edges += ((row >= cy0) & (row < cy1)) * np.clip(np.minimum(cx1, ox1) - np.maximum(cx0, ox0), 0, None) * ew
        for col in (ox0, np.maximum(ox1 - 1, ox0)):
            own_edges += ((col >= cx0) & (col < cx1)) * np.clip(np.minimum(cy1, oy1) - np.maximum(cy0, oy0), 0, None) * ew
        edges = np.clip(self.edges.total(cx0, cy0, cx1, cy1) - own_edges, 0, None) / np.maximum(cx1 - cx0 + cy1 - cy0, 1)
        # own object hidden (exact pixels) and drift away from it
        r = self.rects[item]
        own_w = np.clip(np.minimum(x1, r[:, 2]) - np.maximum(x0, r[:, 0]), 0, None)
        own_h = np.clip(np.minimum(y1, r[:, 3]) - np.maximum(y0, r[:, 1]), 0, None)
        own_area = np.maximum((r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1]), 1.0)
        hidden_self = own_w * own_h / own_area
        gap_x = np.maximum(np.maximum(r[:, 0] - x1, x0 - r[:, 2]), 0)
        gap_y = np.maximum(np.maximum(r[:, 1] - y1, y0 - r[:, 3]), 0)
        drift = np.maximum(np.hypot(gap_x, gap_y) - (self.gap + 1), 0) / self.font_size
        return (
            W_RANK * cand["rank"] + W_OTHERS * others + W_EDGES * edges + W_SELF * hidden_self
            + W_DETACH * drift + cand["vpen"]
        )

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

    def free(self, box) -> bool:
        cy0, cy1, cx0, cx1 = self._cell_box(box)
        return not _count_nonzero(self.occupied[cy0:cy1, cx0:cx1])

    def place(self, requests: Sequence[Request], cand: dict[str, np.ndarray], order: Sequence[int]) -> dict[int, tuple]:
        """Greedy placement of the requests in ``order`` (positions in ``requests``).

        Returns ``{request: (variant, box)}``; requests with no free candidate are left out after
        a repair step that tries to move one blocking chip to another of its free candidates.
        """
        if not len(cand["req"]) or not len(order):
            return {}
        rank_of = np.full(len(requests), -1, dtype=np.int64)
        rank_of[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
        ranks = rank_of[cand["req"]]
        keep = np.nonzero(ranks >= 0)[0]
        sort = keep[np.lexsort((cand["cost"][keep], ranks[keep]))]
        # Sorted by request rank first: each request's candidates are one run, cheapest first.
        sorted_ranks = ranks[sort]
        bounds = np.searchsorted(sorted_ranks, np.arange(len(order) + 1)).tolist()
        c = self.occ_cell
        x0, y0 = cand["x"][sort], cand["y"][sort]
        x1, y1 = x0 + cand["w"][sort], y0 + cand["h"][sort]
        cells = _Cells(x0 // c, -(-x1 // c), y0 // c, -(-y1 // c), x0, y0, x1, y1, cand["variant"][sort])
        chosen: dict[int, tuple] = {}
        at: dict[int, int] = {}  # request -> position of its chosen candidate
        occupied, count = self.occupied, _count_nonzero
        cx0s, cx1s, cy0s, cy1s = cells.cx0, cells.cx1, cells.cy0, cells.cy1
        for rank, r in enumerate(order):
            for k in range(bounds[rank], bounds[rank + 1]):
                region = occupied[cy0s[k] : cy1s[k], cx0s[k] : cx1s[k]]
                if not count(region):
                    region += 1
                    chosen[r] = (cells.variant[k], cells.box(k))
                    at[r] = k
                    break
        failed = [(r, rank) for rank, r in enumerate(order) if r not in chosen and bounds[rank + 1] > bounds[rank]][:MAX_REPAIRS]
        if failed and chosen:
            # Which chip of this pass owns each occupancy cell (chips never share a cell): 1 + its slot.
            owner = np.zeros(occupied.shape, dtype=np.int32)
            slots = list(chosen)
            for slot, r in enumerate(slots):
                k = at[r]
                owner[cy0s[k] : cy1s[k], cx0s[k] : cx1s[k]] = slot + 1
            for r, rank in failed:
                self._repair(r, range(bounds[rank], bounds[rank + 1]), chosen, at, cells, owner, slots, bounds, rank_of)
        return chosen

    def _repair(self, r: int, options: range, chosen: dict, at: dict, cells: "_Cells", owner: np.ndarray, slots: list,
                bounds: list, rank_of: np.ndarray) -> bool:
        """Place request ``r`` by moving exactly one chip that blocks one of its best candidates."""
        occupied, count = self.occupied, _count_nonzero
        for k in options[:6]:
            cy0, cy1, cx0, cx1 = cells.cy0[k], cells.cy1[k], cells.cx0[k], cells.cx1[k]
            ids = owner[cy0:cy1, cx0:cx1]
            hi = int(ids.max())
            if not hi:  # blocked only by something that does not move (the legend, a dot, an earlier pass)
                continue
            if count(ids) != count(ids == hi):  # more than one chip in the way
                continue
            other = slots[hi - 1]
            ok = at[other]
            if not _overlap(cells.box(k), cells.box(ok)):  # it only shares a rounded-out cell
                continue
            oregion = occupied[cells.cy0[ok] : cells.cy1[ok], cells.cx0[ok] : cells.cx1[ok]]
            oregion -= 1
            region = occupied[cy0:cy1, cx0:cx1]
            if count(region):  # blocked by the legend, a dot or something else too
                oregion += 1
                continue
            region += 1
            orank = int(rank_of[other])
            for j in range(bounds[orank], bounds[orank + 1]):
                if j == ok:
                    continue
                alt = occupied[cells.cy0[j] : cells.cy1[j], cells.cx0[j] : cells.cx1[j]]
                if not count(alt):
                    alt += 1
                    owner[cells.cy0[ok] : cells.cy1[ok], cells.cx0[ok] : cells.cx1[ok]] = 0
                    owner[cells.cy0[j] : cells.cy1[j], cells.cx0[j] : cells.cx1[j]] = hi
                    chosen[other] = (cells.variant[j], cells.box(j))
                    at[other] = j
                    chosen[r] = (cells.variant[k], cells.box(k))
                    at[r] = k
                    slots.append(r)
                    owner[cy0:cy1, cx0:cx1] = len(slots)
                    return True
            region -= 1
            oregion += 1
        return False


class _Cells:
    """Candidates of one placement pass as plain lists: occupancy cells, pixel boxes, variants."""

    def __init__(self, cx0, cx1, cy0, cy1, x0, y0, x1, y1, variant):
        self.cx0, self.cx1, self.cy0, self.cy1 = cx0.tolist(), cx1.tolist(), cy0.tolist(), cy1.tolist()
        self.x0, self.y0, self.x1, self.y1 = x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist()
        self.variant = variant.tolist()

    def box(self, k: int) -> tuple[int, int, int, int]:
        return (self.x0[k], self.y0[k], self.x1[k], self.y1[k])


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
