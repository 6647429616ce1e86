"""Which images a folder run labels: the files found, their names, and a compact list of them.

Names are plain strings relative to the root (posix ``/``), not Path objects, and the list of
names still to do is packed into one string, so a 100,000-image folder costs a few MB. Names
are the OS's (undecodable bytes surrogate-escaped, PEP 383); records store
:func:`~spatial_nb.filenames.escape_file_name` of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import SpatialNBError

__all__ = ["IMAGE_EXTENSIONS", "image_names", "find_images", "NameList"]

#: File extensions picked up from a folder (case-insensitive).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})


def image_names(
    folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True
) -> tuple[Path, list[str]]:
    """The root folder and the sorted image names relative to it (posix ``/``), as plain strings.

    Strings, not Path objects, so a 100,000-image folder costs a few MB, not tens (see
    :func:`find_images` for the arguments). These are OS names (undecodable bytes
    surrogate-escaped, PEP 383); records store ``escape_file_name(name)``.
    """
    if isinstance(folder_or_paths, (str, os.PathLike)):
        root = Path(folder_or_paths)
        if root.is_file():
            return root.parent, [root.name]
        if not root.is_dir():
            raise SpatialNBError(f"{root} is not a folder or an image file")
        names: list[str] = []
        prefix_len = len(os.fspath(root).rstrip(os.sep)) + 1
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")] if recursive else []
            rel = directory[prefix_len:].replace(os.sep, "/")
            for file in files:
                if not file.startswith(".") and os.path.splitext(file)[1].lower() in IMAGE_EXTENSIONS:
                    names.append(f"{rel}/{file}" if rel else file)
        names.sort()
        return root, names
    paths = sorted({Path(p) for p in folder_or_paths})
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SpatialNBError(f"{len(missing)} image paths do not exist, e.g. {missing[0]}")
    if not paths:
        return Path.cwd(), []
    resolved = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return root, sorted(p.relative_to(root).as_posix() for p in resolved)


def find_images(
    folder_or_paths: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True
) -> tuple[Path, list[Path]]:
    """The images to label, sorted by name, and the root their record names are relative to.

    Args:
        folder_or_paths: A folder (searched for jpg/jpeg/png/webp/gif/bmp/tif/tiff, any case),
            or a list of image paths (root = their common folder).
        recursive: Search sub-folders too (hidden files and folders are skipped).
    """
    root, names = image_names(folder_or_paths, recursive)
    return root, [root / name for name in names]


class NameList:
    """Names packed into one NUL-separated string (file names never contain NUL)."""

    def __init__(self, names: list[str]):
        self._blob = "\0".join(names)
        self._empty = not names

    def __iter__(self) -> Iterator[str]:
        if self._empty:
            return
        blob, start = self._blob, 0
        while True:
            end = blob.find("\0", start)
            if end < 0:
                yield blob[start:]
                return
            yield blob[start:end]
            start = end + 1
