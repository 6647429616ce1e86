"""Fonts for labels in any script: discovery, per-character coverage and fallback.

Pillow draws a string with ONE font and shows missing glyphs as boxes, so we split each
label into runs that one font covers (coverage read once per font with fontTools and cached).
Order: a user font (wins), DejaVu Sans from matplotlib (Latin/Greek/Cyrillic), the packaged
Noto Sans CJK collection with the face matching the text (kana -> JP, hangul -> KR, Han ->
SC unless ``lang`` says tc/hk/jp/kr), Noto Color Emoji when installed, then any system font
matplotlib's font manager knows. Characters no font covers are reported, never hidden.
"""

from __future__ import annotations

import os
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "Face",
    "MissingGlyphWarning",
    "EMOJI_BITMAP_SIZE",
    "cjk_font_path",
    "latin_font_path",
    "emoji_font_path",
    "cjk_face",
    "coverage",
    "load_font",
    "face_chain",
    "split_runs",
    "warn_missing",
]

#: Pillow can only rasterise Noto Color Emoji (CBDT bitmaps) at this pixel size.
EMOJI_BITMAP_SIZE = 109

_CJK_FACE_INDEX = {"jp": 0, "ja": 0, "kr": 1, "ko": 1, "sc": 2, "zh": 2, "zh-cn": 2, "zh-hans": 2,
                   "tc": 3, "zh-tw": 3, "zh-hant": 3, "hk": 4, "zh-hk": 4}
_EMOJI_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/System/Library/Fonts/Apple Color Emoji.ttc",
)


