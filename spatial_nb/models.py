"""What each Gemini model needs for spatial requests, in ONE table of :class:`ModelProfile`.

Thinking control differs by family (2.5 Flash takes a budget of 0, 2.5 Pro cannot go below 128,
3.x takes a ``thinking_level``), and segmentation masks were documented only for 2.5 models.
Every fact carries its source and retrieval date in ``sources`` so it can be re-checked when
Google changes a model; users override any field with ``profile(name, **overrides)``.
Versioned names (``gemini-2.5-flash-preview-09-2025``) match their family by prefix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ModelProfile",
    "PROFILES",
    "KNOWN_MODELS",
    "DEFAULT_MODEL",
    "UNKNOWN",
    "profile",
    "supports",
    "suggest_model",
    "thinking_description",
]

#: The model used when none is given (SPATIAL_NB_MODEL overrides it in the client).
DEFAULT_MODEL = "gemini-2.5-flash"

_KINDS = ("boxes", "masks", "points", "boxes3d")
_THINKING_MODES = ("budget0", "min_budget", "level", "none")

# Where the facts come from (checked on this date).
_RETRIEVED = "retrieved 2026-11-24"
_SRC_THINKING = f"Gemini API docs, 'Gemini thinking' page (ai.google.dev/gemini-api/docs/thinking), {_RETRIEVED}"
_SRC_GEMINI3 = (
    "Gemini API docs, 'Gemini 3 developer guide' and Vertex AI 'Gemini 3 Flash' model page "
    f"(thinking_level replaces thinking_budget; Flash levels minimal/low/medium/high, Pro low/high), {_RETRIEVED}"
)
_SRC_SPATIAL = (
    "Gemini API docs, 'Image understanding' page, segmentation section ('Starting with Gemini 2.5, "
    f"models ... segment'), and Gemini 3 release notes (no segmentation masks), {_RETRIEVED}"
)
_SRC_COOKBOOK = (
    "google-gemini/cookbook quickstarts/Spatial_understanding.ipynb (temperature 0.5, thinking off, "
    f"25-object system instruction, model picker lists gemini-3-flash-preview / gemini-3-pro-preview), {_RETRIEVED}"
)
_SRC_ROBOTICS = (
    "Gemini API docs, 'Gemini Robotics-ER 1.5' model page and robotics overview "
    f"(model code gemini-robotics-er-1.5-preview, thinking supported with a budget, points/boxes), {_RETRIEVED}"
)
_SRC_STRUCTURED = (
    "user reports summarized in spatial_nb issue 4: response schemas help 2.5 Pro but hurt "
    f"Flash/Flash-Lite on COCO boxes, {_RETRIEVED}"
)


@dataclass(frozen=True)
class ModelProfile:
    """Request facts for one model family.

    Attributes:
        name: The model id sent to the API (for a prefix match: the id the user asked for).
        family: The table row this profile came from (``"gemini-2.5-flash"``, ... ``"unknown"``).
        thinking: How thinking is controlled: ``"budget0"`` (``thinking_budget=0``, off),
            ``"min_budget"`` (cannot be off; send ``thinking_value`` as budget), ``"level"``
            (``thinking_level=thinking_value``) or ``"none"`` (send no thinking config).
        thinking_value: 0, the minimum budget (128), or the level name (``"low"``, ``"minimal"``).
        kinds: The kinds the model is documented to handle.
        temperature: Recommended temperature (for reference: ``detect`` sends its own
            ``temperature`` argument, 0.5 unless given).
        max_objects: Cap on the number of objects written into the default boxes system
            instruction ("Limit to 25 objects.").
        structured_helps: Whether ``structured=True`` was reported to help this model.
        notes: One line for humans (shown in the panel's model picker).
        sources: ``{fact: "source, retrieved YYYY-MM-DD"}``.
    """

    name: str
    family: str
    thinking: str = "none"
    thinking_value: int | str | None = None
    kinds: tuple[str, ...] = ("boxes", "points", "boxes3d")
    temperature: float = 0.5
    max_objects: int = 25
    structured_helps: bool = False
    notes: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.thinking not in _THINKING_MODES:
            raise ValueError(f"thinking must be one of {_THINKING_MODES}, got {self.thinking!r}")
        bad = [k for k in self.kinds if k not in _KINDS]
        if bad:
            raise ValueError(f"unknown kinds {bad}; kinds are {_KINDS}")
        object.__setattr__(self, "kinds", tuple(self.kinds))

    def supports(self, kind: str) -> bool:
        """True when ``kind`` is documented for this model."""
        return kind in self.kinds

    def thinking_config(self) -> dict[str, Any] | None:
        """The ``thinking_config`` dict to send (None: send nothing).

        >>> profile("gemini-2.5-flash").thinking_config()
        {'thinking_budget': 0}
        >>> profile("gemini-3-pro-preview").thinking_config()
        {'thinking_level': 'low'}
        """
        return _thinking_dict(self.thinking, self.thinking_value)

    def replace(self, **changes: Any) -> ModelProfile:
        """A copy with some fields changed (unknown field names raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)


def _thinking_dict(mode: str, value: int | str | None) -> dict[str, Any] | None:
    if mode == "budget0":
        return {"thinking_budget": 0 if value is None else int(value)}
    if mode == "min_budget":
        return {"thinking_budget": 128 if value is None else int(value)}
    if mode == "level":
        return {"thinking_level": str(value or "low")}
    return None


def thinking_description(config: dict[str, Any] | None) -> str:
    """Human wording of a thinking config, e.g. ``"thinking_budget=0"`` or ``"no thinking config"``."""
    if not config:
        return "no thinking config"
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in config.items())


