"""Command-line options shared by the subcommands that send requests (detect, batch, doctor).

One definition of --kind, --model, --temperature, --max-size, --thinking and --timeout, with
validation, so the subcommands accept the same values and say the same thing about bad ones;
:func:`add_model_options` adds --media-resolution and --backend for commands that pass them on.
"""

from __future__ import annotations

import argparse

__all__ = ["add_request_options", "add_model_options"]


def _max_size(text: str) -> int | None:
    from ..images import normalize_max_size

    try:
        return normalize_max_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("temperature must be between 0 and 2")
    return value


def _thinking(text: str) -> int | str | bool:
    """``off`` -> False (no thinking config), a whole number -> budget, a word -> level."""
    value = text.strip().lower()
    if value in ("off", "none"):
        return False
    if value.lstrip("-").isdigit():
        return int(value)
    if not value.isalpha():
        raise argparse.ArgumentTypeError(f"expected off, a token budget or a level name, got {text!r}")
    return value


def _timeout(text: str) -> float | None:
    """Seconds (``90``, ``90s``, ``2m``, ``1h30m``: see :mod:`spatial_nb.durations`) for the overall
    limit per request; ``none`` for no limit."""
    from .. import durations

    value = text.strip().lower()
    if value in ("none", "off"):
        return None
    try:
        seconds = durations.parse_duration(value)
    except durations.DurationError:
        raise argparse.ArgumentTypeError(
            f"expected a time such as 120, 90s or 2m (or none), got {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be more than 0 seconds, got {text!r}")
    return seconds


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--kind``, ``--model``, ``--temperature``, ``--max-size``, ``--thinking`` and
    ``--timeout`` (Client.detect's and Client's defaults)."""
    from ..prompts import KINDS

    parser.add_argument("--kind", choices=KINDS, default="boxes", help="answer format (default: boxes)")
    from ..models import DEFAULT_MODEL

    parser.add_argument("--model", default=None,
                        help=f"model id (default: $SPATIAL_NB_MODEL or {DEFAULT_MODEL}; spatial-nb models lists them)")
    parser.add_argument("--temperature", type=_temperature, default=None,
                        help="sampling temperature (default: the model's own: 1.0 on Gemini 3, 0.5 on 2.5)")
    parser.add_argument(
        "--max-size", type=_max_size, default=640, metavar="{640,1024,original}",
        help="longest side sent to the model in pixels, or 'original' (default: 640)",
    )
    parser.add_argument(
        "--thinking", type=_thinking, default=None, metavar="{off,BUDGET,LEVEL}",
        help="override the model's thinking setting: off, a thinking_budget such as 128, "
        "or a thinking_level such as low (default: the model profile's)",
    )
    from ..deadline import DEFAULT_TIMEOUT

    parser.add_argument(
        "--timeout", type=_timeout, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"give up on a request after this long in all, retries included (default {DEFAULT_TIMEOUT:g}; "
        "e.g. 30, 2m, or none for no limit)",
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--media-resolution`` and ``--backend`` (Client.detect's ``media_resolution``, Client's ``backend``)."""
    from ..backends import BACKENDS
    from ..prompts import MEDIA_RESOLUTIONS

    parser.add_argument(
        "--media-resolution", choices=MEDIA_RESOLUTIONS, default=None,
        help="tokens per image: low, medium or high (default: the model's; try high when boxes come back off)",
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default="generate_content",
        help="request path: generate_content (default) or interactions (the Interactions API, sent with store=False)",
    )
