"""Workshop packs: export cached answers with a key, import them elsewhere, replay offline with none.

The round trip uses the real client against the fake Gemini server to fill the instructor's
cache, then a second, empty cache directory for the student with SPATIAL_NB_OFFLINE=1 and no
key: the replayed answers draw the same pixels and no request reaches the server.
"""

from __future__ import annotations

import json
import os
import time
import zipfile

import numpy as np
import pytest

import spatial_nb as snb
from spatial_nb.cache import Cache
from spatial_nb.cli import main
from spatial_nb.packs import ENTRIES, MANIFEST, MODEL_SETTINGS, PackError, export_pack, import_pack, parse_since

from .conftest import TEST_KEY

COFFEE = "images/coffee.jpg"
PROMPTS = [("Detect the cup", "boxes"), ("Point to the spoon", "points"), ("Segment the cup", "masks")]


def _client(**kw):
    return snb.Client(retry_attempts=1, **kw)


@pytest.fixture
def instructor_cache(fake_gemini, tmp_path, monkeypatch):
    """A cache filled by three real requests, plus an adaptation-memory file."""
    directory = tmp_path / "instructor"
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(directory))
    client = _client()
    results = [client.detect(COFFEE, prompt, kind=kind) for prompt, kind in PROMPTS]
    assert not any(r.cached for r in results) and len(fake_gemini.generate_requests()) == 3
    settings = {"gemini-x": {"thinking": "level"}, "gemini-y": {"media_resolution": "high"}}
    (directory / MODEL_SETTINGS).write_text(json.dumps(settings))
    return directory, results


def test_round_trip_into_an_empty_cache_then_offline_replay(instructor_cache, fake_gemini, tmp_path, monkeypatch):
    directory, originals = instructor_cache
    info = export_pack(tmp_path / "tour.zip", cache=directory)
    assert info.entries == 3 and info.model_settings and info.path.stat().st_size == info.bytes
    assert TEST_KEY.encode() not in (tmp_path / "tour.zip").read_bytes()

    student = tmp_path / "student"
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(student))
    report = snb.cache.import_pack(tmp_path / "tour.zip")  # the lazy re-export on snb.cache
    assert (report.added, report.already_there, report.model_settings) == (3, 0, "added")
    assert json.loads((student / MODEL_SETTINGS).read_text()) == {
        "gemini-x": {"thinking": "level"}, "gemini-y": {"media_resolution": "high"}}

    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("SPATIAL_NB_OFFLINE", "1")
    fake_gemini.clear()
    client = _client()  # no key needed offline
    for (prompt, kind), original in zip(PROMPTS, originals):
        replay = client.detect(COFFEE, prompt, kind=kind)
        assert replay.cached and replay.labels == original.labels
        same = np.asarray(snb.draw(COFFEE, replay)) == np.asarray(snb.draw(COFFEE, original))
        assert same.all(), f"{kind}: the replayed overlay differs"
    assert fake_gemini.requests == []  # nothing left the machine
    with pytest.raises(snb.OfflineCacheMiss):
        client.detect(COFFEE, "Something never asked")


def test_import_keeps_existing_entries_and_merges_model_settings(instructor_cache, tmp_path):
    directory, _ = instructor_cache
    export_pack(tmp_path / "tour.zip", cache=directory)
    student = Cache(tmp_path / "student")
    first_key = json.loads(zipfile.ZipFile(tmp_path / "tour.zip").read(ENTRIES).splitlines()[0])["key"]
    mine = snb.Result([snb.Item("my own answer", box=(0, 0, 0.5, 0.5))], model="mine")
    student.put(first_key, mine)  # the student already has an answer under the same key
    student.put("f" * 64, mine)  # and one the pack does not have
    (student.directory / MODEL_SETTINGS).write_text(json.dumps({"gemini-x": {"thinking": "budget"}, "local": 1}))

    report = import_pack(tmp_path / "tour.zip", cache=student)
    assert (report.added, report.already_there, report.model_settings) == (2, 1, "merged")
    assert student.get(first_key).labels == ["my own answer"]  # never replaced
    assert student.get("f" * 64) is not None and len(student) == 4
    merged = json.loads((student.directory / MODEL_SETTINGS).read_text())
    # local values win, the pack's new entries are added, nothing is lost
    assert merged == {"gemini-x": {"thinking": "budget"}, "gemini-y": {"media_resolution": "high"}, "local": 1}
    again = import_pack(tmp_path / "tour.zip", cache=student)  # importing twice changes nothing
    assert (again.added, again.already_there, again.model_settings) == (0, 3, "unchanged")


