"""Image loading and preparation: anything picture-like -> an upright RGB image -> request bytes.

``load_image`` accepts paths, bytes, PIL images and numpy arrays, applies the EXIF orientation
(phone photos are stored sideways) and converts every mode to RGB. ``prepare_image`` also
shrinks the picture to what the model needs (640 px by default) and encodes it, with a mime
type checked against the bytes. Large JPEGs are decoded at reduced scale (libjpeg "draft", the
smallest 1/2, 1/4 or 1/8 scale still at least the target size; ~50 dB PSNR against a full
decode, see benchmarks/overhead.py), which is most of the speed; the cache key uses a digest
of the *source*, never of the thumbnail, so how the thumbnail is made may change.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from ._image_arrays import array_to_image as _array_to_image
from ._image_arrays import deep_to_uint8 as _deep_to_uint8
from .errors import ImageLoadError
from .filenames import escape_file_name

__all__ = [
    "ImageInput",
    "ImageSource",
    "PreparedImage",
    "open_source",
    "normalize_max_size",
    "load_image",
    "prepare_image",
    "sniff_mime",
    "MAX_PIXELS",
    "DEFAULT_MAX_SIZE",
    "JPEG_QUALITY",
]

#: What the loaders accept (a :class:`PreparedImage` too: see :func:`prepare_image`).
ImageInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Image.Image, np.ndarray, "PreparedImage"]

#: Largest picture (width x height) we agree to decode: a guard against decompression bombs.
#: 150 MP covers 108 MP phone photos. Pillow refuses more than 2 x ``PIL.Image.MAX_IMAGE_PIXELS``
#: (about 179 MP) by itself; raise both to open larger files.
MAX_PIXELS = 150_000_000

#: Longest side, in pixels, of the image sent to the model unless told otherwise.
DEFAULT_MAX_SIZE = 640

#: Quality of the JPEGs we send (90: artefacts invisible to the model, ~4x smaller than PNG).
JPEG_QUALITY = 90

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Sources that are usually graphics/screenshots: re-encode losslessly.
_LOSSLESS_SOURCES = {"PNG", "GIF", "BMP", "TIFF", "PPM", "ICO"}


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send: the encoded bytes plus what they are.

    Attributes:
        data: Encoded bytes, exactly what goes into the request.
        mime_type: Mime type of ``data`` (checked against its magic bytes).
        size: ``(width, height)`` of the encoded picture, i.e. what the model sees.
        original_size: ``(width, height)`` of the upright source picture.
        source_digest: sha256 hex of the source: the file bytes for paths and bytes; for PIL
            images and arrays a digest of mode/dtype, size and raw pixels.
        format: ``"JPEG"``, ``"PNG"`` or ``"WEBP"``.
        source_name: File name for path inputs, else None; always valid Unicode, with
            undecodable bytes escaped (:func:`spatial_nb.filenames.escape_file_name`).
        image: The prepared (upright, RGB, resized) PIL image.
    """

    data: bytes
    mime_type: str
    size: tuple[int, int]
    original_size: tuple[int, int]
    source_digest: str
    format: str
    source_name: str | None = None
    image: Image.Image | None = field(default=None, repr=False, compare=False)


# -- opening ---------------------------------------------------------------------------------


@dataclass
class ImageSource:
    """An opened (not yet decoded) input: cheap to make, enough for a cache key.

    Attributes:
        image: The PIL image, possibly lazy (header read only), not yet upright or RGB.
        digest: :attr:`PreparedImage.source_digest` of this input.
        format: File format of encoded inputs ("JPEG", "PNG", ...), else None.
        name: File name for path inputs (escaped like :attr:`PreparedImage.source_name`), else None.
    """

    image: Image.Image  # possibly lazy (not yet decoded), possibly not RGB/upright
    # The digest, or a function computing it: hashing every pixel of an in-memory image
    # costs tens of ms at 4K, so it is only done when a cache key asks for it.
    _digest: str | Callable[[], str]
    format: str | None  # file format for encoded inputs
    name: str | None
    owned: bool = True  # False for the caller's PIL image: never call draft() on it
    header_size: tuple[int, int] = (0, 0)  # full-resolution size before any draft / transpose
    prepared: PreparedImage | None = None  # set when the input was a PreparedImage

    def __post_init__(self) -> None:
        self.header_size = self.prepared.original_size if self.prepared is not None else self.image.size

    @property
    def digest(self) -> str:
        """:attr:`PreparedImage.source_digest` of this input (computed on first use)."""
        if callable(self._digest):
            self._digest = self._digest()
        return self._digest

    def send_format(self, format: str | None = None) -> str:
        """The encoding :meth:`prepare` will use (see :func:`prepare_image`)."""
        return _choose_format(format, self)

    def prepare(self, max_size: int | str | None = DEFAULT_MAX_SIZE, format: str | None = None) -> PreparedImage:
        """Decode, orient, convert, shrink and encode (once per source object)."""
        return _prepare_source(self, max_size, format)


