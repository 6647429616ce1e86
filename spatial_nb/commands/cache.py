"""``spatial-nb cache info|clear|export|import``: look at, empty or share the answer cache.

The cache directory is ``$SPATIAL_NB_CACHE_DIR`` or the user cache directory; ``--dir``
points at another one. ``info`` never creates anything; ``clear`` removes every stored
answer (the next request for each is sent to Gemini again); ``export`` / ``import`` write and
read a workshop pack (a zip of answers, see :mod:`spatial_nb.packs`) for offline replay.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import time
import warnings

from ..cache import CacheWarning
from ..errors import SpatialNBError

__all__ = ["register"]

_MIB = 1024 * 1024


def register(subparsers) -> None:
    """Add the ``cache`` subcommand (with ``info`` and ``clear``) to the CLI."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        metavar="DIRECTORY",
        help="cache directory (default: $SPATIAL_NB_CACHE_DIR or the user cache directory)",
    )
    parser = subparsers.add_parser(
        "cache",
        help="show, clear, export or import the cache of Gemini answers",
        description="Show, clear, export or import the on-disk cache of Gemini answers.",
        epilog=(
            "examples:\n  spatial-nb cache info\n  spatial-nb cache clear --dir /tmp/snb-cache\n"
            "  spatial-nb cache export tour.zip --since 2026-12-01   # the instructor, after the tour\n"
            "  spatial-nb cache import tour.zip                      # each student, then:\n"
            "  SPATIAL_NB_OFFLINE=1 jupyter lab                       # replay without a key"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda args: _print_help(parser))
    actions = parser.add_subparsers(dest="cache_command", metavar="ACTION")
    info = actions.add_parser(
        "info", parents=[common], help="where the cache is, how many answers, how big"
    )
    info.add_argument("--json", action="store_true", help="print the figures as JSON")
    info.set_defaults(func=_info)
    clear = actions.add_parser("clear", parents=[common], help="remove every cached answer")
    clear.set_defaults(func=_clear)
    export = actions.add_parser(
        "export", parents=[common], help="write cached answers to a workshop pack (zip)",
        description="Write the cached answers (and the model settings learnt) to a zip that "
        "`spatial-nb cache import` reads, for replay with SPATIAL_NB_OFFLINE=1 and no key.",
    )
    export.add_argument("pack", metavar="PACK.zip", help="the zip file to write")
    export.add_argument(
        "--since", metavar="WHEN",
        help="only answers stored since WHEN: a date (2026-12-01), a date and time "
        "(2026-12-01T09:30) or a duration back from now (90m, 12h, 3d)",
    )
    export.set_defaults(func=_export)
    imp = actions.add_parser(
        "import", parents=[common], help="add a workshop pack's answers to the cache",
        description="Check a pack made by `spatial-nb cache export` and add its answers to the "
        "cache; answers already cached are kept, a damaged pack is refused before anything is written.",
    )
    imp.add_argument("pack", metavar="PACK.zip", help="the zip file to read")
    imp.set_defaults(func=_import)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _open(args):
    from ..cache import Cache

    return Cache(args.dir) if args.dir else Cache()


@contextlib.contextmanager
def _explained(cache):
    """Turn SQLite errors into the CLI's one-line message."""
    try:
        yield
    except sqlite3.Error as exc:
        raise SpatialNBError(
            f"cannot use the cache at {cache.directory} ({exc}); check its permissions or pass --dir"
        ) from None


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _info(args) -> int:
    cache = _open(args)
    with _explained(cache), warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)  # said once, below, as the error
        info = cache.info()
    if info.get("problem"):
        raise SpatialNBError(
            f"cannot use the cache at {cache.directory}: it is {info['problem']}; "
            "check its permissions or pass --dir"
        )
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"directory: {info['directory']}")
    print(f"entries:   {info['entries']}")
    print(f"size:      {info['bytes'] / _MIB:.2f} MiB (file {info['file_bytes'] / _MIB:.2f} MiB)")
    print(f"limit:     {info['max_bytes'] / _MIB:.2f} MiB")
    print(f"oldest:    {_when(info['oldest'])}")
    print(f"newest:    {_when(info['newest'])}")
    return 0


def _clear(args) -> int:
    cache = _open(args)
    with _explained(cache):
        removed = cache.clear()
    from ..adaptation import FILENAME as SETTINGS_FILE
    from ..catalogue import FILENAME as CATALOGUE_FILE

    also = []
    for name, what in ((SETTINGS_FILE, "the model settings learned from HTTP 400s"),
                       (CATALOGUE_FILE, "the cached model catalogue")):
        path = cache.directory / name
        if path.exists():
            path.unlink()
            also.append(what)
    print(f"removed {removed} {'entry' if removed == 1 else 'entries'} from {cache.directory}"
          + (f", and {' and '.join(also)}" if also else ""))
    return 0


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _export(args) -> int:
    from ..packs import export_pack

    cache = _open(args)
    info = export_pack(args.pack, since=args.since, cache=cache)
    extra = " and the model settings" if info.model_settings else ""
    print(f"wrote {_plural(info.entries, 'answer', 'answers')}{extra} to {info.path} ({info.bytes / _MIB:.2f} MiB)")
    return 0


def _import(args) -> int:
    from ..packs import import_pack

    cache = _open(args)
    report = import_pack(args.pack, cache=cache)
    line = f"imported {_plural(report.added, 'answer', 'answers')} into {cache.directory}"
    if report.already_there:
        line += f" ({report.already_there} already there, kept)"
    if report.model_settings in ("added", "merged"):
        line += f"; model settings {report.model_settings}"
    print(line)
    for note in report.notes:
        print(f"note: {note}")
    return 0
