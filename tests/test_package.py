"""The public names of ``import spatial_nb as snb``: present, the right kind, and light to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

FUNCTIONS = ["parse", "draw", "plot", "plot_grid", "to_html", "show", "run_folder", "load_image"]
CLASSES = ["Client", "Panel", "Result", "Item", "MissingKeyError"]


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_functions_stay_functions_after_their_modules_are_imported():
    # Importing the modules behind the verbs must not turn snb.draw into a module: that broke
    # snb.draw(...) in any session that had drawn via show() while draw lived in draw.py.
    code = (
        "import spatial_nb.html, spatial_nb.display, spatial_nb.drawing, spatial_nb.parsing, spatial_nb.plotting\n"
        "import spatial_nb as snb, types\n"
        f"print([n for n in {FUNCTIONS!r} if isinstance(getattr(snb, n), types.ModuleType)])"
    )
    assert _run(code) == "[]"


def test_modules_import_as_modules():
    # `import spatial_nb.parsing as m` gives the module (tests and users reach internals so).
    import spatial_nb.drawing as drawing
    import spatial_nb.parsing as parsing
    import spatial_nb.plotting as plotting

    assert parsing.StreamParser and drawing.Style and plotting.plot_grid


@pytest.mark.parametrize("name", FUNCTIONS + CLASSES)
def test_public_name_resolves(name):
    import spatial_nb as snb

    assert callable(getattr(snb, name))


def test_every_name_in___all___resolves():
    import spatial_nb as snb

    missing = [n for n in snb.__all__ if not hasattr(snb, n)]
    assert missing == []


def test_import_is_light():
    # The SDK, widgets and pyplot load on first use, not on `import spatial_nb`.
    out = _run(
        "import sys, spatial_nb\n"
        "print(sorted(m for m in ('google.genai', 'ipywidgets', 'matplotlib.pyplot') if m in sys.modules))"
    )
    assert out == "[]"
