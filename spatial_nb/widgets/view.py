"""The panel's widgets: a stock-ipywidgets view of a :class:`PanelState`, like AI Studio's app.

Left column: image picker, detect type, prompt, settings, Run. Right column: the picture or
the HTML/SVG overlay of the shown run, a history to flip back or compare side by side, and
tabs with the parsed JSON, raw model text, warnings, request and download links. The view
holds no settings of its own: widgets are linked to the state, and every callback is wrapped
so an exception becomes an escaped message in the panel instead of a traceback in the log.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import os
import re
from typing import Any

import ipywidgets as W
import traitlets

from .messages import NOTHING_READ, PanelMessage, describe_error, esc, log_failure, message_html, redact
from .runner import BackgroundRunner, Outcome
from .state import KIND_LABELS, MAX_SIZES, ImageChoice, PanelState, RunRecord

__all__ = ["Panel"]

log = logging.getLogger(__name__)

#: Longest side of the picture kept for display, overlays and the overlay PNG download.
DISPLAY_MAX_SIDE = 1024
#: Height cap of the shown picture in CSS pixels (the width follows the column).
DISPLAY_MAX_HEIGHT_PX = 560
_UPLOAD_TYPES = ".jpg,.jpeg,.png,.webp,.gif"


def _guard(method):
    """Wrap a callback so any exception is shown in the panel, never raised into the kernel log."""

    @functools.wraps(method)
    def wrapper(self: Panel, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            log_failure(log, f"panel callback {method.__name__}", exc)
            self._show_exception(exc)
            return None

    return wrapper


def _model_names() -> list[str]:
    try:
        from ..models import KNOWN_MODELS
    except ImportError:
        return ["gemini-2.5-flash"]
    names = []
    for m in KNOWN_MODELS:
        name = m if isinstance(m, str) else getattr(m, "name", str(m))
        if name not in names:
            names.append(name)
    return names


def _list_samples() -> list[Any]:
    try:
        from ..samples import list_samples
    except ImportError:
        return []
    try:
        return list(list_samples())
    except Exception as exc:  # noqa: BLE001 - a broken sample list must not break the panel
        log_failure(log, "list_samples", exc)
        return []


def _jpeg_data_url(picture: Any, quality: int = 85) -> str:
    buf = io.BytesIO()
    picture.convert("RGB").save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fit_width_css(width: int, height: int, max_height_px: int = DISPLAY_MAX_HEIGHT_PX) -> str:
    """CSS width that fills the column but keeps the height <= ``max_height_px`` (scales small pictures up)."""
    return f"min(100%, {max(1, round(max_height_px * width / max(1, height)))}px)"


#: Makes an overlay's <svg> fill its ``.snb-fit`` box (the box's width is set by ``_fit_width_css``).
_FIT_CSS = "<style>.snb-fit > .snb-overlay, .snb-fit > .snb-overlay > svg{width:100% !important;max-width:100%;height:auto}</style>"


def _fit(inner_html: str, size: tuple[int, int]) -> str:
    """Wrap a picture's HTML in a box as wide as the column allows within the display height cap."""
    return f'<div class="snb-fit" style="width:{_fit_width_css(*size)};line-height:0">{inner_html}</div>'


def _human_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


_LINK_STYLE = (
    "display:inline-block;padding:4px 12px;border:1px solid #1976d2;border-radius:3px;"
    "color:#1976d2;text-decoration:none;font-size:13px;line-height:1.6"
)


