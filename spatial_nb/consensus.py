"""Agreement-based confidence: ask the same question N times and trust what keeps coming back.

Gemini gives no per-box confidence. Sampling N answers at temperature > 0 and scoring each
box by the fraction of samples that contain a matching box (same label, case-insensitive,
IoU >= 0.5) gives one, so thresholds and mAP rankings mean something. Costs N requests;
matching is one-to-one per sample (a sample's box supports at most one cluster).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from .geometry import box_iou
from .result import Item, Result

__all__ = ["agreement", "sample_consensus"]


def agreement(samples: Sequence[Result], iou_threshold: float = 0.5, *, merge: bool = True) -> Result:
    """Score boxes by how many of the ``samples`` agree on them.

    Every box joins the best-overlapping cluster (same label, IoU >= ``iou_threshold`` with
    the cluster's first box) that has no box from its sample yet, or starts a new cluster.
    A cluster's score is ``(number of samples in it) / len(samples)``.

    Args:
        samples: Answers to the same request (the first is the reference).
        iou_threshold: Overlap needed to agree.
        merge: True: keep every cluster (boxes any sample found, in first-seen order).
            False: keep only the reference sample's boxes.

    Returns:
        A Result with the reference's metadata; each item is the cluster's first box with
        ``extra["score"]`` (fraction) and ``extra["votes"]`` (count). Items without a box
        (points, 3D boxes) are kept from the reference unscored.

    Example:
        >>> a = Result([Item("cat", box=(0, 0, .5, .5)), Item("dog", box=(.5, .5, 1, 1))])
        >>> b = Result([Item("Cat", box=(0, 0, .5, .45))])
        >>> [(it.label, it.extra["score"]) for it in agreement([a, b])]
        [('cat', 1.0), ('dog', 0.5)]
    """
    if not samples:
        raise ValueError("agreement() needs at least one sample")
    n = len(samples)
    clusters: list[tuple[Item, set[int]]] = []
    for s_index, sample in enumerate(samples):
        for item in sample:
            if item.box is None:
                continue
            key = item.label.strip().casefold()
            best, best_iou = None, iou_threshold
            for c_index, (head, members) in enumerate(clusters):
                if s_index in members or head.label.strip().casefold() != key:
                    continue
                iou = box_iou(item.box, head.box)  # type: ignore[arg-type]
                if iou >= best_iou:
                    best, best_iou = c_index, iou
            if best is None:
                if s_index == 0 or merge:
                    clusters.append((item, {s_index}))
            else:
                clusters[best][1].add(s_index)
    ref = samples[0]
    items: list[Item] = []
    for head, members in clusters:
        item = copy.deepcopy(head)
        item.extra = {**item.extra, "score": round(len(members) / n, 6), "votes": len(members)}
        items.append(item)
    items += [copy.deepcopy(it) for it in ref if it.box is None]
    request: dict[str, Any] = dict(ref.request or {})
    request["samples"] = n
    usage = None
    if all(s.usage for s in samples):
        usage = {}
        for s in samples:
            for key, value in (s.usage or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    usage[key] = usage.get(key, 0) + value
    warnings = [f"sample {i + 1}: {w}" for i, s in enumerate(samples) for w in s.warnings]
    return Result(
        items=items,
        warnings=warnings,
        raw_text=ref.raw_text,
        image_size=ref.image_size,
        model=ref.model,
        usage=usage,
        finish_reason=ref.finish_reason,
        cached=all(s.cached for s in samples),
        request=request,
    )


def sample_consensus(
    client: Any,
    image: Any,
    prompt: str,
    n: int = 5,
    *,
    kind: str = "boxes",
    temperature: float = 0.8,
    iou_threshold: float = 0.5,
    merge: bool = True,
    **detect_kwargs: Any,
) -> Result:
    """Ask ``client`` the same question ``n`` times and return :func:`agreement` of the answers.

    Sample ``i`` is sent with ``seed = seed + i`` (default seed 0), so each sample is its own
    request and its own cache entry: a re-run replays the same N answers for free.

    Args:
        client: A :class:`spatial_nb.Client`.
        n: Number of samples (>= 2 to be meaningful).
        temperature: Must be > 0, otherwise every sample is the same answer.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    if temperature <= 0:
        raise ValueError("consensus needs temperature > 0 (at 0 every sample is the same answer)")
    samples = [
        _detect_sample(client, image, prompt, kind=kind, temperature=temperature, sample=i, **detect_kwargs)
        for i in range(n)
    ]
    return agreement(samples, iou_threshold, merge=merge)


def _detect_sample(client: Any, image: Any, prompt: str, *, sample: int, **kwargs: Any) -> Result:
    """One sample, with its own ``seed`` (base seed + index): a different request per sample,
    so the answer cache keeps N answers instead of replaying the first N times."""
    seed = kwargs.pop("seed", None)
    return client.detect(image, prompt, seed=(seed or 0) + sample, **kwargs)
