"""Cache keys: one stable SHA-256 per request, from the source image and the request settings.

The key hashes a canonical JSON of the request (sorted keys, one spelling for equal settings)
so the same question about the same picture always finds its answer, whichever Pillow encoded
the thumbnail; API keys are refused, never hashed. Used by :mod:`spatial_nb.cache` (which
re-exports everything here) and by the client.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import os
from collections.abc import Mapping
from typing import Any

from .result import FORMAT_VERSION

__all__ = ["KEY_SCHEMA", "cache_key", "source_digest"]

#: Goes into every cache key; bump it when the meaning of a key's fields changes.
KEY_SCHEMA = "spatial_nb.cache_key/1"

# Names (lower-case, "-" read as "_") that must never be stored or hashed.
_SECRET_NAMES = frozenset(
    {"api_key", "apikey", "key", "authorization", "x_goog_api_key", "access_token", "credentials"}
)


# -- keys -------------------------------------------------------------------------------


def _is_secret_name(name: str) -> bool:
    norm = str(name).strip().lower().replace("-", "_")
    return norm in _SECRET_NAMES or "api_key" in norm or "apikey" in norm


def _canonical(value: Any, where: str) -> Any:
    """``value`` as plain JSON data with a single spelling for equal settings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(value.value, where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cache_key: {where} is {value!r}; only finite numbers can be hashed")
        # 1 and 1.0 are the same setting; spell integral floats as ints.
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"cache_key: {where} has a non-string key {k!r}")
            out[k] = _canonical(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "model_dump"):  # pydantic objects such as google.genai.types.*
        return _canonical(value.model_dump(mode="json", exclude_none=True), where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _canonical(dataclasses.asdict(value), where)
    raise ValueError(
        f"cache_key: {where} is a {type(value).__name__}, which has no stable JSON form; "
        "pass numbers, strings, booleans, lists or dicts"
    )


def _find_secret_names(value: Any, where: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            path = f"{where}.{k}"
            if _is_secret_name(k):
                found.append(path)
            found.extend(_find_secret_names(v, path))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found.extend(_find_secret_names(v, f"{where}[{i}]"))
    return found


def cache_key(
    *,
    source_digest: str,
    max_size: Any,
    image_format: Any,
    model: str,
    prompt: str,
    system_instruction: str | None,
    kind: str,
    generation: dict,
) -> str:
    """A stable SHA-256 hex key for one request (DESIGN.md "Per-model request facts").

    The key hashes a canonical JSON (sorted keys, fixed separators) of the fields below
    plus :data:`KEY_SCHEMA` and the result format version. It deliberately leaves out:
    the API key (answers do not depend on who pays, and a key must never reach disk —
    a ``generation`` entry named like ``api_key`` is refused), and the encoded thumbnail
    (JPEG/PNG encoders change between Pillow versions; ``source_digest`` plus the
    preparation settings identify the picture instead).

    Args:
        source_digest: SHA-256 hex of the SOURCE image bytes (see :func:`source_digest`).
        max_size: Thumbnail size setting (e.g. 640, 1024 or None for the original).
        image_format: Encoding sent to the model (e.g. "jpeg", "png").
        model: Model name.
        prompt: The prompt text.
        system_instruction: The system instruction, or None.
        kind: "boxes", "masks", "points" or "boxes3d".
        generation: Other generation settings (temperature, thinking, safety, schema...).

    Example:
        >>> k = cache_key(source_digest="ab" * 32, max_size=640, image_format="jpeg",
        ...               model="gemini-2.5-flash", prompt="Detect cats", system_instruction=None,
        ...               kind="boxes", generation={"temperature": 0.5})
        >>> len(k)
        64

    Raises:
        ValueError: a field cannot be hashed stably, or ``generation`` holds a secret.
    """
    if not isinstance(source_digest, str) or not source_digest:
        raise ValueError("cache_key: source_digest must be the hex digest of the source image bytes")
    if not isinstance(generation, Mapping):
        raise ValueError(f"cache_key: generation must be a dict, got {type(generation).__name__}")
    secrets = _find_secret_names(generation, "generation")
    if secrets:
        raise ValueError(
            f"cache_key: {', '.join(secrets)} looks like a credential; API keys are never part "
            "of a cache key — pass the key to the client, not in the generation settings"
        )
    payload = {
        "schema": KEY_SCHEMA,
        "result_format": FORMAT_VERSION,
        "source_digest": source_digest.lower(),
        "max_size": _canonical(max_size, "max_size"),
        "image_format": _canonical(image_format, "image_format"),
        "model": _canonical(model, "model"),
        "prompt": _canonical(prompt, "prompt"),
        "system_instruction": _canonical(system_instruction, "system_instruction"),
        "kind": _canonical(kind, "kind"),
        "generation": _canonical(generation, "generation"),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def source_digest(source: bytes | bytearray | memoryview | str | os.PathLike) -> str:
    """SHA-256 hex of image bytes, or of a file's bytes when given a path.

    >>> source_digest(b"abc")[:12]
    'ba7816bf8f01'
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(source).hexdigest()
    with open(source, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# -- secrets ----------------------------------------------------------------------------


def _without_secrets(value: Any) -> Any:
    """A copy of ``value`` with every mapping entry named like a credential removed."""
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items() if not _is_secret_name(k)}
    if isinstance(value, (list, tuple)):
        return [_without_secrets(v) for v in value]
    return value


def _known_key_values() -> list[str]:
    """API keys known to this process (to make sure none is ever written): the environment's and
    every client's, the same set :func:`spatial_nb.redaction.redact` removes from text."""
    from .redaction import _secrets

    return sorted(_secrets(None))