def _safe_stem(name: str) -> str:
    stem = os.path.splitext(os.path.basename(str(name)))[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")
    return stem[:40] or "image"


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


def _pre(text: str, max_height_px: int = 420) -> str:
    return (
        f'<pre class="snb-pre" style="white-space:pre-wrap;word-break:break-word;max-height:{max_height_px}px;'
        f'overflow:auto;margin:0;font-size:12px;line-height:1.35">{esc(text)}</pre>'
    )


def _total_tokens(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    for key in ("total_tokens", "total_token_count", "totalTokenCount"):
        if isinstance(usage.get(key), int):
            return usage[key]
    return None


class Panel(W.VBox):
    """An ipywidgets panel to try Gemini's spatial understanding on a picture.

    Args:
        client: A ``spatial_nb.Client``; None creates one at the first Run (so a missing
            key is reported inside the panel, not raised here).
        image: Sample name, file path, or bytes to start with (default: the first sample).
        kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``.
        model: Model name (default: the client's / ``SPATIAL_NB_MODEL`` / the default model).
        prompt: A free prompt to start with (switches the prompt mode to free text).
        temperature: Sampling temperature, 0-2.

    Example:
        >>> import spatial_nb as snb               # doctest: +SKIP
        >>> panel = snb.Panel(); panel             # doctest: +SKIP
        >>> record = panel.run()                   # same as clicking Run, then waiting
    """

    def __init__(
        self,
        client: Any = None,
        *,
        image: Any = None,
        kind: str = "boxes",
        model: str | None = None,
        prompt: str | None = None,
        temperature: float = 0.5,
        **kwargs: Any,
    ):
        self.client = client
        default_model = model or os.environ.get("SPATIAL_NB_MODEL") or getattr(client, "model", None)
        state_kw: dict[str, Any] = {"kind": kind, "temperature": temperature}
        if isinstance(default_model, str) and default_model:
            state_kw["model"] = default_model
        self.state = PanelState(**state_kw)
        self.runner = BackgroundRunner()
        self.last_error: BaseException | None = None
        self._picture: Any = None  # display-size PIL image of state.image
        self._image_size: tuple[int, int] | None = None  # the original's upright (width, height)
        self._png_runner = BackgroundRunner()  # the on-demand full-size overlay PNG
        self._png_record: RunRecord | None = None  # the run the full-size PNG button is for
        self._overlay_cache: dict[int, str] = {}
        self._quiet = False  # True while the view itself sets widget values
        self._samples = _list_samples()
        self._build()
        super().__init__(children=self._layout(), **kwargs)
        self.add_class("snb-panel")
        self._link()
        if prompt is not None:
            self.state.prompt_mode = "free"
            self.state.free_prompt = prompt
        self._choose_initial_image(image)
        self._refresh_prompt_views()

    # ------------------------------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        s = self.state

        def wide() -> W.Layout:  # a fresh Layout each time: a shared one would hide/show together
            return W.Layout(width="96%")
        desc = {"description_width": "110px"}

        # image picker
        sample_options = [("(choose a sample)", "")] + [
            (str(getattr(x, "title", None) or x.name), str(x.name)) for x in self._samples
        ]
        self.sample_picker = W.Dropdown(options=sample_options, value="", description="Sample", style=desc, layout=wide())
        self.upload = W.FileUpload(accept=_UPLOAD_TYPES, multiple=False, description="Upload image")
        self.path_text = W.Text(placeholder="or a file path, e.g. images/coffee.jpg", continuous_update=False, layout=W.Layout(flex="1"))
        self.path_button = W.Button(description="Load", layout=W.Layout(width="70px"))
        self.image_info = W.HTML()

        # detect type
        self.kind_buttons = W.ToggleButtons(
            options=[(label, kind) for kind, label in KIND_LABELS.items()],
            value=s.kind,
            style={"button_width": "150px"},
        )
        self.model_note = W.HTML()

        # prompt
        self.prompt_mode = W.ToggleButtons(
            options=[("Detect items (AI Studio)", "template"), ("Sample / free prompt", "free")],
            value=s.prompt_mode,
            style={"button_width": "175px"},
        )
        self.target_text = W.Text(value=s.target, description="Detect", style=desc, layout=wide())
        self.label_text = W.Text(value=s.label_with, description="Label each with", placeholder="optional, e.g. its colour", style=desc, layout=wide())
        self.prompt_box = W.Combobox(
            value=s.free_prompt, options=(), ensure_option=False,
            placeholder="type a prompt or pick a sample prompt", description="Prompt", style=desc, layout=wide(),
        )
        self.template_box = W.VBox([self.target_text, self.label_text])
        self.raw_toggle = W.ToggleButton(value=False, description="Show raw prompt", icon="eye")
        self.raw_view = W.HTML(layout=W.Layout(display="none", border="1px solid #ddd", padding="4px"))

        # settings
        self.temperature = W.FloatSlider(value=s.temperature, min=0.0, max=2.0, step=0.05, description="Temperature", style=desc, layout=wide(), readout_format=".2f")
        self.model_box = W.Combobox(value=s.model, options=tuple(_model_names()), ensure_option=False, description="Model", style=desc, layout=wide())
        self.max_size = W.Dropdown(options=list(MAX_SIZES), value="640 px", description="Max size", style=desc)
        self.fov = W.FloatSlider(value=s.fov_degrees, min=20.0, max=120.0, step=1.0, description="FOV (°)", style=desc, layout=W.Layout(width="100%", display="none"), readout_format=".0f")
        self.structured = W.Checkbox(value=s.structured, description="Structured output (JSON schema)", indent=False)

        # run
        self.run_button = W.Button(description="Run", button_style="primary", icon="play", layout=W.Layout(width="120px"))
        self.status = W.HTML(value="Ready.")
        self.message = W.HTML()

        # results
        self.overlay = W.HTML(layout=W.Layout(width="100%"))
        self.history_picker = W.Dropdown(options=[("(no runs yet)", -1)], value=-1, description="Show run", style={"description_width": "70px"}, layout=W.Layout(flex="1"))
        self.compare_picker = W.Dropdown(options=[("(none)", -1)], value=-1, description="Compare", style={"description_width": "60px"}, layout=W.Layout(flex="1"))
        self.json_view = W.HTML()
        self.raw_text_view = W.HTML()
        self.warnings_view = W.HTML()
        self.request_view = W.HTML()
        self.downloads = W.HTML()
        self.full_png_button = W.Button(description="Make full-size overlay PNG", icon="image", layout=W.Layout(width="auto", display="none"))
        self.full_png_link = W.HTML()
        self.download_box = W.VBox([
            self.downloads,
            W.HBox([self.full_png_button, self.full_png_link], layout=W.Layout(align_items="center", margin="8px 0 0 0")),
        ])
        self.tabs = W.Tab(children=[self.json_view, self.raw_text_view, self.warnings_view, self.request_view, self.download_box])
        self.tabs.titles = ("Parsed JSON", "Raw text", "Warnings", "Request", "Download")

        # hooks for browser tests and custom CSS
        for widget, cls in [
            (self.sample_picker, "snb-sample-picker"), (self.upload, "snb-upload"), (self.path_text, "snb-path"),
            (self.kind_buttons, "snb-kind"), (self.prompt_mode, "snb-prompt-mode"), (self.prompt_box, "snb-prompt"),
            (self.temperature, "snb-temperature"), (self.model_box, "snb-model"), (self.max_size, "snb-max-size"),
            (self.fov, "snb-fov"), (self.structured, "snb-structured"), (self.run_button, "snb-run"),
            (self.status, "snb-status"), (self.message, "snb-message"), (self.overlay, "snb-overlay-view"),
            (self.history_picker, "snb-history"), (self.compare_picker, "snb-compare"), (self.tabs, "snb-tabs"),
            (self.raw_view, "snb-raw-prompt"), (self.raw_toggle, "snb-raw-toggle"),
            (self.full_png_button, "snb-full-png"), (self.full_png_link, "snb-full-png-link"),
        ]:
            widget.add_class(cls)

    def _layout(self) -> list[W.Widget]:
        def section(title: str) -> W.HTML:
            return W.HTML(f'<div style="font-weight:600;margin-top:8px;border-bottom:1px solid #e0e0e0">{esc(title)}</div>')

        left = W.VBox(
            [
                section("Image"), self.sample_picker, self.upload,
                W.HBox([self.path_text, self.path_button], layout=W.Layout(width="100%")), self.image_info,
                section("Detect type"), self.kind_buttons, self.model_note,
                section("Prompt"), self.prompt_mode, self.template_box, self.prompt_box,
                self.raw_toggle, self.raw_view,
                section("Settings"), self.temperature, self.model_box, self.max_size, self.fov, self.structured,
                W.HBox([self.run_button, self.status], layout=W.Layout(align_items="center", margin="10px 0 0 0")),
                self.message,
            ],
            layout=W.Layout(width="380px", min_width="320px", padding="0 12px 0 0"),
        )
        right = W.VBox(
            [self.overlay, W.HBox([self.history_picker, self.compare_picker], layout=W.Layout(width="100%")), self.tabs],
            layout=W.Layout(flex="1 1 420px", min_width="320px"),
        )
        header = W.HTML('<h3 style="margin:4px 0">Spatial understanding with Gemini</h3>')
        return [header, W.HBox([left, right], layout=W.Layout(flex_flow="row wrap", width="100%", align_items="flex-start"))]

    def _link(self) -> None:
        s = self.state
        for widget, name in [
            (self.kind_buttons, "kind"), (self.prompt_mode, "prompt_mode"), (self.target_text, "target"),
            (self.label_text, "label_with"), (self.prompt_box, "free_prompt"), (self.temperature, "temperature"),
            (self.model_box, "model"), (self.fov, "fov_degrees"), (self.structured, "structured"),
        ]:
            traitlets.link((widget, "value"), (s, name))
        size_of = MAX_SIZES
        label_of = {v: k for k, v in MAX_SIZES.items()}
        traitlets.link(
            (self.max_size, "value"), (s, "max_size"),
            transform=(lambda label: size_of[label], lambda size: label_of.get(size, "640 px")),
        )
        s.observe(self._on_kind, names=["kind"])
        s.observe(self._on_prompt_settings, names=["kind", "prompt_mode", "target", "label_with", "free_prompt", "model", "temperature", "max_size", "structured", "system_instruction"])
        s.observe(self._on_history, names=["history"])
        s.observe(self._on_selected, names=["selected"])
        self.raw_toggle.observe(self._on_raw_toggle, names=["value"])
        self.sample_picker.observe(self._on_sample, names=["value"])
        self.upload.observe(self._on_upload, names=["value"])
        self.path_text.observe(self._on_path, names=["value"])
        self.path_button.on_click(self._on_path_button)
        self.run_button.on_click(self._on_run_click)
        self.history_picker.observe(self._on_history_pick, names=["value"])
        self.compare_picker.observe(self._on_compare_pick, names=["value"])
        self.full_png_button.on_click(self._on_full_png_click)

    # ------------------------------------------------------------------------------------------
    # messages
    # ------------------------------------------------------------------------------------------
    def _show_message(self, msg: PanelMessage | None) -> None:
        self.message.value = message_html(msg) if msg else ""

    def _show_exception(self, exc: BaseException) -> None:
        self.last_error = exc
        try:
            self._show_message(describe_error(exc))
        except Exception:  # noqa: BLE001 - last resort, still no traceback
            self.message.value = f"<b>Error</b>: {esc(type(exc).__name__)}"

    # ------------------------------------------------------------------------------------------
    # image choice
    # ------------------------------------------------------------------------------------------
    def _choose_initial_image(self, image: Any) -> None:
        if image is None:
            if self._samples:
                self.sample_picker.value = str(self._samples[0].name)
            return
        sample_name = self._sample_name(image)
        if sample_name is not None:
            self.sample_picker.value = sample_name
        elif isinstance(image, (str, os.PathLike)):
            self.path_text.value = os.fspath(image)
        else:
            self.set_image(ImageChoice("upload", "image", image))

    def _sample_name(self, image: Any) -> str | None:
        """The bundled sample ``image`` names ("coffee", "coffee.jpg"), unless it is a real file."""
        if not isinstance(image, str) or os.path.exists(image):
            return None
        try:
            from ..samples import sample

            name = str(sample(image).name)
        except (ImportError, LookupError, ValueError):
            return None
        return name if any(str(x.name) == name for x in self._samples) else None

    @_guard
    def set_image(self, choice: ImageChoice) -> bool | None:
        """Load ``choice`` (validating it), make it the panel's image and show it; True when done.

        A picture that cannot be read leaves the current image and shows why in the panel.
        """
        from ..images import load_image

        picture = load_image(choice.value)
        width, height = picture.size
        shown = picture.copy()
        shown.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE))
        self._picture = shown
        self._image_size = (width, height)
        self.state.image = choice
        self._show_message(None)
        self.image_info.value = (
            f'<span style="color:#555;font-size:12px">{esc(choice.name)} · {width}×{height} px</span>'
        )
        self._refresh_prompt_options(previous_kind=None)
        if self.state.current is None or self.state.current.image != choice:
            self._show_preview()
        return True

    def _show_preview(self) -> None:
        if self._picture is None:
            self.overlay.value = ""
            return
        self.overlay.value = (
            f'<div class="snb-preview"><img alt="{esc(self.state.image.name)}" src="{_jpeg_data_url(self._picture)}" '
            f'style="width:{_fit_width_css(*self._picture.size)};height:auto;display:block"></div>'
        )

    @_guard
    def _on_sample(self, change: dict) -> None:
        if self._quiet or not change["new"]:
            return
        sample = next(x for x in self._samples if str(x.name) == change["new"])
        self.set_image(ImageChoice("sample", str(getattr(sample, "title", None) or sample.name), os.fspath(sample.path), sample=str(sample.name)))

    @_guard
    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        f = files[-1]
        name = str(f.get("name") if isinstance(f, dict) else getattr(f, "name", "upload"))
        content = f.get("content") if isinstance(f, dict) else getattr(f, "content", b"")
        if self.set_image(ImageChoice("upload", name, bytes(content))):
            self._reset_picker()

    @_guard
    def _on_path(self, change: dict) -> None:
        if change["new"].strip():
            self._load_path()

    @_guard
    def _on_path_button(self, _button: Any) -> None:
        self._load_path()

    def _load_path(self) -> None:
        path = os.path.expanduser(self.path_text.value.strip())
        if not path:
            self._show_message(PanelMessage("warning", "No path", "Type a file path first.", ""))
            return
        if self.set_image(ImageChoice("path", os.path.basename(path) or path, path)):
            self._reset_picker()

    def _reset_picker(self) -> None:
        self._quiet = True
        try:
            self.sample_picker.value = ""
        finally:
            self._quiet = False

    # ------------------------------------------------------------------------------------------
    # prompt and settings
    # ------------------------------------------------------------------------------------------
    @_guard
    def _on_kind(self, change: dict) -> None:
        self.fov.layout.display = "" if change["new"] == "boxes3d" else "none"
        self._refresh_prompt_options(previous_kind=change["old"])

    def _refresh_prompt_options(self, previous_kind: str | None) -> None:
        s = self.state
        new = s.sample_prompts()
        old_options = set(self.prompt_box.options)
        self.prompt_box.options = tuple(new)  # reassign, never mutate
        if new and (not s.free_prompt.strip() or s.free_prompt in old_options):
            s.free_prompt = new[0]

    @_guard
    def _on_prompt_settings(self, _change: dict | None = None) -> None:
        self._refresh_prompt_views()

    def _refresh_prompt_views(self) -> None:
        s = self.state
        free = s.prompt_mode == "free"
        self.template_box.layout.display = "none" if free else ""
        self.prompt_box.layout.display = "" if free else "none"
        warning = s.model_warning()
        self.model_note.value = message_html(PanelMessage("warning", "Model", warning)) if warning else ""
        if self.raw_toggle.value:
            self.raw_view.value = _pre(s.raw_prompt(), max_height_px=260)

    @_guard
    def _on_raw_toggle(self, change: dict) -> None:
        self.raw_view.layout.display = "" if change["new"] else "none"
        self.raw_toggle.description = "Hide raw prompt" if change["new"] else "Show raw prompt"
        self._refresh_prompt_views()

    # ------------------------------------------------------------------------------------------
    # running
    # ------------------------------------------------------------------------------------------
    @_guard
    def _on_run_click(self, _button: Any = None) -> None:
        self.start_run()

    def start_run(self) -> bool:
        """Start a run in the background; False (and nothing sent) when one is running already."""
        s = self.state
        if self.runner.busy:
            return False
        if s.image is None:
            self._show_message(PanelMessage("warning", "No image", "Pick a sample, upload a picture or type a path first."))
            return False
        kwargs = s.detect_kwargs()
        if not kwargs["prompt"]:
            self._show_message(PanelMessage("warning", "No prompt", "Type a prompt (or switch to 'Detect items') first."))
            return False
        record = RunRecord(
            number=s.next_number(), image=s.image,
            settings={**kwargs, "fov_degrees": s.fov_degrees}, picture=self._picture, image_size=self._image_size,
        )

        def on_start() -> None:
            s.running = True
            self.run_button.disabled = True
            self.run_button.description = "Running…"
            self.status.value = "Running… 0.0 s"
            self._show_message(None)

        return self.runner.start(
            functools.partial(self._call, record),
            on_done=functools.partial(self._finish_run, record),
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

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background run (if any) to finish; False on timeout."""
        return self.runner.wait(timeout)

    def _get_client(self) -> Any:
        if self.client is None:
            from ..client import Client

            self.client = Client()
        return self.client

    def _call(self, record: RunRecord) -> Any:
        settings = {k: v for k, v in record.settings.items() if k != "fov_degrees"}
        prompt = settings.pop("prompt")
        return self._get_client().detect(record.image.value, prompt, **settings)

    def _tick(self, elapsed_s: float) -> None:
        self.status.value = f"Running… {elapsed_s:.1f} s"

    def _finish_run(self, record: RunRecord, outcome: Outcome) -> None:
        try:
            record.elapsed_s = outcome.elapsed_s
            if outcome.error is not None:
                record.error = outcome.error
                self.last_error = outcome.error
                self._show_exception(outcome.error)
                self.status.value = f'<span style="color:#b00020">Failed after {outcome.elapsed_s:.1f} s.</span>'
            else:
                record.result = outcome.value
                self._show_message(self._result_message(record))
                self.state.add_run(record)  # shows the overlay and tabs
                self.status.value = self._status_text(record)  # "Done" only once all is shown
        except Exception as exc:  # noqa: BLE001 - show, never raise from the thread
            self._show_exception(exc)
        finally:
            self.state.running = False
            self.run_button.disabled = False
            self.run_button.description = "Run"

    @staticmethod
    def _status_text(record: RunRecord) -> str:
        res = record.result
        parts = [f"Done in {record.elapsed_s:.1f} s", f"{len(res)} items"]
        tokens = _total_tokens(getattr(res, "usage", None))
        if tokens is not None:
            parts.append(f"{tokens} tokens")
        parts.append("cached" if getattr(res, "cached", False) else "not cached")
        return esc(" · ".join(parts))

    @staticmethod
    def _result_message(record: RunRecord) -> PanelMessage | None:
        res = record.result
        finish = str(getattr(res, "finish_reason", "") or "").upper()
        if "SAFETY" in finish or "BLOCK" in finish or "PROHIBITED" in finish:
            return PanelMessage("error", "Blocked by safety filters", f"Gemini stopped its answer ({finish}).", "Try another prompt or image.")
        if len(res) == 0:
            hint = "See the Raw text tab for what the model said; try another prompt or model."
            return PanelMessage("warning", "Nothing found", NOTHING_READ if (res.raw_text or "").strip() else "The model returned no objects.", hint)
        if finish == "MAX_TOKENS":
            return PanelMessage("warning", "Answer cut short", "The answer hit the token limit; the complete items were kept.")
        return None

    # ------------------------------------------------------------------------------------------
    # results and history
    # ------------------------------------------------------------------------------------------
    @_guard
    def _on_history(self, change: dict) -> None:
        options = [(r.title(), i) for i, r in enumerate(change["new"])] or [("(no runs yet)", -1)]
        compare = [("(none)", -1)] + [(r.title(), i) for i, r in enumerate(change["new"])]
        self._quiet = True
        try:
            self.history_picker.options = options
            self.compare_picker.options = compare
            self.compare_picker.value = -1
            if any(v == self.state.selected for _, v in options):
                self.history_picker.value = self.state.selected
        finally:
            self._quiet = False

    @_guard
    def _on_history_pick(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None and change["new"] >= 0:
            self.state.selected = change["new"]

    @_guard
    def _on_compare_pick(self, change: dict) -> None:
        if not self._quiet:
            self._show_record(self.state.current)

    @_guard
    def _on_selected(self, change: dict) -> None:
        self._quiet = True
        try:
            if change["new"] in [v for _, v in self.history_picker.options]:
                self.history_picker.value = change["new"]
        finally:
            self._quiet = False
        self._show_record(self.state.current)

    @staticmethod
    def _style(record: RunRecord) -> dict[str, Any]:
        """Drawing options of a run: the FOV slider matters for 3D boxes only."""
        if record.settings.get("kind") == "boxes3d":
            return {"fov": float(record.settings.get("fov_degrees", 60.0))}
        return {}

    def overlay_html(self, record: RunRecord) -> str:
        """The HTML/SVG overlay of one run (cached per run)."""
        cached = self._overlay_cache.get(record.number)
        if cached is None:
            from ..html import to_html

            style = self._style(record)
            cached = to_html(record.picture, record.result, **style)
            self._overlay_cache[record.number] = cached
        return cached

    def _show_record(self, record: RunRecord | None) -> None:
        self._offer_full_png(record)
        if record is None or not record.ok:
            self._show_preview()
            for view in (self.json_view, self.raw_text_view, self.warnings_view, self.request_view, self.downloads):
                view.value = ""
            return
        self._fill_tabs(record)  # first: the tabs stay readable even if drawing fails
        other_index = self.compare_picker.value
        main = f'<div class="snb-overlay-main">{_fit(self.overlay_html(record), record.picture.size)}</div>'
        if other_index is not None and 0 <= other_index < len(self.state.history):
            other = self.state.history[other_index]
            cell = '<div style="flex:1 1 0;min-width:0"><div style="font-size:12px;color:#555">{}</div>{}</div>'
            self.overlay.value = (
                '<div class="snb-compare-view" style="display:flex;gap:8px;align-items:flex-start">'
                + cell.format(esc(record.title()), main)
                + cell.format(esc(other.title()), _fit(self.overlay_html(other), other.picture.size))
                + "</div>"
                + _FIT_CSS
            )
        else:
            self.overlay.value = main + _FIT_CSS

    def _fill_tabs(self, record: RunRecord) -> None:
        res = record.result
        rows = [json.dumps(_short_masks(_shown_dict(it)), ensure_ascii=False) for it in res]
        self.json_view.value = (
            '<div style="font-size:12px;color:#555;margin-bottom:4px">Items as parsed: box = normalized '
            "(x0, y0, x1, y1), point = (x, y), both in [0, 1]; box3d in metres and degrees. "
            "The Raw text tab has the model's own y-first 0-1000 answer.</div>"
            + _pre("[\n  " + ",\n  ".join(rows) + "\n]" if rows else "[]")
        )
        self.raw_text_view.value = _pre(res.raw_text or "(empty answer)")
        warnings = list(res.warnings)
        if len(res) == 0 and (res.raw_text or "").strip():
            warnings.insert(0, NOTHING_READ)
        if warnings:
            self.warnings_view.value = '<ul class="snb-warnings">' + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
        else:
            self.warnings_view.value = "<i>No warnings.</i>"
        request = {
            "model": res.model, "elapsed_s": round(record.elapsed_s, 3), "cached": res.cached,
            "finish_reason": res.finish_reason, "usage": res.usage, "image": record.image.name,
            "image_size_sent": list(res.image_size) if res.image_size else None,
            "request": res.request, "panel_settings": record.settings,
        }
        text = redact(json.dumps(request, ensure_ascii=False, indent=2, default=str))
        self.request_view.value = _pre(text)
        self.downloads.value = self._downloads_html(record)

    def _downloads_html(self, record: RunRecord) -> str:
        from ..drawing import draw

        stem = self._stem(record)
        shown_w, shown_h = record.picture.size
        full = record.image_size or record.picture.size
        links = []
        try:
            buf = io.BytesIO()
            draw(record.picture, record.result, **self._style(record)).save(buf, "PNG")
            png_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
            what = "full size" if tuple(full) == (shown_w, shown_h) else "display size"
            links.append(
                f'<a download="{esc(stem)}.png" href="{png_url}" style="{_LINK_STYLE}">Overlay PNG '
                f"({what}, {shown_w}×{shown_h}, {_human_bytes(len(buf.getvalue()))})</a>"
            )
        except Exception as exc:  # noqa: BLE001 - one failed download must not hide the other
            log_failure(log, "overlay PNG", exc)
            links.append(f"<span>Overlay PNG unavailable: {esc(type(exc).__name__)}: {esc(exc)}</span>")
        json_bytes = record.result.to_json(indent=2).encode("utf-8")
        json_url = "data:application/json;base64," + base64.b64encode(json_bytes).decode("ascii")
        links.append(
            f'<a download="{esc(stem)}.json" href="{json_url}" style="{_LINK_STYLE}">Result JSON '
            f"({_human_bytes(len(json_bytes))})</a>"
        )
        return '<div class="snb-downloads" style="display:flex;flex-wrap:wrap;gap:12px">' + "".join(links) + "</div>"

    @staticmethod
    def _stem(record: RunRecord) -> str:
        return f"{_safe_stem(record.image.name)}_{record.settings.get('kind', 'result')}_run{record.number}"

    def _offer_full_png(self, record: RunRecord | None) -> None:
        """Show the full-size PNG button when the original is larger than the shown picture."""
        self._png_record = record
        self.full_png_link.value = ""
        full = record.image_size if record is not None and record.ok else None
        if full is None or tuple(full) == tuple(record.picture.size):
            self.full_png_button.layout.display = "none"
            return
        self.full_png_button.layout.display = ""
        self.full_png_button.disabled = False
        self.full_png_button.description = f"Make full-size overlay PNG ({full[0]}×{full[1]})"

    def full_overlay_png(self, record: RunRecord | None = None) -> bytes:
        """The overlay drawn with ``snb.draw`` on the original picture of a run, as PNG bytes.

        The Download tab's link is drawn on the display-size picture (a light page); this is
        the full-resolution file, made on demand (about 3 s and 25 MB for a 12-megapixel photo).
        """
        from ..drawing import draw
        from ..images import load_image

        record = record or self.state.current
        if record is None or not record.ok:
            raise ValueError("no successful run to draw")
        buf = io.BytesIO()
        draw(load_image(record.image.value), record.result, **self._style(record)).save(buf, "PNG")
        return buf.getvalue()

    @_guard
    def _on_full_png_click(self, _button: Any = None) -> None:
        record = self._png_record
        if record is None:
            return

        def on_start() -> None:
            self.full_png_button.disabled = True
            self.full_png_link.value = '<span style="color:#555">Drawing on the original picture…</span>'

        def on_done(outcome: Outcome) -> None:
            if self._png_record is not record:
                return  # the user flipped to another run meanwhile
            self.full_png_button.disabled = False
            if outcome.error is not None:
                self.full_png_link.value = ""
                self._show_exception(outcome.error)
                return
            data: bytes = outcome.value
            url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            width, height = record.image_size or record.picture.size
            self.full_png_link.value = (
                f'<a class="snb-full-png-a" download="{esc(self._stem(record))}_full.png" href="{url}" '
                f'style="{_LINK_STYLE}">Overlay PNG (full size, {width}×{height}, {_human_bytes(len(data))})</a>'
            )

        self._png_runner.start(functools.partial(self.full_overlay_png, record), on_done=on_done, on_start=on_start)
