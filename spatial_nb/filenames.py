"""File names of any bytes as plain, UTF-8-safe text, and back, losslessly.

POSIX file names are bytes; Python hands undecodable ones over as "surrogate-escaped" str
(PEP 383) that cannot be written as UTF-8 (JSON lines, SQLite, HTML). Every name we store
(record ``path``, ``Result.request["source_name"]``, Batch API keys, COCO ``file_name``) goes
through :func:`escape_file_name`; :func:`unescape_file_name` gives the exact OS name back.
Trade-off: a literal backslash is written doubled (rare on POSIX, impossible in Windows names).
"""

from __future__ import annotations

import os
import re

__all__ = ["escape_file_name", "unescape_file_name"]

_ESCAPES = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


def _os_bytes(name: str) -> bytes:
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:  # a lone surrogate that no file system produced (made in Python)
        return name.encode("utf-8", "surrogatepass")


def escape_file_name(name: str | bytes | os.PathLike) -> str:
    """``name`` as text that is valid Unicode, readable, and maps back to the same bytes.

    The rule: take the name's bytes (:func:`os.fsencode`), write ``\\`` as ``\\\\`` and every
    byte that is not part of valid UTF-8 as ``\\xNN``; everything else stays as it is. Names
    that are valid UTF-8 without a backslash (nearly all) come out unchanged.

    Example:
        >>> escape_file_name(b"caf\\xe9.jpg")
        'caf\\\\xe9.jpg'
        >>> escape_file_name("café.jpg"), escape_file_name("a\\\\b.png")
        ('café.jpg', 'a\\\\\\\\b.png')
    """
    path = os.fspath(name)
    raw = path if isinstance(path, bytes) else _os_bytes(path)
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def unescape_file_name(text: str) -> str:
    """The OS name (a str, surrogate-escaped where needed) that :func:`escape_file_name` wrote.

    ``root / unescape_file_name(record["path"])`` opens the image a record is about.

    Example:
        >>> unescape_file_name(escape_file_name(os.fsdecode(b"caf\\xe9.jpg"))) == os.fsdecode(b"caf\\xe9.jpg")
        True
    """
    if "\\" not in text:
        return text
    out = bytearray()
    pos = 0
    for match in _ESCAPES.finditer(text):
        out += text[pos : match.start()].encode("utf-8", "surrogatepass")
        code = match.group(1)
        out += b"\\" if code == "\\" else bytes([int(code[1:], 16)])
        pos = match.end()
    out += text[pos:].encode("utf-8", "surrogatepass")
    return os.fsdecode(bytes(out))
