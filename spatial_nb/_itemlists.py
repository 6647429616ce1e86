"""Find the model's list(s) of items in an answer: every JSON value, every fenced block.

Strict ``json.loads`` of the whole answer first (fast path). Otherwise the answer is split at
its code fences into regions, and each region is read as a sequence of JSON values (objects
separated by commas or newlines, ``[]`` followed by a list, prose in between); a region whose
JSON is broken is salvaged item by item (:mod:`spatial_nb._jsonscan`). Wrappers such as
``{"boxes": [...]}`` are opened. Values that hold no items are counted in a warning, never lost.
"""

from __future__ import annotations

import re
from typing import Any

from . import _jsonscan
from ._notes import Notes, plural, short

__all__ = ["ITEM_KEYS", "GEOMETRY_KEYS", "is_item_like", "entries_of", "find_entries"]

GEOMETRY_KEYS = ("box_2d", "point", "box_3d", "mask", "polygon")
_GEOMETRY = frozenset(GEOMETRY_KEYS)
ITEM_KEYS = _GEOMETRY | {"label", "in_frame"}
_MAX_WRAPPER_DEPTH = 4

# Where JSON plausibly starts: a bracket followed by an object, list, string or end of list.
_JSON_START = re.compile(r'[\[{]\s*[\[{"\]}]')


def is_item_like(d: Any) -> bool:
    return type(d) is dict and not ITEM_KEYS.isdisjoint(d)


def _item_list(value: list, depth: int) -> list | None:
    """``value`` flattened (nested lists and wrapper objects opened) when it holds any item, else None."""
    geometry = _GEOMETRY
    if value and all(type(v) is dict and not geometry.isdisjoint(v) for v in value):
        return value  # the usual answer: every entry an item with geometry
    out: list = []
    found = False
    for v in value:
        if depth < _MAX_WRAPPER_DEPTH:
            if type(v) is list:
                inner = _item_list(v, depth + 1)
                if inner is not None:
                    out.extend(inner)
                    found = True
                    continue
            elif type(v) is dict and (not is_item_like(v) or _is_wrapper(v)):
                keys: list[str] = []
                inner = _lists_in(v, depth + 1, keys)
                if keys:
                    out.extend(inner)
                    found = True
                    continue
        out.append(v)
        found = found or is_item_like(v)
    return out if found else None


def _is_wrapper(d: dict) -> bool:
    """An object that may hold items and has no geometry of its own (``{"label": .., "objects": [..]}``)."""
    if not _GEOMETRY.isdisjoint(d) or d.get("in_frame") is False:
        return False
    return any(type(v) in (list, dict) for v in d.values())


def _lists_in(d: dict, depth: int, keys: list[str]) -> list:
    """Items of every list of items (or lone item object) inside the object ``d``, in order;
    the keys they were found under are appended to ``keys``."""
    out: list = []
    for key, v in d.items():
        if type(v) is list:
            inner = _item_list(v, depth)
            if inner is not None:
                out.extend(inner)
                keys.append(str(key))
        elif type(v) is dict and depth < _MAX_WRAPPER_DEPTH:
            if is_item_like(v) and not _is_wrapper(v):
                out.append(v)
                keys.append(str(key))
                continue
            out.extend(_lists_in(v, depth + 1, keys))
    return out


def entries_of(value: Any, notes: Notes | None = None) -> tuple[list | None, str]:
    """The model's items inside one decoded JSON value, or ``(None, reason)``.

    A list is the items (nested lists opened); an item object is one item; any other object is
    a wrapper whose lists of items are all read (a note names them when there are several).
    """
    if type(value) is list:
        inner = _item_list(value, 0)
        return (inner if inner is not None else value), ""
    if type(value) is dict:
        if is_item_like(value) and not (_is_wrapper(value) and _lists_in(value, 0, [])):
            return [value], ""
        keys: list[str] = []
        found = _lists_in(value, 0, keys)
        if keys:
            if len(keys) > 1 and notes is not None:
                notes.add(f"the answer held {len(keys)} lists of items (keys {short(keys)}); all were read")
            return found, ""
        return None, f"a JSON object without a list of items (keys {short(list(value))})"
    if isinstance(value, str):
        return None, "a JSON string, not a list of items"
    return None, f"JSON {type(value).__name__ if value is not None else 'null'}, not a list of items"


