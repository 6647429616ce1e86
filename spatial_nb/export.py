"""Turn Results into datasets: COCO JSON, YOLO txt, supervision Detections — and read COCO back.

Gemini's labels are free text, datasets need class ids: :class:`LabelMap` maps labels to ids
(user mapping, list of class names, or the sorted set of labels seen) by case-insensitive exact
match, with an explicit policy for labels it does not know ("drop" and count, or "error").
Pixels follow the project rule (round(fraction x size), half-open boxes), so an exported box
lands on the same pixels the drawing helpers use. pycocotools and supervision are optional:
without pycocotools masks are written as polygons (traced with matplotlib's contourpy) and
``to_supervision`` explains what to install.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpatialNBError
from .result import Item, Result

__all__ = [
    "LabelMap",
    "UnmappedLabelError",
    "to_coco",
    "to_yolo",
    "to_supervision",
    "from_coco",
    "coco_results",
    "mask_to_rle",
    "rle_to_mask",
]

_SUPERVISION_HINT = 'to_supervision() needs supervision: pip install "spatial-nb[supervision]" (or pip install supervision)'


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


# -- masks: RLE and polygons -----------------------------------------------------------------

def mask_to_rle(mask: np.ndarray, compress: bool | None = None) -> dict[str, Any]:
    """COCO RLE of a boolean ``(height, width)`` mask.

    Compressed (string counts, via ``pycocotools.mask.encode``) when pycocotools is installed
    and ``compress`` is not False; otherwise uncompressed (list counts, column-major runs
    starting with background), which COCO readers also accept.
    """
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    if compress is not False:
        try:
            from pycocotools import mask as mask_utils
        except ImportError:
            if compress:
                raise ImportError('compressed RLE needs pycocotools: pip install "spatial-nb[eval]"') from None
        else:
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            return {"size": [height, width], "counts": rle["counts"].decode("ascii")}
    flat = mask.flatten(order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [height, width], "counts": counts}


def rle_to_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """Boolean ``(height, width)`` mask of a COCO RLE (compressed needs pycocotools)."""
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        values = np.zeros(sum(counts), dtype=bool)
        pos, on = 0, False
        for n in counts:
            if on:
                values[pos : pos + n] = True
            pos += n
            on = not on
        return values[: height * width].reshape((height, width), order="F")
    try:
        from pycocotools import mask as mask_utils
    except ImportError:
        raise ImportError('reading compressed COCO RLE needs pycocotools: pip install "spatial-nb[eval]"') from None
    data = {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return mask_utils.decode(data).astype(bool)


def _mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Contours of a boolean mask as COCO polygons (flat x, y pixel pairs).

    Traced with contourpy (matplotlib's contouring engine, always installed with it) at the
    0.5 level of the padded mask; points on straight runs are dropped.
    """
    import contourpy

    padded = np.pad(mask.astype(np.float64), 1)
    polygons = []
    for line in contourpy.contour_generator(z=padded, line_type="Separate").lines(0.5):
        xy = np.asarray(line, dtype=np.float64)[:, :2] - 1.0
        if len(xy) > 1 and np.allclose(xy[0], xy[-1]):
            xy = xy[:-1]  # closed ring: COCO polygons are implicitly closed
        if len(xy) >= 3:
            step = np.diff(np.vstack([xy[-1:], xy, xy[:1]]), axis=0)
            turn = step[:-1, 0] * step[1:, 1] - step[:-1, 1] * step[1:, 0]
            xy = xy[np.abs(turn) > 1e-9]  # keep corners only
        if len(xy) < 3:
            continue
        polygons.append([round(float(v), 2) for point in xy for v in point])
    return polygons


