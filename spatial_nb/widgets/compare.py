"""HTML for the lab: runs side by side in a grid, captions of equal height, differences drawn on top.

Each card is a caption (run, model and temperature; prompt clamped to two lines; items, tokens,
time, who answered when Google routed the request; differences or agreement) above the run's
overlay. Every caption has the same height, so the pictures line up. Differences against the first picked run come from
:func:`spatial_nb.sweeping.diff_results` and are drawn as a separate SVG layer over the overlay
(dashed: new here, grey: missing here, orange: where it was before), in 0-1000 coordinates that
stretch with the picture. Every string from a model or a user is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..sweeping import SWEEP_ERROR, ItemMatch, diff_results, run_agreement
from .messages import esc, plural
from .state import KIND_SHORT, RunRecord

__all__ = ["compare_html", "sweep_html", "total_tokens", "DIFF_COLOURS"]

#: Stroke colours of the difference layer.
DIFF_COLOURS = {"only_b": "#d81b60", "only_a": "#757575", "moved": "#ef6c00", "relabelled": "#1e63b5"}
_TAG = {"only_b": ("new", "snb-tag-new"), "only_a": ("missing", "snb-tag-missing"),
        "moved": ("moved", "snb-tag-moved"), "relabelled": ("relabelled", "snb-tag-relabelled")}


def total_tokens(usage: Any) -> int | None:
    """Total tokens from a usage dict in any of the spellings the SDK and our results use."""
    if not isinstance(usage, dict):
        return None
    for key in ("total_tokens", "total_token_count", "totalTokenCount"):
        if isinstance(usage.get(key), int):
            return usage[key]
    return None


def _seconds(record: RunRecord) -> float | None:
    elapsed = getattr(record.result, "elapsed", None)
    if isinstance(elapsed, (int, float)):
        return float(elapsed)
    return record.elapsed_s or None


def _stats_line(record: RunRecord) -> str:
    res = record.result
    parts = [plural(len(res), "item")]
    tokens = total_tokens(getattr(res, "usage", None))
    parts.append(f"{tokens} tokens" if tokens is not None else "tokens unknown")
    seconds = _seconds(record)
    if seconds is not None:
        parts.append(f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s")
    if getattr(res, "cached", False):
        parts.append("cached")
    if record.recorded:
        parts.append("recorded")
    else:
        from .. import models

        other = models.answered_by(res)
        if other:
            parts.append(f"answered by {other}")
    return " · ".join(parts)


def _mark(kind: str, item: Any) -> str:
    colour = DIFF_COLOURS[kind]
    dash = {"only_b": "7 4", "only_a": "3 3", "moved": "5 3", "relabelled": "2 2"}[kind]
    common = f'fill="none" stroke="{colour}" stroke-width="3" stroke-dasharray="{dash}" vector-effect="non-scaling-stroke"'
    if item.box is not None:
        x0, y0, x1, y1 = (round(v * 1000, 1) for v in item.box)
        return f'<rect class="snb-diff-{kind}" x="{x0}" y="{y0}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" {common}/>'
    x, y = (round(v * 1000, 1) for v in item.point)
    return (f'<g class="snb-diff-{kind}"><line x1="{x - 18}" y1="{y - 18}" x2="{x + 18}" y2="{y + 18}" {common}/>'
            f'<line x1="{x - 18}" y1="{y + 18}" x2="{x + 18}" y2="{y - 18}" {common}/></g>')


def _diff_layer(reference: RunRecord, record: RunRecord, matches: Sequence[ItemMatch]) -> str:
    marks = []
    for m in matches:
        if m.status == "only_b":
            marks.append(_mark("only_b", record.result[m.b]))
        elif m.status == "only_a":
            marks.append(_mark("only_a", reference.result[m.a]))
        elif m.status == "moved":
            marks.append(_mark("moved", reference.result[m.a]))  # where it was in the reference
        elif m.status == "relabelled":
            marks.append(_mark("relabelled", record.result[m.b]))
    if not marks:
        return ""
    return ('<svg class="snb-diff-layer" viewBox="0 0 1000 1000" preserveAspectRatio="none" '
            f'xmlns="http://www.w3.org/2000/svg" aria-hidden="true">{"".join(marks)}</svg>')


def _diff_line(reference: RunRecord, record: RunRecord, matches: Sequence[ItemMatch]) -> str:
    groups: dict[str, list[str]] = {}
    for m in matches:
        if m.status == "same":
            continue
        label = record.result[m.b].label if m.b is not None else reference.result[m.a].label
        if m.status == "relabelled":
            label = f"{reference.result[m.a].label} → {record.result[m.b].label}"
        groups.setdefault(m.status, []).append(label)
    if not groups:
        return f"Same items as #{reference.number}."
    tags = []
    for status in ("only_b", "only_a", "moved", "relabelled"):
        labels = groups.get(status)
        if labels:
            word, cls = _TAG[status]
            names = ", ".join(labels)
            tags.append(f'<span class="snb-tag {cls}" title="{esc(names)}">{len(labels)} {word}: {esc(names)}</span>')
    return f"vs #{reference.number}: " + "".join(tags)


def _card(record: RunRecord, picture_html: str, lines: list[str], *, aspect_width: int | None = None) -> str:
    """One grid cell: caption lines (already HTML), then the picture."""
    kind = KIND_SHORT.get(record.settings.get("kind", ""), "")
    prompt = " ".join(str(record.settings.get("prompt", "")).split())
    number = f"#{record.number}" if record.number else "failed"
    title = f"{number} · {record.model_text()}" + (f" · {record.group}" if record.group else "")
    limit = f"max-width:{aspect_width}px;" if aspect_width else ""
    return (
        f'<div class="snb-card" data-run="{record.number}"><div class="snb-cap">'
        f'<div class="snb-cap-title" title="{esc(title)}"><b>{esc(title)}</b></div>'
        f'<div class="snb-cap-prompt" title="{esc(prompt)}">{esc(kind)} · {esc(prompt)}</div>'
        + "".join(f'<div class="snb-cap-line">{line}</div>' for line in lines[:1])
        + "".join(f'<div class="snb-cap-diff">{line}</div>' for line in lines[1:2])
        + f'</div><div class="snb-pic" style="{limit}">{picture_html}</div></div>'
    )


def _grid(cards: list[str], header: str) -> str:
    return f'<div class="snb-compare-view">{header}<div class="snb-grid">{"".join(cards)}</div></div>'


def compare_html(records: Sequence[RunRecord], overlay: Callable[[RunRecord], str]) -> str:
    """Runs side by side; every run after the first is marked against the first.

    Args:
        records: Two or more successful runs; the first is the reference.
        overlay: Returns a run's overlay HTML (bounded-size picture with its SVG).
    """
    reference = records[0]
    cards = [_card(reference, overlay(reference), [esc(_stats_line(reference)), "Reference for the marks on the others."],
                   aspect_width=_natural_width(reference))]
    for record in records[1:]:
        matches = diff_results(reference.result, record.result)
        picture = overlay(record) + _diff_layer(reference, record, matches)
        cards.append(_card(record, picture, [esc(_stats_line(record)), _diff_line(reference, record, matches)],
                           aspect_width=_natural_width(record)))
    header = (f'<div class="snb-lab-note" style="font-size:13px;color:#555;margin:6px 0">{plural(len(records), "run")} '
              f"compared with #{reference.number}: {_legend()}</div>")
    return _grid(cards, header)


def _legend() -> str:
    return "".join(
        f'<span class="snb-tag {cls}" style="border:1px dashed {DIFF_COLOURS[k]}">{word}</span>'
        for k, (word, cls) in _TAG.items()
    )


def _natural_width(record: RunRecord) -> int | None:
    """Never show a small photo wider than it is."""
    size = record.image_size or (record.picture.size if record.picture is not None else None)
    return int(size[0]) if size else None


def sweep_html(records: Sequence[RunRecord], overlay: Callable[[RunRecord], str]) -> str:
    """A sweep's runs in a grid with tokens, time, agreement (consensus) and differences vs the first."""
    ok = [r for r in records if r.ok and r.result.finish_reason != SWEEP_ERROR]
    scores = run_agreement([r.result for r in ok]) if ok else []
    score_of = {r.number: s for r, s in zip(ok, scores)}
    reference = ok[0] if ok else None
    cards = []
    for record in records:
        if record not in ok:
            reason = record.result.warnings[0] if record.result is not None and record.result.warnings else "the request failed"
            failed = f'<div class="snb-msg snb-msg-error" style="line-height:1.35;color:#b00020;padding:8px">{esc(reason)}</div>'
            cards.append(_card(record, failed, ["failed", ""]))
            continue
        score = score_of.get(record.number)
        agree = f"agreement {score:.0%}" if score is not None else "agreement n/a (no boxes to compare)"
        lines = [esc(_stats_line(record)), esc(agree)]
        picture = overlay(record)
        if reference is not None and record is not reference:
            matches = diff_results(reference.result, record.result)
            picture += _diff_layer(reference, record, matches)
            lines[1] = esc(agree) + " · " + _diff_line(reference, record, matches)
        cards.append(_card(record, picture, lines, aspect_width=_natural_width(record)))
    header = (f'<div class="snb-lab-note" style="font-size:13px;color:#555;margin:6px 0">Sweep of '
              f'{plural(len(records), "run")}. Agreement: for each box of a run, the share of runs (itself included) '
              f"that found it too (same label, IoU ≥ 0.5), averaged. Marks compare with the first run: {_legend()}</div>")
    return _grid(cards, header)
