"""Folder runs prepare images ahead of the requests: overlap, bounds, cache hits, sent bytes.

The images of the overlap test are named pipes (FIFOs): the runner's read of one blocks until
the test writes it, so the test knows exactly when each file is read, relative to what the
fake server holds, without any clock or mock.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatial_nb.batch import read_records
from spatial_nb.errors import ImageLoadError
from spatial_nb.images import prepare_image

from .test_batch import answer_for, client, image_index, run

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")


def png_bytes(index: int, size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (index, 255 - index, 7)).save(buf, "PNG")
    return buf.getvalue()


def feed(path: Path, data: bytes, timeout: float) -> bool:
    """Write ``data`` into the FIFO ``path`` once the runner opens it for reading.

    Returns False when no reader opened it within ``timeout`` seconds (nothing is written)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return True


class HeldServer:
    """Answers every request only once ``gate`` opens; counts the requests it holds."""

    def __init__(self):
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.holding = 0
        self.peak = 0
        self.arrived: list[int] = []

    def __call__(self, req):
        i = image_index(req)
        with self.lock:
            self.holding += 1
            self.peak = max(self.peak, self.holding)
            self.arrived.append(i)
        try:
            self.gate.wait(timeout=30)
            return answer_for(i)
        finally:
            with self.lock:
                self.holding -= 1

    def state(self) -> tuple[int, int]:
        with self.lock:
            return self.holding, len(self.arrived)


@pytest.mark.timeout(120)
def test_images_are_prepared_while_the_requests_in_flight_wait(tmp_path, fake_gemini):
    """Before the fix each request thread read and prepared its own image inside its request
    slot: with ``concurrency`` requests held at the server, no further file was even opened."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    n, concurrency, prepare_threads = 9, 2, 2
    paths = [folder / f"img{i:03d}.png" for i in range(n)]
    for path in paths:
        os.mkfifo(path)
    server = HeldServer()
    fake_gemini.default = server
    seen: dict[str, object] = {}
    fed: set[int] = set()

    def give(i: int, timeout: float) -> bool:
        if feed(paths[i], png_bytes(i), timeout):
            fed.add(i)
            return True
        return False

    def control() -> None:
        try:
            seen["first"] = [give(i, 20) for i in range(concurrency)]
            deadline = time.monotonic() + 20
            while server.state()[0] < concurrency and time.monotonic() < deadline:
                time.sleep(0.005)
            seen["held"] = server.state()
            # Both request slots are taken and held: the next images are read all the same...
            ahead = range(concurrency, 2 * concurrency + prepare_threads)
            seen["ahead"] = [give(i, 10) for i in ahead]
            seen["held_after"] = server.state()
            # ...but no more than the prefetch bound (limit + preparation threads): the next
            # image is not opened before a request ends.
            seen["beyond"] = give(2 * concurrency + prepare_threads, 1.0)
        finally:
            server.gate.set()
            for i in range(n):  # whatever was not read yet: let the run finish
                if i not in fed:
                    give(i, 20)

    controller = threading.Thread(target=control, daemon=True)
    controller.start()
    summary = run(folder, tmp_path / "out", concurrency=concurrency, prepare_threads=prepare_threads)
    controller.join(30)

    assert seen["first"] == [True] * concurrency
    assert seen["held"] == (concurrency, concurrency)  # the two first requests, held
    assert seen["ahead"] == [True] * (concurrency + prepare_threads)  # read while both were held
    assert seen["held_after"] == (concurrency, concurrency)  # and not one request more went out
    assert seen["beyond"] is False  # prefetch is bounded
    assert server.peak == concurrency  # never more requests in flight than concurrency
    assert summary.done == n and summary.errors == 0
    assert sorted(server.arrived) == list(range(n))  # each image sent once
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert records["img004.png"]["result"]["items"][0]["label"] == "thing 4"


def _truncated_png(size=(64, 48)) -> tuple[bytes, bytes]:
    """A PNG of noise and the same file cut in the middle of its pixel data."""
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    good = buf.getvalue()
    return good, good[: len(good) // 2]


def test_a_cache_hit_in_a_folder_run_does_not_decode_the_image(tmp_path, fake_gemini):
    """The answer cached for a file whose pixels cannot be decoded is still used: a hit never
    decodes (the key comes from the file's bytes). Decoding it would make an error record."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    good, broken = _truncated_png()
    (folder / "broken.png").write_bytes(broken)
    with pytest.raises(ImageLoadError, match="corrupt or truncated"):
        prepare_image(folder / "broken.png")  # what a decode of it does
    # Cache an answer under the broken file's key: a PreparedImage carries its source's digest.
    c = client()
    stand_in = dataclasses.replace(prepare_image(good), source_digest=hashlib.sha256(broken).hexdigest(),
                                   source_name="broken.png")
    fake_gemini.queue(answer_for(3))
    first = c.detect(stand_in, "Detect things", temperature=0.5, max_size=640)
    assert not first.cached and len(fake_gemini.generate_requests()) == 1

    summary = run(folder, tmp_path / "out", client=c, concurrency=4)
    record = next(iter(read_records(tmp_path / "out")))
    assert record["status"] == "ok", record.get("error")
    assert record["result"]["items"][0]["label"] == "thing 3" and record["result"]["cached"] is True
    assert summary.done == 1 and summary.errors == 0
    assert len(fake_gemini.generate_requests()) == 1  # nothing sent


def test_the_prepared_bytes_are_sent_as_prepare_image_makes_them_under_the_files_key(tmp_path, fake_gemini):
    """What a folder run sends is prepare_image(path, max_size, image_format) of each file, and
    its answer is cached under the key a plain client.detect(path) of the same settings uses."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(2)
    photo = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways
    photo.save(folder / "sideways.jpg", "JPEG", quality=92, exif=exif)
    Image.new("RGB", (40, 30), (9, 200, 7)).save(folder / "flat.png")
    fake_gemini.default = lambda req: answer_for(1)
    summary = run(folder, tmp_path / "out", concurrency=2, max_size=128, image_format="webp")
    assert summary.done == 2

    sent = sorted(data for req in fake_gemini.generate_requests() for _, data in req.images)
    expected = sorted(prepare_image(folder / name, max_size=128, format="webp").data
                      for name in ("sideways.jpg", "flat.png"))
    assert sent == expected
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    request = records["sideways.jpg"]["result"]["request"]
    assert request["image_size"] == [96, 128] and request["original_size"] == [300, 400]  # upright
    assert request["mime_type"] == "image/webp" and request["source_name"] == "sideways.jpg"

    c = client()
    for name in ("sideways.jpg", "flat.png"):
        res = c.detect(folder / name, "Detect things", temperature=0.5, max_size=128, image_format="webp")
        assert res.cached, name
    assert len(fake_gemini.generate_requests()) == 2  # both answered from the folder run's cache
