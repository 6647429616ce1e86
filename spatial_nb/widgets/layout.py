"""The panel's widgets and how they are arranged, with one scoped stylesheet for the responsive parts.

Order on the left follows the work: image, detect type, prompt, then Run at the top of the
settings, so Run stays above the fold on a laptop screen. The right column shows the picture and
the details; the lab (compare runs, sweep) spans the full width below so pictures compare at a
readable size. Stock ipywidgets only; the stylesheet (CSS container queries, scoped to
``.snb-panel``) stacks the columns when the panel is narrow and keeps every label whole.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from .messages import esc
from .state import BACKEND_LABELS, KIND_LABELS, MAX_SIZES, MEDIA_RESOLUTIONS, SOURCE_LABELS

__all__ = ["LayoutMixin", "model_choices", "PANEL_CSS", "UPLOAD_TYPES"]

UPLOAD_TYPES = ".jpg,.jpeg,.png,.webp,.gif"


def model_choices(current: str | None = None) -> list[str]:
    """Model ids for the pickers without any request: ``spatial_nb.models.picker_models()`` (current
    table ids, the default first, then models the cached live catalogue adds; no retired ids),
    plus ``current`` at the end when it is a typed id the list does not hold."""
    from ..models import picker_models

    names = list(dict.fromkeys(picker_models()))
    if current and current.strip() and current.strip() not in names:
        names.append(current.strip())
    return names


#: Everything visual that stock widget layouts cannot say: wrapping buttons, whole labels,
#: stacking below 900 px of panel width (container query, so the JupyterLab side bar counts).
PANEL_CSS = """<style>
.snb-panel { container-type: inline-size; container-name: snbpanel; width: 100%; box-sizing: border-box; }
.snb-panel .snb-main { display: flex; flex-flow: row wrap; gap: 8px 18px; align-items: flex-start; width: 100%; }
.snb-panel .snb-controls { flex: 0 1 390px; min-width: 0; max-width: 100%; }
.snb-panel .snb-results { flex: 1 1 480px; min-width: 0; }
@container snbpanel (max-width: 900px) {
  .snb-panel .snb-controls { flex: 1 1 100%; }
  .snb-panel .snb-results { flex: 1 1 100%; }
}
.snb-panel .snb-section { font-weight: 600; margin: 8px 0 2px; border-bottom: 1px solid #e0e0e0; line-height: 1.6; }
.snb-panel .snb-controls .widget-inline-hbox, .snb-panel .snb-results .widget-inline-hbox { align-self: stretch; min-width: 0; }
.snb-panel .widget-label { overflow: visible; text-overflow: clip; }
.snb-panel .snb-toggles > div { display: flex; flex-wrap: wrap; gap: 4px; }
.snb-panel .snb-toggles .widget-toggle-button, .snb-panel .snb-toggles .jupyter-button {
  width: auto !important; min-width: max-content; flex: 1 1 auto; margin: 0 !important; overflow: visible;
}
.snb-panel .jupyter-button { overflow: visible; text-overflow: clip; }
.snb-panel .snb-auto { width: auto !important; min-width: max-content; }
.snb-panel .snb-run-row { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; margin: 8px 0 2px; }
.snb-panel .snb-run { width: 120px; font-weight: 600; }
.snb-panel .snb-status { flex: 1 1 160px; min-width: 0; }
.snb-panel .snb-prompt textarea { font-family: inherit; font-size: 13px; line-height: 1.35; resize: vertical; min-height: 5.6em; }
.snb-panel .snb-checkbox { width: auto !important; }
.snb-panel .snb-timeout { width: auto !important; max-width: 260px; }
.snb-panel .snb-source-note { font-size: 12px; color: #555; line-height: 1.35; margin: 0 0 2px 4px; }
.snb-panel .snb-lab { width: auto; align-self: stretch; margin-top: 10px; }
.snb-panel .lm-TabBar, .snb-panel .p-TabBar { min-height: var(--jp-widgets-horizontal-tab-height, 24px); height: auto !important; }
.snb-panel .lm-TabBar-content, .snb-panel .p-TabBar-content { flex-wrap: wrap; }
.snb-panel .lm-TabBar-tab, .snb-panel .p-TabBar-tab { flex: 0 0 auto !important; min-width: max-content !important; max-width: none !important; }
.snb-panel .lm-TabBar-tabLabel, .snb-panel .p-TabBar-tabLabel { overflow: visible; text-overflow: clip; }
.snb-panel .snb-path-row { display: flex; flex-flow: row wrap; gap: 4px; width: 100%; }
.snb-panel .snb-path { flex: 1 1 150px; min-width: 120px; width: auto !important; }
.snb-panel .snb-lab select[multiple] { min-height: 7em; }
.snb-panel .snb-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); gap: 14px; align-items: start; }
.snb-panel .snb-card { min-width: 0; border: 1px solid #e3e3e3; border-radius: 4px; padding: 6px; background: #fff; }
.snb-panel .snb-cap { font-size: 13px; line-height: 1.35; color: #333; margin-bottom: 6px; }
.snb-panel .snb-cap > div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.snb-panel .snb-cap .snb-cap-prompt { white-space: normal; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; height: 2.7em; color: #555; }
.snb-panel .snb-cap .snb-cap-diff { white-space: normal; height: 2.7em; overflow: hidden; }
.snb-panel .snb-pic { position: relative; line-height: 0; }
.snb-panel .snb-pic .snb-overlay, .snb-panel .snb-pic .snb-overlay > svg { width: 100% !important; max-width: 100%; height: auto; }
.snb-panel .snb-diff-layer { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.snb-panel .snb-fit > .snb-overlay, .snb-panel .snb-fit > .snb-overlay > svg { width: 100% !important; max-width: 100%; height: auto; }
.snb-panel .snb-tag { display: inline-block; padding: 0 5px; border-radius: 3px; font-size: 12px; margin-right: 4px; }
.snb-panel .snb-tag-new { background: #fde7f3; color: #9c1d6b; }
.snb-panel .snb-tag-missing { background: #eeeeee; color: #444; }
.snb-panel .snb-tag-moved { background: #fff1db; color: #8a4b00; }
.snb-panel .snb-tag-relabelled { background: #e6f0ff; color: #17457a; }
</style>"""


def _section(title: str) -> W.HTML:
    return W.HTML(f'<div class="snb-section">{esc(title)}</div>')


class LayoutMixin:
    """Builds the widgets (``_build``) and arranges them (``_arrange``); the Panel wires them up."""

    state: Any
    _samples: list[Any]

    def _build(self) -> None:  # noqa: PLR0915 - one flat list of widgets reads best
        s = self.state
        desc = {"description_width": "128px"}  # the longest label, "Media resolution", fits with room to spare

        def wide(**kw: Any) -> W.Layout:  # a fresh Layout each time: a shared one would hide/show together
            return W.Layout(width="auto", **kw)  # auto: stretched to the column, margins included

        # image
        sample_options = [("(choose a sample)", "")] + [
            (str(getattr(x, "title", None) or x.name), str(x.name)) for x in self._samples
        ]
        self.sample_picker = W.Dropdown(options=sample_options, value="", description="Sample", style=desc, layout=wide())
        self.upload = W.FileUpload(accept=UPLOAD_TYPES, multiple=False, description="Upload image", layout=W.Layout(width="auto"))
        self.path_text = W.Text(placeholder="or a file path, e.g. images/coffee.jpg", continuous_update=False)
        self.path_button = W.Button(description="Load", layout=W.Layout(width="64px"))
        self.image_info = W.HTML()

        # detect type
        self.kind_buttons = W.ToggleButtons(options=[(label, kind) for kind, label in KIND_LABELS.items()], value=s.kind, layout=wide())
        self.model_note = W.HTML()

        # prompt
        self.prompt_mode = W.ToggleButtons(
            options=[("AI Studio template", "template"), ("Sample or own prompt", "free")], value=s.prompt_mode, layout=wide(),
        )
        self.target_text = W.Text(value=s.target, description="Detect", style=desc, layout=wide())
        self.label_text = W.Text(value=s.label_with, description="Label each with", placeholder="optional, e.g. its colour", style=desc, layout=wide())
        self.template_preview = W.HTML()
        self.template_box = W.VBox([self.target_text, self.label_text, self.template_preview], layout=wide())
        self.sample_prompts = W.Dropdown(options=[("(no sample prompts for this image)", "")], value="", description="Sample prompt", style=desc, layout=wide())
        self.prompt_box = W.Textarea(value=s.free_prompt, rows=4, placeholder="Type a prompt, or pick a sample prompt above", continuous_update=True, layout=wide())
        self.free_box = W.VBox([self.sample_prompts, self.prompt_box], layout=wide())
        self.source_buttons = W.ToggleButtons(
            options=[(label, value) for value, label in SOURCE_LABELS.items()], value=s.source, layout=wide(),
            tooltips=["Send the picture and the prompt to Gemini (needs a key)",
                      "Replay the answer Google's cookbook quotes for this photo and prompt (no key, no network)"],
        )
        self.source_note = W.HTML()
        self.raw_toggle = W.ToggleButton(value=False, description="Show raw prompt", icon="eye", layout=W.Layout(width="auto"))
        self.raw_view = W.HTML(layout=W.Layout(display="none", border="1px solid #ddd", padding="4px"))

        # run
        self.run_button = W.Button(description="Run", button_style="primary", icon="play", tooltip="Send the picture and the prompt to Gemini")
        self.status = W.HTML(value="Ready.")
        self.message = W.HTML()

        # settings (other settings slot in through _settings_rows)
        self.temperature = W.FloatSlider(value=s.temperature, min=0.0, max=2.0, step=0.05, description="Temperature", style=desc, layout=wide(), readout_format=".2f")
        self.model_box = W.Combobox(value=s.model, options=tuple(model_choices(s.model)), ensure_option=False, description="Model", style=desc, layout=wide())
        self.max_size = W.Dropdown(options=list(MAX_SIZES), value="640 px", description="Max size", style=desc, layout=wide())
        self.media_resolution = W.Dropdown(
            options=list(MEDIA_RESOLUTIONS.items()), value=s.media_resolution, description="Media resolution", style=desc,
            layout=wide(), tooltip="Image tokens per picture; Google suggests high when boxes come back off",
        )
        self.backend = W.Dropdown(
            options=[(label, value) for value, label in BACKEND_LABELS.items()], value=s.backend, description="Request path",
            style=desc, layout=wide(), tooltip="generate_content (default) or the Interactions API (sent with store=False)",
        )
        self.timeout = W.BoundedIntText(
            value=int(round(s.timeout_s)), min=1, max=3600, step=5, description="Timeout (s)", style=desc, layout=wide(),
            tooltip="Seconds one request may take before the panel gives up",
        )
        self.fov = W.FloatSlider(value=s.fov_degrees, min=20.0, max=120.0, step=1.0, description="FOV (°)", style=desc, layout=W.Layout(width="auto", display="none"), readout_format=".0f")
        self.structured = W.Checkbox(value=s.structured, description="Structured output (JSON schema)", indent=False, layout=W.Layout(width="auto"))
        self.settings_box = W.VBox(self._settings_rows(), layout=wide())

        # results
        self.overlay = W.HTML(layout=wide())
        self.history_picker = W.Dropdown(options=[("(no runs yet)", -1)], value=-1, description="Show run", style={"description_width": "70px"}, layout=wide())
        self.json_view = W.HTML()
        self.raw_text_view = W.HTML()
        self.warnings_view = W.HTML()
        self.request_view = W.HTML()
        self._build_downloads()
        self.tabs = W.Tab(children=[self.json_view, self.raw_text_view, self.warnings_view, self.request_view, self.download_box], layout=wide())
        self.tabs.titles = ("Parsed JSON", "Raw text", "Warnings", "Request", "Download")

        # the lab: compare runs, sweep models/temperatures
        self.compare_picker = W.SelectMultiple(options=[], value=(), rows=5, description="Runs", style={"description_width": "50px"}, layout=W.Layout(width="auto", flex="1 1 300px"))
        self.compare_last = W.Button(description="Last two runs", icon="columns", layout=W.Layout(width="auto"))
        self.compare_view = W.HTML(value=self._lab_hint("compare"))
        self.sweep_models = W.SelectMultiple(options=tuple(model_choices()), value=(), rows=5, description="Models", style={"description_width": "110px"}, layout=W.Layout(width="auto"))
        self.sweep_temperatures = W.Text(placeholder="e.g. 0.2, 1.0 (empty: the Temperature setting)", description="Temperatures", style={"description_width": "110px"}, layout=W.Layout(width="auto"))
        self.sweep_button = W.Button(description="Run sweep", icon="th", button_style="info", layout=W.Layout(width="auto"))
        self.sweep_status = W.HTML()
        self.sweep_view = W.HTML(value=self._lab_hint("sweep"))
        compare_tab = W.VBox([
            W.HBox([self.compare_picker, self.compare_last], layout=W.Layout(width="auto", align_items="flex-start", flex_flow="row wrap", grid_gap="8px")),
            self.compare_view,
        ])
        sweep_tab = W.VBox([
            self.sweep_models, self.sweep_temperatures,
            W.HBox([self.sweep_button, self.sweep_status], layout=W.Layout(align_items="center", grid_gap="10px")),
            self.sweep_view,
        ])
        self.lab_tabs = W.Tab(children=[compare_tab, sweep_tab])
        self.lab_tabs.titles = ("Compare runs", "Sweep models / temperatures")

        self.banner = W.HTML()
        self.try_recording = W.Button(
            description="Show a recorded answer (no key)", icon="history",
            layout=W.Layout(width="auto", display="none", align_self="flex-start", margin="2px 0 6px 0"),
            tooltip="Replay an answer Google's cookbook quotes for one of the bundled photos: no key, no network",
        )
        self.banner_box = W.VBox([self.banner, self.try_recording], layout=W.Layout(width="auto"))
        for widget, cls in [
            (self.sample_picker, "snb-sample-picker"), (self.upload, "snb-upload"), (self.path_text, "snb-path"),
            (self.kind_buttons, "snb-kind"), (self.prompt_mode, "snb-prompt-mode"), (self.prompt_box, "snb-prompt"),
            (self.sample_prompts, "snb-sample-prompts"), (self.template_preview, "snb-template-preview"),
            (self.temperature, "snb-temperature"), (self.model_box, "snb-model"), (self.max_size, "snb-max-size"),
            (self.fov, "snb-fov"), (self.structured, "snb-structured"), (self.run_button, "snb-run"),
            (self.media_resolution, "snb-media-resolution"), (self.backend, "snb-backend"), (self.timeout, "snb-timeout"),
            (self.source_buttons, "snb-source"), (self.source_note, "snb-source-note"),
            (self.status, "snb-status"), (self.message, "snb-message"), (self.overlay, "snb-overlay-view"),
            (self.history_picker, "snb-history"), (self.compare_picker, "snb-compare"), (self.tabs, "snb-tabs"),
            (self.raw_view, "snb-raw-prompt"), (self.raw_toggle, "snb-raw-toggle"), (self.banner, "snb-banner"),
            (self.compare_view, "snb-compare-view-box"), (self.compare_last, "snb-compare-last"),
            (self.sweep_models, "snb-sweep-models"), (self.sweep_temperatures, "snb-sweep-temperatures"),
            (self.sweep_button, "snb-sweep"), (self.sweep_status, "snb-sweep-status"), (self.sweep_view, "snb-sweep-view-box"),
            (self.lab_tabs, "snb-lab"), (self.structured, "snb-checkbox"), (self.try_recording, "snb-try-recording"),
        ]:
            widget.add_class(cls)
        for toggles in (self.kind_buttons, self.prompt_mode, self.source_buttons):
            toggles.add_class("snb-toggles")
        for button in (self.upload, self.raw_toggle, self.compare_last, self.sweep_button, self.try_recording):
            button.add_class("snb-auto")

    def _settings_rows(self) -> list[W.Widget]:
        """The settings below Run, top to bottom; a new setting is one more widget here."""
        return [self.temperature, self.model_box, self.max_size, self.media_resolution, self.backend, self.timeout,
                self.fov, self.structured]

    @staticmethod
    def _lab_hint(which: str) -> str:
        if which == "compare":
            text = "Pick two or more runs (Ctrl- or Shift-click) to see them side by side, differences marked."
        else:
            text = ("Pick models (Ctrl- or Shift-click) and optionally temperatures, then Run sweep: the same "
                    "picture and prompt go to each, shown side by side with tokens, time and agreement.")
        return f'<div class="snb-lab-hint" style="color:#555;font-size:13px;margin:6px 2px">{esc(text)}</div>'

    def _arrange(self) -> list[W.Widget]:
        left = W.VBox(
            [
                _section("Image"), self.sample_picker,
                W.HBox([self.upload, self.path_text, self.path_button]).add_class("snb-path-row"),
                self.image_info,
                _section("Detect type"), self.kind_buttons, self.model_note,
                _section("Prompt"), self.prompt_mode, self.template_box, self.free_box,
                self.source_buttons, self.source_note,
                W.HBox([self.run_button, self.status]).add_class("snb-run-row"),
                self.message,
                _section("Settings"), self.settings_box, self.raw_toggle, self.raw_view,
            ],
        ).add_class("snb-controls")
        right = W.VBox([self.overlay, self.history_picker, self.tabs]).add_class("snb-results")
        header = W.HTML('<h3 style="margin:2px 0;line-height:1.3">Spatial understanding with Gemini</h3>')
        main = W.HBox([left, right]).add_class("snb-main")
        return [W.HTML(PANEL_CSS, layout=W.Layout(height="0px", overflow="hidden")), self.banner_box, header, main, self.lab_tabs]
