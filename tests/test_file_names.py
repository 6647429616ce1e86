"""File names of any bytes: folder runs, records, exports and Client.detect (issue #12, finding 1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from spatial_nb.batch import read_records
from spatial_nb.cli import main
from spatial_nb.filenames import escape_file_name, unescape_file_name

from .test_batch import Script, client, make_images, run

# (bytes of the name, how records spell it)
ODD_NAMES = [
    (b"caf\xe9.png", "caf\\xe9.png"),  # Latin-1 bytes: not UTF-8
    (b"\xff\xfe broken.png", "\\xff\\xfe broken.png"),
    (b"back\\slash.png", "back\\\\slash.png"),  # a literal backslash is doubled
    ("日本語.png".encode(), "日本語.png"),  # valid UTF-8 stays as it is
]


def odd_path(folder: Path, raw: bytes) -> str:
    """The OS name (surrogate-escaped str) of ``folder/raw``."""
    return os.fsdecode(os.fsencode(str(folder)) + b"/" + raw)


def write_png(path: str | Path, index: int) -> None:
    Image.new("RGB", (8, 6), (index, 255 - index, 7)).save(path, "PNG")


@pytest.mark.parametrize(("raw", "text"), ODD_NAMES)
def test_escape_is_lossless_and_valid_utf8(raw, text):
    name = os.fsdecode(raw)
    assert escape_file_name(name) == text == escape_file_name(raw)
    text.encode("utf-8")  # never raises: storable in JSON lines, SQLite, HTML
    assert unescape_file_name(text) == name and os.fsencode(unescape_file_name(text)) == raw


def test_escape_never_maps_two_names_to_one():
    # "caf\xe9" spelled with a real backslash must not collide with the byte 0xE9
    names = [b"caf\\xe9.png", b"caf\xe9.png", b"caf\\\\xe9.png", b"caf\\\xe9.png"]
    escaped = [escape_file_name(n) for n in names]
    assert len(set(escaped)) == len(names)
    assert [os.fsencode(unescape_file_name(t)) for t in escaped] == names


def test_a_folder_with_odd_names_runs_to_the_end_and_resumes(tmp_path, fake_gemini):
    """Before the fix: UnicodeEncodeError writing results.jsonl stopped the run at the first odd name."""
    folder = tmp_path / "imgs"
    make_images(folder, 20)
    for i, (raw, _) in enumerate(ODD_NAMES):
        write_png(odd_path(folder, raw), 100 + i)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # one bad image
    fake_gemini.default = Script(throttled=())
    summary = run(folder, tmp_path / "out", concurrency=4)
    raw_file = (tmp_path / "out" / "results.jsonl").read_bytes()
    raw_file.decode("utf-8")  # strict UTF-8, no lone surrogates
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert len(records) == 20 + len(ODD_NAMES) + 1 and summary.remaining == 0
    assert summary.done == 20 + len(ODD_NAMES) and summary.errors == 1
    assert records["corrupt.png"]["status"] == "error" and "corrupt" in records["corrupt.png"]["error"]
    for i, (raw, text) in enumerate(ODD_NAMES):
        assert records[text]["status"] == "ok"
        assert records[text]["result"]["items"][0]["label"] == f"thing {100 + i}"  # its own answer
        assert os.fsencode(folder / unescape_file_name(text)) == os.fsencode(str(folder)) + b"/" + raw
    # a re-run skips every answered image (names match) and only retries the corrupt one
    before = len(fake_gemini.generate_requests())
    again = run(folder, tmp_path / "out", concurrency=4)
    assert again.skipped == 20 + len(ODD_NAMES) and again.errors == 1
    assert len(fake_gemini.generate_requests()) == before


def test_cli_exports_keep_odd_names(tmp_path, fake_gemini, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, (raw, _) in enumerate(ODD_NAMES):
        Image.new("RGB", (40, 30), (100 + i, 0, 7)).save(odd_path(folder, raw), "PNG")
    fake_gemini.default = Script(throttled=())
    out = tmp_path / "out"
    code = main(["batch", str(folder), "Detect things", "--out", str(out), "--no-progress",
                 "--export", "coco", "--export", "yolo"])
    assert code == 0, capsys.readouterr().err
    coco = json.loads((out / "coco.json").read_text(encoding="utf-8"))
    assert sorted(img["file_name"] for img in coco["images"]) == sorted(text for _, text in ODD_NAMES)
    assert {(img["width"], img["height"]) for img in coco["images"]} == {(40, 30)}
    labels = sorted(os.fsencode(p.name) for p in (out / "yolo").iterdir() if p.name != "classes.txt")
    assert labels == sorted(raw.replace(b".png", b".txt") for raw, _ in ODD_NAMES)


def test_client_detect_on_an_undecodable_path(tmp_path, fake_gemini):
    """Before the fix: the answer was paid for, then storing it raised UnicodeEncodeError."""
    path = odd_path(tmp_path, b"caf\xe9.png")
    write_png(path, 3)
    c = client()
    res = c.detect(path, "Detect things")
    assert len(fake_gemini.generate_requests()) == 1 and len(res) == 3
    assert res.request["source_name"] == "caf\\xe9.png"
    res.to_json().encode("utf-8")
    again = c.detect(path, "Detect things")  # the answer was cached
    assert again.cached and len(fake_gemini.generate_requests()) == 1


def test_a_record_text_with_a_lone_surrogate_never_stops_the_writer(tmp_path):
    """Safety net: any other text quoting a raw OS name (an exception message) stays writable."""
    from spatial_nb.batch.records import _Writer

    message = "cannot read " + os.fsdecode(b"caf\xe9.png")  # holds the lone surrogate '\udce9'
    writer = _Writer(tmp_path / "results.jsonl")
    writer.write({"path": "x.png", "status": "error", "error": message})
    writer.write({"path": "y.png", "status": "ok"})
    writer.close()
    lines = (tmp_path / "results.jsonl").read_bytes().decode("utf-8").splitlines()  # strict UTF-8
    assert [json.loads(line)["path"] for line in lines] == ["x.png", "y.png"]
    assert json.loads(lines[0])["error"] == message  # the JSON escape reads back exactly
