"""Folder runs have one retry mechanism (the runner's), inside each image's time limit, and
re-queue every transient failure: 5xx, resets, non-JSON bodies (issue #12, findings 3 and 4)."""

from __future__ import annotations

import threading

import pytest

from spatial_nb.batch import read_records, run_folder
from spatial_nb.batch.runner import _is_transient
from spatial_nb.cli import main
from spatial_nb.client import Client
from spatial_nb.errors import GeminiRequestError

from .conftest import TEST_KEY
from .fake_gemini import Reply
from .test_batch import answer_for, image_index, make_images


class Faulty:
    """Serves ``fault`` to image ``target`` (every time, or its first ``times`` requests);
    the scripted answer to the others."""

    def __init__(self, target: int, fault: Reply, times: int | None = None):
        self.target, self.fault, self.times = target, fault, times
        self.lock = threading.Lock()
        self.sent = 0

    def __call__(self, req) -> Reply:
        i = image_index(req)
        if i == self.target:
            with self.lock:
                self.sent += 1
                if self.times is None or self.sent <= self.times:
                    return Reply(**vars(self.fault))
        return answer_for(i)


def requests_for(server, index: int) -> int:
    return sum(1 for r in server.generate_requests() if image_index(r) == index)


def run(tmp_path, client, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("requeue_delay", 0.01)
    return run_folder(tmp_path / "imgs", "Detect things", out=tmp_path / "out", client=client, **kw)


def test_sdk_attempts_do_not_multiply_the_runners(tmp_path, fake_gemini):
    """Before the fix: every re-queue ran the SDK's 3 attempts again: 3 x 3 = 9 requests."""
    make_images(tmp_path / "imgs", 4)
    fake_gemini.default = Faulty(2, Reply(status=503))
    summary = run(tmp_path, Client(retry_attempts=3, retry_initial_delay=0.01), max_requeues=2)
    assert requests_for(fake_gemini, 2) == 3  # 1 + 2 re-queues, each one request
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert records["img002.png"]["status"] == "error" and records["img002.png"]["status_code"] == 503
    assert summary.done == 3 and summary.errors == 1 and summary.requeued == 2


@pytest.mark.parametrize("fault", [
    Reply(raw_body=b"<html><body>Service Unavailable</body></html>", content_type="text/html"),
    Reply(reset=True),
], ids=["html-200", "reset"])
def test_non_json_bodies_and_resets_are_requeued(tmp_path, fake_gemini, fault):
    """Before the fix: a raw JSONDecodeError record at once (html), never sent again."""
    make_images(tmp_path / "imgs", 4)
    fake_gemini.default = Faulty(1, fault, times=2)
    summary = run(tmp_path, Client(retry_initial_delay=0.01))
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert records["img001.png"]["status"] == "ok" and requests_for(fake_gemini, 1) == 3
    assert summary.errors == 0 and summary.requeued == 2


def test_an_image_stops_being_retried_when_its_time_is_up(tmp_path, fake_gemini):
    """All attempts of one image share its limit: 503s with 1 s back-off doubling give up
    when the next re-send would start after 2.5 s."""
    make_images(tmp_path / "imgs", 2)
    fake_gemini.default = Faulty(1, Reply(status=503))
    run(tmp_path, Client(timeout=2.5), requeue_delay=1.0, max_requeues=10)
    record = {r["path"]: r for r in read_records(tmp_path / "out")}["img001.png"]
    assert record["status"] == "error"
    assert "the 2.5 s limit for this image ran out" in record["error"] and "HTTP 503" in record["error"]
    assert requests_for(fake_gemini, 1) == 2  # at 0 s and 1 s; the next would be at 3 s


@pytest.mark.timeout(120)
def test_cli_batch_timeout_bounds_a_hanging_server(tmp_path, fake_gemini, capsys):
    """Before the fix: batch had no --timeout, and this run hung forever on img001."""
    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Faulty(1, Reply(hang=True))
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"),
                 "--timeout", "2", "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "img001.png: Gemini did not answer within 2 s" in err
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert records["img002.png"]["status"] == "ok" and records["img001.png"]["status"] == "error"


@pytest.mark.timeout(120)
def test_cli_detect_timeout_is_one_line(tmp_path, fake_gemini, capsys):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    fake_gemini.queue(Reply(hang=True))
    assert main(["detect", str(tmp_path / "a.png"), "Detect", "--timeout", "1.5", "--no-cache"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did not answer within 1.5 s" in err[0] and TEST_KEY not in err[0]


def test_cli_rejects_a_bad_timeout(capsys):
    with pytest.raises(SystemExit):
        main(["detect", "a.png", "Detect", "--timeout", "0"])
    assert "more than 0" in capsys.readouterr().err


def test_the_runner_reads_transient_from_the_error():
    assert _is_transient(GeminiRequestError("reset", transient=True))
    assert _is_transient(GeminiRequestError("busy", status=503))
    assert not _is_transient(GeminiRequestError("bad request", status=400))
    assert not _is_transient(ValueError("not ours"))