_25_SOURCES = {
    "thinking": _SRC_THINKING,
    "kinds": _SRC_SPATIAL,
    "temperature": _SRC_COOKBOOK,
    "max_objects": _SRC_COOKBOOK,
}
#: Where the Gemini 3.x rows' facts come from.
_3_SOURCES = {"thinking": _SRC_GEMINI3, "kinds": _SRC_SPATIAL, "temperature": _SRC_COOKBOOK,
              "max_objects": _SRC_COOKBOOK}

#: The table. Keys are model ids; the longest key that prefixes a requested name wins.
PROFILES: dict[str, ModelProfile] = {
    p.family: p
    for p in [
        ModelProfile(
            name="gemini-2.5-flash",
            family="gemini-2.5-flash",
            thinking="budget0",
            thinking_value=0,
            kinds=_KINDS,
            notes="Default: all four kinds, fast; thinking off (budget 0).",
            sources={**_25_SOURCES, "structured_helps": _SRC_STRUCTURED},
        ),
        ModelProfile(
            name="gemini-2.5-flash-lite",
            family="gemini-2.5-flash-lite",
            thinking="budget0",
            thinking_value=0,
            kinds=_KINDS,
            notes="Cheapest and fastest; thinking off (budget 0); less precise boxes.",
            sources={**_25_SOURCES, "structured_helps": _SRC_STRUCTURED},
        ),
        ModelProfile(
            name="gemini-2.5-pro",
            family="gemini-2.5-pro",
            thinking="min_budget",
            thinking_value=128,
            kinds=_KINDS,
            structured_helps=True,
            notes="Thinking cannot be turned off: minimum budget 128; slower; structured output helps.",
            sources={**_25_SOURCES, "structured_helps": _SRC_STRUCTURED},
        ),
        ModelProfile(
            name="gemini-3-flash-preview",
            family="gemini-3-flash-preview",
            thinking="level",
            thinking_value="minimal",
            kinds=("boxes", "points", "boxes3d"),
            notes="Gemini 3 Flash: thinking_level 'minimal' (rejects thinking_budget=0); no segmentation masks.",
            sources=_3_SOURCES,
        ),
        ModelProfile(
            name="gemini-3-pro-preview",
            family="gemini-3-pro-preview",
            thinking="level",
            thinking_value="low",
            kinds=("boxes", "points", "boxes3d"),
            notes="Gemini 3 Pro: thinking_level 'low' (its lowest); no segmentation masks; slow.",
            sources=_3_SOURCES,
        ),
        ModelProfile(
            name="gemini-robotics-er-1.5-preview",
            family="gemini-robotics-er-1.5-preview",
            thinking="budget0",
            thinking_value=0,
            kinds=("boxes", "points", "boxes3d"),
            notes="Robotics-ER 1.5: strong at points; thinking budget 0 for low latency.",
            sources={"thinking": _SRC_ROBOTICS, "kinds": _SRC_ROBOTICS, "temperature": _SRC_COOKBOOK,
                     "max_objects": _SRC_COOKBOOK},
        ),
    ]
}