# Code points below U+1F000 whose default presentation is emoji (Unicode emoji-data.txt,
# Emoji_Presentation=Yes): drawn in colour even without U+FE0F, like browsers do.
_EMOJI_PRESENTATION_BMP = frozenset(
    cp
    for lo, hi in (
        (0x231A, 0x231B), (0x23E9, 0x23EC), (0x23F0, 0x23F0), (0x23F3, 0x23F3), (0x25FD, 0x25FE),
        (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
        (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE), (0x26D4, 0x26D4),
        (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA), (0x26FD, 0x26FD),
        (0x2705, 0x2705), (0x270A, 0x270B), (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E),
        (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797), (0x27B0, 0x27B0), (0x27BF, 0x27BF),
        (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    )
    for cp in range(lo, hi + 1)
)  # fmt: skip


class MissingGlyphWarning(UserWarning):
    """Some characters of a label have no glyph in any available font."""


@dataclass(frozen=True)
class Face:
    """One face of a font file; ``color`` marks bitmap colour fonts drawn at a fixed size."""

    path: str
    index: int = 0
    color: bool = False


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """Path of the packaged Noto Sans CJK collection (pip ``noto-cjk-sans-otc``), or None."""
    try:
        import noto_cjk_sans_otc  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    return str(path) if path.is_file() else None


@lru_cache(maxsize=1)
def latin_font_path() -> str | None:
    """DejaVu Sans as shipped inside matplotlib (Latin, Greek, Cyrillic and many symbols)."""
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        pass
    return None


@lru_cache(maxsize=1)
def emoji_font_path() -> str | None:
    """A colour emoji font (Debian's fonts-noto-color-emoji), or None when none is installed."""
    env = os.environ.get("SPATIAL_NB_EMOJI_FONT")
    for candidate in ((env,) if env else ()) + _EMOJI_CANDIDATES:
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def _is_kana(cp: int) -> bool:
    return 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9D


def _is_hangul(cp: int) -> bool:
    return 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F


def cjk_face(text: str, lang: str | None = None) -> Face | None:
    """The Noto Sans CJK face whose glyph forms suit ``text``.

    Kana means Japanese, hangul means Korean; Han-only text uses ``lang`` (``"sc"``,
    ``"tc"``, ``"hk"``, ``"jp"``, ``"kr"``; default Simplified Chinese).

    >>> cjk_face("ねこ").index, cjk_face("고양이").index, cjk_face("猫").index, cjk_face("猫", "tc").index
    (0, 1, 2, 3)
    """
    path = cjk_font_path()
    if path is None:
        return None
    if any(_is_kana(ord(c)) for c in text):
        index = 0
    elif any(_is_hangul(ord(c)) for c in text):
        index = 1
    else:
        key = (lang or "sc").lower().replace("_", "-")
        if key not in _CJK_FACE_INDEX:
            raise ValueError(f"lang must be one of sc, tc, hk, jp, kr (got {lang!r})")
        index = _CJK_FACE_INDEX[key]
    return Face(path, index)


@lru_cache(maxsize=64)
def coverage(path: str, index: int = 0) -> frozenset[int]:
    """Code points that the face ``index`` of ``path`` maps to a glyph (cached)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # noqa: BLE001 - unreadable font: it covers nothing
        return frozenset()
    return frozenset(cmap)


@lru_cache(maxsize=128)
def load_font(face: Face, size: int):
    """A cached Pillow FreeType font for ``face`` at ``size`` pixels (colour faces: size 109)."""
    from PIL import ImageFont

    if face.color:
        size = EMOJI_BITMAP_SIZE
    return ImageFont.truetype(face.path, max(1, int(size)), index=face.index)


def _user_face(font: str | os.PathLike | None) -> Face | None:
    if font is None:
        return None
    path = os.fspath(font)
    if not os.path.isfile(path):
        raise ValueError(f"font file not found: {path!r}; pass the path of a .ttf/.otf/.ttc file")
    return Face(path, 0)


def face_chain(text: str, font: str | os.PathLike | None = None, lang: str | None = None) -> list[Face]:
    """The fonts tried, in order, for the characters of ``text``."""
    chain = [f for f in (_user_face(font),) if f is not None]
    latin = latin_font_path()
    if latin:
        chain.append(Face(latin))
    cjk = cjk_face(text, lang)
    if cjk:
        chain.append(cjk)
    emoji = emoji_font_path()
    if emoji:
        chain.append(Face(emoji, 0, color=True))
    return chain


@lru_cache(maxsize=1)
def _system_fonts() -> tuple[str, ...]:
    try:
        from matplotlib import font_manager

        paths = {f.fname for f in font_manager.fontManager.ttflist}
    except Exception:  # noqa: BLE001 - no matplotlib font cache: no system fallback
        return ()
    # matplotlib ships "LastResort", whose placeholder glyphs would hide missing characters.
    return tuple(
        sorted(
            p
            for p in paths
            if p.lower().endswith((".ttf", ".otf", ".ttc")) and "lastresort" not in os.path.basename(p).lower()
        )
    )


@lru_cache(maxsize=4096)
def _system_face_for(cp: int) -> Face | None:
    for path in _system_fonts():
        if cp in coverage(path, 0):
            return Face(path, 0)
    return None


_JOINERS = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}


def _attaches_to_previous(ch: str) -> bool:
    cp = ord(ch)
    return (
        cp in _JOINERS
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag sequences (flags of regions)
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
    )


def split_runs(
    text: str, font: str | os.PathLike | None = None, lang: str | None = None
) -> tuple[list[tuple[str, Face | None]], list[str]]:
    """Split ``text`` into runs that one face draws, plus the characters no font has.

    Combining marks, variation selectors, ZWJ and skin tones stay with the character
    before them (so emoji sequences are shaped as one glyph). Emoji (U+1F000 and up, BMP
    characters of emoji presentation such as "☕", or anything followed by U+FE0F) prefer
    the colour emoji font; U+FE0E asks for the text form. Missing characters get ``None``
    as face.

    Example:
        >>> runs, missing = split_runs("cat 猫")
        >>> [r for r, _ in runs], missing
        (['cat ', '猫'], [])
    """
    chain = face_chain(text, font, lang)
    runs: list[list] = []
    missing: list[str] = []
    chars = list(text)
    for i, ch in enumerate(chars):
        cp = ord(ch)
        if runs and (_attaches_to_previous(ch) or (ch.isspace() and runs[-1][1] is not None and not runs[-1][1].color
                                                    and cp in coverage(runs[-1][1].path, runs[-1][1].index))):
            runs[-1][0] += ch
            continue
        next_cp = ord(chars[i + 1]) if i + 1 < len(chars) else 0
        wants_emoji = next_cp != 0xFE0E and (
            0x1F000 <= cp <= 0x1FAFF or cp in _EMOJI_PRESENTATION_BMP or next_cp in (0xFE0F, 0x20E3)
        )
        face: Face | None = None
        if wants_emoji:
            face = next((f for f in chain if f.color and cp in coverage(f.path, f.index)), None)
        if face is None:
            # Spaces never come from the emoji font (its advance widths are bitmap-sized).
            face = next((f for f in chain if cp in coverage(f.path, f.index) and not (f.color and ch.isspace())), None)
        if face is None and not unicodedata.category(ch).startswith("C"):
            face = _system_face_for(cp)
        if face is None:
            if unicodedata.category(ch) in ("Cc", "Cf"):
                continue  # invisible controls: drop silently, they have no glyph by design
            missing.append(ch)
        if runs and runs[-1][1] == face:
            runs[-1][0] += ch
        else:
            runs.append([ch, face])
    return [(r, f) for r, f in runs], missing


def warn_missing(chars: list[str] | set[str], stacklevel: int = 3) -> None:
    """Emit ONE :class:`MissingGlyphWarning` naming the characters no font could draw."""
    if not chars:
        return
    unique = sorted(set(chars))
    listed = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unique[:12])
    more = f" and {len(unique) - 12} more" if len(unique) > 12 else ""
    warnings.warn(
        f"no installed font has a glyph for {listed}{more}; they are drawn as boxes. "
        "Pass font='/path/to/font.ttf' (a font that covers this script) to draw them.",
        MissingGlyphWarning,
        stacklevel=stacklevel,
    )
