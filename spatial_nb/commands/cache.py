"""``spatial-nb cache info|clear``: look at or empty the answer cache.

The cache directory is ``$SPATIAL_NB_CACHE_DIR`` or the user cache directory; ``--dir``
points at another one. ``info`` never creates anything; ``clear`` removes every stored
answer (the next request for each is sent to Gemini again).
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
        help="show or clear the cache of Gemini answers",
        description="Show or clear the on-disk cache of Gemini answers.",
        epilog="examples:\n  spatial-nb cache info\n  spatial-nb cache clear --dir /tmp/snb-cache",
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
    (cache.directory / "model_settings.json").unlink(missing_ok=True)  # settings learned from 400s (issue 10)
    print(f"removed {removed} {'entry' if removed == 1 else 'entries'} from {cache.directory}")
    return 0