#: Fallback for names the table does not know: send no thinking config (always accepted).
UNKNOWN = ModelProfile(
    name="unknown",
    family="unknown",
    thinking="none",
    kinds=("boxes", "points", "boxes3d"),
    notes="Not in spatial_nb's table: no thinking setting is sent; masks not assumed.",
    sources={"thinking": "spatial_nb default: omit thinking_config for unknown models (the API then uses "
                         f"the model's own default), {_RETRIEVED}"},
)

#: Model ids for pickers, default first.
KNOWN_MODELS: list[str] = [DEFAULT_MODEL] + [k for k in PROFILES if k != DEFAULT_MODEL]


def _lookup(name: str) -> ModelProfile:
    bare = name.strip()
    if bare.startswith("models/"):
        bare = bare[len("models/"):]
    if bare in PROFILES:
        return PROFILES[bare]
    matches = [key for key in PROFILES if bare.startswith(key + "-") or bare.startswith(key + "@")]
    if matches:
        return PROFILES[max(matches, key=len)]
    return UNKNOWN


def profile(name: str | ModelProfile | None = None, **overrides: Any) -> ModelProfile:
    """The profile for a model id, with optional field overrides.

    Args:
        name: A model id (versioned ids match their family by prefix), a
            :class:`ModelProfile` (returned with the overrides applied), or None for
            :data:`DEFAULT_MODEL`.
        **overrides: Any :class:`ModelProfile` field, e.g. ``thinking="level", thinking_value="low"``.

    Example:
        >>> p = profile("gemini-2.5-flash-preview-09-2025")
        >>> p.family, p.name, p.thinking_config()
        ('gemini-2.5-flash', 'gemini-2.5-flash-preview-09-2025', {'thinking_budget': 0})
        >>> profile("gemini-2.5-flash", thinking="none").thinking_config() is None
        True
    """
    if isinstance(name, ModelProfile):
        base = name
    else:
        model = name or DEFAULT_MODEL
        base = _lookup(model)
        base = dataclasses.replace(base, name=model.removeprefix("models/"))
    if overrides:
        unknown = set(overrides) - {f.name for f in dataclasses.fields(ModelProfile)}
        if unknown:
            raise TypeError(
                f"unknown model profile field(s) {sorted(unknown)}; fields are "
                f"{[f.name for f in dataclasses.fields(ModelProfile)]}"
            )
        if "kinds" in overrides:
            overrides["kinds"] = tuple(overrides["kinds"])
        base = dataclasses.replace(base, **overrides)
    return base


def supports(name: str | ModelProfile | None, kind: str) -> bool:
    """True when the model is documented to handle ``kind``.

    >>> supports("gemini-2.5-flash", "masks"), supports("gemini-3-pro-preview", "masks")
    (True, False)
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return profile(name).supports(kind)


def suggest_model(kind: str) -> str:
    """A model that handles ``kind`` (the default model when it does).

    >>> suggest_model("masks")
    'gemini-2.5-flash'
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    for name in KNOWN_MODELS:
        if PROFILES[name].supports(kind):
            return name
    return DEFAULT_MODEL  # pragma: no cover - every kind is supported by the default
