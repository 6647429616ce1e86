"""Real Gemini answers, recorded with their source, replayed without a key or a network.

``data/recorded_answers.json`` holds verbatim model outputs quoted in Google's Gemini
cookbook, each keyed to a bundled photo and the exact prompt. They make a first run possible
offline (``spatial-nb demo``, the panel's "Recorded answer (no key)"), but they are history:
one answer from one model at one time. Every caller must say so where it shows them.
"""

from __future__ import annotations

import functools
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpatialNBError
from .parsing import parse
from .result import Result

__all__ = [
    "Recording",
    "LIVE_HINT",
    "recordings",
    "recording_for",
    "recorded_answer",
]

_DATA_FILE = Path(__file__).resolve().parent / "data" / "recorded_answers.json"

#: How to ask Gemini live instead of replaying a recording (one line).
LIVE_HINT = "to ask Gemini live, get a key at https://aistudio.google.com/apikey and export GOOGLE_API_KEY=..."


@dataclass(frozen=True)
class Recording:
    """One recorded answer and where it comes from.

    Attributes:
        id: Short stable name, e.g. ``"socks-with-face"`` (also the demo's file names).
        image: Name of the bundled photo it answers (``spatial_nb.samples``), e.g. ``"socks.jpg"``.
        kind: Detect kind of the answer (``"boxes"``, ...).
        prompt: The exact prompt that was sent.
        raw_text: The model's text, verbatim as the source shows it.
        model: The model the source states.
        provenance: One sentence: where the answer was recorded and how sure the model is.
        request: How it was asked (system instruction, temperature, size of the image sent, ...).
        source: Repository, path, commit and date of the quoted copy, licence, notes.
    """

    id: str
    image: str
    kind: str
    prompt: str
    raw_text: str
    model: str
    provenance: str
    request: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the picture the model was sent, when the source states it."""
        size = self.request.get("image_size")
        return (int(size[0]), int(size[1])) if size else None

    @property
    def citation(self) -> str:
        """``repository path @ commit, date`` of the quoted copy."""
        s = self.source
        return f"{s.get('repository')} {s.get('path')} @ {str(s.get('commit', ''))[:7]}, {s.get('date')}"

    @property
    def notice(self) -> str:
        """A plain one-line statement for status lines: recorded, from where, which model.

        Example:
            >>> recordings()[0].notice.startswith("Recorded answer (no key)")
            True
        """
        where = self.provenance.removeprefix("recorded answer ")
        return (
            f"Recorded answer (no key), {where}: {self.model} ({self.citation}). "
            f"Not a live call: {LIVE_HINT}"
        )

    def path(self) -> Path:
        """Path of the bundled photo this answer is about."""
        from .samples import sample_path

        return sample_path(self.image)

    def live_command(self) -> str:
        """The ``spatial-nb detect`` command that asks Gemini the same question live.

        The photo is named by its sample name: ``detect`` finds bundled photos by name from any folder.
        """
        return (
            f"spatial-nb detect {shlex.quote(self.image)} {shlex.quote(self.prompt)} "
            f"--kind {self.kind} --out overlay.png"
        )

    def result(self) -> Result:
        """The answer parsed as a :class:`~spatial_nb.result.Result`.

        ``model`` is the stated model, ``image_size`` the size of the picture it was sent,
        ``cached`` is False (it did not come from this machine's cache), and
        ``request["recorded"]`` carries the provenance, so a saved result still says what it is.
        """
        res = parse(self.raw_text)
        res.model = self.model
        res.image_size = self.image_size
        res.request = {
            "prompt": self.prompt,
            "kind": self.kind,
            **{k: v for k, v in self.request.items() if k != "image"},
            "recorded": {"id": self.id, "provenance": self.provenance, "source": self.citation},
        }
        return res


def _normalize_prompt(text: str) -> str:
    return " ".join(str(text).split())


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Recording, ...]:
    try:
        with open(_DATA_FILE, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SpatialNBError(f"cannot read the recorded answers ({_DATA_FILE}: {exc}); reinstall spatial_nb") from None
    if data.get("format") != "spatial_nb.recorded_answers" or data.get("version") != 1:
        raise SpatialNBError(f"{_DATA_FILE} is not a version-1 spatial_nb recorded-answers file; reinstall spatial_nb")
    keys = ("id", "image", "kind", "prompt", "raw_text", "model", "provenance")
    out = []
    for entry in data.get("answers", []):
        missing = [k for k in keys if not entry.get(k)]
        if missing:
            raise SpatialNBError(f"{_DATA_FILE}: an answer lacks {', '.join(missing)}; reinstall spatial_nb")
        out.append(
            Recording(
                **{k: str(entry[k]) for k in keys},
                request=dict(entry.get("request") or {}),
                source=dict(entry.get("source") or {}),
            )
        )
    return tuple(out)


def recordings() -> list[Recording]:
    """Every recorded answer, in the data file's order.

    Example:
        >>> [(r.image, r.prompt) for r in recordings()][0]
        ('socks.jpg', 'Show me the positions of the socks with the face')
    """
    return list(_load())


def recording_for(image_name: str, prompt: str, kind: str | None = None) -> Recording | None:
    """The recording for a bundled photo and prompt, or None.

    Args:
        image_name: A bundled sample name, forgiving like ``samples.sample`` ("socks", "Socks.JPG").
            Uploads and unknown names have no recording.
        prompt: The prompt; compared exactly, except for surrounding and repeated whitespace.
        kind: When given, the recording must be of this kind.
    """
    from .samples import UnknownSampleError, sample

    try:
        name = sample(image_name).name
    except UnknownSampleError:
        return None
    wanted = _normalize_prompt(prompt)
    for rec in _load():
        if rec.image == name and _normalize_prompt(rec.prompt) == wanted and kind in (None, rec.kind):
            return rec
    return None


def recorded_answer(image_name: str, prompt: str, kind: str | None = None) -> Result | None:
    """The recorded answer for a bundled photo and prompt as a Result, or None.

    Show ``recording_for(...).notice`` next to it: it is a recording, not a live answer.

    Example:
        >>> res = recorded_answer("socks.jpg", "Show me the positions of the socks with the face")
        >>> res.labels
        ['light blue sock with cat face on left', 'light blue and grey sock with cat face on right']
        >>> recorded_answer("socks.jpg", "Detect all rainbow socks") is None
        True
    """
    rec = recording_for(image_name, prompt, kind)
    return rec.result() if rec is not None else None
