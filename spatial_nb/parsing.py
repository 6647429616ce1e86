"""Read whatever Gemini answered into a :class:`~spatial_nb.result.Result` — never raising.

``parse`` is pure: strict ``json.loads`` first (fast path), then every JSON value and fenced
block, salvaging complete items from broken JSON (:mod:`spatial_nb._itemlists`). Items are
validated and converted from Gemini's y-first 0-1000 order to normalized xyxy; masks are
decoded eagerly (bounded by caps); kept values are made storable (no NaN, no lone
surrogates). Every repair becomes a readable warning. :class:`StreamParser` does the same
incrementally for streamed answers.
"""

from __future__ import annotations

import codecs
import math
from typing import Any

from . import _jsonscan
from ._answertext import NOTHING, coerce, read_response
from ._itemlists import GEOMETRY_KEYS, entries_of, find_entries, is_item_like
from ._notes import Notes, short
from ._sanitize import MAX_EXTRA_DEPTH, Cleaner, clean_text, is_clean
from .dedupe import Deduper
from .geometry import GEMINI_SCALE, box_iou, box_to_pixels
from .maskformats import SEG_TOKENS, MaskOutcome, read_mask_value
from .masks import MAX_MASK_PIXELS
from .polygons import (
    POLYGON_REFERENCE_SIZE,
    PolygonError,
    polygon_bounds,
    rasterize_in_box,
    transpose_polygon,
)
from .result import Item, Result

__all__ = ["parse", "StreamParser", "DEDUPE_IOU", "LOOP_RUN", "MAX_TOTAL_MASK_PIXELS", "LABEL_KEYS"]

#: Same-label boxes overlapping at least this much are one object repeated (looping output).
DEDUPE_IOU = 0.9
#: :attr:`StreamParser.looping` turns on after this many duplicates in a row, or this many
#: repeats of one item.
LOOP_RUN = 3
#: All masks of one answer together may not allocate more pixels than this.
MAX_TOTAL_MASK_PIXELS = 64 * 1024 * 1024
#: Keys read as the label, in order of preference ("label" is what Gemini is asked for).
LABEL_KEYS = ("label", "name", "object", "class", "category", "description")
#: A polygon's bounds and its box_2d disagree below this IoU (then [y, x] is tried, or both kept).
POLYGON_BOX_IOU = 0.5
#: A polygon is rasterized smaller (rather than dropped) when the budget leaves at least this many pixels.
_MIN_DOWNSCALED_PIXELS = 64 * 64

_CONSUMED = frozenset(GEOMETRY_KEYS) | {"label"}
_SCALE = float(GEMINI_SCALE)

# Raise instead of reporting unexpected internal errors as warnings (tests turn this on).
_STRICT = False


# -- reading one item -------------------------------------------------------------------------
def _finite_numbers(value: Any, n: int) -> bool:
    if type(value) is not list or len(value) != n:
        return False
    for v in value:
        t = type(v)
        if t is int:
            continue
        if t is not float or not math.isfinite(v):
            return False
    return True


