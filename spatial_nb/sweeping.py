"""Prompt-lab helpers: one image and prompt over several models/temperatures, and what changed.

:func:`sweep` runs the same request once per (model, temperature) pair, in order, one at a time
(honest timings, no burst against rate limits), and records each run's seconds in
``Result.elapsed``. :func:`diff_results` matches two answers item by item (IoU for boxes, distance
for points) to say what only one of them found and what moved; :func:`run_agreement` scores each
run by how many of the others found its boxes, reusing :func:`spatial_nb.consensus.agreement`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .consensus import agreement
from .errors import MissingKeyError
from .geometry import box_iou
from .result import Result

__all__ = ["sweep", "ItemMatch", "diff_results", "run_agreement", "SWEEP_ERROR"]

#: ``finish_reason`` of a placeholder Result for a run that failed under ``on_error="keep"``.
SWEEP_ERROR = "ERROR"


def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _temperatures(values: Iterable[Any] | None) -> list[float | None]:
    if values is None:
        return [None]
    out = []
    for value in values:
        t = float(value)
        if not math.isfinite(t) or not 0.0 <= t <= 2.0:
            raise ValueError(f"temperatures must be between 0 and 2, got {value!r}")
        out.append(t)
    if not out:
        raise ValueError("temperatures is empty: give at least one, or None for the default")
    return _unique(out)


def sweep(
    image: Any,
    prompt: str,
    *,
    kind: str = "boxes",
    models: Sequence[str] | None = None,
    temperatures: Sequence[float] | None = None,
    client: Any = None,
    on_error: str = "raise",
    progress: Callable[[int, int, Result], None] | None = None,
    **detect_kwargs: Any,
) -> list[Result]:
    """Ask the same question of several models and/or temperatures.

    Args:
        image: Any image input ``Client.detect`` takes.
        prompt: The prompt, sent unchanged to every run.
        kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``.
        models: Model names (None: the client's model).
        temperatures: Temperatures, 0-2 (None: the client's default for each model).
        client: A :class:`spatial_nb.Client` (None: a new one from the environment).
        on_error: ``"raise"`` stops at the first failed request; ``"keep"`` records it as an
            empty Result with ``finish_reason == SWEEP_ERROR`` and the message in ``warnings``
            (a missing key still raises: no run could succeed).
        progress: Called after each run with ``(done, total, result)``.
        **detect_kwargs: Passed to every ``client.detect`` (``max_size``, ``structured``...).

    Returns:
        One Result per (model, temperature), models outer, each with ``elapsed`` set (the
        client's figure when it gave one, else this function's own timing of the call).

    Example:
        >>> runs = snb.sweep("images/coffee.jpg", "Detect the cups",            # doctest: +SKIP
        ...                  models=["gemini-3.6-flash", "gemini-2.5-flash-lite"], temperatures=[0.5, 1.0])
        >>> [(r.model, r.request["temperature"], len(r), round(r.elapsed, 1)) for r in runs]  # doctest: +SKIP
    """
    if on_error not in ("raise", "keep"):
        raise ValueError(f"on_error must be 'raise' or 'keep', got {on_error!r}")
    if client is None:
        from .client import Client

        client = Client()
    names = _unique(str(m).strip() for m in models) if models is not None else [None]
    if not names or any(name == "" for name in names):
        raise ValueError("models must hold model names, or be None for the client's model")
    temps = _temperatures(temperatures)
    plan = [(name, t) for name in names for t in temps]
    results: list[Result] = []
    for name, t in plan:
        settings = dict(detect_kwargs, model=name)
        if t is not None:
            settings["temperature"] = t
        started = time.perf_counter()
        try:
            result = client.detect(image, prompt, kind=kind, **settings)
        except MissingKeyError:
            raise
        except Exception as exc:  # noqa: BLE001 - kept as a failed run when asked to
            if on_error == "raise":
                raise
            result = _failed(exc, name or getattr(client, "model", None), t, prompt, kind)
        if result.elapsed is None:
            result.elapsed = round(time.perf_counter() - started, 4)
        results.append(result)
        if progress is not None:
            progress(len(results), len(plan), result)
    return results


def _failed(exc: BaseException, model: str | None, temperature: float | None, prompt: str, kind: str) -> Result:
    message = str(exc).strip() or type(exc).__name__
    return Result(
        warnings=[f"the request failed: {message}"],
        model=model,
        finish_reason=SWEEP_ERROR,
        request={"prompt": prompt, "kind": kind, "model": model, "temperature": temperature, "error": message},
    )


# -- comparing answers --------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemMatch:
    """One line of a diff between a reference answer ``a`` and another answer ``b``.

    Attributes:
        a: Index of the item in ``a`` (None when only ``b`` has it).
        b: Index of the item in ``b`` (None when only ``a`` has it).
        status: ``"same"``, ``"moved"`` (same label, box/point shifted), ``"relabelled"``
            (same place, other label), ``"only_a"`` or ``"only_b"``.
        overlap: IoU for boxes, ``1 - distance / point_radius`` for points; None when unmatched.
    """

    a: int | None
    b: int | None
    status: str
    overlap: float | None = None


def _overlap(x: Any, y: Any, point_radius: float) -> float | None:
    if x.box is not None and y.box is not None:
        return box_iou(x.box, y.box)
    if x.box is None and y.box is None and x.point is not None and y.point is not None:
        distance = math.dist(x.point, y.point)
        return 1.0 - distance / point_radius if distance <= point_radius else None
    return None


def _comparable(item: Any) -> bool:
    return item.box is not None or item.point is not None


def diff_results(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    match_iou: float = 0.3,
    moved_below: float = 0.75,
    point_radius: float = 0.05,
) -> list[ItemMatch]:
    """Match the items of two answers and say what differs.

    Pairs are taken greedily: same label before other labels, then the highest overlap. A pair
    needs IoU >= ``match_iou`` (boxes) or points within ``point_radius`` (fraction of the image);
    a same-label pair with overlap below ``moved_below`` counts as moved. Items with neither a
    box nor a point (3D boxes) are not compared.

    Example:
        >>> from spatial_nb import Item, Result
        >>> a = Result([Item("cup", box=(0, 0, .5, .5)), Item("spoon", box=(.6, .6, .9, .9))])
        >>> b = Result([Item("cup", box=(.1, .1, .6, .6))])
        >>> [(m.status, m.a, m.b) for m in diff_results(a, b)]
        [('moved', 0, 0), ('only_a', 1, None)]
    """
    pairs = []
    for i, x in enumerate(a):
        if not _comparable(x):
            continue
        for j, y in enumerate(b):
            if not _comparable(y):
                continue
            overlap = _overlap(x, y, point_radius)
            if overlap is None or (x.box is not None and overlap < match_iou):
                continue
            same = x.label.strip().casefold() == y.label.strip().casefold()
            pairs.append((not same, -overlap, i, j, same, overlap))
    pairs.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    matches: list[ItemMatch] = []
    for _, _, i, j, same, overlap in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        status = ("same" if overlap >= moved_below else "moved") if same else "relabelled"
        matches.append(ItemMatch(i, j, status, round(overlap, 4)))
    matches += [ItemMatch(i, None, "only_a") for i, x in enumerate(a) if _comparable(x) and i not in used_a]
    matches += [ItemMatch(None, j, "only_b") for j, y in enumerate(b) if _comparable(y) and j not in used_b]
    return sorted(matches, key=lambda m: (m.a if m.a is not None else len(a) + (m.b or 0), m.b or 0))


def run_agreement(results: Sequence[Result], iou_threshold: float = 0.5) -> list[float | None]:
    """For each run, the mean share of runs that found each of its boxes (1.0: all agree).

    Uses :func:`spatial_nb.consensus.agreement` with the run as the reference; None for a run
    with no boxes (points, 3D boxes, failed or empty runs) or when there is a single run.

    Example:
        >>> from spatial_nb import Item, Result
        >>> a, b = Result([Item("cup", box=(0, 0, .5, .5))]), Result([Item("cup", box=(0, 0, .5, .45))])
        >>> run_agreement([a, b, Result()])
        [0.666667, 0.666667, None]
    """
    scores: list[float | None] = []
    for index, result in enumerate(results):
        boxes = [it for it in result if it.box is not None]
        if len(results) < 2 or not boxes:
            scores.append(None)
            continue
        others = [r for k, r in enumerate(results) if k != index]
        scored = agreement([result, *others], iou_threshold, merge=False)
        values = [it.extra["score"] for it in scored if "score" in it.extra]
        scores.append(round(sum(values) / len(values), 6) if values else None)
    return scores
