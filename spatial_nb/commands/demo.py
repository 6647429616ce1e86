"""``spatial-nb demo [--out DIR]``: draw the recorded Gemini answers, with no key and no network.

A first run for a fresh machine, a workshop without keys, or a look before signing up: the
verbatim answers quoted in Google's cookbook, drawn on the same photos (see
:mod:`spatial_nb.demo`). Every line it prints says these are recordings and how to ask live.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

EXAMPLES = """examples:
  spatial-nb demo                      # writes ./spatial-nb-demo/index.html and one PNG/HTML/JSON per answer
  spatial-nb demo --out /tmp/demo

These are recorded answers (Google's Gemini cookbook, Spatial understanding), not live calls.
To ask Gemini live: export GOOGLE_API_KEY=... (https://aistudio.google.com/apikey), then
  spatial-nb detect IMAGE "PROMPT" --out overlay.png
"""


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    from ..demo import DEFAULT_OUT_DIR

    parser = subparsers.add_parser(
        "demo",
        help="draw recorded Gemini answers on the bundled photos (no key, no network)",
        description="Draw the recorded Gemini answers that ship with spatial_nb on their photos and "
        "write an overlay PNG, an HTML page and the result JSON for each. Needs no key and no network.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", type=Path, default=Path(DEFAULT_OUT_DIR), metavar="DIR",
        help=f"folder to write into (created if missing; default: ./{DEFAULT_OUT_DIR})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``demo``; returns the exit code."""
    from ..demo import run_demo

    run_demo(args.out)
    return 0
