"""``spatial-nb detect`` through cli.main (in process) and one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image

from spatial_nb.cli import main
from spatial_nb.result import Result

from .conftest import TEST_KEY
from .fake_gemini import Reply

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "kitchen.jpg"
    Image.new("RGB", (800, 600), (120, 130, 140)).save(path, quality=90)
    return path


def test_detect_writes_outputs_and_prints_a_summary(fake_gemini, photo, tmp_path, capsys):
    out, js, html = tmp_path / "overlay.png", tmp_path / "result.json", tmp_path / "overlay.html"
    code = main(["detect", str(photo), "Detect the cups", "--out", str(out), "--json", str(js),
                 "--html", str(html), "--temperature", "0.2", "--max-size", "1024"])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "3 items from gemini-3.6-flash (Gemini)" in stdout
    assert "answered by" not in stdout  # the same model answered
    assert "left object" in stdout and "tokens: prompt 300" in stdout and "cached: no" in stdout
    res = Result.from_json(js.read_text())
    assert len(res) == 3 and res.request["temperature"] == 0.2 and res.image_size == (800, 600)
    overlay = Image.open(out)
    assert overlay.size == (800, 600)
    assert overlay.convert("RGB").getpixel((0, 0)) == (120, 130, 140)  # untouched corner
    x0, y0, x1, y1 = res[0].xyxy(800, 600)
    assert overlay.convert("RGB").getpixel((x0, (y0 + y1) // 2)) != (120, 130, 140)  # box edge drawn
    assert "<svg" in html.read_text() or "<img" in html.read_text()
    req = fake_gemini.generate_requests()[0]
    assert req.generation_config["temperature"] == pytest.approx(0.2)
    # second run: from the cache
    assert main(["detect", str(photo), "Detect the cups", "--temperature", "0.2", "--max-size", "1024"]) == 0
    assert "(cache)" in capsys.readouterr().out
    assert len(fake_gemini.generate_requests()) == 1


def test_kind_model_structured_and_system_instruction(fake_gemini, photo, capsys):
    code = main(["detect", str(photo), "Point to the cat", "--kind", "points", "--model", "gemini-3.1-pro-preview",
                 "--structured", "--system-instruction", "Be brief."])
    assert code == 0
    req = fake_gemini.generate_requests()[0]
    assert req.model == "gemini-3.1-pro-preview" and req.system_instruction == "Be brief."
    assert "responseSchema" in req.generation_config or "response_schema" in req.generation_config


def test_labels_are_cleaned_for_the_terminal(fake_gemini, photo, capsys):
    fake_gemini.queue(Reply(json.dumps([{"box_2d": [0, 0, 10, 10], "label": "evil\x1b[31mred\x07"}])))
    assert main(["detect", str(photo), "Detect"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "evil[31mred" in out


def test_errors_are_one_line(fake_gemini, photo, tmp_path, capsys):
    fake_gemini.queue(Reply(status=403, error_message=f"key {TEST_KEY} denied\nsecond line"))
    code = main(["detect", str(photo), "Detect", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("spatial-nb: ") and err.count("\n") == 1
    assert "HTTP 403" in err and TEST_KEY not in err
    assert main(["detect", str(tmp_path / "missing.jpg"), "Detect"]) == 1
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["overlay.xyz", "overlay", "overlay.psd"])  # psd: read-only in Pillow
def test_unknown_overlay_extension_fails_before_sending(fake_gemini, photo, tmp_path, capsys, name):
    code = main(["detect", str(photo), "Detect", "--out", str(tmp_path / name)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and ".png" in err and name in err
    assert fake_gemini.generate_requests() == []  # nothing paid for an answer we could not save


def test_model_support_warning_is_one_summary_line_not_a_python_warning(fake_gemini, photo, capsys):
    args = ["detect", str(photo), "Segment", "--kind", "masks", "--model", "gemini-3-pro-preview"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args) == 0
    assert not [w for w in caught if "segmentation masks" in str(w.message)]
    captured = capsys.readouterr()
    assert captured.err == ""  # no "file.py:89: ModelSupportWarning" + source line
    assert captured.out.count("not documented to return segmentation masks") == 1
    assert main([*args[:2], "Segment the cups", *args[3:], "--offline"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spatial-nb: offline mode") and err.count("\n") == 1


def test_other_warnings_are_one_stderr_line(fake_gemini, photo, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert main(["detect", str(photo), "Detect"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("spatial-nb: warning: spatial_nb could not store this answer") and err.count("\n") == 1


def test_offline_miss_is_one_line(photo, capsys):
    assert main(["detect", str(photo), "Detect the cups", "--offline"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spatial-nb: offline mode") and "kitchen.jpg" in err and err.count("\n") == 1


def test_bad_max_size_is_a_usage_error(photo, capsys):
    with pytest.raises(SystemExit) as info:
        main(["detect", str(photo), "Detect", "--max-size", "huge"])
    assert info.value.code == 2


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "--kind" in out and "--offline" in out


def test_subprocess_without_key_exits_1_with_one_line(photo, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "spatial_nb", "detect", str(photo), "Detect the cups"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spatial-nb: No Gemini API key")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "flag, expected",
    [
        ("off", None),                         # no thinking config at all
        ("256", {"thinking_budget": 256}),     # a budget
        ("low", {"thinking_level": "LOW"}),    # a level (the SDK sends enum names upper-case)
    ],
)
def test_thinking_flag_reaches_the_request(fake_gemini, tmp_path, flag, expected):
    # --thinking is what the 400-about-thinking message tells CLI users to change.
    from PIL import Image

    img = tmp_path / "a.png"
    Image.new("RGB", (32, 24), "white").save(img)
    assert main(["detect", str(img), "Detect things", "--thinking", flag]) == 0
    sent = fake_gemini.generate_requests()[-1].generation_config
    got = sent.get("thinkingConfig")
    if expected is None:
        assert got is None
    else:
        (key, value), = expected.items()
        assert str(got[key]).upper() == str(value).upper()


def test_closed_stdout_pipe_ends_quietly(tmp_path):
    # `spatial-nb ... | head -1`: the reader leaves early; no "BrokenPipeError" line, exit 141.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "spatial_nb", "cache", "info", "--dir", str(tmp_path)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""
