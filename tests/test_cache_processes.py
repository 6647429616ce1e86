"""Cache safety across processes: concurrent writer processes, a writer killed with
SIGKILL in the middle of its writes, and a cache object carried through fork().

Writers are real Python processes running the real Cache (subprocess / multiprocessing).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from spatial_nb.cache import DB_FILENAME, Cache
from spatial_nb.result import Item, Result

REPO = Path(__file__).resolve().parents[1]

# argv: directory tag count(-1 = forever) n_keys payload_bytes
WRITER = r"""
import sys
import numpy as np
from spatial_nb.cache import Cache
from spatial_nb.result import Item, Result

directory, tag, count, n_keys, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cache = Cache(directory)
rng = np.random.default_rng(sum(map(ord, tag)))
# Prepared up front so that most of the loop's time is spent inside Cache.put.
fillers = ["".join(rng.choice(list("abcdefgh"), size=max(1, payload // (k + 1)))) for k in range(4)]
i = 0
while count < 0 or i < count:
    mask = rng.integers(0, 256, size=(64, 64), dtype=np.uint8)
    items = [Item(f"{tag}-{i}-{j}", box=(0.1, 0.1, 0.5, 0.5), extra={"index": j}) for j in range(5)]
    items.append(Item(f"{tag}-{i}-mask", box=(0.2, 0.2, 0.6, 0.7), mask=mask))
    res = Result(items, raw_text=fillers[i % 4], model="gemini-2.5-flash", request={"tag": tag, "i": i})
    key = f"k{i % n_keys}"
    print("start", key, i, flush=True)
    cache.put(key, res)
    print("done", key, i, flush=True)
    i += 1
"""


def start_writer(directory: Path, tag: str, count: int, n_keys: int, payload: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), tag, str(count), str(n_keys), str(payload)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def check_store(directory: Path, n_keys_max: int) -> dict[str, Result]:
    """Every entry parses, totals match the rows, SQLite's own check passes."""
    with sqlite3.connect(directory / DB_FILENAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT key, value, size FROM entries").fetchall()
        totals = conn.execute("SELECT entries, bytes FROM totals").fetchone()
    assert totals == (len(rows), sum(size for _, _, size in rows))
    assert all(size == len(value.encode()) for _, value, size in rows)
    assert 0 < len(rows) <= n_keys_max
    cache = Cache(directory)
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a damaged entry would warn
        for key, _, _ in rows:
            res = cache.get(key)
            assert res is not None and res.cached
            assert res.items[-1].mask is not None and res.items[-1].mask.shape == (64, 64)
            # the entry under key k<n> was written for an i with i % n_keys == n
            found[key] = res
    info = cache.info()
    assert info["entries"] == len(rows) and info["bytes"] == totals[1]
    cache.close()
    return found


def test_concurrent_writer_processes(tmp_path):
    n_keys = 8
    procs = [start_writer(tmp_path, f"p{n}", 30, n_keys, 20_000) for n in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert sum(line.startswith("done") for line in out.splitlines()) == 30
    found = check_store(tmp_path, n_keys)
    assert sorted(found) == sorted(f"k{n}" for n in range(n_keys))
    for key, res in found.items():
        assert res.request["i"] % n_keys == int(key[1:])
        assert res.items[0].label == f"{res.request['tag']}-{res.request['i']}-0"
        assert res.request["i"] >= 30 - n_keys  # each process's last round is what survives


def test_killed_writer_leaves_no_corrupt_entry(tmp_path):
    n_keys = 6
    rng = random.Random(4)
    last_done: dict[str, tuple[int, int]] = {}
    for round_ in range(5):
        proc = start_writer(tmp_path, f"kill{round_}", -1, n_keys, 1_500_000)
        starts = 0
        target = rng.randint(3, 8)
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            what, key, i = line.split()
            if what == "done":
                last_done[key] = (round_, int(i))
            elif (starts := starts + 1) == target:
                break
        # The writer is now inside Cache.put (a put of ~0.4-1.5 MB takes 5-20 ms here):
        # kill it at a random moment of that write.
        time.sleep(rng.uniform(0.0, 0.008))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        for line in rest.splitlines():  # puts that finished before the kill landed
            fields = line.split()
            if len(fields) != 3:  # a line the kill cut short (seen once in CI): it proves nothing
                continue
            what, key, i = fields
            if what == "done":
                last_done[key] = (round_, int(i))
        found = check_store(tmp_path, n_keys)
        # Every put that returned before the kill is on disk (or was superseded by a later one).
        for key, (done_round, done_i) in last_done.items():
            res = found[key]
            got_round = int(res.request["tag"].removeprefix("kill"))
            assert (got_round, res.request["i"]) >= (done_round, done_i)
            assert res.request["i"] % n_keys == int(key[1:])
    # A new writer can carry on where the killed ones stopped.
    proc = start_writer(tmp_path, "after", 3, n_keys, 1000)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert Cache(tmp_path).get("k0").request["tag"] == "after"


def _child_uses_inherited_cache(cache: Cache, queue) -> None:
    try:
        cache.put("child", Result([Item("from-child", box=(0, 0, 1, 1))]))
        queue.put(cache.get("parent").labels)
    except BaseException as exc:  # noqa: BLE001 - sent to the parent
        queue.put(repr(exc))


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")
def test_cache_object_survives_fork(tmp_path):
    cache = Cache(tmp_path)
    cache.put("parent", Result([Item("from-parent", box=(0, 0, 1, 1))]))  # parent has an open connection
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_uses_inherited_cache, args=(cache, queue))
    child.start()
    answer = queue.get(timeout=60)
    child.join(timeout=60)
    assert answer == ["from-parent"] and child.exitcode == 0
    assert cache.get("child").labels == ["from-child"]  # the parent's connection still works
    cache.put("parent2", Result([Item("again", box=(0, 0, 1, 1))]))
    assert len(cache) == 3
