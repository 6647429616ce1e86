"""Folder runs against the fake Gemini server: concurrency, 429s, a 500 storm, interrupts, resume."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from spatial_nb.batch import AdaptiveLimit, estimate, find_images, load_results, read_records, run_folder
from spatial_nb.errors import MissingKeyError, SpatialNBError

from .fake_gemini import Reply

N_IMAGES = 100


def make_images(folder: Path, n: int = N_IMAGES) -> list[Path]:
    """Tiny PNGs whose colour encodes their index (the fake server reads it back)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        sub = folder / ("sub" if i % 10 == 0 else "")
        sub.mkdir(exist_ok=True)
        path = sub / f"img{i:03d}.png"
        Image.new("RGB", (8, 6), (i, 255 - i, 7)).save(path)
        paths.append(path)
    (folder / "notes.txt").write_text("not an image")
    return paths


def image_index(req) -> int:
    _, data = req.images[0]
    return Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))[0]


def answer_for(i: int) -> Reply:
    """A different, deterministic answer per image."""
    box = [10 * (i % 50), 100, 10 * (i % 50) + 300, 600]
    return Reply(json.dumps([{"box_2d": box, "label": f"thing {i}"}, {"box_2d": [0, 0, 100, 100], "label": "corner"}]))


class Script:
    """Per-request outcomes: 429s for some images, one 500 storm, one image always 400."""

    def __init__(self, throttled=range(10, 20), storm=range(0, 0), bad=(), delay=0.0):
        self.lock = threading.Lock()
        self.count = 0
        self.per_image: dict[int, int] = {}
        self.throttled, self.storm, self.bad, self.delay = set(throttled), storm, set(bad), delay

    def __call__(self, req) -> Reply:
        i = image_index(req)
        with self.lock:
            n = self.count
            self.count += 1
            seen = self.per_image[i] = self.per_image.get(i, 0) + 1
        if i in self.bad:
            return Reply(status=400, error_message="image rejected")
        if i in self.throttled and seen <= 3:  # all 3 SDK attempts of the first try: 429 surfaces
            return Reply(status=429, error_message="quota", delay=self.delay)
        if n in self.storm:
            return Reply(status=500, delay=self.delay)
        reply = answer_for(i)
        reply.delay = self.delay
        return reply


def client(**kw):
    from spatial_nb.client import Client

    return Client(retry_attempts=3, retry_initial_delay=0.01, **kw)


def run(folder, out, **kw):
    kw.setdefault("client", client())
    kw.setdefault("progress", False)
    kw.setdefault("requeue_delay", 0.01)
    return run_folder(folder, "Detect things", out=out, **kw)


def comparable(out: Path) -> list[dict]:
    records = [dict(r) for r in read_records(out)]
    for r in records:
        r.pop("elapsed_s")
        (r.get("result") or {}).pop("elapsed", None)  # seconds the request took: differs run to run
    return sorted(records, key=lambda r: r["path"])


def test_100_images_with_429s_and_a_500_storm_all_accounted_for(tmp_path, fake_gemini):
    make_images(tmp_path / "imgs")
    script = Script(throttled=range(10, 20), storm=range(150, 175), bad={77})
    fake_gemini.default = script
    summary = run(tmp_path / "imgs", tmp_path / "out", concurrency=8)
    records = list(read_records(tmp_path / "out"))
    paths = [r["path"] for r in records]
    assert len(paths) == N_IMAGES == len(set(paths))  # every image exactly once
    assert "sub/img000.png" in paths and "img001.png" in paths  # names relative to the folder
    errors = [r for r in records if r["status"] == "error"]
    assert [(e["path"], e["status_code"]) for e in errors] == [("img077.png", 400)]
    assert "image rejected" in errors[0]["error"]
    assert summary.done == 99 and summary.errors == 1 and summary.remaining == 0
    assert summary.throttles >= 1 and summary.lowest_concurrency < 8  # 429s lowered concurrency
    assert summary.requeued >= 10  # each throttled image was sent again
    assert summary.items == 99 * 2 and summary.tokens > 0
    # the run's answers are the scripted ones
    res = load_results(tmp_path / "out")["img042.png"]
    assert res.labels == ["thing 42", "corner"]
    # a re-run only retries the error (answers are cached, records skip the rest)
    before = len(fake_gemini.generate_requests())
    again = run(tmp_path / "imgs", tmp_path / "out", concurrency=8)
    assert again.skipped == 99 and again.errors == 1
    assert len(fake_gemini.generate_requests()) - before == 1  # img077 again (400: no SDK retry)


def test_records_equal_a_single_threaded_run(tmp_path, fake_gemini, monkeypatch):
    make_images(tmp_path / "imgs", 40)
    fake_gemini.default = Script(throttled=range(5, 9), storm=range(30, 40))
    run(tmp_path / "imgs", tmp_path / "par", concurrency=8)
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "cache2"))  # no cache hits for run 2
    fake_gemini.default = Script(throttled=())
    run(tmp_path / "imgs", tmp_path / "seq", concurrency=1)
    par, seq = comparable(tmp_path / "par"), comparable(tmp_path / "seq")
    assert len(par) == 40 and all(r["status"] == "ok" for r in par)
    assert par == seq


