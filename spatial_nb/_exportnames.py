"""Names that dataset files can hold: one-line class names and one label file per image.

YOLO's ``classes.txt`` is one name per line, so a label holding a line break would shift every
class id after it; ``<image stem>.txt`` label files collide when two images share a stem
(``dup.jpg``, ``dup.png``) or differ only in case (on macOS and Windows file systems). Both are
made unique here, and what changed is returned so the caller can write a mapping file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath

from ._sanitize import clean_text

__all__ = ["one_line_names", "label_file_names"]

_SPACES = re.compile(r"\s+")


def _one_line(name: str) -> str:
    text = clean_text(str(name))
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


def one_line_names(names: dict[int, str]) -> dict[int, str]:
    """Class id -> a name fit for one line of ``classes.txt``.

    Line breaks, tabs and other control characters become spaces, runs of spaces one space,
    lone surrogates U+FFFD; an empty result is ``class_<id>``; a name that now equals an
    earlier one (case-insensitively) gets `` (<id>)`` appended.

    >>> one_line_names({0: "red\\ncup", 1: "red cup", 2: "  "})
    {0: 'red cup', 1: 'red cup (1)', 2: 'class_2'}
    """
    out: dict[int, str] = {}
    seen: set[str] = set()
    for class_id in sorted(names):
        name = _one_line(names[class_id]) or f"class_{class_id}"
        if name.casefold() in seen:
            name = f"{name} ({class_id})"
        seen.add(name.casefold())
        out[class_id] = name
    return out


def _txt(name: str) -> str:
    try:
        return str(PurePosixPath(name).with_suffix(".txt"))
    except ValueError:  # no file name part ("", "dir/")
        return name + ".txt"


def label_file_names(image_names: Iterable[str]) -> dict[str, str]:
    """Image name -> its YOLO label file (relative POSIX path), unique even on case-insensitive disks.

    The label file is the image path with ``.txt`` for its extension. Images whose label files
    would collide (same stem, or same path but for letter case) all get ``<stem>_<ext>.txt``
    instead (``dup.jpg`` -> ``dup_jpg.txt``), with ``_2``, ``_3`` ... if even that is taken.

    >>> label_file_names(["a.jpg", "dup.jpg", "dup.png"])
    {'a.jpg': 'a.txt', 'dup.jpg': 'dup_jpg.txt', 'dup.png': 'dup_png.txt'}
    """
    names = list(dict.fromkeys(image_names))
    natural = {name: _txt(name) for name in names}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(natural[name].casefold(), []).append(name)
    out: dict[str, str] = {}
    taken = {key for key, members in groups.items() if len(members) == 1}
    for name in names:
        if len(groups[natural[name].casefold()]) == 1:
            out[name] = natural[name]
    for name in sorted(n for n in names if n not in out):
        path = PurePosixPath(name)
        ext = path.suffix.lstrip(".") or "noext"
        base = f"{path.stem}_{ext}"
        candidate, k = str(path.with_name(base + ".txt")), 1
        while candidate.casefold() in taken:
            k += 1
            candidate = str(path.with_name(f"{base}_{k}.txt"))
        taken.add(candidate.casefold())
        out[name] = candidate
    return {name: out[name] for name in names}
