"""Lenient JSON extraction from model text: fences, prose, truncation, junk.

The strict path is ``json.loads``; when that fails, :class:`Scanner` walks the text once
(jumping over string bodies with a regex, so base64 masks cost one C-level match) and
reports every *balanced* ``{...}`` object. Each is then decoded on its own, so a cut-off
answer, a missing comma or junk between items costs only the broken items. Work is linear
in the text: no rescans from every position, no recursion (hostile nesting is just a deep
list of open brackets), and objects nested deeper than :data:`MAX_ITEM_DEPTH` are ignored.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_ITEM_DEPTH",
    "Scanner",
    "Salvage",
    "find_fenced",
    "next_fence",
    "next_fence_close",
    "loads_or_none",
    "salvage_objects",
]

#: Objects nested deeper than this (0 = top level) are never decoded as candidates.
MAX_ITEM_DEPTH = 24

# Outside strings only these characters matter.
_STRUCTURAL = re.compile(r'[{}\[\]"]')
# The rest of a string body after its opening quote, possessive so it never backtracks.
# A raw line break cannot occur inside a JSON string, so it ends one: a stray quote in
# junk then costs one line, not the rest of the answer.
_STRING_REST = re.compile(r'(?:[^"\\\n]++|\\.)*+', re.DOTALL)
# ``` optionally followed by a language tag (json, JSON, Json, python ...). A fence opens a
# line (any indent); elsewhere it counts only when JSON follows it, so a label such as
# "```" inside the JSON is never taken for a fence.
_FENCE_OPEN = re.compile(
    r"(?:(?m:^)[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?)"
    r"|(?:```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?(?=\s*[\[{]))"
)
_FENCE_CLOSE = re.compile(r"```")
# Cheap hint that a broken fragment was meant to be an item.
ITEM_HINT = re.compile(r'"(?:box_2d|box_3d|point|mask|label|polygon)"\s*:')

_DECODER = json.JSONDecoder()


def loads_or_none(text: str) -> tuple[Any, str | None]:
    """``json.loads`` that never raises: returns ``(value, None)`` or ``(None, reason)``."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "the JSON is nested too deeply"
    except ValueError as exc:  # JSONDecodeError is a ValueError
        return None, str(exc)


def raw_decode_or_none(text: str, start: int) -> tuple[Any, int, str | None]:
    """Decode one JSON value starting at ``start``; returns ``(value, end, None)`` or ``(None, -1, reason)``."""
    try:
        value, end = _DECODER.raw_decode(text, start)
        return value, end, None
    except RecursionError:
        return None, -1, "the JSON is nested too deeply"
    except ValueError as exc:
        return None, -1, str(exc)


def find_fenced(text: str) -> tuple[str, bool, bool]:
    """The body of the first Markdown code fence in ``text``.

    Returns ``(body, found, closed)``: ``body`` is the text between the opening fence (with
    its language tag, any case or indent) and the closing fence — or the end of the text
    when the answer was cut off before the closing fence. Without a fence, ``(text, False, False)``.

    >>> find_fenced("Sure:\\n```JSON\\n[1]\\n```\\nDone.")
    ('[1]\\n', True, True)
    """
    m = _FENCE_OPEN.search(text)
    if m is None:
        return text, False, False
    start = m.end()
    close = _FENCE_CLOSE.search(text, start)
    if close is None:
        return text[start:], True, False
    return text[start : close.start()], True, True


def next_fence(text: str, pos: int) -> tuple[int, int, int, int] | None:
    """The next Markdown code block at or after ``pos``.

    Returns ``(open_start, body_start, close_start, close_end)``; an unclosed block (an answer
    cut off before its closing fence) ends at the end of the text. None when no fence follows.
    """
    m = _FENCE_OPEN.search(text, pos)
    if m is None:
        return None
    close = _FENCE_CLOSE.search(text, m.end())
    if close is None:
        return m.start(), m.end(), len(text), len(text)
    return m.start(), m.end(), close.start(), close.end()


def next_fence_close(text: str, pos: int) -> tuple[int, int]:
    """``(start, end)`` of the first closing fence at or after ``pos`` (the text's end if none)."""
    close = _FENCE_CLOSE.search(text, pos)
    return (close.start(), close.end()) if close else (len(text), len(text))


