"""Workshop packs: cached Gemini answers in one zip, so a class can replay a tour without a key.

An instructor runs the notebooks once with a key, then ``export_pack("tour.zip")``; students
``import_pack("tour.zip")`` and set ``SPATIAL_NB_OFFLINE=1``: every request is a cache hit, so
the pictures are identical and nothing is sent. A pack is a zip of ``manifest.json`` (format,
counts, SHA-256), ``entries.jsonl`` (one cache entry per line) and, when present, the model
adaptation memory ``model_settings.json``. Import checks everything before writing anything,
never extracts a path from the zip, and never replaces or evicts an entry the cache already has.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .durations import DURATION_EXAMPLES, DurationError, parse_duration
from .errors import SpatialNBError

__all__ = ["PackError", "PackInfo", "ImportReport", "export_pack", "import_pack", "parse_since"]

PACK_FORMAT = "spatial_nb.cache_pack"
PACK_VERSION = 1
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
#: The models' adaptation memory kept next to the cache database (written by spatial_nb.models).
MODEL_SETTINGS = "model_settings.json"
_MEMBERS = {MANIFEST, ENTRIES, MODEL_SETTINGS}
_SMALL_MEMBER_LIMIT = 4 * 1024 * 1024  # manifest and model settings are a few kB
_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


class PackError(SpatialNBError):
    """A pack cannot be written or read; the message says what is wrong with it."""


@dataclass(frozen=True)
class PackInfo:
    """What :func:`export_pack` wrote."""

    path: Path
    entries: int
    bytes: int
    model_settings: bool


@dataclass
class ImportReport:
    """What :func:`import_pack` did.

    Attributes:
        added: Answers newly stored in the cache.
        already_there: Answers the cache had already (kept as they were).
        model_settings: ``"added"``, ``"merged"``, ``"unchanged"`` or None (not in the pack).
        notes: Anything the user should know (e.g. a local settings file left alone).
    """

    added: int = 0
    already_there: int = 0
    model_settings: str | None = None
    notes: list[str] = field(default_factory=list)


# -- since --------------------------------------------------------------------------------



def parse_since(value: Any, *, now: float | None = None) -> float | None:
    """A ``since`` setting as epoch seconds: None, a number, a datetime, ISO text or ``"3d"``.

    Example:
        >>> parse_since("2h", now=10_000.0)
        2800.0
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise PackError(f"since must be a date, a time or a duration such as 3d, not {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, _dt.datetime):
        return (value if value.tzinfo else value.astimezone()).timestamp()
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day).astimezone().timestamp()
    text = str(value).strip()
    try:  # a duration back from now, with its unit (a bare number could be a year)
        back = parse_duration(text, bare_seconds=False)
    except DurationError:
        pass
    else:
        return (time.time() if now is None else now) - back
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PackError(
            f"cannot read --since {text!r}: give a date (2026-12-01), a date and time "
            f"(2026-12-01T09:30) or a duration back from now ({DURATION_EXAMPLES})"
        ) from None
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()


# -- export -------------------------------------------------------------------------------


def _cache(cache: Any):
    from .cache import Cache

    if cache is None:
        return Cache()
    if isinstance(cache, (str, os.PathLike)):
        return Cache(cache)
    return cache


def _read_entries(db_path: Path, since: float | None) -> list[tuple[str, float, str]]:
    from .cache import _DB_SCHEMA_VERSION

    if not db_path.exists():
        return []
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != _DB_SCHEMA_VERSION:
            raise PackError(f"the cache at {db_path.parent} has layout {version}; "
                            f"this spatial_nb reads layout {_DB_SCHEMA_VERSION}")
        rows = conn.execute(
            "SELECT key, stored, value FROM entries WHERE stored >= ? ORDER BY stored, key",
            (since if since is not None else float("-inf"),),
        ).fetchall()
    except sqlite3.Error as exc:
        raise PackError(f"cannot read the cache at {db_path.parent} ({exc}); check its permissions") from None
    finally:
        conn.close()
    return [(str(k), float(s), str(v)) for k, s, v in rows]


