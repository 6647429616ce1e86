"""On-disk cache of Gemini answers, so re-running a cell is instant, free and works offline.

One SQLite file (``results.sqlite3``, WAL mode) holds every answer as ``Result.to_json()``
text, keyed by :func:`cache_key` (source image bytes + request settings, never the API
key). SQLite transactions make concurrent writers (threads and processes) and killed
processes safe — an entry is either fully there or absent — at the price of one small
write per hit to track last use for the least-recently-used size limit. A read-only, full or
inaccessible cache switches itself off after one warning: it saves work, never stops it.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from .cache_failures import is_corruption as _is_corruption
from .cache_failures import permanent_problem as _permanent_problem
from .cache_keys import KEY_SCHEMA, _known_key_values, _without_secrets, cache_key, source_digest
from .errors import SpatialNBError
from .result import Result

__all__ = [
    "Cache",
    "CacheWarning",
    "DB_FILENAME",
    "DEFAULT_MAX_BYTES",
    "KEY_SCHEMA",
    "cache_key",
    "default_cache",
    "default_cache_dir",
    "source_digest",
]

#: Name of the SQLite file inside the cache directory.
DB_FILENAME = "results.sqlite3"
#: Default size limit: 512 MiB of stored answers.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: Layout version of the SQLite file (``PRAGMA user_version``).
_DB_SCHEMA_VERSION = 1
#: How long a writer waits for another writer's lock before giving up (milliseconds).
_BUSY_TIMEOUT_MS = 30_000


class CacheWarning(UserWarning):
    """The cache could not be used for something (the request is simply sent): an unreadable
    entry was dropped, or the cache is read-only, full or inaccessible (said once)."""


# -- the store --------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$SPATIAL_NB_CACHE_DIR``, else the user cache directory (platformdirs)."""
    env = os.environ.get("SPATIAL_NB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("spatial_nb"))


_SCHEMA_STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS entries (
        key      TEXT PRIMARY KEY,
        value    TEXT NOT NULL,
        size     INTEGER NOT NULL,
        stored   REAL NOT NULL,
        accessed REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_accessed ON entries(accessed)",
    # Running totals kept by triggers, so a put never scans the table to apply the limit.
    """CREATE TABLE IF NOT EXISTS totals (
        id      INTEGER PRIMARY KEY CHECK (id = 0),
        entries INTEGER NOT NULL,
        bytes   INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO totals (id, entries, bytes) VALUES (0, 0, 0)",
    """CREATE TRIGGER IF NOT EXISTS entries_ins AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + new.size WHERE id = 0;
    END""",
    """CREATE TRIGGER IF NOT EXISTS entries_del AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 0;
    END""",
    """CREATE TRIGGER IF NOT EXISTS entries_upd AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - old.size + new.size WHERE id = 0;
    END""",
)

# Connections inherited through fork() must not be used or closed by the child.
_ABANDONED: list[sqlite3.Connection] = []


class Cache:
    """A process- and thread-safe store of :class:`~spatial_nb.result.Result` answers.

    Entries live in ``<directory>/results.sqlite3``. Nothing is created until the first
    :meth:`put`. When the stored answers exceed ``max_bytes`` the least recently used
    (read or written) entries are removed. Sizes count the stored JSON text; the file
    itself is somewhat larger (SQLite pages).

    Args:
        directory: Where to keep the cache; default :func:`default_cache_dir`.
        max_bytes: Size limit of the stored answers (default 512 MiB).

    Example:
        >>> import tempfile
        >>> from spatial_nb.result import Item
        >>> cache = Cache(tempfile.mkdtemp())
        >>> cache.put("k1", Result([Item("cat", box=(0.1, 0.2, 0.3, 0.4))]))
        >>> cache.get("k1").cached, "k1" in cache, len(cache)
        (True, True, 1)
    """

    def __init__(self, directory: str | os.PathLike | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.path = self.directory / DB_FILENAME
        self._local = threading.local()
        self._setup_lock = threading.Lock()
        # Set once the cache proved unusable (read-only, full, inaccessible): then it behaves
        # as "no cache" for that part, after ONE warning, instead of failing on every call.
        self._no_reads: str | None = None
        self._no_writes: str | None = None
        self._warned = False
        self._state_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Cache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    # -- connections ----------------------------------------------------------------------
    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """This thread's connection (None when the file does not exist and ``create`` is False)."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None:
            if local.pid == os.getpid():
                return conn
            _ABANDONED.append(conn)  # inherited through fork: never touch it again
            local.conn = None
        if not create and not self.path.exists():
            return None
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise
            self._quarantine(exc)
            conn = self._open()
        local.conn, local.pid = conn, os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        if not self.directory.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(self.directory, 0o700)  # answers can describe private pictures
            except OSError:
                pass
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != _DB_SCHEMA_VERSION:
                with self._setup_lock:
                    self._create_schema(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against process kills
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        # auto_vacuum only takes effect before the first table exists; it lets eviction
        # hand pages back to the OS without a full VACUUM.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _DB_SCHEMA_VERSION:
                raise SpatialNBError(
                    f"the cache at {self.directory} was written by a newer spatial_nb "
                    f"(layout {version}); set SPATIAL_NB_CACHE_DIR to another directory or upgrade"
                )
            if version < _DB_SCHEMA_VERSION:
                for statement in _SCHEMA_STATEMENTS:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {_DB_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _quarantine(self, exc: Exception) -> None:
        """Move an unreadable database file aside so a fresh one can be started."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{DB_FILENAME}.corrupt-{stamp}-{os.getpid()}")
        try:
            os.replace(self.path, target)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(DB_FILENAME + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
        except FileNotFoundError:
            pass  # another process moved it first
        warnings.warn(
            f"spatial_nb cache file {self.path} was unreadable ({exc}); moved it to {target.name} "
            "and started an empty cache (delete the old file when you no longer need it)",
            CacheWarning,
            stacklevel=5,
        )

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    # -- when the cache cannot work -----------------------------------------------------------
    @property
    def problem(self) -> str | None:
        """Why this cache is (partly) out of use — read-only, full, inaccessible — or None."""
        return self._no_reads or self._no_writes

    def _failed(self, exc: BaseException, reading: bool) -> None:
        """Turn a failure into "no cache" (permanent ones, one warning per cache) or a warning.

        A read failure switches off reads and writes; a write failure (full disk, read-only
        file) only writes, so the answers already stored keep being served.
        """
        reason = _permanent_problem(exc)
        detail = f"{type(exc).__name__}: {exc}"
        if reason is None:  # busy for longer than the timeout: a miss for this call only
            doing = "read" if reading else "store this answer in"
            warnings.warn(f"spatial_nb could not {doing} the cache at {self.directory} ({detail}); "
                          "carrying on without it for this request", CacheWarning, stacklevel=4)
            return
        with self._state_lock:
            if reading and self._no_reads is None:
                self._no_reads = f"{reason} ({detail})"
            if self._no_writes is None:
                self._no_writes = f"{reason} ({detail})"
            first, self._warned = not self._warned, True
        if not first:
            return
        what = ("could not read the cache", "without a cache: every request is sent") if reading else (
            "could not store this answer in the cache", "without storing answers: they are not saved for next time")
        warnings.warn(
            f"spatial_nb {what[0]} at {self.directory}: it is {reason} ({detail}); carrying on {what[1]}. "
            "Point SPATIAL_NB_CACHE_DIR at a writable folder with free space (or pass cache=False)",
            CacheWarning,
            stacklevel=4,
        )

    # -- reading ----------------------------------------------------------------------------
    def get(self, key: str) -> Result | None:
        """The stored answer for ``key`` with ``cached=True``, or None.

        An entry that cannot be read back (damaged text, another format version) counts
        as a miss: it is removed and a :class:`CacheWarning` says so. A cache that cannot
        be opened or read (read-only folder, inaccessible file) is a miss too, and from then
        on "no cache", after one warning: the cache only ever saves work, never stops a request.
        """
        if self._no_reads:
            return None
        try:
            return self._get(key)
        except (sqlite3.Error, OSError, SpatialNBError) as exc:
            self._failed(exc, reading=True)
            return None

    def _get(self, key: str) -> Result | None:
        conn = self._connect(create=False)
        if conn is None:
            return None
        row = conn.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            result = Result.from_json(row[0])
        except Exception as exc:  # noqa: BLE001 - anything unreadable is a miss
            warnings.warn(
                f"spatial_nb cache entry {key[:12]}... was unreadable ({type(exc).__name__}: "
                f"{str(exc)[:200]}); removed it, the request will be sent again",
                CacheWarning,
                stacklevel=3,
            )
            self._execute_write(conn, "DELETE FROM entries WHERE key = ? AND value = ?", (key, row[0]))
            return None
        result.cached = True
        if not self._no_writes:
            try:  # last use, for LRU eviction; a read-only or busy cache still serves hits
                conn.execute("UPDATE entries SET accessed = ? WHERE key = ?", (time.time(), key))
            except sqlite3.OperationalError:
                pass
        return result

    def _read(self, query, default: Any) -> Any:
        """``query(conn)``, or ``default`` when the cache is absent or cannot be read."""
        if self._no_reads:
            return default
        try:
            conn = self._connect(create=False)
            return default if conn is None else query(conn)
        except (sqlite3.Error, OSError, SpatialNBError) as exc:
            self._failed(exc, reading=True)
            return default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return self._read(lambda c: c.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone() is not None,
                          False)

    def __len__(self) -> int:
        return self._read(lambda c: int(c.execute("SELECT entries FROM totals WHERE id = 0").fetchone()[0]), 0)

    def info(self) -> dict[str, Any]:
        """Summary: ``directory``, ``path``, ``entries``, ``bytes`` (stored answers),
        ``file_bytes`` (on disk), ``max_bytes``, ``oldest`` / ``newest`` (epoch seconds of
        the oldest / newest stored answer, or None), and ``problem``: why the cache is out of
        use (read-only, full, inaccessible), else None. Never raises for a broken cache."""
        out: dict[str, Any] = {
            "directory": str(self.directory),
            "path": str(self.path),
            "entries": 0,
            "bytes": 0,
            "file_bytes": 0,
            "max_bytes": self.max_bytes,
            "oldest": None,
            "newest": None,
            "problem": None,
        }

        def figures(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute("BEGIN")  # one snapshot for both queries
            try:
                entries, total = conn.execute("SELECT entries, bytes FROM totals WHERE id = 0").fetchone()
                oldest, newest = conn.execute("SELECT MIN(stored), MAX(stored) FROM entries").fetchone()
            finally:
                conn.execute("COMMIT")
            return dict(entries=int(entries), bytes=int(total), oldest=oldest, newest=newest)

        out.update(self._read(figures, {}))
        out["problem"] = self.problem
        for suffix in ("", "-wal"):
            try:
                out["file_bytes"] += os.path.getsize(str(self.path) + suffix)
            except OSError:
                pass
        return out

    # -- writing ----------------------------------------------------------------------------
    def put(self, key: str, result: Result) -> None:
        """Store ``result`` under ``key`` (replacing any older answer), then apply the size limit.

        The stored text is ``Result.to_json()`` with ``cached=False`` and the request
        settings kept, minus any entry named like a credential (``api_key``, ``key``,
        ``authorization``...). If an API key (the environment's or any client's) would still end up in
        the text, nothing is stored and a :class:`CacheWarning` says so.
        """
        if not isinstance(key, str) or not key:
            raise ValueError("cache key must be a non-empty string (see spatial_nb.cache.cache_key)")
        if not isinstance(result, Result):
            raise TypeError(f"Cache.put stores spatial_nb Result objects, got {type(result).__name__}")
        if self._no_writes:
            return  # read-only, full or inaccessible: said once already
        request = _without_secrets(result.request) if result.request is not None else None
        text = dataclasses.replace(result, cached=False, request=request).to_json()
        if any(secret in text for secret in _known_key_values()):
            warnings.warn(
                "spatial_nb did not cache this answer: its text contains the API key",
                CacheWarning,
                stacklevel=2,
            )
            return
        size = len(text.encode("utf-8"))
        if size > self.max_bytes:
            warnings.warn(
                f"spatial_nb did not cache this answer: it is {size} bytes, more than the cache "
                f"limit of {self.max_bytes} bytes",
                CacheWarning,
                stacklevel=2,
            )
            return
        try:
            self._store(key, text, size)
        except (sqlite3.Error, OSError, SpatialNBError) as exc:
            self._failed(exc, reading=False)

    def _store(self, key: str, text: str, size: int) -> None:
        conn = self._connect(create=True)
        assert conn is not None
        now = time.time()

        def write() -> None:
            conn.execute(
                "INSERT INTO entries (key, value, size, stored, accessed) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size, "
                "stored = excluded.stored, accessed = excluded.accessed",
                (key, text, size, now, now),
            )
            total = conn.execute("SELECT bytes FROM totals WHERE id = 0").fetchone()[0]
            if total > self.max_bytes:
                self._evict(conn, total - self.max_bytes, keep=key)

        self._transaction(conn, write)

    def _evict(self, conn: sqlite3.Connection, excess: int, keep: str) -> None:
        """Delete least recently used entries until ``excess`` bytes are freed."""
        victims: list[tuple[str]] = []
        freed = 0
        rows = conn.execute(
            "SELECT key, size FROM entries WHERE key != ? ORDER BY accessed, rowid", (keep,)
        )
        for victim, size in rows:
            victims.append((victim,))
            freed += size
            if freed >= excess:
                break
        rows.close()
        conn.executemany("DELETE FROM entries WHERE key = ?", victims)
        self._local.evicted = True

    def delete(self, key: str) -> bool:
        """Remove one entry; True if it existed (False, with the one warning, when the cache
        cannot be written)."""
        if self._no_writes:
            return False
        try:
            conn = self._connect(create=False)
            if conn is None:
                return False
            return self._execute_write(conn, "DELETE FROM entries WHERE key = ?", (key,)) > 0
        except (sqlite3.Error, OSError, SpatialNBError) as exc:
            self._failed(exc, reading=False)
            return False

    def clear(self) -> int:
        """Remove every entry and shrink the file; returns how many entries were removed.

        Raises:
            SpatialNBError: the cache cannot be written (one line saying why).
        """
        try:
            return self._clear()
        except (sqlite3.Error, OSError) as exc:
            reason = _permanent_problem(exc) or "busy"
            raise SpatialNBError(
                f"cannot clear the cache at {self.directory}: it is {reason} ({type(exc).__name__}: {exc})"
            ) from None

    def _clear(self) -> int:
        conn = self._connect(create=False)
        if conn is None:
            return 0
        removed = 0

        def wipe() -> None:
            nonlocal removed
            removed = conn.execute("SELECT entries FROM totals WHERE id = 0").fetchone()[0]
            conn.execute("DELETE FROM entries")

        self._transaction(conn, wipe)
        try:  # best effort: give the space back (fails harmlessly while others read)
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass
        return int(removed)

    def _execute_write(self, conn: sqlite3.Connection, sql: str, params: tuple) -> int:
        count = 0

        def run() -> None:
            nonlocal count
            count = conn.execute(sql, params).rowcount

        self._transaction(conn, run)
        return count

    def _transaction(self, conn: sqlite3.Connection, body) -> None:
        self._local.evicted = False
        conn.execute("BEGIN IMMEDIATE")  # take the write lock now (waits up to busy_timeout)
        try:
            body()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if self._local.evicted:
            try:
                conn.execute("PRAGMA incremental_vacuum")
            except sqlite3.OperationalError:
                pass


def _retry_busy(fn, attempts: int = 200):
    """Run ``fn``, retrying briefly when SQLite reports a lock that its busy handler skips."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.01 + 0.001 * attempt)


_default_lock = threading.Lock()
_default: Cache | None = None


def default_cache() -> Cache:
    """The shared :class:`Cache` for the current ``SPATIAL_NB_CACHE_DIR`` (or user cache dir).

    The same object is returned while the directory setting stays the same.
    """
    global _default
    directory = default_cache_dir()
    with _default_lock:
        if _default is None or _default.directory != directory:
            _default = Cache(directory)
        return _default


# Workshop packs (spatial_nb/packs.py) belong to the cache's API: snb.cache.export_pack / import_pack.
from .packs import export_pack, import_pack  # noqa: E402,F401  (packs imports this module lazily)
