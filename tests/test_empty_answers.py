"""Empty answers in folder runs: an error, asked again at most N times, never an "ok" (issue #12, finding 2)."""

from __future__ import annotations

import json
import threading

import pytest

from spatial_nb.batch import read_records
from spatial_nb.empty_answers import empty_answer_message, is_empty_answer, is_refusal
from spatial_nb.parsing import parse
from spatial_nb.result import Result

from .fake_gemini import Reply
from .test_batch import Script, image_index, make_images, run


class EmptyFor:
    """Serves ``{"candidates": []}`` (or a candidate with no text) to chosen images, N times each,
    through the fake server's extra routes; everything else gets ``Script``'s answer."""

    def __init__(self, server, images: dict[int, int], body: dict | None = None):
        self.left = dict(images)  # image index -> empty answers still to send
        self.body = body if body is not None else {"candidates": [], "modelVersion": "fake"}
        self.lock = threading.Lock()
        server.extra_routes[r":generateContent"] = self

    def __call__(self, req, handler) -> bool:
        i = image_index(req)
        with self.lock:
            if self.left.get(i, 0) <= 0:
                return False  # the normal route answers
            self.left[i] -= 1
        data = json.dumps(self.body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return True


def requests_for(server, index: int) -> int:
    return sum(1 for r in server.generate_requests() if image_index(r) == index)


NO_TEXT = {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP", "index": 0}]}


@pytest.mark.parametrize("body", [None, NO_TEXT], ids=["no-candidates", "no-text"])
def test_an_empty_answer_is_asked_again_and_then_recorded(tmp_path, fake_gemini, body):
    """Before the fix: recorded "ok" with 0 items, never asked again (and replayed from the cache)."""
    make_images(tmp_path / "imgs", 12)
    fake_gemini.default = Script(throttled=())
    EmptyFor(fake_gemini, {3: 1, 5: 10}, body)  # img003: one empty answer; img005: always empty
    summary = run(tmp_path / "imgs", tmp_path / "out", empty_retries=2)
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert records["img003.png"]["status"] == "ok"
    assert records["img003.png"]["result"]["items"][0]["label"] == "thing 3"  # the real answer
    assert requests_for(fake_gemini, 3) == 2
    bad = records["img005.png"]
    assert bad["status"] == "error" and "empty answer" in bad["error"] and "3 attempts" in bad["error"]
    assert requests_for(fake_gemini, 5) == 3  # 1 + empty_retries
    assert summary.errors == 1 and summary.done == 11 and summary.empty_answers == 4
    # the empty answer was not kept in the cache: a re-run asks Gemini again
    before = requests_for(fake_gemini, 5)
    again = run(tmp_path / "imgs", tmp_path / "out", empty_retries=0)
    assert requests_for(fake_gemini, 5) == before + 1 and again.errors == 1


def test_a_parsed_empty_list_is_a_valid_nothing_found(tmp_path, fake_gemini):
    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Reply("[]")
    summary = run(tmp_path / "imgs", tmp_path / "out")
    assert summary.done == 3 and summary.errors == 0 and summary.items == 0
    assert len(fake_gemini.generate_requests()) == 3  # no re-asking
    assert all(r["status"] == "ok" for r in read_records(tmp_path / "out"))


def test_a_blocked_prompt_is_an_error_at_once(tmp_path, fake_gemini):
    make_images(tmp_path / "imgs", 2)
    fake_gemini.default = Reply(block_reason="PROHIBITED_CONTENT")
    summary = run(tmp_path / "imgs", tmp_path / "out", empty_retries=3)
    assert summary.errors == 2 and len(fake_gemini.generate_requests()) == 2  # Gemini said why: not asked again
    message = next(iter(summary.error_messages.values()))
    assert "blocked the prompt (PROHIBITED_CONTENT)" in message and "\n" not in message


@pytest.mark.parametrize(
    ("answer", "empty"),
    [
        ("", True),  # no text at all
        ("   \n", True),  # whitespace only
        ("[]", False),  # a real "nothing found"
        ("I see no cats.", False),  # prose is an answer (the parser warns about it)
        (Result(raw_text=""), True),
        (Result(raw_text=None), True),
        (parse("[]"), False),
        (parse('[{"box_2d": [0, 0, 10, 10], "label": "a"}]'), False),
        (None, True),
    ],
)
def test_is_empty_answer(answer, empty):
    assert is_empty_answer(answer) is empty


def test_refusals_are_told_apart():
    assert is_refusal(Result(raw_text="", finish_reason="BLOCKED:SAFETY"))
    assert is_refusal(Result(raw_text="", finish_reason="SAFETY"))
    assert not is_refusal(Result(raw_text="", finish_reason="STOP"))
    assert "not asked again" in empty_answer_message(Result(raw_text="", finish_reason="SAFETY"))


def test_cli_empty_retries(tmp_path, fake_gemini, capsys):
    from spatial_nb.cli import main

    make_images(tmp_path / "imgs", 2)
    fake_gemini.default = Script(throttled=())
    EmptyFor(fake_gemini, {1: 10})
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"),
                 "--no-progress", "--empty-retries", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "img001.png: Gemini sent an empty answer" in err
    assert requests_for(fake_gemini, 1) == 1
