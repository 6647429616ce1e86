"""Property-based tests of snb.parse: lossless on valid answers, never raises on damaged ones,
and never returns an item that was not complete and unaltered in the input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spatial_nb.parsing as parse_mod
from spatial_nb.parsing import StreamParser, parse

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

labels = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
span = st.tuples(st.integers(0, 1000), st.integers(0, 1000)).filter(lambda t: t[0] != t[1]).map(sorted)
extras = st.one_of(st.just({}), st.fixed_dictionaries({"confidence": st.floats(0, 1)}))


@st.composite
def items(draw):
    label = draw(labels)
    kind = draw(st.sampled_from(["box", "point", "box3d"]))
    if kind == "box":
        (y0, y1), (x0, x1) = draw(span), draw(span)
        item = {"box_2d": [y0, x0, y1, x1], "label": label}
    elif kind == "point":
        item = {"point": [draw(st.integers(0, 1000)), draw(st.integers(0, 1000))], "label": label}
    else:
        nums = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
        item = {"box_3d": [draw(nums) for _ in range(9)], "label": label}
    item.update(draw(extras))
    return item


# Distinct labels make every item distinct (dedupe only merges same-label items).
item_lists = st.lists(items(), max_size=10, unique_by=lambda d: d["label"])


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setattr(parse_mod, "_STRICT", True)  # a parser bug raises instead of hiding in a warning


def expected(raw: dict) -> tuple:
    """What parse must make of one valid raw item: (label, box, point, box3d)."""
    box = point = box3d = None
    if "box_2d" in raw:
        y0, x0, y1, x1 = raw["box_2d"]
        box = (x0 / 1000, y0 / 1000, x1 / 1000, y1 / 1000)
    if "point" in raw:
        y, x = raw["point"]
        point = (x / 1000, y / 1000)
    if "box_3d" in raw:
        box3d = tuple(float(v) for v in raw["box_3d"])
    return raw["label"], box, point, box3d


def got(item) -> tuple:
    return item.label, item.box, item.point, item.box3d


def serialize(raw_items: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """Compact JSON list and the (start, end) span of each item in it."""
    parts, spans, pos = [], [], 1
    for raw in raw_items:
        text = json.dumps(raw, ensure_ascii=False)
        spans.append((pos, pos + len(text)))
        parts.append(text)
        pos += len(text) + 2
    return "[" + ", ".join(parts) + "]", spans


@SETTINGS
@given(item_lists, st.sampled_from([None, 1, 2]), st.booleans(), st.booleans())
def test_valid_answers_are_read_losslessly(raw_items, indent, fenced, wrapped):
    payload = {"boxes": raw_items} if wrapped and raw_items else raw_items
    text = json.dumps(payload, indent=indent, ensure_ascii=bool(indent))
    if fenced:
        text = "```json\n" + text + "\n```"
    res = parse(text)
    assert res.warnings == []
    assert [got(it) for it in res] == [expected(r) for r in raw_items]
    for k, (it, raw) in enumerate(zip(res, raw_items)):
        others = {key: v for key, v in raw.items() if key not in ("box_2d", "point", "box_3d", "label")}
        assert it.extra == {**others, "index": k}


@SETTINGS
@given(item_lists.filter(bool), st.data())
def test_truncation_keeps_exactly_the_complete_items(raw_items, data):
    text, spans = serialize(raw_items)
    cut = data.draw(st.integers(0, len(text)))
    res = parse(text[:cut])
    complete = [expected(r) for r, (_, end) in zip(raw_items, spans) if end <= cut]
    assert [got(it) for it in res] == complete
    if cut < len(text) and not complete and text[:cut].strip():
        assert res.warnings[-1].startswith("the model answered but nothing could be read")


@SETTINGS
@given(item_lists.filter(lambda x: len(x) >= 2), st.data())
def test_junk_between_items_never_alters_items(raw_items, data):
    text, spans = serialize(raw_items)
    gap = data.draw(st.integers(0, len(raw_items) - 2))
    junk = data.draw(st.text(max_size=20))
    at = spans[gap][1]  # right after item `gap`
    damaged = text[:at] + junk + text[at:]
    res = parse(damaged)
    originals = [expected(r) for r in raw_items]
    for it in res:
        assert got(it) in originals
    # Items away from the junk survive when the junk holds no quote or bracket.
    if not set(junk) & set('"{}[]\\'):
        assert [got(it) for it in res] == originals


def _delimiter_positions(text: str) -> list[int]:
    """Positions of JSON delimiters outside string contents (brackets, commas, colons, quotes)."""
    out, in_string, escaped = [], False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                out.append(i)
        elif ch == '"':
            in_string = True
            out.append(i)
        elif ch in "{}[],:":
            out.append(i)
    return out


@SETTINGS
@given(item_lists.filter(bool), st.data())
def test_deleted_delimiter_never_alters_items(raw_items, data):
    text, _ = serialize(raw_items)
    at = data.draw(st.sampled_from(_delimiter_positions(text)))
    res = parse(text[:at] + text[at + 1 :])
    originals = [expected(r) for r in raw_items]
    for it in res:
        assert got(it) in originals


@SETTINGS
@given(item_lists, st.data())
def test_streaming_in_any_chunks_equals_parse(raw_items, data):
    text = "```json\n" + json.dumps(raw_items, ensure_ascii=False) + "\n```"
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    sp = StreamParser()
    streamed, last = [], 0
    for c in [*cuts, len(text)]:
        streamed += sp.feed(text[last:c])
        last = c
    final = sp.result()
    assert final == parse(text)
    assert [got(i) for i in streamed] == [got(i) for i in final]


# -- issue 11: every Result parse returns can be saved, loaded and drawn ------------------------------
def _png(draw) -> str:
    import numpy as np

    from spatial_nb.masks import encode_png_mask

    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    return encode_png_mask(np.asarray(draw(st.lists(st.integers(0, 255), min_size=h * w, max_size=h * w)),
                                      dtype=np.uint8).reshape(h, w))


any_number = st.one_of(st.integers(-100, 1100), st.floats(allow_nan=True, allow_infinity=True))
coord = st.integers(-50, 1050)
wild_text = st.text(max_size=8)  # any code point, lone surrogates included


@st.composite
def wild_items(draw):
    item: dict = {}
    if draw(st.booleans()):
        item["label"] = draw(st.one_of(wild_text, st.integers(), st.none(), st.lists(wild_text, max_size=2)))
    kind = draw(st.sampled_from(["box", "point", "box3d", "polygon", "png", "tokens", "grid", "off"]))
    if kind in ("box", "png", "tokens", "grid") or draw(st.booleans()):
        item["box_2d"] = draw(st.lists(coord, min_size=4, max_size=4))
    if kind == "point":
        item["point"] = draw(st.lists(coord, min_size=2, max_size=2))
    elif kind == "box3d":
        item["box_3d"] = draw(st.lists(st.floats(-20, 20), min_size=9, max_size=9))
    elif kind == "polygon":
        ring = st.lists(st.lists(coord, min_size=2, max_size=2), min_size=3, max_size=7)
        item["mask"] = draw(st.one_of(ring, st.lists(ring, min_size=1, max_size=3)))
    elif kind == "png":
        item["mask"] = _png(draw)
    elif kind == "tokens":
        item["mask"] = "<start_of_mask>" + "".join(f"<seg_{k}>" for k in draw(st.lists(st.integers(0, 99), max_size=4)))
    elif kind == "grid":
        item["mask"] = draw(st.lists(st.lists(st.booleans(), min_size=2, max_size=2), min_size=2, max_size=3))
    else:
        item["in_frame"] = False
    if draw(st.booleans()):
        item["confidence"] = draw(any_number)
    if draw(st.booleans()):
        item[draw(wild_text)] = draw(st.one_of(wild_text, any_number, st.lists(any_number, max_size=3)))
    return item


@st.composite
def wild_answers(draw):
    items = draw(st.lists(wild_items(), max_size=6))
    ascii_only = draw(st.booleans())
    dump = lambda v: json.dumps(v, ensure_ascii=ascii_only)  # noqa: E731 - NaN/Infinity stay as Python writes them
    shape = draw(st.sampled_from(["list", "wrapper", "values", "commas", "empty_then", "wrappers", "fences",
                                  "truncated"]))
    if shape == "commas":
        return ", ".join(dump(it) for it in items), len(items)
    if shape == "empty_then":
        return "[]\n" + dump(items), len(items)
    if shape == "wrappers":
        return dump([{"boxes": [it]} for it in items]), len(items)
    if shape == "list":
        return dump(items), len(items)
    if shape == "wrapper":
        return dump({"boxes": items, "note": draw(wild_text)}), len(items)
    if shape == "values":
        return "\n".join(dump(it) for it in items), len(items)
    if shape == "fences":
        half = len(items) // 2
        prose = draw(wild_text.filter(lambda t: "`" not in t))
        return f"```json\n{dump(items[:half])}\n```\n{prose}\n```json\n{dump(items[half:])}\n```", len(items)
    text = dump(items)
    return text[: draw(st.integers(0, len(text)))], None  # how many items survive a cut is another test's job


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wild_answers())
def test_every_parsed_result_round_trips_and_draws(answer):
    import warnings

    from PIL import Image

    import spatial_nb as snb
    from spatial_nb import Result

    text, sent = answer
    res = parse(text)
    if sent is not None and len(res) < sent:
        assert res.warnings, "items were dropped without a warning"
    saved = res.to_json()  # strict JSON: raises on NaN
    saved.encode("utf-8")  # valid Unicode: raises on lone surrogates
    assert Result.from_json(saved) == res
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs for random code points are reported, not errors
        out = snb.draw(Image.new("RGB", (96, 64), "white"), res)
    assert out.size == (96, 64)
