"""Bundled sample photos, their prompts, recorded answers, and the cookbook's photos on demand.

The photos in ``images/`` (the AI Studio app's gallery first, then a few others; licences in
``images/LICENSES.md``) ship inside the wheel; the prompts for every detect kind, with where
each quoted one comes from, live in one data file, ``data/sample_prompts.json``, read by the
panel and the notebook alike. Recorded answers replay without a key (:func:`recorded_answer`,
:func:`demo`). The cookbook's other photos are downloaded by :func:`fetch` and SHA-256 pinned.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpatialNBError
from .recordings import Recording, recorded_answer, recording_for, recordings

__all__ = [
    "KINDS",
    "UnknownSampleError",
    "COOKBOOK_NAMES",
    "DEFAULT_BASE_URL",
    "Sample",
    "Example",
    "images_dir",
    "list_samples",
    "sample_names",
    "sample",
    "sample_path",
    "prompts_for",
    "example",
    "cookbook_prompts",
    "default_cache_dir",
    "fetch",
    "prompt_source",
    "Recording",
    "recordings",
    "recording_for",
    "recorded_answer",
    "demo",
]

KINDS = ("boxes", "masks", "points", "boxes3d")
DEFAULT_BASE_URL = "https://storage.googleapis.com/generativeai-downloads/images/"
# The cookbook's sample photos, with the exact (case-sensitive) names the server uses.
COOKBOOK_NAMES = (
    "socks.jpg",
    "vegetables.jpg",
    "Japanese_Bento.png",
    "Cupcakes.jpg",
    "origamis.jpg",
    "fruits.jpg",
    "cat.jpg",
    "pumpkins.jpg",
    "breakfast.jpg",
    "bookshelf.jpg",
    "spill.jpg",
)
_CHECKSUMS_FILE = "checksums.json"
_PACKAGE_DIR = Path(__file__).resolve().parent
_DATA_FILE = _PACKAGE_DIR / "data" / "sample_prompts.json"


class UnknownSampleError(SpatialNBError, LookupError):
    """A sample, cookbook photo, kind or tour section name that does not exist."""


@dataclass(frozen=True)
class Sample:
    """One bundled photo and what to ask about it.

    Attributes:
        name: File name in the images directory, e.g. ``"coffee.jpg"``.
        path: Absolute path of the photo.
        title: A few words for menus.
        description: One line saying what is in the picture.
        prompts: Sample prompts per detect kind (``"boxes"``, ``"masks"``, ``"points"``,
            ``"boxes3d"``), first one the most typical.
        licence: Short licence and author line (details in ``images/LICENSES.md``).
        source: Key of the photo's source in the data file's ``sources`` (e.g. ``"ai_studio_gallery"``).
        prompt_sources: For prompts quoted from elsewhere, prompt -> source key (``"cookbook"``,
            ``"ai_studio_app"``); prompts not in it were written for spatial_nb.
    """

    name: str
    path: Path
    title: str
    description: str
    prompts: dict[str, list[str]] = field(default_factory=dict)
    licence: str = ""
    source: str = ""
    prompt_sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """One step of the notebook's tour: which photo, which kind, which prompt."""

    section: str
    name: str
    kind: str
    prompt: str
    path: Path


# -- bundled samples ---------------------------------------------------------------------


