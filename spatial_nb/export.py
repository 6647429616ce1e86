"""Turn Results into datasets: COCO JSON, YOLO txt, supervision Detections — and read COCO back.

Gemini's labels are free text, datasets need class ids: :class:`LabelMap` maps labels to ids
(user mapping, list of class names, or the sorted set of labels seen) by case-insensitive exact
match, with an explicit policy for labels it does not know ("drop" and count, or "error").
Pixels follow the project rule (round(fraction x size), half-open boxes). Nothing is lost
quietly: COCO is strict JSON, an unreadable image is skipped with a summary line (an
:class:`ExportWarning`), YOLO label files and class names are made unique and one-line with
mapping files. Segmentation comes from the model's polygon when it sent one (:mod:`.cocomasks`).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._exportnames import label_file_names, one_line_names
from .cocomasks import mask_to_polygons, mask_to_rle, polygon_segmentation, polygons_to_mask, rle_to_mask
from .errors import SpatialNBError
from .labelmap import LabelMap, UnmappedLabelError
from .polygons import is_polygon_rings
from .result import Item, Result

__all__ = [
    "ExportWarning",
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


class ExportWarning(UserWarning):
    """An export went through but changed or skipped something (the message says what and where)."""


# -- image sizes -----------------------------------------------------------------------------

class _Unreadable(Exception):
    """The image's pixel size could not be read; the message says why."""


def _image_size(name: str, result: Result, image_sizes: Mapping[str, tuple[int, int]] | None,
                images_root: str | os.PathLike | None) -> tuple[int, int]:
    if image_sizes and name in image_sizes:
        w, h = image_sizes[name]
        return int(w), int(h)
    if images_root is not None:
        from .filenames import unescape_file_name

        path = Path(images_root) / name
        if not path.exists():  # a folder run's record name (bytes that are not UTF-8 stored as \xNN)
            path = Path(images_root) / unescape_file_name(name)
        try:
            from PIL import Image

            with Image.open(path) as img:
                # the model saw the upright picture, so use the EXIF-rotated size
                orientation = img.getexif().get(0x0112, 1)
                w, h = img.size
                if orientation in (5, 6, 7, 8):
                    w, h = h, w
                return w, h
        except Exception as exc:  # missing, not an image, truncated, a decompression bomb ...
            raise _Unreadable(f"{type(exc).__name__}: {exc}") from None
    if result.image_size:
        return result.image_size
    if image_sizes:
        raise _Unreadable("not in image_sizes and the result holds no image size")
    raise SpatialNBError(
        f"no pixel size known for {name!r}: pass images_root=<folder> or image_sizes={{name: (width, height)}}"
    )


