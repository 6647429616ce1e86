"""Benchmark folder runs (spatial_nb.batch.run_folder) against the fake Gemini server.

* Throughput: 64 images, 200 ms simulated latency per request, concurrency 8. The ideal is
  64 / 8 x 0.2 s = 1.6 s; target: wall time <= 1.3x the ideal.
* Memory: tracemalloc peak while labelling 2,000 small images <= 1.2x the peak for 200
  (results stream to disk, so memory must not grow with the folder).

The fake server runs in a child process (``tests/fake_gemini.py``), so its work and memory
do not count; the real google-genai SDK sends every request over HTTP. Prints the figures and
PASS/FAIL, exits 1 on any FAIL. Run: ``python benchmarks/batch.py``
"""

from __future__ import annotations

import os
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
    server = Server(0.0)
    os.environ["GOOGLE_GEMINI_BASE_URL"] = server.url
    try:
        make_images(tmp / "m200", 200)
        make_images(tmp / "m2000", 2000)
        client = Client(retry_attempts=1)  # with the on-disk cache, as users run it
        run_folder(tmp / "warm", "Detect things", out=tmp / "out-warm2", client=client, progress=False)
        peaks = {}
        for n in (200, 2000):
            tracemalloc.start()
            start = time.perf_counter()
            summary = run_folder(tmp / f"m{n}", "Detect things", out=tmp / f"out-m{n}", client=client,
                                 concurrency=8, progress=False)
            _, peaks[n] = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"memory: {n:>5} images: peak {peaks[n] / 1e6:.2f} MB traced, {summary.done} done, "
                  f"{time.perf_counter() - start:.1f} s")
    finally:
        server.close()
    mem_ratio = peaks[2000] / peaks[200]
    ok = mem_ratio <= MEMORY_TARGET
    failures += not ok
    print(f"memory: peak(2000) / peak(200) = {mem_ratio:.2f} (target <= {MEMORY_TARGET})  {'PASS' if ok else 'FAIL'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
