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

__all__ = ["TextLayout", "layout_text", "measure_text", "render_text", "text_alpha", "wrap_text", "normalize_label"]

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

    def bitmap(self, ch: str) -> tuple[np.ndarray | None, int, int]:
        """``(alpha, left, top)``: the glyph's coverage and its offset from the pen on the baseline."""
        entry = self.bitmaps.get(ch)
        if entry is None:
            core, (left, top) = self.font.getmask2(ch, "L", anchor="ls")
            if core.size[0] and core.size[1]:
                alpha = np.asarray(Image.new("L", (1, 1))._new(core))
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


@lru_cache(maxsize=4096)
def _wrap_cached(text: str, size: int, max_width: int, font: str | None, lang: str | None) -> tuple[str, ...]:
    if layout_text(text, size, font, lang).width <= max_width:
        return (text,)
    # Widths add up (glyph advances, no kerning): measure each piece once, then fill lines greedily.
    space = layout_text(" ", size, font, lang).width
    lines: list[str] = []
    current, current_w = "", 0
    for piece, has_space in _break_units(text):
        piece_w = layout_text(piece, size, font, lang).width
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


def _blit(canvas: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """``canvas = max(canvas, alpha)`` at ``(x, y)``, clipped to the canvas."""
    h, w = alpha.shape
    ch, cw = canvas.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cw), min(y + h, ch)
    if x1 <= x0 or y1 <= y0:
        return
    region = canvas[y0:y1, x0:x1]
    np.maximum(region, alpha[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


@lru_cache(maxsize=4096)
def _word_alpha(cache: _GlyphCache, word: str) -> tuple[np.ndarray, int, int]:
    """A word composed from cached glyphs: ``(alpha, left, top)`` relative to its pen start on the baseline."""
    margin = cache.font.size // 2 + 1
    height = cache.ascent + cache.descent + 2 * margin
    canvas = np.zeros((height, int(cache.width(word)) + 2 * margin + 1), dtype=np.uint8)
    baseline = cache.ascent + margin
    x = float(margin)
    bitmap, advance, maximum = cache.bitmap, cache.advance, np.maximum
    for ch in word:
        alpha, left, top = bitmap(ch)
        if alpha is not None:
            gx, gy = int(x + 0.5) + left, baseline + top
            if gx >= 0 and gy >= 0:  # inside the margins: no clipping needed
                region = canvas[gy : gy + alpha.shape[0], gx : gx + alpha.shape[1]]
                if region.shape == alpha.shape:
                    maximum(region, alpha, out=region)
                    x += advance(ch)
                    continue
            _blit(canvas, alpha, gx, gy)
        x += advance(ch)
    return canvas, -margin, -baseline


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
    width, height = max(1, layout.width), max(1, layout.height)
    canvas = np.zeros((height, width), dtype=np.uint8)
    baseline = layout.ascent
    emoji: list[tuple[Image.Image, int, int]] = []
    for run in layout.runs:
        if run.kind == _GLYPHS:
            cache = _glyph_cache(run.face, layout.size)
            x = run.x
            for n, word in enumerate(run.text.split(" ")):
                if n:
                    x += cache.advance(" ")
                if word:
                    alpha, left, top = _word_alpha(cache, word)
                    _blit(canvas, alpha, int(round(x)) + left, baseline + top)
                    x += cache.width(word)
        elif run.kind == _SHAPED:
            core, (left, top) = load_font(run.face, layout.size).getmask2(run.text, "L", anchor="ls")
            if core.size[0] and core.size[1]:
                _blit(canvas, np.asarray(Image.new("L", (1, 1))._new(core)), int(round(run.x)) + left, baseline + top)
        elif run.kind == _EMOJI:
            tile = _emoji_tile(run.text, run.face, layout.size)
            emoji.append((tile, int(round(run.x)), max(0, int(round(baseline - run.ascent)))))
        else:
            core, (left, top) = ImageFont.load_default().getmask2(run.text, "L", anchor="ls")
            if core.size[0] and core.size[1]:
                _blit(canvas, np.asarray(Image.new("L", (1, 1))._new(core)), int(round(run.x)) + left, baseline + top)
    return canvas, tuple(emoji)


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
    for fn in (_layout_cached, _wrap_cached, _render_cached, text_alpha, _split_cached, _word_alpha, _glyph_cache):
        fn.cache_clear()
