"""Choosing the panel's picture: a bundled sample, an upload, or a typed path.

Every picture is loaded and validated once (``spatial_nb.images.load_image``: EXIF orientation,
RGB), kept as a display-size copy for previews and overlays plus the original's size, and shown
as a bounded JPEG preview. A path that does not exist from the working directory is also looked
for from ``notebooks/``'s parent and among the samples (``spatial_nb.paths.find_image``), and the
panel says which file it loaded. Uploaded bytes are kept by the panel, never in the widget.
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any

from ..display import data_url
from .history import fit_width_css
from .messages import PanelMessage, esc, guard, log_failure
from .state import ImageChoice

__all__ = ["ImageMixin", "DISPLAY_MAX_SIDE", "list_samples"]

log = logging.getLogger(__name__)

#: Longest side of the picture kept for display and overlays (the JPEG inside the overlay).
DISPLAY_MAX_SIDE = 1024


def list_samples() -> list[Any]:
    """The bundled samples (empty when the list cannot be read: the panel still works)."""
    from .. import samples

    try:
        return list(samples.list_samples())
    except Exception as exc:  # noqa: BLE001 - a broken sample list must not break the panel
        log_failure(log, "list_samples", exc)
        return []


def _jpeg_data_url(picture: Any, budget_bytes: int = 140_000) -> str:
    """The picture as a JPEG data URL, quality (then size) lowered until it fits ``budget_bytes``."""
    picture = picture.convert("RGB")
    for quality, side in ((85, None), (75, None), (65, None), (65, 720)):
        if side is not None:
            picture = picture.copy()
            picture.thumbnail((side, side))
        buf = io.BytesIO()
        picture.save(buf, "JPEG", quality=quality)
        if buf.tell() <= budget_bytes:
            break
    return data_url(buf.getvalue(), "image/jpeg")


class ImageMixin:
    """The sample picker, upload button and path box of a Panel."""

    state: Any
    _samples: list[Any]
    def _choose_initial_image(self, image: Any) -> None:
        if image is None:
            if self._samples:
                self.sample_picker.value = str(self._samples[0].name)
            return
        sample_name = self._sample_name(image)
        if sample_name is not None:
            self.sample_picker.value = sample_name
        elif isinstance(image, (str, os.PathLike)):
            self.path_text.value = os.fspath(image)
        else:
            self.set_image(ImageChoice("upload", "image", image))

    def _sample_name(self, image: Any) -> str | None:
        """The bundled sample ``image`` names ("coffee", "coffee.jpg"), unless it is a real file."""
        if not isinstance(image, str) or os.path.exists(image):
            return None
        try:
            from ..samples import sample

            name = str(sample(image).name)
        except (ImportError, LookupError, ValueError):
            return None
        return name if any(str(x.name) == name for x in self._samples) else None

    @guard
    def set_image(self, choice: ImageChoice, note: str | None = None) -> bool | None:
        """Load ``choice`` (validating it), make it the panel's image and show it; True when done.

        A picture that cannot be read leaves the current image and shows why in the panel.
        """
        from ..images import load_image

        picture = load_image(choice.value)
        size = picture.size
        shown = picture.copy()
        shown.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE))
        self._use_picture(choice, shown, size)
        self._show_message(PanelMessage("info", "Image", note) if note else None)
        self._refresh_prompt_options(previous_kind=None)
        if self.state.selected != -1:
            self.state.selected = -1  # a new picture: no run is shown any more
        else:
            self._show_record(None)
        return True

    def _use_picture(self, choice: ImageChoice, picture: Any, size: tuple[int, int] | None) -> None:
        self._picture = picture
        self._image_size = tuple(size) if size else tuple(picture.size)
        self.state.image = choice
        width, height = self._image_size
        self.image_info.value = f'<span style="color:#555;font-size:12px">{esc(choice.name)} · {width}×{height} px</span>'
        self._quiet = True
        try:
            self.sample_picker.value = choice.sample or ""
        finally:
            self._quiet = False

    def _show_preview(self) -> None:
        if self._picture is None:
            self.overlay.value = ""
            return
        width, height = self._picture.size
        natural = (self._image_size or self._picture.size)[0]
        self.overlay.value = (
            f'<div class="snb-preview"><img alt="{esc(self.state.image.name)}" src="{_jpeg_data_url(self._picture)}" '
            f'style="width:{fit_width_css(width, height, natural)};height:auto;display:block"></div>'
        )

    @guard
    def _on_sample(self, change: dict) -> None:
        if self._quiet or not change["new"]:
            return
        sample = next(x for x in self._samples if str(x.name) == change["new"])
        self.set_image(ImageChoice("sample", str(getattr(sample, "title", None) or sample.name), os.fspath(sample.path), sample=str(sample.name)))

    @guard
    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if self._quiet or not files:
            return
        f = files[-1]
        name = str(f.get("name") if isinstance(f, dict) else getattr(f, "name", "upload"))
        content = f.get("content") if isinstance(f, dict) else getattr(f, "content", b"")
        self.set_image(ImageChoice("upload", name, bytes(content)))
        self._quiet = True
        try:  # the bytes are kept by the panel; in the widget they would be saved with the notebook
            self.upload.value = ()
        finally:
            self._quiet = False

    @guard
    def _on_path(self, change: dict) -> None:
        if change["new"].strip():
            self._load_path()

    @guard
    def _on_path_button(self, _button: Any) -> None:
        self._load_path()

    def _load_path(self) -> None:
        """Load the typed path; from notebooks/ also ../ and the bundled samples (and say so)."""
        from ..paths import find_image

        text = self.path_text.value.strip()
        if not text:
            self._show_message(PanelMessage("warning", "No path", "Type a file path first."))
            return
        found = find_image(text)
        self.set_image(ImageChoice("path", found.path.name, str(found.path)), note=found.note)
