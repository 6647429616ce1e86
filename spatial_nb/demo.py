"""Draw every recorded Gemini answer on its bundled photo: a first run with no key and no network.

For each recording (:mod:`spatial_nb.recordings`) it writes an overlay PNG at the photo's
full size, a self-contained HTML page (hover to highlight) and the result in the one JSON
format, plus an ``index.html``. Every line it reports says the answers are recordings and
how to ask Gemini live. Nothing here creates a client or opens a connection.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import SpatialNBError
from .recordings import LIVE_HINT, Recording, recordings

__all__ = ["DemoOutput", "DEFAULT_OUT_DIR", "run_demo", "TAG"]

#: Where the demo writes when no folder is given (relative to the current directory).
DEFAULT_OUT_DIR = "spatial-nb-demo"
#: Starts every line the demo reports.
TAG = "[recorded answer, no key]"


@dataclass(frozen=True)
class DemoOutput:
    """What the demo wrote for one recording."""

    recording: Recording
    png: Path
    html: Path
    json: Path
    n_items: int


def _count(n: int, kind: str) -> str:
    """``"2 boxes"``, ``"1 point"``, ``"3 3D boxes"``."""
    one, many = {"boxes": ("box", "boxes"), "masks": ("mask", "masks"), "points": ("point", "points"),
                 "boxes3d": ("3D box", "3D boxes")}.get(kind, ("item", "items"))
    return f"{n} {one if n == 1 else many}"


def _page(rec: Recording, overlay_html: str, n_items: int) -> str:
    """A complete HTML page around the overlay; every text from the data file is escaped."""
    e = html.escape
    note = rec.source.get("model_note", "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(rec.image)}: recorded Gemini answer (spatial_nb demo)</title>
<style>
body {{ font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif; margin: 1.5rem; max-width: 1320px; }}
.snb-recorded {{ background: #fff4d6; border: 1px solid #e0b84a; padding: .6rem .9rem; border-radius: 6px; }}
code {{ background: #f2f2f2; padding: 0 .25rem; }}
</style>
</head>
<body>
<h1>{e(rec.image)}: {_count(n_items, rec.kind)}</h1>
<p><strong>Prompt:</strong> {e(rec.prompt)}</p>
<p class="snb-recorded"><strong>This is a recorded answer, not a live call</strong> ({e(rec.provenance)}):
model <code>{e(rec.model)}</code>, quoted from <code>{e(rec.citation)}</code>
({e(str(rec.source.get('licence', '')))}). {e(note)}</p>
{overlay_html}
<p>To ask Gemini live: get a key at <a href="https://aistudio.google.com/apikey">aistudio.google.com/apikey</a>,
<code>export GOOGLE_API_KEY=...</code>, then run <code>{e(rec.live_command())}</code>.</p>
</body>
</html>
"""


def _index(outputs: list[DemoOutput]) -> str:
    e = html.escape
    rows = "\n".join(
        f'<li><a href="{e(o.html.name)}">{e(o.recording.image)}</a> · <a href="{e(o.png.name)}">PNG</a> · '
        f'<a href="{e(o.json.name)}">JSON</a>: {e(o.recording.prompt)} ({_count(o.n_items, o.recording.kind)}, '
        f"model {e(o.recording.model)})</li>"
        for o in outputs
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>spatial_nb demo: recorded Gemini answers</title></head>
<body style="font-family: system-ui, sans-serif; margin: 1.5rem">
<h1>spatial_nb demo</h1>
<p><strong>These are recorded answers, not live calls</strong>: verbatim Gemini outputs quoted in Google's
Gemini cookbook (<i>Spatial understanding</i>), drawn on the same photos from the AI Studio app's gallery.
{e(LIVE_HINT[:1].upper() + LIVE_HINT[1:])}, then run
<code>spatial-nb detect IMAGE "PROMPT" --out overlay.png</code>.</p>
<ul>
{rows}
</ul>
</body>
</html>
"""


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run_demo(
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    *,
    echo: Callable[[str], None] | None = print,
) -> list[DemoOutput]:
    """Draw every recorded answer on its photo and write PNG, HTML and JSON files.

    Args:
        out_dir: Folder to write into (created if missing).
        echo: Called with each report line (default ``print``; None for silence). Every
            line starts with :data:`TAG` and ends with how to ask Gemini live.

    Returns:
        One :class:`DemoOutput` per recording, in the data file's order.

    Example:
        >>> outs = run_demo("/tmp/snb-demo", echo=None)   # doctest: +SKIP
        >>> [o.png.name for o in outs]                     # doctest: +SKIP
        ['socks-with-face.png', 'spill-cleaning-advice.png']
    """
    from .drawing import draw
    from .html import to_html
    from .images import load_image

    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise SpatialNBError(f"cannot write the demo into {str(folder)!r}: it is a file, not a folder; pass --out DIR")
    folder.mkdir(parents=True, exist_ok=True)
    say = echo or (lambda line: None)
    outputs: list[DemoOutput] = []
    for rec in recordings():
        photo = load_image(rec.path())
        res = rec.result()
        png, page, js = (folder / f"{rec.id}{ext}" for ext in (".png", ".html", ".json"))
        tmp_png = png.with_name(f".{png.name}.tmp")
        draw(photo, res).save(tmp_png, format="PNG")
        os.replace(tmp_png, png)
        _write_text(page, _page(rec, to_html(photo, res), len(res)))
        _write_text(js, res.to_json(indent=2))
        outputs.append(DemoOutput(rec, png, page, js, len(res)))
        say(
            f"{TAG} {rec.image}: drew {_count(len(res), rec.kind)} from {rec.model} (quoted in Google's "
            f"Gemini cookbook) -> {png.with_suffix('')}.png/.html/.json; "
            f"live: GOOGLE_API_KEY=... {rec.live_command()}"
        )
    index = folder / "index.html"
    _write_text(index, _index(outputs))
    say(
        f"{TAG} {len(outputs)} recordings, none asked now: open {index}; {LIVE_HINT}, "
        "then spatial-nb detect IMAGE \"PROMPT\""
    )
    return outputs
