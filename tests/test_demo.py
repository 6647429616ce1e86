"""``spatial-nb demo`` and ``snb.samples.demo()``: recorded answers drawn with no key and no network.

The CLI runs in a subprocess without any API key and with a socket guard installed by a
``sitecustomize`` module: every connect/resolve attempt is logged and refused. A control run
proves the guard catches a real attempt, so "no attempt logged" means something. Where the
kernel allows it, the demo also runs inside a network namespace that has no network at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatial_nb import samples
from spatial_nb.colors import PALETTE
from spatial_nb.demo import TAG
from spatial_nb.recordings import recordings

from .socket_guard import socket_guard_source

REPO = Path(__file__).resolve().parents[1]

GUARD = socket_guard_source(block_dns=True)


def _env_without_keys(tmp_path: Path, guard: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")}
    paths = [str(REPO), env.get("PYTHONPATH", "")]
    if guard:
        guard_dir = tmp_path / "guard"
        guard_dir.mkdir()
        (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
        paths.insert(0, str(guard_dir))
        env["SNB_SOCKET_LOG"] = str(tmp_path / "sockets.log")
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["SPATIAL_NB_CACHE_DIR"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path / "home")  # nothing from the user's home (keys in dotfiles, caches)
    return env


def _check_outputs(folder: Path) -> None:
    """Every recording has its PNG (boxes drawn in the palette colours), HTML page and JSON."""
    for rec in recordings():
        png, page, js = (folder / f"{rec.id}{ext}" for ext in (".png", ".html", ".json"))
        res = rec.result()
        with Image.open(png) as im, Image.open(rec.path()) as photo:
            assert im.size == photo.size
            pixels = np.asarray(im.convert("RGB"))
        h, w = pixels.shape[:2]
        for index, item in enumerate(res):
            x0, y0, x1, y1 = item.xyxy(w, h)
            edges = [(x0, (y0 + y1) // 2), (x1 - 1, (y0 + y1) // 2), ((x0 + x1) // 2, y1 - 1)]
            # later boxes may cover an edge (the spill's countertop box shares the cloth's left edge)
            assert any(tuple(pixels[y, x]) == PALETTE[index] for x, y in edges), (rec.id, item.label)
        text = page.read_text(encoding="utf-8")
        assert "This is a recorded answer, not a live call</strong>" in text and rec.model in text
        assert "GOOGLE_API_KEY" in text and "<script" not in text.lower()
        assert js.read_text(encoding="utf-8").count('"recorded"') == 1
    assert all(f"{r.id}.html" in (folder / "index.html").read_text(encoding="utf-8") for r in recordings())


def _check_lines(stdout: str) -> None:
    lines = stdout.strip().splitlines()
    assert len(lines) == len(recordings()) + 1
    for line in lines:  # every line: a recording, and how to ask Gemini live
        assert line.startswith(TAG) and "GOOGLE_API_KEY" in line, line


def test_demo_from_python_writes_overlays_and_says_they_are_recordings(tmp_path):
    lines: list[str] = []
    outputs = samples.demo(tmp_path / "out", echo=lines.append)
    assert [o.recording.id for o in outputs] == ["socks-with-face", "spill-cleaning-advice"]
    assert [o.n_items for o in outputs] == [2, 6]
    _check_outputs(tmp_path / "out")
    _check_lines("\n".join(lines))
    assert "drew 2 boxes" in lines[0] and "socks.jpg" in lines[0] and "spatial-nb detect" in lines[0]


def test_cli_demo_runs_without_key_and_without_any_connection(tmp_path):
    env = _env_without_keys(tmp_path, guard=True)
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "spatial_nb", "demo", "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sockets.log.active").is_file(), "the socket guard was not loaded"
    assert not (tmp_path / "sockets.log").exists(), (tmp_path / "sockets.log").read_text()
    _check_outputs(out)
    _check_lines(proc.stdout)
    assert proc.stderr == ""


def test_the_guard_catches_a_connection_attempt(tmp_path):
    # Control for the test above: the same environment does log and refuse a real attempt.
    env = _env_without_keys(tmp_path, guard=True)
    code = "import urllib.request\ntry:\n    urllib.request.urlopen('http://example.com', timeout=5)\nexcept OSError as e:\n    print(e)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "blocked by the test guard" in proc.stdout, proc.stdout + proc.stderr
    assert "example.com" in (tmp_path / "sockets.log").read_text()


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if not unshare:
        return False
    try:
        return subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="no unprivileged network namespaces here (unshare -rn)")
def test_cli_demo_runs_in_a_network_namespace_without_network(tmp_path):
    env = _env_without_keys(tmp_path, guard=False)
    out = tmp_path / "demo"
    code = "import socket\ntry:\n    socket.create_connection(('8.8.8.8', 53), timeout=3)\n    print('online')\nexcept OSError:\n    print('offline')"
    probe = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert probe.stdout.strip() == "offline", probe.stdout + probe.stderr  # the namespace really has no network
    proc = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "spatial_nb", "demo", "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _check_outputs(out)
    _check_lines(proc.stdout)


def test_demo_into_a_file_is_a_one_line_error(tmp_path, capsys):
    from spatial_nb.cli import main

    target = tmp_path / "taken"
    target.write_text("not a folder")
    assert main(["demo", "--out", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("spatial-nb: cannot write the demo into") and "--out DIR" in err and "\n" not in err


def test_demo_is_listed_in_the_cli_help(capsys):
    from spatial_nb.cli import main

    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    assert "no key" in text and "recorded answers" in text and "GOOGLE_API_KEY" in text
