"""``spatial-nb models [--offline]``: the models spatial_nb knows, merged with what the API lists.

Prints one line per model: id, status (retired -> replacement), thinking control, kinds (with
the mask format), default temperature, and whether the live catalogue lists it. With a key it
refreshes the catalogue when the cached copy is over a day old (one ``models.list`` call);
``--offline`` (or no key) shows the table and whatever catalogue is cached, sending nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

__all__ = ["register", "run", "rows"]

EXAMPLES = """examples:
  spatial-nb models              # table + live catalogue (refreshed when over a day old)
  spatial-nb models --offline    # the table (and any cached catalogue), no request
  spatial-nb models --refresh    # fetch the catalogue now
  spatial-nb models --json       # machine-readable
"""


def register(subparsers: Any) -> None:
    """Add the ``models`` subcommand."""
    parser = subparsers.add_parser(
        "models",
        help="list the models, their settings and what replaced retired ones",
        description="List the Gemini models spatial_nb knows (its table, merged with the API's live "
        "catalogue): thinking control, kinds, default temperature, and retired -> replacement.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--offline", action="store_true", help="show the table and cached catalogue only; send nothing")
    parser.add_argument("--refresh", action="store_true", help="fetch the catalogue even if the cached one is fresh")
    parser.add_argument("--all", action="store_true", help="also list catalogue models that are not for images (TTS, embeddings...)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _thinking(prof: Any) -> str:
    from ..models import thinking_description

    text = thinking_description(prof.thinking_config())
    if prof.thinking == "level" and prof.thinking_levels:
        text += f" (accepts {'/'.join(prof.thinking_levels)})"
    return text


def _kinds(prof: Any) -> str:
    names = {"boxes": "boxes", "masks": "masks", "points": "points", "boxes3d": "3d"}
    out = []
    for kind in prof.kinds:
        word = names[kind]
        if kind == "masks" and prof.mask_format:
            word += f"({prof.mask_format})"
        out.append(word)
    return " ".join(out)


def _status(prof: Any) -> str:
    if prof.status == "retired":
        return f"retired {prof.retired_on} -> {prof.replacement}"
    if prof.status == "shut_down":
        return f"shut down {prof.retired_on} -> {prof.replacement}"
    if prof.status == "deprecated":
        return f"deprecated -> {prof.replacement}"
    return "current" if prof.origin == "table" else prof.origin


def rows(cat: Any, include_all: bool = False) -> list[dict[str, Any]]:
    """The listing as plain dicts (what ``--json`` prints)."""
    from .. import models
    from ..catalogue import merged

    out = []
    for row in merged(cat):
        prof = row["profile"]
        entry = row["catalogue"]
        out.append({
            "id": row["name"],
            "default": row["name"] == models.DEFAULT_MODEL,
            "status": prof.status,
            "replacement": prof.replacement,
            "retired_on": prof.retired_on,
            "origin": prof.origin,
            "thinking": prof.thinking_config(),
            "thinking_levels": list(prof.thinking_levels),
            "kinds": list(prof.kinds),
            "mask_format": prof.mask_format,
            "temperature": entry.temperature if entry is not None and entry.temperature is not None else prof.temperature,
            "listed": row["listed"],
            "api_thinking": entry.thinking if entry is not None else None,
            "_profile": prof,
        })
    if include_all and cat is not None:
        known = {r["id"] for r in out}
        for entry in cat.models:
            if entry.name not in known:
                prof = models.profile(entry.name)
                out.append({"id": entry.name, "default": False, "status": "other", "replacement": None,
                            "retired_on": None, "origin": prof.origin, "thinking": None, "thinking_levels": [],
                            "kinds": [], "mask_format": None, "temperature": entry.temperature, "listed": True,
                            "api_thinking": entry.thinking, "_profile": prof})
    return out


def _catalogue(args: argparse.Namespace) -> tuple[Any, str]:
    """(catalogue or None, one line saying where the listing comes from)."""
    from .. import catalogue
    from ..client import Client, find_api_key

    if args.offline:
        cat = catalogue.load()
        return cat, "offline: spatial_nb's table" + (_age(cat) if cat else " (no cached catalogue)")
    if find_api_key() is None:
        cat = catalogue.load()
        return cat, ("no API key (GOOGLE_API_KEY / GEMINI_API_KEY): spatial_nb's table"
                     + (_age(cat) if cat else " only"))
    client = Client()
    if client.offline:
        cat = catalogue.load()
        return cat, "offline (SPATIAL_NB_OFFLINE): spatial_nb's table" + (_age(cat) if cat else "")
    cat = client.catalogue(refresh=args.refresh)
    return cat, f"spatial_nb's table merged with the live catalogue{_age(cat)}"


def _age(cat: Any) -> str:
    if cat is None:
        return ""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(cat.fetched))
    return f" + the catalogue fetched {when} ({len(cat.models)} models that can generateContent)"


def run(args: argparse.Namespace) -> int:
    """Print the listing; returns the exit code."""
    cat, origin = _catalogue(args)
    listing = rows(cat, include_all=args.all)
    if args.json:
        for row in listing:
            row.pop("_profile")
        print(json.dumps({"source": origin, "models": listing}, indent=2))
        return 0
    out = sys.stdout
    print(origin, file=out)
    table = [("model", "status", "thinking sent", "kinds", "temp", "listed")]
    for r in listing:
        prof = r["_profile"]
        other = r["status"] == "other"
        table.append((
            r["id"] + (" (default)" if r["default"] else ""),
            "not for images" if other else _status(prof),
            "-" if other else _thinking(prof),
            _kinds(prof) if r["kinds"] else "-",
            "-" if r["temperature"] is None else str(float(r["temperature"])),
            {True: "yes", False: "no", None: "-"}[r["listed"]],
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
    print("Retired ids are routed by Google to their replacement; shut-down ids fail. Ids not in the table get "
          "their family's settings (gemini-3.9-flash like the newest Flash).", file=out)
    return 0
