"""Cache: keys, round trips, secrets, damage handling, LRU limit, threads, and the CLI.

Process-level safety (concurrent writer processes, SIGKILL mid-write, fork) is in
tests/test_cache_processes.py.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from spatial_nb import cli
from spatial_nb.cache import (
    DB_FILENAME,
    Cache,
    CacheWarning,
    cache_key,
    default_cache,
    default_cache_dir,
    source_digest,
)
from spatial_nb.result import Item, Result

from .conftest import TEST_KEY


def make_result(tag: str = "a", n_boxes: int = 3, with_mask: bool = True, request=None) -> Result:
    """A client-like Result; the mask exercises the PNG path of the on-disk format."""
    items = [
        Item(f"{tag}-{i}", box=(0.01 * i, 0.02, 0.5 + 0.01 * i, 0.6), extra={"index": i})
        for i in range(n_boxes)
    ]
    if with_mask:
        yy, xx = np.mgrid[0:40, 0:32]
        mask = ((xx * 7 + yy * 3 + sum(map(ord, tag))) % 256).astype(np.uint8)
        items.append(Item(f"{tag}-mask", box=(0.2, 0.3, 0.4, 0.7), mask=mask, extra={"index": n_boxes}))
    return Result(
        items,
        warnings=["one odd thing"],
        raw_text=f'[{{"label": "{tag}"}}]',
        image_size=(640, 480),
        model="gemini-2.5-flash",
        usage={"prompt_tokens": 300, "output_tokens": 120},
        finish_reason="STOP",
        request=request if request is not None else {"prompt": f"Detect {tag}", "kind": "boxes", "temperature": 0.5},
    )


def db_rows(directory: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(directory / DB_FILENAME) as conn:
        return conn.execute("SELECT key, value, size FROM entries").fetchall()


def all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


# -- cache_key ------------------------------------------------------------------------------

BASE = dict(
    source_digest="0f" * 32,
    max_size=640,
    image_format="jpeg",
    model="gemini-2.5-flash",
    prompt="Detect the cupcakes",
    system_instruction="Return bounding boxes as a JSON array with labels.",
    kind="boxes",
    generation={"temperature": 0.5, "thinking_budget": 0, "safety": [{"category": "DANGEROUS", "threshold": "HIGH"}]},
)


def test_cache_key_is_stable_hex_and_pinned():
    key = cache_key(**BASE)
    assert key == cache_key(**dict(BASE))
    assert len(key) == 64 and int(key, 16) >= 0
    # Pinned to a canonical JSON written out by hand (sorted keys, no spaces, schema and
    # result-format version included). If this fails, existing caches would silently
    # miss: change the canonical form only together with KEY_SCHEMA.
    canonical = (
        '{"generation":{"safety":[{"category":"DANGEROUS","threshold":"HIGH"}],"temperature":0.5,'
        '"thinking_budget":0},"image_format":"jpeg","kind":"boxes","max_size":640,'
        '"model":"gemini-2.5-flash","prompt":"Detect the cupcakes","result_format":1,'
        '"schema":"spatial_nb.cache_key/1","source_digest":"' + "0f" * 32 + '",'
        '"system_instruction":"Return bounding boxes as a JSON array with labels."}'
    )
    assert key == hashlib.sha256(canonical.encode()).hexdigest()
    assert key == "28b43335340fc17705b819eaf116e4bd833017240c31dfd04c7a156946124a3d"


@pytest.mark.parametrize(
    "field, value",
    [
        ("source_digest", "10" * 32),  # another picture
        ("max_size", 1024),  # another thumbnail size
        ("max_size", None),  # original size
        ("image_format", "png"),  # another encoding
        ("model", "gemini-2.5-pro"),
        ("prompt", "Detect the cupcakes "),  # even whitespace matters
        ("system_instruction", None),
        ("system_instruction", "Return points."),
        ("kind", "masks"),
        ("generation", {**BASE["generation"], "temperature": 0.0}),
        ("generation", {**BASE["generation"], "thinking_budget": 128}),
        ("generation", {**BASE["generation"], "response_schema": {"type": "array"}}),
        ("generation", {"temperature": 0.5, "thinking_budget": 0}),  # safety settings dropped
    ],
)
def test_cache_key_changes_with_every_field(field, value):
    assert cache_key(**{**BASE, field: value}) != cache_key(**BASE)


@pytest.mark.parametrize(
    "generation",
    [
        # same settings, other dict order
        {"thinking_budget": 0, "safety": [{"threshold": "HIGH", "category": "DANGEROUS"}], "temperature": 0.5},
        # tuples and lists are the same JSON
        {"temperature": 0.5, "thinking_budget": 0.0, "safety": ({"category": "DANGEROUS", "threshold": "HIGH"},)},
    ],
)
def test_cache_key_ignores_spelling_of_equal_settings(generation):
    assert cache_key(**{**BASE, "generation": generation}) == cache_key(**BASE)


def test_cache_key_does_not_depend_on_the_api_key(monkeypatch):
    before = cache_key(**BASE)
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    assert cache_key(**BASE) == before
    with pytest.raises(TypeError):
        cache_key(**BASE, api_key=TEST_KEY)  # not a parameter at all


@pytest.mark.parametrize(
    "generation",
    [
        {"temperature": 0.5, "api_key": TEST_KEY},
        {"temperature": 0.5, "http_options": {"headers": {"x-goog-api-key": TEST_KEY}}},
        {"temperature": 0.5, "GEMINI_API_KEY": TEST_KEY},
        {"temperature": 0.5, "headers": [{"Authorization": "Bearer x"}]},
    ],
)
def test_cache_key_refuses_credentials_in_generation(generation):
    with pytest.raises(ValueError, match="credential"):
        cache_key(**{**BASE, "generation": generation})


@pytest.mark.parametrize(
    "field, value",
    [
        ("generation", {"temperature": float("nan")}),  # not a stable number
        ("generation", {"temperature": object()}),  # no JSON form
        ("generation", "temperature=0.5"),  # not a dict
        ("source_digest", ""),  # no picture identity
    ],
)
def test_cache_key_rejects_unhashable_fields(field, value):
    with pytest.raises(ValueError):
        cache_key(**{**BASE, field: value})


def test_source_digest_of_bytes_and_file_agree(tmp_path):
    data = b"\xff\xd8 not really a jpeg"
    (tmp_path / "x.jpg").write_bytes(data)
    assert source_digest(data) == source_digest(tmp_path / "x.jpg") == source_digest(str(tmp_path / "x.jpg"))
    assert source_digest(data) != source_digest(data + b"!")


# -- round trip ------------------------------------------------------------------------------


def test_put_get_round_trip_marks_cached_and_keeps_request(tmp_path):
    cache = Cache(tmp_path / "c")
    res = make_result("cup")
    assert cache.get("k") is None and "k" not in cache and len(cache) == 0
    cache.put("k", res)
    back = cache.get("k")
    assert back is not None and back.cached is True and res.cached is False
    assert back.request == res.request
    assert back.items == res.items  # includes the mask, bit for bit
    assert back.items[-1].kind == "mask" and np.array_equal(back.items[-1].mask, res.items[-1].mask)
    assert (back.model, back.usage, back.finish_reason, back.image_size, back.warnings, back.raw_text) == (
        res.model, res.usage, res.finish_reason, res.image_size, res.warnings, res.raw_text,
    )
    assert "k" in cache and len(cache) == 1
    # stored in the shared on-disk format, with cached=False
    [(key, value, size)] = db_rows(tmp_path / "c")
    assert key == "k" and json.loads(value)["format"] == "spatial_nb.result"
    assert Result.from_json(value) == res and size == len(value.encode())


def test_put_replaces_older_answer(tmp_path):
    cache = Cache(tmp_path)
    cache.put("k", make_result("old"))
    cache.put("k", make_result("new", n_boxes=5))
    assert cache.get("k").labels[0] == "new-0" and len(cache) == 1
    assert cache.info()["bytes"] == sum(size for _, _, size in db_rows(tmp_path))


def test_reading_never_creates_the_cache(tmp_path):
    cache = Cache(tmp_path / "nothing" / "here")
    assert cache.get("k") is None and len(cache) == 0 and "k" not in cache and cache.clear() == 0
    info = cache.info()
    assert info["entries"] == 0 and info["oldest"] is None
    assert not (tmp_path / "nothing").exists()


def test_default_cache_follows_environment(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "cache"  # set by conftest
    first = default_cache()
    assert first is default_cache() and first.directory == tmp_path / "cache"
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "other"))
    assert default_cache().directory == tmp_path / "other"
    monkeypatch.delenv("SPATIAL_NB_CACHE_DIR")
    import platformdirs

    assert Cache().directory == Path(platformdirs.user_cache_dir("spatial_nb"))


@pytest.mark.parametrize("max_bytes", [0, -1, 1.5, True, "512"])
def test_bad_max_bytes_is_refused(tmp_path, max_bytes):
    with pytest.raises(ValueError, match="max_bytes"):
        Cache(tmp_path, max_bytes=max_bytes)


# -- secrets ---------------------------------------------------------------------------------


def test_api_key_never_reaches_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    cache = Cache(tmp_path)
    request = {
        "prompt": "Detect cats",
        "temperature": 0.5,
        "api_key": TEST_KEY,
        "http_options": {"headers": {"x-goog-api-key": TEST_KEY, "Authorization": f"Bearer {TEST_KEY}"}},
        "extra": [{"key": TEST_KEY, "keep": 1}],
    }
    cache.put("k", make_result(request=request))
    back = cache.get("k")
    assert back.request == {"prompt": "Detect cats", "temperature": 0.5, "http_options": {"headers": {}},
                            "extra": [{"keep": 1}]}
    cache.close()
    assert TEST_KEY.encode() not in all_bytes(tmp_path)
    assert len(all_bytes(tmp_path)) > 0


def test_answer_holding_the_key_is_not_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    cache = Cache(tmp_path)
    res = make_result()
    res.raw_text = f"echo: {TEST_KEY}"  # e.g. a prompt-injected model repeating a header
    with pytest.warns(CacheWarning, match="API key"):
        cache.put("k", res)
    assert "k" not in cache
    assert TEST_KEY.encode() not in all_bytes(tmp_path)


def test_answer_holding_a_key_given_to_a_client_is_not_stored(tmp_path):
    # Regression: only GOOGLE_API_KEY / GEMINI_API_KEY were checked, not Client(api_key=...).
    from spatial_nb import Client

    key = "client-only-key-0123456789"
    Client(api_key=key, cache=False)  # no environment key at all
    cache = Cache(tmp_path)
    res = make_result()
    res.raw_text = f"echo: {key}"
    with pytest.warns(CacheWarning, match="API key"):
        cache.put("k", res)
    assert "k" not in cache
    assert key.encode() not in all_bytes(tmp_path)


# -- damaged entries and files ----------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda v: v[: len(v) // 2],  # truncated JSON
        lambda v: "",  # empty
        lambda v: v.replace('"version": 1', '"version": 99'),  # another format version
        lambda v: v.replace("data:image/png;base64,", "data:image/png;base64,AAAA"),  # broken mask PNG
        lambda v: json.dumps({"format": "something else"}),  # not a result
    ],
    ids=["truncated", "empty", "version", "mask-png", "foreign"],
)
def test_damaged_entry_is_a_miss_with_warning_and_is_removed(tmp_path, damage):
    cache = Cache(tmp_path)
    cache.put("bad", make_result("bad"))
    cache.put("good", make_result("good"))
    with sqlite3.connect(tmp_path / DB_FILENAME) as conn:
        (value,) = conn.execute("SELECT value FROM entries WHERE key = 'bad'").fetchone()
        conn.execute("UPDATE entries SET value = ? WHERE key = 'bad'", (damage(value),))
    with pytest.warns(CacheWarning, match="unreadable"):
        assert cache.get("bad") is None
    assert "bad" not in cache and len(cache) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get("good").labels[0] == "good-0"
    assert cache.info()["bytes"] == sum(size for _, _, size in db_rows(tmp_path))


def test_unreadable_database_file_is_moved_aside(tmp_path):
    (tmp_path / DB_FILENAME).write_bytes(b"this is not a database, just junk bytes " * 100)
    cache = Cache(tmp_path)
    with pytest.warns(CacheWarning, match="unreadable"):
        assert cache.get("k") is None
    cache.put("k", make_result())
    assert cache.get("k") is not None
    moved = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and (tmp_path / moved[0]).read_bytes().startswith(b"this is not a database")


def test_unusable_directory_warns_and_never_raises(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = Cache(blocker / "cache")  # cannot be created: its parent is a file
    with pytest.warns(CacheWarning, match="could not store"):
        cache.put("k", make_result())
    assert cache.get("k") is None and len(cache) == 0


# -- size limit ------------------------------------------------------------------------------


def entry_size(res: Result) -> int:
    return len(res.to_json().encode())


def test_eviction_keeps_total_under_limit_least_recently_used_first(tmp_path):
    results = {name: make_result(name) for name in "abcdef"}
    size = max(entry_size(r) for r in results.values())
    cache = Cache(tmp_path, max_bytes=int(size * 3.5))
    for name in "abc":
        cache.put(name, results[name])
    assert len(cache) == 3
    assert cache.get("a") is not None  # a is now more recent than b and c
    cache.put("d", results["d"])  # over the limit: b (least recently used) goes
    assert [n for n in "abcd" if n in cache] == ["a", "c", "d"]
    cache.put("e", results["e"])
    assert [n for n in "abcde" if n in cache] == ["a", "d", "e"]
    info = cache.info()
    assert info["bytes"] <= cache.max_bytes and info["entries"] == 3
    assert info["bytes"] == sum(s for _, _, s in db_rows(tmp_path))


def test_limit_holds_over_many_puts(tmp_path):
    cache = Cache(tmp_path, max_bytes=20_000)
    for i in range(60):
        cache.put(f"k{i}", make_result(f"r{i}", n_boxes=i % 7))
        assert cache.info()["bytes"] <= 20_000
    assert 0 < len(cache) < 60
    assert "k59" in cache  # the newest always stays
    assert cache.info()["bytes"] == sum(s for _, _, s in db_rows(tmp_path))


def test_entry_larger_than_the_limit_is_not_stored(tmp_path):
    cache = Cache(tmp_path, max_bytes=1000)
    with pytest.warns(CacheWarning, match="more than the cache limit"):
        cache.put("big", make_result("big", n_boxes=40))
    assert len(cache) == 0


def test_clear_removes_everything_and_reports_count(tmp_path):
    cache = Cache(tmp_path)
    for i in range(5):
        cache.put(f"k{i}", make_result(str(i)))
    info = cache.info()
    assert info["entries"] == 5 and info["oldest"] <= info["newest"]
    assert cache.clear() == 5
    assert len(cache) == 0 and cache.info()["bytes"] == 0 and cache.get("k0") is None
    assert cache.clear() == 0


# -- threads --------------------------------------------------------------------------------


def test_eight_threads_fifty_overlapping_writes_leave_a_consistent_store(tmp_path):
    cache = Cache(tmp_path)
    n_threads, n_writes, n_keys = 8, 50, 12
    written: dict[str, set[str]] = {f"k{j}": set() for j in range(n_keys)}
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def writer(t: int) -> None:
        try:
            start.wait()
            for j in range(n_writes):
                key = f"k{(t * 7 + j) % n_keys}"
                res = make_result(f"t{t}w{j}", n_boxes=1 + (j % 4), with_mask=j % 3 == 0)
                with lock:
                    written[key].add(res.to_json())
                cache.put(key, res)
                seen = cache.get(f"k{j % n_keys}")  # reads race with writes
                assert seen is None or seen.cached
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no entry may ever look damaged
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert not errors, errors
    for key, values in written.items():
        got = cache.get(key)
        assert got is not None, key
        got.cached = False
        assert got.to_json() in values  # exactly one of the values written for this key
    rows = db_rows(tmp_path)
    info = cache.info()
    assert info["entries"] == len(cache) == len(rows) == n_keys
    assert info["bytes"] == sum(size for _, _, size in rows)
    assert all(size == len(value.encode()) for _, value, size in rows)
    with sqlite3.connect(tmp_path / DB_FILENAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- CLI -------------------------------------------------------------------------------------


def test_cli_info_and_clear(tmp_path, capsys):
    cache = default_cache()  # SPATIAL_NB_CACHE_DIR from conftest
    cache.put("a", make_result("a"))
    cache.put("b", make_result("b"))
    assert cli.main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"directory: {tmp_path / 'cache'}" in out
    assert "entries:   2" in out
    assert "limit:     512.00 MiB" in out
    assert " MiB" in out.splitlines()[2]

    assert cli.main(["cache", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["entries"] == 2 and data["bytes"] == cache.info()["bytes"]

    assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.strip() == f"removed 2 entries from {tmp_path / 'cache'}"
    assert len(cache) == 0
    cli.main(["cache", "info"])
    assert "entries:   0" in capsys.readouterr().out


def test_cli_dir_override_and_bare_cache(tmp_path, capsys):
    other = Cache(tmp_path / "elsewhere")
    other.put("x", make_result())
    assert cli.main(["cache", "info", "--dir", str(tmp_path / "elsewhere")]) == 0
    assert "entries:   1" in capsys.readouterr().out
    assert cli.main(["cache", "clear", "--dir", str(tmp_path / "elsewhere")]) == 0
    assert capsys.readouterr().out.startswith("removed 1 entry from ")
    assert cli.main(["cache"]) == 2  # no action: help
    assert "info" in capsys.readouterr().out
