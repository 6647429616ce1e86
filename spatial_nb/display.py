"""Notebook display of drawn results as bounded-size JPEG/WebP instead of full-size PNG.

IPython shows a PIL image as a full-resolution PNG: a 12 MP photo adds ~16 MiB to the
.ipynb and takes most of a second. ``show`` loads the picture at display size (a JPEG is
decoded at reduced scale), draws on that (line widths and label sizes follow the picture's
size, so proportions match a full-size drawing) and displays a JPEG (longest side 1280,
quality 85: ~150 KiB); the full-resolution overlay is drawn only when ``.image`` or ``.save``
asks for it. ``encode_for_display`` is the reusable encoder (panel, HTML, CLI).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from PIL import Image

__all__ = ["encode_for_display", "data_url", "Shown", "show", "DISPLAY_MAX_SIDE"]

#: Longest side, in pixels, of images shown in notebooks.
DISPLAY_MAX_SIDE = 1280

_MIME = {"JPEG": "image/jpeg", "WEBP": "image/webp", "PNG": "image/png"}


def encode_for_display(
    image: Image.Image, max_side: int = DISPLAY_MAX_SIDE, format: str = "JPEG", quality: int = 85
) -> tuple[bytes, str]:
    """Downscale (never upscale) so the longest side is ``max_side`` and encode.

    Args:
        image: Any PIL image (converted to RGB for JPEG).
        max_side: Longest side of the encoded picture in pixels.
        format: ``"JPEG"`` (default), ``"WEBP"`` or ``"PNG"``.
        quality: JPEG/WebP quality.

    Returns:
        ``(encoded bytes, mime type)``.

    Example:
        >>> data, mime = encode_for_display(Image.new("RGB", (4000, 3000)))
        >>> mime, Image.open(io.BytesIO(data)).size
        ('image/jpeg', (1280, 960))
    """
    fmt = format.upper().replace("JPG", "JPEG")
    if fmt not in _MIME:
        raise ValueError(f"format must be JPEG, WEBP or PNG, got {format!r}")
    img = image
    width, height = img.size
    scale = min(1.0, max_side / max(width, height, 1))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # reducing_gap: a fast box reduction first, then a proper resample (quality kept).
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if fmt != "PNG" and img.mode != "RGB":
        img = img.convert("RGB")
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, format="PNG", optimize=False)
    else:
        img.save(buf, format=fmt, quality=int(quality))
    return buf.getvalue(), _MIME[fmt]


def data_url(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` for embedding in HTML/SVG."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class Shown:
    """A drawn overlay that notebooks display as a bounded-size JPEG/WebP.

    Attributes:
        image: The full-resolution drawn ``PIL.Image`` (drawn on first access when ``show``
            made this; save it for full quality).
        max_side: Longest side of the displayed picture.
        format: ``"JPEG"`` or ``"WEBP"``.
    """

    def __init__(self, image: Image.Image | None, max_side: int = DISPLAY_MAX_SIDE, format: str = "JPEG",
                 quality: int = 85, *, preview: Image.Image | None = None,
                 full: Callable[[], Image.Image] | None = None):
        if image is None and (preview is None or full is None):
            raise ValueError("Shown needs the drawn image, or a preview and a way to draw the full one")
        self._image = image
        self._preview = preview  # drawn at display size (never larger than max_side)
        self._full = full
        self.max_side = max_side
        self.format = format
        self.quality = quality
        self._encoded: tuple[bytes, str] | None = None

    @property
    def image(self) -> Image.Image:
        """The full-resolution overlay (drawn now if ``show`` only drew the display copy)."""
        if self._image is None:
            self._image = self._full()  # type: ignore[misc]
        return self._image

    def encoded(self) -> tuple[bytes, str]:
        """``(bytes, mime)`` of the displayed picture (computed once)."""
        if self._encoded is None:
            picture = self._image if self._image is not None else self._preview
            self._encoded = encode_for_display(picture, self.max_side, self.format, self.quality)  # type: ignore[arg-type]
        return self._encoded

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, mime = self.encoded()
        return {mime: base64.b64encode(data).decode("ascii"), "text/plain": repr(self)}

    def _repr_jpeg_(self) -> bytes | None:
        data, mime = self.encoded()
        return data if mime == "image/jpeg" else None

    def save(self, path: Any, **kwargs: Any) -> None:
        """Save the full-resolution overlay (format from the file name)."""
        self.image.save(path, **kwargs)

    def __repr__(self) -> str:
        shown = self._image if self._image is not None else self._preview
        width, height = shown.size  # type: ignore[union-attr]
        full = "" if self._image is not None else ", full size drawn on demand"
        return f"<spatial_nb overlay {width}x{height}{full}>"


def show(image: Any, result: Any, *, max_side: int = DISPLAY_MAX_SIDE, format: str = "JPEG", **style: Any) -> Shown:
    """Draw ``result`` on ``image`` and return an object notebooks display compactly.

    The picture is loaded at display size (``max_side``) and drawn once at that size; the
    full-resolution overlay (``.image``, ``.save``) is drawn from the same input on demand.

    Args:
        image: Any image input ``snb.draw`` accepts.
        result: The :class:`~spatial_nb.result.Result` to draw.
        max_side: Longest side of the displayed JPEG/WebP.
        format: ``"JPEG"`` (default) or ``"WEBP"``.
        **style: Drawing options (see ``spatial_nb.drawing.Style``).

    Example:
        >>> from spatial_nb.result import Item, Result
        >>> shown = show(Image.new("RGB", (3000, 2000)), Result([Item("a", box=(0.1, 0.1, 0.5, 0.5))]))
        >>> sorted(shown._repr_mimebundle_()), shown.image.size
        (['image/jpeg', 'text/plain'], (3000, 2000))
    """
    from .drawing import draw
    from .images import load_image

    preview = draw(load_image(image, max_size=max_side), result, **style)
    return Shown(None, max_side=max_side, format=format, preview=preview,
                 full=lambda: draw(image, result, **style))
