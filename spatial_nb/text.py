"""Label text with per-character font fallback, measured and rendered as small RGBA tiles.

Each label is split into runs (see :mod:`spatial_nb.fonts`); outline runs are drawn by
FreeType at the requested size, colour-emoji runs at the only size Pillow can rasterise
(109 px) and scaled down. Layouts and rendered tiles are cached, because the same labels
are drawn again and again while a user tweaks the style.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

from .fonts import EMOJI_BITMAP_SIZE, Face, load_font, split_runs, warn_missing

__all__ = ["TextLayout", "layout_text", "measure_text", "render_text"]


@dataclass(frozen=True)
class _Run:
    text: str
    face: Face | None
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


def _fallback_face(runs) -> Face | None:
    return next((f for _, f in runs if f is not None and not f.color), None)


@lru_cache(maxsize=1024)
def _layout_cached(text: str, size: int, font: str | None, lang: str | None) -> TextLayout:
    pieces, missing = split_runs(text, font, lang)
    fallback = _fallback_face(pieces)
    if fallback is None:
        from .fonts import latin_font_path

        latin = latin_font_path()
        fallback = Face(latin) if latin else None
    runs = []
    for piece, face in pieces:
        use = face or fallback
        if use is None:  # no font at all: Pillow's built-in bitmap font
            runs.append(_Run(piece, None, size * 0.6 * len(piece), size * 0.8, size * 0.2))
            continue
        pil_font = load_font(use, size)
        scale = size / EMOJI_BITMAP_SIZE if use.color else 1.0
        ascent, descent = pil_font.getmetrics()
        width = pil_font.getlength(piece) * scale
        if use.color:
            # Bitmap emoji are taller than the em; centre them on the text's x-height area.
            ascent, descent = ascent * scale, descent * scale
        runs.append(_Run(piece, use, width, ascent, descent))
    width = int(round(sum(r.width for r in runs)))
    ascent = int(round(max((r.ascent for r in runs), default=size * 0.8)))
    descent = int(round(max((r.descent for r in runs), default=size * 0.2)))
    return TextLayout(text, size, tuple(runs), max(width, 0), ascent, descent, tuple(missing))


def layout_text(text: str, size: int, font: str | os.PathLike | None = None, lang: str | None = None) -> TextLayout:
    """Lay out ``text`` at ``size`` pixels (cached). Newlines and tabs become spaces."""
    clean = " ".join(str(text).replace("\t", " ").splitlines())
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


@lru_cache(maxsize=512)
def _render_cached(layout: TextLayout, fill: tuple[int, int, int]) -> Image.Image:
    width, height = max(1, layout.width), max(1, layout.height)
    tile = Image.new("RGBA", (width, height), fill + (0,))
    alpha = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(alpha)
    colour_layer: Image.Image | None = None
    x = 0.0
    baseline = layout.ascent
    for run in layout.runs:
        if run.face is None:
            draw.text((x, baseline), run.text, fill=255, anchor="ls")
        elif run.face.color:
            pil_font = load_font(run.face, EMOJI_BITMAP_SIZE)
            big_w = max(1, int(round(pil_font.getlength(run.text))))
            asc, desc = pil_font.getmetrics()
            big = Image.new("RGBA", (big_w, asc + desc), (0, 0, 0, 0))
            ImageDraw.Draw(big).text((0, asc), run.text, font=pil_font, anchor="ls", embedded_color=True)
            scale = layout.size / EMOJI_BITMAP_SIZE
            small = big.resize(
                (max(1, int(round(big_w * scale))), max(1, int(round((asc + desc) * scale)))),
                Image.Resampling.LANCZOS,
            )
            if colour_layer is None:
                colour_layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
            top = int(round(baseline - asc * scale))
            colour_layer.alpha_composite(small, (int(round(x)), max(0, top)))
        else:
            draw.text((x, baseline), run.text, font=load_font(run.face, layout.size), fill=255, anchor="ls")
        x += run.width
    tile.putalpha(alpha)
    if colour_layer is not None:
        tile.alpha_composite(colour_layer)
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
