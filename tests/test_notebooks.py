"""Execute the notebooks top to bottom with nbclient against the fake Gemini server, and the tour
once more with no key and no server at all.

The kernel is a real ipykernel running this interpreter (a kernelspec written to a temp
JUPYTER_PATH), the SDK inside it is the real google-genai pointed at the fake server, and
every detection section must display an overlay that shows the scripted objects drawn.
Without a key the socks and spill sections must draw their recorded answers (with every socket
connection refused inside the kernel), and the other sections must say they need a key.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatial_nb import models, prompts, samples
from spatial_nb.recordings import recording_for

from .conftest import TEST_KEY
from .fake_gemini import RecordedRequest, Reply
from .socket_guard import socket_guard_source

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[1]
TOUR = REPO / "notebooks" / "Spatial_understanding.ipynb"
PANEL = REPO / "notebooks" / "panel.ipynb"
KERNEL_NAME = "spatial-nb-test-python"
MAX_NOTEBOOK_BYTES = 3 * 1024 * 1024

# Scripted answers (Gemini's order: y first, 0-1000), one per kind, so the test knows what
# must be drawn. Boxes are large and away from the borders so their edges are easy to find.
BOXES = [
    {"box_2d": [150, 100, 550, 450], "label": "first thing"},
    {"box_2d": [300, 550, 850, 900], "label": "second thing"},
]
BOXES_JA = [
    {"box_2d": [150, 100, 550, 450], "label": "塔 (tower)"},
    {"box_2d": [300, 550, 850, 900], "label": "湖 (lake)"},
]
POINTS = [
    {"point": [300, 250], "label": "left spot"},
    {"point": [600, 700], "label": "right spot"},
]
BOXES3D = [
    {"label": "near box", "box_3d": [0.0, 1.5, -0.2, 0.6, 0.6, 0.6, 0, 0, 20]},
]


def _mask_png_data_url(size: int = 32) -> str:
    buf = io.BytesIO()
    Image.new("L", (size, size), 255).save(buf, "PNG")  # the whole box is the object
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


MASKS = [dict(BOXES[0], mask=_mask_png_data_url())]


def _kind_of(req: RecordedRequest) -> str:
    si = req.system_instruction or ""
    if si.strip() == prompts.POLYGON_MASKS_INSTRUCTION.strip():  # masks asked of Gemini 3.6+
        return "masks"
    for kind, text in prompts.SYSTEM_INSTRUCTIONS.items():
        if si.strip() == text.strip():
            return kind
    return "boxes"


def _polygon_masks() -> list[dict]:
    """MASKS with the mask as a polygon [x, y] over the whole image, covering the box (3.6+ format)."""
    y0, x0, y1, x1 = MASKS[0]["box_2d"]
    return [dict(MASKS[0], mask=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]])]


def _scripted_answer(req: RecordedRequest) -> Reply:
    kind = _kind_of(req)
    if kind == "masks" and "[x, y] points" in (req.system_instruction or ""):
        items = _polygon_masks()
    elif kind == "masks":
        items = MASKS
    elif kind == "points":
        items = POINTS
    elif kind == "boxes3d":
        items = BOXES3D
    elif "Japanese" in req.prompt:
        items = BOXES_JA
    else:
        items = BOXES
    return Reply("```json\n" + json.dumps(items, ensure_ascii=False) + "\n```")


# -- running a notebook ---------------------------------------------------------------------


def _write_kernelspec(tmp_path: Path, monkeypatch, extra_paths: tuple[str, ...] = ()) -> None:
    """A kernelspec for THIS interpreter, and the kernel's environment (inherited)."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "spatial_nb test kernel",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # The repository first on the kernel's path, so the notebook's install cell is skipped
    # even when spatial_nb is not pip-installed (it must never reach for the network here).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [*extra_paths, str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "kernel-cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")


@pytest.fixture
def kernel_env(tmp_path, monkeypatch, fake_gemini):
    """The kernel talks to the fake server (GOOGLE_GEMINI_BASE_URL and the test key are set)."""
    _write_kernelspec(tmp_path, monkeypatch)
    fake_gemini.default = _scripted_answer
    return fake_gemini


# Loaded by the kernel at start-up (sitecustomize): every Python socket connection is refused and
# logged. The kernel's own messages go through ZeroMQ's C sockets, which this does not touch.
SOCKET_GUARD = socket_guard_source()


