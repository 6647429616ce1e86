"""Label a whole folder with one prompt: concurrent runs with resume, the Gemini Batch API, estimates.

``run_folder`` sends requests concurrently (threads, adaptive concurrency on 429s) and streams
one JSON line per image to ``results.jsonl``; ``run_batch_api`` does the same job through the
Gemini Batch API (cheaper, slower, resumable by job name); ``estimate`` says what a run would
cost before anything is sent.
"""

from __future__ import annotations

from .estimate import Estimate, estimate
from .limiter import AdaptiveLimit
from .records import BatchSummary, load_results, read_records
from .runner import find_images, image_names, run_folder

__all__ = [
    "run_folder",
    "run_batch_api",
    "estimate",
    "Estimate",
    "BatchSummary",
    "AdaptiveLimit",
    "find_images",
    "image_names",
    "load_results",
    "read_records",
]


def __getattr__(name: str):
    if name == "run_batch_api":  # imports google.genai types: only when asked for
        from .batch_api import run_batch_api

        return run_batch_api
    raise AttributeError(f"module 'spatial_nb.batch' has no attribute {name!r}")
