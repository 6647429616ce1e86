"""`spatial-nb batch`: dry run, confirmation above 500 images, runs, exports, Batch API mode."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from spatial_nb.batch import read_records
from spatial_nb.cli import main
from spatial_nb.commands import batch as batch_cmd

from .fake_batch import FakeBatchAPI
from .test_batch import Script, make_images


def test_dry_run_sends_nothing(tmp_path, fake_gemini, capsys):
    make_images(tmp_path / "imgs", 12)
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "images:          12" in out and "requests:        12" in out
    assert "input tokens:    ~" in out and "13,440 image" in out  # 12 x 1120 (Gemini 3 default model)
    assert fake_gemini.requests == [] and not (tmp_path / "out" / "results.jsonl").exists()


def test_big_runs_need_yes_without_a_terminal(tmp_path, fake_gemini, monkeypatch, capsys):
    make_images(tmp_path / "imgs", 6)
    monkeypatch.setattr(batch_cmd, "CONFIRM_ABOVE", 5)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a TTY
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0
    assert "more than 5" in err and "--yes" in err and fake_gemini.requests == []


def test_confirmation_no_cancels(tmp_path, fake_gemini, monkeypatch, capsys):
    make_images(tmp_path / "imgs", 6)
    monkeypatch.setattr(batch_cmd, "CONFIRM_ABOVE", 5)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out")])
    assert code == 1 and "cancelled" in capsys.readouterr().err and fake_gemini.requests == []


def test_run_with_yes_and_exports(tmp_path, fake_gemini, monkeypatch, capsys):
    make_images(tmp_path / "imgs", 6)
    monkeypatch.setattr(batch_cmd, "CONFIRM_ABOVE", 5)
    fake_gemini.default = Script(throttled=(), bad={3})
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"), "--yes",
                 "--no-progress", "--export", "coco", "--export", "yolo", "--concurrency", "3"])
    captured = capsys.readouterr()
    assert code == 1  # one image failed: non-zero exit, and the error is named
    assert "6 images: 5 done" in captured.out and "img003.png" in captured.err
    coco = json.loads((tmp_path / "out" / "coco.json").read_text())
    assert len(coco["images"]) == 5 and len(coco["annotations"]) == 10
    assert coco["images"][0]["width"] == 8  # read from the image files
    assert (tmp_path / "out" / "yolo" / "sub" / "img000.txt").exists()
    assert "COCO: 5 images" in captured.out and "YOLO: 5 label files" in captured.out


def test_batch_api_from_the_cli(tmp_path, fake_gemini, capsys):
    make_images(tmp_path / "imgs", 3)
    FakeBatchAPI(fake_gemini, polls_before_done=1)
    fake_gemini.default = Script(throttled=())
    code = main(["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"),
                 "--batch-api", "--poll", "0.01", "--no-progress"])
    assert code == 0 and "3 images: 3 done" in capsys.readouterr().out
    assert fake_gemini.generate_requests() == []


@pytest.mark.parametrize("argv, message", [
    (["--job", "batches/x"], "add --batch-api"),
    (["--concurrency", "0"], "--concurrency must be 1"),
])
def test_bad_options(tmp_path, fake_gemini, capsys, argv, message):
    make_images(tmp_path / "imgs", 1)
    assert main(["batch", str(tmp_path / "imgs"), "Detect", "--out", str(tmp_path / "o"), *argv]) == 1
    assert message in capsys.readouterr().err


def test_empty_folder(tmp_path, fake_gemini, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), "Detect", "--out", str(tmp_path / "o")]) == 1
    assert "no images" in capsys.readouterr().err


def test_ctrl_c_says_what_is_saved_and_how_to_resume(tmp_path, fake_gemini, capsys):
    make_images(tmp_path / "imgs", 30)
    script = Script(throttled=(), delay=0.02)
    sent = []

    def answer(req):
        sent.append(1)
        if len(sent) == 10:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands in the main thread, mid-run
        return script(req)

    fake_gemini.default = answer
    argv = ["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"), "--concurrency", "2"]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    done = len(list(read_records(tmp_path / "out")))
    assert 0 < done < 30
    assert err[-1] == (f"spatial-nb: interrupted; {done} of 30 images are answered in "
                       f"{tmp_path / 'out' / 'results.jsonl'} — run the same command again to do the rest")
    fake_gemini.default = script
    assert main(argv + ["--no-progress"]) == 0
    assert f"30 images: {30 - done} done, {done} already done" in capsys.readouterr().out