class Scanner:
    """Incremental structural scanner over a growing text.

    Call :meth:`advance` with the whole text so far (it only looks at the new part); it
    calls ``on_object(start, end, depth)`` for every ``{...}`` that becomes balanced,
    where ``text[start:end]`` is the object and ``depth`` counts the brackets around it.
    A closing bracket that does not match the innermost open one is ignored (counted in
    :attr:`mismatched`), which keeps a deleted delimiter from swallowing later items.
    """

    __slots__ = ("pos", "stack", "in_string", "on_object", "mismatched", "max_depth_seen")

    def __init__(self, on_object: Callable[[int, int, int], None]):
        self.pos = 0
        self.stack: list[tuple[str, int]] = []
        self.in_string = False
        self.on_object = on_object
        self.mismatched = 0
        self.max_depth_seen = 0

    @property
    def complete(self) -> bool:
        """True when nothing is left open (no bracket, no string)."""
        return not self.stack and not self.in_string

    def advance(self, text: str) -> None:
        """Scan ``text`` from where the previous call stopped to its end."""
        pos = self.pos
        n = len(text)
        stack = self.stack
        search = _STRUCTURAL.search
        string_rest = _STRING_REST.match
        while pos < n:
            if self.in_string:
                m = string_rest(text, pos)
                end = m.end()
                if end < n and text[end] == '"':
                    self.in_string = False
                    pos = end + 1
                    continue
                if end < n and text[end] == "\n":
                    self.in_string = False  # invalid JSON; resynchronize at the line break
                    pos = end
                    continue
                # Ran out of text inside the string (possibly right after a backslash).
                pos = end
                break
            m = search(text, pos)
            if m is None:
                pos = n
                break
            ch = m.group()
            i = m.start()
            pos = i + 1
            if ch == '"':
                self.in_string = True
            elif ch == "{" or ch == "[":
                stack.append((ch, i))
                if len(stack) > self.max_depth_seen:
                    self.max_depth_seen = len(stack)
            else:
                want = "{" if ch == "}" else "["
                if stack and stack[-1][0] == want:
                    _, start = stack.pop()
                    if ch == "}":
                        self.on_object(start, pos, len(stack))
                else:
                    self.mismatched += 1
        self.pos = pos


@dataclass
class Salvage:
    """What :func:`salvage_objects` recovered from broken JSON.

    Attributes:
        values: ``(start, value)`` of every decodable object not inside another decoded one.
        broken: ``(start, end)`` of item-looking objects that could not be decoded.
        truncated: The text ends inside a string or with brackets still open.
        mismatched: Closing brackets that matched nothing.
        too_deep: Objects skipped because they were nested deeper than :data:`MAX_ITEM_DEPTH`.
    """

    values: list[tuple[int, Any]] = field(default_factory=list)
    broken: list[tuple[int, int]] = field(default_factory=list)
    truncated: bool = False
    mismatched: int = 0
    too_deep: int = 0


def salvage_objects(text: str, offset: int = 0) -> Salvage:
    """Decode every balanced top-most ``{...}`` in ``text[offset:]`` that is valid JSON by itself.

    An object that fails to decode (a missing comma inside it, junk) is not kept, but the
    objects inside it are tried in its place — so a wrapper object broken by one bad item
    still yields its other items. Linear-ish: each character is decoded at most once per
    failed enclosing object, and only objects up to :data:`MAX_ITEM_DEPTH` deep are tried.
    """
    spans: list[tuple[int, int, int]] = []
    out = Salvage()

    def on_object(start: int, end: int, depth: int) -> None:
        spans.append((start, end, depth))

    scanner = Scanner(on_object)
    scanner.pos = offset
    scanner.advance(text)
    out.truncated = not scanner.complete
    out.mismatched = scanner.mismatched
    spans.sort()
    skip_until = -1
    failed: list[tuple[int, int]] = []
    accepted_starts: list[int] = []
    for start, end, depth in spans:
        if start < skip_until:
            continue  # inside an object already decoded
        if depth > MAX_ITEM_DEPTH:
            out.too_deep += 1
            continue
        value, _ = loads_or_none(text[start:end])
        if value is None:
            failed.append((start, end))
            continue
        out.values.append((start, value))
        accepted_starts.append(start)
        skip_until = end
    # A failed object counts as a broken item only if nothing inside it was decoded
    # (a wrapper broken by one bad item is not itself an unreadable item).
    for start, end in failed:
        k = bisect.bisect_left(accepted_starts, start)
        if k < len(accepted_starts) and accepted_starts[k] < end:
            continue
        if ITEM_HINT.search(text, start, min(end, start + 4096)):
            out.broken.append((start, end))
    # Broken objects containing broken items: count the innermost ones only.
    inner: list[tuple[int, int]] = []
    for start, end in out.broken:
        while inner and inner[-1][0] <= start and end <= inner[-1][1]:
            inner.pop()
        inner.append((start, end))
    out.broken = inner
    return out
