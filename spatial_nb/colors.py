"""Colours for overlays: a qualitative palette, colour per item or per label, legible text.

Items are coloured by their index by default, so neighbours differ even when labels repeat
("cupcake", "cupcake", ...); ``color_by="label"`` gives every distinct label its own colour
(in order of first appearance, so the first labels never collide). Text on a coloured chip
is black or white, whichever has the higher WCAG contrast against the chip.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "PALETTE",
    "parse_color",
    "to_hex",
    "color_for_index",
    "item_colors",
    "text_color_for",
    "contrast_ratio",
]

#: 19 saturated, mutually distinct colours; consecutive entries differ strongly in hue.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (255, 225, 25),
    (145, 30, 180),
    (245, 130, 48),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (0, 128, 128),
    (250, 190, 212),
    (170, 110, 40),
    (128, 0, 0),
    (170, 255, 195),
    (0, 0, 128),
    (255, 215, 180),
    (128, 128, 0),
    (220, 190, 255),
    (128, 128, 128),
)


def parse_color(value: Any) -> tuple[int, int, int]:
    """``"#rrggbb"``, ``"#rgb"``, a CSS/PIL colour name or an RGB(A) tuple -> ``(r, g, b)``.

    >>> parse_color("#ff8000")
    (255, 128, 0)
    """
    if isinstance(value, str):
        from PIL import ImageColor

        try:
            rgb = ImageColor.getrgb(value)
        except ValueError:
            raise ValueError(f"unknown colour {value!r}; use '#rrggbb', a colour name or an (r, g, b) tuple") from None
        return tuple(int(c) for c in rgb[:3])  # type: ignore[return-value]
    try:
        r, g, b = (int(round(float(c))) for c in tuple(value)[:3])
    except (TypeError, ValueError):
        raise ValueError(f"unknown colour {value!r}; use '#rrggbb', a colour name or an (r, g, b) tuple") from None
    return (min(max(r, 0), 255), min(max(g, 0), 255), min(max(b, 0), 255))


def to_hex(rgb: Sequence[int]) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    r, g, b = (int(c) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def color_for_index(index: int, palette: Sequence[Sequence[int]] = PALETTE) -> tuple[int, int, int]:
    """Colour of the item at ``index`` (the palette repeats after ``len(palette)`` items)."""
    r, g, b = palette[int(index) % len(palette)][:3]
    return (int(r), int(g), int(b))


def item_colors(
    items: Sequence[Any],
    color_by: str = "index",
    palette: Sequence[Any] | None = None,
) -> list[tuple[int, int, int]]:
    """One colour per item.

    Args:
        items: :class:`~spatial_nb.result.Item` objects (anything with ``.label``/``.extra``).
        color_by: ``"index"`` (the item's model index, else its position) or ``"label"``
            (distinct labels get distinct colours, in order of first appearance).
        palette: Optional list of colours (any form :func:`parse_color` accepts).

    Example:
        >>> from spatial_nb.result import Item
        >>> a, b = item_colors([Item("cat"), Item("cat")])
        >>> a != b
        True
    """
    pal = [parse_color(c) for c in palette] if palette else list(PALETTE)
    if not pal:
        raise ValueError("palette must contain at least one colour")
    if color_by == "index":
        out = []
        for pos, item in enumerate(items):
            idx = getattr(item, "extra", {}).get("index")
            idx = idx if isinstance(idx, int) and not isinstance(idx, bool) else pos
            out.append(color_for_index(idx, pal))
        return out
    if color_by == "label":
        order: dict[str, int] = {}
        for item in items:
            order.setdefault(item.label, len(order))
        return [color_for_index(order[item.label], pal) for item in items]
    raise ValueError(f"color_by must be 'index' or 'label', got {color_by!r}")


def _relative_luminance(rgb: Sequence[int]) -> float:
    def channel(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: Sequence[int], b: Sequence[int]) -> float:
    """WCAG contrast ratio (1..21) between two RGB colours."""
    la, lb = _relative_luminance(a), _relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def text_color_for(background: Sequence[int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``background``.

    >>> text_color_for((255, 225, 25)), text_color_for((0, 0, 128))
    ((0, 0, 0), (255, 255, 255))
    """
    return _text_color(tuple(int(c) for c in background[:3]))


@lru_cache(maxsize=1024)
def _text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    black, white = (0, 0, 0), (255, 255, 255)
    return black if contrast_ratio(background, black) >= contrast_ratio(background, white) else white
