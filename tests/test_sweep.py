"""snb.sweep against the fake Gemini server, and the item-by-item diff used by the panel's compare."""

from __future__ import annotations

import json

import pytest

import spatial_nb as snb
from spatial_nb import Item, Result
from spatial_nb.sweeping import SWEEP_ERROR, diff_results, run_agreement

from .fake_gemini import RecordedRequest, Reply

COFFEE = "images/coffee.jpg"
CUP = {"box_2d": [100, 100, 500, 400], "label": "cup"}
SPOON = {"box_2d": [600, 600, 900, 700], "label": "spoon"}
SAUCER = {"box_2d": [450, 50, 700, 500], "label": "saucer"}
# per model: what it "sees" (the third model moves the cup a little and adds a saucer)
ANSWERS = {
    "model-a": [CUP, SPOON],
    "model-b": [CUP],
    "model-c": [dict(CUP, box_2d=[140, 120, 540, 420]), SPOON, SAUCER],
}


def by_model(req: RecordedRequest) -> Reply:
    return Reply(json.dumps(ANSWERS[req.model]))


def test_sweep_runs_every_model_and_temperature_in_order(fake_gemini):
    fake_gemini.default = by_model
    done = []
    runs = snb.sweep(
        COFFEE, "Detect the cup", models=["model-a", "model-b", "model-c"], temperatures=[0.2, 1.0],
        client=snb.Client(retry_attempts=1), progress=lambda i, n, r: done.append((i, n)), max_size=320,
    )
    sent = [(r.model, r.generation_config["temperature"]) for r in fake_gemini.generate_requests()]
    assert sent == [(m, t) for m in ("model-a", "model-b", "model-c") for t in (0.2, 1.0)]
    assert [r.model for r in runs] == [m for m in ("model-a", "model-b", "model-c") for _ in range(2)]
    assert [len(r) for r in runs] == [2, 2, 1, 1, 3, 3]
    assert all(isinstance(r.elapsed, float) and r.elapsed > 0 for r in runs)  # every run timed
    assert done == [(i, 6) for i in range(1, 7)]
    assert all(max(r.request["image_size"]) == 320 for r in runs)  # detect kwargs reach every run


def test_a_second_sweep_replays_from_the_cache_and_keeps_a_time(fake_gemini):
    fake_gemini.default = by_model
    client = snb.Client(retry_attempts=1)
    snb.sweep(COFFEE, "Detect the cup", models=["model-a", "model-b"], client=client)
    again = snb.sweep(COFFEE, "Detect the cup", models=["model-a", "model-b"], client=client)
    assert len(fake_gemini.generate_requests()) == 2 and all(r.cached for r in again)
    assert all(r.elapsed is not None and r.elapsed >= 0 for r in again)


def test_failed_runs_are_kept_or_raised(fake_gemini):
    fake_gemini.default = by_model
    fake_gemini.queue(Reply(status=404, error_message="model not found"))
    client = snb.Client(retry_attempts=1)
    runs = snb.sweep(COFFEE, "Detect the cup", models=["gone", "model-b"], client=client, on_error="keep")
    assert runs[0].finish_reason == SWEEP_ERROR and len(runs[0]) == 0 and "404" in runs[0].warnings[0]
    assert runs[0].model == "gone" and runs[0].elapsed is not None
    assert runs[1].labels == ["cup"]
    fake_gemini.queue(Reply(status=404, error_message="model not found"))
    with pytest.raises(snb.GeminiRequestError):
        snb.sweep(COFFEE, "Detect the spoon", models=["gone"], client=client)


def test_sweep_without_a_key_says_so_once():
    with pytest.raises(snb.MissingKeyError):
        snb.sweep(COFFEE, "Detect the cup", models=["model-a", "model-b"], on_error="keep")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperatures": [3.0]}, "between 0 and 2"),
        ({"temperatures": []}, "temperatures is empty"),
        ({"models": []}, "models must hold model names"),
        ({"on_error": "ignore"}, "on_error"),
    ],
)
def test_sweep_checks_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        snb.sweep(COFFEE, "Detect", client=object(), **kwargs)


def _r(*items):
    return Result(list(items))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # identical boxes
        (_r(Item("cup", box=(0, 0, .5, .5))), _r(Item("Cup", box=(0, 0, .5, .5))), [("same", 0, 0)]),
        # same label, shifted: IoU 0.47 -> moved
        (_r(Item("cup", box=(0, 0, .5, .5))), _r(Item("cup", box=(.1, .1, .6, .6))), [("moved", 0, 0)]),
        # same place, other label
        (_r(Item("cup", box=(0, 0, .5, .5))), _r(Item("mug", box=(0, 0, .5, .5))), [("relabelled", 0, 0)]),
        # nothing overlaps: one only in each
        (_r(Item("cup", box=(0, 0, .2, .2))), _r(Item("cup", box=(.5, .5, .9, .9))),
         [("only_a", 0, None), ("only_b", None, 0)]),
        # a same-label match is preferred over a better-overlapping other label
        (_r(Item("cup", box=(0, 0, .5, .5))), _r(Item("mug", box=(0, 0, .5, .5)), Item("cup", box=(0, 0, .5, .4))),
         [("same", 0, 1), ("only_b", None, 0)]),
        # points: near is the same, a bit further is moved, far is unmatched
        (_r(Item("eye", point=(.5, .5)), Item("nose", point=(.1, .1))), _r(Item("eye", point=(.52, .5)), Item("nose", point=(.4, .4))),
         [("moved", 0, 0), ("only_a", 1, None), ("only_b", None, 1)]),
        # 3D boxes are not compared
        (_r(Item("table", box3d=tuple([0.0] * 9))), _r(), []),
    ],
)
def test_diff_results(a, b, expected):
    assert [(m.status, m.a, m.b) for m in diff_results(a, b)] == expected


def test_run_agreement_reuses_consensus():
    cup, spoon = Item("cup", box=(0, 0, .5, .5)), Item("spoon", box=(.6, .6, .9, .9))
    runs = [_r(cup, spoon), _r(cup), _r(Item("cup", box=(0, 0, .5, .45))), _r(Item("eye", point=(.5, .5)))]
    scores = run_agreement(runs)
    # run 0: cup found by 3 of 4 runs, spoon by 1 of 4 -> 0.5; runs 1 and 2: cup 3/4; points: None
    assert scores == [0.5, 0.75, 0.75, None]
    assert run_agreement([_r(cup)]) == [None]  # nothing to agree with
