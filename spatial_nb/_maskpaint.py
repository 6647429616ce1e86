"""Paint translucent mask fills and outlines onto a big frame, fast, with Pillow's C code.

Work happens only inside each mask's box: the box-local mask becomes one mode-"L" opacity
image at box size (fill alpha inside, 255 on the outline) and a solid colour tile is pasted
through it: fill and outline in one C blend pass. Big frames use the caller plus one worker
thread (Pillow releases the GIL in resize/paste): the worker starts preparing masks while the
caller copies the frame, then both paint one row stripe each, applying the masks in order,
so the pixels equal the serial result. Prepared opacities of recent masks are kept (by content).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["MaskJob", "MaskPainter", "paint_masks", "box_alpha", "run_overlay", "clear_cache"]

#: Box upscales above this area factor binarise the mask first and upscale by nearest
#: neighbour (several times cheaper; edges differ by under one mask pixel).
EXACT_MASK_AREA_FACTOR = 2.0
#: Below this many box pixels in total, threads cost more than they save.
PARALLEL_MIN_PIXELS = 600_000

_THRESHOLD_LUT = [255 if v > 127 else 0 for v in range(256)]
_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class MaskJob:
    """One mask to paint: pixel box ``xyxy`` (half-open), box-local uint8 ``mask``, RGB ``color``."""

    xyxy: tuple[int, int, int, int]
    mask: np.ndarray
    color: tuple[int, int, int]


def _workers() -> int:
    """Threads that paint: the caller plus at most one worker."""
    return min(2, os.cpu_count() or 1)


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spatial_nb-masks")
    return _pool


def _forget_pool() -> None:
    """After fork the worker thread is gone in the child: start a fresh pool there when needed."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def outline_band(inside: np.ndarray, thickness: int) -> np.ndarray:
    """Pixels of boolean ``inside`` within ``thickness`` of its border (array edges count as border)."""
    t = max(1, min(thickness, *inside.shape))
    core = inside.copy()
    core[:t, :] = False
    core[-t:, :] = False
    core[:, :t] = False
    core[:, -t:] = False
    core[t:, :] &= inside[:-t, :]
    core[:-t, :] &= inside[t:, :]
    core[:, t:] &= inside[:, :-t]
    core[:, :-t] &= inside[:, t:]
    return inside & ~core


def box_alpha(mask: np.ndarray, width: int, height: int, fill: int, outline_px: int) -> Image.Image:
    """Mode-"L" paint opacity of a box-local mask at ``width`` x ``height``.

    Values: ``fill`` (0..255) inside the mask, 255 on the outline, 0 outside. Small upscales
    and downscales follow the contract exactly (bilinear resize, then ``> 127``); bigger
    upscales binarise at the mask's resolution and upscale by nearest neighbour, outline
    included (``outline_px`` box pixels rounded up to whole mask pixels). The outline always
    lies inside the fill.

    >>> box_alpha(np.full((4, 4), 255, np.uint8), 3, 2, 115, 0).getpixel((1, 1))
    115
    """
    mh, mw = mask.shape
    src = np.ascontiguousarray(mask, dtype=np.uint8)
    if width * height > EXACT_MASK_AREA_FACTOR * mw * mh:
        small = src > 127
        codes = np.where(small, np.uint8(fill), np.uint8(0))
        if outline_px:
            band_src = max(1, math.ceil(outline_px / min(width / mw, height / mh)))
            codes[outline_band(small, band_src)] = 255
        return Image.fromarray(codes, "L").resize((width, height), Image.Resampling.NEAREST)
    grey = Image.fromarray(src, "L").resize((width, height), Image.Resampling.BILINEAR)
    if not outline_px:
        return grey.point(_fill_lut(fill))
    # At most twice the mask's pixels: the outline is found at box resolution, on the exact fill.
    inside = np.asarray(grey) > 127
    codes = np.where(inside, np.uint8(fill), np.uint8(0))
    codes[outline_band(inside, outline_px)] = 255
    return Image.fromarray(codes, "L")


@lru_cache(maxsize=64)
def _fill_lut(fill: int) -> list[int]:
    return [fill if v > 127 else 0 for v in range(256)]


#: Opacity images of recent masks, by content and size: redrawing the same answer skips the resizing.
_ALPHAS: OrderedDict[tuple, Image.Image] = OrderedDict()
_ALPHAS_KEPT = 64
_alphas_lock = threading.Lock()


