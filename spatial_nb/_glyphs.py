"""Glyphs of one face at one size, cached, and lines composed from them.

FreeType rasterises each glyph once per size (``_GlyphCache``); a line whose advances are whole
pixels is then laid out as advance-wide glyph blocks side by side in one numpy copy, the ink
that reaches past an advance added with ``max``. That is exactly glyph-by-glyph compositing
(``_paint_glyphs``, kept for fractional advances) at a fraction of the cost. No kerning: what
``spatial_nb.text`` measures is what is drawn.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageFont

from .fonts import Face, latin_font_path

__all__ = ["paint_simple_line", "latin_glyphs", "clear_glyph_caches"]


class _GlyphCache:
    """Advances and bitmaps of single glyphs of one face at one size (Pillow's basic layout)."""

    def __init__(self, face: Face, size: int):
        self.font = ImageFont.truetype(face.path, size, index=face.index, layout_engine=ImageFont.Layout.BASIC)
        self.ascent, self.descent = self.font.getmetrics()
        self.advances: dict[str, float] = {}
        self.bitmaps: dict[str, tuple[np.ndarray | None, int, int]] = {}
        self.cells: dict[str, tuple | None] = {}

    def advance(self, ch: str) -> float:
        adv = self.advances.get(ch)
        if adv is None:
            adv = self.advances[ch] = float(self.font.getlength(ch))
        return adv

    def width(self, text: str) -> float:
        """Sum of the advances (added left to right, as the glyphs are placed)."""
        try:
            return float(sum(map(self.advances.__getitem__, text)))
        except KeyError:  # some glyph not measured yet
            for ch in text:
                self.advance(ch)
            return float(sum(map(self.advances.__getitem__, text)))

    def cell(self, ch: str) -> tuple[np.ndarray, tuple, tuple[int, int] | None] | None:
        """``(block, overflow, rows)``: the glyph's ink inside its advance, as a line-high block, the
        ink outside it as ``(alpha, x, y)`` pieces (pen at x=0, top of the line at y=0), and the rows
        its bitmap covers as ``(top, bottom)`` from the baseline (None: no ink); None when the
        advance is not a whole number of pixels (then lines are composed glyph by glyph)."""
        if ch in self.cells:
            return self.cells[ch]
        adv = self.advance(ch)
        entry = None
        if adv.is_integer() and adv >= 0:
            width, height = int(adv), self.ascent + self.descent
            block = np.zeros((height, width), dtype=np.uint8)
            overflow = []
            rows_inked = None
            alpha, left, top = self.bitmap(ch)
            if alpha is not None:
                y = self.ascent + top
                r0, r1 = max(0, -y), min(alpha.shape[0], height - y)  # the line's box clips rows
                if r1 > r0:
                    rows, y = alpha[r0:r1], y + r0
                    rows_inked = (y - self.ascent, y + rows.shape[0] - self.ascent)
                    lo = min(max(-left, 0), rows.shape[1])
                    hi = min(max(width - left, lo), rows.shape[1])
                    block[y : y + rows.shape[0], left + lo : left + hi] = rows[:, lo:hi]
                    if lo > 0:
                        overflow.append((np.ascontiguousarray(rows[:, :lo]), left, y))
                    if hi < rows.shape[1]:
                        overflow.append((np.ascontiguousarray(rows[:, hi:]), left + hi, y))
            entry = (block, tuple(overflow), rows_inked)
        self.cells[ch] = entry
        return entry

    def bitmap(self, ch: str) -> tuple[np.ndarray | None, int, int]:
        """``(alpha, left, top)``: the glyph's coverage and its offset from the pen on the baseline."""
        entry = self.bitmaps.get(ch)
        if entry is None:
            core, (left, top) = self.font.getmask2(ch, "L", anchor="ls")
            if core.size[0] and core.size[1]:
                alpha = _core_array(core)
                entry = (alpha if alpha.any() else None, left, top)
            else:
                entry = (None, left, top)
            self.bitmaps[ch] = entry
        return entry


@lru_cache(maxsize=64)
def _glyph_cache(face: Face, size: int) -> _GlyphCache:
    return _GlyphCache(face, size)


def _core_array(core) -> np.ndarray:
    """A Pillow "L" core image (what ``getmask2`` returns) as a ``(height, width)`` uint8 array."""
    width, height = core.size
    return np.frombuffer(Image.Image()._new(core).tobytes(), dtype=np.uint8).reshape(height, width)


def _blit(canvas: np.ndarray, alpha: np.ndarray, x: int, y: int, clip: tuple[int, int, int, int] | None = None) -> None:
    """``canvas = max(canvas, alpha)`` at ``(x, y)``, clipped to the canvas (and to ``clip``, ``(x0, y0, x1, y1)``)."""
    h, w = alpha.shape
    ch, cw = canvas.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cw), min(y + h, ch)
    if clip is not None:
        x0, y0, x1, y1 = max(x0, clip[0]), max(y0, clip[1]), min(x1, clip[2]), min(y1, clip[3])
    if x1 <= x0 or y1 <= y0:
        return
    region = canvas[y0:y1, x0:x1]
    np.maximum(region, alpha[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


def _paint_glyphs(canvas: np.ndarray, run, size: int, x: int, baseline: int, line_clip: tuple) -> None:
    """Compose a glyph run from cached glyph bitmaps straight into ``canvas`` (pen at ``x`` on ``baseline``).

    Glyphs go at whole pixels: each word starts at its rounded pen position, each glyph at the
    rounded sum of the advances before it in the word; a glyph is clipped to a margin of half
    the font size around its word and to the line's box.
    """
    cache = _glyph_cache(run.face, size)
    margin = cache.font.size // 2 + 1
    word_top, word_bottom = baseline - cache.ascent - margin, baseline + cache.descent + margin
    bitmap, advance, maximum = cache.bitmap, cache.advance, np.maximum
    pen = run.x
    lx0, ly0, lx1, ly1 = line_clip
    ly0, ly1 = max(ly0, word_top, 0), min(ly1, word_bottom, canvas.shape[0])
    lx0, lx1 = max(lx0, 0), min(lx1, canvas.shape[1])
    for n, word in enumerate(run.text.split(" ")):
        if n:
            pen += advance(" ")
        if not word:
            continue
        start = x + int(round(pen))
        cx0, cx1 = max(lx0, start - margin), min(lx1, start - margin + int(cache.width(word)) + 2 * margin + 1)
        offset = 0.0
        for ch in word:
            alpha, left, top = bitmap(ch)
            if alpha is not None:
                gx, gy = start + int(offset + 0.5) + left, baseline + top
                h, w = alpha.shape
                if gx >= cx0 and gy >= ly0 and gx + w <= cx1 and gy + h <= ly1:  # inside every clip: the common case
                    region = canvas[gy : gy + h, gx : gx + w]
                    maximum(region, alpha, out=region)
                else:
                    _blit(canvas, alpha, gx, gy, (cx0, ly0, cx1, ly1))
            offset += advance(ch)
        pen += offset


def _line_cells(cache: _GlyphCache, text: str) -> list | None:
    """The glyph cells of a line, or None when some advance is not a whole number of pixels."""
    known = cache.cells
    try:
        cells = [known[ch] for ch in text]
    except KeyError:  # a glyph not rasterised yet
        cells = [cache.cell(ch) for ch in text]
    return None if None in cells else cells


def _compose_line(cache: _GlyphCache, text: str, cells: list, out: np.ndarray) -> None:
    """Write a line's coverage into ``out`` (its line box: every pixel of it is written).

    The glyphs' advance-wide blocks are laid side by side in one copy; ink reaching past a
    glyph's advance (an "f" hook, a "j" tail) is then added with ``max``, clipped as
    :func:`_paint_glyphs` clips it: the same pixels, several times faster than glyph by glyph.
    """
    if cells:
        np.concatenate([cell[0] for cell in cells], axis=1, out=out)
    if any(cell[1] for cell in cells):
        height, width = out.shape
        margin, advances = cache.font.size // 2 + 1, cache.advances
        pen = 0
        for n, word in enumerate(text.split(" ")):
            if n:
                pen += int(advances[" "])
            start = pen
            clip = (max(0, start - margin), 0, min(width, start + int(cache.width(word)) + margin + 1), height)
            for ch in word:
                for alpha, dx, dy in cache.cells[ch][1]:
                    _blit(out, alpha, pen + dx, dy, clip)
                pen += int(advances[ch])


@lru_cache(maxsize=2048)
def _line_alpha(cache: _GlyphCache, text: str) -> np.ndarray | None:
    """Coverage of a one-run line whose glyph advances are whole pixels, in its line box, or None."""
    cells = _line_cells(cache, text)
    if cells is None:
        return None
    line = np.empty((cache.ascent + cache.descent, sum(cell[0].shape[1] for cell in cells)), dtype=np.uint8)
    _compose_line(cache, text, cells, line)
    return line


def _simple_cache(text: str, size: int, font: str | None) -> _GlyphCache | None:
    """The glyph cache that draws ``text`` alone: printable ASCII in the default font (one run, one face)."""
    if font is not None or not text.isascii() or not text.isprintable():
        return None
    return latin_glyphs(max(1, int(round(size))))  # None without the font


def paint_simple_line(
    canvas: np.ndarray, text: str, size: int, font: str | None, x: int, baseline: int, *, fresh: bool = False
) -> tuple[int, int] | None:
    """Draw a printable-ASCII line in the default font into ``canvas`` (max), pen at ``x`` on ``baseline``,
    straight from the glyph cache: what ``paint_text(canvas, layout_text(text, size), x, baseline - ascent)``
    draws. ``fresh``: the caller knows the line's box is still all zeros (then the line is composed in
    place, without a copy).

    Returns:
        The rows ``(top, bottom)``, from the baseline, that the glyphs' bitmaps cover (``(0, 0)``: no
        ink), or None (nothing drawn) for any other line.
    """
    cache = _simple_cache(text, size, font)
    if cache is None:
        return None
    cells = _line_cells(cache, text)
    if cells is None:
        return None
    width = int(cache.width(text))  # whole-pixel advances: the cells' total width
    if not width:
        return None
    top, height = baseline - cache.ascent, cache.ascent + cache.descent
    if fresh and x >= 0 and top >= 0 and x + width <= canvas.shape[1] and top + height <= canvas.shape[0]:
        _compose_line(cache, text, cells, canvas[top : top + height, x : x + width])
    else:
        _blit(canvas, _line_alpha(cache, text), x, top)
    inked = [rows for rows in (cache.cells[ch][2] for ch in set(text)) if rows is not None]
    if not inked:
        return (0, 0)
    return min(r[0] for r in inked), max(r[1] for r in inked)


@lru_cache(maxsize=64)
def latin_glyphs(size: int) -> _GlyphCache | None:
    """The glyph cache of the default Latin font (DejaVu Sans) at ``size`` pixels, or None without it."""
    latin = latin_font_path()
    return _glyph_cache(Face(latin), size) if latin else None


def clear_glyph_caches() -> None:
    """Forget every rasterised glyph and composed line (benchmarks time a first draw with it)."""
    _line_alpha.cache_clear()
    latin_glyphs.cache_clear()
    _glyph_cache.cache_clear()
