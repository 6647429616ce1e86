"""Find the image file a user means, and say what was tried when it is not there.

``voila notebooks/panel.ipynb`` and notebooks opened from ``notebooks/`` run with that folder as
the working directory, so the repository-relative ``images/coffee.jpg`` is not found from there.
:func:`find_image` tries a short, fixed list: the path as given, the working directory's parent
when that directory is called ``notebooks``, then the bundled sample photos by file name. It never
searches further: silently loading some other picture of the same name would be worse than an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ImageLoadError

__all__ = ["FoundImage", "find_image"]


@dataclass(frozen=True)
class FoundImage:
    """Where an image path led.

    Attributes:
        path: The file to load.
        requested: The path as the user typed it.
        tried: Every location looked at, in order (the last one is ``path``).
        cwd: The working directory the path was read against.
    """

    path: Path
    requested: str
    tried: tuple[Path, ...]
    cwd: Path

    @property
    def fallback(self) -> bool:
        """True when the file was not at the path as given."""
        return len(self.tried) > 1

    @property
    def note(self) -> str | None:
        """One sentence for the user when a fallback was used, else None."""
        if not self.fallback:
            return None
        return f"{self.requested} is not in {self.cwd}, so {self.path} was loaded instead."


def _sample_by_name(name: str) -> Path | None:
    """The bundled sample photo called ``name`` (exact file name first, then forgiving)."""
    try:
        from . import samples

        exact = samples.images_dir() / name
        if exact.is_file():
            return exact
        path = samples.sample(name).path
    except (ImportError, LookupError, ValueError, OSError):
        return None
    return path if path.is_file() else None


def find_image(path: str | os.PathLike, *, cwd: str | os.PathLike | None = None) -> FoundImage:
    """Resolve an image path typed by a user.

    Order: ``path`` itself (``~`` expanded, relative to ``cwd``); for a relative path when
    ``cwd`` is a folder named ``notebooks``, the same path from its parent; then a bundled
    sample photo with the same file name.

    Args:
        path: What the user typed.
        cwd: The directory relative paths are read from (default: the working directory).

    Returns:
        A :class:`FoundImage` (``.note`` says which file was loaded when a fallback was used).

    Raises:
        ImageLoadError: nothing found; the message names the working directory and every
            location tried.

    Example:
        >>> find_image("images/coffee.jpg", cwd="notebooks").note  # doctest: +SKIP
        'images/coffee.jpg is not in /repo/notebooks, so /repo/images/coffee.jpg was loaded instead.'
    """
    requested = os.fspath(path)
    if not requested.strip():
        raise ImageLoadError("no image path given: type a file path, e.g. images/coffee.jpg")
    base = Path(cwd).resolve() if cwd is not None else Path.cwd()
    given = Path(os.path.expanduser(requested))
    first = given if given.is_absolute() else base / given
    tried = [first]
    if first.exists():
        return FoundImage(first, requested, tuple(tried), base)
    if not given.is_absolute():
        if base.name == "notebooks":
            candidate = base.parent / given
            tried.append(candidate)
            if candidate.is_file():
                return FoundImage(candidate, requested, tuple(tried), base)
        sample = _sample_by_name(given.name)
        if sample is not None:
            tried.append(sample)
            return FoundImage(sample, requested, tuple(tried), base)
    where = ", ".join(str(p) for p in tried)
    also = " and the bundled sample photos" if not given.is_absolute() else ""
    raise ImageLoadError(
        f"image file not found: {requested!r} (working directory {base}; tried {where}{also}). "
        "Give an absolute path or one relative to the working directory."
    )