def _prepare(job: MaskJob, fill: int, outline_px: int) -> Image.Image:
    x0, y0, x1, y1 = job.xyxy
    mask = np.ascontiguousarray(job.mask, dtype=np.uint8)
    key = (zlib.crc32(mask), mask.shape, x1 - x0, y1 - y0, fill, outline_px)
    with _alphas_lock:
        alpha = _ALPHAS.get(key)
        if alpha is not None:
            _ALPHAS.move_to_end(key)
            return alpha
    alpha = box_alpha(mask, x1 - x0, y1 - y0, fill, outline_px)
    with _alphas_lock:
        _ALPHAS[key] = alpha
        while len(_ALPHAS) > _ALPHAS_KEPT:
            _ALPHAS.popitem(last=False)
    return alpha


def clear_cache() -> None:
    """Forget the prepared mask opacities (benchmarks time a first draw with it)."""
    with _alphas_lock:
        _ALPHAS.clear()


def _paint_rows(out: Image.Image, jobs: Sequence[MaskJob], alphas: Sequence, row0: int, row1: int) -> None:
    """Paint every job, in order, clipped to frame rows ``[row0, row1)``.

    ``alphas`` holds the box-size opacity image of each job.
    """
    for job, alpha in zip(jobs, alphas, strict=True):
        x0, y0, x1, y1 = job.xyxy
        top, bottom = max(y0, row0), min(y1, row1)
        if bottom <= top:
            continue
        if (top, bottom) != (y0, y1):
            alpha = alpha.crop((0, top - y0, x1 - x0, bottom - y0))
        # A solid tile pasted through an "L" mask: one blend pass in C (pasting the colour
        # itself through an "L" mask is about twice as slow in Pillow).
        out.paste(Image.new("RGB", alpha.size, job.color), (x0, top, x1, bottom), alpha)


#: Painting a chip sets the palette of its coverage image, which chips of other colours share.
_CHIP_LOCK = threading.Lock()


def _writable_core(out: Image.Image):
    """The core of ``out`` ready to be written in place (a read-only image is copied first, as ``paste`` does)."""
    out.load()
    if out.readonly:
        out.paste(0, (0, 0, 0, 0))  # Pillow makes its own copy before the first write
    return out.im


def run_overlay(out: Image.Image, ops: Sequence[tuple]) -> None:
    """Run overlay ops in order: ``fill`` a box with a colour, paste a ``tile``, ``paste`` a colour or
    an image through a mask, paint a ``chip``, ``shade`` a box (``("shade", rgb_point_table, box)``)
    or draw with a ``pen`` (``("pen", fn(ImageDraw))``).

    A chip op is ``("chip", coverage, palette, (x, y), emoji, ring)``: the ``ring`` boxes are
    filled with the palette's first colour, the mode "P" coverage image (or None) is given the
    768-byte ``palette`` and pasted at ``(x, y)`` (converted to RGB on the way), then the
    ``(rgba, x, y)`` emoji tiles go over it. Fills and chips talk to Pillow's core image
    directly: a crowded picture has thousands of them, and ``Image.paste``'s checks cost more
    than the pixels of a small one.
    """
    core = _writable_core(out)
    pen = None
    # Chips showing the same text in the same colours (a crowded picture) share one RGB tile.
    seen: dict[tuple, int] = {}
    for op in ops:
        if op[0] == "chip":
            key = (id(op[1]), op[2])
            seen[key] = seen.get(key, 0) + 1
    tiles: dict[tuple, Any] = {}
    for op in ops:
        kind = op[0]
        if kind == "chip":
            _, coverage, palette, (x, y), emoji, ring = op
            if ring:
                background = tuple(palette[:3])
                for box in ring:
                    core.paste(background, box)
            key = (id(coverage), palette)
            tile = tiles.get(key) if coverage is not None else None
            if tile is None and coverage is not None:
                source = coverage.im
                with _CHIP_LOCK:  # chips of other colours share the coverage (and set its palette)
                    source.putpalette("RGB", "RGB", palette)
                    tile = source.convert("RGB")
                if seen[key] > 1:
                    tiles[key] = tile
            if tile is not None:
                width, height = tile.size
                core.paste(tile, (x, y, x + width, y + height))
            for image, ex, ey in emoji:
                out.paste(image, (ex, ey), image)
        elif kind == "fill":  # ("fill", colour, box)
            core.paste(op[1], op[2])
        elif kind == "shade":  # a translucent colour over a box: one table lookup per channel, no blend
            box = op[2]
            out.paste(out.crop(box).point(op[1]), box)
        elif kind == "pen":
            pen = pen or ImageDraw.Draw(out)
            op[1](pen)
        elif kind == "paste":  # a colour or an image through an "L"/"RGBA" mask
            out.paste(op[1], op[2], op[3])
        else:  # ("tile", image, (x, y)): an image at its top-left corner
            out.paste(op[1], op[2])