def _skipped_line(what: str, skipped: Mapping[str, str], total: int) -> str:
    shown = "; ".join(f"{name}: {why}" for name, why in list(skipped.items())[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return f"{what}: skipped {len(skipped)} of {total} images whose size could not be read ({shown}{more})"


def _items_of(results: Mapping[str, Result] | Iterable[tuple[str, Result]]) -> list[tuple[str, Result]]:
    pairs = list(results.items()) if isinstance(results, Mapping) else list(results)
    return sorted(pairs, key=lambda p: p[0])


def _score(item: Item) -> float:
    for key in ("score", "confidence"):
        value = item.extra.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return 1.0


def _annotation(item: Item, width: int, height: int, masks: str) -> dict[str, Any] | None:
    """bbox/area/segmentation of one item in pixels, or None when it has no box."""
    xyxy = item.xyxy(width, height)
    if xyxy is None:
        return None
    x0, y0, x1, y1 = xyxy
    ann: dict[str, Any] = {"bbox": [x0, y0, x1 - x0, y1 - y0], "area": float((x1 - x0) * (y1 - y0)), "iscrowd": 0}
    if masks == "none":
        return ann
    have_rle = _have_pycocotools()
    rings = item.extra.get("polygon")
    if is_polygon_rings(rings):  # the model's own polygon: exact, no tracing
        ann["segmentation"], ann["area"] = polygon_segmentation(rings, width, height, masks, have_rle)
    elif item.mask is not None:
        full = item.mask_full(width, height)
        ann["area"] = float(full.sum())
        if masks == "rle" or (masks == "auto" and have_rle):
            ann["segmentation"] = mask_to_rle(full)
        else:
            ann["segmentation"] = mask_to_polygons(full)
    return ann


def _have_pycocotools() -> bool:
    try:
        import pycocotools  # noqa: F401
    except ImportError:
        return False
    return True


def _strict_json(value: Any) -> str:
    """Strict JSON (no NaN); UTF-8 text, or ASCII escapes when a string holds lone surrogates
    (a file name from undecodable bytes) so nothing is altered."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, allow_nan=False)
    return text


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
    saw). An image whose size cannot be read is left out, listed in
    ``info["spatial_nb"]["skipped_images"]`` and summed up in one :class:`ExportWarning` line
    (also ``info["spatial_nb"]["summary"]``); the other images are exported.

    Segmentation (``masks="auto"``): the model's own polygon (``extra["polygon"]``, Gemini
    3.5+) as COCO polygons — RLE when its rings overlap, since COCO polygons cannot hold
    holes; other masks as compressed RLE with pycocotools, else traced polygons. Or force
    ``"rle"``, ``"polygon"``, ``"none"``. Points and 3D boxes have no COCO detection form and
    are skipped (counted in ``info["spatial_nb"]``). ``score`` is ``extra["score"]``
    (consensus) or ``extra["confidence"]`` when finite, else 1.0. The file is strict JSON.

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
    unreadable: dict[str, str] = {}
    for image_id, (name, res) in enumerate(pairs, start=1):
        try:
            width, height = _image_size(name, res, image_sizes, images_root)
        except _Unreadable as exc:
            unreadable[name] = str(exc)
            continue
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
            "spatial_nb": {"dropped_labels": dict(lm.dropped), "skipped_items_without_box": dict(skipped),
                           "skipped_images": unreadable},
        },
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    if unreadable:
        line = _skipped_line("COCO export", unreadable, len(pairs))
        coco["info"]["spatial_nb"]["summary"] = line
        warnings.warn(line, ExportWarning, stacklevel=2)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(_strict_json(coco), encoding="utf-8")
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

    Nothing is overwritten or shifted: images whose label files would collide (``dup.jpg``
    and ``dup.png``, or names differing only in case) get ``dup_jpg.txt`` / ``dup_png.txt``,
    listed in ``label_files.json`` (image -> label file); class names are made one-line and
    unique (a line break in a label would shift every id after it), with the originals in
    ``class_names.json``. Each of these raises one :class:`ExportWarning`.

    Returns:
        The label map used (its ``dropped`` counter says what was left out).
    """
    pairs = _items_of(results)
    lm = LabelMap.coerce(label_map, (r for _, r in pairs), unmapped)
    if min(lm.names, default=0) < 0:
        raise SpatialNBError("YOLO class ids must be >= 0")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    files = label_file_names(name for name, _ in pairs)
    for name, _ in pairs:
        target = root / files[name]
        if root.resolve() not in target.resolve().parents:
            raise SpatialNBError(f"image name {name!r} points outside {root}; use relative names")
    for name, res in pairs:
        lines = []
        for item in res:
            if item.box is None:
                continue
            class_id = lm.class_id(item.label)
            if class_id is None:
                continue
            x0, y0, x1, y1 = item.box
            lines.append(f"{class_id} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}")
        target = root / files[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    renamed = {name: files[name] for name, _ in pairs if files[name] != _natural_label_file(name)}
    if renamed:
        (root / "label_files.json").write_text(_strict_json(files), encoding="utf-8")
        shown = ", ".join(f"{n} -> {f}" for n, f in list(renamed.items())[:4])
        warnings.warn(
            f"YOLO export: {len(renamed)} images share a label file name with another image ({shown}); "
            f"they got unique label files, listed in {root / 'label_files.json'}. YOLO trainers pair an "
            "image with <its stem>.txt: rename those images to the label files' stems to train on them",
            ExportWarning, stacklevel=2)
    top = max(lm.names, default=-1)
    names = one_line_names({i: lm.names.get(i, f"class_{i}") for i in range(top + 1)})
    changed = {i: lm.names[i] for i in names if i in lm.names and names[i] != lm.names[i]}
    if changed:
        mapping = [{"id": i, "name": names[i], "label": label} for i, label in changed.items()]
        (root / "class_names.json").write_text(_strict_json(mapping), encoding="utf-8")
        warnings.warn(
            f"YOLO export: {len(changed)} class names were changed to fit one line of classes.txt "
            f"(first: {changed[next(iter(changed))]!r} -> {names[next(iter(changed))]!r}); the originals "
            f"are in {root / 'class_names.json'}", ExportWarning, stacklevel=2)
    (root / "classes.txt").write_text("".join(names[i] + "\n" for i in range(top + 1)), encoding="utf-8")
    return lm


def _natural_label_file(name: str) -> str:
    return label_file_names([name])[name]


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
                full = polygons_to_mask(seg, width, height)
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