def _describe(image: Any) -> str:
    if isinstance(image, (str, os.PathLike)):
        return repr(os.fspath(image))
    return type(image).__name__


def _open_bytes(data: bytes, what: str) -> Image.Image:
    if not data:
        raise ImageLoadError(f"{what} is empty (0 bytes); give a JPEG, PNG, WebP or GIF image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{what} is too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        head = data[:16]
        hint = " (it looks like text/HTML, not an image)" if head.lstrip()[:1] in (b"<", b"{", b"[") else ""
        raise ImageLoadError(
            f"{what} is not an image Pillow can read{hint}; give a JPEG, PNG, WebP or GIF file"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(f"{what} is corrupt or unreadable: {exc}") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"{what} is {width}x{height} ({width * height / 1e6:.0f} MP), more than the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit that protects against decompression bombs; "
            "shrink it first or raise spatial_nb.images.MAX_PIXELS"
        )
    return img


def _digest_pixels(img: Image.Image) -> str:
    h = hashlib.sha256()
    orientation = 1
    try:
        orientation = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - broken EXIF must not stop loading
        pass
    h.update(f"PIL|{img.mode}|{img.size[0]}x{img.size[1]}|o{orientation}|".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def open_source(image: ImageInput) -> ImageSource:
    """Open an input without decoding its pixels (file bytes are read and hashed).

    Raises:
        ImageLoadError: missing, empty, non-image or too large input.
    """
    return _open_source(image)


def _source_name(path: Any) -> str | None:
    """The file name part of ``path`` as safe text (:func:`~spatial_nb.filenames.escape_file_name`):
    the one rule for every name that is stored or sent (a file object's ``name`` may also be
    bytes, or an int for an open file descriptor, which has no name)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return None
    return escape_file_name(os.path.basename(os.fspath(path))) or None


def _prepared_source(prepared: PreparedImage) -> ImageSource:
    """A :class:`PreparedImage` as an input: its thumbnail, its source's digest (so cache keys
    are those of the original file) and its source's size."""
    picture = prepared.image
    if picture is None:
        picture = _open_bytes(prepared.data, "the prepared image")
    return ImageSource(picture, prepared.source_digest, prepared.format, prepared.source_name, owned=False,
                       prepared=prepared)


def _open_source(image: ImageInput) -> ImageSource:
    if isinstance(image, PreparedImage):
        return _prepared_source(image)
    if isinstance(image, Image.Image):
        try:
            image.size  # noqa: B018 - touch it: a closed image raises here, not later
            return ImageSource(image, lambda: _digest_pixels(image), image.format, None, owned=False)
        except (OSError, ValueError) as exc:
            raise ImageLoadError(f"the PIL image cannot be read: {exc}") from None
    if isinstance(image, np.ndarray):
        img = _array_to_image(image)

        def array_digest(arr: np.ndarray = image) -> str:
            h = hashlib.sha256(f"ndarray|{arr.dtype.str}|{arr.shape}|".encode())
            h.update(np.ascontiguousarray(arr).tobytes())
            return h.hexdigest()

        return ImageSource(img, array_digest, None, None)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        img = _open_bytes(data, "the image bytes")
        return ImageSource(img, hashlib.sha256(data).hexdigest(), img.format, None)
    if isinstance(image, (str, os.PathLike)):
        path = os.path.expanduser(os.fspath(image))
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path.startswith(("http://", "https://")):
            raise ImageLoadError(f"{path!r} is a URL; download the image first and pass the file path or bytes")
        if not os.path.exists(path):
            raise ImageLoadError(f"image file not found: {path!r}")
        if os.path.isdir(path):
            raise ImageLoadError(f"{path!r} is a folder, not an image file (for folders use snb.run_folder)")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ImageLoadError(f"cannot read image file {path!r}: {exc.strerror or exc}") from None
        img = _open_bytes(data, f"image file {path!r}")
        return ImageSource(img, hashlib.sha256(data).hexdigest(), img.format, _source_name(path))
    if hasattr(image, "read"):
        data = image.read()
        if isinstance(data, str):
            raise ImageLoadError("the file object was opened in text mode; open it with 'rb'")
        img = _open_bytes(bytes(data), "the image file object")
        return ImageSource(img, hashlib.sha256(bytes(data)).hexdigest(), img.format,
                           _source_name(getattr(image, "name", None)))
    raise ImageLoadError(
        f"cannot load an image from {type(image).__name__}; pass a file path, bytes, "
        "a PIL.Image.Image or a numpy array"
    )


# -- making it upright RGB -------------------------------------------------------------------


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation tag (1 when absent or unreadable: a broken EXIF block is not fatal)."""
    try:
        value = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - Pillow raises assorted errors on malformed EXIF
        return 1
    return value if value in _TRANSPOSE else 1


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited on white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return Image.fromarray(_deep_to_uint8(np.asarray(img)), "L").convert("RGB")
    if mode == "F":
        return _array_to_image(np.asarray(img)).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB", "1") and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageLoadError(f"cannot convert a {mode} image to RGB: {exc}") from None


def _decode(src: ImageSource, limit: int | None) -> tuple[Image.Image, bool]:
    """Decode -> (upright RGB no larger than ``limit``, whether EXIF swapped the axes).

    JPEGs are decoded at reduced scale when ``limit`` allows (libjpeg's scaled IDCT: the
    smallest of 1/2, 1/4, 1/8 that keeps both sides at least the thumbnail's, then Lanczos
    for the rest); the picture is shrunk BEFORE the EXIF rotation, so the rotation moves a
    thumbnail, not 12 MP. The caller's own PIL image is never modified.
    """
    img = src.image
    try:
        orientation = _orientation(img)
        if limit and src.owned and img.format == "JPEG":
            img.draft(None, _thumbnail_size(img.size, limit))
        img.load()
        rgb = _to_rgb(img)
        if limit is not None and max(rgb.size) > limit:
            if rgb is img and not src.owned:
                rgb = rgb.copy()
            rgb.thumbnail((limit, limit), Image.Resampling.LANCZOS)
        method = _TRANSPOSE.get(orientation)
        if method is not None:
            rgb = rgb.transpose(method)
            for key in ("exif", "xmp", "XML:com.adobe.xmp", "Raw profile type exif"):
                rgb.info.pop(key, None)  # upright now: a kept tag would rotate it twice
        return rgb, orientation in (5, 6, 7, 8)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{_what(src)} is too large to decode safely ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageLoadError(f"{_what(src)} is corrupt or truncated: {exc}") from None


def _thumbnail_size(size: tuple[int, int], limit: int) -> tuple[int, int]:
    """The size a ``thumbnail((limit, limit))`` of ``size`` ends at (never larger than ``size``).

    >>> _thumbnail_size((4000, 3000), 640)
    (640, 480)
    """
    width, height = size
    scale = min(1.0, limit / max(width, height, 1))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _what(src: ImageSource) -> str:
    """How errors name an input: its file name when it has one."""
    return f"image file {src.name!r}" if src.name else "the image"


def load_image(image: ImageInput, max_size: int | str | None = None) -> Image.Image:
    """Load any picture-like input as an upright RGB PIL image.

    Args:
        image: A file path, encoded bytes, a ``PIL.Image.Image`` or a numpy array
            (``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``; uint8, uint16, float in [0, 1] or bool).
        max_size: Longest side in pixels (never enlarged); None (default) or ``"original"``
            loads the full picture. A JPEG is then decoded at reduced scale: loading a 12 MP
            photo for a 640-px overlay decodes 1/16 of its pixels.

    Returns:
        A new RGB image with the EXIF orientation applied (RGBA/LA/P transparency on white,
        16-bit data scaled to 8 bits, CMYK converted; GIF/animated files give the first frame).

    Raises:
        ImageLoadError: missing, empty, corrupt, non-image or too large input.

    Example:
        >>> import numpy as np
        >>> load_image(np.zeros((4, 6), np.uint16)).size
        (6, 4)
        >>> load_image(np.zeros((3000, 4000, 3), np.uint8), max_size=640).size
        (640, 480)
    """
    src = _open_source(image)
    out, _ = _decode(src, _parse_max_size(max_size))
    return out.copy() if out is src.image and not src.owned else out  # never the caller's own picture


# -- preparing the request bytes -------------------------------------------------------------


def sniff_mime(data: bytes) -> str | None:
    """Mime type from the magic bytes (JPEG, PNG, WebP, GIF), or None when unknown."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _parse_max_size(max_size: int | str | None) -> int | None:
    if max_size is None:
        return None
    if isinstance(max_size, str):
        text = max_size.strip().lower()
        if text in ("original", "none", "full", "0", ""):
            return None
        if not text.isdigit():
            raise ValueError(f"max_size must be a number of pixels or 'original', got {max_size!r}")
        max_size = int(text)
    if isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)):
        raise ValueError(f"max_size must be a number of pixels or 'original', got {max_size!r}")
    if max_size <= 0:
        return None
    if max_size < 16:
        raise ValueError(f"max_size={max_size} is too small for the model to see anything; use 640 or 1024")
    return int(max_size)


