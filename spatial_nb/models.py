"""What each Gemini model needs for spatial requests: ONE table of :class:`ModelProfile`.

The table is the fallback, not the truth: Google changes the line-up every few weeks
(``gemini-2.5-flash`` was retired on 2026-12-01 and its calls routed to a 3.x model). So
:mod:`spatial_nb.catalogue` merges in what ``client.models.list()`` says (cached for a day),
the client adapts to a 400 about a thinking setting or temperature and remembers what worked
(:mod:`spatial_nb.adaptation`), and every result records the model that really answered
(``Result.model_version``). Ids not in the table get their family's settings by rule
(``gemini-3.9-flash`` is treated like the newest 3.x Flash). Every fact cites the page it
was read from and that stored copy's date (:mod:`spatial_nb.model_sources`).

>>> profile("gemini-3.9-flash").thinking_config()      # family rule: Flash from 3.7 on
{'thinking_level': 'low'}
"""

from __future__ import annotations

import dataclasses
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

from .model_sources import SOURCES, Source

__all__ = [
    "ModelProfile", "PROFILES", "KNOWN_MODELS", "DEFAULT_MODEL", "UNKNOWN", "RetiredModelWarning",
    "profile", "supports", "suggest_model", "thinking_description", "default_temperature",
    "base_id", "same_family", "answered_by", "retirement_notice", "warn_if_retired", "picker_models",
]

#: The model used when none is given (SPATIAL_NB_MODEL overrides it in the client): the cookbook's.
DEFAULT_MODEL = "gemini-3.6-flash"

_KINDS = ("boxes", "masks", "points", "boxes3d")
_NO_MASKS = ("boxes", "points", "boxes3d")
_THINKING_MODES = ("budget0", "min_budget", "level", "none")
_STATUSES = ("current", "deprecated", "retired", "shut_down")
_ALL_LEVELS = ("minimal", "low", "medium", "high")
_NO_MINIMAL = ("low", "medium", "high")


class RetiredModelWarning(UserWarning):
    """The requested model id was retired or shut down; the message names the replacement."""