def _polygons_to_mask(polygons: Sequence[Sequence[float]], width: int, height: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for poly in polygons:
        if len(poly) >= 6:
            draw.polygon([(float(poly[i]), float(poly[i + 1])) for i in range(0, len(poly) - 1, 2)], fill=1)
    return np.asarray(img, dtype=bool)


# -- image sizes -----------------------------------------------------------------------------

def _image_size(name: str, result: Result, image_sizes: Mapping[str, tuple[int, int]] | None,
                images_root: str | os.PathLike | None) -> tuple[int, int]:
    if image_sizes and name in image_sizes:
        w, h = image_sizes[name]
        return int(w), int(h)
    if images_root is not None:
        path = Path(images_root) / name
        try:
            from PIL import Image

            with Image.open(path) as img:
                # the model saw the upright picture, so use the EXIF-rotated size
                orientation = img.getexif().get(0x0112, 1)
                w, h = img.size
                if orientation in (5, 6, 7, 8):
                    w, h = h, w
                return w, h
        except OSError as exc:
            raise SpatialNBError(f"cannot read the size of {path}: {exc}; pass image_sizes={{name: (w, h)}}") from None
    if result.image_size:
        return result.image_size
    raise SpatialNBError(
        f"no pixel size known for {name!r}: pass images_root=<folder> or image_sizes={{name: (width, height)}}"
    )


def _items_of(results: Mapping[str, Result] | Iterable[tuple[str, Result]]) -> list[tuple[str, Result]]:
    pairs = list(results.items()) if isinstance(results, Mapping) else list(results)
    return sorted(pairs, key=lambda p: p[0])


def _score(item: Item) -> float:
    for key in ("score", "confidence"):
        value = item.extra.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return 1.0


def _annotation(item: Item, width: int, height: int, masks: str) -> dict[str, Any] | None:
    """bbox/area/segmentation of one item in pixels, or None when it has no box."""
    xyxy = item.xyxy(width, height)
    if xyxy is None:
        return None
    x0, y0, x1, y1 = xyxy
    ann: dict[str, Any] = {"bbox": [x0, y0, x1 - x0, y1 - y0], "area": float((x1 - x0) * (y1 - y0)), "iscrowd": 0}
    if item.mask is not None and masks != "none":
        full = item.mask_full(width, height)
        ann["area"] = float(full.sum())
        segmentation: Any = None
        if masks in ("auto", "polygon"):
            if masks == "auto":
                try:
                    import pycocotools  # noqa: F401
                except ImportError:
                    segmentation = _mask_to_polygons(full)
                else:
                    segmentation = mask_to_rle(full)
            else:
                segmentation = _mask_to_polygons(full)
        elif masks == "rle":
            segmentation = mask_to_rle(full)
        ann["segmentation"] = segmentation
    return ann


def to_coco(
    results: Mapping[str, Result] | Iterable[tuple[str, Result]],
    path: str | os.PathLike | None = None,
    *,
    label_map: LabelMap | Mapping[str, int] | Sequence[str] | None = None,
    unmapped: str = "drop",
    images_root: str | os.PathLike | None = None,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
    masks: str = "auto",
) -> dict[str, Any]:
    """COCO detection (and segmentation) JSON of results keyed by image file name.

    Boxes become ``bbox = [x, y, width, height]`` in integer pixels of the ORIGINAL image
    (size from ``image_sizes``, else read from ``images_root/name``, else the size the model
    saw). Items with masks get ``segmentation``: compressed RLE with pycocotools, else polygons
    (``masks="auto"``); or force ``"rle"``, ``"polygon"``,
    ``"none"``. Points and 3D boxes have no COCO detection form and are skipped (counted in
    ``info["spatial_nb"]``). A ``score`` is written from ``extra["score"]`` (consensus) or 1.0.

    Args:
        results: ``{file_name: Result}`` or ``(file_name, Result)`` pairs.
        path: When given, the JSON is also written there.
        label_map: See :class:`LabelMap`; default = sorted set of labels.
        unmapped: ``"drop"`` or ``"error"`` for labels the map does not know.

    Example:
        >>> res = Result([Item("cat", box=(0.1, 0.2, 0.5, 0.6))])
        >>> coco = to_coco({"a.jpg": res}, image_sizes={"a.jpg": (100, 50)})
        >>> coco["annotations"][0]["bbox"], coco["categories"][0]["name"]
        ([10, 10, 40, 20], 'cat')
    """
    if masks not in ("auto", "rle", "polygon", "none"):
        raise ValueError(f'masks must be "auto", "rle", "polygon" or "none", not {masks!r}')
    pairs = _items_of(results)
    lm = LabelMap.coerce(label_map, (r for _, r in pairs), unmapped)
    images, annotations = [], []
    skipped: Counter[str] = Counter()
    for image_id, (name, res) in enumerate(pairs, start=1):
        width, height = _image_size(name, res, image_sizes, images_root)
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        for item in res:
            ann = _annotation(item, width, height, masks)
            if ann is None:
                skipped[item.kind] += 1
                continue
            class_id = lm.class_id(item.label)
            if class_id is None:
                continue
            ann.update(id=len(annotations) + 1, image_id=image_id, category_id=lm.coco_id(class_id),
                       score=_score(item))
            annotations.append(ann)
    categories = [{"id": lm.coco_id(cid), "name": name, "supercategory": ""} for cid, name in sorted(lm.names.items())]
    coco = {
        "info": {
            "description": "exported by spatial_nb",
            "spatial_nb": {"dropped_labels": dict(lm.dropped), "skipped_items_without_box": dict(skipped)},
        },
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(coco, ensure_ascii=False), encoding="utf-8")
    return coco


def coco_results(
    results: Mapping[str, Result],
    image_ids: Mapping[str, int],
    sizes: Mapping[str, tuple[int, int]],
    label_map: LabelMap,
) -> list[dict[str, Any]]:
    """COCO *results* format (``image_id, category_id, bbox, score``) for COCOeval ``loadRes``."""
    out = []
    for name, res in results.items():
        if name not in image_ids:
            continue
        width, height = sizes[name]
        for item in res:
            ann = _annotation(item, width, height, "none")
            if ann is None:
                continue
            class_id = label_map.class_id(item.label)
            if class_id is None:
                continue
            out.append({"image_id": image_ids[name], "category_id": class_id, "bbox": ann["bbox"], "score": _score(item)})
    return out


def to_yolo(
    results: Mapping[str, Result] | Iterable[tuple[str, Result]],
    out_dir: str | os.PathLike,
    *,
    label_map: LabelMap | Mapping[str, int] | Sequence[str] | None = None,
    unmapped: str = "drop",
) -> LabelMap:
    """YOLO labels: ``out_dir/<image path without extension>.txt`` per image plus ``classes.txt``.

    Each line is ``class_id cx cy w h``, normalized to [0, 1] (no pixel size needed). Images
    without boxes get an empty file (YOLO's "background image"). ``classes.txt`` lists class
    names by id (gaps, possible with a user dict, are written as ``class_<id>``).

    Returns:
        The label map used (its ``dropped`` counter says what was left out).
    """
    pairs = _items_of(results)
    lm = LabelMap.coerce(label_map, (r for _, r in pairs), unmapped)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    for name, res in pairs:
        target = (root / name).with_suffix(".txt")
        if root.resolve() not in target.resolve().parents:
            raise SpatialNBError(f"image name {name!r} points outside {root}; use relative names")
        lines = []
        for item in res:
            if item.box is None:
                continue
            class_id = lm.class_id(item.label)
            if class_id is None:
                continue
            x0, y0, x1, y1 = item.box
            lines.append(f"{class_id} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    top = max(lm.names, default=-1)
    if min(lm.names, default=0) < 0:
        raise SpatialNBError("YOLO class ids must be >= 0")
    (root / "classes.txt").write_text(
        "".join(lm.names.get(i, f"class_{i}") + "\n" for i in range(top + 1)), encoding="utf-8"
    )
    return lm


def to_supervision(
    result: Result,
    width: int,
    height: int,
    *,
    label_map: LabelMap | Mapping[str, int] | Sequence[str] | None = None,
    unmapped: str = "drop",
):
    """``supervision.Detections`` of the items with boxes, in pixels of a ``width`` x ``height`` image.

    ``class_id`` comes from ``label_map`` (default: the sorted labels of this result),
    ``confidence`` from ``extra["score"]``/``["confidence"]`` when every item has one,
    ``data["class_name"]`` holds the labels, and ``mask`` is set when any item has a mask
    (items without one get an empty mask).

    Raises:
        ImportError: supervision is not installed (with the pip command to fix it).
    """
    try:
        import supervision as sv
    except ImportError:
        raise ImportError(_SUPERVISION_HINT) from None
    lm = LabelMap.coerce(label_map, [result], unmapped)
    kept: list[tuple[Item, int]] = []
    for item in result.boxes():
        class_id = lm.class_id(item.label)
        if class_id is not None:
            kept.append((item, class_id))
    xyxy = np.array([item.xyxy(width, height) for item, _ in kept], dtype=np.float32).reshape(-1, 4)
    scores = [item.extra.get("score", item.extra.get("confidence")) for item, _ in kept]
    confidence = (
        np.array(scores, dtype=np.float32)
        if kept and all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores)
        else None
    )
    mask = None
    if any(item.mask is not None for item, _ in kept):
        mask = np.stack([item.mask_full(width, height) for item, _ in kept])
    return sv.Detections(
        xyxy=xyxy,
        mask=mask,
        confidence=confidence,
        class_id=np.array([cid for _, cid in kept], dtype=int),
        data={"class_name": np.array([item.label for item, _ in kept], dtype=str)},
    )


def _load_coco_dict(coco: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(coco, Mapping):
        return dict(coco)
    try:
        data = json.loads(Path(coco).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpatialNBError(f"cannot read COCO file {coco}: {exc}") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise SpatialNBError(f"{coco} is not COCO JSON (needs \"images\" and \"annotations\")")
    return data


def from_coco(coco: str | os.PathLike | Mapping[str, Any], *, masks: bool = True) -> dict[str, Result]:
    """COCO ground truth (or an exported file) as ``{file_name: Result}``.

    Boxes become normalized xyxy; segmentations (polygons, RLE) become box-local masks when
    ``masks`` is true. Each item keeps ``extra["category_id"]`` and ``extra["annotation_id"]``;
    ``image_size`` is the COCO image's ``(width, height)``. Images without annotations are
    included (empty Results).
    """
    data = _load_coco_dict(coco)
    names = {c["id"]: str(c.get("name", c["id"])) for c in data.get("categories", [])}
    images = {img["id"]: img for img in data["images"]}
    out: dict[str, Result] = {img["file_name"]: Result(image_size=(img["width"], img["height"])) for img in images.values()}
    for ann in data["annotations"]:
        img = images.get(ann["image_id"])
        if img is None:
            continue
        width, height = int(img["width"]), int(img["height"])
        x, y, w, h = (float(v) for v in ann["bbox"])
        box = (x / width, y / height, (x + w) / width, (y + h) / height)
        mask = None
        seg = ann.get("segmentation")
        if masks and seg:
            if isinstance(seg, list):
                full = _polygons_to_mask(seg, width, height)
            else:
                full = rle_to_mask(seg)
            x0, y0, x1, y1 = (int(round(v)) for v in (x, y, x + w, y + h))
            if x1 > x0 and y1 > y0:
                mask = full[y0:y1, x0:x1].astype(np.uint8) * 255
        res = out[img["file_name"]]
        extra = {"category_id": ann["category_id"], "annotation_id": ann.get("id"), "index": len(res.items)}
        if "score" in ann:
            extra["score"] = ann["score"]
        res.items.append(Item(names.get(ann["category_id"], str(ann["category_id"])), box=box, mask=mask, extra=extra))
    return out

