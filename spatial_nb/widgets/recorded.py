"""Recorded answers in the panel: "Source: Gemini live / Recorded answer (no key)".

Google's cookbook quotes real Gemini answers for two bundled photos and prompts
(:mod:`spatial_nb.recordings`). When the chosen photo, prompt and detect type have one, the
Source choice appears (hidden otherwise: every run is live) and a note says so; without a key it is chosen automatically, and a
button in the key banner loads and replays one in a click. A recorded run needs no key and no
network: it is the verbatim recording, parsed, and its status and message say plainly that it is
a recording (which model, where it was quoted) and not a live call.
"""

from __future__ import annotations

import logging
from typing import Any

from .messages import esc, guard, log_failure, needs_key

__all__ = ["RecordedMixin", "recordings_available"]

log = logging.getLogger(__name__)


def recordings_available() -> list[Any]:
    """Every bundled recording (empty when the data file cannot be read)."""
    try:
        from ..recordings import recordings

        return recordings()
    except Exception as exc:  # noqa: BLE001 - a broken data file must not break the panel
        log_failure(log, "recordings", exc)
        return []


class RecordedMixin:
    """The Source choice, its note, the banner's recorded-answer button and recorded runs."""

    state: Any
    client: Any

    def _link_recorded(self) -> None:
        import traitlets

        traitlets.link((self.source_buttons, "value"), (self.state, "source"))
        self.state.observe(self._on_source_inputs, names=["image", "kind", "prompt_mode", "target", "label_with", "free_prompt"])
        self.state.observe(self._on_source, names=["source"])
        self.try_recording.on_click(self._on_try_recording)
        self._last_recording_id: str | None = None
        self._next_recording = 0

    def _no_key(self) -> bool:
        """True when a live run could not start for want of a key (no client, no key, not offline)."""
        try:
            return needs_key(self.client)
        except Exception as exc:  # noqa: BLE001 - treat as "has a key": never switch sources on a failed check
            log_failure(log, "key check", exc)
            return False

    @guard
    def _on_source_inputs(self, _change: dict | None = None) -> None:
        if not self._restoring:
            self._refresh_source()

    @guard
    def _on_source(self, _change: dict) -> None:
        self._refresh_source_note()

    def _refresh_source(self, auto: bool = True) -> None:
        """Enable the Source choice when a recording matches; pick it by itself when there is no key
        (``auto``; off while an old run's settings are put back, which already say which source)."""
        s = self.state
        rec = s.recording()
        rec_id = rec.id if rec is not None else None
        self.source_buttons.disabled = rec is None
        self.source_buttons.layout.display = "none" if rec is None else ""  # no choice to make: live
        if rec is None and s.source == "recorded":
            s.source = "live"
        elif auto and rec is not None and rec_id != self._last_recording_id and s.source == "live" and self._no_key():
            s.source = "recorded"  # a newly matching recording, and a live run could not start
        self._last_recording_id = rec_id
        self._refresh_source_note()

    def _refresh_source_note(self) -> None:
        s = self.state
        rec = s.recording()
        if rec is None:
            self.source_note.value = ""
        elif s.source == "recorded":
            self.source_note.value = (f'<div class="snb-source-note">Run replays the answer {esc(rec.model)} gave to this '
                                      "photo and prompt, as quoted in Google's Gemini cookbook: no key, no network.</div>")
        else:
            self.source_note.value = ('<div class="snb-source-note">Google\'s cookbook quotes a recorded answer for this '
                                      "photo and prompt: choose Recorded answer (no key) to see it without a request.</div>")

    def _refresh_try_recording(self, show: bool) -> None:
        """The banner's button: shown without a key when the package has recordings."""
        self.try_recording.layout.display = "" if show and recordings_available() else "none"

    @guard
    def _on_try_recording(self, _button: Any = None) -> None:
        self.show_recording()

    def show_recording(self, recording: Any = None) -> bool:
        """Load a recording's photo, detect type and prompt, choose it as the source and run it.

        Args:
            recording: A :class:`~spatial_nb.recordings.Recording` or its id; None takes the
                next one in turn (each click of the banner's button shows another).

        Returns:
            Whether the run started (False while another run is out).
        """
        recs = recordings_available()
        if not recs:
            return False
        if recording is None:
            rec = recs[self._next_recording % len(recs)]
            self._next_recording += 1
        elif isinstance(recording, str):
            rec = next((r for r in recs if r.id == recording), None)
            if rec is None:
                raise ValueError(f"no recording {recording!r}; recordings are {', '.join(r.id for r in recs)}")
        else:
            rec = recording
        if self.runner.busy or self.state.running:
            return False
        s = self.state
        if self.sample_picker.value != rec.image:
            self.sample_picker.value = rec.image
        s.kind = rec.kind
        s.prompt_mode = "free"
        s.free_prompt = rec.prompt
        if s.recording() is None:  # the photo could not be loaded: set_image said why
            return False
        s.source = "recorded"
        return self.start_run()

    def _recorded_settings(self, settings: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """For a recorded run: the recording, and the settings it was really asked with."""
        rec = self.state.recording()
        if rec is None:
            return settings, None
        temperature = rec.request.get("temperature")
        out = {**settings, "model": rec.model, "source": "recorded"}
        if isinstance(temperature, (int, float)):
            out["temperature"] = float(temperature)
        return out, rec
