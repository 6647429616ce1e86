"""The Download tab: the Result JSON at once, overlay PNGs only when asked for.

A PNG of an overlay is large (about 1.5 MB as a data URL for a 1024-px photo) and a data URL in a
widget is saved with the notebook, so nothing image-sized is built until a button is clicked:
the display-size PNG and, when the original is bigger, the full-size PNG drawn on the original
picture (in the background, seconds for a 12-megapixel photo). Links are cleared when another run
is shown, so a notebook keeps at most the one the user asked for last.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
from typing import Any

import ipywidgets as W

from ..display import data_url
from .messages import guard, esc, log_failure
from .runner import Outcome
from .state import RunRecord

__all__ = ["DownloadsMixin", "safe_stem", "human_bytes", "LINK_STYLE"]

log = logging.getLogger(__name__)

LINK_STYLE = (
    "display:inline-block;padding:4px 12px;border:1px solid #1976d2;border-radius:3px;"
    "color:#1976d2;text-decoration:none;font-size:13px;line-height:1.6"
)


def human_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


def safe_stem(name: str) -> str:
    stem = os.path.splitext(os.path.basename(str(name)))[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")
    return stem[:40] or "image"


class DownloadsMixin:
    """The Download tab of a Panel: ``downloads`` (JSON link), two on-demand PNG buttons."""

    state: Any

    def _build_downloads(self) -> None:
        from .runner import BackgroundRunner

        self.downloads = W.HTML()
        self.png_button = W.Button(description="Make overlay PNG", icon="image", layout=W.Layout(width="auto"))
        self.png_link = W.HTML()
        self.full_png_button = W.Button(description="Make full-size overlay PNG", icon="image", layout=W.Layout(width="auto", display="none"))
        self.full_png_link = W.HTML()
        self.download_box = W.VBox([
            self.downloads,
            W.HBox([self.png_button, self.png_link], layout=W.Layout(align_items="center", margin="8px 0 0 0", flex_flow="row wrap")),
            W.HBox([self.full_png_button, self.full_png_link], layout=W.Layout(align_items="center", margin="8px 0 0 0", flex_flow="row wrap")),
        ])
        for widget, cls in [(self.png_button, "snb-png"), (self.png_link, "snb-png-link"),
                            (self.full_png_button, "snb-full-png"), (self.full_png_link, "snb-full-png-link"),
                            (self.png_button, "snb-auto"), (self.full_png_button, "snb-auto")]:
            widget.add_class(cls)
        self._png_runner = BackgroundRunner()  # one PNG drawing at a time
        self._png_record: RunRecord | None = None  # the run the PNG buttons are for
        self.png_button.on_click(self._on_png_click)
        self.full_png_button.on_click(self._on_full_png_click)

    @staticmethod
    def _stem(record: RunRecord) -> str:
        return f"{safe_stem(record.image.name)}_{record.settings.get('kind', 'result')}_run{record.number}"

    def _show_downloads(self, record: RunRecord | None) -> None:
        """Point the tab at ``record``: its JSON link now, PNG buttons ready, old PNG links gone."""
        self._png_record = record
        self.png_link.value = ""
        self.full_png_link.value = ""
        if record is None or not record.ok:
            self.downloads.value = ""
            self.png_button.layout.display = "none"
            self.full_png_button.layout.display = "none"
            return
        json_bytes = record.result.to_json(indent=2).encode("utf-8")
        self.downloads.value = (
            '<div class="snb-downloads" style="display:flex;flex-wrap:wrap;gap:12px">'
            f'<a download="{esc(self._stem(record))}.json" href="{data_url(json_bytes, "application/json")}" '
            f'style="{LINK_STYLE}">Result JSON ({human_bytes(len(json_bytes))})</a></div>'
        )
        shown = tuple(record.picture.size)
        full = tuple(record.image_size or shown)
        what = "full size" if full == shown else "display size"
        self.png_button.layout.display = ""
        self.png_button.disabled = False
        self.png_button.description = f"Make overlay PNG ({what}, {shown[0]}×{shown[1]})"
        if full == shown:
            self.full_png_button.layout.display = "none"
        else:
            self.full_png_button.layout.display = ""
            self.full_png_button.disabled = False
            self.full_png_button.description = f"Make full-size overlay PNG ({full[0]}×{full[1]})"

    def overlay_png(self, record: RunRecord | None = None, *, full_size: bool = False) -> bytes:
        """The overlay drawn with ``snb.draw`` as PNG bytes: on the shown picture, or on the original.

        The full-size one is made on demand (about 3 s and 25 MB for a 12-megapixel photo).
        """
        from ..drawing import draw
        from ..images import load_image

        record = record or self.state.current
        if record is None or not record.ok:
            raise ValueError("no successful run to draw")
        picture = load_image(record.image.value) if full_size else record.picture
        buf = io.BytesIO()
        draw(picture, record.result, **self._style(record)).save(buf, "PNG")
        return buf.getvalue()

    def full_overlay_png(self, record: RunRecord | None = None) -> bytes:
        """The overlay drawn on the original picture of a run, as PNG bytes."""
        return self.overlay_png(record, full_size=True)

    @guard
    def _on_png_click(self, _button: Any = None) -> None:
        self._make_png(full_size=False)

    @guard
    def _on_full_png_click(self, _button: Any = None) -> None:
        self._make_png(full_size=True)

    def _make_png(self, *, full_size: bool) -> None:
        record = self._png_record
        if record is None or not record.ok:
            return
        button, link = (self.full_png_button, self.full_png_link) if full_size else (self.png_button, self.png_link)

        def on_start() -> None:
            button.disabled = True
            where = "the original picture" if full_size else "the shown picture"
            link.value = f'<span style="color:#555">Drawing on {where}…</span>'

        def on_done(outcome: Outcome) -> None:
            if self._png_record is not record:
                return  # the user flipped to another run meanwhile
            button.disabled = False
            if outcome.error is not None:
                link.value = ""
                log_failure(log, "overlay PNG", outcome.error)
                self._show_exception(outcome.error)
                return
            data: bytes = outcome.value
            width, height = (record.image_size or record.picture.size) if full_size else record.picture.size
            suffix, cls, what = ("_full", "snb-full-png-a", "full size") if full_size else ("", "snb-png-a", "shown size")
            link.value = (
                f'<a class="{cls}" download="{esc(self._stem(record))}{suffix}.png" href="{data_url(data, "image/png")}" '
                f'style="{LINK_STYLE}">Overlay PNG ({what}, {width}×{height}, {human_bytes(len(data))})</a>'
            )

        self._png_runner.start(
            functools.partial(self.overlay_png, record, full_size=full_size), on_done=on_done, on_start=on_start
        )