def _label_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return short(value, 10_000)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _union(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class _Builder:
    """Turns raw item dicts into Items (validating, converting, decoding masks, cleaning) and dedupes."""

    def __init__(self, notes: Notes, mask_memo: dict[str, MaskOutcome] | None = None) -> None:
        self.notes = notes
        self.mask_memo: dict[str, MaskOutcome] = {} if mask_memo is None else mask_memo
        self.mask_pixels = 0
        self.dedupe = Deduper(DEDUPE_IOU)
        self.cleaner = Cleaner()

    # One entry of the model's list -> Item, or None (skipped; a note says why).
    def build(self, raw: Any, index: int) -> Item | None:
        notes = self.notes
        if type(raw) is not dict:
            notes.add("not_object", index, raw)
            return None
        # label
        if "label" in raw:
            label = raw["label"]
        else:
            label = None
            for key in LABEL_KEYS[1:]:
                if isinstance(raw.get(key), str):
                    label = raw[key]
                    notes.add(("alt_label", key), index)
                    break
            else:
                notes.add("no_label", index)
                label = ""
        if type(label) is not str:
            notes.add("label_not_text", index, label)
            label = _label_text(label)
        # geometry
        box = point = box3d = mask = None
        b = raw.get("box_2d")
        if b is not None:
            box = self._box(b, index)
        p = raw.get("point")
        in_frame = raw.get("in_frame", True)
        off_frame = in_frame is False or (isinstance(in_frame, str) and in_frame.strip().lower() == "false")
        if p is not None and not off_frame:
            point = self._point(p, index)
        b3 = raw.get("box_3d")
        if b3 is not None:
            if _finite_numbers(b3, 9):
                box3d = b3
            else:
                notes.add(("bad_geometry", "box_3d", "9 numbers"), index, b3)
        rings = None
        unread_polygon = None
        if "mask" in raw or "polygon" in raw:
            box, mask, rings, unread_polygon = self._masks(raw, box, index)
        if box is None and point is None and box3d is None and not off_frame:
            notes.add("no_geometry", index, ", ".join(map(str, list(raw)[:8])))
            return None
        extra = {k: v for k, v in raw.items() if k not in _CONSUMED}
        if "label" not in raw:
            for key in LABEL_KEYS[1:]:
                if isinstance(raw.get(key), str):
                    del extra[key]
                    break
        if off_frame and p is not None:
            extra["point"] = p  # what the model sent for an off-frame entry, unconverted
        if unread_polygon is not None:
            extra["polygon"] = unread_polygon  # as the model sent it (a mask was read from "mask")
        if "index" in extra:
            extra["model_index"] = extra.pop("index")
        if not is_clean(label, extra):
            label, extra = self._cleaned(label, extra, index)
        if rings is not None:
            extra["polygon"] = rings  # normalized [x, y] rings: export writes COCO segmentation from them
        extra["index"] = index
        if box3d is not None:
            box3d = tuple(float(v) for v in box3d)
        return Item._trusted(label, box, point, box3d, mask, extra)

    def _cleaned(self, label: str, extra: dict, index: int) -> tuple[str, dict]:
        c = self.cleaner
        before = (c.nonfinite, c.surrogates, c.too_deep)
        c.first_key = None
        label = c.text(label)
        extra = c.value(extra)
        after = (c.nonfinite, c.surrogates, c.too_deep)
        details = (c.first_key, None, MAX_EXTRA_DEPTH)
        for name, old, new, detail in zip(("nonfinite", "surrogates", "too_deep"), before, after, details):
            if new > old:
                self.notes.add(name, index, detail, n=new - old)
        return label, extra

    def _box(self, b: Any, index: int) -> tuple[float, float, float, float] | None:
        if not _finite_numbers(b, 4):
            self.notes.add(("bad_geometry", "box_2d", "4 numbers [ymin, xmin, ymax, xmax]"), index, b)
            return None
        ymin, xmin, ymax, xmax = b
        if ymin > ymax or xmin > xmax:
            self.notes.add(("reversed", "box_2d"), index, b)
            if ymin > ymax:
                ymin, ymax = ymax, ymin
            if xmin > xmax:
                xmin, xmax = xmax, xmin
        if ymin < 0 or xmin < 0 or ymax > GEMINI_SCALE or xmax > GEMINI_SCALE:
            self.notes.add(("clipped", "box_2d"), index, b)
            ymin, xmin = max(ymin, 0), max(xmin, 0)
            ymax, xmax = min(max(ymax, 0), GEMINI_SCALE), min(max(xmax, 0), GEMINI_SCALE)
            ymin, xmin = min(ymin, GEMINI_SCALE), min(xmin, GEMINI_SCALE)
        return (xmin / _SCALE, ymin / _SCALE, xmax / _SCALE, ymax / _SCALE)

    def _point(self, p: Any, index: int) -> tuple[float, float] | None:
        if not _finite_numbers(p, 2):
            self.notes.add(("bad_geometry", "point", "2 numbers [y, x]"), index, p)
            return None
        y, x = p
        if not (0 <= y <= GEMINI_SCALE and 0 <= x <= GEMINI_SCALE):
            self.notes.add(("clipped", "point"), index, p)
            y, x = min(max(y, 0), GEMINI_SCALE), min(max(x, 0), GEMINI_SCALE)
        return (x / _SCALE, y / _SCALE)

    # -- masks ---------------------------------------------------------------------------------
    def _read(self, value: Any) -> MaskOutcome:
        budget = max(0, min(MAX_MASK_PIXELS, MAX_TOTAL_MASK_PIXELS - self.mask_pixels))
        if type(value) is str:
            hit = self.mask_memo.get(value)
            if hit is None:
                hit = read_mask_value(value, max_pixels=budget)
                if hit.problem is None:
                    self.mask_memo[value] = hit
            return hit
        return read_mask_value(value, max_pixels=budget)

    def _masks(self, raw: dict, box, index: int):
        """The item's box, box-local mask, polygon rings and unread "polygon" value, from its
        "mask" and/or "polygon" keys (the first one that reads wins; rings come from either)."""
        notes = self.notes
        local = rings = unread_polygon = None
        problems: list[str] = []
        for key in ("mask", "polygon"):
            value = raw.get(key)
            if value is None:
                continue
            out = self._read(value)
            for repair in out.repairs:
                notes.add(("polygon_repair", repair), index)
            if out.problem is not None:
                problems.append(out.problem)
                if key == "polygon":
                    unread_polygon = value
            elif out.polygon is not None:
                if rings is None:
                    rings = out.polygon
            elif local is None and rings is None:
                local = out.mask
        if local is None and rings is None:
            for problem in problems:
                notes.add("seg_tokens" if problem == SEG_TOKENS else ("mask", problem), index)
            return box, None, None, unread_polygon
        if problems:
            notes.add(("mask_alt", problems[0]), index)
        if rings is not None and (local is None or box is None):  # the polygon gives the mask
            if local is not None:
                notes.add("png_without_box", index)
            bounds = polygon_bounds(rings)
            if box is not None:
                iou = box_iou(box, bounds)
                if iou < POLYGON_BOX_IOU:
                    swapped = transpose_polygon(rings)
                    swapped_bounds = polygon_bounds(swapped)
                    iou_swapped = box_iou(box, swapped_bounds)
                    if iou_swapped >= POLYGON_BOX_IOU:
                        notes.add("polygon_yx", index, (iou, iou_swapped))
                        rings, bounds = swapped, swapped_bounds
                    else:
                        notes.add("polygon_box", index, iou)
                box = _union(box, bounds)  # the box-local map never clips the polygon
            else:
                box = bounds
            return box, self._rasterize(rings, box, index), rings, None
        # A PNG / grid covering box_2d (a polygon next to it is kept in extra, not used).
        if box is None:
            notes.add("mask_no_box", index)
            return box, None, rings, None
        if self.mask_pixels + local.size > MAX_TOTAL_MASK_PIXELS:
            notes.add("mask_budget", index)
            return box, None, rings, None
        self.mask_pixels += local.size
        return box, local, rings, unread_polygon

    def _rasterize(self, rings, box, index: int):
        ref_w, ref_h = POLYGON_REFERENCE_SIZE
        px0, py0, px1, py1 = box_to_pixels(box, ref_w, ref_h)
        needed = (px1 - px0) * (py1 - py0)
        left = min(MAX_MASK_PIXELS, MAX_TOTAL_MASK_PIXELS - self.mask_pixels)
        if needed > left:
            if left < _MIN_DOWNSCALED_PIXELS:
                self.notes.add("mask_budget", index)
                return None
            self.notes.add("polygon_downscaled", index)
        try:
            mask = rasterize_in_box(rings, box, max_pixels=left if needed > left else None)
        except PolygonError as exc:
            self.notes.add(("mask", str(exc)), index)
            return None
        if mask is None:
            self.notes.add(("mask", f"a polygon thinner than a pixel of a {ref_w}x{ref_h} frame"), index)
            return None
        self.mask_pixels += mask.size
        return mask

    def is_repeat(self, item: Item, position: int) -> int:
        """Position of the kept item ``item`` repeats (same label and box IoU >= DEDUPE_IOU, or the
        same point / 3D box), or -1 (then ``item`` is remembered as kept)."""
        if item.box is not None:
            return self.dedupe.check_box(item.label, item.box, position)
        if item.point is not None:
            return self.dedupe.check_exact((item.label, "p", item.point), position)
        if item.box3d is not None:
            return self.dedupe.check_exact((item.label, "3", item.box3d), position)
        return -1  # off-frame entries are never merged


# -- finding the list of items ----------------------------------------------------------------
def _find_entries(text: str, notes: Notes) -> tuple[list, str]:
    """The raw entries of the model's list(s) in ``text``, plus a reason if there are none."""
    return find_entries(text, notes)


def _new_notes() -> Notes:
    return Notes(budget=MAX_TOTAL_MASK_PIXELS, iou=DEDUPE_IOU)


def _parse(answer: Any, mask_memo: dict[str, MaskOutcome] | None = None) -> Result:
    if isinstance(answer, Result):
        return answer
    text, decoded, finish, warnings = coerce(answer)
    notes = _new_notes()
    builder = _Builder(notes, mask_memo)
    if decoded is not NOTHING:
        entries, reason = entries_of(decoded, notes)
        entries = entries or []
    else:
        entries, reason = _find_entries(text, notes) if text.strip() else ([], "")
    items: list[Item] = []
    for index, raw in enumerate(entries):
        item = builder.build(raw, index)
        if item is None:
            continue
        owner = builder.is_repeat(item, index)
        if owner >= 0:
            notes.add("duplicates", index, owner)
            continue
        items.append(item)
    clean_raw = clean_text(text)
    if clean_raw is not text:
        notes.add("the answer's text held lone UTF-16 surrogates (invalid Unicode); they were replaced by "
                  "U+FFFD in raw_text so the result can be saved")
    warnings.extend(notes.sentences())
    # A valid empty list means "nothing found"; anything else that yields no item is news.
    if not items and (entries or reason) and (text.strip() or decoded is not NOTHING):
        if entries:
            reason = "no entry had a usable label and geometry"
        snippet = " ".join(text.strip()[:80].split())
        warnings.append(f"the model answered but nothing could be read: {reason}; the answer starts "
                        f"with {snippet!r}")
    return Result(items=items, warnings=[clean_text(w) for w in warnings], raw_text=clean_raw, finish_reason=finish)


def parse(answer: Any) -> Result:
    """Parse a Gemini answer (boxes, masks, points, 3D boxes) into a :class:`Result`.

    Pure, and never raises on model output: anything odd becomes a sentence in
    ``result.warnings``. Reads ``box_2d`` ``[ymin, xmin, ymax, xmax]`` and ``point`` ``[y, x]``
    (0-1000, y first) into normalized ``(x0, y0, x1, y1)`` / ``(x, y)``; ``box_3d`` (9 numbers)
    as is; masks (PNG data URL, bare base64 PNG, polygons, 0-1 grids) eagerly into box-local
    ``uint8`` maps. Tolerates code fences, prose, wrappers such as ``{"boxes": [...]}``,
    truncation (keeps complete items), and looping (drops same-label repeats with IoU >= 0.9).

    Args:
        answer: Model text (``str`` or ``bytes``), ``None``, already decoded JSON (``list``/``dict``),
            or a ``google.genai`` response (its ``.text`` may be None).

    Returns:
        A :class:`Result`; ``item.extra`` holds unknown keys plus ``"index"``, the item's position
        in the model's list before de-duplication and skipping.

    Example:
        >>> res = parse('```json\\n[{"box_2d": [100, 200, 500, 800], "label": "cat"}]\\n```')
        >>> res[0].label, res[0].box
        ('cat', (0.2, 0.1, 0.8, 0.5))
    """
    try:
        return _parse(answer)
    except Exception as exc:  # last resort: a parser bug must not break the caller
        if _STRICT:
            raise
        text = answer if isinstance(answer, str) else ""
        return Result(raw_text=text, warnings=[
            f"internal parser error ({type(exc).__name__}: {exc}); nothing was read — please report this answer"
        ])


class StreamParser:
    """Incremental :func:`parse` for streamed answers.

    ``feed(chunk)`` returns the items completed by that chunk, in order and de-duplicated like
    ``parse``; ``result()`` is exactly ``parse`` of everything fed so far. Each chunk costs
    a scan of the new text only (string bodies such as base64 masks are skipped by one regex
    match and resumed where they stopped) plus decoding the items it completes.

    Looping rule: :attr:`looping` becomes True (and stays True) once :data:`LOOP_RUN` (3)
    completed items in a row were repeats of earlier ones, or one item has been repeated
    :data:`LOOP_RUN` times. A client may stop the stream then.

    Example:
        >>> sp = StreamParser()
        >>> sp.feed('[{"box_2d": [0, 0, 10, 10], "label": "a"}, {"box_')
        [Item('a', box=(0, 0, 0.01, 0.01))]
        >>> sp.feed('2d": [5, 5, 9, 9], "label": "b"}]')
        [Item('b', box=(0.005, 0.005, 0.009, 0.009))]
        >>> len(sp.result())
        2
    """

    def __init__(self) -> None:
        self._text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._scanner = _jsonscan.Scanner(self._on_object)
        self._builder = _Builder(_new_notes())
        self._new: list[Item] = []
        self._index = 0
        self._run = 0
        self._repeats: dict[int, int] = {}
        self.looping = False
        self.duplicates = 0

    def feed(self, chunk: Any) -> list[Item]:
        """Add the next piece of the answer; returns the items it completed."""
        if chunk is None:
            return []
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            chunk = self._decoder.decode(bytes(chunk))
        elif not isinstance(chunk, str):
            chunk, _, _ = read_response(chunk) if hasattr(chunk, "text") else (None, None, [])
        if not chunk:
            return []
        self._text += chunk
        try:
            self._scanner.advance(self._text)
        except Exception:
            if _STRICT:
                raise
        out, self._new = self._new, []
        return out

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return self._text

    def _on_object(self, start: int, end: int, depth: int) -> None:
        if depth > _jsonscan.MAX_ITEM_DEPTH:
            return
        value, error = _jsonscan.loads_or_none(self._text[start:end])
        if error is not None or not is_item_like(value):
            return
        index = self._index
        self._index += 1
        item = self._builder.build(value, index)
        if item is None:
            return
        owner = self._builder.is_repeat(item, index)
        if owner >= 0:
            self.duplicates += 1
            self._run += 1
            self._repeats[owner] = self._repeats.get(owner, 0) + 1
            if self._run >= LOOP_RUN or self._repeats[owner] >= LOOP_RUN:
                self.looping = True
            return
        self._run = 0
        self._new.append(item)

    def result(self) -> Result:
        """``parse`` of the whole text fed so far (masks already decoded are reused)."""
        try:
            return _parse(self._text, mask_memo=self._builder.mask_memo)
        except Exception:
            if _STRICT:
                raise
            return parse(self._text)

