"""Read whatever Gemini answered into a :class:`~spatial_nb.result.Result` — never raising.

``parse`` is pure: strict ``json.loads`` first (fast path), then a linear salvage of every
complete item (fences, prose, truncation, junk, missing commas). Items are validated and
converted from Gemini's y-first 0-1000 order to normalized xyxy; masks are decoded eagerly
(so their cost is visible and bounded by caps). Every repair becomes a readable warning.
:class:`StreamParser` does the same incrementally for streamed answers.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

import numpy as np

from . import _jsonscan
from .geometry import GEMINI_SCALE, box_iou
from .maskformats import MaskOutcome, decode_mask_value, polygon_bounds
from .masks import MAX_MASK_PIXELS
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

_GEOMETRY_KEYS = ("box_2d", "point", "box_3d", "mask", "polygon")
_ITEM_KEYS = frozenset(_GEOMETRY_KEYS) | {"label", "in_frame"}
_CONSUMED = frozenset(_GEOMETRY_KEYS) | {"label"}
_SCALE = float(GEMINI_SCALE)

# Raise instead of reporting unexpected internal errors as warnings (tests turn this on).
_STRICT = False


# -- warnings -------------------------------------------------------------------------------
def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Notes:
    """Counts repairs by kind (with the first example) and words them once, at the end."""

    def __init__(self) -> None:
        self.counts: dict[Any, list] = {}

    def add(self, kind: Any, index: int | None = None, detail: Any = None) -> None:
        entry = self.counts.get(kind)
        if entry is None:
            self.counts[kind] = [1, index, detail]
        else:
            entry[0] += 1

    def sentences(self) -> list[str]:
        out = []
        for kind, (n, index, detail) in self.counts.items():
            first = "" if index is None else f" (first: item {index}"
            name = kind[0] if isinstance(kind, tuple) else kind
            if name == "reversed":
                out.append(f"{_plural(n, kind[1] + ' value')} had min and max in reverse order{first}, "
                           f"{kind[1]} {_short(detail)}); the coordinates were swapped")
            elif name == "clipped":
                out.append(f"{_plural(n, kind[1] + ' value')} had numbers outside 0-1000{first}, "
                           f"{kind[1]} {_short(detail)}); they were clipped to the image")
            elif name == "bad_geometry":
                out.append(f"{_plural(n, kind[1] + ' value')} {'was' if n == 1 else 'were'} not {kind[2]}"
                           f"{first}: {_short(detail)}); ignored")
            elif name == "label_not_text":
                out.append(f"{_plural(n, 'label')} {'was' if n == 1 else 'were'} not text{first}: "
                           f"{_short(detail)}); converted to text")
            elif name == "no_label":
                out.append(f"{_plural(n, 'item')} had no label{first}); given the empty label \"\"")
            elif name == "alt_label":
                out.append(f"{_plural(n, 'item')} had no \"label\" but a \"{kind[1]}\"{first}); "
                           f"\"{kind[1]}\" was used as the label")
            elif name == "no_geometry":
                out.append(f"{_plural(n, 'item')} had no usable box_2d, point, box_3d or mask{first}, "
                           f"keys {detail}); skipped")
            elif name == "not_object":
                out.append(f"{_plural(n, 'list entry', 'list entries')} {'was' if n == 1 else 'were'} not a "
                           f"JSON object{first}: {_short(detail)}); skipped")
            elif name == "mask":
                out.append(f"{_plural(n, 'mask')} could not be decoded: {kind[1]}{first}); "
                           f"kept the {'item' if n == 1 else 'items'} without a mask")
            elif name == "mask_no_box":
                out.append(f"{_plural(n, 'mask')} came without a box_2d to place {'it' if n == 1 else 'them'} "
                           f"in{first}); kept without a mask")
            elif name == "mask_budget":
                out.append(f"{_plural(n, 'mask')} went over the total of {MAX_TOTAL_MASK_PIXELS:,} mask "
                           f"pixels per answer{first}); kept without a mask")
            elif name == "duplicates":
                out.append(f"the model repeated itself: removed {_plural(n, 'duplicate item')} (same label and "
                           f"boxes overlapping at IoU >= {DEDUPE_IOU}, or the same point or 3D box){first}, "
                           f"a repeat of item {detail})")
            else:  # free-form sentence stored as the kind
                out.append(str(kind))
        return out


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
        return _short(value, 10_000)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Builder:
    """Turns raw item dicts into Items (validating, converting, decoding masks) and dedupes."""

    def __init__(self, mask_memo: dict[str, MaskOutcome] | None = None) -> None:
        self.notes = _Notes()
        self.mask_memo: dict[str, MaskOutcome] = {} if mask_memo is None else mask_memo
        self.mask_pixels = 0
        self.dedupe = _Deduper()

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
        polygon = raw.get("polygon")  # kept as the model sent it, like every extra
        for key in ("mask", "polygon"):
            m = raw.get(key)
            if m is None or mask is not None:
                continue
            outcome = self._mask(m, box)
            if outcome.polygon is not None:
                polygon = m
                if box is None and outcome.mask is not None:
                    box = polygon_bounds(outcome.polygon)
            if outcome.problem is not None:
                notes.add(("mask", outcome.problem), index)
            elif outcome.mask is not None and box is None:
                notes.add("mask_no_box", index)
            elif outcome.mask is not None:
                if self.mask_pixels + outcome.pixels > MAX_TOTAL_MASK_PIXELS:
                    notes.add("mask_budget", index)
                else:
                    self.mask_pixels += outcome.pixels
                    mask = outcome.mask
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
        if polygon is not None:
            extra["polygon"] = polygon
        if "index" in extra:
            extra["model_index"] = extra.pop("index")
        extra["index"] = index
        if box3d is not None:
            box3d = tuple(float(v) for v in box3d)
        return Item._trusted(label, box, point, box3d, mask, extra)

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

    def _mask(self, value: Any, box) -> MaskOutcome:
        budget = max(0, min(MAX_MASK_PIXELS, MAX_TOTAL_MASK_PIXELS - self.mask_pixels))
        if type(value) is str:
            hit = self.mask_memo.get(value)
            if hit is None:
                hit = decode_mask_value(value, box, max_pixels=budget)
                if hit.problem is None:
                    self.mask_memo[value] = hit
            return hit
        return decode_mask_value(value, box, max_pixels=budget)


class _Deduper:
    """Remembers kept items per label; answers "is this a repeat?" (same label and
    box IoU >= :data:`DEDUPE_IOU`, or identical point / 3D box)."""

    _VECTOR_FROM = 32  # groups larger than this are compared with numpy

    def __init__(self) -> None:
        self.boxes: dict[str, list] = {}  # label -> [boxes, owners, array, array_len]
        self.exact: dict[tuple, int] = {}

    def check(self, item: Item, position: int) -> int:
        """Position of the kept item that ``item`` repeats, or -1 (then ``item`` is remembered)."""
        if item.box is not None:
            group = self.boxes.get(item.label)
            if group is None:
                self.boxes[item.label] = [[item.box], [position], None, 0]
                return -1
            boxes, owners, arr, n_arr = group
            box = item.box
            if arr is not None and n_arr:
                a = arr[:n_arr]
                ix = np.clip(np.minimum(a[:, 2], box[2]) - np.maximum(a[:, 0], box[0]), 0, None)
                iy = np.clip(np.minimum(a[:, 3], box[3]) - np.maximum(a[:, 1], box[1]), 0, None)
                inter = ix * iy
                area = (box[2] - box[0]) * (box[3] - box[1])
                union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + area - inter
                with np.errstate(divide="ignore", invalid="ignore"):
                    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
                hits = np.nonzero(iou >= DEDUPE_IOU)[0]
                if hits.size:
                    return owners[int(hits[0])]
            for k in range(n_arr, len(boxes)):
                if box_iou(boxes[k], box) >= DEDUPE_IOU:
                    return owners[k]
            boxes.append(box)
            owners.append(position)
            if len(boxes) - n_arr > self._VECTOR_FROM:
                group[2] = np.array(boxes, dtype=np.float64)
                group[3] = len(boxes)
            return -1
        if item.point is not None:
            key: tuple = (item.label, "p", item.point)
        elif item.box3d is not None:
            key = (item.label, "3", item.box3d)
        else:
            return -1  # off-frame entries are never merged
        owner = self.exact.get(key)
        if owner is not None:
            return owner
        self.exact[key] = position
        return -1


# -- finding the list of items ----------------------------------------------------------------
def _is_item_like(d: Any) -> bool:
    return type(d) is dict and not _ITEM_KEYS.isdisjoint(d)


def _entries(value: Any, depth: int = 0) -> tuple[list | None, str]:
    """The model's list of items inside a decoded JSON value, or ``(None, reason)``."""
    if type(value) is list:
        if value and all(type(v) is list for v in value) and any(
            _is_item_like(x) for v in value for x in v[:3]
        ):
            return [x for v in value for x in v], ""  # a list of lists of items
        return value, ""
    if type(value) is dict:
        if _is_item_like(value):
            return [value], ""
        lists = [v for v in value.values() if type(v) is list and any(_is_item_like(x) for x in v)]
        if len(lists) == 1:
            return lists[0], ""
        if len(lists) > 1:
            return None, f"a JSON object with {len(lists)} lists of items (keys {_short(list(value))})"
        dicts = [v for v in value.values() if type(v) is dict]
        if len(dicts) == 1 and depth < 4:
            return _entries(dicts[0], depth + 1)
        return None, f"a JSON object without a list of items (keys {_short(list(value))})"
    if isinstance(value, str):
        return None, "a JSON string, not a list of items"
    return None, f"JSON {type(value).__name__ if value is not None else 'null'}, not a list of items"


