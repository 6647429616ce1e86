"""Every option that takes a time reads it the same way (spatial_nb.durations)."""

from __future__ import annotations

import argparse

import pytest

from spatial_nb.commands._options import _timeout
from spatial_nb.commands.batch import parse_duration as deadline_option
from spatial_nb.durations import DurationError, parse_duration
from spatial_nb.packs import PackError, parse_since


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("1.5h", 5400), ("1h30m", 5400), (" 2 H ", 7200),
     ("3d", 259_200), ("2w", 1_209_600), (".5m", 30)],
)
def test_every_time_option_reads_the_same_forms(text, seconds):
    assert parse_duration(text) == seconds
    assert deadline_option(text) == seconds
    assert _timeout(text) == seconds
    if not text.strip().replace(".", "").isdigit():  # --since needs a unit: "2026" is not 2026 seconds
        assert parse_since(text, now=10_000_000) == pytest.approx(10_000_000 - seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "1h-30m", "m", "1e9", "h1"])
def test_a_wrong_time_says_how_to_write_one(text):
    with pytest.raises(DurationError, match="90s, 30m, 2h"):
        parse_duration(text)
    with pytest.raises(argparse.ArgumentTypeError):
        deadline_option(text)
    with pytest.raises(argparse.ArgumentTypeError, match="120, 90s or 2m"):
        _timeout(text)


def test_since_needs_a_unit_and_timeout_more_than_zero():
    with pytest.raises(DurationError, match="needs a unit"):
        parse_duration("90", bare_seconds=False)
    with pytest.raises(PackError, match="give a date"):
        parse_since("90")
    with pytest.raises(argparse.ArgumentTypeError, match="more than 0"):
        _timeout("0s")
    assert _timeout("none") is None and _timeout("OFF") is None