def test_interrupt_then_resume_sends_only_the_rest(tmp_path, fake_gemini):
    make_images(tmp_path / "imgs")
    fake_gemini.default = Script(throttled=(), delay=0.01)

    def stop_after_30(record, summary):
        if summary.done == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "imgs", tmp_path / "out", concurrency=8, on_record=stop_after_30)
    first = len(fake_gemini.generate_requests())
    written = [r["path"] for r in read_records(tmp_path / "out")]
    assert 30 <= len(written) < N_IMAGES and len(written) == len(set(written))
    assert first == len(written)  # the requests in flight were finished and written, not lost
    summary = run(tmp_path / "imgs", tmp_path / "out", concurrency=8)
    assert summary.skipped == len(written) and summary.done == N_IMAGES - len(written)
    assert len(fake_gemini.generate_requests()) - first == N_IMAGES - len(written)
    assert sorted(r["path"] for r in read_records(tmp_path / "out")) == sorted(
        p.relative_to(tmp_path / "imgs").as_posix() for p in find_images(tmp_path / "imgs")[1]
    )


CHILD = """
import sys
from spatial_nb.client import Client
from spatial_nb.batch import run_folder
run_folder(sys.argv[1], "Detect things", out=sys.argv[2], concurrency=4, progress=False,
           client=Client(retry_attempts=1))
"""


def test_killed_process_resumes_without_losing_or_repeating(tmp_path, fake_gemini):
    make_images(tmp_path / "imgs")
    fake_gemini.default = Script(throttled=(), delay=0.05)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "imgs"), str(tmp_path / "out")], env=env)
    results = tmp_path / "out" / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if results.exists() and results.read_text().count("\n") >= 20:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done_before = {r["path"] for r in read_records(tmp_path / "out")}
    sent_before = len(fake_gemini.generate_requests())
    assert 20 <= len(done_before) < N_IMAGES
    summary = run(tmp_path / "imgs", tmp_path / "out", concurrency=4)
    assert summary.skipped == len(done_before) and summary.done + summary.skipped == N_IMAGES
    resent = len(fake_gemini.generate_requests()) - sent_before
    # only the rest is sent; answers that reached the cache but not the file are not sent again
    assert resent <= N_IMAGES - len(done_before)
    assert sent_before + resent <= N_IMAGES + 4  # at most the killed in-flight requests twice
    paths = [r["path"] for r in read_records(tmp_path / "out")]
    assert len(paths) == N_IMAGES == len(set(paths))


def test_torn_last_line_and_other_settings(tmp_path, fake_gemini):
    make_images(tmp_path / "imgs", 5)
    fake_gemini.default = Script(throttled=())
    run(tmp_path / "imgs", tmp_path / "out")
    path = tmp_path / "out" / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])  # a crash mid-write
    summary = run(tmp_path / "imgs", tmp_path / "out")
    assert summary.skipped == 3 and summary.done == 2
    assert len(list(read_records(path))) == 5
    with pytest.raises(SpatialNBError, match="prompt"):
        run_folder(tmp_path / "imgs", "Another prompt", out=tmp_path / "out", client=client(), progress=False)
    fresh = run_folder(tmp_path / "imgs", "Another prompt", out=tmp_path / "out", client=client(),
                       progress=False, resume=False)
    assert fresh.done == 5 and len(list((tmp_path / "out").glob("results.*.jsonl"))) == 1


def test_missing_key_stops_before_anything(tmp_path):
    make_images(tmp_path / "imgs", 3)
    with pytest.raises(MissingKeyError):
        run_folder(tmp_path / "imgs", "Detect", out=tmp_path / "out", progress=False)


def test_find_images(tmp_path):
    make_images(tmp_path / "imgs", 12)
    (tmp_path / "imgs" / ".hidden").mkdir()
    Image.new("RGB", (2, 2)).save(tmp_path / "imgs" / ".hidden" / "x.JPG")
    Image.new("RGB", (2, 2)).save(tmp_path / "imgs" / "UPPER.JPG")
    root, paths = find_images(tmp_path / "imgs")
    names = [p.relative_to(root).as_posix() for p in paths]
    assert names == sorted(names) and len(names) == 13 and "UPPER.JPG" in names
    assert len(find_images(tmp_path / "imgs", recursive=False)[1]) == 11
    root2, given = find_images([paths[3], paths[0]])
    assert given == sorted(given)


def test_limiter_aimd():
    lim = AdaptiveLimit(8, increase_after=3)
    first = lim.epoch
    assert lim.on_throttle(first) and lim.limit == 4
    assert not lim.on_throttle(first) and lim.limit == 4  # same burst: halved once
    assert lim.on_throttle(lim.epoch) and lim.limit == 2
    lim.on_throttle(lim.epoch)
    lim.on_throttle(lim.epoch)
    assert lim.limit == 1 and lim.lowest == 1  # never below 1
    for _ in range(3 * 10):
        lim.on_success()
    assert lim.limit == 8  # back to the ceiling, no further


def test_estimate_counts_tiles(tmp_path):
    Image.new("RGB", (300, 200)).save(tmp_path / "small.png")  # <= 384 both sides: 258
    Image.new("RGB", (2000, 1000)).save(tmp_path / "big.png")  # sent at 640x320: 1 tile
    # Tiles are how Gemini 2.x counts image tokens (3.x budgets by media_resolution).
    est = estimate([tmp_path / "small.png", tmp_path / "big.png"], "Detect the cups", max_size=640,
                   model="gemini-2.5-flash-lite")
    assert est.images == est.requests == 2 and est.image_tokens == 2 * 258
    big = estimate([tmp_path / "big.png"], "x", max_size=None, model="gemini-2.5-flash-lite")
    assert big.image_tokens == 3 * 2 * 258  # 2000x1000 -> 3 x 2 tiles of 768
    assert "requests:" in str(est) and est.prompt_tokens > 0 and est.output_tokens == 2 * 500
