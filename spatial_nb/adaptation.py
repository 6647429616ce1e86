"""Settings that adapt: when the API answers 400 about thinking or temperature, try the next setting.

A model's line-up changes faster than any table: ``gemini-3.8-flash`` rejects
``thinking_level="minimal"``, retired 2.5 ids are answered by 3.x models that reject
``thinking_budget=0``, and Gemini 3.6+ deprecated ``temperature``. The chains are short and
end with "send nothing" (always accepted): thinking budget 0 -> level minimal -> level low ->
no thinking config; level minimal -> low -> none; a rejected temperature is left out. At most
:data:`MAX_EXTRA_REQUESTS` extra requests per call. What worked is remembered per model and
request path in ``<cache dir>/model_settings.json`` so the next request sends it first;
``spatial-nb cache clear`` forgets it. The answer cache is keyed by what the user asked for,
so remembering never causes a cache miss.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_EXTRA_REQUESTS", "FILENAME", "Adaptation", "SettingsAdaptedWarning", "next_adaptation",
           "thinking_alternatives", "SettingsMemory"]

#: Extra requests one call may spend on adapting its settings.
MAX_EXTRA_REQUESTS = 3
#: Name of the memory file inside the cache directory (workshop packs include it).
FILENAME = "model_settings.json"
_FORMAT = "spatial_nb.model_settings"


class SettingsAdaptedWarning(UserWarning):
    """The API rejected a setting and another one was sent (the message says which)."""


@dataclass(frozen=True)
class Adaptation:
    """One step: which setting was rejected, what is sent instead, and the API's reason."""

    setting: str  # "thinking" or "temperature"
    rejected: Any
    instead: Any  # a thinking config dict / None, or None for "no temperature"
    reason: str

    def describe(self) -> str:
        from .models import thinking_description

        if self.setting == "thinking":
            return f"{thinking_description(self.rejected)} -> {thinking_description(self.instead)}"
        return f"temperature={self.rejected:g} -> no temperature (the model's default)"


def thinking_alternatives(config: dict[str, Any] | None) -> list[dict[str, Any] | None]:
    """What to try, in order, after ``config`` was rejected (ends with None: send nothing).

    >>> thinking_alternatives({"thinking_budget": 0})
    [{'thinking_level': 'minimal'}, {'thinking_level': 'low'}, None]
    >>> thinking_alternatives({"thinking_level": "minimal"})
    [{'thinking_level': 'low'}, None]
    """
    if not config:
        return []
    if "thinking_budget" in config:
        budget = config.get("thinking_budget")
        if isinstance(budget, (int, float)) and budget <= 0:
            return [{"thinking_level": "minimal"}, {"thinking_level": "low"}, None]
        return [{"thinking_level": "low"}, None]
    if str(config.get("thinking_level", "")).lower() == "minimal":
        return [{"thinking_level": "low"}, None]
    return [None]


def next_adaptation(message: str, sent: dict[str, Any], tried: list[Adaptation]) -> Adaptation | None:
    """The next step after a 400 with ``message`` for a request that sent ``sent``, or None.

    Args:
        message: The API's error message (already without the key).
        sent: ``{"thinking": dict|None, "temperature": float|None}`` as sent.
        tried: Steps taken so far in this call.
    """
    if len(tried) >= MAX_EXTRA_REQUESTS:
        return None
    low = message.lower()
    thinking = sent.get("thinking")
    if thinking and ("thinking" in low or "budget" in low):
        options = thinking_alternatives(thinking)
        seen = [t.rejected for t in tried if t.setting == "thinking"]
        options = [o for o in options if o not in seen and o != thinking]
        if options:
            return Adaptation("thinking", thinking, options[0], message)
        return None
    if sent.get("temperature") is not None and "temperature" in low:
        return Adaptation("temperature", sent["temperature"], None, message)
    return None


# -- memory ---------------------------------------------------------------------------------

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class SettingsMemory:
    """What each model accepted instead of a rejected setting, in a small JSON file.

    Layout: ``{"format", "version", "models": {model: {backend: {"thinking": [{"rejected",
    "use"}], "temperature": {"rejected": true}, "reason", "updated"}}}}``. Writes are atomic
    (temp file + rename); a damaged file is treated as empty.
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        if directory is None:
            from .cache import default_cache_dir

            directory = default_cache_dir()
        self.path = Path(directory) / FILENAME
        with _LOCKS_GUARD:  # one lock per file, shared by every SettingsMemory on it (threads)
            self._lock = _LOCKS.setdefault(str(self.path), threading.Lock())

    def __repr__(self) -> str:
        return f"SettingsMemory({str(self.path)!r})"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("models"), dict):
            return {}
        return data["models"]

    def entry(self, model: str, backend: str) -> dict[str, Any]:
        """The remembered settings for one model and request path (empty when none)."""
        entry = self._read().get(model, {}).get(backend, {})
        return entry if isinstance(entry, dict) else {}

    def apply(self, model: str, backend: str, thinking: dict[str, Any] | None,
              temperature: float | None) -> tuple[dict[str, Any] | None, float | None, list[str]]:
        """``(thinking, temperature, notes)`` to send first, given what was asked for."""
        entry = self.entry(model, backend)
        notes = []
        for rule in entry.get("thinking") or []:
            if isinstance(rule, dict) and rule.get("rejected") == thinking and thinking is not None:
                from .models import thinking_description

                use = rule.get("use")
                notes.append(f"thinking: {thinking_description(thinking)} -> {thinking_description(use)}")
                thinking = use
                break
        if temperature is not None and (entry.get("temperature") or {}).get("rejected"):
            notes.append(f"temperature: {temperature:g} -> not sent")
            temperature = None
        return thinking, temperature, notes

    def remember(self, model: str, backend: str, steps: list[Adaptation], thinking_used: Any) -> None:
        """Record that, for ``model`` on ``backend``, the rejected settings of ``steps`` are replaced."""
        with self._lock:
            models = self._read()
            entry = dict(models.get(model, {}).get(backend, {}))
            rules = [r for r in entry.get("thinking") or [] if isinstance(r, dict)]
            for step in steps:
                if step.setting == "thinking":
                    rules = [r for r in rules if r.get("rejected") != step.rejected]
                    rules.append({"rejected": step.rejected, "use": thinking_used})
                else:
                    entry["temperature"] = {"rejected": True}
            if rules:
                entry["thinking"] = rules
            entry["reason"] = steps[-1].reason[:300] if steps else entry.get("reason")
            entry["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            models.setdefault(model, {})[backend] = entry
            self._write(models)

    def _write(self, models: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".model-settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"format": _FORMAT, "version": 1, "models": models}, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def forget(self) -> bool:
        """Delete the file; True when there was one."""
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