def _choose_format(format: str | None, src: ImageSource) -> str:
    if format is None and src.prepared is not None:
        return src.prepared.format
    if format is None:
        return "PNG" if (src.format or "").upper() in _LOSSLESS_SOURCES else "JPEG"
    fmt = format.upper().replace("IMAGE/", "")
    fmt = {"JPG": "JPEG"}.get(fmt, fmt)
    if fmt not in _MIME:
        raise ValueError(f"format must be 'JPEG', 'PNG' or 'WEBP', got {format!r}")
    return fmt


def prepare_image(
    image: ImageInput,
    max_size: int | str | None = DEFAULT_MAX_SIZE,
    format: str | None = None,
) -> PreparedImage:
    """Load, orient, convert, shrink and encode an image for a Gemini request.

    A :class:`PreparedImage` is itself an image input everywhere (``Client.detect``,
    ``snb.draw``, ``snb.show``, ``load_image``): the client sends its bytes as they are (the
    cache key is that of the original file), and drawing uses its thumbnail, so a photo is
    decoded once for both sending and showing.

    Args:
        image: Anything :func:`load_image` accepts.
        max_size: Longest side in pixels after shrinking (aspect ratio kept, never enlarged);
            ``None`` or ``"original"`` sends the full picture. 640 matches Google's
            spatial-understanding examples; 1024 helps with small objects.
        format: ``"JPEG"``, ``"PNG"`` or ``"WEBP"``. ``None`` picks PNG when the source file is
            PNG/GIF/BMP/TIFF (usually graphics or screenshots, where JPEG blurs edges and text)
            and JPEG (quality 90) for everything else, including PIL images and arrays.

    Returns:
        A :class:`PreparedImage` whose ``mime_type`` is verified against ``data``.

    Example:
        >>> import numpy as np
        >>> p = prepare_image(np.zeros((1000, 2000, 3), np.uint8))
        >>> p.size, p.mime_type
        ((640, 320), 'image/jpeg')
        >>> prepare_image(p) is p, load_image(p).size   # sent as is; drawn on its thumbnail
        (True, (640, 320))
    """
    return _prepare_source(_open_source(image), max_size, format)


