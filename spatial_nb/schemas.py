"""Response schemas for ``structured=True``: one JSON list-of-objects schema per kind.

The schemas follow Gemini's own answer shapes (``box_2d`` y-first 0-1000, ``point`` [y, x],
``box_3d`` 9 numbers, masks as strings) so structured and free-text answers go through the
same parser. They are plain dicts in the SDK's ``Schema`` vocabulary (OBJECT/ARRAY/...),
kept minimal: deep or heavily constrained schemas make the API refuse ("too many states").
:func:`json_schema` gives the same shape as standard JSON Schema for the Interactions API.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["response_schema", "json_schema", "SCHEMAS"]


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


#: The masks schema for models that answer polygons (``[[x, y], ...]``, Gemini 3.6+ and Robotics-ER).
POLYGON_MASKS = _list_of(
    {"box_2d": _INT_LIST, "mask": {"type": "ARRAY", "items": _INT_LIST}, "label": _LABEL},
    ["box_2d", "mask", "label"],
)


def response_schema(kind: str, mask_format: str | None = None) -> dict[str, Any]:
    """The response schema for ``kind`` (a fresh copy); ``mask_format="polygon"`` asks for
    masks as lists of ``[x, y]`` points instead of PNG strings.

    >>> response_schema("points")["items"]["required"]
    ['point', 'label']
    >>> response_schema("masks", "polygon")["items"]["properties"]["mask"]["items"]["type"]
    'ARRAY'
    """
    if kind == "masks" and mask_format == "polygon":
        return copy.deepcopy(POLYGON_MASKS)
    try:
        return copy.deepcopy(SCHEMAS[kind])
    except KeyError:
        raise ValueError(f"kind must be one of {tuple(SCHEMAS)}, got {kind!r}") from None


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "property_ordering":
                continue  # a generate_content hint; JSON Schema has no such keyword
            out[key] = value.lower() if key == "type" and isinstance(value, str) else _to_json_schema(value)
        return out
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    return node


def json_schema(kind: str, mask_format: str | None = None) -> dict[str, Any]:
    """The kind's schema as standard JSON Schema (lower-case types), for the Interactions API.

    >>> json_schema("points")["items"]["properties"]["point"]
    {'type': 'array', 'items': {'type': 'integer'}}
    """
    return _to_json_schema(response_schema(kind, mask_format))
