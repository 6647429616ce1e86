"""The central result type: what Gemini found in one image, in resolution-free coordinates.

``Item`` is one object (label + box / point / 3D box / box-local mask); ``Result`` is the
ordered list of items plus everything needed to trust it: the raw text, the parser's
warnings, and (for client results) model, usage and request settings. ``to_json`` /
``from_json`` define the ONE on-disk format that the CLI, cache, batch files and panel
saves share; it is versioned and refuses other versions with a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from .errors import FormatVersionError
from .geometry import (
    box_to_gemini,
    box_to_pixels,
    boxes_to_pixels,
    point_to_gemini,
    point_to_pixels,
)
from .masks import decode_png_mask, encode_png_mask, place_mask
from .polygons import is_polygon_rings

__all__ = ["Item", "Result", "FORMAT_NAME", "FORMAT_VERSION"]

#: Identifies files written by :meth:`Result.to_json`.
FORMAT_NAME = "spatial_nb.result"
#: Bumped whenever the on-disk layout changes incompatibly.
FORMAT_VERSION = 1


def _tuple_or_none(values: Sequence[float] | None, n: int, what: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    out = tuple(float(v) for v in values)
    if len(out) != n:
        raise ValueError(f"{what} needs {n} numbers, got {len(out)}")
    return out


@dataclass(eq=False)
class Item:
    """One object the model reported.

    Attributes:
        label: The model's label, always a string.
        box: Normalized ``(x0, y0, x1, y1)`` in [0, 1] with ``x0 <= x1``, ``y0 <= y1``, or None.
        point: Normalized ``(x, y)`` in [0, 1], or None.
        box3d: ``(x_c, y_c, z_c, x_size, y_size, z_size, roll, pitch, yaw)`` — metres in the
            camera frame (x right, y forward, z up) and degrees — or None.
        mask: Box-local ``uint8`` probability map (0-255) covering exactly ``box``, or None.
        extra: Other keys the model returned (``in_frame``, ``confidence``, ...) plus
            ``"index"``: the item's position in the model's list, and ``"polygon"`` when the
            mask came as a polygon: normalized ``[x, y]`` rings ``[[[x, y], ...], ...]`` in
            [0, 1] (even-odd: rings are parts or holes), from which exports write COCO
            segmentation and ``to_gemini`` writes the mask back.

    Example:
        >>> it = Item("cat", box=(0.25, 0.5, 0.75, 1.0))
        >>> it.xyxy(640, 480)
        (160, 240, 480, 480)
    """

    label: str
    box: tuple[float, float, float, float] | None = None
    point: tuple[float, float] | None = None
    box3d: tuple[float, ...] | None = None
    mask: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = str(self.label)
        self.box = _tuple_or_none(self.box, 4, "box")  # type: ignore[assignment]
        self.point = _tuple_or_none(self.point, 2, "point")  # type: ignore[assignment]
        self.box3d = _tuple_or_none(self.box3d, 9, "box3d")
        if self.mask is not None:
            mask = np.asarray(self.mask)
            if mask.ndim != 2:
                raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
            if mask.dtype == bool:
                mask = mask.astype(np.uint8) * 255
            self.mask = mask.astype(np.uint8, copy=False)
            if self.box is None:
                raise ValueError("a mask is box-local: an item with a mask needs a box")

    @classmethod
    def _trusted(cls, label, box, point, box3d, mask, extra) -> Item:
        """Build without re-validating: for the parser, which already checked every field
        (box / point / box3d tuples of floats or ints, mask uint8 2-D with a box)."""
        item = cls.__new__(cls)
        item.__dict__.update(label=label, box=box, point=point, box3d=box3d, mask=mask, extra=extra)
        return item

    # -- what it is -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"mask"``, ``"box"``, ``"point"``, ``"box3d"`` or ``"none"`` (e.g. ``in_frame: false``)."""
        if self.mask is not None:
            return "mask"
        if self.box is not None:
            return "box"
        if self.point is not None:
            return "point"
        if self.box3d is not None:
            return "box3d"
        return "none"

    @property
    def index(self) -> int | None:
        """Position of the item in the model's list, when known."""
        idx = self.extra.get("index")
        return idx if isinstance(idx, int) else None

    # -- pixels -----------------------------------------------------------------------
    def xyxy(self, width: int, height: int) -> tuple[int, int, int, int] | None:
        """The box in integer pixels of a ``width`` x ``height`` image (half-open), or None."""
        return None if self.box is None else box_to_pixels(self.box, width, height)

    def xy(self, width: int, height: int) -> tuple[int, int] | None:
        """The point in integer pixels of a ``width`` x ``height`` image, or None."""
        return None if self.point is None else point_to_pixels(self.point, width, height)

    def mask_full(self, width: int, height: int, threshold: int = 127) -> np.ndarray:
        """Full-frame boolean mask of shape ``(height, width)``.

        The box-local probability map is resized to the box's pixel size (bilinear),
        binarized at ``> threshold`` and pasted into an empty frame. Items without a
        mask give an all-False frame.
        """
        if self.mask is None or self.box is None:
            return np.zeros((height, width), dtype=bool)
        return place_mask(self.mask, self.box, width, height, threshold)

    # -- Gemini's own format ----------------------------------------------------------
    def to_gemini(self) -> dict[str, Any]:
        """This item in Gemini's answer format (``box_2d`` y-first 0-1000, ``point`` [y, x], ...)."""
        out: dict[str, Any] = {}
        if self.box is not None:
            out["box_2d"] = box_to_gemini(self.box)
        if self.point is not None:
            out["point"] = point_to_gemini(self.point)
        if self.box3d is not None:
            out["box_3d"] = [round(v, 4) for v in self.box3d]
        polygon = self.extra.get("polygon")
        if is_polygon_rings(polygon):  # the model's own form: [x, y] over the image, 0-1000
            rings = [[[round(x * 1000, 3), round(y * 1000, 3)] for x, y in ring] for ring in polygon]
            out["mask"] = rings[0] if len(rings) == 1 else rings
        elif self.mask is not None:
            out["mask"] = encode_png_mask(self.mask)
        out["label"] = self.label
        for key, value in self.extra.items():
            if key != "index" and key not in out and not (key == "polygon" and "mask" in out):
                out[key] = value
        return out

    # -- on-disk format ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the on-disk format (normalized xyxy, mask as PNG data URL)."""
        out: dict[str, Any] = {"label": self.label}
        if self.box is not None:
            out["box"] = list(self.box)
        if self.point is not None:
            out["point"] = list(self.point)
        if self.box3d is not None:
            out["box3d"] = list(self.box3d)
        if self.mask is not None:
            out["mask"] = encode_png_mask(self.mask)
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        """Inverse of :meth:`to_dict`."""
        mask = data.get("mask")
        return cls(
            label=data.get("label", ""),
            box=data.get("box"),
            point=data.get("point"),
            box3d=data.get("box3d"),
            mask=decode_png_mask(mask) if mask else None,
            extra=dict(data.get("extra") or {}),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return NotImplemented
        if (self.label, self.box, self.point, self.box3d, self.extra) != (
            other.label,
            other.box,
            other.point,
            other.box3d,
            other.extra,
        ):
            return False
        if (self.mask is None) != (other.mask is None):
            return False
        return self.mask is None or np.array_equal(self.mask, other.mask)

    def __repr__(self) -> str:
        parts = [repr(self.label)]
        for name in ("box", "point", "box3d"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}=({', '.join(f'{v:.4g}' for v in value)})")
        if self.mask is not None:
            parts.append(f"mask={self.mask.shape[1]}x{self.mask.shape[0]}")
        shown_extra = {k: v for k, v in self.extra.items() if k != "index"}
        if shown_extra:
            parts.append(f"extra={shown_extra!r}")
        return f"Item({', '.join(parts)})"


@dataclass(eq=False)
class Result(Sequence[Item]):
    """What the model found in one image; a ``Sequence`` of :class:`Item`.

    Attributes:
        items: The objects, in the model's order (after de-duplication).
        warnings: Everything odd that was repaired or skipped, as readable sentences.
        raw_text: The text that was parsed.
        image_size: ``(width, height)`` of the image the model saw, when known.
        model: Model name (client results).
        usage: Token counts (client results), e.g. ``{"prompt_tokens": ..., ...}``.
        finish_reason: Why the model stopped (``"STOP"``, ``"MAX_TOKENS"``, ``"SAFETY"``...).
        cached: True when the answer was replayed from the cache.
        request: The exact settings of the request (prompt, kind, temperature, ...).
        model_version: The model the response says answered (``modelVersion``), which can
            differ from ``model`` when Google routes a retired id to another model (optional).
        elapsed: Seconds the request took, from sending to the parsed answer (optional;
            the original request's time for a cached replay).
    """

    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    raw_text: str = ""
    image_size: tuple[int, int] | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    cached: bool = False
    request: dict[str, Any] | None = None
    model_version: str | None = None
    elapsed: float | None = None

    def __post_init__(self) -> None:
        self.items = list(self.items)
        self.warnings = list(self.warnings)
        if self.image_size is not None:
            w, h = self.image_size
            self.image_size = (int(w), int(h))

    # -- Sequence -----------------------------------------------------------------------
    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index):  # type: ignore[override]
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    # -- conveniences -------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Labels of all items, in order."""
        return [it.label for it in self.items]

    def xyxy(self, width: int, height: int) -> np.ndarray:
        """Integer pixel boxes ``(N, 4)`` (x0, y0, x1, y1; half-open) of the items that have a box.

        Items without a box are left out; see :meth:`boxes` for the matching items.
        """
        boxes = [it.box for it in self.items if it.box is not None]
        if not boxes:
            return np.zeros((0, 4), dtype=np.int64)
        return boxes_to_pixels(np.array(boxes), width, height)

    def boxes(self) -> list[Item]:
        """The items that have a 2D box, in order (rows of :meth:`xyxy`)."""
        return [it for it in self.items if it.box is not None]

    def to_gemini(self) -> list[dict[str, Any]]:
        """The items in Gemini's own answer format (``box_2d`` y-first, 0-1000 integers)."""
        return [it.to_gemini() for it in self.items]

    def to_gemini_json(self, indent: int | None = None) -> str:
        """:meth:`to_gemini` as JSON text, the way the model would have written it."""
        return json.dumps(self.to_gemini(), ensure_ascii=False, indent=indent)

    # -- on-disk format -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the versioned on-disk format."""
        data: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "items": [it.to_dict() for it in self.items],
            "warnings": list(self.warnings),
            "raw_text": self.raw_text,
            "image_size": list(self.image_size) if self.image_size else None,
            "model": self.model,
            "usage": self.usage,
            "finish_reason": self.finish_reason,
            "cached": self.cached,
            "request": self.request,
        }
        # Optional fields (format version 1 readers ignore them; absent in older files).
        if self.model_version is not None:
            data["model_version"] = self.model_version
        if self.elapsed is not None:
            data["elapsed"] = self.elapsed
        return data

    def to_json(self, indent: int | None = None) -> str:
        """Serialize to the ONE on-disk format (normalized xyxy, masks as PNG base64).

        >>> r = Result([Item("cat", box=(0.1, 0.2, 0.3, 0.4))])
        >>> Result.from_json(r.to_json()) == r
        True
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Inverse of :meth:`to_dict`; checks the format name and version."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise FormatVersionError(
                "not a spatial_nb result (missing \"format\": \"spatial_nb.result\"); "
                "to read a raw model answer use snb.parse(text)"
            )
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise FormatVersionError(
                f"this file uses spatial_nb result format version {version!r}, but this "
                f"spatial_nb reads version {FORMAT_VERSION}; upgrade spatial_nb "
                "(pip install -U spatial-nb) or re-create the file"
            )
        size = data.get("image_size")
        return cls(
            items=[Item.from_dict(d) for d in data.get("items", [])],
            warnings=list(data.get("warnings", [])),
            raw_text=data.get("raw_text", ""),
            image_size=tuple(size) if size else None,  # type: ignore[arg-type]
            model=data.get("model"),
            usage=data.get("usage"),
            finish_reason=data.get("finish_reason"),
            cached=bool(data.get("cached", False)),
            request=data.get("request"),
            model_version=data.get("model_version"),
            elapsed=data.get("elapsed"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Result:
        """Load a result written by :meth:`to_json`.

        Raises:
            FormatVersionError: the text is not this format or another version of it.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatVersionError(f"not a spatial_nb result file: invalid JSON ({exc})") from None
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        head = f"Result({len(self.items)} items"
        if self.model:
            head += f", model={self.model!r}"
        if self.cached:
            head += ", cached"
        if self.warnings:
            head += f", {len(self.warnings)} warnings"
        body = "".join(f"\n  {it!r}" for it in self.items[:50])
        more = f"\n  ... {len(self.items) - 50} more" if len(self.items) > 50 else ""
        return head + ")" + body + more