def export_pack(path: str | os.PathLike, *, since: Any = None, cache: Any = None) -> PackInfo:
    """Write the cached answers (optionally only those stored since ``since``) to a zip pack.

    Args:
        path: The ``.zip`` file to write (replaced atomically when it exists).
        since: Only answers stored at or after this moment: epoch seconds, a datetime,
            ISO text (``"2026-12-01"``) or a duration back from now (``"3d"``).
        cache: A :class:`spatial_nb.cache.Cache` or its directory (default: the default cache).

    Returns:
        A :class:`PackInfo` with the number of answers written.

    Example:
        >>> snb.cache.export_pack("tour.zip", since="1d")   # doctest: +SKIP
        PackInfo(path=PosixPath('tour.zip'), entries=14, bytes=101233, model_settings=True)
    """
    from . import __version__
    from .cache import KEY_SCHEMA
    from .result import FORMAT_VERSION

    cache = _cache(cache)
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise PackError(f"cannot write {str(target)!r}: the folder {str(target.parent)!r} does not exist")
    cutoff = parse_since(since)
    rows = _read_entries(Path(cache.path), cutoff)
    settings_path = Path(cache.directory) / MODEL_SETTINGS
    settings = settings_path.read_bytes() if settings_path.is_file() else None
    if not rows and settings is None:
        when = f" stored since {_dt.datetime.fromtimestamp(cutoff).isoformat(timespec='minutes')}" if cutoff else ""
        raise PackError(f"nothing to export: the cache at {cache.directory} has no answers{when}")
    lines = [json.dumps({"key": k, "stored": s, "value": v}, ensure_ascii=False) for k, s, v in rows]
    entries = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
    manifest = {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "spatial_nb": __version__,
        "result_format": FORMAT_VERSION,
        "key_schema": KEY_SCHEMA,
        "since": cutoff,
        "entries": len(rows),
        "entries_bytes": len(entries),
        "entries_sha256": hashlib.sha256(entries).hexdigest(),
        "model_settings_sha256": hashlib.sha256(settings).hexdigest() if settings is not None else None,
    }
    fd, tmp = tempfile.mkstemp(prefix=".pack-", suffix=".zip", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
            zf.writestr(ENTRIES, entries)
            if settings is not None:
                zf.writestr(MODEL_SETTINGS, settings)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return PackInfo(target, len(rows), target.stat().st_size, settings is not None)


# -- import -------------------------------------------------------------------------------


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    """A member's bytes, never more than ``limit`` (declared sizes are not trusted)."""
    if info.file_size > limit:
        raise PackError(f"{name}: {info.filename} claims {info.file_size} bytes, more than the limit of {limit}")
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit or len(data) != info.file_size:
        raise PackError(f"{name}: {info.filename} is not the size its zip header says; the pack is damaged")
    return data


def _validated(path: Path, limit_bytes: int) -> tuple[dict, list[tuple[str, float, str, Any]], bytes | None]:
    """Everything in the pack, checked; raises PackError before anything is written."""
    from .cache import KEY_SCHEMA
    from .result import Result

    name = path.name
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise PackError(f"no such pack: {str(path)!r}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackError(f"{name} is not a readable zip file ({exc}); ask for a fresh copy of the pack") from None
    with zf:
        infos = {}
        for info in zf.infolist():
            if info.filename not in _MEMBERS or info.is_dir():
                raise PackError(
                    f"{name} holds {info.filename!r}, which is not part of a spatial_nb pack "
                    f"(only {', '.join(sorted(_MEMBERS))}); refusing to import it"
                )
            if info.filename in infos:
                raise PackError(f"{name} holds {info.filename!r} twice; refusing to import it")
            infos[info.filename] = info
        if MANIFEST not in infos or ENTRIES not in infos:
            raise PackError(f"{name} is not a spatial_nb pack: it has no {MANIFEST} or {ENTRIES}")
        try:
            manifest = json.loads(_read_member(zf, infos[MANIFEST], _SMALL_MEMBER_LIMIT, name))
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise PackError(f"{name}: {MANIFEST} is unreadable ({exc}); the pack is damaged") from None
        if manifest.get("format") != PACK_FORMAT:
            raise PackError(f"{name} is not a spatial_nb pack (format {manifest.get('format')!r})")
        if manifest.get("version") != PACK_VERSION:
            raise PackError(
                f"{name} is a version {manifest.get('version')!r} pack; this spatial_nb reads version "
                f"{PACK_VERSION}: upgrade spatial_nb or export the pack again with this version"
            )
        if manifest.get("key_schema") != KEY_SCHEMA:
            raise PackError(
                f"{name} was made by a spatial_nb with other cache keys ({manifest.get('key_schema')!r}, "
                f"this one uses {KEY_SCHEMA!r}); export it again with the same spatial_nb version"
            )
        try:
            entries = _read_member(zf, infos[ENTRIES], limit_bytes, name)
            settings = None
            if MODEL_SETTINGS in infos:
                settings = _read_member(zf, infos[MODEL_SETTINGS], _SMALL_MEMBER_LIMIT, name)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC errors, truncated data
            raise PackError(f"{name} is damaged ({exc}); ask for a fresh copy of the pack") from None
    if hashlib.sha256(entries).hexdigest() != manifest.get("entries_sha256"):
        raise PackError(f"{name}: {ENTRIES} does not match the checksum in its manifest; the pack is damaged")
    if settings is not None and hashlib.sha256(settings).hexdigest() != manifest.get("model_settings_sha256"):
        raise PackError(f"{name}: {MODEL_SETTINGS} does not match the checksum in its manifest; the pack is damaged")
    rows = []
    for number, line in enumerate(entries.decode("utf-8", errors="strict").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key, stored, value = row["key"], float(row["stored"]), row["value"]
            if not isinstance(key, str) or not _KEY_RE.match(key) or not isinstance(value, str):
                raise ValueError("bad key or value")
            result = Result.from_json(value)
        except Exception as exc:  # noqa: BLE001 - any unreadable line refuses the whole pack
            raise PackError(f"{name}: answer {number} in {ENTRIES} is unreadable ({type(exc).__name__}: {exc})") from None
        rows.append((key, stored, value, result))
    if len(rows) != manifest.get("entries"):
        raise PackError(f"{name} says it holds {manifest.get('entries')} answers but has {len(rows)}; the pack is damaged")
    if settings is not None:
        try:
            parsed = json.loads(settings)
        except ValueError as exc:
            raise PackError(f"{name}: {MODEL_SETTINGS} is not JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise PackError(f"{name}: {MODEL_SETTINGS} is not a JSON object")
    return manifest, rows, settings


def _merge(local: Any, incoming: Any) -> Any:
    """Keys from ``incoming`` added to ``local`` recursively; ``local`` wins on conflicts."""
    if isinstance(local, dict) and isinstance(incoming, dict):
        out = dict(local)
        for key, value in incoming.items():
            out[key] = _merge(local[key], value) if key in local else value
        return out
    return local


def _merge_settings(directory: Path, settings: bytes, report: ImportReport) -> None:
    target = directory / MODEL_SETTINGS
    incoming = json.loads(settings)
    if target.exists():
        try:
            local = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            report.model_settings = "unchanged"
            report.notes.append(f"left {target} as it was: it is not readable JSON ({exc})")
            return
        merged = _merge(local, incoming)
        if merged == local:
            report.model_settings = "unchanged"
            return
        report.model_settings = "merged"
    else:
        merged = incoming
        report.model_settings = "added"
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".model_settings-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(merged, fh, indent=2, sort_keys=True)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_pack(path: str | os.PathLike, *, cache: Any = None) -> ImportReport:
    """Add a pack's answers to the cache (and merge its model settings), keeping what is there.

    The whole pack is checked first (format version, checksums, sizes, every answer readable,
    only the three known files): a corrupt or foreign pack is refused with a :class:`PackError`
    and nothing is written. Answers the cache already has are kept as they are; an import that
    would push the cache past its size limit (and so evict older answers) is refused.

    Example:
        >>> report = snb.cache.import_pack("tour.zip")   # doctest: +SKIP
        >>> report.added, report.already_there           # doctest: +SKIP
        (14, 0)
    """
    cache = _cache(cache)
    source = Path(path).expanduser()
    # the read limit only stops absurd members; the cache's own limit is checked below
    manifest, rows, settings = _validated(source, 2 * int(cache.max_bytes) + _SMALL_MEMBER_LIMIT)
    new = [(k, v, r) for k, _s, v, r in rows if k not in cache]
    report = ImportReport(already_there=len(rows) - len(new))
    incoming = sum(len(v.encode("utf-8")) for _k, v, _r in new)
    try:
        used = int(cache.info()["bytes"])
    except sqlite3.Error as exc:
        raise PackError(f"cannot use the cache at {cache.directory} ({exc}); check its permissions") from None
    if used + incoming > cache.max_bytes:
        raise PackError(
            f"{source.name} holds {incoming / 2**20:.1f} MiB of new answers; with the "
            f"{used / 2**20:.1f} MiB already cached that passes the cache limit of "
            f"{cache.max_bytes / 2**20:.0f} MiB, and older answers would be evicted. Import into "
            "another directory (SPATIAL_NB_CACHE_DIR or --dir) or clear the cache first"
        )
    for key, _value, result in new:
        result.cached = False
        cache.put(key, result)
        if key in cache:
            report.added += 1
        else:
            report.notes.append(f"answer {key[:12]}… could not be stored (see the warning above)")
    if settings is not None:
        _merge_settings(Path(cache.directory), settings, report)
    return report
