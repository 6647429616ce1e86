"""What a SQLite or OS failure means for the answer cache: passing, corrupt, or "stop using it".

A cache that is read-only, full or inaccessible will fail the same way on every call, so the
cache switches itself off after one warning; a lock held too long by another writer is only
a miss for that call; an unreadable file is moved aside. Kept apart from :mod:`spatial_nb.cache`
so the store itself stays small.
"""

from __future__ import annotations

import errno
import sqlite3

from .errors import SpatialNBError

__all__ = ["permanent_problem", "is_corruption"]

_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def permanent_problem(exc: BaseException) -> str | None:
    """What makes the cache unusable for this process ("read-only", "full", ...), or None
    for a passing failure (another writer held the lock for longer than the busy timeout)."""
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc).lower()
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return None
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return "read-only"
        if name.startswith("SQLITE_FULL") or "full" in text:
            return "full"
        if name.startswith("SQLITE_IOERR") or "i/o error" in text:
            return "failing to write (a full or read-only disk?)"
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in text:
            return "not accessible (read-only or missing permissions?)"
        return "unusable"
    if isinstance(exc, OSError):
        if exc.errno in _FULL_ERRNOS:
            return "full"
        if exc.errno in _READ_ONLY_ERRNOS:
            return "read-only"
        return "not accessible"
    if isinstance(exc, SpatialNBError):  # written by a newer spatial_nb
        return "unusable"
    return None


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text
