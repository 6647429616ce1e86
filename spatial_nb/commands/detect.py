"""``spatial-nb detect IMAGE PROMPT``: one request from the shell, with overlay/JSON/HTML output.

Mirrors :meth:`spatial_nb.Client.detect`: same defaults, same cache (``--offline`` replays
only). Prints a short summary (items, labels, warnings, tokens, cached) to stdout; labels
come from the model, so control characters are removed before they reach the terminal.
Drawing modules are imported only when an output file asks for them.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from ._options import add_model_options, add_request_options

__all__ = ["register", "run"]

EXAMPLES = """examples:
  spatial-nb detect kitchen.jpg "Detect the cups" --out overlay.png
  spatial-nb detect kitchen.jpg 'Detect the cups, with no more than 20 items. Output a json list where each entry contains the 2D bounding box in "box_2d" and a text label in "label".'
  spatial-nb detect photo.jpg "Point to the cat" --kind points --json result.json --html overlay.html
  spatial-nb detect shelf.jpg "Segment the bottles" --kind masks --max-size 1024 --out masks.png
  spatial-nb detect photo.jpg "Detect the cups" --model gemini-3.8-flash --media-resolution high
  spatial-nb detect photo.jpg "Detect the cups" --backend interactions --structured
  SPATIAL_NB_OFFLINE=1 spatial-nb detect kitchen.jpg "Detect the cups"   # cache replay only

The key comes from GOOGLE_API_KEY or GEMINI_API_KEY (https://aistudio.google.com/apikey).
Answers are cached (see `spatial-nb cache info`); --offline never contacts Gemini.
"""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def register(subparsers: Any) -> None:
    """Add the ``detect`` subcommand."""
    parser = subparsers.add_parser(
        "detect",
        help="find things in one image and draw them",
        description="Ask Gemini where things are in IMAGE, print a summary, and optionally "
        "write an overlay image, the result as JSON, and an HTML overlay.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", metavar="IMAGE", help="image file (JPEG, PNG, WebP, GIF, ...)")
    parser.add_argument("prompt", metavar="PROMPT", help='what to find, e.g. "Detect the cups"')
    add_request_options(parser)
    add_model_options(parser)
    parser.add_argument("--system-instruction", help="replace the default system instruction ('' for none)")
    parser.add_argument("--structured", action="store_true", help="send a response schema (JSON mode)")
    parser.add_argument("--offline", action="store_true", help="replay from the cache only; never contact Gemini")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the answer cache")
    parser.add_argument("--out", type=Path, metavar="OVERLAY.png", help="write the image with the answer drawn on it")
    parser.add_argument("--json", type=Path, metavar="RESULT.json", help="write the result (spatial_nb format)")
    parser.add_argument("--html", type=Path, metavar="OVERLAY.html", help="write a self-contained HTML overlay")
    parser.set_defaults(func=run)


def _clean(text: Any, limit: int = 120) -> str:
    """Model text made safe for a terminal: no control/bidi characters, one line, bounded."""
    out = _CONTROL.sub("", " ".join(str(text).split()))
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    """Python warnings as one ``spatial-nb: warning: ...`` line (no file name, no source line)."""
    print(f"spatial-nb: warning: {_clean(message, 400)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Execute ``detect``; returns the exit code (errors are raised as SpatialNBError)."""
    from ..adaptation import SettingsAdaptedWarning
    from ..client import Client, ModelSupportWarning
    from ..models import RetiredModelWarning
    from ..images import load_image

    from ..errors import SpatialNBError
    from ..paths import find_image

    found = find_image(args.image)  # also tries ../ from notebooks/ and the bundled samples
    if found.note:
        print(f"spatial-nb: {found.note}", file=sys.stderr)
    args.image = str(found.path)
    for target in (args.out, args.json, args.html):
        if target is not None and not target.parent.exists():
            raise SpatialNBError(f"output folder does not exist: {str(target.parent)!r}")
    if args.out is not None:  # checked before the (paid) request, not when saving after it
        from PIL import Image

        Image.init()
        if Image.registered_extensions().get(args.out.suffix.lower()) not in Image.SAVE:
            raise SpatialNBError(
                f"cannot write --out {str(args.out)!r}: Pillow has no image writer for the extension "
                f"{args.out.suffix or '(none)'!r}; use .png, .jpg or .webp"
            )
    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        # these warnings are also on the result: the summary prints each once
        for category in (ModelSupportWarning, RetiredModelWarning, SettingsAdaptedWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.showwarning = _show_warning
        client = Client(
            model=args.model,
            cache=not args.no_cache,
            offline=True if args.offline else None,
            backend=args.backend,
            timeout=args.timeout,
        )
        result = client.detect(
            args.image,
            args.prompt,
            kind=args.kind,
            temperature=args.temperature,
            max_size=args.max_size,
            system_instruction=args.system_instruction,
            structured=args.structured,
            thinking=args.thinking,
            media_resolution=args.media_resolution,
        )
    written = []
    if args.out is not None or args.html is not None:
        picture = load_image(args.image)
        if args.out is not None:
            from ..drawing import draw

            overlay = draw(picture, result)
            if args.out.suffix.lower() in (".jpg", ".jpeg"):
                overlay.save(args.out, quality=92)
            else:
                overlay.save(args.out)
            written.append(str(args.out))
        if args.html is not None:
            from ..html import to_html

            args.html.write_text(to_html(picture, result), encoding="utf-8")
            written.append(str(args.html))
    if args.json is not None:
        args.json.write_text(result.to_json(indent=2), encoding="utf-8")
        written.append(str(args.json))
    _summary(result, written, sys.stdout)
    return 0


def _summary(result: Any, written: list[str], out: Any) -> None:
    from ..models import answered_by

    n = len(result)
    source = "cache" if result.cached else "Gemini"
    print(f"{n} item{'s' if n != 1 else ''} from {result.model} ({source})", file=out)
    other = answered_by(result)
    if other:
        print(f"answered by {_clean(other, 80)} (asked for {result.model}; Google routed the request)", file=out)
    for i, item in enumerate(result.items[:50], 1):
        print(f"  {i:>2}. {_clean(item.label) or '(no label)'}", file=out)
    if n > 50:
        print(f"  ... {n - 50} more", file=out)
    for warning in result.warnings:
        print(f"warning: {_clean(warning, 500)}", file=out)
    usage = result.usage or {}
    if usage:
        print(
            "tokens: prompt {p}, output {o}, thinking {t}, total {s}".format(
                p=usage.get("prompt_tokens"), o=usage.get("output_tokens"),
                t=usage.get("thinking_tokens"), s=usage.get("total_tokens"),
            ),
            file=out,
        )
    if result.elapsed is not None:
        print(f"time: {result.elapsed:.2f} s" + (" (when it was first asked)" if result.cached else ""), file=out)
    print(f"cached: {'yes' if result.cached else 'no'}", file=out)
    for path in written:
        print(f"wrote {path}", file=out)