def _salvaged_entries(body: str, notes: _Notes, strict_error: str | None) -> tuple[list, list[int] | None, str]:
    """Entries recovered from broken JSON; also words the truncation/damage notes."""
    m = _JSON_START.search(body)
    salvage = _jsonscan.salvage_objects(body, m.start() if m else 0)
    entries: list = []
    for _, value in salvage.values:
        if _is_item_like(value):
            entries.append(value)
        elif type(value) is dict:
            inner, _ = _entries(value)
            if inner:
                entries.extend(inner)
    n = len(entries)
    if salvage.truncated:
        notes.add(f"the answer was cut off inside the JSON (for example at the output token limit); kept "
                  f"{'the ' + _plural(n, 'complete item') if n else 'no items'} before the cut and dropped "
                  f"the unfinished rest")
    elif n or salvage.broken:
        notes.add(f"the answer was not valid JSON ({strict_error}); kept {_plural(n, 'item')} "
                  f"that could be read on {'its' if n == 1 else 'their'} own")
    if salvage.broken:
        k = len(salvage.broken)
        start, end = salvage.broken[0]
        notes.add(f"{_plural(k, 'item')} {'was' if k == 1 else 'were'} damaged (not valid JSON, first at "
                  f"character {start}: {_short(body[start:end], 50)}); skipped")
    if salvage.too_deep:
        notes.add(f"{_plural(salvage.too_deep, 'object')} nested more than {_jsonscan.MAX_ITEM_DEPTH} levels "
                  f"deep {'was' if salvage.too_deep == 1 else 'were'} not read")
    reason = "the text was cut off before the first item was complete" if salvage.truncated else (
        f"no JSON list of items found ({strict_error})" if strict_error else "no JSON list of items found")
    return entries, None, reason


