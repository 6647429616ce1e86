"""Label chip candidates as a placement pass reads them: each request's run, cheapest first.

``Solver.candidates`` (in ``_placement``) scores every candidate position of every chip; this
module turns the scored groups into one ordered table: per request a run of candidates sorted by
static penalty, with pixel boxes, occupancy cells and corner-cell probes as plain lists for the
greedy loop.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._placement import Request

__all__ = ["Candidates"]


def _variant_table(requests: Sequence[Request]) -> tuple[np.ndarray, np.ndarray]:
    """``(request, variant, 2)`` chip sizes (NaN: no such variant) and ``(request, variant)`` penalties.

    Requests of the same text share their lists (``labels._Planner._requests``): each distinct
    list is converted once.
    """
    row_of: dict[tuple[int, int], int] = {}
    distinct: list[Request] = []
    rows = []
    for req in requests:
        key = (id(req.sizes), id(req.variant_penalty))
        row = row_of.get(key)
        if row is None:
            row = row_of[key] = len(distinct)
            distinct.append(req)
        rows.append(row)
    nvar = max(len(req.sizes) for req in distinct)
    nan2 = (np.nan, np.nan)
    sizes = np.array([list(req.sizes) + [nan2] * (nvar - len(req.sizes)) for req in distinct], dtype=np.float64)
    vpen = np.array([list(req.variant_penalty) + [0.0] * (nvar - len(req.variant_penalty)) for req in distinct], dtype=np.float64)
    index = np.array(rows, dtype=np.int64)
    return sizes.reshape(len(distinct), nvar, 2)[index], vpen.reshape(len(distinct), nvar)[index]


@dataclass
class _Group:
    """Candidates of the requests ``members`` (one kind), arrays ``(member, rank, variant)``."""

    members: np.ndarray
    fields: np.ndarray  # (5, member, rank, variant): x, y, width, height, variant (pixels, whole numbers)
    ok: np.ndarray  # a real candidate (the variant exists and fits in the picture)
    cost: np.ndarray


class Candidates:
    """Candidates of one list of requests, each request's run cheapest first (see ``Solver.candidates``).

    Request ``r``'s candidates are ``start[r]`` to ``start[r + 1] - 1``, by static penalty (ties:
    position rank, then variant), so a placement pass needs no sorting of its own. Each candidate
    has its pixel box, its occupancy cells (rounded outwards) and the flat grid indices of its
    four corner cells (``probes``) as plain lists for the greedy loop.
    """

    def __init__(self, groups: list[_Group], n_requests: int, occ_cell: int, grid_width: int):
        perm, runs = _runs_by_cost(groups, n_requests)
        self.count = len(perm)
        self.start = runs.tolist()
        self.grid_width, self.occ_cell = grid_width, occ_cell
        x0, y0, w, h, self.variants = _gather(groups, perm)
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x0 + w, y0 + h
        c = occ_cell
        cx0, cy0, cx1, cy1 = x0 // c, y0 // c, -(-self.x1 // c), -(-self.y1 // c)
        # No empty region (chips have a padding): a box with x1 > x0 spans a cell at least, rounded outwards.
        self.exact = not self.count or int(min(w.min(), h.min())) > 0
        top, bottom = cy0 * grid_width, (cy1 - 1) * grid_width
        self.probes = np.stack([top + cx0, top + cx1 - 1, bottom + cx0, bottom + cx1 - 1]).tolist()

    @functools.cached_property
    def cells(self) -> np.ndarray:
        """``(candidate, 4)``: occupancy cells ``cx0, cy0, cx1, cy1`` (half-open, rounded outwards)."""
        c = self.occ_cell
        return np.stack([self.x0 // c, self.y0 // c, -(-self.x1 // c), -(-self.y1 // c)], axis=1)

    def region(self, k: int) -> tuple[slice, slice]:
        """The occupancy cells of candidate ``k``, as an index of the grid."""
        if not self.exact:  # pragma: no cover - chips have a padding
            cx0, cy0, cx1, cy1 = self.cells[k].tolist()
            return slice(cy0, cy1), slice(cx0, cx1)
        return self.probe_region(self.probes[0][k], self.probes[3][k])

    def probe_region(self, top_left: int, bottom_right: int) -> tuple[slice, slice]:
        """The occupancy cells between two corner cells (flat indices), as an index of the grid."""
        cy0, cx0 = divmod(top_left, self.grid_width)
        cy1, cx1 = divmod(bottom_right, self.grid_width)
        return slice(cy0, cy1 + 1), slice(cx0, cx1 + 1)

    def box(self, k: int) -> tuple[int, int, int, int]:
        return (int(self.x0[k]), int(self.y0[k]), int(self.x1[k]), int(self.y1[k]))

    def variant(self, k: int) -> int:
        return int(self.variants[k])


def _gather(groups: list[_Group], perm: np.ndarray) -> np.ndarray:
    """``(5, candidate)`` integers x, y, width, height, variant of the candidates ``perm`` of the raveled groups."""
    if len(groups) == 1:
        fields = groups[0].fields.reshape(5, -1)
    else:
        fields = np.concatenate([g.fields.reshape(5, -1) for g in groups], axis=1) if groups else np.zeros((5, 0))
    return fields[:, perm].astype(np.int64)


def _runs_by_cost(groups: list[_Group], n_requests: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate order grouped by request, cheapest first (ties: rank, variant), and each run's start.

    Indices are into the groups' arrays raveled and concatenated. A stable sort of each request's
    row of a dense ``(request, rank x variant)`` table (non-candidates cost infinity and sort
    last): the order of a lexsort by (request, cost) of the candidates in (rank, variant) order.
    """
    runs = np.zeros(n_requests + 1, dtype=np.int64)
    width = max((g.ok[0].size for g in groups), default=0)
    if len(groups) == 1 and len(groups[0].members) == n_requests:  # one kind: the table is the group's own
        g = groups[0]
        table = np.where(g.ok, g.cost, np.inf).reshape(n_requests, width)
        counts = g.ok.reshape(n_requests, width).sum(axis=1)
        np.cumsum(counts, out=runs[1:])
        by_cost = np.argsort(table, axis=1, kind="stable")
        by_cost += (np.arange(n_requests) * width)[:, None]
        return by_cost[np.arange(width) < counts[:, None]], runs
    table = np.full((n_requests, width), np.inf)
    where = np.zeros((n_requests, width), dtype=np.int64)
    counts = np.zeros(n_requests, dtype=np.int64)
    offset = 0
    for g in groups:
        m, n = len(g.members), g.ok[0].size
        table[g.members, :n] = np.where(g.ok, g.cost, np.inf).reshape(m, n)
        where[g.members, :n] = np.arange(offset, offset + m * n).reshape(m, n)
        counts[g.members] = g.ok.reshape(m, n).sum(axis=1)
        offset += m * n
    np.cumsum(counts, out=runs[1:])
    by_cost = np.argsort(table, axis=1, kind="stable")
    taken = np.arange(width) < counts[:, None]
    return np.take_along_axis(where, by_cost, axis=1)[taken], runs
