"""COCO segmentation in both of its forms: run-length encoding (RLE) and polygons.

RLE is exact (column-major runs, compressed with pycocotools when installed, else the
uncompressed form every COCO reader accepts). Polygons come straight from the model when it
sent one (Gemini 3.5+), else are traced from the mask with contourpy (an outline
approximation). COCO polygons are unions of rings, so they cannot hold holes: an object whose
rings overlap (even-odd holes) is written as RLE instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .polygons import Rings, polygon_mask, polygon_to_coco

__all__ = ["mask_to_rle", "rle_to_mask", "mask_to_polygons", "polygons_to_mask", "rings_disjoint", "polygon_segmentation"]


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


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
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


def polygons_to_mask(polygons: Sequence[Sequence[float]], width: int, height: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for poly in polygons:
        if len(poly) >= 6:
            draw.polygon([(float(poly[i]), float(poly[i + 1])) for i in range(0, len(poly) - 1, 2)], fill=1)
    return np.asarray(img, dtype=bool)


def rings_disjoint(rings: Rings) -> bool:
    """True when no two rings' bounding boxes overlap (then union and even-odd fill agree)."""
    boxes = sorted((min(p[0] for p in r), max(p[0] for p in r), min(p[1] for p in r), max(p[1] for p in r))
                   for r in rings)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if b[0] > a[1]:
                break  # sorted by x0: no later ring can overlap a in x
            if b[2] <= a[3] and a[2] <= b[3]:
                return False
    return True


def polygon_segmentation(rings: Rings, width: int, height: int, masks: str, have_rle: bool) -> tuple[Any, float]:
    """COCO ``segmentation`` and ``area`` of the model's polygon in a ``width`` x ``height`` image.

    ``masks``: "auto" (the polygon itself when its rings cannot hold holes, else RLE when
    ``have_rle`` else traced outlines), "polygon", or "rle". The area is the pixel count of the
    even-odd fill (pixel centres inside), like the RLE's.
    """
    full = polygon_mask(rings, width, height)
    area = float(full.sum())
    simple = len(rings) == 1 or rings_disjoint(rings)
    if masks == "rle" or (masks == "auto" and not simple and have_rle):
        return mask_to_rle(full), area
    if simple:
        return polygon_to_coco(rings, width, height), area
    return mask_to_polygons(full), area