# Where JSON plausibly starts: a bracket followed by an object, list, string or end of list.
_JSON_START = re.compile(r'[\[{]\s*[\[{"\]}]')


def _find_entries(text: str, notes: _Notes) -> tuple[list, str]:
    """The raw entries of the model's list in ``text`` (fast path first), plus a reason if empty."""
    body, fenced, _closed = _jsonscan.find_fenced(text)
    body_s = body.strip()
    value, error = _jsonscan.loads_or_none(body_s)
    if error is None:
        entries, reason = _entries(value)
        if entries is not None:
            return entries, reason
    else:
        reason = error
    # Prose around the JSON: decode one value from where JSON plausibly starts.
    m = _JSON_START.search(body_s)
    if m is not None and (m.start() > 0 or error is not None):
        value, _end, err = _jsonscan.raw_decode_or_none(body_s, m.start())
        if err is None:
            entries, why = _entries(value)
            if entries is not None:
                return entries, why
            reason = why or reason
    entries, _, salvage_reason = _salvaged_entries(body_s, notes, error)
    if not entries and fenced and body_s != text.strip():
        # The fence held nothing usable; maybe the JSON is outside it.
        outside_notes = _Notes()
        more, _, _ = _salvaged_entries(text, outside_notes, error)
        if more:
            notes.counts = outside_notes.counts
            return more, ""
    return entries, (salvage_reason if error is not None else reason)


