"""Benchmark folder runs (spatial_nb.batch.run_folder) against the fake Gemini server.

* Throughput: 64 images, 200 ms simulated latency per request, concurrency 8. The ideal is
  64 / 8 x 0.2 s = 1.6 s; target: wall time <= 1.3x the ideal.
* Memory: tracemalloc peak while labelling 2,000 small images <= 1.2x the peak for 200
  (results stream to disk, so memory must not grow with the folder). The peaks are small
  (~1 MB: requests in flight plus SDK garbage between the runner's periodic collections), so
  one run of each is noise (single-shot ratios 0.97-1.21 were seen): each size runs
  ``MEMORY_ROUNDS`` times, interleaved, every run with a fresh answer cache (so each one sends
  every request; a shared cache would turn repeats into cache replays), and the verdict is the
  ratio of the median peaks. Keeping results in a list would add ~3 KB per image (~5 MB).

The fake server runs in a child process (``tests/fake_gemini.py``), so its work and memory
do not count; the real google-genai SDK sends every request over HTTP. Prints the figures and
PASS/FAIL, exits 1 on any FAIL. Run: ``python benchmarks/batch.py``
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

WALL_TARGET = 1.3
MEMORY_TARGET = 1.2
MEMORY_ROUNDS = 3
LATENCY_S = 0.2


def make_images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (16, 12), (i % 256, (i // 256) % 256, 7)).save(folder / f"img{i:05d}.png")


class Server:
    """``tests/fake_gemini.py`` in a child process."""

    def __init__(self, delay: float):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "fake_gemini.py"), "--delay", str(delay)],
            stdout=subprocess.PIPE, text=True,
        )
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def main() -> int:
    from spatial_nb.batch import run_folder
    from spatial_nb.client import Client

    tmp = Path(tempfile.mkdtemp(prefix="snb-bench-batch-"))
    os.environ["SPATIAL_NB_CACHE_DIR"] = str(tmp / "cache")
    os.environ["GOOGLE_API_KEY"] = "bench-key"
    failures = 0

    # -- throughput ---------------------------------------------------------------------------
    server = Server(LATENCY_S)
    os.environ["GOOGLE_GEMINI_BASE_URL"] = server.url
    try:
        make_images(tmp / "warm", 4)
        make_images(tmp / "wall", 64)
        client = Client(cache=False, retry_attempts=1)
        run_folder(tmp / "warm", "Detect things", out=tmp / "out-warm", client=client, progress=False)
        start = time.perf_counter()
        summary = run_folder(tmp / "wall", "Detect things", out=tmp / "out-wall", client=client,
                             concurrency=8, progress=False)
        wall = time.perf_counter() - start
    finally:
        server.close()
    ideal = 64 / 8 * LATENCY_S
    ratio = wall / ideal
    ok = ratio <= WALL_TARGET and summary.done == 64
    failures += not ok
    print(f"throughput: 64 images, {LATENCY_S * 1000:.0f} ms latency, concurrency 8: {wall:.2f} s "
          f"(ideal {ideal:.2f} s) -> {ratio:.2f}x ideal (target <= {WALL_TARGET}x)  {'PASS' if ok else 'FAIL'}")

    # -- memory ---------------------------------------------------------------------------------
    from spatial_nb.cache import Cache

    server = Server(0.0)
    os.environ["GOOGLE_GEMINI_BASE_URL"] = server.url
    samples: dict[int, list[int]] = {200: [], 2000: []}
    try:
        make_images(tmp / "m200", 200)
        make_images(tmp / "m2000", 2000)
        warm = Client(retry_attempts=1, cache=Cache(tmp / "cache-warm"))
        run_folder(tmp / "m200", "Detect things", out=tmp / "out-warm2", client=warm, progress=False)
        for round_ in range(MEMORY_ROUNDS):
            for n in (200, 2000):
                # with an on-disk cache, as users run it -- a fresh one, so every request is sent
                client = Client(retry_attempts=1, cache=Cache(tmp / f"cache-{n}-{round_}"))
                gc.collect()
                tracemalloc.start()
                start = time.perf_counter()
                summary = run_folder(tmp / f"m{n}", "Detect things", out=tmp / f"out-m{n}-{round_}",
                                     client=client, concurrency=8, progress=False)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                samples[n].append(peak)
                print(f"memory: {n:>5} images, round {round_ + 1}: peak {peak / 1e6:.2f} MB traced, "
                      f"{summary.done} done ({summary.cached} cached), {time.perf_counter() - start:.1f} s")
    finally:
        server.close()
    peaks = {n: statistics.median(values) for n, values in samples.items()}
    mem_ratio = peaks[2000] / peaks[200]
    ok = mem_ratio <= MEMORY_TARGET
    failures += not ok
    print(f"memory: median peak(2000) / median peak(200) = {peaks[2000] / 1e6:.2f} / {peaks[200] / 1e6:.2f} MB "
          f"= {mem_ratio:.2f} (target <= {MEMORY_TARGET}; single-round ratios "
          f"{', '.join(f'{a / b:.2f}' for a, b in zip(samples[2000], samples[200]))})  {'PASS' if ok else 'FAIL'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