def images_dir() -> Path:
    """Directory of the bundled photos.

    In an installed wheel the photos live in ``spatial_nb/_bundled_images`` (the build maps
    the repository's ``images/`` there); in a source checkout they are in ``images/`` next
    to the package.
    """
    bundled = _PACKAGE_DIR / "_bundled_images"
    if bundled.is_dir():
        return bundled
    return _PACKAGE_DIR.parent / "images"


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    with open(_DATA_FILE, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("format") != "spatial_nb.sample_prompts" or data.get("version") != 1:
        raise SpatialNBError(f"{_DATA_FILE} is not a version-1 spatial_nb sample prompt file; reinstall spatial_nb")
    return data


def sample_names() -> list[str]:
    """File names of the bundled photos, in the data file's order."""
    return list(_data()["images"])


def list_samples() -> list[Sample]:
    """Every bundled photo with its title, description, prompts and licence.

    The AI Studio app's gallery comes first, in the app's order.

    Example:
        >>> [s.name for s in list_samples()][:3]
        ['origami.jpg', 'clock.jpg', 'socks.jpg']
    """
    return [sample(name) for name in sample_names()]


def _resolve_name(name: str) -> str:
    images = _data()["images"]
    if name in images:
        return name
    # Be forgiving about the extension and case: "coffee", "Coffee.JPG".
    lowered = name.lower()
    for known in images:
        if lowered in (known.lower(), Path(known).stem.lower()):
            return known
    raise UnknownSampleError(f"no bundled sample named {name!r}; choose one of: {', '.join(images)}")


def sample(name: str) -> Sample:
    """The bundled sample called ``name`` (``"coffee.jpg"`` or just ``"coffee"``)."""
    key = _resolve_name(name)
    entry = _data()["images"][key]
    return Sample(
        name=key,
        path=images_dir() / key,
        title=entry["title"],
        description=entry["description"],
        prompts={kind: list(entry["prompts"].get(kind, [])) for kind in KINDS},
        licence=entry.get("licence", ""),
        source=entry.get("source", ""),
        prompt_sources=dict(entry.get("prompt_sources", {})),
    )


def sample_path(name: str) -> Path:
    """Path of a bundled photo, e.g. ``sample_path("coffee")``; errors if the file is missing."""
    path = sample(name).path
    if not path.is_file():
        raise SpatialNBError(
            f"bundled sample {path.name!r} is missing from {path.parent}; reinstall spatial_nb "
            "(the photos ship in the wheel) or run from a full source checkout"
        )
    return path


def prompts_for(name: str, kind: str = "boxes") -> list[str]:
    """Sample prompts for a bundled photo and a detect kind.

    Example:
        >>> prompts_for("coffee.jpg", "boxes")[0]
        'Detect the cup, the spoon and the saucer'
    """
    if kind not in KINDS:
        raise UnknownSampleError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    return sample(name).prompts[kind]


def prompt_source(name: str, prompt: str) -> dict[str, Any] | None:
    """Where a sample prompt was quoted from, or None when it was written for spatial_nb.

    Returns:
        The source record from the data file (``title``, ``repository``, ``path``, ``commit``,
        ``date``, ``licence``, ``note``) plus ``"key"``.

    Example:
        >>> prompt_source("socks.jpg", "Show me the positions of the socks with the face")["path"]
        'quickstarts/Spatial_understanding.ipynb'
    """
    key = sample(name).prompt_sources.get(prompt)
    if key is None:
        return None
    return {"key": key, **_data()["sources"][key]}


def example(section: str) -> Example:
    """The photo, kind and prompt the notebook uses for one of its sections.

    Sections: ``overlay``, ``search``, ``multilingual``, ``reasoning``, ``masks``,
    ``points``, ``boxes3d``.
    """
    tour = _data()["tour"]
    if section not in tour:
        raise UnknownSampleError(f"no example for section {section!r}; choose one of: {', '.join(tour)}")
    step = tour[section]
    return Example(section, step["image"], step["kind"], step["prompt"], images_dir() / step["image"])


def cookbook_prompts(name: str, kind: str = "boxes") -> list[str]:
    """The prompts Google's cookbook notebook offered for one of its photos (see :func:`fetch`)."""
    images = _data()["cookbook"]["images"]
    _check_cookbook_name(name)
    return list(images.get(name, {}).get("prompts", {}).get(kind, []))


# -- recorded answers (see spatial_nb.recordings) ----------------------------------------------


def demo(out_dir: str | os.PathLike[str] = "spatial-nb-demo", *, echo: Any = print) -> list[Any]:
    """Draw every recorded answer on its photo, no key or network needed (``spatial-nb demo``).

    Writes ``<id>.png`` (full size), ``<id>.html`` and ``<id>.json`` per recording and an
    ``index.html`` into ``out_dir``; prints one line per file group, each saying that the
    answers are recordings and how to ask Gemini live.

    Returns:
        A list of ``spatial_nb.demo.DemoOutput`` (recording, png, html, json, n_items).

    Example:
        >>> outs = demo("my-demo")                          # doctest: +SKIP
    """
    from .demo import run_demo

    return run_demo(out_dir, echo=echo)


# -- cookbook photos on demand ----------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where fetched photos go: ``$SPATIAL_NB_CACHE_DIR/samples`` or the user cache dir."""
    root = os.environ.get("SPATIAL_NB_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "samples"
    import platformdirs

    return Path(platformdirs.user_cache_dir("spatial_nb")) / "samples"


def _check_cookbook_name(name: str) -> None:
    if name not in COOKBOOK_NAMES:
        hint = ""
        for known in COOKBOOK_NAMES:
            if known.lower() == str(name).lower():
                hint = f" (names are case-sensitive: did you mean {known!r}?)"
        raise UnknownSampleError(f"unknown cookbook image {name!r}{hint}; valid names: {', '.join(COOKBOOK_NAMES)}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_checksums(folder: Path) -> dict[str, str]:
    try:
        with open(folder / _CHECKSUMS_FILE, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SpatialNBError(
            f"cannot read {folder / _CHECKSUMS_FILE} ({exc}); delete it to start the sample cache afresh"
        ) from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_checksums(folder: Path, checksums: dict[str, str]) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checksums-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(dict(sorted(checksums.items())), fh, indent=1)
    os.replace(tmp, folder / _CHECKSUMS_FILE)


def _download(url: str, folder: Path, timeout: float) -> Path:
    """Download ``url`` to a temporary file in ``folder``; return its path."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https/http only)
                while block := response.read(1 << 16):
                    out.write(block)
    except urllib.error.HTTPError as exc:
        os.unlink(tmp)
        raise SpatialNBError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError) as exc:
        os.unlink(tmp)
        reason = getattr(exc, "reason", exc)
        raise SpatialNBError(
            f"cannot download {url}: {reason}. Fetching the cookbook's photos needs an internet "
            "connection; the bundled photos (spatial_nb.samples.list_samples()) work offline"
        ) from None
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def fetch(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    timeout: float = 30,
    refresh: bool = False,
) -> Path:
    """Download one of the cookbook's sample photos (once) and return its local path.

    The first download records the file's SHA-256 in ``checksums.json`` next to it. A
    cached file whose bytes no longer match is an error, and so is a re-download
    (``refresh=True``) whose bytes differ from the recorded ones: the photo changed upstream
    or on disk, and results made with the old one would not be comparable.

    Args:
        name: Exact, case-sensitive name, one of :data:`COOKBOOK_NAMES` (e.g. ``"Cupcakes.jpg"``).
        cache_dir: Folder to keep the photos in (default: :func:`default_cache_dir`).
        base_url: Where the photos are served from.
        timeout: Seconds to wait for the server.
        refresh: Download again even if a verified copy is cached.

    Example:
        >>> path = fetch("Cupcakes.jpg")                      # doctest: +SKIP
        >>> res = client.detect(path, cookbook_prompts("Cupcakes.jpg")[0])   # doctest: +SKIP
    """
    _check_cookbook_name(name)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    checksums = _read_checksums(folder)
    recorded = checksums.get(name)
    fix = f"delete {target} (and its line in {folder / _CHECKSUMS_FILE}) or call fetch({name!r}, refresh=True)"

    if target.is_file() and not refresh:
        if recorded is None:  # a file put there by hand or an interrupted run: pin what is there
            checksums[name] = _sha256(target)
            _write_checksums(folder, checksums)
            return target
        actual = _sha256(target)
        if actual != recorded:
            raise SpatialNBError(
                f"cached {name} does not match the SHA-256 recorded at its first download "
                f"({actual[:12]}… != {recorded[:12]}…); {fix}"
            )
        return target

    url = urllib.parse.urljoin(base_url if base_url.endswith("/") else base_url + "/", urllib.parse.quote(name))
    tmp = _download(url, folder, timeout)
    actual = _sha256(tmp)
    if recorded is not None and actual != recorded:
        os.unlink(tmp)
        raise SpatialNBError(
            f"{url} no longer matches the SHA-256 recorded at the first download of {name} "
            f"({actual[:12]}… != {recorded[:12]}…); the photo changed upstream. To accept the new "
            f"photo, remove {name!r} from {folder / _CHECKSUMS_FILE} and fetch again"
        )
    os.replace(tmp, target)
    if recorded is None:
        checksums[name] = actual
        _write_checksums(folder, checksums)
    return target
