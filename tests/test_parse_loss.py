"""Regression tests (issue 11, items 4-5): parse never drops items silently, and every Result
it returns can be saved. Each row was a loss or a crash before the fix."""

from __future__ import annotations

import json
import sqlite3

import pytest

import spatial_nb.parsing as parse_mod
from spatial_nb import Result
from spatial_nb.parsing import StreamParser, parse


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setattr(parse_mod, "_STRICT", True)


A = {"box_2d": [100, 200, 300, 400], "label": "a"}
B = {"box_2d": [500, 600, 700, 800], "label": "b"}
C = {"point": [500, 500], "label": "c"}


def j(value) -> str:
    return json.dumps(value)


def fence(value) -> str:
    return "```json\n" + j(value) + "\n```"


# -- item 4: several values, blocks, lists -------------------------------------------------------
@pytest.mark.parametrize(
    "text, labels, warning",
    [
        (j(A) + ", " + j(B), ["a", "b"], "2 separate JSON values"),  # objects separated by a comma (was: a only)
        (j(A) + "\n" + j(B) + "\n" + j(C), ["a", "b", "c"], "3 separate"),  # JSON lines (was: a only)
        ("[]\n" + j([A, B]), ["a", "b"], None),  # [] then the real list (was: nothing, no warning)
        (j([A]) + "\n" + j([B]), ["a", "b"], "2 separate"),  # two lists (was: a only)
        (fence([A]) + "\nAlso:\n" + fence([B]), ["a", "b"], "code blocks"),  # two fenced blocks (was: a only)
        (j([A]) + "\n" + fence([B]), ["a", "b"], "2 separate"),  # bare JSON then a fenced block (was: b only)
        (j({"boxes": [A], "points": [C]}), ["a", "c"], 'keys ["boxes", "points"]'),  # two lists (was: nothing)
        (j({"result": {"boxes": [A]}, "meta": {"model": "x"}}), ["a"], None),  # wrapper beside another object (was: nothing)
        (j({"label": "scene", "objects": [A, B]}), ["a", "b"], None),  # a labelled wrapper (was: nothing)
        (j([{"boxes": [A]}, {"boxes": [B]}]), ["a", "b"], None),  # a list of wrappers (was: nothing)
        (j([A, [B, C]]), ["a", "b", "c"], None),  # a nested list among items (was: b, c skipped)
        (j([A]) + ' and {"note": "2 more hidden"}', ["a"], "held no items and was skipped"),  # a non-item value is reported
        (fence([A]) + "\n" + fence([A]), ["a"], "repeated itself"),  # the same block twice: deduped, said
    ],
)
def test_every_value_is_read_or_reported(text, labels, warning):
    res = parse(text)
    assert res.labels == labels
    if warning is None:
        assert res.warnings == []
    else:
        assert any(warning in w for w in res.warnings), res.warnings


def test_the_stream_reads_the_same_several_values():
    text = j(A) + "\n" + j(B) + "\n" + fence([C])
    sp = StreamParser()
    streamed = [it.label for k in range(0, len(text), 7) for it in sp.feed(text[k : k + 7])]
    assert streamed == ["a", "b", "c"] == sp.result().labels == parse(text).labels


# -- item 5: everything kept can be saved ------------------------------------------------------------
def _saved(res: Result) -> Result:
    """Save like the cache does (UTF-8 text in SQLite) and load again."""
    db = sqlite3.connect(":memory:")
    db.execute("create table t (v text)")
    db.execute("insert into t values (?)", (res.to_json(),))
    (text,) = db.execute("select v from t").fetchone()
    return Result.from_json(text)


@pytest.mark.parametrize(
    "text, check, warning",
    [
        ('[{"box_2d": [1, 2, 3, 4], "label": "a", "confidence": NaN}]',  # was: ValueError at to_json
         lambda it: it.extra["confidence"] is None, "not a finite number (NaN or Infinity) (first: item 0, key confidence)"),
        ('[{"box_2d": [1, 2, 3, 4], "label": "a", "scores": [0.5, Infinity, -Infinity]}]',
         lambda it: it.extra["scores"] == [0.5, None, None], "2 values were not a finite number"),
        ('[{"box_2d": [1, 2, 3, 4], "label": "a\\ud800b"}]',  # was: UnicodeEncodeError at the cache write
         lambda it: it.label == "a\ufffdb", "lone UTF-16 surrogates"),
        ('[{"box_2d": [1, 2, 3, 4], "label": "x", "note": {"\\udfff": "\\ud83d"}}]',  # in extra keys and values
         lambda it: it.extra["note"] == {"\ufffd": "\ufffd"}, "lone UTF-16 surrogates"),
        ('[{"box_2d": [1, 2, 3, 4], "label": "\\ud83d\\ude00"}]',  # a proper pair is a character: no warning
         lambda it: it.label == "\U0001F600", None),
    ],
)
def test_every_result_can_be_saved(text, check, warning):
    res = parse(text)
    back = _saved(res)
    assert back == res
    assert check(res[0])
    if warning is None:
        assert res.warnings == []
    else:
        assert any(warning in w for w in res.warnings), res.warnings


def test_extra_nested_deeper_than_the_cleaner_walks_is_replaced_and_said():
    # Not a crash before the fix (json copes); the guard keeps the cleaner's own recursion bounded.
    res = parse('[{"box_2d": [1, 2, 3, 4], "label": "deep", "x": ' + "[" * 600 + "]" * 600 + "}]")
    assert any("nested more than 400 levels" in w for w in res.warnings), res.warnings
    _saved(res)
    shallow = parse('[{"box_2d": [1, 2, 3, 4], "label": "ok", "x": ' + "[" * 300 + "]" * 300 + "}]")
    assert shallow.warnings == [] and shallow == _saved(shallow)


def test_surrogates_in_the_answer_text_itself_are_replaced():
    text = '[{"box_2d": [1, 2, 3, 4], "label": "a"}] \ud800'  # a str holding a lone surrogate
    res = parse(text)
    assert res.raw_text == text[:-1] + "\ufffd"
    assert any("raw_text" in w for w in res.warnings)
    _saved(res)


def test_decoded_json_with_nan_is_cleaned_too():
    res = parse([{"box_2d": [1, 2, 3, 4], "label": "a", "confidence": float("nan")}])
    assert res[0].extra["confidence"] is None
    _saved(res)


def test_streamed_items_are_cleaned_like_parse():
    text = '[{"box_2d": [1, 2, 3, 4], "label": "a\\ud800", "confidence": NaN}]'
    sp = StreamParser()
    (item,) = sp.feed(text)
    assert item == parse(text)[0]
    assert item.label == "a\ufffd" and item.extra["confidence"] is None


# -- item 2: wrapper keys keep every item and its confidence ------------------------------------------
@pytest.mark.parametrize(
    "key",
    ["boxes", "objects", "detections", "items", "results", "predictions", "bounding_boxes", "masks",
     "segmentations", "points", "annotations"],
)
def test_wrapper_keys_keep_items_and_confidence(key):
    items = [dict(A, confidence=0.91), dict(B, confidence=0.42), dict(C, confidence=0.5)]
    res = parse(fence({key: items}))
    assert res.labels == ["a", "b", "c"] and res.warnings == []
    assert [it.extra["confidence"] for it in res] == [0.91, 0.42, 0.5]
