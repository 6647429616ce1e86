"""Free-text labels -> dataset class ids: the :class:`LabelMap` every export uses.

Gemini's labels are free text; datasets need class ids. Matching is case-insensitive and exact
(surrounding spaces ignored, no plural guessing), so a mapping never merges classes silently;
labels it does not know are dropped and counted, or raise, as the caller chooses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .errors import SpatialNBError
from .result import Result

__all__ = ["LabelMap", "UnmappedLabelError"]


class UnmappedLabelError(SpatialNBError, ValueError):
    """A label has no class id and the unmapped policy is ``"error"``."""



def _norm(label: str) -> str:
    return str(label).strip().casefold()


class LabelMap:
    """Free-text label -> class id, case-insensitive exact match (surrounding spaces ignored).

    Args:
        classes: ``dict`` label -> id (several labels may share an id; ids are used as given,
            also as COCO category ids), or a list of class names (id = position, COCO category
            id = position + 1 because COCO keeps 0 for "background"), or None to learn the
            sorted set of labels from the results (see :meth:`from_results`).
        unmapped: ``"drop"`` (skip the item and count it in :attr:`dropped`) or ``"error"``
            (raise :class:`UnmappedLabelError`).

    Example:
        >>> lm = LabelMap(["cat", "dog"])
        >>> lm.class_id("Dog"), lm.class_id("bird"), dict(lm.dropped)
        (1, None, {'bird': 1})
    """

    def __init__(self, classes: Mapping[str, int] | Sequence[str], unmapped: str = "drop"):
        if unmapped not in ("drop", "error"):
            raise ValueError(f'unmapped must be "drop" or "error", not {unmapped!r}')
        self.unmapped = unmapped
        self.dropped: Counter[str] = Counter()
        self._ids: dict[str, int] = {}
        self.names: dict[int, str] = {}
        if isinstance(classes, Mapping):
            self.explicit_ids = True
            for label, class_id in classes.items():
                if not isinstance(class_id, (int, np.integer)) or isinstance(class_id, bool):
                    raise ValueError(f"class id for {label!r} must be an integer, got {class_id!r}")
                self._ids[_norm(label)] = int(class_id)
                self.names.setdefault(int(class_id), str(label))
        else:
            if isinstance(classes, str):
                raise ValueError("classes must be a list of class names or a dict label -> id, not one string")
            self.explicit_ids = False
            for i, label in enumerate(classes):
                key = _norm(label)
                if key in self._ids:
                    raise ValueError(f"class name {label!r} appears twice (names match case-insensitively)")
                self._ids[key] = i
                self.names[i] = str(label)

    @classmethod
    def from_results(cls, results: Iterable[Result], unmapped: str = "drop") -> LabelMap:
        """Classes = the sorted set of labels in ``results`` (case-insensitive; first spelling kept)."""
        seen: dict[str, str] = {}
        for res in results:
            for item in res:
                seen.setdefault(_norm(item.label), item.label.strip())
        return cls([seen[k] for k in sorted(seen)], unmapped=unmapped)

    @classmethod
    def coerce(cls, mapping: LabelMap | Mapping[str, int] | Sequence[str] | None,
               results: Iterable[Result], unmapped: str = "drop") -> LabelMap:
        """A LabelMap from whatever the user gave (None = learn from ``results``)."""
        if isinstance(mapping, LabelMap):
            return mapping
        if mapping is None:
            return cls.from_results(results, unmapped=unmapped)
        return cls(mapping, unmapped=unmapped)

    def class_id(self, label: str) -> int | None:
        """The class id of ``label``; None (counted in :attr:`dropped`) or an error when unknown."""
        class_id = self._ids.get(_norm(label))
        if class_id is None:
            if self.unmapped == "error":
                known = ", ".join(repr(n) for n in list(self.names.values())[:20])
                raise UnmappedLabelError(
                    f"label {label!r} is not in the class mapping (known: {known}); add it to the "
                    'mapping or use unmapped="drop"'
                )
            self.dropped[str(label)] += 1
        return class_id

    def coco_id(self, class_id: int) -> int:
        """COCO category id of a class id (same id for explicit dicts, position + 1 for lists)."""
        return class_id if self.explicit_ids else class_id + 1

    def report(self) -> str:
        """One line on what was dropped, e.g. ``"dropped 3 items with unmapped labels: 'bird' x2, ..."``."""
        if not self.dropped:
            return "every label mapped to a class"
        parts = ", ".join(f"{label!r} x{n}" for label, n in self.dropped.most_common(10))
        more = " ..." if len(self.dropped) > 10 else ""
        return f"dropped {sum(self.dropped.values())} items with unmapped labels: {parts}{more}"

    def __repr__(self) -> str:
        return f"LabelMap({self.names!r}, unmapped={self.unmapped!r})"
