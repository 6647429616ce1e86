"""A read-only or full cache degrades to "no cache" with one warning (issue #12, finding 5).

Read-only is real: ``chmod`` for ordinary users, ``chattr +i`` (immutable) when the tests run
as root, who ignores permissions. Full is real too: a child process with a file-size limit
(RLIMIT_FSIZE), so SQLite's writes fail the way they do on a full disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from spatial_nb import cli
from spatial_nb.cache import DB_FILENAME, Cache, CacheWarning

from .test_batch import client
from .test_cache import make_result

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def read_only(tmp_path):
    """``read_only(directory)`` makes the directory and its files unwritable until the test ends."""
    done: list[list[str]] = []

    def make(directory: Path) -> None:
        paths = [str(p) for p in directory.iterdir()] + [str(directory)]
        if os.geteuid() == 0:
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *paths]).returncode:
                pytest.skip("running as root without chattr +i support: cannot make a read-only folder")
            done.append(paths)
        else:
            for p in paths:
                os.chmod(p, 0o555 if os.path.isdir(p) else 0o444)
            done.append(paths)

    yield make
    for paths in done:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *paths], check=False)
        else:
            for p in paths:
                os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)


def filled_cache(directory: Path) -> None:
    cache = Cache(directory)
    cache.put("k1", make_result("one"))
    cache.put("k2", make_result("two"))
    cache.close()


def test_read_only_cache_answers_plainly_with_one_warning(tmp_path, read_only):
    """Before the fix: len/in/info raised sqlite3.OperationalError and get/put warned on every call."""
    filled_cache(tmp_path / "c")
    read_only(tmp_path / "c")
    cache = Cache(tmp_path / "c")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cache.get("k1") is None or cache.get("k1").labels[0] == "one-0"  # a hit if readable
        for i in range(5):
            cache.put(f"new{i}", make_result("new"))
            assert cache.get(f"new{i}") is None
        assert isinstance(len(cache), int) and ("k1" in cache) in (True, False)
        info = cache.info()
    cache_warnings = [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(cache_warnings) == 1, [str(w.message) for w in cache_warnings]
    message = str(cache_warnings[0].message)
    assert str(tmp_path / "c") in message and "SPATIAL_NB_CACHE_DIR" in message and "\n" not in message
    assert info["problem"] and info["directory"] == str(tmp_path / "c")
    assert set(info) >= {"entries", "bytes", "file_bytes", "max_bytes", "oldest", "newest"}


def test_unusable_cache_sends_requests_and_warns_once(tmp_path, fake_gemini, read_only):
    (tmp_path / "c").mkdir()
    read_only(tmp_path / "c")  # an empty, read-only cache folder
    c = client(cache=Cache(tmp_path / "c"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from PIL import Image

        for _ in range(3):
            res = c.detect(Image.new("RGB", (8, 6)), "Detect things")
            assert not res.cached
    assert len(fake_gemini.generate_requests()) == 3
    assert sum(issubclass(w.category, CacheWarning) for w in caught) == 1


def test_cache_info_names_the_problem_of_a_broken_cache(tmp_path):
    (tmp_path / "x" / DB_FILENAME).mkdir(parents=True)  # a directory where the file should be
    cache = Cache(tmp_path / "x")
    with pytest.warns(CacheWarning, match="could not read the cache"):
        info = cache.info()
    assert info["entries"] == 0 and info["problem"]
    assert len(cache) == 0 and "k" not in cache and cache.get("k") is None


FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import json, resource, signal, sys, warnings
    sys.path.insert(0, sys.argv[2])
    from spatial_nb.cache import Cache, CacheWarning
    from tests.test_cache import make_result
    cache = Cache(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    limit = sum(p.stat().st_size for p in cache.directory.iterdir()) + 64 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(60):
            cache.put(f"big{i}", make_result("x" * 2000, n_boxes=20))
        out = {
            "old_hit": cache.get("k1") is not None,
            "len": len(cache), "in": "k1" in cache, "problem": cache.info()["problem"],
            "warnings": [str(w.message) for w in caught if issubclass(w.category, CacheWarning)],
        }
    print(json.dumps(out))
    """
)


def test_full_cache_stops_storing_with_one_warning_and_keeps_serving(tmp_path):
    """Before the fix: every put warned again (60 warnings here) and info had no problem field."""
    filled_cache(tmp_path / "c")
    done = subprocess.run([sys.executable, "-c", FULL_DISK_SCRIPT, str(tmp_path / "c"), str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["warnings"]) == 1, out["warnings"]
    assert "could not store" in out["warnings"][0] and "full" in out["warnings"][0]
    assert out["old_hit"] and out["in"] and out["len"] >= 2  # what is stored still answers
    assert out["problem"] and "full" in out["problem"]


def test_cli_cache_info_reports_the_problem(tmp_path, capsys):
    (tmp_path / "x" / DB_FILENAME).mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(["cache", "info", "--dir", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("spatial-nb: cannot use the cache at ") and err.count("\n") == 1
