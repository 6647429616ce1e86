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