def normalize_max_size(max_size: int | str | None) -> int | None:
    """``max_size`` as an int, or None for the original size (``"original"``, None, 0).

    >>> normalize_max_size("1024"), normalize_max_size("original")
    (1024, None)
    """
    return _parse_max_size(max_size)


def _reuse(prepared: PreparedImage, limit: int | None, fmt: str) -> bool:
    """True when ``prepared`` already is what ``limit`` and ``fmt`` ask for; an error when it is too small."""
    have, full = max(prepared.size), max(prepared.original_size)
    wanted = full if limit is None else min(limit, full)
    if wanted > have:
        width, height = prepared.size
        raise ImageLoadError(
            f"this prepared image is {width}x{height}; it cannot be sent at max_size={limit or 'original'}: "
            "prepare it again from the file at that size (prepare_image(path, max_size=...))")
    return wanted == have and fmt == prepared.format


def _prepare_source(src: ImageSource, max_size: int | str | None, format: str | None) -> PreparedImage:
    limit = _parse_max_size(max_size)
    fmt = _choose_format(format, src)
    if src.prepared is not None and _reuse(src.prepared, limit, fmt):
        return src.prepared  # decoded and encoded once: send the same bytes
    img, swapped = _decode(src, limit)
    w, h = src.header_size  # the draft may have decoded at reduced scale: use the header size
    original_size = (h, w) if swapped else (w, h)
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=JPEG_QUALITY)
    elif fmt == "PNG":
        img.save(buf, "PNG", compress_level=6)
    else:
        img.save(buf, "WEBP", quality=JPEG_QUALITY)
    data = buf.getvalue()
    mime = _MIME[fmt]
    sniffed = sniff_mime(data)
    if sniffed != mime:  # pragma: no cover - would be a Pillow bug
        raise ImageLoadError(f"encoded {fmt} bytes look like {sniffed}; refusing to send a mislabelled image")
    return PreparedImage(
        data=data,
        mime_type=mime,
        size=img.size,
        original_size=original_size,
        source_digest=src.digest,
        format=fmt,
        source_name=src.name,
        image=img,
    )
