"""Request settings of the panel that reach beyond ``detect``: the client per request path and time
limit, and the note under the detect type about the chosen model.

``Client(backend=..., timeout=...)`` are client settings, not ``detect`` arguments, so the panel
keeps one client per (backend, timeout) pair: the one it was given (or made) when they match, else
a sibling made with the same key, cache, retries and model settings. The model note says plainly
when the typed id is retired, shut down or deprecated (``models.retirement_notice``, in panel
words) and when the model is not known to do the chosen detect type.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .messages import PanelMessage, log_failure, message_html

__all__ = ["SettingsMixin", "sibling_client", "model_note_text"]

log = logging.getLogger(__name__)


def sibling_client(client: Any, *, backend: str, timeout: float | None) -> Any:
    """A :class:`~spatial_nb.client.Client` like ``client`` but with another backend and timeout.

    It shares the key, cache, offline mode, retries, Vertex AI settings and profile overrides; an
    object that is not a spatial_nb Client is returned unchanged (the panel cannot rebuild it).
    """
    from ..client import Client

    if not isinstance(client, Client):
        return client
    return client.copy(backend=backend, timeout=timeout)


def _same_timeout(a: Any, b: Any) -> bool:
    try:
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return False


def model_note_text(model: str) -> str | None:
    """The retired / shut-down / deprecated notice for ``model`` in panel words, or None."""
    from .. import models

    try:
        notice = models.retirement_notice(model.strip() or None)
    except (KeyError, ValueError, TypeError):
        return None
    if not notice:
        return None
    # the notice is written for code ("pass model='x'"); in the panel the user picks a model
    notice = re.sub(r"\b(?:pass|use) model=(['\"])([^'\"]+)\1(?: instead)?", r"pick \2 in the Model box", notice)
    return notice.replace(" - ", "; ")


class SettingsMixin:
    """The client for a run, and the model note, of a Panel."""

    state: Any
    client: Any

    def _get_client(self) -> Any:
        """The client for the current request path and time limit (made at the first Run)."""
        wanted = self.state.client_kwargs()
        if self.client is None:
            from ..client import Client

            self.client = Client(**wanted)  # a missing key raises here and is shown in the panel
            return self.client
        base = self.client
        if getattr(base, "backend", wanted["backend"]) == wanted["backend"] and (
                _same_timeout(getattr(base, "timeout", None), wanted["timeout"])):
            return base
        key = (id(base), wanted["backend"], float(wanted["timeout"]))
        derived = self._derived_clients.get(key)
        if derived is None or derived[0] is not base:
            derived = (base, sibling_client(base, **wanted))
            self._derived_clients[key] = derived
        return derived[1]

    def _settings_from_client(self, client: Any) -> dict[str, Any]:
        """Initial backend and timeout for the state, taken from a given client."""
        out: dict[str, Any] = {}
        backend = getattr(client, "backend", None)
        if isinstance(backend, str):
            out["backend"] = backend
        timeout = getattr(client, "timeout", None)
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 1 <= timeout <= 3600:
            out["timeout_s"] = float(timeout)
        return out

    def _refresh_model_note(self) -> None:
        """Retired-model notice and kind support warning under the detect type."""
        s = self.state
        notes = []
        try:
            retired = model_note_text(s.model)
            if retired:
                notes.append(message_html(PanelMessage("warning", "Model", retired)))
            unsupported = s.model_warning()
            if unsupported:
                notes.append(message_html(PanelMessage("warning", "Model", unsupported)))
        except Exception as exc:  # noqa: BLE001 - a note must never break the panel
            log_failure(log, "model note", exc)
        self.model_note.value = "".join(notes)
