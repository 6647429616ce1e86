"""One reading of a length of time written by a person: ``90``, ``90s``, ``30m``, ``2h``, ``1d``, ``2w``, ``1h30m``.

Used by every command-line option that takes a time (``--timeout``, ``--deadline``, ``--since``),
so they all accept the same forms and say the same thing about a wrong one.
"""

from __future__ import annotations

import math
import re

__all__ = ["DurationError", "parse_duration", "DURATION_EXAMPLES"]

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([smhdw]?)")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: How a duration is written, for error messages.
DURATION_EXAMPLES = "90s, 30m, 2h, 3d, 2w or 1h30m"


class DurationError(ValueError):
    """Text that is not a duration (the message says what was given and how to write one)."""


def parse_duration(text: str, *, bare_seconds: bool = True) -> float:
    """Seconds in a duration such as ``"90s"``, ``"30m"``, ``"1.5h"``, ``"3d"``, ``"2w"`` or ``"1h30m"``.

    Args:
        text: The duration; case and spaces do not matter.
        bare_seconds: Whether a plain number (``"90"``) means seconds. Where a plain number could
            mean something else (a year for ``--since``), pass False: a unit is then required.

    Raises:
        DurationError: ``text`` is not a duration, or has no unit when one is required.

    Example:
        >>> parse_duration("1h30m"), parse_duration("45"), parse_duration("2W")
        (5400.0, 45.0, 1209600.0)
    """
    compact = str(text).strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or not parts or "".join(n + u for n, u in parts) != compact:
        raise DurationError(f"{text!r} is not a duration; write e.g. {DURATION_EXAMPLES}")
    if not bare_seconds and any(not unit for _, unit in parts):
        raise DurationError(f"{text!r} needs a unit; write e.g. {DURATION_EXAMPLES}")
    seconds = float(sum(float(n) * _SECONDS[u] for n, u in parts))
    if not math.isfinite(seconds):
        raise DurationError(f"{text!r} is too long a duration")
    return seconds
