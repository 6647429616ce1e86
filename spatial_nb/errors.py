"""Exceptions raised by spatial_nb.

Every error a user can hit carries a message that says what went wrong and what to do
about it, in one line, so the CLI and the panel can show it without a traceback.
"""

from __future__ import annotations

__all__ = [
    "SpatialNBError",
    "MissingKeyError",
    "FormatVersionError",
    "ImageLoadError",
    "OfflineCacheMiss",
    "GeminiRequestError",
]


class SpatialNBError(Exception):
    """Base class of every error spatial_nb raises on purpose."""


class MissingKeyError(SpatialNBError):
    """No Gemini API key was found (argument, environment or Colab secret)."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or (
                "No Gemini API key: get one at https://aistudio.google.com/apikey and set "
                "GOOGLE_API_KEY (or GEMINI_API_KEY), store it as the Colab secret "
                "GOOGLE_API_KEY, or pass api_key=... to snb.Client."
            )
        )

    def _render_traceback_(self):  # IPython: show the one line, not a traceback
        return [f"MissingKeyError: {self}"]


class FormatVersionError(SpatialNBError, ValueError):
    """A saved result uses a format version this spatial_nb cannot read."""


class ImageLoadError(SpatialNBError, ValueError):
    """An image could not be read (missing, empty, corrupt, too large, unknown type)."""


class OfflineCacheMiss(SpatialNBError, LookupError):
    """Offline mode is on and the cache holds no answer for this request."""


class GeminiRequestError(SpatialNBError):
    """The Gemini API refused or failed a request; the message says why and what to change.

    Attributes:
        status: The HTTP status Gemini answered with, when it answered.
        transient: True when the same request may succeed later (408, 429, 5xx, a connection
            reset, a non-JSON body, the time limit); False when it must change first (400,
            401, 403, 404).
        detail: The server's own words (one line, key redacted), when it answered with an error
            body; front ends show it with their own advice instead of the whole message.
    """

    def __init__(self, message: str, *, status: int | None = None, transient: bool | None = None,
                 detail: str | None = None):
        super().__init__(message)
        self.status = status
        self.detail = detail
        if transient is None:
            transient = status is not None and (status in (408, 429) or status >= 500)
        self.transient = bool(transient)