def _salvage(text: str, start: int, end: int, notes: Notes, strict_error: str | None) -> tuple[list, str]:
    """Entries recovered item by item from broken JSON in ``text[start:end]``, with notes."""
    body = text[start:end]
    salvage = _jsonscan.salvage_objects(body, 0)
    entries: list = []
    for _, value in salvage.values:
        if is_item_like(value):
            entries.append(value)
        elif type(value) is dict:
            inner, _ = entries_of(value, notes)
            if inner:
                entries.extend(inner)
    n = len(entries)
    if salvage.truncated:
        notes.add(f"the answer was cut off inside the JSON (for example at the output token limit); kept "
                  f"{'the ' + plural(n, 'complete item') if n else 'no items'} before the cut and dropped "
                  f"the unfinished rest")
    elif n or salvage.broken:
        notes.add(f"the answer was not valid JSON ({strict_error}); kept {plural(n, 'item')} "
                  f"that could be read on {'its' if n == 1 else 'their'} own")
    if salvage.broken:
        k = len(salvage.broken)
        b_start, b_end = salvage.broken[0]
        notes.add(f"{plural(k, 'item')} {_was(k)} damaged (not valid JSON, first at character "
                  f"{start + b_start}: {short(body[b_start:b_end], 50)}); skipped")
    if salvage.too_deep:
        notes.add(f"{plural(salvage.too_deep, 'object')} nested more than {_jsonscan.MAX_ITEM_DEPTH} levels "
                  f"deep {_was(salvage.too_deep)} not read")
    reason = "the text was cut off before the first item was complete" if salvage.truncated else (
        f"no JSON list of items found ({strict_error})" if strict_error else "no JSON list of items found")
    return entries, reason


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _read_region(text: str, start: int, end: int, values: list, notes: Notes) -> tuple[int, str]:
    """Decode the JSON values in ``text[start:end]`` into ``values`` (salvaging broken JSON).

    A value may run past ``end`` (a fence-like ``````` inside a string): the returned position,
    where reading stopped, is then beyond ``end``. Also returns the reason of a failed salvage.
    """
    pos = start
    while True:
        m = _JSON_START.search(text, pos, end)
        if m is None:
            return pos, ""
        value, value_end, error = _jsonscan.raw_decode_or_none(text, m.start())
        if error is None:
            values.append(value)
            pos = value_end
            if pos >= end:
                return pos, ""
            continue
        found, reason = _salvage(text, m.start(), end, notes, error)
        values.append(_Salvaged(found))
        return end, reason if not found else ""


def find_entries(text: str, notes: Notes) -> tuple[list, str]:
    """The raw entries of every list of items in ``text``, plus a reason when there are none."""
    body = text.strip()
    value, error = _jsonscan.loads_or_none(body)
    if error is None:
        entries, reason = entries_of(value, notes)
        if entries is not None:
            return entries, reason
        return [], reason
    values: list = []
    reason = ""
    pos = 0
    while pos < len(text):
        fence = _jsonscan.next_fence(text, pos)
        if fence is None:
            _, why = _read_region(text, pos, len(text), values, notes)
            reason = why or reason
            break
        open_start, body_start, close_start, close_end = fence
        _, why = _read_region(text, pos, open_start, values, notes)
        reason = why or reason
        stop, why = _read_region(text, body_start, close_start, values, notes)
        reason = why or reason
        if stop > close_start:  # a value ran over a ``` inside one of its strings
            close_start, close_end = _jsonscan.next_fence_close(text, stop)
        pos = max(close_end, body_start)
    return _collect(values, notes, reason or f"no JSON list of items found ({error})")


class _Salvaged:
    """Entries recovered from broken JSON (already items; not a value to open)."""

    __slots__ = ("entries",)

    def __init__(self, entries: list) -> None:
        self.entries = entries


def _collect(values: list, notes: Notes, reason: str) -> tuple[list, str]:
    """Entries of the decoded values, with notes on several values and on values without items."""
    entries: list = []
    with_items = skipped = 0
    first_skipped: Any = None
    any_list = False
    why = ""
    for value in values:
        if type(value) is _Salvaged:
            entries.extend(value.entries)
            continue
        found, why_not = entries_of(value, notes)
        if found is None:
            skipped += 1
            if first_skipped is None:
                first_skipped, why = value, why_not
            continue
        any_list = True
        if found:
            with_items += 1
        entries.extend(found)
    if with_items > 1:
        notes.add(f"the answer held {with_items} separate JSON values or code blocks with items; "
                  f"the items of all of them were read")
    if skipped and entries:
        notes.add(f"{plural(skipped, 'JSON value')} in the answer held no items and "
                  f"{_was(skipped)} skipped (first: {short(first_skipped)})")
    if entries or any_list:
        return entries, ""
    return entries, why or reason
