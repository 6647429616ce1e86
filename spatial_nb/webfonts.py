"""Fonts for HTML overlays: subsets of the bundled fonts holding only the label glyphs, and glyph outlines.

A browser without CJK fonts (minimal Linux, headless Chromium) shows CJK labels as empty boxes.
``web_fonts`` subsets every face our own layout used for characters beyond Latin-1 (the packaged
Noto Sans CJK; DejaVu Sans for Greek or Cyrillic) with fontTools, keeping only the glyphs of the
labels: WOFF2 when ``brotli`` is installed (a few KB for a dozen CJK glyphs), else a plain
OpenType subset. It also gives glyph outlines as SVG path data, the fallback for front ends that
strip ``<style>``. Subsetting a CJK face takes ~0.1-0.2 s; results are cached per set of characters.
Colour emoji are left to the browser's own emoji font.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from functools import lru_cache

from .display import data_url
from .fonts import Face

__all__ = ["WebFonts", "needs_embedding", "web_fonts", "subset_font", "glyph_path"]

#: Tables a label subset does not need (vertical metrics, layout features, baseline data).
_DROP = ("GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG", "DSIG", "JSTF", "MATH", "kern", "FFTM")


def needs_embedding(run) -> bool:
    """True for a laid-out run whose characters a browser may lack: outline glyphs beyond Latin-1.

    Runs that need shaping (Arabic, Indic scripts) keep the browser's fonts: a subset without
    the layout tables would lose their joining forms.
    """
    return run.kind == "glyphs" and run.face is not None and not run.face.color and any(ord(c) > 0xFF for c in run.text)


def _woff2_available() -> bool:
    try:
        import brotli  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=64)
def subset_font(face: Face, chars: frozenset[str]):
    """``(font bytes, mime, format, subset TTFont)`` holding only ``chars`` of ``face`` (cached)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(face.path, fontNumber=face.index, lazy=True)
    for tag in _DROP:  # dropped before subsetting: decompiling CJK layout tables alone takes ~0.5 s
        if tag in font:
            del font[tag]
    cmap = font["cmap"]  # one Unicode subtable is enough (the others, variation sequences included, cost time)
    best = [t for t in cmap.tables if (t.platformID, t.platEncID) == (3, 10)] or [
        t for t in cmap.tables if (t.platformID, t.platEncID) in ((3, 1), (0, 3), (0, 4))
    ]
    if best:
        cmap.tables = best[:1]
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = [1, 2]
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    woff2 = _woff2_available()
    font.flavor = "woff2" if woff2 else None
    buf = io.BytesIO()
    font.save(buf)
    data = buf.getvalue()
    font = TTFont(io.BytesIO(data))  # the saved subset, for outlines and metrics
    if woff2:
        return data, "font/woff2", "woff2", font
    return data, "font/otf" if "CFF " in font else "font/ttf", "opentype" if "CFF " in font else "truetype", font


@lru_cache(maxsize=16)
def _outline_font(face: Face):
    from fontTools.ttLib import TTFont

    return TTFont(face.path, fontNumber=face.index, lazy=True)


@lru_cache(maxsize=8192)
def glyph_path(face: Face, ch: str, source=None) -> tuple[str, int] | None:
    """SVG path data of ``ch`` in ``face`` (font units, y up) and the font's units per em."""
    from fontTools.pens.svgPathPen import SVGPathPen

    font = source if source is not None else _outline_font(face)
    name = (font.getBestCmap() or {}).get(ord(ch))
    if name is None:
        return None
    glyphs = font.getGlyphSet()
    pen = SVGPathPen(glyphs, ntos=lambda v: str(round(v)))
    glyphs[name].draw(pen)
    commands = pen.getCommands()
    return (commands, int(font["head"].unitsPerEm)) if commands else None


@dataclass
class WebFonts:
    """``@font-face`` rules, the family of each embedded face, and glyph outlines for the fallback."""

    css: str = ""
    families: dict[Face, str] = field(default_factory=dict)
    paths: dict[tuple[Face, str], tuple[str, str, int]] = field(default_factory=dict)  # -> (id, d, upem)
    sources: dict[Face, object] = field(default_factory=dict)

    def family_list(self, layout) -> str | None:
        """CSS font-family for a laid-out line: its embedded faces first (None: the default stack)."""
        names = []
        for run in layout.runs:
            fam = self.families.get(run.face) if needs_embedding(run) else None
            if fam and fam not in names:
                names.append(fam)
        return ", ".join(f"'{n}'" for n in names) if names else None

    def glyph(self, face: Face, ch: str, id_prefix: str) -> tuple[str, int] | None:
        """``(element id, units per em)`` of ``ch``'s outline, registering it for ``<defs>``."""
        key = (face, ch)
        if key not in self.paths:
            found = glyph_path(face, ch, self.sources.get(face))
            if found is None:
                return None
            self.paths[key] = (f"{id_prefix}-g{len(self.paths)}", found[0], found[1])
        gid, _, upem = self.paths[key]
        return gid, upem

    def defs(self) -> str:
        return "".join(f'<path id="{gid}" d="{d}"/>' for gid, d, _ in self.paths.values())


def web_fonts(layouts) -> WebFonts:
    """Subset every face that ``layouts`` (laid-out lines) use for characters beyond Latin-1."""
    chars: dict[Face, set[str]] = {}
    for lay in layouts:
        for run in lay.runs:
            if needs_embedding(run):
                chars.setdefault(run.face, set()).update(c for c in run.text if not c.isspace())
    out = WebFonts()
    rules = []
    for face, used in chars.items():
        key = frozenset(used)
        data, mime, fmt, source = subset_font(face, key)
        digest = hashlib.sha1(f"{face.path}:{face.index}:{''.join(sorted(key))}".encode()).hexdigest()[:10]
        family = f"snb-{digest}"
        out.families[face] = family
        out.sources[face] = source
        rules.append(f'@font-face{{font-family:"{family}";src:url({data_url(data, mime)}) format("{fmt}");font-display:block}}')
    out.css = "".join(rules)
    return out
