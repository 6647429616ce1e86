"""CJK labels of ``snb.to_html`` render with the embedded font subset in real front ends.

Debian's Chromium has no CJK font, so without the ``@font-face`` inside the overlay's SVG the
labels would be empty boxes. A notebook shows an overlay twice — as the last line of a cell
(``OverlayHTML._repr_html_``) and inside an ipywidgets ``HTML`` (the way the panel shows it) —
and is opened in Voilà and in JupyterLab 4 on 127.0.0.1; every non-loopback request is blocked.
The test asserts that ``document.fonts`` reports the subset loaded, that the label text uses it,
that the pixels differ from the same text in the browser's own fonts, and that hovering the label
shows its card with the full text. Screenshots (taken while hovering) go to
``test-artifacts/``. Skipped without Chromium/Voilà/JupyterLab, except under ``CI=true``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .browser_voila import REPO, LabServer, VoilaServer, browser_page, need_browser_stack

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ARTIFACTS = REPO / "test-artifacts"
CJK_LABEL = "猫 ねこ 고양이"
SETUP = f"""\
import numpy as np
from PIL import Image
import ipywidgets as W
import spatial_nb as snb
img = Image.fromarray(np.tile(np.linspace(40, 200, 480).astype(np.uint8)[None, :, None], (360, 1, 3)))
res = snb.Result([snb.Item({CJK_LABEL!r}, box=(0.1, 0.3, 0.5, 0.7)), snb.Item("粉色糖霜 cupcake", box=(0.55, 0.2, 0.9, 0.6))])
"""

# Facts gathered in the page about every overlay's CJK text and the fonts document.fonts knows.
FONT_FACTS = """() => {
  const faces = Array.from(document.fonts).map(f => ({family: f.family.replace(/["']/g, ''), status: f.status}));
  const texts = Array.from(document.querySelectorAll('.snb-overlay text.snb-t')).map(t => ({
    text: t.textContent, family: getComputedStyle(t).fontFamily, opacity: getComputedStyle(t).opacity,
    fallbackShown: getComputedStyle(t.nextElementSibling).display !== 'none',
  }));
  return {faces, texts, overlays: document.querySelectorAll('.snb-overlay').length};
}"""


def _notebook(path: Path) -> Path:
    cells = [SETUP, "snb.to_html(img, res)", "W.HTML(snb.to_html(img, res))"]
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{k}", "metadata": {}, "outputs": [], "source": src}
            for k, src in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _check_fonts(page, where: str) -> dict:
    page.wait_for_function("() => document.querySelectorAll('.snb-overlay').length >= 2", timeout=120_000)
    page.evaluate("() => document.fonts.ready")
    page.wait_for_function(
        "() => Array.from(document.fonts).some(f => f.family.replace(/[\"']/g, '').startsWith('snb-') && f.status === 'loaded')",
        timeout=30_000,
    )
    facts = page.evaluate(FONT_FACTS)
    print(f"\n{where}: {facts['overlays']} overlays; embedded fonts {[f for f in facts['faces'] if f['family'].startswith('snb-')]}")
    assert facts["overlays"] == 2  # the repr of the last line, and the ipywidgets HTML (the panel's way)
    embedded = {f["family"] for f in facts["faces"] if f["family"].startswith("snb-")}
    assert embedded and all(f["status"] == "loaded" for f in facts["faces"] if f["family"] in embedded)
    cjk = [t for t in facts["texts"] if t["text"] == CJK_LABEL]
    assert len(cjk) >= 2, facts["texts"]
    for t in cjk:
        assert any(name in t["family"] for name in embedded), t  # the text asks for the embedded subset first
        assert t["opacity"] == "1" and not t["fallbackShown"], t  # the front end kept the <style>: text, not outlines
    for family in embedded:
        assert page.evaluate("f => document.fonts.check(`16px \"${f}\"`, '猫ねこ고양이粉色糖霜')", family) is True
    # the pixels of the label with the embedded font differ from the same text in the browser's own fonts
    text = page.locator(".snb-overlay text.snb-t", has_text=CJK_LABEL).first
    chip = page.locator(".snb-overlay .snb-label:has(text.snb-t)").first
    chip.scroll_into_view_if_needed()
    with_font = chip.screenshot()
    text.evaluate("t => t.style.fontFamily = 'sans-serif'")
    page.wait_for_timeout(200)
    without = chip.screenshot()
    text.evaluate("t => t.style.fontFamily = ''")
    assert with_font != without, "the embedded font changed nothing: is a CJK font installed after all?"
    # hovering the label shows its card with the full label, in the same font
    overlay = page.locator(".snb-overlay").first
    card = overlay.locator(".snb-hovercard.snb-k0")
    assert card.evaluate("c => getComputedStyle(c).display") == "none"
    overlay.locator(".snb-label.snb-k0").hover()
    page.wait_for_function("c => getComputedStyle(c).display !== 'none'", arg=card.element_handle(), timeout=5_000)
    assert CJK_LABEL in card.text_content()
    return facts


def test_cjk_overlay_uses_the_embedded_font_in_voila(tmp_path):
    need_browser_stack("voila")
    notebook = _notebook(tmp_path / "cjk_overlay.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    with VoilaServer(notebook, tmp_path, env={"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}) as voila, browser_page(
        voila, tmp_path / "chromium-profile", ARTIFACTS / "html_cjk_voila_failure.png"
    ) as (page, net):
        page.goto(voila.url, wait_until="domcontentloaded")
        _check_fonts(page, "Voilà")
        page.screenshot(path=str(ARTIFACTS / "html_cjk_voila.png"), full_page=True)
    print(f"blocked non-loopback requests: {sorted(set(net.blocked))}")
    assert net.local and net.our_failures() == []


def test_cjk_overlay_uses_the_embedded_font_in_jupyterlab(tmp_path):
    need_browser_stack("jupyterlab")
    root = tmp_path / "lab"
    root.mkdir()
    notebook = _notebook(root / "cjk_overlay.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    with LabServer(notebook, tmp_path, root=root) as lab, browser_page(
        lab, tmp_path / "chromium-profile", ARTIFACTS / "html_cjk_jupyterlab_failure.png"
    ) as (page, net):
        page.goto(lab.notebook_url, wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')", timeout=120_000)
        # the kernel is idle (its status in the toolbar), then run every cell as a user would from the Run menu
        page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget; "
            "const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; "
            "return k && k.status === 'idle'; }",
            timeout=120_000,
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        _check_fonts(page, "JupyterLab")
        page.screenshot(path=str(ARTIFACTS / "html_cjk_jupyterlab.png"), full_page=True)
    print(f"blocked non-loopback requests: {sorted(set(net.blocked))}")
    assert net.local and net.our_failures() == []
