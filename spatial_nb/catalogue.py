"""The live model catalogue: what ``client.models.list()`` says, cached on disk for a day.

The API gives each model's id, whether it thinks, its supported actions, token limits and
default/maximum temperature - not thinking levels or spatial kinds, which the table in
:mod:`spatial_nb.models` supplies. Only models that can ``generateContent`` are kept. The
file lives in the cache directory (``models_catalogue.json``, no key in it); reading it never
touches the network, so pickers and defaults can use it freely. Refreshing is explicit
(:func:`refresh`, ``spatial-nb models``, ``spatial-nb doctor``) and never happens offline.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CatalogueModel", "Catalogue", "FILENAME", "MAX_AGE_SECONDS", "load", "refresh", "fetch",
           "cached_entry", "picker_models", "merged"]

#: Name of the catalogue file inside the cache directory.
FILENAME = "models_catalogue.json"
#: How long a fetched catalogue is fresh (a day).
MAX_AGE_SECONDS = 24 * 3600
_FORMAT = "spatial_nb.models_catalogue"
#: Substrings of ids that are not general image+text models (speech, image generation, ...).
_NOT_SPATIAL = ("tts", "image", "embedding", "live", "audio", "native", "transcribe", "computer-use",
                "omni", "aqa", "imagen", "veo", "lyria", "deep-research", "antigravity", "streaming")


@dataclass(frozen=True)
class CatalogueModel:
    """One model as the API lists it (``None``: the API did not say)."""

    name: str
    display_name: str | None = None
    thinking: bool | None = None
    actions: tuple[str, ...] = ()
    input_token_limit: int | None = None
    output_token_limit: int | None = None
    temperature: float | None = None
    max_temperature: float | None = None
    version: str | None = None

    @classmethod
    def from_sdk(cls, model: Any) -> CatalogueModel:
        def get(attr: str) -> Any:
            return getattr(model, attr, None)

        name = str(get("name") or "").removeprefix("models/")
        return cls(name=name, display_name=get("display_name"), thinking=get("thinking"),
                   actions=tuple(get("supported_actions") or ()), input_token_limit=get("input_token_limit"),
                   output_token_limit=get("output_token_limit"), temperature=get("temperature"),
                   max_temperature=get("max_temperature"), version=get("version"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalogueModel:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["actions"] = tuple(known.get("actions") or ())
        return cls(**known)

    @property
    def spatial(self) -> bool:
        """True for Gemini text+image models that can ``generateContent`` (what detect needs)."""
        low = self.name.lower()
        return (low.startswith("gemini-") and "generateContent" in self.actions
                and not any(word in low for word in _NOT_SPATIAL))


@dataclass
class Catalogue:
    """A fetched catalogue: its models and when they were fetched (epoch seconds)."""

    models: list[CatalogueModel] = field(default_factory=list)
    fetched: float = 0.0
    path: Path | None = None

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.fetched)

    def fresh(self, max_age: float = MAX_AGE_SECONDS) -> bool:
        return self.age_seconds < max_age

    def get(self, name: str) -> CatalogueModel | None:
        bare = name.removeprefix("models/")
        return next((m for m in self.models if m.name == bare), None)

    def to_json(self) -> str:
        return json.dumps({"format": _FORMAT, "version": 1, "fetched": self.fetched,
                           "models": [asdict(m) for m in self.models]}, indent=1)


def _path(directory: str | os.PathLike | None) -> Path:
    if directory is None:
        from .cache import default_cache_dir

        directory = default_cache_dir()
    return Path(directory) / FILENAME


_memo: dict[str, tuple[float, Catalogue | None]] = {}


def load(directory: str | os.PathLike | None = None) -> Catalogue | None:
    """The catalogue on disk (fresh or not), or None when there is none or it is unreadable."""
    path = _path(directory)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    memo = _memo.get(str(path))
    if memo and memo[0] == mtime:
        return memo[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            raise ValueError("not a spatial_nb model catalogue")
        cat = Catalogue([CatalogueModel.from_dict(m) for m in data.get("models", [])],
                        float(data.get("fetched") or 0), path)
    except (OSError, ValueError, TypeError, AttributeError):
        cat = None  # a damaged file is ignored (the next refresh rewrites it)
    _memo[str(path)] = (mtime, cat)
    return cat


def _save(cat: Catalogue, directory: str | os.PathLike | None) -> Path:
    path = _path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".catalogue-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(cat.to_json())
    os.replace(tmp, path)
    cat.path = path
    return path


def fetch(sdk: Any) -> list[CatalogueModel]:
    """Every model ``sdk.models.list()`` returns (all pages) that can ``generateContent``."""
    found = []
    for model in sdk.models.list():
        entry = CatalogueModel.from_sdk(model)
        if entry.name and "generateContent" in entry.actions:
            found.append(entry)
    return found


def refresh(client: Any, *, force: bool = False, directory: str | os.PathLike | None = None) -> Catalogue | None:
    """The catalogue, fetched through ``client`` when the file is older than a day (or ``force``).

    Never contacts the API when the client is offline: then the file on disk (or None) is
    returned. API errors are raised as :class:`~spatial_nb.errors.GeminiRequestError`.
    """
    current = load(directory)
    if client.offline or (current is not None and current.fresh() and not force):
        return current
    from .request_errors import explain

    try:
        models = fetch(client._sdk())
    except Exception as exc:  # noqa: BLE001 - turned into one line (or re-raised)
        raise explain(exc, client=client, model="the model list") from None
    cat = Catalogue(models, time.time())
    _save(cat, directory)
    return cat


def cached_entry(name: str, directory: str | os.PathLike | None = None) -> CatalogueModel | None:
    """The cached catalogue's entry for ``name`` (no network), or None."""
    cat = load(directory)
    return cat.get(name) if cat is not None else None


def picker_models(directory: str | os.PathLike | None = None) -> list[str]:
    """Picker ids without a request: current table ids, then cached spatial models, then deprecated."""
    from . import models

    table = [m for m in models.KNOWN_MODELS if models.PROFILES[m].status == "current"]
    deprecated = [m for m in models.KNOWN_MODELS if models.PROFILES[m].status == "deprecated"]
    hidden = {m for m in models.KNOWN_MODELS if models.PROFILES[m].status in ("retired", "shut_down")}
    cat = load(directory)
    extra = []
    for entry in (cat.models if cat else []):
        if entry.spatial and entry.name not in table and entry.name not in deprecated:
            if entry.name not in hidden and models.base_id(entry.name) not in hidden:
                extra.append(entry.name)
    return [*table, *sorted(set(extra), key=extra.index), *deprecated]


def merged(cat: Catalogue | None) -> list[dict[str, Any]]:
    """Table and catalogue together: one dict per model id, picker order, retired ones last.

    Keys: ``name``, ``profile`` (:class:`~spatial_nb.models.ModelProfile`), ``listed`` (True when
    the API lists it; None without a catalogue), ``catalogue`` (:class:`CatalogueModel` or None).
    """
    from . import models

    names = list(models.KNOWN_MODELS)
    if cat is not None:
        names += [m.name for m in cat.models if m.spatial and m.name not in names]
    rows = []
    for name in names:
        prof = models.profile(name)
        entry = cat.get(name) if cat is not None else None
        rows.append({"name": name, "profile": prof, "catalogue": entry,
                     "listed": None if cat is None else entry is not None})
    order = {"current": 0, "deprecated": 1, "retired": 2, "shut_down": 3}
    rows.sort(key=lambda r: (order[r["profile"].status], r["name"] not in models.KNOWN_MODELS))
    return rows