@dataclass(frozen=True)
class ModelProfile:
    """Request facts for one model (a table row, a family rule, or the unknown fallback).

    Attributes:
        name: The model id sent to the API (the id the user asked for).
        family: The table row or rule this profile came from (``"gemini-3.6-flash"``, ``"unknown"``).
        thinking: How thinking is turned down: ``"budget0"`` (``thinking_budget=0``), ``"min_budget"``
            (cannot be off; send ``thinking_value`` as budget), ``"level"`` (``thinking_level``) or
            ``"none"`` (send no thinking config).
        thinking_value: 0, the minimum budget (128), or the level name (``"minimal"``, ``"low"``).
        thinking_levels: The ``thinking_level`` values the model is documented to accept.
        kinds: The kinds the model is documented to handle.
        mask_format: How its masks come back: ``"png"`` (a probability map in the box, 2.5),
            ``"polygon"`` (``[[x, y], ...]`` over the whole image, 3.6+ and Robotics-ER) or None.
        temperature: The default temperature (1.0 on 3.x as Google advises, the cookbook's 0.5 on 2.5).
        max_objects: Cap on objects written into the boxes system instruction.
        structured_helps: Whether ``structured=True`` was reported to help this model.
        status: ``"current"``, ``"deprecated"`` (still answers), ``"retired"`` (answers come from
            another model) or ``"shut_down"`` (requests fail).
        replacement: The id Google names instead (retired, shut-down and deprecated ids).
        retired_on: ISO date of the retirement or shutdown.
        origin: ``"table"``, ``"family rule"`` or ``"unknown"``.
        notes: One line for humans (pickers, ``spatial-nb models``).
        sources: ``{fact: Source or tuple of Sources}`` for every fact above.
    """

    name: str
    family: str
    thinking: str = "none"
    thinking_value: int | str | None = None
    thinking_levels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = _NO_MASKS
    mask_format: str | None = None
    temperature: float = 1.0
    max_objects: int = 25
    structured_helps: bool = False
    status: str = "current"
    replacement: str | None = None
    retired_on: str | None = None
    origin: str = "table"
    notes: str = ""
    sources: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.thinking not in _THINKING_MODES:
            raise ValueError(f"thinking must be one of {_THINKING_MODES}, got {self.thinking!r}")
        bad = [k for k in self.kinds if k not in _KINDS]
        if bad:
            raise ValueError(f"unknown kinds {bad}; kinds are {_KINDS}")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, got {self.status!r}")
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "thinking_levels", tuple(self.thinking_levels))

    def supports(self, kind: str) -> bool:
        """True when ``kind`` is documented for this model."""
        return kind in self.kinds

    def thinking_config(self) -> dict[str, Any] | None:
        """The ``thinking_config`` dict to send (None: send nothing).

        >>> profile("gemini-2.5-flash-lite").thinking_config()
        {'thinking_budget': 0}
        >>> profile("gemini-3.8-flash").thinking_config()
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


# -- the table ------------------------------------------------------------------------------

S = SOURCES
_3X = {"temperature": (S["gemini3_guide"], S["changelog"]), "max_objects": (S["cookbook"], S["design"])}
_25 = {"temperature": (S["cookbook"], S["design"]), "max_objects": (S["cookbook"], S["design"]),
       "thinking": (S["design"],)}
_POLYGON = (S["design"], S["supervision"])


def _row(name: str, *, sources: dict[str, Any], **fields: Any) -> ModelProfile:
    return ModelProfile(name=name, family=name, sources=sources, **fields)


_ROWS = [
    # current, in picker order (the default first)
    _row("gemini-3.6-flash", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         kinds=_KINDS, mask_format="polygon",
         notes="Default (the cookbook's): fast; thinking_level minimal; masks as polygons.",
         sources={**_3X, "thinking": (S["vertex_thinking"], S["latest_model"]), "kinds": _POLYGON,
                  "mask_format": _POLYGON, "status": (S["deprecations"],), "default": (S["cookbook"],)}),
    _row("gemini-3.8-flash", thinking="level", thinking_value="low", thinking_levels=_NO_MINIMAL,
         kinds=_KINDS, mask_format="polygon",
         notes="Newest Flash: most accurate, more tokens; rejects thinking_level minimal (low is its lowest).",
         sources={**_3X, "thinking": (S["guide_38"], S["no_minimal_38"]), "kinds": (*_POLYGON, S["rule"]),
                  "mask_format": (*_POLYGON, S["rule"]), "status": (S["deprecations"],)}),
    _row("gemini-3.7-flash", thinking="level", thinking_value="low", thinking_levels=_NO_MINIMAL,
         kinds=_KINDS, mask_format="polygon",
         notes="Flash between 3.6 and 3.8; thinking_level low is its lowest.",
         sources={**_3X, "thinking": (S["guide_38"], S["vertex_thinking"]), "kinds": _POLYGON,
                  "mask_format": _POLYGON, "status": (S["deprecations"],)}),
    _row("gemini-3.5-flash", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         kinds=_KINDS, mask_format="png",
         notes="Previous Flash; thinking_level minimal; masks as PNG maps like 2.5.",
         sources={**_3X, "thinking": (S["guide_35"],), "kinds": (S["supervision"],),
                  "mask_format": (S["supervision"],), "status": (S["deprecations"],)}),
    _row("gemini-3.5-flash-lite", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         kinds=_KINDS, mask_format="png",
         notes="Cheapest 3.x Flash (2.5 Flash calls are routed here); thinking_level minimal.",
         sources={**_3X, "thinking": (S["vertex_thinking"], S["latest_model"]), "kinds": (S["supervision"],),
                  "mask_format": (S["supervision"],), "status": (S["deprecations"], S["retire_25"])}),
    _row("gemini-3.1-pro-preview", thinking="level", thinking_value="low", thinking_levels=_NO_MINIMAL,
         notes="Pro: deepest reasoning, slow; thinking_level low is its lowest; masks not documented.",
         sources={**_3X, "thinking": (S["guide_38"], S["guide_35"]), "kinds": (S["design"],),
                  "status": (S["deprecations_it"],)}),
    _row("gemini-3.1-flash-lite", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         notes="3.1 Flash-Lite: fast and cheap; thinking_level minimal; masks not documented.",
         sources={**_3X, "thinking": (S["guide_35"],), "kinds": (S["design"],), "status": (S["deprecations_it"],)}),
    _row("gemini-robotics-er-2-preview", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         kinds=_KINDS, mask_format="polygon",
         notes="Robotics-ER 2 (built on 3.5 Flash): strong at points; masks as polygons.",
         sources={**_3X, "thinking": (S["robotics"], S["guide_35"]), "kinds": (S["design"], S["robotics"]),
                  "mask_format": (S["design"],), "status": (S["robotics"],)}),
    _row("gemini-2.5-flash-lite", thinking="budget0", thinking_value=0, kinds=_KINDS, mask_format="png",
         temperature=0.5, notes="Still served (not deprecated); thinking_budget 0; masks as PNG maps.",
         sources={**_25, "kinds": (S["design"],), "mask_format": (S["design"],), "status": (S["retire_25"],)}),
    # deprecated: still answers
    _row("gemini-3-flash-preview", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         status="deprecated", replacement="gemini-3.5-flash",
         notes="Deprecated preview (no shutdown date yet); Google names gemini-3.5-flash instead.",
         sources={**_3X, "thinking": (S["cookbook_thinking"],), "kinds": (S["design"],),
                  "status": (S["deprecations_it"],)}),
    # retired: Google routes the id to another model, so send that model's settings
    _row("gemini-2.5-flash", thinking="level", thinking_value="minimal", thinking_levels=_ALL_LEVELS,
         kinds=_KINDS, mask_format="png", status="retired", replacement="gemini-3.5-flash-lite",
         retired_on="2026-12-01",
         notes="Retired 2026-12-01: answered by gemini-3.5-flash-lite, so its settings are sent.",
         sources={**_3X, "thinking": (S["retire_25"], S["vertex_thinking"]), "kinds": (S["supervision"],),
                  "mask_format": (S["supervision"],), "status": (S["retire_25"], S["design"])}),
    _row("gemini-2.5-pro", thinking="level", thinking_value="low", thinking_levels=_NO_MINIMAL,
         kinds=_KINDS, mask_format="polygon", status="retired", replacement="gemini-3.8-flash",
         retired_on="2026-12-01", structured_helps=True,
         notes="Retired 2026-12-01: answered by gemini-3.8-flash, so its settings are sent.",
         sources={**_3X, "thinking": (S["retire_25"], S["guide_38"]), "kinds": (*_POLYGON, S["rule"]),
                  "mask_format": (*_POLYGON, S["rule"]), "status": (S["retire_25"], S["design"])}),
    # shut down: requests fail
    _row("gemini-3-pro-preview", thinking="level", thinking_value="low", thinking_levels=("low", "high"),
         status="shut_down", replacement="gemini-3.1-pro-preview", retired_on="2026-03-09",
         notes="Shut down 2026-03-09; use gemini-3.1-pro-preview.",
         sources={**_3X, "thinking": (S["design"],), "kinds": (S["design"],), "status": (S["deprecations_it"],)}),
    _row("gemini-robotics-er-1.6-preview", thinking="budget0", thinking_value=0, temperature=0.5,
         status="shut_down", replacement="gemini-robotics-er-2-preview", retired_on="2026-08-31",
         notes="Shut down 2026-08-31; use gemini-robotics-er-2-preview.",
         sources={**_25, "kinds": (S["robotics"],), "status": (S["robotics"],)}),
    _row("gemini-robotics-er-1.5-preview", thinking="budget0", thinking_value=0, temperature=0.5,
         status="shut_down", replacement="gemini-robotics-er-2-preview", retired_on="2026-04-30",
         notes="Shut down 2026-04-30 (its successor 1.6 too); use gemini-robotics-er-2-preview.",
         sources={**_25, "kinds": (S["robotics"],), "status": (S["changelog"], S["robotics"])}),
]

#: The table, by model id. A versioned id (``gemini-3.6-flash-001``) matches its row by prefix.
PROFILES: dict[str, ModelProfile] = {p.family: p for p in _ROWS}

#: Fallback for ids that match no row and no family rule: send no thinking config.
UNKNOWN = ModelProfile(
    name="unknown", family="unknown", thinking="none", origin="unknown",
    notes="Not in spatial_nb's table and no family rule: no thinking setting is sent; masks not assumed.",
    sources={"thinking": (S["rule"],), "kinds": (S["rule"],), "temperature": (S["gemini3_guide"],),
             "max_objects": (S["cookbook"],)},
)

_ORDER = {"current": 0, "deprecated": 1, "retired": 2, "shut_down": 3}
#: Model ids for pickers: current ids first (the default first), retired and shut-down ids last.
KNOWN_MODELS: list[str] = [DEFAULT_MODEL] + sorted(
    (k for k in PROFILES if k != DEFAULT_MODEL), key=lambda k: _ORDER[PROFILES[k].status])


# -- lookup: table row, versioned id, family rule, unknown ----------------------------------

_NOT_A_VERSION = ("lite", "image", "tts", "live", "audio", "native", "embedding", "pro", "flash")
_FAMILY = re.compile(r"^gemini-(\d+)(?:\.(\d+))?-(flash-lite|flash|pro)(?![a-z])")
_ROBOTICS = re.compile(r"^gemini-robotics-er-(\d+)(?:\.(\d+))?(?![\d.])")


def _bare(name: str) -> str:
    bare = name.strip()
    return bare[len("models/"):] if bare.startswith("models/") else bare


def _table_row(bare: str) -> ModelProfile | None:
    if bare in PROFILES:
        return PROFILES[bare]
    matches = []
    for key in PROFILES:
        if bare.startswith(key + "@"):
            matches.append(key)
        elif bare.startswith(key + "-"):
            first = bare[len(key) + 1:].split("-", 1)[0]
            if first not in _NOT_A_VERSION:
                matches.append(key)
    return PROFILES[max(matches, key=len)] if matches else None


def _family_rule(bare: str) -> ModelProfile | None:
    """Settings for an id the table does not know, from its family (see ``SOURCES['rule']``)."""
    rule = {"thinking": (S["rule"],), "kinds": (S["rule"],), "mask_format": (S["rule"],),
            "temperature": (S["rule"], S["gemini3_guide"]), "max_objects": (S["cookbook"],)}
    m = _ROBOTICS.match(bare)
    if m and int(m.group(1)) >= 2:
        return ModelProfile(bare, f"gemini-robotics-er-{m.group(1)} (family rule)", "level", "minimal",
                            _ALL_LEVELS, _KINDS, "polygon", origin="family rule", sources=rule,
                            notes="Robotics-ER by family rule: thinking_level minimal; masks as polygons.")
    m = _FAMILY.match(bare)
    if not m:
        return None
    major, minor, variant = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    version = (major, minor)
    family = f"gemini-{major}.{minor}-{variant} (family rule)"
    if version == (2, 5):
        budget = ("min_budget", 128) if variant == "pro" else ("budget0", 0)
        return ModelProfile(bare, family, budget[0], budget[1], (), _KINDS, "png", temperature=0.5,
                            origin="family rule", sources={**rule, "temperature": (S["design"],)},
                            notes="Gemini 2.5 by family rule: thinking budget; masks as PNG maps.")
    if major < 3:
        return None
    if variant == "pro" or (variant == "flash" and version >= (3, 7)):
        thinking, levels = "low", _NO_MINIMAL
    else:
        thinking, levels = "minimal", _ALL_LEVELS
    if version >= (3, 6):
        kinds, masks = _KINDS, "polygon"
    elif version == (3, 5):
        kinds, masks = _KINDS, "png"
    else:
        kinds, masks = _NO_MASKS, None
    return ModelProfile(bare, family, "level", thinking, levels, kinds, masks, origin="family rule",
                        sources=rule, notes=f"Not in the table; {variant} family rule: thinking_level {thinking}.")


def _lookup(name: str) -> ModelProfile:
    bare = _bare(name)
    return _table_row(bare) or _family_rule(bare) or UNKNOWN


def profile(name: str | ModelProfile | None = None, **overrides: Any) -> ModelProfile:
    """The profile for a model id, with optional field overrides.

    Args:
        name: A model id (versioned ids match their row by prefix; other ids get their
            family's rule), a :class:`ModelProfile` (returned with the overrides applied), or
            None for :data:`DEFAULT_MODEL`.
        **overrides: Any :class:`ModelProfile` field, e.g. ``thinking="level", thinking_value="low"``.

    Example:
        >>> p = profile("gemini-3.6-flash-001")
        >>> p.family, p.name, p.thinking_config()
        ('gemini-3.6-flash', 'gemini-3.6-flash-001', {'thinking_level': 'minimal'})
        >>> profile("gemini-3.6-flash", thinking="none").thinking_config() is None
        True
    """
    if isinstance(name, ModelProfile):
        base = name
    else:
        model = name or DEFAULT_MODEL
        base = dataclasses.replace(_lookup(model), name=_bare(model))
    if overrides:
        names = [f.name for f in dataclasses.fields(ModelProfile)]
        unknown = set(overrides) - set(names)
        if unknown:
            raise TypeError(f"unknown model profile field(s) {sorted(unknown)}; fields are {names}")
        for key in ("kinds", "thinking_levels"):
            if key in overrides:
                overrides[key] = tuple(overrides[key])
        base = dataclasses.replace(base, **overrides)
    return base


def supports(name: str | ModelProfile | None, kind: str) -> bool:
    """True when the model is documented to handle ``kind``.

    >>> supports("gemini-3.6-flash", "masks"), supports("gemini-3.1-pro-preview", "masks")
    (True, False)
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return profile(name).supports(kind)


def suggest_model(kind: str) -> str:
    """A current model that handles ``kind`` (the default model when it does).

    >>> suggest_model("masks")
    'gemini-3.6-flash'
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    for name in KNOWN_MODELS:
        if PROFILES[name].status == "current" and PROFILES[name].supports(kind):
            return name
    return DEFAULT_MODEL  # pragma: no cover - the default handles every kind


def default_temperature(name: str | ModelProfile | None = None) -> float:
    """The temperature sent when none is given: the live catalogue's default for the model
    (cached on disk, never fetched here), else the table's (1.0 on 3.x, 0.5 on 2.5).

    This is what the panel's temperature slider should start at for the chosen model.

    >>> default_temperature("gemini-2.5-flash-lite"), default_temperature("gemini-3.6-flash")
    (0.5, 1.0)
    """
    prof = profile(name)
    from . import catalogue

    entry = catalogue.cached_entry(prof.name)
    if entry is not None and entry.temperature is not None:
        return float(entry.temperature)
    return float(prof.temperature)


# -- who answered -------------------------------------------------------------------------------

_VERSION_SUFFIX = re.compile(r"(-\d{3}|-preview(-\d{2}-\d{2,4})?|-exp(-\d+)?|-latest|-\d{2}-\d{4}|@.*)$")


def base_id(name: str) -> str:
    """A model id without resource prefix and version suffixes (``-001``, ``-preview``, ``@...``).

    >>> base_id("models/gemini-3.6-flash-001"), base_id("gemini-3.1-pro-preview")
    ('gemini-3.6-flash', 'gemini-3.1-pro')
    """
    bare = _bare(name).lower()
    while True:
        shorter = _VERSION_SUFFIX.sub("", bare)
        if shorter == bare or not shorter:
            return bare
        bare = shorter


def same_family(requested: str, answered: str) -> bool:
    """True when ``answered`` is ``requested`` up to a version suffix."""
    return base_id(requested) == base_id(answered)


def answered_by(result: Any) -> str | None:
    """``result.model_version`` when another model family answered than the one asked for, else None.

    >>> from spatial_nb.result import Result
    >>> answered_by(Result(model="gemini-2.5-flash", model_version="gemini-3.5-flash-lite"))
    'gemini-3.5-flash-lite'
    """
    asked, answered = getattr(result, "model", None), getattr(result, "model_version", None)
    if not asked or not answered or same_family(asked, answered):
        return None
    return answered


# -- retired ids --------------------------------------------------------------------------------

_warned: set[str] = set()
_warned_lock = threading.Lock()


def retirement_notice(name: str | ModelProfile | None) -> str | None:
    """One sentence about a retired, shut-down or deprecated id (None for current ones)."""
    prof = profile(name)
    if prof.status == "current":
        return None
    new = prof.replacement
    if prof.status == "retired":
        return (f"{prof.name} was retired on {prof.retired_on}; Google routes its requests to {new}, "
                f"so spatial_nb sends {new}'s settings - pass model={new!r} to ask for it by name")
    if prof.status == "shut_down":
        return (f"{prof.name} was shut down on {prof.retired_on} and requests to it fail; "
                f"use model={new!r} instead")
    return f"{prof.name} is deprecated; Google names {new} as its replacement"


def warn_if_retired(name: str | ModelProfile | None, stacklevel: int = 2) -> str | None:
    """The retirement notice for a retired or shut-down id, warned once per process (None otherwise)."""
    prof = profile(name)
    if prof.status not in ("retired", "shut_down"):
        return None
    text = retirement_notice(prof)
    with _warned_lock:
        first = prof.name not in _warned
        _warned.add(prof.name)
    if first:
        warnings.warn(text, RetiredModelWarning, stacklevel=stacklevel + 1)
    return text


def picker_models() -> list[str]:
    """Model ids for a picker, without any network request: current table ids (the default
    first), then spatial-capable ids from the cached live catalogue, then deprecated ones.
    Retired and shut-down ids are left out (type them to use them anyway)."""
    from . import catalogue

    return catalogue.picker_models()


def sources_of(name: str | ModelProfile | None) -> dict[str, tuple[Source, ...]]:
    """``{fact: (Source, ...)}`` for a model's profile."""
    prof = profile(name)
    return {k: (v if isinstance(v, tuple) else (v,)) for k, v in prof.sources.items()}