# -- public API ----------------------------------------------------------------------------------
def _read_response(obj: Any) -> tuple[str | None, str | None, list[str]]:
    """Text of a google.genai response (or any object with ``.text``), its finish reason, warnings."""
    warnings: list[str] = []
    text = None
    try:
        text = obj.text
    except Exception as exc:  # the SDK's .text may raise on odd responses
        warnings.append(f"reading response.text failed ({type(exc).__name__}); read the text parts directly")
    finish = None
    candidates = getattr(obj, "candidates", None) or []
    try:
        if candidates:
            fr = getattr(candidates[0], "finish_reason", None)
            if fr is not None:
                finish = getattr(fr, "name", None) or str(fr)
        if text is None and candidates:
            content = getattr(candidates[0], "content", None)
            parts = getattr(content, "parts", None) or []
            texts = [p.text for p in parts if isinstance(getattr(p, "text", None), str) and not getattr(p, "thought", False)]
            text = "".join(texts) if texts else None
    except Exception:  # pragma: no cover - defensive against foreign objects
        pass
    if text is None:
        why = f"finish reason {finish}" if finish else None
        feedback = getattr(obj, "prompt_feedback", None)
        block = getattr(feedback, "block_reason", None) if feedback is not None else None
        if block is not None:
            why = f"the prompt was blocked: {getattr(block, 'name', None) or block}"
        warnings.append(f"the response had no text ({why or 'no candidates'}); nothing to parse")
    elif not isinstance(text, str):
        text = str(text)
    return text, finish, warnings


def _coerce(answer: Any) -> tuple[str, Any, str | None, list[str]]:
    """Answer of any accepted type -> (text, decoded JSON or _NOTHING, finish_reason, warnings)."""
    if isinstance(answer, str):
        return answer, _NOTHING, None, []
    if answer is None:
        return "", _NOTHING, None, ["there was no answer to parse (got None)"]
    if isinstance(answer, (bytes, bytearray, memoryview)):
        raw = bytes(answer)
        text = raw.decode("utf-8-sig", errors="replace")
        warnings = []
        if "\ufffd" in text and "\ufffd".encode() not in raw:
            warnings.append("the answer was not valid UTF-8; undecodable bytes were replaced by \ufffd")
        return text, _NOTHING, None, warnings
    if isinstance(answer, (dict, list)):
        try:
            text = json.dumps(answer, ensure_ascii=False, default=repr)
        except (TypeError, ValueError, RecursionError):
            text = ""
        return text, answer, None, []
    if hasattr(answer, "text") or hasattr(answer, "candidates"):
        text, finish, warnings = _read_response(answer)
        return text or "", _NOTHING, finish, warnings
    return "", _NOTHING, None, [
        f"cannot read an answer of type {type(answer).__name__}; pass the model's text, bytes, "
        "decoded JSON or a google.genai response"
    ]


_NOTHING = object()


def _parse(answer: Any, mask_memo: dict[str, MaskOutcome] | None = None) -> Result:
    if isinstance(answer, Result):
        return answer
    text, decoded, finish, warnings = _coerce(answer)
    builder = _Builder(mask_memo)
    notes = builder.notes
    if decoded is not _NOTHING:
        entries, reason = _entries(decoded)
        entries = entries or []
    else:
        entries, reason = _find_entries(text, notes) if text.strip() else ([], "")
    items: list[Item] = []
    for index, raw in enumerate(entries):
        item = builder.build(raw, index)
        if item is None:
            continue
        owner = builder.dedupe.check(item, index)
        if owner >= 0:
            notes.add("duplicates", index, owner)
            continue
        items.append(item)
    warnings.extend(notes.sentences())
    # A valid empty list means "nothing found"; anything else that yields no item is news.
    if not items and (entries or reason) and (text.strip() or decoded is not _NOTHING):
        if entries:
            reason = "no entry had a usable label and geometry"
        snippet = " ".join(text.strip()[:80].split())
        warnings.append(f"the model answered but nothing could be read: {reason}; the answer starts "
                        f"with {snippet!r}")
    return Result(items=items, warnings=warnings, raw_text=text, finish_reason=finish)


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
        self._parts: list[str] = []
        self._text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._scanner = _jsonscan.Scanner(self._on_object)
        self._builder = _Builder()
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
            chunk, _, _ = _read_response(chunk) if hasattr(chunk, "text") else (None, None, [])
            if not chunk:
                return []
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
        if error is not None or not _is_item_like(value):
            return
        index = self._index
        self._index += 1
        item = self._builder.build(value, index)
        if item is None:
            return
        owner = self._builder.dedupe.check(item, index)
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

