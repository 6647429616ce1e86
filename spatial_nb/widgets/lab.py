"""The sweep tab: one click sends the current picture and prompt to several models and temperatures.

The sweep runs through the panel's single background runner (so Run and Run sweep never overlap
and a second click is dropped), calls :func:`spatial_nb.sweep` with ``on_error="keep"`` (one model
failing does not lose the others) and shows the runs as a grid with tokens, time, agreement and
differences. Successful runs join the history, so they can be reopened and compared later.
"""

from __future__ import annotations

import re
from typing import Any

from ..sweeping import SWEEP_ERROR
from .compare import sweep_html
from .messages import guard, PanelMessage, esc, message_html, plural
from .runner import Outcome
from .state import RunRecord
from .status import status_text

__all__ = ["SweepMixin", "parse_temperatures", "MAX_SWEEP_RUNS"]

#: More requests than this in one click is almost always a slip of the mouse.
MAX_SWEEP_RUNS = 12


def parse_temperatures(text: str) -> list[float] | None:
    """``"0.2, 1"`` -> ``[0.2, 1.0]``; "" -> None (the current temperature).

    Raises:
        ValueError: with a sentence saying what to type.
    """
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    if not parts:
        return None
    out = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{part!r} is not a number; type temperatures such as 0.2, 1.0") from None
        if not 0.0 <= value <= 2.0:
            raise ValueError(f"{part} is outside 0 to 2; type temperatures such as 0.2, 1.0")
        out.append(value)
    return out


class SweepMixin:
    """Sweep controls and grid of a Panel."""

    state: Any

    @guard
    def _on_sweep_click(self, _button: Any = None) -> None:
        self.start_sweep()

    def start_sweep(self) -> bool:
        """Start a sweep over the picked models and temperatures; False when nothing was started."""
        s = self.state
        if self.runner.busy or s.running:
            return False
        problem = None
        models = list(self.sweep_models.value) or [s.model.strip() or None]
        try:
            typed = parse_temperatures(self.sweep_temperatures.value)
            # none typed: the slider's value when it was set by hand, else each model's own default
            temperatures = typed or [None if s.temperature_auto else round(float(s.temperature), 4)]
        except ValueError as exc:
            temperatures, problem = [], str(exc)
        kwargs = s.detect_kwargs()
        if s.image is None:
            problem = "Pick a sample, upload a picture or type a path first."
        elif not kwargs["prompt"]:
            problem = "Type a prompt first."
        elif len(models) * len(temperatures) < 2 and problem is None:
            problem = "Pick two or more models, or type two or more temperatures."
        elif len(models) * len(temperatures) > MAX_SWEEP_RUNS:
            problem = f"That is {len(models) * len(temperatures)} requests; pick at most {MAX_SWEEP_RUNS}."
        if problem:
            self.sweep_status.value = message_html(PanelMessage("warning", "Sweep", problem))
            return False
        self._sweep_number += 1
        group = f"sweep {self._sweep_number}"
        image, picture, size = s.image, self._picture, self._image_size
        controls = {**s.snapshot(), "source": "live"}  # a sweep always asks Gemini
        client_kwargs = s.client_kwargs()
        total = len(models) * len(temperatures)

        def job() -> list[Any]:
            from ..sweeping import sweep

            detect = {k: v for k, v in kwargs.items() if k not in ("prompt", "kind", "model", "temperature")}
            return sweep(
                image.value, kwargs["prompt"], kind=kwargs["kind"], models=models,
                temperatures=None if temperatures == [None] else temperatures,
                client=self._get_client(), on_error="keep", progress=progress, **detect,
            )

        def progress(done: int, total_runs: int, _result: Any) -> None:
            self.sweep_status.value = esc(f"Sweep: {done} of {total_runs} answered…")

        def on_start() -> None:
            self._set_busy(True)
            self.sweep_status.value = esc(f"Sweep: sending {plural(total, 'request')}…")

        def on_done(outcome: Outcome) -> None:
            try:
                self._finish_sweep(outcome, group, image, picture, size, controls, {**kwargs, **client_kwargs})
            finally:
                self._set_busy(False)

        return self.runner.start(job, on_done=on_done, on_start=on_start)

    def _finish_sweep(self, outcome: Outcome, group: str, image: Any, picture: Any, size: Any,
                      controls: dict, kwargs: dict) -> None:
        if outcome.error is not None:
            self.sweep_status.value = ""
            self._show_exception(outcome.error)
            self._refresh_banner()
            return
        s = self.state
        records = []
        for result in outcome.value:
            settings = {**kwargs, "model": result.model, "fov_degrees": s.fov_degrees, "source": "live"}
            temperature = (result.request or {}).get("temperature")
            if temperature is not None:
                settings["temperature"] = temperature
            record = RunRecord(
                number=0, image=image, settings=settings, result=result,
                elapsed_s=float(result.elapsed or 0.0), picture=picture, image_size=size,
                controls={**controls, "model": result.model or controls.get("model", ""),
                          **({"temperature": temperature, "temperature_auto": False} if temperature is not None else {})},
                group=group,
            )
            records.append(record)
        ok = [r for r in records if r.ok and r.result.finish_reason != SWEEP_ERROR]
        for record in records:
            if record in ok:
                record.number = s.next_number()  # failed runs stay out of the history and get no number
                record.status = status_text(record)
                s.add_run(record, select=False)
            else:
                record.error = RuntimeError(record.result.warnings[0] if record.result.warnings else "failed")
        failed = len(records) - len(ok)
        self.sweep_status.value = esc(
            f"Sweep done: {plural(len(ok), 'run')} added to the history"
            + (f", {failed} failed" if failed else "") + "."
        )
        self.sweep_view.value = sweep_html(records, self.card_overlay_html)
        self.lab_tabs.selected_index = 1

    def sweep_records(self) -> list[RunRecord]:
        """The runs of the last sweep that are in the history."""
        group = f"sweep {self._sweep_number}"
        return [r for r in self.state.history if r.group == group]

    def _set_busy(self, busy: bool) -> None:
        """Run and Run sweep are disabled (in the browser too) while a request is out."""
        self.state.running = busy
        self.run_button.disabled = busy
        self.sweep_button.disabled = busy
        self.run_button.description = "Running…" if busy else "Run"