def _split_row(jobs: Sequence[MaskJob], height: int) -> int:
    """Frame row that splits the jobs' total box area in two halves."""
    rows = np.zeros(height + 1, dtype=np.int64)
    for job in jobs:
        x0, y0, x1, y1 = job.xyxy
        rows[y0] += x1 - x0
        rows[y1] -= x1 - x0
    area_by_row = np.cumsum(np.cumsum(rows)[:height])
    return int(np.searchsorted(area_by_row, area_by_row[-1] / 2)) + 1


class MaskPainter:
    """Masks prepared ahead of painting: construct it, make the frame, then :meth:`paint`.

    With threads, one worker starts preparing the box-size opacity images while the caller
    copies the frame; :meth:`paint` helps with the rest, then the frame is split into two row
    stripes painted in parallel (worker and caller), each applying the masks in order (the
    same pixels as painting serially). Two waits in all, so a busy machine costs little.

    Args:
        jobs: Masks with pixel boxes inside the frame (empty boxes are skipped).
        alpha: Fill opacity 0..1 (0: outlines only).
        outline_px: Outline thickness in pixels (0: no outline).
        parallel: Force a worker thread (True) or not (False); default: a worker for big work
            on a machine with more than one core.
    """

    def __init__(self, jobs: Sequence[MaskJob], alpha: float, outline_px: int, *, parallel: bool | None = None):
        fill = int(round(float(alpha) * 255))
        jobs = [j for j in jobs if j.xyxy[2] > j.xyxy[0] and j.xyxy[3] > j.xyxy[1] and j.mask.size]
        if fill == 0 and not outline_px:
            jobs = []
        areas = [(j.xyxy[2] - j.xyxy[0]) * (j.xyxy[3] - j.xyxy[1]) for j in jobs]
        if parallel is None:
            parallel = _workers() > 1 and sum(areas) >= PARALLEL_MIN_PIXELS
        self.jobs = jobs
        self.parallel = bool(parallel and jobs)
        self._fill, self._outline_px = fill, outline_px
        self._alphas: list[Image.Image | None] = [None] * len(jobs)
        # Biggest boxes first, taken by whichever thread is free: both finish at about the same time.
        self._order = sorted(range(len(jobs)), key=lambda i: -areas[i])
        self._next = itertools.count()  # next() on it is atomic in CPython: a lock-free work queue
        self._prepared: Future | None = _get_pool().submit(self._prepare_some) if self.parallel else None

    def _prepare_some(self) -> None:
        for k in iter(self._next.__next__, None):
            if k >= len(self._order):
                return
            i = self._order[k]
            self._alphas[i] = _prepare(self.jobs[i], self._fill, self._outline_px)

    def paint(self, out: Image.Image, overlay: Sequence[tuple] = ()) -> None:
        """Paint the masks (in order) onto the RGB image ``out`` in place, then ``overlay``.

        ``overlay`` ops are ``("fill", color, xyxy)``, ``("tile", image, (x, y))``,
        ``("paste", color_or_image, box, mask)`` and ``("pen", fn(ImageDraw))``, run in order on the caller's thread (painting them inside
        the stripes measured no faster: they are mostly Python, serialised by the GIL).
        """
        height = out.size[1]
        self._prepare_some()
        if self._prepared is None:
            _paint_rows(out, self.jobs, self._alphas, 0, height)
        else:
            self._prepared.result()
            split = _split_row(self.jobs, height)
            lower = _get_pool().submit(_paint_rows, out, self.jobs, self._alphas, split, height)
            try:
                _paint_rows(out, self.jobs, self._alphas, 0, split)
            finally:
                lower.result()
        run_overlay(out, overlay)


def paint_masks(
    out: Image.Image,
    jobs: Sequence[MaskJob],
    alpha: float,
    outline_px: int,
    *,
    parallel: bool | None = None,
) -> None:
    """Paint ``jobs`` (in order) onto the RGB image ``out`` in place (see :class:`MaskPainter`).

    Example:
        >>> frame = Image.new("RGB", (40, 30))
        >>> paint_masks(frame, [MaskJob((10, 5, 30, 25), np.full((8, 8), 255, np.uint8), (255, 0, 0))], 1.0, 0)
        >>> frame.getpixel((20, 15))
        (255, 0, 0)
    """
    MaskPainter(jobs, alpha, outline_px, parallel=parallel).paint(out)
