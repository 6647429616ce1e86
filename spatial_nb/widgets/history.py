"""The run history: flip back to any run (its picture, settings and status come back with it) and
compare two or more runs side by side.

Showing an old run restores everything the run was made with — image, detect type, prompt,
temperature, model, sizes — and the status line and message it finished with, so the controls
never describe another run than the picture does. Overlays are drawn once per run and size and
kept in memory; only the shown ones are in the widgets (and so in a saved notebook).
"""

from __future__ import annotations

import logging
from typing import Any

from .compare import compare_html
from .messages import guard, esc
from .state import RunRecord

__all__ = ["HistoryMixin", "CARD_MAX_SIDE", "DISPLAY_MAX_HEIGHT_VH"]

log = logging.getLogger(__name__)

#: Longest sides tried for the JPEG inside the main overlay and inside each compare/sweep card,
#: largest first, until the overlay's HTML fits its budget (a busy photo needs the smaller sides).
MAIN_SIDES, MAIN_BUDGET_CHARS = (1024, 880, 720), 200_000
CARD_SIDES, CARD_BUDGET_CHARS = (640, 512, 400), 90_000
CARD_MAX_SIDE = CARD_SIDES[0]
#: The shown picture is never taller than this share of the window (and never wider than the photo).
DISPLAY_MAX_HEIGHT_VH = 70


def fit_width_css(width: int, height: int, natural_width: int | None = None) -> str:
    """CSS width for a picture: the column, but never taller than the window share, never upscaled."""
    natural = natural_width or width
    return f"min(100%, {int(natural)}px, calc({DISPLAY_MAX_HEIGHT_VH}vh * {width} / {max(1, height)}))"


class HistoryMixin:
    """History picker, restore, compare picker and compare grid of a Panel."""

    state: Any

    # -- overlays -----------------------------------------------------------------------------
    @staticmethod
    def _style(record: RunRecord) -> dict[str, Any]:
        """Drawing options of a run: the FOV slider matters for 3D boxes only."""
        if record.settings.get("kind") == "boxes3d":
            return {"fov": float(record.settings.get("fov_degrees", 60.0))}
        return {}

    def overlay_html(self, record: RunRecord, card: bool = False) -> str:
        """The HTML/SVG overlay of one run, its JPEG no bigger than the budget (drawn once per run)."""
        from ..html import to_html

        key = (record.number, card)
        cached = self._overlay_cache.get(key)
        if cached is None:
            sides, budget = (CARD_SIDES, CARD_BUDGET_CHARS) if card else (MAIN_SIDES, MAIN_BUDGET_CHARS)
            for side in sides:
                cached = str(to_html(record.picture, record.result, max_side=side, **self._style(record)))
                if len(cached) <= budget:
                    break
            self._overlay_cache[key] = cached
        return cached

    def card_overlay_html(self, record: RunRecord) -> str:
        return self.overlay_html(record, card=True)

    def _main_overlay(self, record: RunRecord) -> str:
        width, height = record.picture.size
        natural = (record.image_size or record.picture.size)[0]
        return (f'<div class="snb-overlay-main"><div class="snb-fit" style="width:{fit_width_css(width, height, natural)};'
                f'line-height:0">{self.overlay_html(record)}</div></div>')

    # -- history ------------------------------------------------------------------------------
    @guard
    def _on_history(self, change: dict) -> None:
        runs: list[RunRecord] = change["new"]
        options = [(r.title(), i) for i, r in enumerate(runs)] or [("(no runs yet)", -1)]
        keep = tuple(v for v in self.compare_picker.value if 0 <= v < len(runs))
        self._quiet = True
        try:
            self.history_picker.options = options
            self.history_picker.value = self.state.selected if 0 <= self.state.selected < len(runs) else (None if runs else -1)
            self.compare_picker.options = [(r.title(60), i) for i, r in enumerate(runs)]
            self.compare_picker.value = keep
        finally:
            self._quiet = False
        self.compare_last.disabled = len(runs) < 2

    @guard
    def _on_history_pick(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None and change["new"] >= 0:
            self.state.selected = change["new"]

    @guard
    def _on_selected(self, change: dict) -> None:
        record = self.state.current
        self._quiet = True
        try:
            self.history_picker.value = change["new"] if record is not None else (None if self.state.history else -1)
        finally:
            self._quiet = False
        if record is None:
            self._show_record(None)
            if not self.state.running:
                self.status.value = "Ready."
            return
        if not self._adding_run:
            self._restore(record)
        self._show_record(record)

    def _restore(self, record: RunRecord) -> None:
        """Put the controls, image, status and message back as they were for ``record``."""
        self._restoring = True
        try:
            if record.controls:
                self.state.restore(record.controls)
            self._use_picture(record.image, record.picture, record.image_size)
        finally:
            self._restoring = False
        self._refresh_source(auto=False)
        self._refresh_prompt_options(previous_kind=None)
        self._refresh_prompt_views()
        self.status.value = record.status
        self._show_message(record.message)

    def _show_record(self, record: RunRecord | None) -> None:
        self._show_downloads(record)
        if record is None or not record.ok:
            self._show_preview()
            for view in (self.json_view, self.raw_text_view, self.warnings_view, self.request_view):
                view.value = ""
            return
        self._fill_tabs(record)  # first: the tabs stay readable even if drawing fails
        self.overlay.value = self._main_overlay(record)

    # -- compare ------------------------------------------------------------------------------
    @guard
    def _on_compare_pick(self, _change: dict) -> None:
        if not self._quiet:
            self._render_compare()

    @guard
    def _on_compare_last(self, _button: Any = None) -> None:
        n = len(self.state.history)
        if n >= 2:
            self.compare_picker.value = (n - 2, n - 1)

    def compare(self, *numbers: int) -> None:
        """Compare runs by their numbers (``panel.compare(1, 3)``), as picking them does."""
        index = {r.number: i for i, r in enumerate(self.state.history)}
        missing = [n for n in numbers if n not in index]
        if missing:
            raise ValueError(f"no run numbered {', '.join(map(str, missing))}; runs are 1 to {len(index)}")
        self.compare_picker.value = tuple(index[n] for n in numbers)
        self.lab_tabs.selected_index = 0

    def _render_compare(self) -> None:
        runs = self.state.history
        picked = [runs[i] for i in self.compare_picker.value if 0 <= i < len(runs) and runs[i].ok]
        if len(picked) < 2:
            more = "Pick one more run." if picked else ""
            self.compare_view.value = self._lab_hint("compare") + (
                f'<div style="color:#555;font-size:13px">{esc(more)}</div>' if more else "")
            return
        self.compare_view.value = compare_html(picked, self.card_overlay_html)
