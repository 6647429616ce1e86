"""Response schemas for ``structured=True``: one JSON list-of-objects schema per kind.

The schemas follow Gemini's own answer shapes (``box_2d`` y-first 0-1000, ``point`` [y, x],
``box_3d`` 9 numbers, masks as strings) so structured and free-text answers go through the
same parser. They are plain dicts in the SDK's ``Schema`` vocabulary (OBJECT/ARRAY/...),
kept minimal: deep or heavily constrained schemas make the API refuse ("too many states").
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["response_schema", "SCHEMAS"]


def _list_of(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "ARRAY",
        "items": {
            "type": "OBJECT",
            "properties": properties,
            "required": required,
            "property_ordering": list(properties),
        },
    }


_INT_LIST = {"type": "ARRAY", "items": {"type": "INTEGER"}}
_NUM_LIST = {"type": "ARRAY", "items": {"type": "NUMBER"}}
_LABEL = {"type": "STRING"}

#: Schema per kind (copied on access; edit freely).
SCHEMAS: dict[str, dict[str, Any]] = {
    "boxes": _list_of({"box_2d": _INT_LIST, "label": _LABEL}, ["box_2d", "label"]),
    "masks": _list_of(
        {"box_2d": _INT_LIST, "mask": {"type": "STRING"}, "label": _LABEL}, ["box_2d", "mask", "label"]
    ),
    "points": _list_of({"point": _INT_LIST, "label": _LABEL}, ["point", "label"]),
    "boxes3d": _list_of({"box_3d": _NUM_LIST, "label": _LABEL}, ["box_3d", "label"]),
}


def response_schema(kind: str) -> dict[str, Any]:
    """The response schema for ``kind`` (a fresh copy).

    >>> response_schema("points")["items"]["required"]
    ['point', 'label']
    """
    try:
        return copy.deepcopy(SCHEMAS[kind])
    except KeyError:
        raise ValueError(f"kind must be one of {tuple(SCHEMAS)}, got {kind!r}") from None
