"""The panel's state without any widget: settings, the chosen image and the run history.

``PanelState`` is a ``traitlets.HasTraits`` object (no ipywidgets, no comms), so tests and
scripts can read and set it directly and the view only observes it. It knows how to turn the
settings into the exact prompt and keyword arguments for ``Client.detect``, and can snapshot
and restore every trait tagged ``setting=True`` (so a new setting added later is restored with a
run for free). List traits are always reassigned (never mutated in place) so observers fire.
The temperature follows the chosen model's default until the user moves it; the answer source
is Gemini live or, for a bundled photo and prompt that has one, a recorded answer (no key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import traitlets

from .. import backends as _backends
from .. import prompts as _prompts

__all__ = ["ImageChoice", "RunRecord", "PanelState", "KIND_LABELS", "KIND_SHORT", "MAX_SIZES", "MEDIA_RESOLUTIONS",
           "BACKEND_LABELS", "SOURCE_LABELS", "DEFAULT_TIMEOUT_S"]

#: Detect types in the order the panel shows them: kind -> button label.
KIND_LABELS = {
    "boxes": "2D bounding boxes",
    "masks": "Segmentation masks",
    "points": "Points",
    "boxes3d": "3D bounding boxes",
}

#: Short names for captions and titles.
KIND_SHORT = {"boxes": "boxes", "masks": "masks", "points": "points", "boxes3d": "3D boxes"}

#: Max-size choices: label -> value passed to ``Client.detect(max_size=...)``.
MAX_SIZES = {"640 px": 640, "1024 px": 1024, "original": None}

#: Media-resolution choices: label -> value passed to ``Client.detect(media_resolution=...)``
#: ("" stands for None: the model's own default; the others are ``prompts.MEDIA_RESOLUTIONS``).
MEDIA_RESOLUTIONS = {"model default": "", **{value: value for value in _prompts.MEDIA_RESOLUTIONS}}

#: Request paths (``Client(backend=...)``, ``spatial_nb.backends.BACKENDS``, the default first): value -> label.
BACKEND_LABELS = {name: {"interactions": "Interactions API"}.get(name, name) for name in _backends.BACKENDS}

#: Where a run's answer comes from: value -> label.
SOURCE_LABELS = {"live": "Gemini live", "recorded": "Recorded answer (no key)"}

#: Seconds one request may take when the client does not say (``Client(timeout=...)``).
DEFAULT_TIMEOUT_S = 120


@dataclass(frozen=True)
class ImageChoice:
    """Which picture the panel works on.

    Attributes:
        source: ``"sample"``, ``"path"`` or ``"upload"``.
        name: What to call it (sample name, file name); untrusted for uploads.
        value: What ``load_image`` / ``Client.detect`` get: a path string or the uploaded bytes.
        sample: The sample's name when ``source == "sample"`` (for its sample prompts).
    """

    source: str
    name: str
    value: Any = field(repr=False)
    sample: str | None = None


@dataclass
class RunRecord:
    """One click on Run: what was asked and what came back.

    Attributes:
        number: 1-based run number within this panel.
        image: The :class:`ImageChoice` used.
        settings: The keyword arguments given to ``Client.detect`` (plus ``fov_degrees``).
        result: The ``Result``, or None when the run failed.
        error: The exception, when the run failed.
        elapsed_s: Seconds from click to answer.
        started_at: ``time.time()`` at the click.
        picture: The display-size upright PIL image the overlay is drawn on.
        image_size: ``(width, height)`` of the upright original picture (the full-size overlay PNG's size).
        controls: :meth:`PanelState.snapshot` at the click, restored when the run is shown again.
        status: The status line shown when the run finished (HTML, escaped).
        message: The message shown with it (e.g. "Nothing found"), or None.
        group: ``"sweep 2"`` for runs made by a sweep, else None.
    """

    number: int
    image: ImageChoice
    settings: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    elapsed_s: float = 0.0
    started_at: float = field(default_factory=time.time)
    picture: Any = field(default=None, repr=False)  # display-size PIL image the overlay is drawn on
    image_size: tuple[int, int] | None = None  # the upright original's (width, height)
    controls: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    message: Any = None
    group: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None

    @property
    def recorded(self) -> bool:
        """True when the answer is a recording (``spatial_nb.recordings``), not a live call."""
        request = getattr(self.result, "request", None)
        return self.ok and isinstance(request, dict) and bool(request.get("recorded"))

    def title(self, prompt_chars: int = 40) -> str:
        """Short plain-text title (escape it before putting it into HTML).

        Example: ``#2 Coffee · points · gemini-3.6-flash 1 · Point to the spoon (1 item, cached)``.
        """
        from .messages import plural

        kind = KIND_SHORT.get(self.settings.get("kind", ""), self.settings.get("kind", ""))
        prompt = " ".join(str(self.settings.get("prompt", "")).split())
        if len(prompt) > prompt_chars:
            prompt = prompt[: prompt_chars - 1] + "…"
        if self.ok:
            what = plural(len(self.result), "item") + (", cached" if getattr(self.result, "cached", False) else "")
            what += ", recorded" if self.recorded else ""
        else:
            what = "failed"
        return f"#{self.number} {self.image.name} · {kind} · {self.model_text()} · {prompt} ({what})"

    def model_text(self) -> str:
        """``"gemini-3.6-flash 1"``: the model asked for and the temperature sent."""
        model = getattr(self.result, "model", None) or self.settings.get("model") or "default model"
        temperature = self.settings.get("temperature")
        return f"{model} {temperature:g}" if isinstance(temperature, (int, float)) else str(model)


def _default_model() -> str:
    from ..models import DEFAULT_MODEL

    return DEFAULT_MODEL


def _model_temperature(model: str) -> float:
    """The model's default temperature (cached catalogue, else the table); 1.0 if it cannot be told."""
    from .. import models

    try:
        return float(models.default_temperature(model.strip() or None))
    except (KeyError, ValueError, TypeError):
        return 1.0


class PanelState(traitlets.HasTraits):
    """Everything the panel's controls stand for, plus the history of runs.

    The temperature follows the model's default (:func:`spatial_nb.models.default_temperature`)
    while ``temperature_auto`` is True; setting ``temperature`` yourself turns that off.

    Example:
        >>> s = PanelState(model="gemini-3.6-flash")
        >>> s.temperature, s.temperature_auto
        (1.0, True)
        >>> s.model = "gemini-2.5-flash-lite"; s.temperature      # follows the model
        0.5
        >>> s.temperature = 0.8; s.model = "gemini-3.6-flash"; s.temperature   # moved: it stays
        0.8
    """

    image = traitlets.Any(None, allow_none=True, help="ImageChoice or None")
    kind = traitlets.Enum(list(KIND_LABELS), default_value="boxes").tag(setting=True)
    #: "template": AI-Studio-style prompt built from target + label_with; "free": free_prompt as typed.
    prompt_mode = traitlets.Enum(["template", "free"], default_value="template").tag(setting=True)
    target = traitlets.Unicode("items").tag(setting=True)
    label_with = traitlets.Unicode("").tag(setting=True)
    free_prompt = traitlets.Unicode("").tag(setting=True)
    temperature = traitlets.Float(1.0, min=0.0, max=2.0).tag(setting=True)
    #: True while the temperature is the model's default (it follows the model); False once set by hand.
    temperature_auto = traitlets.Bool(True).tag(setting=True)
    model = traitlets.Unicode("").tag(setting=True)
    max_size = traitlets.Int(640, allow_none=True).tag(setting=True)
    #: "" (the model's default), "low", "medium" or "high": ``detect(media_resolution=...)``.
    media_resolution = traitlets.Enum(list(MEDIA_RESOLUTIONS.values()), default_value="").tag(setting=True)
    #: The request path: ``Client(backend=...)``.
    backend = traitlets.Enum(list(BACKEND_LABELS), default_value="generate_content").tag(setting=True)
    #: Seconds one request may take: ``Client(timeout=...)``.
    timeout_s = traitlets.Float(float(DEFAULT_TIMEOUT_S), min=1.0, max=3600.0).tag(setting=True)
    #: "live" (ask Gemini) or "recorded" (replay the recorded answer for this photo and prompt).
    source = traitlets.Enum(list(SOURCE_LABELS), default_value="live").tag(setting=True)
    fov_degrees = traitlets.Float(60.0, min=1.0, max=179.0).tag(setting=True)
    structured = traitlets.Bool(False).tag(setting=True)
    system_instruction = traitlets.Unicode(None, allow_none=True, help="None: the default for the kind").tag(setting=True)
    history = traitlets.List(help="RunRecord objects; reassigned, never mutated")
    selected = traitlets.Int(-1, help="index into history of the run shown; -1: none")
    running = traitlets.Bool(False)

    def __init__(self, **kwargs: Any):
        self._restoring = False
        self._setting_auto = False
        kwargs.setdefault("model", _default_model())
        explicit = kwargs.get("temperature")
        if explicit is None:
            kwargs.pop("temperature", None)
        super().__init__(**{k: v for k, v in kwargs.items() if k != "temperature"})
        if explicit is None:
            self._follow_model()
        else:
            self.temperature = float(explicit)  # an explicit value always wins

    # -- the temperature follows the model until set by hand ------------------------------------
    def _follow_model(self) -> None:
        self._setting_auto = True
        try:
            self.temperature = _model_temperature(self.model)
            self.temperature_auto = True
        finally:
            self._setting_auto = False

    @traitlets.observe("model")
    def _on_model(self, _change: dict) -> None:
        if self.temperature_auto and not self._restoring:
            self._follow_model()

    @traitlets.observe("temperature")
    def _on_temperature(self, _change: dict) -> None:
        if not self._setting_auto and not self._restoring:
            self.temperature_auto = False

    def reset_temperature(self) -> None:
        """Go back to the model's default temperature, and follow the model again."""
        self._follow_model()

    # -- derived ----------------------------------------------------------------------------
    @property
    def prompt(self) -> str:
        """The user prompt that will be sent."""
        if self.prompt_mode == "free":
            return self.free_prompt.strip()
        from .. import prompts

        return prompts.template(self.kind, target=self.target.strip() or "items", label_with=self.label_with.strip() or None)

    def sample_prompts(self) -> list[str]:
        """The bundled prompts of the chosen sample image for the current kind (may be empty)."""
        image = self.image
        if image is None or not image.sample:
            return []
        try:
            from .. import samples

            return [str(p) for p in samples.prompts_for(image.sample, self.kind)]
        except (ImportError, KeyError, LookupError, ValueError):
            return []

    def detect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Client.detect`` (besides the image)."""
        return {
            "prompt": self.prompt,
            "kind": self.kind,
            "temperature": round(float(self.temperature), 4),
            "max_size": self.max_size,
            "system_instruction": self.system_instruction,
            "model": self.model.strip() or None,
            "structured": bool(self.structured),
            "media_resolution": self.media_resolution or None,
        }

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Client(...)``: the request path and the time limit."""
        return {"backend": self.backend, "timeout": float(self.timeout_s)}

    def recording(self) -> Any:
        """The :class:`~spatial_nb.recordings.Recording` for this sample photo, prompt and kind, or None.

        Only bundled samples have recordings (``spatial_nb.samples.recording_for``).
        """
        image, prompt = self.image, self.prompt
        if image is None or not image.sample or not prompt:
            return None
        try:
            from ..recordings import recording_for

            return recording_for(image.sample, prompt, self.kind)
        except (ImportError, LookupError, ValueError, OSError):
            return None

    def raw_prompt(self) -> str:
        """Exactly what will be sent (system instruction included), as readable text.

        The image line shows the mime type and size the request will carry (the image is
        prepared the same way the client prepares it).
        """
        from .. import prompts

        kw = self.detect_kwargs()
        image_info: dict[str, Any] = {}
        if self.image is not None:
            try:
                from ..images import prepare_image

                prepared = prepare_image(self.image.value, max_size=kw["max_size"])
                image_info = {"mime_type": prepared.mime_type, "image_size": prepared.size}
            except Exception:  # noqa: BLE001 - the Run shows load errors; this is a preview
                image_info = {}
        return prompts.raw_prompt(
            kw["prompt"], kind=kw["kind"], system_instruction=kw["system_instruction"], model=kw["model"],
            temperature=kw["temperature"], structured=kw["structured"], media_resolution=kw["media_resolution"],
            **image_info,
        )

    def model_warning(self) -> str | None:
        """Plain-text warning when the chosen model is not known to do the chosen kind."""
        from .. import models

        name = self.model.strip() or _default_model()
        try:
            ok = models.supports(name, self.kind)
        except (KeyError, ValueError):
            return None
        if ok:
            return None
        from .. import prompts

        try:
            better = models.suggest_model(self.kind)
        except (KeyError, ValueError):
            better = None
        what = getattr(prompts, "KIND_TITLES", KIND_LABELS).get(self.kind, self.kind)
        text = f"{name} is not known to support {what.lower()}"
        return text + (f"; {better} can do them." if better else ".")

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Every setting (traits tagged ``setting=True``) as a plain dict."""
        return {name: getattr(self, name) for name in self.trait_names(setting=True)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Set the settings of a :meth:`snapshot` (unknown names are ignored), kind first.

        Restored values are taken as they were: the temperature does not follow the restored
        model, and restoring it does not count as the user moving it.
        """
        names = [n for n in self.trait_names(setting=True) if n in snapshot]
        self._restoring = True
        try:
            for name in sorted(names, key=lambda n: n != "kind"):
                setattr(self, name, snapshot[name])
        finally:
            self._restoring = False

    # -- history ------------------------------------------------------------------------------
    def add_run(self, record: RunRecord, select: bool = True) -> None:
        """Append a run (reassigning the list) and, unless ``select`` is False, select it."""
        self.history = [*self.history, record]
        if select:
            self.selected = len(self.history) - 1

    def next_number(self) -> int:
        return len(self.history) + 1

    @property
    def current(self) -> RunRecord | None:
        """The run being shown, or None."""
        if 0 <= self.selected < len(self.history):
            return self.history[self.selected]
        return None
