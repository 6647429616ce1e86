"""``snb.Panel``: a stock-ipywidgets prompt lab over a :class:`PanelState`, like AI Studio's app.

This module wires the parts together and owns the flow that touches everything: running. The
widgets and their arrangement live in ``layout``, choosing the picture in ``images``, the history, restore
and compare in ``history``, the sweep in ``lab``, the detail tabs in ``details``, the PNG/JSON
downloads in ``downloads``, the client per request path and the model note in ``settings``, the
recorded answers in ``recorded`` and the status line in ``status``. The view holds no settings of its own: widgets are linked to the
state, and every callback is wrapped so an exception becomes an escaped message in the panel.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any

import ipywidgets as W
import traitlets

from ..errors import MissingKeyError
from .details import DetailsMixin, pre
from .downloads import DownloadsMixin
from .history import HistoryMixin
from .images import DISPLAY_MAX_SIDE, ImageMixin, list_samples
from .lab import SweepMixin
from .layout import LayoutMixin
from .messages import PanelMessage, describe_error, esc, guard, key_banner, log_failure, message_html, needs_key
from .recorded import RecordedMixin
from .runner import BackgroundRunner, Outcome
from .settings import SettingsMixin
from .state import MAX_SIZES, PanelState, RunRecord
from .status import result_message, status_text

__all__ = ["Panel", "DISPLAY_MAX_SIDE"]

log = logging.getLogger(__name__)

#: A second click on Run this soon after the first, with the same settings, is a double click.
DOUBLE_CLICK_S = 0.6


def _option_label(prompt: str, limit: int = 90) -> str:
    text = " ".join(prompt.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Panel(LayoutMixin, ImageMixin, HistoryMixin, DownloadsMixin, SweepMixin, DetailsMixin, SettingsMixin, RecordedMixin, W.VBox):
    """An ipywidgets panel to try Gemini's spatial understanding on a picture.

    Args:
        client: A ``spatial_nb.Client``; None creates one at the first live Run (a missing key
            is shown as a note at the top of the panel, never raised here). Building the panel
            never sends a request: the model picker comes from the cached catalogue or the table.
        image: Sample name, file path, or bytes to start with (default: the first sample).
        kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``.
        model: Model name (default: the client's / ``SPATIAL_NB_MODEL`` / the default model).
        prompt: A free prompt to start with (switches the prompt mode to free text).
        temperature: Sampling temperature, 0-2; None (default) follows the chosen model's
            default (:func:`spatial_nb.models.default_temperature`) until the slider is moved.
        media_resolution: ``"low"``, ``"medium"``, ``"high"`` or None (the model's default).
        backend: ``"generate_content"`` or ``"interactions"`` (default: the client's).
        timeout: Seconds one request may take (default: the client's, else 120).

    ``panel.run()`` does what a click on Run does, then waits for the answer.

    Example:
        >>> import spatial_nb as snb               # doctest: +SKIP
        >>> panel = snb.Panel(); panel             # doctest: +SKIP
        >>> record = panel.run()                   # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any = None,
        *,
        image: Any = None,
        kind: str = "boxes",
        model: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        media_resolution: str | None = None,
        backend: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ):
        self.client = client
        self._derived_clients: dict[tuple, tuple[Any, Any]] = {}  # (base id, backend, timeout) -> (base, client)
        default_model = model or os.environ.get("SPATIAL_NB_MODEL") or getattr(client, "model", None)
        state_kw: dict[str, Any] = {"kind": kind, "temperature": temperature, **self._settings_from_client(client)}
        if isinstance(default_model, str) and default_model:
            state_kw["model"] = default_model
        if media_resolution is not None:
            state_kw["media_resolution"] = str(media_resolution).strip().lower()
        if backend is not None:
            state_kw["backend"] = backend
        if timeout is not None:
            state_kw["timeout_s"] = float(timeout)
        self.state = PanelState(**state_kw)
        self.runner = BackgroundRunner()  # one request (a run or a sweep) at a time
        self.last_error: BaseException | None = None
        self._picture: Any = None  # display-size PIL image of state.image
        self._image_size: tuple[int, int] | None = None  # the original's upright (width, height)
        self._overlay_cache: dict[tuple[int, bool], str] = {}  # (run number, card?) -> overlay HTML
        self._quiet = False  # True while the view itself sets widget values
        self._restoring = False  # True while an old run's settings are put back
        self._adding_run = False  # True while a finished run joins the history
        self._sweep_number = 0
        self._last_click: tuple[float, Any] | None = None  # (time, what was asked) of the last Run click
        self._samples = list_samples()
        self._build()
        super().__init__(children=self._arrange(), **kwargs)
        self.add_class("snb-panel")
        self._link()
        if prompt is not None:
            self.state.prompt_mode = "free"
            self.state.free_prompt = prompt
        self._choose_initial_image(image)
        self._refresh_prompt_views()
        self._refresh_banner()
        self._refresh_source()

    def _link(self) -> None:
        s = self.state
        for widget, name in [
            (self.kind_buttons, "kind"), (self.prompt_mode, "prompt_mode"), (self.target_text, "target"),
            (self.label_text, "label_with"), (self.prompt_box, "free_prompt"), (self.temperature, "temperature"),
            (self.model_box, "model"), (self.fov, "fov_degrees"), (self.structured, "structured"),
            (self.media_resolution, "media_resolution"), (self.backend, "backend"),
        ]:
            traitlets.link((widget, "value"), (s, name))
        traitlets.link((self.timeout, "value"), (s, "timeout_s"), transform=(float, lambda seconds: int(round(seconds))))
        label_of = {v: k for k, v in MAX_SIZES.items()}
        traitlets.link(
            (self.max_size, "value"), (s, "max_size"),
            transform=(lambda label: MAX_SIZES[label], lambda size: label_of.get(size, "640 px")),
        )
        s.observe(self._on_kind, names=["kind"])
        s.observe(self._on_prompt_settings, names=[*s.trait_names(setting=True)])
        s.observe(self._on_history, names=["history"])
        s.observe(self._on_selected, names=["selected"])
        self.raw_toggle.observe(self._on_raw_toggle, names=["value"])
        self.sample_picker.observe(self._on_sample, names=["value"])
        self.sample_prompts.observe(self._on_sample_prompt, names=["value"])
        self.upload.observe(self._on_upload, names=["value"])
        self.path_text.observe(self._on_path, names=["value"])
        self.path_button.on_click(self._on_path_button)
        self.run_button.on_click(self._on_run_click)
        self.history_picker.observe(self._on_history_pick, names=["value"])
        self.compare_picker.observe(self._on_compare_pick, names=["value"])
        self.compare_last.on_click(self._on_compare_last)
        self.sweep_button.on_click(self._on_sweep_click)
        self._link_recorded()

    # -- messages -------------------------------------------------------------------------------
    def _show_message(self, msg: PanelMessage | None) -> None:
        self.message.value = message_html(msg) if msg else ""

    def _show_exception(self, exc: BaseException) -> None:
        self.last_error = exc
        try:
            self._show_message(describe_error(exc))
        except Exception:  # noqa: BLE001 - last resort, still no traceback
            self.message.value = f"<b>Error</b>: {esc(type(exc).__name__)}"

    def _refresh_banner(self) -> None:
        """The key note at the top: shown while no key is set (checked again at every Run)."""
        try:
            msg = key_banner(self.client)
            no_key = needs_key(self.client)
        except Exception as exc:  # noqa: BLE001 - a failed check must not break the panel
            log_failure(log, "key check", exc)
            msg, no_key = None, False
        self.banner.value = message_html(msg) if msg else ""
        self._refresh_try_recording(no_key)

    # -- prompt and settings --------------------------------------------------------------------
    @guard
    def _on_kind(self, change: dict) -> None:
        self.fov.layout.display = "" if change["new"] == "boxes3d" else "none"
        self._refresh_prompt_options(previous_kind=change["old"])

    def _refresh_prompt_options(self, previous_kind: str | None) -> None:
        """Offer the image's sample prompts for the kind; follow them unless the user typed their own."""
        s = self.state
        new = s.sample_prompts()
        old = {v for _, v in self.sample_prompts.options if v}
        self._quiet = True
        try:
            if new:
                self.sample_prompts.options = [("(pick a sample prompt)", "")] + [(_option_label(p), p) for p in new]
            else:
                self.sample_prompts.options = [("(no sample prompts for this image)", "")]
            if new and not self._restoring and (not s.free_prompt.strip() or s.free_prompt in old):
                s.free_prompt = new[0]
            self.sample_prompts.value = s.free_prompt if s.free_prompt in new else ""
        finally:
            self._quiet = False
        self.sample_prompts.layout.display = "" if new else "none"

    @guard
    def _on_sample_prompt(self, change: dict) -> None:
        if not self._quiet and change["new"]:
            self.state.free_prompt = change["new"]

    @guard
    def _on_prompt_settings(self, _change: dict | None = None) -> None:
        self._refresh_prompt_views()

    def _refresh_prompt_views(self) -> None:
        s = self.state
        free = s.prompt_mode == "free"
        self.template_box.layout.display = "none" if free else ""
        self.free_box.layout.display = "" if free else "none"
        if not free:
            self.template_preview.value = (
                f'<div style="font-size:12px;color:#555;line-height:1.35;margin:2px 0 0 4px">Prompt sent: '
                f"<i>{esc(s.prompt)}</i></div>"
            )
        elif not self._quiet:
            options = {v for _, v in self.sample_prompts.options}
            self._quiet = True
            try:
                self.sample_prompts.value = s.free_prompt if s.free_prompt in options else ""
            finally:
                self._quiet = False
        self._refresh_model_note()
        if self.raw_toggle.value:
            self.raw_view.value = pre(s.raw_prompt(), max_height_px=260)

    @guard
    def _on_raw_toggle(self, change: dict) -> None:
        self.raw_view.layout.display = "" if change["new"] else "none"
        self.raw_toggle.description = "Hide raw prompt" if change["new"] else "Show raw prompt"
        self._refresh_prompt_views()

    # -- running --------------------------------------------------------------------------------
    @guard
    def _on_run_click(self, _button: Any = None) -> None:
        # A double click on Run sends two clicks; when the first run is a fast cache hit, the
        # second arrives after it finished. Same settings within DOUBLE_CLICK_S: one run.
        # A failed run does not count (the user may fix the key and click again at once).
        asked = (self.state.image, sorted(self.state.snapshot().items(), key=lambda kv: kv[0]))
        now = time.monotonic()
        last = self._last_click
        if last is not None and now - last[0] < DOUBLE_CLICK_S and last[1] == asked:
            return
        if self.start_run():
            self._last_click = (now, asked)

    def start_run(self) -> bool:
        """Start a run in the background; False (and nothing sent) when a run or sweep is out."""
        s = self.state
        if self.runner.busy or s.running:  # the kernel-side guard: clicks during a run are dropped
            return False
        self._refresh_banner()
        if s.image is None:
            self._show_message(PanelMessage("warning", "No image", "Pick a sample, upload a picture or type a path first."))
            return False
        kwargs = s.detect_kwargs()
        if not kwargs["prompt"]:
            self._show_message(PanelMessage("warning", "No prompt", "Type a prompt, or switch to the AI Studio template."))
            return False
        settings = {**kwargs, "fov_degrees": s.fov_degrees, "source": s.source, **s.client_kwargs()}
        recording = None
        if s.source == "recorded":
            settings, recording = self._recorded_settings(settings)
            if recording is None:
                self._show_message(PanelMessage(
                    "warning", "No recorded answer", "There is no recorded answer for this photo, prompt and detect type.",
                    "Choose Gemini live, or click Show a recorded answer (no key)."))
                return False
        record = RunRecord(
            number=s.next_number(), image=s.image, settings=settings,
            picture=self._picture, image_size=self._image_size, controls=s.snapshot(),
        )

        def on_start() -> None:
            self._set_busy(True)
            self.status.value = "Running… 0.0 s"
            self._show_message(None)

        return self.runner.start(
            functools.partial(self._call, record, recording),
            on_done=functools.partial(self._finish_run, record, recording),
            on_tick=self._tick,
            on_start=on_start,
        )

    def run(self, timeout: float | None = 300.0) -> RunRecord | None:
        """Run with the current settings and wait; returns the new record (None if it failed).

        Errors are shown in the panel as for a click; read ``panel.last_error`` for the exception.
        """
        before = len(self.state.history)
        self.last_error = None
        if not self.start_run():
            self.wait(timeout)
            return None
        if not self.wait(timeout):
            raise TimeoutError(f"the panel's run did not finish within {timeout} s")
        return self.state.history[-1] if len(self.state.history) > before else None

    def widget_state_bytes(self) -> int:
        """Bytes this panel adds to a notebook saved with its widget state (JupyterLab's
        "Save Widget State Automatically"): the JSON of every widget model it consists of."""
        import json

        from ipywidgets.embed import dependency_state

        state = dependency_state(self, drop_defaults=True)
        return len(json.dumps({"version_major": 2, "version_minor": 0, "state": state}).encode("utf-8"))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background run or sweep (if any) to finish; False on timeout."""
        return self.runner.wait(timeout)

    #: Keys of RunRecord.settings that are not ``Client.detect`` arguments.
    _NOT_DETECT = ("fov_degrees", "source", "backend", "timeout")

    def _call(self, record: RunRecord, recording: Any = None) -> Any:
        if recording is not None:  # no key, no network: the verbatim recording, parsed
            return recording.result()
        settings = {k: v for k, v in record.settings.items() if k not in self._NOT_DETECT}
        prompt = settings.pop("prompt")
        return self._get_client().detect(record.image.value, prompt, **settings)

    def _tick(self, elapsed_s: float) -> None:
        self.status.value = f"Running… {elapsed_s:.1f} s"

    def _finish_run(self, record: RunRecord, recording: Any, outcome: Outcome) -> None:
        try:
            record.elapsed_s = outcome.elapsed_s
            if outcome.error is not None:
                self._last_click = None  # a click right after a failure is a retry, not a double click
                record.error = outcome.error
                self._show_exception(outcome.error)
                if isinstance(outcome.error, MissingKeyError):
                    self._refresh_banner()
                self.status.value = f'<span style="color:#b00020">Failed after {outcome.elapsed_s:.1f} s.</span>'
                return
            record.result = outcome.value
            if getattr(record.result, "elapsed", 0) is None:
                record.result.elapsed = round(outcome.elapsed_s, 4)
            record.message = result_message(record, recording)
            record.status = status_text(record)
            self._adding_run = True
            try:
                self.state.add_run(record)  # shows the overlay and tabs
            finally:
                self._adding_run = False
            self._show_message(record.message)
            self.status.value = record.status  # "Done" only once all is shown
        except Exception as exc:  # noqa: BLE001 - show, never raise from the thread
            self._show_exception(exc)
        finally:
            self._set_busy(False)
