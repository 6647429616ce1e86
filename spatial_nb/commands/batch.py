"""``spatial-nb batch FOLDER PROMPT --out DIR``: label every image of a folder.

Concurrent requests (default) or one Gemini Batch API job (``--batch-api``), with results
streamed to ``DIR/results.jsonl`` and resumed on re-run. ``--dry-run`` prints what a run
would send and cost in tokens; above 500 images a run asks for confirmation unless
``--yes`` (and refuses without a terminal to ask on). ``--export`` writes COCO or YOLO after.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import durations
from ._options import add_request_options

__all__ = ["register", "run", "CONFIRM_ABOVE"]

#: Runs with more images than this ask before sending anything (unless --yes).
CONFIRM_ABOVE = 500

EXAMPLES = """examples:
  spatial-nb batch photos/ "Detect every car" --out labels/ --dry-run
  spatial-nb batch photos/ "Detect every car" --out labels/ --concurrency 8 --export coco
  spatial-nb batch photos/ "Segment the cats" --kind masks --out masks/ --yes
  spatial-nb batch photos/ "Detect every car" --out labels/ --batch-api     # half price, hours
  spatial-nb batch photos/ "Detect every car" --out labels/ --batch-api --job batches/abc123
  spatial-nb batch photos/ "Detect every car" --out labels/ --batch-api --deadline 2h

