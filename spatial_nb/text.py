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

from ._glyphs import _blit, _core_array, _glyph_cache, _line_alpha, _paint_glyphs, _simple_cache, clear_glyph_caches
from .fonts import EMOJI_BITMAP_SIZE, Face, latin_font_path, load_font, split_runs, warn_missing

__all__ = ["TextLayout", "layout_text", "measure_text", "render_text", "text_alpha", "paint_text", "wrap_text", "normalize_label"]

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
    cache = _simple_cache(text, size, font)
    if cache is not None:
        return int(round(cache.width(text))), cache.ascent, cache.descent
    lay = layout_text(text, size, font, lang)
    return lay.width, lay.ascent, lay.descent


def _piece_width(text: str, size: int, font: str | None, lang: str | None):
    """A function giving ``layout_text(piece, ...).width`` for pieces of ``text``: straight from the
    glyph advances when ``text`` is printable ASCII in the default font (one run, one face)."""
    cache = _simple_cache(text, size, font)
    if cache is not None:
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
    for fn in (_layout_cached, _wrap_cached, _render_cached, text_alpha, _split_cached):
        fn.cache_clear()
    clear_glyph_caches()