def _rewrite(src, dst, change):
    """Copy a pack member by member, letting ``change(name, data)`` alter or drop members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            out = change(info.filename, zin.read(info))
            if out is not None:
                zout.writestr(info.filename, out)


def _manifest_edit(**fields):
    def change(name, data):
        if name != MANIFEST:
            return data
        return json.dumps({**json.loads(data), **fields})
    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_manifest_edit(version=2), "version 2 pack"),  # a newer pack format
        (_manifest_edit(format="something.else"), "not a spatial_nb pack"),
        (_manifest_edit(key_schema="spatial_nb.cache_key/0"), "other cache keys"),
        (_manifest_edit(entries=5), "says it holds 5 answers"),
        (lambda n, d: d + b"{}\n" if n == ENTRIES else d, "does not match the checksum"),  # tampered entries
        (lambda n, d: None if n == MANIFEST else d, "no manifest.json"),
    ],
)
def test_a_bad_pack_is_refused_and_nothing_is_written(instructor_cache, tmp_path, change, expected):
    directory, _ = instructor_cache
    export_pack(tmp_path / "good.zip", cache=directory)
    _rewrite(tmp_path / "good.zip", tmp_path / "bad.zip", change)
    student = Cache(tmp_path / "student")
    with pytest.raises(PackError, match=expected):
        import_pack(tmp_path / "bad.zip", cache=student)
    assert len(student) == 0 and not (student.directory / MODEL_SETTINGS).exists()


@pytest.mark.parametrize("member", ["../evil.py", "/etc/cron.d/x", "results.sqlite3", "sub/manifest.json"])
def test_paths_outside_the_pack_layout_are_refused(instructor_cache, tmp_path, member):
    directory, _ = instructor_cache
    export_pack(tmp_path / "good.zip", cache=directory)
    with zipfile.ZipFile(tmp_path / "good.zip") as zin, zipfile.ZipFile(tmp_path / "bad.zip", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr(member, b"payload")
    student = Cache(tmp_path / "student")
    with pytest.raises(PackError, match="not part of a spatial_nb pack"):
        import_pack(tmp_path / "bad.zip", cache=student)
    assert len(student) == 0 and not (tmp_path / "evil.py").exists()


def test_corrupt_and_truncated_zips_get_a_clear_message(instructor_cache, tmp_path):
    directory, _ = instructor_cache
    export_pack(tmp_path / "good.zip", cache=directory)
    data = (tmp_path / "good.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(PackError, match="not a readable zip file"):
        import_pack(tmp_path / "cut.zip", cache=tmp_path / "student")
    # a flipped byte inside the stored entries: the zip's CRC (or our checksum) catches it
    with zipfile.ZipFile(tmp_path / "good.zip") as zf:
        entries = zf.read(ENTRIES)
    with zipfile.ZipFile(tmp_path / "stored.zip", "w", zipfile.ZIP_STORED) as zf:
        for name in (MANIFEST, ENTRIES):
            zf.writestr(name, zipfile.ZipFile(tmp_path / "good.zip").read(name))
    raw = bytearray((tmp_path / "stored.zip").read_bytes())
    at = bytes(raw).index(entries[:40]) + 20
    raw[at] ^= 0x01
    (tmp_path / "flipped.zip").write_bytes(bytes(raw))
    with pytest.raises(PackError, match="damaged"):
        import_pack(tmp_path / "flipped.zip", cache=tmp_path / "student")
    with pytest.raises(PackError, match="no such pack"):
        import_pack(tmp_path / "missing.zip", cache=tmp_path / "student")


def test_an_import_that_would_evict_answers_is_refused(instructor_cache, tmp_path):
    directory, _ = instructor_cache
    export_pack(tmp_path / "tour.zip", cache=directory)
    small = Cache(tmp_path / "student", max_bytes=3000)
    small.put("e" * 64, snb.Result([snb.Item("kept", box=(0, 0, 1, 1))]))
    with pytest.raises(PackError, match="would be evicted"):
        import_pack(tmp_path / "tour.zip", cache=small)
    assert len(small) == 1


def test_since_selects_recent_answers(fake_gemini, tmp_path):
    cache = Cache(tmp_path / "c")
    old, new = "a" * 64, "b" * 64
    cache.put(old, snb.Result([snb.Item("old", box=(0, 0, 1, 1))]))
    time.sleep(0.05)
    cutoff = time.time()
    cache.put(new, snb.Result([snb.Item("new", box=(0, 0, 1, 1))]))
    info = export_pack(tmp_path / "p.zip", since=cutoff, cache=cache)
    assert info.entries == 1
    lines = zipfile.ZipFile(tmp_path / "p.zip").read(ENTRIES).decode().splitlines()
    assert [json.loads(line)["key"] for line in lines] == [new]
    with pytest.raises(PackError, match="nothing to export"):
        export_pack(tmp_path / "q.zip", since=time.time() + 60, cache=cache)
    assert not (tmp_path / "q.zip").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", 10_000 - 5400),  # a duration back from now
        ("2d", 10_000 - 172_800),
        (1234.5, 1234.5),  # epoch seconds
        ("1970-01-01T01:00:00+00:00", 3600),  # ISO with a zone
    ],
)
def test_parse_since(text, expected):
    assert parse_since(text, now=10_000) == pytest.approx(expected)


def test_parse_since_explains_bad_text():
    with pytest.raises(PackError, match="give a date"):
        parse_since("last tuesday")


def test_cli_export_and_import(instructor_cache, tmp_path, capsys):
    directory, _ = instructor_cache
    pack = tmp_path / "tour.zip"
    assert main(["cache", "export", str(pack), "--dir", str(directory), "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "wrote 3 answers and the model settings to" in out
    assert main(["cache", "import", str(pack), "--dir", str(tmp_path / "student")]) == 0
    assert "imported 3 answers into" in capsys.readouterr().out
    assert main(["cache", "import", str(pack), "--dir", str(tmp_path / "student")]) == 0
    assert "imported 0 answers" in (out := capsys.readouterr().out) and "3 already there, kept" in out
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    assert main(["cache", "import", str(tmp_path / "junk.zip"), "--dir", str(tmp_path / "student")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spatial-nb: junk.zip is not a readable zip file") and "Traceback" not in err
    assert os.listdir(tmp_path / "student")  # still there, untouched by the refused pack
