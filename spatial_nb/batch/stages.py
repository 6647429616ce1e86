"""The two stages of one image in a folder run: preparing it, then sending it.

Preparing (:func:`prepare`) reads and hashes the file, answers from the cache when it can
(no decode at all), and otherwise decodes, shrinks and encodes it into a
:class:`~spatial_nb.images.PreparedImage` with exactly the request's settings. Sending
(:func:`send`) hands that PreparedImage to ``client.detect``, which sends its bytes unchanged
under the file's cache key. Splitting the two lets the runner prepare on a few threads (CPU
work) while the request threads only wait on the network; the cost is one extra cache lookup
per sent image (a SQLite read).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..images import PreparedImage
from ..result import Result

__all__ = ["DETECT_DEFAULTS", "is_ours", "plan_request", "prepare", "send", "default_prepare_threads"]

#: What ``Client.detect`` uses when a setting is not given (to rebuild a request's cache key).
DETECT_DEFAULTS = dict(temperature=0.5, max_size=640, system_instruction=None, model=None, structured=False,
                       thinking=None, max_output_tokens=None, context=None, seed=None, image_format=None)
#: Settings ``Client.detect`` takes that a Batch API request does not carry.
_DIRECT_ONLY = dict(media_resolution=None, timeout=None)


def is_ours(client: Any) -> bool:
    """A spatial_nb Client (not a stand-in): it takes ``timeout=`` per call and has ``copy``."""
    return hasattr(client, "copy") and hasattr(client, "retry_schedule")


def plan_request(client: Any, path: str | os.PathLike, prompt: str, kind: str, settings: dict[str, Any]) -> Any:
    """The client's plan of one request (what ``client.detect`` would send; nothing is sent)."""
    unknown = set(settings) - set(DETECT_DEFAULTS)
    if unknown:
        raise TypeError(f"batch mode got unknown settings {sorted(unknown)}")
    return client._plan(str(path), prompt, kind, {**DETECT_DEFAULTS, **settings})


def default_prepare_threads(concurrency: int) -> int:
    """Preparation threads for a run: one per CPU core this process may use, at most ``concurrency``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, concurrency))


def prepare(client: Any, path: Path, prompt: str, kwargs: dict[str, Any],
            on_miss: Callable[[], None] | None = None) -> PreparedImage | tuple[Result, float]:
    """Stage 1: the cached answer as ``(result, seconds)``, or the image ready to send.

    Args:
        client: A spatial_nb :class:`~spatial_nb.client.Client` (see :func:`is_ours`).
        path: The image file.
        prompt: The prompt.
        kwargs: The ``client.detect`` keyword arguments of the run (``kind`` included).
        on_miss: Called (on this thread) when the answer is not cached and the image is
            about to be decoded for sending.

    Raises:
        ImageLoadError: the file is missing, unreadable or not an image.
        OfflineCacheMiss: the client is offline and the answer is not cached.
        TypeError: a setting ``client.detect`` does not take.
    """
    start = time.perf_counter()
    settings = dict(kwargs)
    kind = settings.pop("kind", "boxes")
    unknown = set(settings) - set(DETECT_DEFAULTS) - set(_DIRECT_ONLY)
    if unknown:  # what client.detect would say, before any file is read
        raise TypeError(f"detect() got unexpected keyword arguments {sorted(unknown)}")
    plan = client._plan(str(path), prompt, kind, {**DETECT_DEFAULTS, **_DIRECT_ONLY, **settings})
    hit = plan.cached()  # the key hashes the file's bytes; nothing is decoded yet
    if hit is not None:
        return hit, time.perf_counter() - start
    plan.require_online()
    if on_miss is not None:
        on_miss()
    (prepared,) = plan.prepared  # the plan's own max_size and image_format: the same cache key
    # Only the encoded bytes travel on: the thumbnail (~1 MB at 640 px) is not kept while the
    # image waits for a request slot; the request opens the bytes again (header only).
    return dataclasses.replace(prepared, image=None)


def send(client: Any, image: PreparedImage | Path, prompt: str, kwargs: dict[str, Any],
         time_left: float | None) -> tuple[Result, float]:
    """Stage 2: one request for ``image``; returns the result and the seconds it took."""
    start = time.perf_counter()
    if time_left is not None:
        kwargs = {**kwargs, "timeout": time_left}
    res = client.detect(image if isinstance(image, PreparedImage) else str(image), prompt, **kwargs)
    return res, time.perf_counter() - start