Re-running the same command resumes: images already in labels/results.jsonl are skipped.
"""


def register(subparsers: Any) -> None:
    """Add the ``batch`` subcommand."""
    parser = subparsers.add_parser(
        "batch",
        help="label every image in a folder (resumable; JSONL, COCO, YOLO)",
        description="Ask Gemini the same question about every image in FOLDER; one JSON line per "
        "image goes to OUT/results.jsonl as soon as it is answered.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", metavar="FOLDER", help="folder of images (jpg, png, webp, gif, bmp, tiff)")
    parser.add_argument("prompt", metavar="PROMPT", help='e.g. "Detect every car"')
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (results.jsonl, exports)")
    add_request_options(parser)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8; lowered on 429s)")
    parser.add_argument("--empty-retries", type=int, default=2, metavar="N",
                        help="ask again up to N times when Gemini sends an answer with no text (default 2)")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false", help="only the folder itself")
    parser.add_argument("--dry-run", action="store_true", help="print image count, estimated tokens and requests; send nothing")
    parser.add_argument("--yes", "-y", action="store_true", help=f"do not ask before runs of more than {CONFIRM_ABOVE} images")
    parser.add_argument("--batch-api", action="store_true", help="use one Gemini Batch API job (cheaper, slower)")
    parser.add_argument("--job", metavar="NAME", default=None, help="resume waiting for this Batch API job (batches/...)")
    parser.add_argument("--poll", type=float, default=30.0, metavar="SECONDS", help="Batch API status check interval")
    parser.add_argument("--deadline", type=parse_duration, default=None, metavar="TIME",
                        help="stop waiting for the Batch API job after TIME (e.g. 90s, 30m, 2h; the job keeps "
                        "running, run again to collect it)")
    parser.add_argument("--resubmit-unmatched", action="store_true",
                        help="send images again whose earlier Batch API answers are in OUT/unmatched.jsonl")
    parser.add_argument("--export", choices=("coco", "yolo"), action="append", default=[],
                        help="also write OUT/coco.json or OUT/yolo/ (repeatable)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.set_defaults(func=run)


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` or ``"1h30m"`` (argparse type of ``--deadline``).

    >>> parse_duration("1h30m"), parse_duration("45")
    (5400.0, 45.0)
    """
    try:
        return durations.parse_duration(text)
    except durations.DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _confirm(n: int, est: Any) -> None:
    from ..errors import SpatialNBError

    if not sys.stdin.isatty():
        raise SpatialNBError(
            f"{n} images is more than {CONFIRM_ABOVE} and there is no terminal to confirm on; add --yes to run anyway"
        )
    print(est, file=sys.stderr)
    answer = input(f"Send {est.requests:,} requests (~{est.total_tokens:,} tokens)? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise SpatialNBError("cancelled; nothing was sent")


def run(args: argparse.Namespace) -> int:
    """Run the ``batch`` subcommand; returns the exit code (1 when some images failed)."""
    from ..batch import estimate, find_images
    from ..errors import SpatialNBError

    if args.concurrency < 1:
        raise SpatialNBError("--concurrency must be 1 or more")
    if args.empty_retries < 0:
        raise SpatialNBError("--empty-retries must be 0 or more")
    if args.job and not args.batch_api:
        raise SpatialNBError("--job resumes a Batch API job: add --batch-api")
    if (args.deadline is not None or args.resubmit_unmatched) and not args.batch_api:
        raise SpatialNBError("--deadline and --resubmit-unmatched are for Batch API jobs: add --batch-api")
    root, paths = find_images(args.folder, recursive=args.recursive)
    if not paths:
        raise SpatialNBError(f"no images (jpg, jpeg, png, webp, gif, bmp, tif, tiff) in {args.folder}")
    if args.dry_run or (len(paths) > CONFIRM_ABOVE and not args.yes and not args.job):
        est = estimate(paths, args.prompt, args.kind, model=args.model, max_size=args.max_size)
        if args.dry_run:
            print(est)
            print("dry run: nothing was sent (answers already in the cache would cost nothing)")
            return 0
        _confirm(len(paths), est)

    from ..client import Client

    # --timeout: the limit per image (all its attempts) in folder runs, per HTTP read in Batch API mode
    client = Client(model=args.model, timeout=args.timeout)
    common = dict(out=args.out, model=args.model, temperature=args.temperature, max_size=args.max_size,
                  progress=args.progress, recursive=args.recursive, client=client)
    if args.thinking is not None:
        common["thinking"] = args.thinking
    try:
        if args.batch_api:
            from ..batch.batch_api import run_batch_api

            summary = run_batch_api(args.folder, args.prompt, args.kind, job=args.job, poll_interval=args.poll,
                                    deadline=args.deadline, resubmit_unmatched=args.resubmit_unmatched, **common)
        else:
            from ..batch import run_folder

            summary = run_folder(args.folder, args.prompt, args.kind, concurrency=args.concurrency,
                                 empty_retries=args.empty_retries, **common)
    except KeyboardInterrupt:
        print(_interrupted(args, len(paths)), file=sys.stderr)
        return 130
    print(summary)
    for note in summary.notes:
        print(f"  note: {note}", file=sys.stderr)
    for name, message in list(summary.error_messages.items())[:5]:
        print(f"  error: {name}: {message}", file=sys.stderr)
    if summary.errors > 5:
        print(f"  ... {summary.errors - 5} more errors in {summary.path}", file=sys.stderr)
    if args.export:
        _export(args, root)
    return 1 if summary.errors else 0


def _interrupted(args: argparse.Namespace, total: int) -> str:
    """One line after Ctrl-C: what is safe on disk and how to go on."""
    from ..batch import read_records
    from ..batch.batch_api import JOB_FILENAME

    if args.batch_api and (Path(args.out) / JOB_FILENAME).exists():
        return ("spatial-nb: interrupted; the Batch API job keeps running (its name is in "
                f"{Path(args.out) / JOB_FILENAME}) — run the same command again to collect the answers")
    done = len({r["path"] for r in read_records(args.out) if r.get("status") == "ok"})
    return (f"spatial-nb: interrupted; {done} of {total} images are answered in {Path(args.out) / 'results.jsonl'} "
            "— run the same command again to do the rest")


def _image_sizes(results: dict[str, Any], root: Path) -> dict[str, tuple[int, int]]:
    """Upright pixel size per record name: from the request record, else the file's header
    (opened by its real OS name, so escaped names work; see spatial_nb.filenames)."""
    from PIL import Image

    from ..filenames import unescape_file_name

    sizes: dict[str, tuple[int, int]] = {}
    for name, res in results.items():
        size = (res.request or {}).get("original_size")
        if isinstance(size, (list, tuple)) and len(size) == 2:
            sizes[name] = (int(size[0]), int(size[1]))
            continue
        try:
            with Image.open(root / unescape_file_name(name)) as img:
                w, h = img.size
                if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # the model saw it upright
                    w, h = h, w
                sizes[name] = (w, h)
        except OSError:
            pass  # to_coco says which image it could not size
    return sizes


def _export(args: argparse.Namespace, root: Path) -> None:
    from ..batch import load_results
    from ..export import to_coco, to_yolo
    from ..filenames import unescape_file_name

    results = load_results(args.out)
    for fmt in args.export:
        if fmt == "coco":
            path = Path(args.out) / "coco.json"
            # file_name keeps the escaped record name (COCO JSON must be valid UTF-8)
            coco = to_coco(results, path, images_root=root, image_sizes=_image_sizes(results, root))
            dropped = sum(coco["info"]["spatial_nb"]["skipped_items_without_box"].values())
            print(f"COCO: {len(coco['images'])} images, {len(coco['annotations'])} annotations, "
                  f"{len(coco['categories'])} classes -> {path}" + (f" ({dropped} items without a box skipped)" if dropped else ""))
            summary = coco["info"]["spatial_nb"].get("summary")
            if summary:  # images whose size could not be read were left out
                print(f"COCO: {summary}")
        else:
            # label files mirror the images' real file names (bytes and all)
            lm = to_yolo({unescape_file_name(n): r for n, r in results.items()}, Path(args.out) / "yolo")
            yolo_dir = Path(args.out) / "yolo"
            extras = [name for name in ("label_files.json", "class_names.json") if (yolo_dir / name).is_file()]
            print(f"YOLO: {len(results)} label files, {len(lm.names)} classes -> {yolo_dir}"
                  + (f" (see {' and '.join(extras)}: renamed label files / class names)" if extras else ""))