@pytest.fixture
def keyless_kernel_env(tmp_path, monkeypatch):
    """No key, no fake server, no network in the kernel: returns the socket log's path."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SOCKET_GUARD, encoding="utf-8")
    log = tmp_path / "sockets.log"
    monkeypatch.setenv("SNB_SOCKET_LOG", str(log))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no key from the user's dotfiles either
    _write_kernelspec(tmp_path, monkeypatch, extra_paths=(str(guard),))
    return log


def _execute(path: Path, tmp_path: Path) -> tuple[nbformat.NotebookNode, Path]:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        assert not cell.get("outputs"), f"{path.name} is committed with outputs"
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=180,
        startup_timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    out = tmp_path / f"executed-{path.name}"
    nbformat.write(nb, out)
    return nb, out


def _errors(nb) -> list[str]:
    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {i}: {output.get('ename')}: {output.get('evalue')}")
    return found


def _displayed_image(cell) -> Image.Image | None:
    """The last picture a cell displayed (PNG/JPEG bundle, or a data URL inside HTML)."""
    found = None
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        for mime in ("image/jpeg", "image/png"):
            if mime in data:
                found = base64.b64decode(data[mime])
        html = data.get("text/html")
        if html and found is None:
            html = "".join(html) if isinstance(html, list) else html
            m = re.search(r"data:image/(?:jpeg|png);base64,([A-Za-z0-9+/=]+)", html)
            if m:
                found = base64.b64decode(m.group(1))
    return Image.open(io.BytesIO(found)).convert("RGB") if found else None


def _difference(shown: Image.Image, photo_path: Path) -> np.ndarray:
    """Per-pixel max channel difference between the displayed picture and the plain photo."""
    with Image.open(photo_path) as photo:
        plain = photo.convert("RGB").resize(shown.size, Image.Resampling.BILINEAR)
    return np.abs(np.asarray(shown, dtype=np.int16) - np.asarray(plain, dtype=np.int16)).max(axis=2)


def _box_edges_drawn(diff: np.ndarray, box_2d: list[int]) -> float:
    """Fraction of positions along the box's four edges where something was drawn."""
    h, w = diff.shape
    y0, x0, y1, x1 = (box_2d[0] * h // 1000, box_2d[1] * w // 1000, box_2d[2] * h // 1000, box_2d[3] * w // 1000)
    band = 3
    hits = []
    for x in (x0, x1):
        strip = diff[y0 + 5 : y1 - 5, max(0, x - band) : x + band + 1]
        hits.append((strip.max(axis=1) > 60).mean())
    for y in (y0, y1):
        strip = diff[max(0, y - band) : y + band + 1, x0 + 5 : x1 - 5]
        hits.append((strip.max(axis=0) > 60).mean())
    return float(np.mean(hits))


def _check_overlay(section: str, kind: str, shown: Image.Image, photo: Path) -> None:
    diff = _difference(shown, photo)
    assert (diff > 60).mean() > 0.002, f"{section}: the picture is just the photo, nothing drawn"
    h, w = diff.shape
    if kind == "boxes":
        for box in BOXES:
            assert _box_edges_drawn(diff, box["box_2d"]) > 0.6, f"{section}: box {box['label']} not drawn"
    elif kind == "masks":
        y0, x0, y1, x1 = MASKS[0]["box_2d"]
        inner = diff[y0 * h // 1000 + 8 : y1 * h // 1000 - 8, x0 * w // 1000 + 8 : x1 * w // 1000 - 8]
        outer = diff[int(0.9 * h) :, : int(0.05 * w) + 1]  # a corner no item covers
        assert inner.mean() > outer.mean() + 10, f"{section}: mask not painted"
    elif kind == "points":
        for pt in POINTS:
            y, x = pt["point"][0] * h // 1000, pt["point"][1] * w // 1000
            patch = diff[max(0, y - 4) : y + 5, max(0, x - 4) : x + 5]
            assert patch.max() > 60, f"{section}: point {pt['label']} not drawn"


def test_tour_notebook_runs_and_draws_every_section(kernel_env, tmp_path):
    nb, out = _execute(TOUR, tmp_path)
    assert _errors(nb) == []
    size = out.stat().st_size
    assert size < MAX_NOTEBOOK_BYTES, f"executed notebook is {size / 2**20:.1f} MiB"
    assert TEST_KEY not in out.read_text(encoding="utf-8"), "the API key leaked into the notebook"

    sections = {}
    for cell in nb.cells:
        meta = cell.metadata.get("spatial_nb")
        if meta:
            sections[meta["section"]] = (meta["kind"], cell)
    assert set(sections) == {"overlay", "search", "multilingual", "reasoning", "masks", "points", "boxes3d"}

    for section, (kind, cell) in sections.items():
        ex = samples.example(section)
        assert ex.kind == kind
        shown = _displayed_image(cell)
        assert shown is not None, f"{section}: no picture displayed"
        assert max(shown.size) <= 2048, f"{section}: displayed picture is not bounded ({shown.size})"
        _check_overlay(section, kind, shown, ex.path)
        stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        assert "glyph" not in stderr.lower(), f"{section}: labels drawn with missing glyphs: {stderr}"

    # The model cell asked for today's model list once and offers what the API lists beyond the table.
    model_cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith("import spatial_nb as snb\n\nMODEL"))
    offered = _stdout(model_cell).split("Models to pick from today:", 1)[1].splitlines()[0]
    assert "gemini-3.9-flash-preview" in offered and offered.strip().startswith(models.DEFAULT_MODEL), offered
    assert len(kernel_env.list_requests()) >= 1

    # The Interactions API cell went through /interactions, with store=False.
    inter = kernel_env.interaction_requests()
    assert len(inter) == 1 and inter[0].body["store"] is False and inter[0].images

    # Each section's prompt reached the server with its kind's system instruction.
    sent = [(r.prompt, _kind_of(r)) for r in kernel_env.generate_requests()]
    for section, (kind, _cell) in sections.items():
        ex = samples.example(section)
        assert any(ex.prompt in p and k == kind for p, k in sent), f"{section}: request not sent as {kind}"


def _sections(nb) -> dict[str, tuple[str, object]]:
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("spatial_nb")
        if meta:
            found[meta["section"]] = (meta["kind"], cell)
    return found


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


def test_tour_notebook_without_a_key_or_network_replays_the_recordings(keyless_kernel_env, tmp_path):
    nb, out = _execute(TOUR, tmp_path)
    assert _errors(nb) == []
    assert (tmp_path / "sockets.log.active").is_file(), "the kernel did not load the socket guard"
    assert not keyless_kernel_env.exists(), keyless_kernel_env.read_text()  # nothing tried to connect

    sections = _sections(nb)
    recorded = {name for name in sections if recording_for(samples.example(name).name, samples.example(name).prompt,
                                                            samples.example(name).kind)}
    assert recorded == {"search", "reasoning"}  # the socks and the spill
    for section, (kind, cell) in sections.items():
        ex = samples.example(section)
        text = _stdout(cell)
        if section not in recorded:
            assert "needs an API key" in text and _displayed_image(cell) is None, section
            continue
        rec = recording_for(ex.name, ex.prompt, ex.kind)
        assert "Recorded answer (no key)" in text and rec.model in text and "Not a live call" in text
        res = rec.result()
        for item in res:
            assert f" - {item.label}" in text
        shown = _displayed_image(cell)
        assert shown is not None, f"{section}: no picture displayed"
        diff = _difference(shown, ex.path)
        for item in res:  # every recorded box is drawn where the recording puts it
            x0, y0, x1, y1 = item.box
            box_2d = [round(y0 * 1000), round(x0 * 1000), round(y1 * 1000), round(x1 * 1000)]
            assert _box_edges_drawn(diff, box_2d) > 0.6, f"{section}: {item.label!r} not drawn"
    setup = "".join(_stdout(c) for c in nb.cells if c.cell_type == "code")
    assert "API key found: False" in setup and "No API key: the socks and spill sections show recorded answers" in setup
    widgets = [o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, "the panel cell displayed no widget"


def test_tour_says_the_gallery_photos_ship_and_no_key_is_needed():
    text = "\n".join(c.source for c in nbformat.read(TOUR, as_version=4).cells if c.cell_type == "markdown")
    assert "ship with spatial_nb" in text and "No key?" in text
    assert "(cupcakes, socks, a bento box, origami, a spill" not in text  # they ship now: no download


def test_tour_model_picker_offers_current_models_default_first():

    nb = nbformat.read(TOUR, as_version=4)
    (line,) = [ln for cell in nb.cells if cell.cell_type == "code" for ln in cell.source.splitlines()
               if ln.startswith("MODEL = ")]
    default = re.match(r'MODEL = "([^"]+)"', line).group(1)
    options = re.findall(r'"([^"]+)"', line.split("@param", 1)[1])
    assert default == models.DEFAULT_MODEL == options[0]
    assert all(models.profile(m).status == "current" for m in options)
    assert "gemini-2.5-flash" not in options and "gemini-3-pro-preview" not in options


def test_panel_notebook_runs(kernel_env, tmp_path):
    if not PANEL.exists():
        pytest.skip("notebooks/panel.ipynb not written yet")
    nb, out = _execute(PANEL, tmp_path)
    assert _errors(nb) == []
    assert out.stat().st_size < MAX_NOTEBOOK_BYTES
    widgets = [
        o
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "the panel notebook displayed no widget"
