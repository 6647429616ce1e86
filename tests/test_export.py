"""Exports: COCO (read back by pycocotools), YOLO files, supervision Detections, COCO import, label maps."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from spatial_nb.export import (
    LabelMap,
    UnmappedLabelError,
    from_coco,
    mask_to_rle,
    rle_to_mask,
    to_coco,
    to_supervision,
    to_yolo,
)
from spatial_nb.result import Item, Result


def ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2) <= 1).astype(np.uint8) * 255


@pytest.fixture
def results() -> dict[str, Result]:
    return {
        "b/two.png": Result([Item("Dog", box=(0.5, 0.5, 1.0, 1.0)), Item("cat", point=(0.1, 0.1))]),
        "one.png": Result(
            [
                Item("cat", box=(0.1, 0.2, 0.5, 0.6), mask=ellipse(40, 40)),
                Item("bird", box=(0.0, 0.0, 0.25, 0.25)),
            ]
        ),
        "empty.png": Result([]),
    }


SIZES = {"one.png": (200, 100), "b/two.png": (64, 48), "empty.png": (10, 10)}


# -- label maps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "classes, label, expected",
    [
        (["cat", "dog"], "Dog", 1),  # list: id = position, case-insensitive
        (["cat", "dog"], " cat ", 0),  # surrounding spaces ignored
        ({"cat": 3, "kitten": 3}, "KITTEN", 3),  # dict: ids as given, synonyms share an id
        (["cat", "dog"], "cats", None),  # exact match only: no plural guessing
    ],
)
def test_label_map_matching(classes, label, expected):
    assert LabelMap(classes).class_id(label) == expected


def test_label_map_drop_counts_and_error_policy():
    lm = LabelMap(["cat"])
    assert lm.class_id("dog") is None and lm.class_id("dog") is None
    assert lm.dropped == {"dog": 2}
    assert "dropped 2 items" in lm.report()
    with pytest.raises(UnmappedLabelError, match="'dog' is not in the class mapping"):
        LabelMap(["cat"], unmapped="error").class_id("dog")
    with pytest.raises(ValueError, match="appears twice"):
        LabelMap(["cat", "Cat"])


def test_label_map_from_results_is_sorted_set(results):
    lm = LabelMap.from_results(results.values())
    assert lm.names == {0: "bird", 1: "cat", 2: "Dog"}


# -- COCO ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_coco_export_loads_in_pycocotools(tmp_path, results, masks):
    from pycocotools.coco import COCO

    path = tmp_path / "coco.json"
    to_coco(results, path, image_sizes=SIZES, masks=masks)
    coco = COCO(str(path))
    assert [img["file_name"] for img in coco.dataset["images"]] == ["b/two.png", "empty.png", "one.png"]
    cats = {c["name"]: c["id"] for c in coco.dataset["categories"]}
    assert cats == {"bird": 1, "cat": 2, "Dog": 3}  # COCO ids start at 1
    one = next(i for i in coco.dataset["images"] if i["file_name"] == "one.png")
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[one["id"]]))
    cat = next(a for a in anns if a["category_id"] == cats["cat"])
    # bbox = pixel rule: round(fraction * size), [x, y, w, h]
    assert cat["bbox"] == [20, 20, 80, 40]
    expected = results["one.png"][0].mask_full(200, 100)
    got = coco.annToMask(cat).astype(bool)
    assert got.shape == (100, 200)
    if masks == "polygon":  # polygons are an outline approximation
        inter, union = (got & expected).sum(), (got | expected).sum()
        assert inter / union > 0.9
        assert isinstance(cat["segmentation"], list)
    else:
        assert np.array_equal(got, expected)
        assert isinstance(cat["segmentation"]["counts"], str)  # compressed RLE
    bird = next(a for a in anns if a["category_id"] == cats["bird"])
    assert "segmentation" not in bird and bird["area"] == 50 * 25
    # the point has no COCO detection form: skipped and counted
    assert coco.dataset["info"]["spatial_nb"]["skipped_items_without_box"] == {"point": 1}


def test_uncompressed_rle_is_valid_coco(tmp_path):
    from pycocotools import mask as mask_utils

    mask = np.zeros((7, 5), bool)
    mask[0, 0] = mask[2:5, 1:4] = mask[6, 4] = True
    rle = mask_to_rle(mask, compress=False)
    assert isinstance(rle["counts"], list) and rle["counts"][0] == 0  # starts with a foreground run
    assert np.array_equal(rle_to_mask(rle), mask)
    frompy = mask_utils.frPyObjects(rle, 7, 5)
    assert np.array_equal(mask_utils.decode(frompy).astype(bool), mask)


def test_coco_unmapped_policy(results):
    coco = to_coco(results, image_sizes=SIZES, label_map=["cat"])
    assert [a["category_id"] for a in coco["annotations"]] == [1]  # only the cat (id 0 -> COCO 1)
    assert coco["info"]["spatial_nb"]["dropped_labels"] == {"Dog": 1, "bird": 1}
    with pytest.raises(UnmappedLabelError):
        to_coco(results, image_sizes=SIZES, label_map=["cat"], unmapped="error")


def test_coco_needs_a_size(results):
    from spatial_nb.errors import SpatialNBError

    with pytest.raises(SpatialNBError, match="images_root"):
        to_coco({"x.png": Result([Item("a", box=(0, 0, 1, 1))])})


def test_coco_reads_sizes_from_images_root(tmp_path):
    from PIL import Image

    Image.new("RGB", (30, 20)).save(tmp_path / "x.png")
    coco = to_coco({"x.png": Result([Item("a", box=(0, 0, 0.5, 0.5))])}, images_root=tmp_path)
    assert coco["images"][0]["width"] == 30 and coco["annotations"][0]["bbox"] == [0, 0, 15, 10]


def test_from_coco_round_trip(tmp_path, results):
    path = tmp_path / "coco.json"
    to_coco(results, path, image_sizes=SIZES)
    back = from_coco(path)
    assert set(back) == set(results)
    cat = back["one.png"][0]
    assert cat.label == "cat" and cat.box == pytest.approx((0.1, 0.2, 0.5, 0.6))
    assert np.array_equal(cat.mask_full(200, 100), results["one.png"][0].mask_full(200, 100))
    assert back["one.png"].image_size == (200, 100)
    assert back["empty.png"].items == []


# -- YOLO ----------------------------------------------------------------------------------------


def test_yolo_files(tmp_path, results):
    lm = to_yolo(results, tmp_path / "yolo", label_map={"cat": 0, "dog": 2})
    root = tmp_path / "yolo"
    assert (root / "classes.txt").read_text().splitlines() == ["cat", "class_1", "dog"]
    assert (root / "one.txt").read_text() == "0 0.300000 0.400000 0.400000 0.400000\n"
    assert (root / "b" / "two.txt").read_text() == "2 0.750000 0.750000 0.500000 0.500000\n"
    assert (root / "empty.txt").read_text() == ""  # background image
    assert lm.dropped == {"bird": 1}


def test_yolo_refuses_names_outside_the_folder(tmp_path):
    from spatial_nb.errors import SpatialNBError

    with pytest.raises(SpatialNBError, match="outside"):
        to_yolo({"../evil.png": Result([Item("a", box=(0, 0, 1, 1))])}, tmp_path / "yolo")


# -- supervision ---------------------------------------------------------------------------------


def test_to_supervision_real(results):
    det = to_supervision(results["one.png"], 200, 100, label_map=["bird", "cat"])
    assert det.xyxy.tolist() == [[20, 20, 100, 60], [0, 0, 50, 25]]
    assert det.class_id.tolist() == [1, 0]
    assert det.data["class_name"].tolist() == ["cat", "bird"]
    assert det.mask.shape == (2, 100, 200)
    assert det.mask[0].sum() == results["one.png"][0].mask_full(200, 100).sum() and det.mask[1].sum() == 0
    assert det.confidence is None
    scored = Result([Item("a", box=(0, 0, 1, 1), extra={"score": 0.6})])
    assert to_supervision(scored, 10, 10).confidence.tolist() == pytest.approx([0.6])


def test_to_supervision_install_hint(monkeypatch, results):
    monkeypatch.setitem(sys.modules, "supervision", None)  # import supervision -> ImportError
    with pytest.raises(ImportError, match=r'pip install "spatial-nb\[supervision\]"'):
        to_supervision(results["one.png"], 200, 100)


def test_coco_json_is_plain_json(tmp_path, results):
    path = tmp_path / "c.json"
    to_coco(results, path, image_sizes=SIZES)
    json.loads(path.read_text())


# -- issue 11, item 7: exports that lose nothing (each failed before its fix) ----------------------

def _no_nan(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_yolo_label_files_stay_unique_when_stems_clash(tmp_path):
    from spatial_nb.export import ExportWarning

    results = {
        "dup.jpg": Result([Item("cat", box=(0.0, 0.0, 0.5, 0.5))]),
        "dup.png": Result([Item("dog", box=(0.5, 0.5, 1.0, 1.0))]),
        "sub/Case.JPG": Result([Item("cat", box=(0.0, 0.0, 1.0, 1.0))]),
        "sub/case.png": Result([]),  # same label file as Case.JPG on macOS / Windows disks
        "solo.jpg": Result([Item("dog", box=(0.0, 0.0, 0.1, 0.1))]),
    }
    root = tmp_path / "yolo"
    with pytest.warns(ExportWarning, match="4 images share a label file name"):
        to_yolo(results, root, label_map=["cat", "dog"])
    # was: dup.txt written twice (the cat lost) and sub/case.txt clobbering sub/Case.txt on case-folding disks
    assert (root / "dup_jpg.txt").read_text() == "0 0.250000 0.250000 0.500000 0.500000\n"
    assert (root / "dup_png.txt").read_text() == "1 0.750000 0.750000 0.500000 0.500000\n"
    assert (root / "sub" / "Case_JPG.txt").read_text() == "0 0.500000 0.500000 1.000000 1.000000\n"
    assert (root / "sub" / "case_png.txt").read_text() == ""
    assert (root / "solo.txt").exists() and not (root / "dup.txt").exists()
    assert json.loads((root / "label_files.json").read_text())["dup.png"] == "dup_png.txt"


def test_yolo_class_names_are_one_line_with_a_mapping_file(tmp_path):
    from spatial_nb.export import ExportWarning

    results = {"a.jpg": Result([Item("red\ncup", box=(0, 0, 0.5, 0.5)), Item("plate", box=(0.5, 0.5, 1, 1)),
                                Item("tab\tbed\u2028name", box=(0, 0, 1, 1))])}
    root = tmp_path / "yolo"
    with pytest.warns(ExportWarning, match="2 class names were changed"):
        lm = to_yolo(results, root)
    lines = (root / "classes.txt").read_text().split("\n")[:-1]
    assert lines == ["plate", "red cup", "tab bed name"]  # was: 4 lines, every id after "red" shifted
    assert lm.names == {0: "plate", 1: "red\ncup", 2: "tab\tbed\u2028name"}  # matching keeps the real labels
    mapping = json.loads((root / "class_names.json").read_text())
    assert mapping == [{"id": 1, "name": "red cup", "label": "red\ncup"},
                       {"id": 2, "name": "tab bed name", "label": "tab\tbed\u2028name"}]
    assert (root / "a.txt").read_text().splitlines()[0].startswith("1 ")


def test_coco_is_strict_json_even_with_nan_scores(tmp_path):
    # A Result from an older spatial_nb (or built by hand) can hold NaN; was: a bare NaN in the file.
    res = Result([Item("a", box=(0, 0, 0.5, 0.5), extra={"confidence": float("nan")}),
                  Item("b", box=(0, 0, 0.5, 0.5), extra={"confidence": float("inf"), "score": 0.25})])
    path = tmp_path / "coco.json"
    to_coco({"x.png": res}, path, image_sizes={"x.png": (10, 10)})
    data = _no_nan(path.read_text(encoding="utf-8"))
    assert [a["score"] for a in data["annotations"]] == [1.0, 0.25]


def test_coco_keeps_file_names_that_are_not_valid_unicode(tmp_path):
    name = "caf\udce9.jpg"  # os.fsdecode of the Latin-1 bytes b"caf\xe9.jpg"
    path = tmp_path / "coco.json"
    to_coco({name: Result([Item("a", box=(0, 0, 1, 1))])}, path, image_sizes={name: (4, 4)})
    assert _no_nan(path.read_text(encoding="utf-8"))["images"][0]["file_name"] == name


def test_coco_skips_unreadable_images_with_one_summary_line(tmp_path):
    from PIL import Image

    from spatial_nb.export import ExportWarning

    Image.new("RGB", (40, 20)).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    results = {name: Result([Item("a", box=(0, 0, 0.5, 0.5))]) for name in ("good.png", "broken.png", "gone.png")}
    with pytest.warns(ExportWarning, match=r"COCO export: skipped 2 of 3 images whose size could not be read"):
        coco = to_coco(results, tmp_path / "coco.json", images_root=tmp_path)  # was: SpatialNBError, no file
    assert [img["file_name"] for img in coco["images"]] == ["good.png"]
    assert [a["bbox"] for a in coco["annotations"]] == [[0, 0, 20, 10]]
    info = coco["info"]["spatial_nb"]
    assert set(info["skipped_images"]) == {"broken.png", "gone.png"}
    assert "FileNotFoundError" in info["skipped_images"]["gone.png"]
    assert info["summary"].startswith("COCO export: skipped 2 of 3 images")
    assert _no_nan((tmp_path / "coco.json").read_text())["images"][0]["file_name"] == "good.png"


FORUM_POLYGON = [[325, 411], [327, 471], [332, 523], [397, 534], [403, 492], [408, 426]]


@pytest.mark.parametrize("masks", ["auto", "polygon"])
def test_coco_segmentation_comes_straight_from_the_models_polygon(masks):
    from spatial_nb.parsing import parse

    res = parse(json.dumps({"boxes": [{"box_2d": [411, 325, 534, 408], "label": "mug", "mask": FORUM_POLYGON,
                                        "confidence": 0.9}]}))
    coco = to_coco({"k.jpg": res}, image_sizes={"k.jpg": (1000, 1000)}, masks=masks)
    (ann,) = coco["annotations"]
    # was: an outline traced from a 256-px raster of the polygon read as [y, x]
    assert ann["segmentation"] == [[float(v) for point in FORUM_POLYGON for v in point]]
    assert ann["score"] == 0.9 and ann["bbox"] == [325, 411, 83, 123]


def test_coco_polygon_with_a_hole_goes_out_as_rle():
    from pycocotools import mask as mask_utils

    from spatial_nb.parsing import parse
    from spatial_nb.polygons import polygon_mask

    rings = [[[100, 100], [900, 100], [900, 900], [100, 900]], [[300, 300], [700, 300], [700, 700], [300, 700]]]
    res = parse(json.dumps([{"mask": rings, "label": "frame"}]))
    coco = to_coco({"f.png": res}, image_sizes={"f.png": (200, 100)})
    seg = coco["annotations"][0]["segmentation"]
    assert isinstance(seg, dict)  # COCO polygons would fill the hole
    got = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)
    expected = polygon_mask(res[0].extra["polygon"], 200, 100)
    assert np.array_equal(got, expected) and not got[50, 100] and got[15, 100]
    assert coco["annotations"][0]["area"] == float(expected.sum())


def test_a_result_file_written_before_issue_11_still_loads_and_exports():
    from pathlib import Path

    from spatial_nb.result import FORMAT_VERSION

    text = (Path(__file__).parent / "data" / "result_v1_before_issue11.json").read_text()
    assert json.loads(text)["version"] == FORMAT_VERSION == 1
    res = Result.from_json(text)
    assert res.labels == ["cup", "plate", "spoon", "table", "fork"]
    assert res[1].extra["polygon"] == [[500, 100], [500, 300], [700, 300], [700, 100]]  # the old raw value
    coco = to_coco({"old.jpg": res}, image_sizes={"old.jpg": (640, 480)}, masks="polygon")
    plate = coco["annotations"][1]
    # The old raw [y, x] 0-1000 value is not taken for normalized rings: its mask is traced instead.
    assert plate["segmentation"] and all(v <= 640 for poly in plate["segmentation"] for v in poly)
    assert Result.from_json(res.to_json()) == res


def test_coco_reads_the_size_of_a_folder_run_record_with_a_non_utf8_name(tmp_path):
    # A folder run stores b"caf\xe9.png" as "caf\xe9.png" (escape_file_name); to_coco given only
    # images_root must still find the file (it skipped the image as unreadable before).
    import os

    from PIL import Image

    from spatial_nb.filenames import escape_file_name

    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.png")
    Image.new("RGB", (40, 30)).save(os.fsdecode(raw), format="PNG")
    name = escape_file_name(os.fsdecode(b"caf\xe9.png"))
    assert name.isascii() and "\\xe9" in name
    coco = to_coco({name: Result([Item("cup", box=(0.0, 0.0, 0.5, 0.5))])}, images_root=tmp_path)
    assert [(im["file_name"], im["width"], im["height"]) for im in coco["images"]] == [(name, 40, 30)]
    assert len(coco["annotations"]) == 1 and not coco["info"]["spatial_nb"].get("skipped_images")
