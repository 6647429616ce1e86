"""Accuracy card on a synthetic scene whose right answer is known, against hand-computed numbers."""

from __future__ import annotations

import json
import sys

import pytest
from PIL import Image, ImageDraw

from spatial_nb.evaluate import evaluate, match_image
from spatial_nb.result import Item, Result

from .fake_gemini import Reply

# A 500x500 scene (1 Gemini unit = 0.5 px). Ground truth in pixels, [x0, y0, x1, y1]:
GT = [
    ("square", (50, 50, 150, 150)),  # A: found, right label
    ("square", (350, 300, 450, 400)),  # B: found but called "circle" -> FP + FN
    ("circle", (250, 50, 350, 150)),  # C: found a bit off (IoU 0.81) -> TP
    ("circle", (50, 300, 150, 400)),  # D: found with IoU 0.25 -> FP + FN
    ("circle", (200, 250, 280, 330)),  # E: missed -> FN
]
# The scripted model answer (Gemini's y-first 0-1000 box_2d):
ANSWER = [
    {"box_2d": [100, 100, 300, 300], "label": "Square"},  # A, case differs: still a match
    {"box_2d": [120, 520, 300, 700], "label": "circle"},  # C, (260,60)-(350,150)
    {"box_2d": [600, 700, 800, 900], "label": "circle"},  # B, wrong label
    {"box_2d": [600, 100, 700, 200], "label": "circle"},  # D, (50,300)-(100,350): IoU 0.25
]
# Hand-computed: TP 2 (A, C), FP 2 (B-as-circle, loose D), FN 3 (B, D, E)
PRECISION, RECALL = 2 / 4, 2 / 5


def scene(path):
    img = Image.new("RGB", (500, 500), "white")
    draw = ImageDraw.Draw(img)
    for label, (x0, y0, x1, y1) in GT:
        shape = draw.rectangle if label == "square" else draw.ellipse
        shape((x0, y0, x1 - 1, y1 - 1), fill="red" if label == "square" else "blue")
    img.save(path)


def ground_truth() -> dict:
    cats = {"square": 1, "circle": 2}
    return {
        "images": [{"id": 7, "file_name": "scene.png", "width": 500, "height": 500}],
        "annotations": [
            {"id": i + 1, "image_id": 7, "category_id": cats[label], "bbox": [x0, y0, x1 - x0, y1 - y0]}
            for i, (label, (x0, y0, x1, y1)) in enumerate(GT)
        ],
        "categories": [{"id": 1, "name": "square"}, {"id": 2, "name": "circle"}],
    }


@pytest.fixture
def predictions(tmp_path, fake_gemini):
    """The scripted answer, asked for through the real client and the fake Gemini server."""
    from spatial_nb.client import Client

    scene(tmp_path / "scene.png")
    fake_gemini.queue(Reply("```json\n" + json.dumps(ANSWER) + "\n```"))
    res = Client().detect(tmp_path / "scene.png", "Detect the squares and circles")
    assert res.image_size == (500, 500) and len(res) == 4
    return {"scene.png": res}


def test_card_reproduces_hand_computed_precision_recall(tmp_path, predictions):
    card = evaluate(predictions, ground_truth())
    assert (card.tp, card.fp, card.fn) == (2, 2, 3)
    assert card.precision == pytest.approx(PRECISION)
    assert card.recall == pytest.approx(RECALL)
    assert card.f1 == pytest.approx(2 * PRECISION * RECALL / (PRECISION + RECALL))
    rows = {r.name: r for r in card.per_class}
    assert (rows["square"].gt, rows["square"].tp, rows["square"].fp, rows["square"].fn) == (2, 1, 0, 1)
    assert (rows["circle"].gt, rows["circle"].tp, rows["circle"].fp, rows["circle"].fn) == (3, 1, 2, 2)
    # square: one exact hit of two objects, at every IoU threshold -> 101-point AP = 51/101
    assert rows["square"].ap == pytest.approx(51 / 101)
    assert 0 < card.map_50_95 < 1 and card.map_50 >= card.map_50_95
    notes = " ".join(card.per_image[0].notes)
    assert "wrong label 'circle' where the truth is 'square'" in notes
    assert "best IoU 0.25" in notes and "missed 'circle'" in notes


def test_card_text_html_and_grid(tmp_path, predictions):
    predictions["scene.png"].items.append(Item("<script>x</script>", box=(0.9, 0.9, 1.0, 1.0)))
    card = evaluate(predictions, ground_truth())
    md = card.to_markdown()
    assert "| precision @IoU 0.5 | 0.400 |" in md  # 2 TP of 5 predictions now
    assert "(labels not in the ground truth)" in md
    html = card._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    fig = card.worst_images_grid(tmp_path, n=1)
    (ax,) = [ax for ax in fig.axes if ax.images]
    pixels = ax.images[0].get_array()
    # predictions are coloured by outcome, drawn over the green truth: A matched (blue), B's box
    # called "circle" (red), the truth E that nothing found stays green
    assert tuple(pixels[100, 50]) == (0, 110, 255)
    assert tuple(pixels[350, 350]) == (230, 20, 20)
    assert tuple(pixels[290, 200]) == (0, 200, 0)
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"ground truth", "prediction: false positive"}


def test_mapping_by_name_and_missing_images(predictions):
    gt = ground_truth()
    gt["images"].append({"id": 8, "file_name": "other.png", "width": 10, "height": 10})
    preds = {"sub/scene.png": Result([Item("box", box=(0.1, 0.1, 0.3, 0.3))])}  # matched by base name
    card = evaluate(preds, gt, label_map={"box": "square"}, compute_map=False)
    assert (card.tp, card.fp, card.fn) == (1, 0, 4)
    assert card.missing_predictions == ["other.png"]
    assert card.map_50_95 is None


def test_without_pycocotools_card_still_works_with_hint(monkeypatch, predictions):
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    monkeypatch.setitem(sys.modules, "pycocotools.cocoeval", None)
    with pytest.warns(UserWarning, match=r'pip install "spatial-nb\[eval\]"'):
        card = evaluate(predictions, ground_truth())
    assert card.map_50_95 is None and card.precision == pytest.approx(PRECISION)
    assert any("spatial-nb[eval]" in n for n in card.notes)


@pytest.mark.parametrize(
    "preds, gts, expected",
    [
        # higher score goes first and takes the object; the other one is a duplicate
        ([((0, 0, 10, 10), 1, 0.2, "a"), ((0, 0, 10, 9), 1, 0.9, "a")], [((0, 0, 10, 10), 1, "a")], [None, 0]),
        # IoU exactly 0.5 counts as a match
        ([((0, 0, 10, 10), 1, 1.0, "a")], [((0, 0, 5, 10), 1, "a")], [0]),
        # other class never matches
        ([((0, 0, 10, 10), 2, 1.0, "b")], [((0, 0, 10, 10), 1, "a")], [None]),
    ],
)
def test_greedy_matching(preds, gts, expected):
    match, _ = match_image(preds, gts)
    assert match == expected
