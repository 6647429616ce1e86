"""Label text: per-character font fallback, measured and rendered from a glyph cache, wrapped to a width.

Each label is split into runs that one font draws (see :mod:`spatial_nb.fonts`). Simple
scripts (Latin, Greek, Cyrillic, CJK, kana, hangul syllables, symbols) are measured by adding
cached glyph advances and rendered by composing cached glyph bitmaps: FreeType rasterises a
glyph once per size, so a first draw of hundreds of new labels stays cheap. Runs that need
shaping (Arabic, Hebrew, Indic scripts, combining marks) are rendered whole with Pillow's
Raqm layout; colour emoji at the one size Pillow can rasterise (109 px), scaled down. The
fast path applies no kerning: labels are short, and measuring and drawing agree exactly.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import EMOJI_BITMAP_SIZE, Face, latin_font_path, load_font, split_runs, warn_missing

__all__ = ["TextLayout", "layout_text", "measure_text", "render_text", "text_alpha", "paint_text", "paint_simple_line", "wrap_text", "normalize_label"]

_GLYPHS, _SHAPED, _EMOJI, _BUILTIN = "glyphs", "shaped", "emoji", "builtin"
#: Closing punctuation that must not start a line (CJK line breaking, simplified).
_NO_LINE_START = set("、。，．：；！？）」』】〕〉》”’・ー…,.;:!?)]}")


@dataclass(frozen=True)
class _Run:
    text: str
    face: Face | None
    kind: str
    x: float
    width: float
    ascent: float
    descent: float


@dataclass(frozen=True)
class TextLayout:
    """A laid-out single-line label.

    Attributes:
        width: Advance width in pixels.
        ascent: Pixels above the baseline (largest of all runs).
        descent: Pixels below the baseline.
        missing: Characters no font could draw (drawn as boxes by the primary font).
    """

    text: str
    size: int
    runs: tuple[_Run, ...]
    width: int
    ascent: int
    descent: int
    missing: tuple[str, ...]

    @property
    def height(self) -> int:
        return self.ascent + self.descent


def normalize_label(label: object) -> str:
    """The label as shown: whitespace (newlines, tabs) collapsed to single spaces, nothing cut.

    >>> normalize_label("  two\\nlines ")
    'two lines'
    """
    return " ".join(str(label).split())


def _is_simple(cp: int) -> bool:
    """True for characters drawn correctly glyph by glyph (no shaping, no mark positioning)."""
    return (
        cp < 0x0300
        or 0x0370 <= cp < 0x0590
        or 0x1E00 <= cp < 0x2000
        or (0x2000 <= cp < 0x2C00 and not 0x20D0 <= cp < 0x2100 and cp not in (0x200C, 0x200D))
        or 0x2E80 <= cp < 0xA000
        or 0xAC00 <= cp < 0xD7A4
        or 0xF900 <= cp < 0xFB00
        or 0xFF00 <= cp < 0xFFF0
        or 0x20000 <= cp < 0x40000
    )


@lru_cache(maxsize=8192)
def _needs_shaping(text: str) -> bool:
    return any(not _is_simple(ord(c)) or unicodedata.category(c).startswith("M") for c in text)


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
        adv = self.advances
        total = 0.0
        for ch in text:
            a = adv.get(ch)
            total += a if a is not None else self.advance(ch)
        return total

    def cell(self, ch: str) -> tuple[np.ndarray, tuple] | None:
        """``(block, overflow)``: the glyph's ink inside its advance, as a line-high block, plus the
        ink outside it as ``(alpha, x, y)`` pieces (pen at x=0, top of the line at y=0); None when
        the advance is not a whole number of pixels (then lines are composed glyph by glyph)."""
        if ch in self.cells:
            return self.cells[ch]
        adv = self.advance(ch)
        entry = None
        if adv.is_integer() and adv >= 0:
            width, height = int(adv), self.ascent + self.descent
            block = np.zeros((height, width), dtype=np.uint8)
            overflow = []
            alpha, left, top = self.bitmap(ch)
            if alpha is not None:
                y = self.ascent + top
                r0, r1 = max(0, -y), min(alpha.shape[0], height - y)  # the line's box clips rows
                if r1 > r0:
                    rows, y = alpha[r0:r1], y + r0
                    lo = min(max(-left, 0), rows.shape[1])
                    hi = min(max(width - left, lo), rows.shape[1])
                    block[y : y + rows.shape[0], left + lo : left + hi] = rows[:, lo:hi]
                    if lo > 0:
                        overflow.append((np.ascontiguousarray(rows[:, :lo]), left, y))
                    if hi < rows.shape[1]:
                        overflow.append((np.ascontiguousarray(rows[:, hi:]), left + hi, y))
            entry = (block, tuple(overflow))
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


@lru_cache(maxsize=4096)
def _split_cached(text: str, font: str | None, lang: str | None):
    if font is None and text.isascii() and text.isprintable():
        latin = latin_font_path()
        if latin:  # DejaVu Sans covers every printable ASCII character
            return [(text, Face(latin))], []
    return split_runs(text, font, lang)


def _fallback_face(pieces) -> Face | None:
    face = next((f for _, f in pieces if f is not None and not f.color), None)
    if face is None:
        latin = latin_font_path()
        face = Face(latin) if latin else None
    return face


@lru_cache(maxsize=4096)
def _layout_cached(text: str, size: int, font: str | None, lang: str | None) -> TextLayout:
    pieces, missing = _split_cached(text, font, lang)
    fallback = _fallback_face(pieces)
    runs = []
    x = 0.0
    for piece, face in pieces:
        use = face or fallback
        if use is None:  # no font at all: Pillow's built-in bitmap font
            run = _Run(piece, None, _BUILTIN, x, size * 0.6 * len(piece), size * 0.8, size * 0.2)
        elif use.color:
            pil_font = load_font(use, size)
            scale = size / EMOJI_BITMAP_SIZE
            ascent, descent = pil_font.getmetrics()
            run = _Run(piece, use, _EMOJI, x, pil_font.getlength(piece) * scale, ascent * scale, descent * scale)
        elif _needs_shaping(piece):
            pil_font = load_font(use, size)
            ascent, descent = pil_font.getmetrics()
            run = _Run(piece, use, _SHAPED, x, float(pil_font.getlength(piece)), ascent, descent)
        else:
            cache = _glyph_cache(use, size)
            run = _Run(piece, use, _GLYPHS, x, cache.width(piece), cache.ascent, cache.descent)
        runs.append(run)
        x += run.width
    width = int(round(x))
    ascent = int(round(max((r.ascent for r in runs), default=size * 0.8)))
    descent = int(round(max((r.descent for r in runs), default=size * 0.2)))
    return TextLayout(text, size, tuple(runs), max(width, 0), ascent, descent, tuple(missing))


def layout_text(text: str, size: int, font: str | os.PathLike | None = None, lang: str | None = None) -> TextLayout:
    """Lay out ``text`` as one line at ``size`` pixels (cached). Newlines and tabs become spaces."""
    clean = str(text)
    if "\n" in clean or "\t" in clean or "\r" in clean:
        clean = " ".join(clean.replace("\t", " ").splitlines())
    return _layout_cached(clean, max(1, int(round(size))), os.fspath(font) if font else None, lang)


def measure_text(
    text: str, size: int, font: str | os.PathLike | None = None, lang: str | None = None
) -> tuple[int, int]:
    """``(width, height)`` in pixels of ``text`` drawn at ``size``.

    >>> w, h = measure_text("cat", 20)
    >>> 20 < w < 50 and 15 < h < 40
    True
    """
    lay = layout_text(text, size, font, lang)
    return lay.width, lay.height


# -- wrapping --------------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return 0x2E80 <= cp < 0xA000 or 0xAC00 <= cp < 0xD7A4 or 0xF900 <= cp < 0xFB00 or 0xFF00 <= cp < 0xFFF0 or cp >= 0x20000


def _break_units(text: str) -> list[tuple[str, bool]]:
    """Pieces between break opportunities: ``(piece, space_before)``; CJK breaks between characters."""
    if text.isascii():  # no CJK: the words
        return [(word, n > 0) for n, word in enumerate(text.split(" ")) if word]
    units: list[tuple[str, bool]] = []
    for n, word in enumerate(text.split(" ")):
        if not word:
            continue
        space = n > 0
        current = ""
        for ch in word:
            if current and ((_is_cjk(ch) and ch not in _NO_LINE_START) or _is_cjk(current[-1]) and ch not in _NO_LINE_START):
                units.append((current, space))
                current, space = "", False
            current += ch
        if current:
            units.append((current, space))
    return units


def _hard_break(piece: str, max_width: float, size: int, font, lang) -> list[str]:
    """Split a piece wider than ``max_width`` between characters (never drops any)."""
    out, current = [], ""
    for ch in piece:
        if current and layout_text(current + ch, size, font, lang).width > max_width:
            out.append(current)
            current = ch
        else:
            current += ch
    return out + ([current] if current else [])


def line_metrics(text: str, size: int, font: str | None = None, lang: str | None = None) -> tuple[int, int, int]:
    """``(width, ascent, descent)`` of ``layout_text(text, size, font, lang)``, without building the
    layout for printable ASCII in the default font (measuring wrapping choices that are never drawn)."""
    if font is None and text.isascii() and text.isprintable():
        latin = latin_font_path()
        if latin:
            cache = _glyph_cache(Face(latin), max(1, int(round(size))))
            return int(round(cache.width(text))), cache.ascent, cache.descent
    lay = layout_text(text, size, font, lang)
    return lay.width, lay.ascent, lay.descent


def _piece_width(text: str, size: int, font: str | None, lang: str | None):
    """A function giving ``layout_text(piece, ...).width`` for pieces of ``text``: straight from the
    glyph advances when ``text`` is printable ASCII in the default font (one run, one face)."""
    if font is None and text.isascii() and text.isprintable():
        latin = latin_font_path()
        if latin:
            cache = _glyph_cache(Face(latin), size)
            return lambda piece: int(round(cache.width(piece)))
    return lambda piece: layout_text(piece, size, font, lang).width


@lru_cache(maxsize=4096)
def _wrap_cached(text: str, size: int, max_width: int, font: str | None, lang: str | None) -> tuple[str, ...]:
    if layout_text(text, size, font, lang).width <= max_width:
        return (text,)
    # Widths add up (glyph advances, no kerning): measure each piece once, then fill lines greedily.
    width_of = _piece_width(text, size, font, lang)
    space = width_of(" ")
    lines: list[str] = []
    current, current_w = "", 0
    for piece, has_space in _break_units(text):
        piece_w = width_of(piece)
        gap = space if has_space and current else 0
        if current and current_w + gap + piece_w > max_width:
            lines.append(current)
            current, current_w, gap = "", 0, 0
        current, current_w = current + (" " if gap else "") + piece, current_w + gap + piece_w
        if current_w > max_width:  # one piece wider than a line: split it between characters
            *full, current = _hard_break(current, max_width, size, font, lang)
            lines.extend(full)
            current_w = layout_text(current, size, font, lang).width
    if current:
        lines.append(current)
    return tuple(lines)


def wrap_text(
    text: str, size: int, max_width: float, font: str | os.PathLike | None = None, lang: str | None = None
) -> tuple[str, ...]:
    """Break ``text`` into lines no wider than ``max_width`` pixels; nothing is dropped or shortened.

    Lines break at spaces (the space is dropped) and between CJK characters; a word wider than
    ``max_width`` is split between characters.

    >>> wrap_text("white frosting with googly eyes", 20, 180)
    ('white frosting', 'with googly eyes')
    """
    clean = normalize_label(text)
    if not clean:
        return ()
    return _wrap_cached(clean, max(1, int(round(size))), max(1, int(max_width)), os.fspath(font) if font else None, lang)


# -- rendering -------------------------------------------------------------------------------


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


def _paint_glyphs(canvas: np.ndarray, run: _Run, size: int, x: int, baseline: int, line_clip: tuple) -> None:
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
    cells = []
    for ch in text:
        cell = cache.cell(ch)
        if cell is None:
            return None
        cells.append(cell)
    return cells


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
    latin = latin_font_path()
    return _glyph_cache(Face(latin), max(1, int(round(size)))) if latin else None


def paint_simple_line(canvas: np.ndarray, text: str, size: int, font: str | None, x: int, baseline: int, *, fresh: bool = False) -> bool:
    """Draw a printable-ASCII line in the default font into ``canvas`` (max), pen at ``x`` on ``baseline``,
    straight from the glyph cache: what ``paint_text(canvas, layout_text(text, size), x, baseline - ascent)``
    draws. ``fresh``: the caller knows the line's box is still all zeros (then the line is composed in
    place, without a copy). Returns False (nothing drawn) for any other line."""
    cache = _simple_cache(text, size, font)
    if cache is None:
        return False
    cells = _line_cells(cache, text)
    if cells is None:
        return False
    width = sum(cell[0].shape[1] for cell in cells)
    if not width:
        return False
    top, height = baseline - cache.ascent, cache.ascent + cache.descent
    if x >= 0 and top >= 0 and x + width <= canvas.shape[1] and top + height <= canvas.shape[0]:
        if fresh:
            _compose_line(cache, text, cells, canvas[top : top + height, x : x + width])
            return True
    _blit(canvas, _line_alpha(cache, text), x, top)
    return True


def paint_text(canvas: np.ndarray, layout: TextLayout, x: int, y: int) -> list[tuple[Image.Image, int, int]]:
    """Draw ``layout``'s coverage into the uint8 ``canvas`` (max), the line's box at ``(x, y)``.

    Nothing is drawn outside the line's box (``layout.width`` x ``layout.height``) or the
    canvas. Colour emoji are not drawn: they come back as ``(rgba_tile, x, y)`` in canvas pixels.
    """
    if len(layout.runs) == 1 and layout.runs[0].kind == _GLYPHS and layout.runs[0].x == 0 and layout.width > 0:
        cache = _glyph_cache(layout.runs[0].face, layout.size)
        if layout.ascent == cache.ascent and layout.height == cache.ascent + cache.descent:
            line = _line_alpha(cache, layout.runs[0].text)
            if line is not None and line.shape[1] == layout.width:
                _blit(canvas, line, x, y)
                return []
    width, height = max(1, layout.width), max(1, layout.height)
    line_clip = (x, y, x + width, y + height)
    baseline = y + layout.ascent
    emoji: list[tuple[Image.Image, int, int]] = []
    for run in layout.runs:
        if run.kind == _GLYPHS:
            _paint_glyphs(canvas, run, layout.size, x, baseline, line_clip)
        elif run.kind == _EMOJI:
            tile = _emoji_tile(run.text, run.face, layout.size)
            emoji.append((tile, x + int(round(run.x)), y + max(0, int(round(layout.ascent - run.ascent)))))
        else:
            font = load_font(run.face, layout.size) if run.kind == _SHAPED else ImageFont.load_default()
            core, (left, top) = font.getmask2(run.text, "L", anchor="ls")
            if core.size[0] and core.size[1]:
                _blit(canvas, _core_array(core), x + int(round(run.x)) + left, baseline + top, line_clip)
    return emoji


def _emoji_tile(text: str, face: Face, size: int) -> Image.Image:
    pil_font = load_font(face, EMOJI_BITMAP_SIZE)
    big_w = max(1, int(round(pil_font.getlength(text))))
    asc, desc = pil_font.getmetrics()
    big = Image.new("RGBA", (big_w, asc + desc), (0, 0, 0, 0))
    ImageDraw.Draw(big).text((0, asc), text, font=pil_font, anchor="ls", embedded_color=True)
    scale = size / EMOJI_BITMAP_SIZE
    return big.resize((max(1, int(round(big_w * scale))), max(1, int(round((asc + desc) * scale)))), Image.Resampling.LANCZOS)


@lru_cache(maxsize=1024)
def text_alpha(layout: TextLayout) -> tuple[np.ndarray, tuple[tuple[Image.Image, int, int], ...]]:
    """Coverage of ``layout`` as a ``(height, width)`` uint8 array, plus colour-emoji tiles.

    The array is shared by a cache: do not modify it. Emoji come as ``(rgba_tile, x, y)``
    to paste over the text (they keep their own colours).
    """
    canvas = np.zeros((max(1, layout.height), max(1, layout.width)), dtype=np.uint8)
    return canvas, tuple(paint_text(canvas, layout, 0, 0))


@lru_cache(maxsize=512)
def _render_cached(layout: TextLayout, fill: tuple[int, int, int]) -> Image.Image:
    alpha, emoji = text_alpha(layout)
    tile = Image.new("RGBA", (alpha.shape[1], alpha.shape[0]), fill + (0,))
    tile.putalpha(Image.fromarray(alpha, "L"))
    for emoji_tile, x, y in emoji:
        tile.alpha_composite(emoji_tile, (x, y))
    return tile


def render_text(
    text: str,
    size: int,
    fill=(0, 0, 0),
    font: str | os.PathLike | None = None,
    lang: str | None = None,
    *,
    warn: bool = True,
) -> Image.Image:
    """Render ``text`` as a tight RGBA tile (``measure_text`` size), transparent background.

    Outline glyphs take ``fill``; emoji keep their own colours. When some characters have
    no font, ONE :class:`~spatial_nb.fonts.MissingGlyphWarning` is emitted (``warn=True``).
    The returned tile is shared by a cache: copy it before modifying it.

    Example:
        >>> render_text("猫 cat", 24).mode
        'RGBA'
    """
    lay = layout_text(text, size, font, lang)
    if warn and lay.missing:
        warn_missing(list(lay.missing), stacklevel=3)
    r, g, b = (int(c) for c in tuple(fill)[:3])
    return _render_cached(lay, (r, g, b))


def clear_caches() -> None:
    """Forget every measured and rendered label (benchmarks use it to time a first draw)."""
    for fn in (_layout_cached, _wrap_cached, _render_cached, text_alpha, _split_cached, _line_alpha, _glyph_cache):
        fn.cache_clear()
