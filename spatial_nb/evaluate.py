"""Accuracy card: how good is a prompt / model / temperature against COCO ground truth?

Precision, recall and F1 at IoU 0.5 come from greedy one-to-one matching per image and class
(predictions in score order, each taking the best unmatched ground-truth box of its class).
mAP@[.5:.95] is computed by pycocotools' COCOeval (the reference implementation; optional:
``pip install "spatial-nb[eval]"``) — without scores every box counts 1.0, so use consensus
scores (:mod:`spatial_nb.consensus`) when the ranking should mean something.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpatialNBError
from .export import LabelMap, _load_coco_dict, _score, coco_results, from_coco
from .geometry import box_iou
from .result import Item, Result  # noqa: F401  (Item: doctest)

__all__ = ["evaluate", "AccuracyCard", "ClassRow", "ImageRow", "match_image"]

_EVAL_HINT = 'mAP needs pycocotools: pip install "spatial-nb[eval]" (or pip install pycocotools)'


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class ClassRow:
    """Counts and scores of one class (``name`` is the ground-truth category name)."""

    name: str
    gt: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    ap: float | None = None

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


@dataclass
class ImageRow:
    """Matching outcome of one image; ``notes`` say what went wrong, readable."""

    name: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    notes: list[str] = field(default_factory=list)
    pred_outcomes: list[str] = field(default_factory=list)  # per prediction: "tp" / "fp" / "unmapped"

    @property
    def f1(self) -> float:
        p, r = _ratio(self.tp, self.tp + self.fp), _ratio(self.tp, self.tp + self.fn)
        if self.tp + self.fp + self.fn == 0:
            return 1.0  # nothing expected, nothing found
        return _f1(p, r)


def match_image(
    preds: Sequence[tuple[tuple[float, float, float, float], int | None, float, str]],
    gts: Sequence[tuple[tuple[float, float, float, float], int, str]],
    iou_threshold: float = 0.5,
) -> tuple[list[int | None], list[str]]:
    """Greedy matching of one image's predictions to its ground truth.

    Args:
        preds: ``(xyxy_pixels, class_id or None, score, label)`` per prediction.
        gts: ``(xyxy_pixels, class_id, name)`` per ground-truth box.

    Returns:
        ``(match, notes)``: for each prediction (input order) the index of the matched
        ground-truth box or None, and readable notes on every miss.
    """
    order = sorted(range(len(preds)), key=lambda i: -preds[i][2])  # stable: model order on ties
    taken: set[int] = set()
    match: list[int | None] = [None] * len(preds)
    notes: list[str] = []
    for i in order:
        box, cls, _, label = preds[i]
        best, best_iou = None, iou_threshold
        for j, (gbox, gcls, _) in enumerate(gts):
            if j in taken or gcls != cls or cls is None:
                continue
            iou = box_iou(box, gbox)
            if iou >= best_iou:
                best, best_iou = j, iou
        if best is not None:
            taken.add(best)
            match[i] = best
            continue
        # explain the false positive
        ious = [(box_iou(box, g[0]), j) for j, g in enumerate(gts)]
        top_iou, top_j = max(ious, default=(0.0, None))
        same = [(iou, j) for iou, j in ious if gts[j][1] == cls]
        same_iou, _ = max(same, default=(0.0, None))
        if cls is None:
            notes.append(f"label {label!r} is not a ground-truth class")
        elif top_j is not None and top_iou >= iou_threshold and gts[top_j][1] != cls:
            notes.append(f"wrong label {label!r} where the truth is {gts[top_j][2]!r} (IoU {top_iou:.2f})")
        elif same_iou >= iou_threshold:
            notes.append(f"duplicate {label!r} (its object was already matched)")
        elif same_iou > 0:
            notes.append(f"{label!r} box too loose/tight (best IoU {same_iou:.2f} < {iou_threshold})")
        else:
            notes.append(f"{label!r} found where there is none")
    for j, (_, _, name) in enumerate(gts):
        if j not in taken:
            notes.append(f"missed {name!r}")
    return match, notes


@dataclass
class AccuracyCard:
    """Scores of one set of predictions against ground truth; display it in a notebook.

    Attributes:
        precision, recall, f1: At ``iou_threshold`` (0.5), over all evaluated images.
        map_50_95, map_50: COCOeval bbox mAP@[.5:.95] and AP@.5 (None without pycocotools).
        per_class: One :class:`ClassRow` per ground-truth category (plus unmapped labels).
        per_image: One :class:`ImageRow` per evaluated image, worst first.
        missing_predictions: Ground-truth images that had no prediction (left out).
        notes: Anything the reader should know (install hints, dropped labels, ...).
    """

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    map_50_95: float | None
    map_50: float | None
    per_class: list[ClassRow]
    per_image: list[ImageRow]
    iou_threshold: float = 0.5
    missing_predictions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _predictions: dict[str, Result] = field(default_factory=dict, repr=False)
    _ground_truth: dict[str, Result] = field(default_factory=dict, repr=False)

    def worst(self, n: int = 6) -> list[ImageRow]:
        """The ``n`` images with the lowest F1 (most errors first on ties)."""
        return self.per_image[:n]

    # -- text ---------------------------------------------------------------------------
    def _summary_rows(self) -> list[tuple[str, str]]:
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        return [
            ("images", str(len(self.per_image))),
            (f"precision @IoU {self.iou_threshold:g}", fmt(self.precision)),
            (f"recall @IoU {self.iou_threshold:g}", fmt(self.recall)),
            (f"F1 @IoU {self.iou_threshold:g}", fmt(self.f1)),
            ("mAP@[.5:.95]", fmt(self.map_50_95)),
            ("AP@.5", fmt(self.map_50)),
            ("TP / FP / FN", f"{self.tp} / {self.fp} / {self.fn}"),
        ]

    def _class_rows(self) -> list[list[str]]:
        fmt = lambda v: "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"  # noqa: E731
        return [
            [c.name, str(c.gt), str(c.tp), str(c.fp), str(c.fn), fmt(c.precision), fmt(c.recall), fmt(c.f1), fmt(c.ap)]
            for c in self.per_class
        ]

    _CLASS_HEAD = ["class", "GT", "TP", "FP", "FN", "precision", "recall", "F1", "AP"]

    def to_markdown(self, worst: int = 5) -> str:
        """The card as Markdown (summary, per-class table, worst images)."""
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self._summary_rows()]
        lines += ["", "| " + " | ".join(self._CLASS_HEAD) + " |", "|" + "---|" * len(self._CLASS_HEAD)]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in self._class_rows()]
        if self.per_image and worst:
            lines += ["", "Worst images:", ""]
            for row in self.worst(worst):
                why = "; ".join(row.notes[:4]) or "ok"
                lines.append(f"- {esc(row.name)} (F1 {row.f1:.2f}): {esc(why)}")
        for note in self.notes:
            lines.append(f"\n_{esc(note)}_")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        e = html.escape
        summary = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in self._summary_rows())
        head = "".join(f"<th>{e(h)}</th>" for h in self._CLASS_HEAD)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in self._class_rows())
        worst = "".join(
            f"<li><b>{e(r.name)}</b> (F1 {r.f1:.2f}): {e('; '.join(r.notes[:4]) or 'ok')}</li>" for r in self.worst(5)
        )
        notes = "".join(f"<p><i>{e(n)}</i></p>" for n in self.notes)
        return (
            "<div class='spatial-nb-accuracy'><table>" + summary + "</table>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            + (f"<p>Worst images:</p><ul>{worst}</ul>" if worst else "")
            + notes
            + "</div>"
        )

    # -- pictures -------------------------------------------------------------------------
    def worst_images_grid(self, images_root: str | os.PathLike, n: int = 6, columns: int = 3, width: float = 12.0):
        """A matplotlib figure of the ``n`` worst images: ground truth outlined in green, each
        prediction coloured by its outcome (blue = matched, red = false positive, orange = label
        not in the ground truth), the reasons in each title and a legend below.

        Args:
            images_root: Folder the image names are relative to.
        """
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
        from PIL import Image, ImageDraw, ImageOps

        rows = self.worst(n)
        if not rows:
            raise SpatialNBError("no evaluated images to show")
        columns = max(1, min(columns, len(rows)))
        nrows = math.ceil(len(rows) / columns)
        fig, axes = plt.subplots(nrows, columns, figsize=(width, width / columns * nrows * 0.9 + 0.4), squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, row in zip(axes.flat, rows):
            with Image.open(Path(images_root) / row.name) as opened:
                img = ImageOps.exif_transpose(opened).convert("RGB")
            canvas = ImageDraw.Draw(img)  # truth first, predictions on top of it
            for item in self._ground_truth.get(row.name, Result()):
                if item.box is not None:
                    canvas.rectangle(_closed(item.xyxy(*img.size)), outline=_GT_COLOR, width=2)
            pred = self._predictions.get(row.name, Result())
            # one colour per outcome: the outcome's position in _OUTCOME_COLORS poses as the index
            marked = [
                Item(it.label, box=it.box, extra={"index": list(_OUTCOME_COLORS).index(outcome)})
                for it, outcome in zip(pred.boxes(), row.pred_outcomes)
            ]
            try:
                from .drawing import draw as snb_draw

                img = snb_draw(img, marked, color_by="index", palette=list(_OUTCOME_COLORS.values()))
            except ImportError:
                canvas = ImageDraw.Draw(img)
                for item in marked:
                    color = list(_OUTCOME_COLORS.values())[item.extra["index"]]
                    canvas.rectangle(_closed(item.xyxy(*img.size)), outline=color, width=3)
            ax.imshow(img)
            reasons = "\n".join(row.notes[:3]) + (f"\n(+{len(row.notes) - 3} more)" if len(row.notes) > 3 else "")
            ax.set_title(f"{row.name}  F1 {row.f1:.2f}\n{reasons}", fontsize=8, loc="left")
        legend = [Patch(edgecolor=tuple(c / 255 for c in _GT_COLOR), facecolor="none", label="ground truth")]
        legend += [Patch(color=tuple(c / 255 for c in color), label=_OUTCOME_NAMES[o]) for o, color in _OUTCOME_COLORS.items()]
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
        return fig


#: Colours of the worst-images grid (RGB): truth, and each prediction outcome.
_GT_COLOR = (0, 200, 0)
_OUTCOME_COLORS = {"tp": (0, 110, 255), "fp": (230, 20, 20), "unmapped": (255, 150, 0)}
_OUTCOME_NAMES = {"tp": "prediction: matched", "fp": "prediction: false positive",
                  "unmapped": "prediction: label not in ground truth"}


def _closed(xyxy: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = xyxy  # type: ignore[misc]
    return x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)


def _label_map_for(mapping: Any, categories: dict[int, str], unmapped: str) -> LabelMap:
    """Label -> GT category id: user mapping (label -> id or label -> category name) or GT names."""
    if isinstance(mapping, LabelMap):
        return mapping
    by_name = {name.strip().casefold(): cid for cid, name in categories.items()}
    if mapping is None:
        return LabelMap({name: cid for cid, name in categories.items()}, unmapped=unmapped)
    if isinstance(mapping, Mapping):
        ids: dict[str, int] = {}
        for label, target in mapping.items():
            if isinstance(target, str):
                cid = by_name.get(target.strip().casefold())
                if cid is None:
                    raise SpatialNBError(f"mapping sends {label!r} to {target!r}, which is not a ground-truth category")
                ids[label] = cid
            else:
                ids[label] = int(target)
        for cid, name in categories.items():  # GT names always match themselves
            ids.setdefault(name, cid)
        lm = LabelMap(ids, unmapped=unmapped)
        lm.names = dict(categories)
        return lm
    raise SpatialNBError("label_map must be a dict (label -> category id or name) or a LabelMap")


def _find(name: str, table: Mapping[str, Any], by_base: Mapping[str, list[str]]) -> str | None:
    if name in table:
        return name
    hits = by_base.get(os.path.basename(name), [])
    return hits[0] if len(hits) == 1 else None


def evaluate(
    predictions: Mapping[str, Result],
    ground_truth: str | os.PathLike | Mapping[str, Any],
    *,
    label_map: LabelMap | Mapping[str, int | str] | None = None,
    iou_threshold: float = 0.5,
    compute_map: bool = True,
) -> AccuracyCard:
    """Score predictions against COCO ground truth.

    Args:
        predictions: ``{image name: Result}`` (e.g. read from a batch ``results.jsonl``).
            Names match COCO ``file_name`` exactly, else by base name when unambiguous.
        ground_truth: COCO JSON path or dict (``images``, ``annotations``, ``categories``).
        label_map: How model labels map to GT categories: a dict label -> category id or
            category name (GT names always match themselves), or a LabelMap; default: the GT
            category names, case-insensitive exact match. Unmapped predictions count as
            false positives.
        iou_threshold: IoU for precision/recall/F1 (mAP always uses .5:.95).
        compute_map: Set False to skip COCOeval.

    Returns:
        An :class:`AccuracyCard`. Only images present in both are scored; GT images without a
        prediction are listed in ``missing_predictions``.

    Example:
        >>> gt = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
        ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40]}],
        ...       "categories": [{"id": 1, "name": "cat"}]}
        >>> card = evaluate({"a.png": Result([Item("Cat", box=(0.1, 0.1, 0.5, 0.5))])}, gt, compute_map=False)
        >>> card.precision, card.recall
        (1.0, 1.0)
    """
    data = _load_coco_dict(ground_truth)
    categories = {int(c["id"]): str(c.get("name", c["id"])) for c in data.get("categories", [])}
    lm = _label_map_for(label_map, categories, "drop")
    gt_results = from_coco(data, masks=False)
    images = {img["file_name"]: img for img in data["images"]}
    by_base: dict[str, list[str]] = {}
    for name in images:
        by_base.setdefault(os.path.basename(name), []).append(name)

    pairs: dict[str, str] = {}  # prediction name -> GT file name
    unmatched_preds = []
    for name in predictions:
        gt_name = _find(name, images, by_base)
        if gt_name is None:
            unmatched_preds.append(name)
        else:
            pairs[name] = gt_name
    covered = set(pairs.values())
    missing = sorted(n for n in images if n not in covered)
    notes: list[str] = []
    if missing:
        notes.append(f"{len(missing)} ground-truth images had no prediction and were left out")
    if unmatched_preds:
        notes.append(f"{len(unmatched_preds)} predicted images are not in the ground truth and were ignored")
    if not pairs:
        raise SpatialNBError("no prediction matches a ground-truth image name; check the file names")

    rows = {cid: ClassRow(name) for cid, name in sorted(categories.items())}
    unmapped_row = ClassRow("(labels not in the ground truth)")
    per_image: list[ImageRow] = []
    for pred_name, gt_name in sorted(pairs.items()):
        img = images[gt_name]
        width, height = int(img["width"]), int(img["height"])
        gt_items = gt_results[gt_name].items
        gts = []
        for it in gt_items:
            cid = int(it.extra["category_id"])
            x0, y0, x1, y1 = it.box  # type: ignore[misc]
            gts.append(((x0 * width, y0 * height, x1 * width, y1 * height), cid, categories.get(cid, str(cid))))
            rows.setdefault(cid, ClassRow(str(cid))).gt += 1
        preds = []
        for it in predictions[pred_name]:
            if it.box is None:
                continue
            cid = lm.class_id(it.label)
            if cid not in categories:
                cid = None
            preds.append((it.xyxy(width, height), cid, _score(it), it.label))
        match, why = match_image(preds, gts, iou_threshold)
        row = ImageRow(gt_name, notes=why)
        for (_, cid, _, _), m in zip(preds, match):
            if m is not None:
                row.tp += 1
                rows[cid].tp += 1  # type: ignore[index]
                row.pred_outcomes.append("tp")
            else:
                row.fp += 1
                (rows[cid] if cid is not None else unmapped_row).fp += 1
                row.pred_outcomes.append("fp" if cid is not None else "unmapped")
        matched = {m for m in match if m is not None}
        for j, (_, cid, _) in enumerate(gts):
            if j not in matched:
                row.fn += 1
                rows[cid].fn += 1
        per_image.append(row)

    tp = sum(r.tp for r in per_image)
    fp = sum(r.fp for r in per_image)
    fn = sum(r.fn for r in per_image)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)

    map_50_95 = map_50 = None
    if compute_map:
        try:
            map_50_95, map_50, per_class_ap = _coco_map(data, predictions, pairs, lm)
        except ImportError:
            notes.append(_EVAL_HINT)
            warnings.warn(_EVAL_HINT, stacklevel=2)
        else:
            for cid, ap in per_class_ap.items():
                if cid in rows:
                    rows[cid].ap = ap
    if lm.dropped:
        notes.append(lm.report().replace("dropped", "counted as false positives:", 1))

    per_class = list(rows.values()) + ([unmapped_row] if unmapped_row.fp else [])
    per_image.sort(key=lambda r: (r.f1, -(r.fp + r.fn), r.name))
    return AccuracyCard(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        tp=tp,
        fp=fp,
        fn=fn,
        map_50_95=map_50_95,
        map_50=map_50,
        per_class=per_class,
        per_image=per_image,
        iou_threshold=iou_threshold,
        missing_predictions=missing,
        notes=notes,
        _predictions={gt: predictions[p] for p, gt in pairs.items()},
        _ground_truth={gt: gt_results[gt] for gt in covered},
    )


def _coco_map(
    data: dict[str, Any], predictions: Mapping[str, Result], pairs: dict[str, str], lm: LabelMap
) -> tuple[float, float, dict[int, float]]:
    """COCOeval bbox mAP over the evaluated images; returns (mAP@[.5:.95], AP@.5, per-class AP)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = dict(data)
    anns = []
    for ann in data["annotations"]:
        ann = dict(ann)
        ann.setdefault("iscrowd", 0)
        ann.setdefault("area", float(ann["bbox"][2]) * float(ann["bbox"][3]))
        anns.append(ann)
    gt["annotations"] = anns
    gt.setdefault("info", {})
    images = {img["file_name"]: img for img in data["images"]}
    ids = {gt_name: images[gt_name]["id"] for gt_name in pairs.values()}
    sizes = {gt_name: (int(images[gt_name]["width"]), int(images[gt_name]["height"])) for gt_name in pairs.values()}
    renamed = {gt_name: predictions[p] for p, gt_name in pairs.items()}
    saved = lm.dropped.copy()  # the matching pass already counted the unmapped labels
    dets = coco_results(renamed, ids, sizes, lm)
    lm.dropped = saved
    known = {c["id"] for c in data.get("categories", [])}
    dets = [d for d in dets if d["category_id"] in known]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if not dets:
            return 0.0, 0.0, {int(c["id"]): 0.0 for c in data.get("categories", [])}
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.imgIds = sorted(ids.values())
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    per_class: dict[int, float] = {}
    precision = ev.eval["precision"]  # [T, R, K, A, M]
    for k, cid in enumerate(ev.params.catIds):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        per_class[int(cid)] = float(p.mean()) if p.size else float("nan")
    return max(0.0, float(ev.stats[0])), max(0.0, float(ev.stats[1])), per_class
