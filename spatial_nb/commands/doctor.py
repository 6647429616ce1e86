"""``spatial-nb doctor [--model M]``: is the setup working, and what does this model answer today?

Without a key it says where a key is looked for and what the offline table holds for the
model. With a key it sends one tiny request per kind (boxes, masks, points, 3D boxes) on the
bundled coffee photo, past the answer cache, and prints a table: the settings the API accepted
(after any adaptation), the answer format seen (e.g. ``masks: polygons [x, y]``), items,
``model_version`` and tokens. Exit code 0 when every kind answered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from typing import Any

from ._options import add_model_options
from .detect import _clean

__all__ = ["register", "run", "answer_format"]

PHOTO = "coffee.jpg"
#: What doctor asks about the coffee photo, per kind (short, so answers are cheap).
TARGET = "the cup"
#: Longest side sent: small is cheap and enough to see that the model answers.
MAX_SIZE = 384

EXAMPLES = """examples:
  spatial-nb doctor
  spatial-nb doctor --model gemini-3.8-flash
  spatial-nb doctor --backend interactions
"""


def register(subparsers: Any) -> None:
    """Add the ``doctor`` subcommand."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the key and what a model answers for each kind (4 tiny requests)",
        description="Check the setup: where the key comes from, and what the model answers today for "
        "boxes, masks, points and 3D boxes on a bundled photo (one tiny request each; the cache is "
        "bypassed).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default=None, help="model id (default: $SPATIAL_NB_MODEL or the default model)")
    add_model_options(parser)
    parser.set_defaults(func=run)


def answer_format(kind: str, result: Any) -> str:
    """What the answer looked like, e.g. ``"masks: polygons [x, y]"`` or ``"boxes: box_2d"``."""
    text = result.raw_text or ""
    if kind == "masks":
        m = re.search(r'"mask"\s*:\s*(\[\s*\[|"data:image/png|"[A-Za-z0-9+/=]{16}|\[\s*(?:true|false|0|1)\b)', text)
        if "<start_of_mask>" in text or "<seg_" in text:
            return "masks: mask tokens (cannot be decoded)"
        if not m:
            return "masks: none returned" if len(result) else "masks: no items"
        token = re.sub(r"\s", "", m.group(1))
        if token.startswith("[["):
            return "masks: polygons [x, y]"
        if token.startswith('"data:image/png'):
            return "masks: PNG data URLs (box-local)"
        if token.startswith('"'):
            return "masks: bare base64 PNG"
        return "masks: boolean grids"
    keys = {"boxes": "box_2d", "points": "point", "boxes3d": "box_3d"}
    key = keys[kind]
    wrapped = re.match(r"\s*(```\w*\s*)?\{", text) is not None
    seen = key if f'"{key}"' in text else "no " + key
    return f"{kind}: {seen}" + (" (wrapped in an object)" if wrapped else "")


def _settings(result: Any) -> str:
    from ..models import thinking_description

    req = result.request or {}
    parts = [thinking_description(req.get("thinking"))]
    temp = req.get("temperature")
    parts.append("temperature " + ("not sent" if temp is None else str(float(temp))))
    if req.get("media_resolution"):
        parts.append(f"media {req['media_resolution']}")
    text = ", ".join(parts)
    return text + (" (adapted)" if req.get("adapted") else "")


def _no_key(model: str) -> int:
    from .. import models

    print("no API key found. spatial_nb looks, in this order, at:")
    print("  1. Client(api_key=...) in Python")
    print("  2. the environment variable GOOGLE_API_KEY")
    print("  3. the environment variable GEMINI_API_KEY")
    print("  4. in Colab, the secret GOOGLE_API_KEY (then GEMINI_API_KEY), with notebook access allowed")
    print("Get a key at https://aistudio.google.com/apikey.")
    print()
    _describe(models.profile(model))
    from .. import catalogue

    cat = catalogue.load()
    print(f"offline catalogue: {len(models.KNOWN_MODELS)} models in spatial_nb's table"
          + (f", {len(cat.models)} in the cached live catalogue" if cat else ", no cached live catalogue")
          + " (spatial-nb models --offline lists them)")
    return 1


def _describe(prof: Any) -> None:
    from .. import models

    print(f"model: {prof.name} ({prof.origin}; {prof.status})")
    notice = models.retirement_notice(prof)
    if notice:
        print(f"  {notice}")
    print(f"  thinking sent: {models.thinking_description(prof.thinking_config())}; default temperature "
          f"{models.default_temperature(prof)}; kinds: {', '.join(prof.kinds)}"
          + (f"; masks as {prof.mask_format}" if prof.mask_format else ""))


def _photo() -> Any:
    from .. import samples

    try:
        return samples.sample_path(PHOTO)
    except Exception:  # noqa: BLE001 - fall back to the repository's copy
        return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "images", PHOTO)


def run(args: argparse.Namespace) -> int:
    """Execute ``doctor``; returns the exit code."""
    from .. import models
    from ..adaptation import SettingsAdaptedWarning
    from ..client import Client, ModelSupportWarning, _find_api_key
    from ..errors import SpatialNBError
    from ..prompts import KINDS, template

    model = args.model or os.environ.get("SPATIAL_NB_MODEL") or models.DEFAULT_MODEL
    key, where = _find_api_key()
    if key is None and not os.environ.get("GOOGLE_GENAI_USE_VERTEXAI"):
        return _no_key(model)
    with warnings.catch_warnings():
        for category in (ModelSupportWarning, models.RetiredModelWarning, SettingsAdaptedWarning):
            warnings.filterwarnings("ignore", category=category)
        client = Client(model=model, cache=False, offline=False, backend=args.backend)
        print(f"key: found in {where or 'the Vertex AI environment'} (not shown)")
        print(f"backend: {args.backend}" + (" (store=False)" if args.backend == "interactions" else ""))
        base = os.environ.get("GOOGLE_GEMINI_BASE_URL")
        if base:
            print(f"endpoint: {base} (GOOGLE_GEMINI_BASE_URL)")
        try:
            cat = client.catalogue()
            listed = cat.get(model) if cat is not None else None
            print(f"catalogue: {len(cat.models) if cat else 0} models can generateContent; {model} "
                  + ("is listed" if listed else "is NOT listed"))
        except SpatialNBError as exc:
            print(f"catalogue: could not be fetched ({exc})")
        _describe(client.profile())
        photo = _photo()
        rows, failures = [], 0
        for kind in KINDS:
            try:
                res = client.detect(photo, template(kind, TARGET), kind=kind, max_size=MAX_SIZE,
                                    media_resolution=args.media_resolution)
            except SpatialNBError as exc:
                failures += 1
                rows.append((kind, "-", f"error: {_clean(exc, 160)}", "-", "-", "-"))
                continue
            usage = res.usage or {}
            tokens = usage.get("total_tokens")
            rows.append((kind, _settings(res), answer_format(kind, res), str(len(res)),
                         _clean(res.model_version or "-", 60), "-" if tokens is None else str(tokens)))
            for warning in res.warnings:
                if "instead, which worked" in warning:  # a setting was adapted (see spatial_nb.adaptation)
                    print(f"note: {_clean(warning, 400)}")
    headers = ("kind", "accepted settings", "answer format", "items", "model_version", "tokens")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    out = sys.stdout
    print(file=out)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
    versions = {r[4] for r in rows if r[4] != "-"}
    other = [v for v in versions if not models.same_family(model, v)]
    if other:
        print(f"answered by {', '.join(sorted(other))} (asked for {model})", file=out)
    return 1 if failures else 0
