"""The detail tabs of a run: parsed JSON, the model's raw text, warnings and the request sent.

Everything here is text from the model or the request, so every piece goes through
``html.escape``; long base64 masks are shortened in the JSON view (the download has them whole)
and API keys are redacted from the request view.
"""

from __future__ import annotations

import json
from typing import Any

from .messages import NOTHING_READ, esc, redact
from .state import RunRecord

__all__ = ["DetailsMixin", "pre"]


def pre(text: str, max_height_px: int = 420) -> str:
    """Escaped, wrapped, scrollable preformatted text."""
    return (
        f'<pre class="snb-pre" style="white-space:pre-wrap;word-break:break-word;max-height:{max_height_px}px;'
        f'overflow:auto;margin:0;font-size:12px;line-height:1.35">{esc(text)}</pre>'
    )


def _short_masks(obj: Any) -> Any:
    """Replace long base64 mask strings with a short note, for the JSON view."""
    if isinstance(obj, dict):
        return {k: _short_masks(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_short_masks(v) for v in obj]
    if isinstance(obj, str) and len(obj) > 120 and obj.startswith("data:image/"):
        return obj[:40] + f"… ({len(obj)} characters)"
    return obj


def _shown_dict(item: Any) -> dict[str, Any]:
    """An item's on-disk dict without the bookkeeping ``index`` (the list order shows it)."""
    data = item.to_dict()
    extra = {k: v for k, v in (data.get("extra") or {}).items() if k != "index"}
    if extra:
        data["extra"] = extra
    else:
        data.pop("extra", None)
    return data


class DetailsMixin:
    """Fills ``json_view``, ``raw_text_view``, ``warnings_view`` and ``request_view`` of a Panel."""

    def _fill_tabs(self, record: RunRecord) -> None:
        res = record.result
        rows = [json.dumps(_short_masks(_shown_dict(it)), ensure_ascii=False) for it in res]
        self.json_view.value = (
            '<div style="font-size:12px;color:#555;margin-bottom:4px">Items as parsed: box = normalized '
            "(x0, y0, x1, y1), point = (x, y), both in [0, 1]; box3d in metres and degrees. "
            "The Raw text tab has the model's own y-first 0-1000 answer.</div>"
            + pre("[\n  " + ",\n  ".join(rows) + "\n]" if rows else "[]")
        )
        self.raw_text_view.value = pre(res.raw_text or "(empty answer)")
        warnings = list(res.warnings)
        if len(res) == 0 and (res.raw_text or "").strip():
            warnings.insert(0, NOTHING_READ)
        if warnings:
            self.warnings_view.value = '<ul class="snb-warnings">' + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
        else:
            self.warnings_view.value = "<i>No warnings.</i>"
        request = {
            "model": res.model, "model_version": getattr(res, "model_version", None),
            "elapsed_s": round(record.elapsed_s, 3), "cached": res.cached,
            "finish_reason": res.finish_reason, "usage": res.usage, "image": record.image.name,
            "image_size_sent": list(res.image_size) if res.image_size else None,
            "request": res.request, "panel_settings": record.settings,
        }
        text = redact(json.dumps(request, ensure_ascii=False, indent=2, default=str))
        self.request_view.value = pre(text)
