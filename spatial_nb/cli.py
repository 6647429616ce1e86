"""Command-line interface: ``spatial-nb`` / ``python -m spatial_nb``.

Each subcommand lives in :mod:`spatial_nb.commands` (one module each, with ``register``
adding its parser). Failures end with a one-line reason on stderr and a non-zero exit
code — never a traceback — unless ``SPATIAL_NB_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import SpatialNBError

__all__ = ["main", "build_parser"]

#: Subcommand modules under spatial_nb.commands, in the order --help lists them.
SUBCOMMANDS = ("demo", "detect", "batch", "cache", "models", "doctor")

EPILOG = """examples:
  spatial-nb detect images/coffee.jpg "Detect the cup and the spoon" --out overlay.png
  spatial-nb detect photo.jpg "Point to the cat" --kind points --json result.json
  spatial-nb batch photos/ "Detect every car" --out labels/ --dry-run
  spatial-nb cache info

The key comes from GOOGLE_API_KEY or GEMINI_API_KEY (https://aistudio.google.com/apikey).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spatial-nb",
        description="Ask Gemini where things are in a picture, and draw the answer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"commands.{name}"):
                continue  # subcommand not available in this build
            raise
        module.register(subparsers)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe raises here, inside the handlers below
        return code
    except KeyboardInterrupt:
        print("spatial-nb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except SpatialNBError as exc:
        if os.environ.get("SPATIAL_NB_DEBUG"):
            raise
        print(f"spatial-nb: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        if os.environ.get("SPATIAL_NB_DEBUG"):
            raise
        print(f"spatial-nb: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
