"""Make model-supplied values storable: strict JSON and UTF-8 encodable, with counts of changes.

Python's ``json`` reads ``NaN`` / ``Infinity`` and ``"\\ud800"`` escapes (lone surrogates), but
``Result.to_json`` writes strict JSON and every file, cache row or notebook output needs valid
UTF-8. So the parser replaces non-finite numbers by ``None`` and lone surrogates by U+FFFD
(a proper surrogate pair becomes its character), and counts what it changed for its warnings.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["Cleaner", "clean_text", "is_clean", "MAX_EXTRA_DEPTH"]

#: Values nested deeper than this inside an item's extra keys are replaced by None (bounds the
#: cleaner's recursion; ``json`` itself stops near 1000 levels).
MAX_EXTRA_DEPTH = 400

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def is_clean(label: str, extra: dict) -> bool:
    """True when an item's label and extra values need no :class:`Cleaner` (the usual case; cheap:
    ASCII strings are skipped without a search). Nested values are always walked."""
    if not label.isascii() and _SURROGATE.search(label):
        return False
    for key, value in extra.items():
        t = type(value)
        if t is float:
            if value - value != 0.0:  # NaN or +-Infinity
                return False
        elif t is str:
            if not value.isascii() and _SURROGATE.search(value):
                return False
        elif t is dict or t is list:
            return False
        if type(key) is str and not key.isascii() and _SURROGATE.search(key):
            return False
    return True


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (surrogate pairs joined into their character).

    >>> clean_text("a\\ud800b"), clean_text("\\ud83d\\ude00")
    ('a\ufffdb', '😀')
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class Cleaner:
    """Cleans JSON values and counts what it changed (``nonfinite``, ``surrogates``, ``too_deep``)."""

    __slots__ = ("nonfinite", "surrogates", "too_deep", "first_key")

    def __init__(self) -> None:
        self.nonfinite = self.surrogates = self.too_deep = 0
        self.first_key: Any = None  # key of the first non-finite number since the caller reset it

    def text(self, value: str) -> str:
        out = clean_text(value)
        if out is not value:
            self.surrogates += 1
        return out

    def value(self, value: Any, depth: int = 0, key: Any = None) -> Any:
        """A copy of a decoded JSON value that ``json.dumps(..., allow_nan=False)`` and UTF-8 accept."""
        t = type(value)
        if t is str:
            return self.text(value)
        if t is float:
            if math.isfinite(value):
                return value
            self.nonfinite += 1
            if self.first_key is None:
                self.first_key = key
            return None
        if t is dict or t is list:
            if depth >= MAX_EXTRA_DEPTH:
                self.too_deep += 1
                return None
            if t is list:
                return [self.value(v, depth + 1, key) for v in value]
            return {self.text(k) if type(k) is str else k: self.value(v, depth + 1, k) for k, v in value.items()}
        return value
