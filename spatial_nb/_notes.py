"""The parser's warnings: repairs are counted by kind while reading and worded once, at the end.

One sentence per kind of repair ("3 box_2d values had numbers outside 0-1000 (first: item 4,
...)"), so a looping or hostile answer yields a few readable lines, not thousands. Kinds are
strings (free-form sentences) or tuples whose first element names the wording below.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Notes", "plural", "short"]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def short(value: Any, limit: int = 60) -> str:
    """``value`` as JSON-ish text cut to ``limit`` characters."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _mask_models() -> str:
    """The models whose masks spatial_nb can read, from the model table (read at warning time)."""
    try:
        from . import models

        names = [m for m in models.KNOWN_MODELS
                 if models.supports(m, "masks") and models.profile(m).status == "current"]
    except Exception:  # the table is another module's business; never fail a parse over it
        names = []
    if not names:
        return "No model in spatial_nb's model table is listed as returning usable masks today"
    return "Models that return usable masks today (spatial_nb's model table): " + ", ".join(names)


def _sentence(kind: Any, n: int, index: int | None, detail: Any, context: dict[str, Any]) -> str:
    first = "" if index is None else f" (first: item {index}"
    name = kind[0] if isinstance(kind, tuple) else kind
    if name == "reversed":
        return (f"{plural(n, kind[1] + ' value')} had min and max in reverse order{first}, "
                f"{kind[1]} {short(detail)}); the coordinates were swapped")
    if name == "clipped":
        return (f"{plural(n, kind[1] + ' value')} had numbers outside 0-1000{first}, "
                f"{kind[1]} {short(detail)}); they were clipped to the image")
    if name == "bad_geometry":
        return f"{plural(n, kind[1] + ' value')} {_was(n)} not {kind[2]}{first}: {short(detail)}); ignored"
    if name == "label_not_text":
        return f"{plural(n, 'label')} {_was(n)} not text{first}: {short(detail)}); converted to text"
    if name == "no_label":
        return f"{plural(n, 'item')} had no label{first}); given the empty label \"\""
    if name == "alt_label":
        return f"{plural(n, 'item')} had no \"label\" but a \"{kind[1]}\"{first}); \"{kind[1]}\" was used as the label"
    if name == "no_geometry":
        return f"{plural(n, 'item')} had no usable box_2d, point, box_3d or mask{first}, keys {detail}); skipped"
    if name == "not_object":
        return (f"{plural(n, 'list entry', 'list entries')} {_was(n)} not a JSON object{first}: "
                f"{short(detail)}); skipped")
    if name == "mask":
        return (f"{plural(n, 'mask')} could not be decoded: {kind[1]}{first}); "
                f"kept the {'item' if n == 1 else 'items'} without a mask")
    if name == "seg_tokens":
        return (f"{plural(n, 'mask')} came as <start_of_mask><seg_..> segmentation tokens, a format only the "
                f"model itself can decode{first}); kept the {'box' if n == 1 else 'boxes'} without a mask. "
                f"{_mask_models()}")
    if name == "mask_alt":
        return (f"{plural(n, 'item')} had a mask that could not be decoded ({kind[1]}) next to one that "
                f"could{first}); the readable one was used")
    if name == "png_without_box":
        return (f"{plural(n, 'item')} had both a box-local mask and a polygon but no box_2d to place the "
                f"box-local one in{first}); the polygon was used")
    if name == "mask_no_box":
        return f"{plural(n, 'mask')} came without a box_2d to place {'it' if n == 1 else 'them'} in{first}); kept without a mask"
    if name == "mask_budget":
        return (f"{plural(n, 'mask')} went over the total of {context['budget']:,} mask pixels per answer"
                f"{first}); kept without a mask")
    if name == "polygon_repair":
        return f"{plural(n, 'polygon mask')}: {kind[1]}{first})"
    if name == "polygon_downscaled":
        return (f"{plural(n, 'polygon mask')} {_was(n)} rasterized below the usual 3840x2160 detail to stay "
                f"within the total of {context['budget']:,} mask pixels per answer{first})")
    if name == "polygon_yx":
        return (f"{plural(n, 'polygon mask')} disagreed with {'its' if n == 1 else 'their'} box_2d when read as "
                f"[x, y] (box IoU {detail[0]:.2f}) but matched it as [y, x] (IoU {detail[1]:.2f}){first}); "
                f"{'it was' if n == 1 else 'they were'} read as [y, x]")
    if name == "polygon_box":
        return (f"{plural(n, 'polygon mask')} disagreed with {'its' if n == 1 else 'their'} box_2d (IoU "
                f"{detail:.2f} < 0.5 between box_2d and the polygon's bounds){first}); the box was widened "
                f"to hold both")
    if name == "nonfinite":
        return (f"{plural(n, 'value')} {_was(n)} not a finite number (NaN or Infinity){first}, "
                f"key {short(detail)}); "
                f"{'it was' if n == 1 else 'they were'} replaced by null so the result can be saved")
    if name == "surrogates":
        return (f"{plural(n, 'text')} held lone UTF-16 surrogates (invalid Unicode){first}); they were "
                f"replaced by U+FFFD so the result can be saved")
    if name == "too_deep":
        return (f"{plural(n, 'value')} nested more than {detail} levels deep in an item {_was(n)} "
                f"replaced by null{first})")
    if name == "duplicates":
        return (f"the model repeated itself: removed {plural(n, 'duplicate item')} (same label and boxes "
                f"overlapping at IoU >= {context['iou']}, or the same point or 3D box){first}, "
                f"a repeat of item {detail})")
    return str(kind)  # free-form sentence stored as the kind


class Notes:
    """Counts repairs by kind (with the first example) and words them once, at the end.

    Args:
        context: Numbers the wording needs (``budget``: total mask pixels, ``iou``: dedupe threshold).
    """

    def __init__(self, **context: Any) -> None:
        self.counts: dict[Any, list] = {}
        self.context = context

    def add(self, kind: Any, index: int | None = None, detail: Any = None, n: int = 1) -> None:
        entry = self.counts.get(kind)
        if entry is None:
            self.counts[kind] = [n, index, detail]
        else:
            entry[0] += n

    def sentences(self) -> list[str]:
        return [_sentence(kind, n, index, detail, self.context) for kind, (n, index, detail) in self.counts.items()]
