"""The record file of a folder run (``results.jsonl``) and the run's summary.

One JSON line per image, flushed as soon as it is written, so a crash loses at most a torn
last line (skipped on reading). Names are stored with :func:`~spatial_nb.filenames.escape_file_name`
(lossless for names of any bytes, always valid UTF-8). ``run.json`` keeps the run's settings
so a resume with another prompt is refused. Shared by the concurrent runner and Batch API mode.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpatialNBError
from ..result import Result

__all__ = ["RESULTS_FILENAME", "RUN_FILENAME", "BatchSummary", "read_records", "load_results"]

#: Name of the per-image record file inside ``out``.
RESULTS_FILENAME = "results.jsonl"
#: Settings of the run, so a resume with another prompt is caught.
RUN_FILENAME = "run.json"


def _tokens(res: Result) -> int:
    """Tokens an answer cost (total, else prompt + output)."""
    usage = res.usage or {}
    total = usage.get("total_tokens")
    if not isinstance(total, int):
        total = sum(v for k, v in usage.items() if k in ("prompt_tokens", "output_tokens") and isinstance(v, int))
    return int(total or 0)


@dataclass
class BatchSummary:
    """What a folder run did.

    Attributes:
        images: Images found.
        done: Answered in this run (``"ok"`` records written).
        skipped: Already recorded ``"ok"`` by an earlier run (resume).
        errors: ``"error"`` records written in this run.
        items: Objects found in this run.
        tokens: Tokens spent in this run (answers replayed from the cache cost none).
        cached: Answers replayed from the cache.
        requeued: Requests sent again after a 429 or a 5xx got through the SDK's retries,
            or after an empty answer.
        empty_answers: Answers with no text at all (see :mod:`spatial_nb.empty_answers`),
            counting each one that was asked again.
        throttles: Times the concurrency was halved; ``lowest_concurrency`` how low it went.
        unmatched: Batch API answers that could not be matched to an image (kept in
            ``unmatched.jsonl``).
        held: Images not sent because an earlier Batch API answer for them may be among the
            unmatched ones (they were paid for; see ``resubmit_unmatched``).
        path: The ``results.jsonl`` file.
        interrupted: True when the run stopped early (Ctrl-C).
        notes: Things the user should know about the run, one line each.
    """

    images: int = 0
    done: int = 0
    skipped: int = 0
    errors: int = 0
    items: int = 0
    tokens: int = 0
    cached: int = 0
    requeued: int = 0
    empty_answers: int = 0
    unmatched: int = 0
    held: int = 0
    throttles: int = 0
    lowest_concurrency: int = 0
    elapsed_s: float = 0.0
    path: Path | None = None
    interrupted: bool = False
    error_messages: dict[str, str] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list, repr=False)

    def count_answer(self, result: Result) -> None:
        """Add one answered image: its items, and its tokens unless the cache replayed it."""
        self.done += 1
        self.items += len(result)
        if result.cached:
            self.cached += 1
        else:
            self.tokens += _tokens(result)

    @property
    def remaining(self) -> int:
        """Images with no record from this run or an earlier one."""
        return self.images - self.done - self.skipped - self.errors

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path) if self.path else None
        out.pop("error_messages")
        out.pop("notes")
        return out

    def __str__(self) -> str:
        text = (
            f"{self.images} images: {self.done} done, {self.skipped} already done, {self.errors} errors"
            f"{f', {self.remaining} left' if self.remaining else ''}; {self.items} items, "
            f"{self.tokens:,} tokens, {self.cached} from cache, {self.elapsed_s:.1f} s"
        )
        if self.empty_answers:
            text += f"; {self.empty_answers} empty answers"
        if self.unmatched or self.held:
            text += f"; {self.unmatched} unmatched answers, {self.held} images held back"
        if self.throttles:
            text += f"; rate-limited {self.throttles}x (concurrency went down to {self.lowest_concurrency})"
        if self.path:
            text += f" -> {self.path}"
        return text


# -- the record file ------------------------------------------------------------------------


def read_records(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The records of a ``results.jsonl`` (or its folder), skipping a torn last line.

    A record's ``path`` is the image name relative to the run's folder, written with
    :func:`~spatial_nb.filenames.escape_file_name` (unchanged for ordinary names); open the
    image with ``root / spatial_nb.filenames.unescape_file_name(record["path"])``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILENAME
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash; that image simply runs again
            if isinstance(record, dict) and "path" in record:
                yield record


def load_results(path: str | os.PathLike) -> dict[str, Result]:
    """``{image name: Result}`` of the ``"ok"`` records of a run (the last one per image wins).

    Names are as stored in the records (see :func:`read_records`)."""
    out: dict[str, Result] = {}
    for record in read_records(path):
        if record.get("status") == "ok" and record.get("result"):
            out[record["path"]] = Result.from_dict(record["result"])
    return out


class _Writer:
    """Appends one JSON line per record and flushes it (the main thread is the only writer).

    Names arrive escaped; should any other text still hold a lone surrogate (an exception
    message quoting a raw OS name), it is written as the JSON escape ``\\udcXX`` instead of
    stopping the run (``errors="backslashreplace"``: the line stays valid JSON).
    """

    def __init__(self, path: Path):
        self.path = path
        torn = False
        if path.exists() and path.stat().st_size > 0:
            with path.open("rb") as fh:  # only the last byte: the file may hold 100,000 records
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
        self._fh = path.open("a", encoding="utf-8", errors="backslashreplace")
        if torn:
            self._fh.write("\n")  # never glue a new record onto a torn line

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def run_settings(prompt: str, kind: str, model: str | None, temperature: float, max_size: int,
                 detect_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The settings ``run.json`` keeps (plain JSON values only) to refuse a resume that changed them."""
    return {
        "prompt": prompt,
        "kind": kind,
        "model": model,
        "temperature": temperature,
        "max_size": max_size,
        **{k: v for k, v in detect_kwargs.items() if isinstance(v, (str, int, float, bool, type(None)))},
    }


def _prepare_out(out: Path, settings: dict[str, Any], resume: bool) -> tuple[Path, set[str]]:
    out.mkdir(parents=True, exist_ok=True)
    results = out / RESULTS_FILENAME
    run_file = out / RUN_FILENAME
    if resume and results.exists() and run_file.exists():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
        changed = sorted(k for k in settings if k in previous and previous[k] != settings[k])
        if changed:
            raise SpatialNBError(
                f"{out} holds results of a run with other settings ({', '.join(changed)} differ); "
                "use another output folder, or resume=False (--no-resume) to start over"
            )
    if not resume and results.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        results.rename(out / f"results.{stamp}.jsonl")  # keep the old answers, start a new file
    run_file.write_text(json.dumps(settings, indent=1, ensure_ascii=False), encoding="utf-8")
    done = {r["path"] for r in read_records(results) if r.get("status") == "ok"} if resume else set()
    return results, done
