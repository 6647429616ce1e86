"""The panel in a real browser: Voilà serves notebooks/panel.ipynb, Playwright drives Chromium.

The fake Gemini server runs in this test process on 127.0.0.1; the Voilà kernel inherits
``GOOGLE_GEMINI_BASE_URL`` and a test key from the environment. Every request the page makes
to a host other than loopback is aborted and recorded (Voilà's page asks a CDN for icon
fonts). Needs Debian's /usr/bin/chromium; skipped without it, except under ``CI=true``.
A screenshot goes to ``test-artifacts/panel_browser.png``.
"""

from __future__ import annotations

import io
import os
import time
from urllib.parse import urlparse

import pytest

from PIL import Image

from spatial_nb import prompts
from spatial_nb.result import Result

from .browser_voila import CHROMIUM, LOCAL_HOSTS, REPO, VoilaServer, data_url_bytes, launch_chromium, require, upload_file
from .conftest import TEST_KEY
from .fake_gemini import Reply

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

POINTS_ANSWER = '[{"point": [300, 250], "label": "left eye"}, {"point": [480, 720], "label": "right eye"}]'
NOTEBOOK = REPO / "notebooks" / "panel.ipynb"
ARTIFACTS = REPO / "test-artifacts"

# Computed-style properties that a hover highlight may change.
STYLE_PROPS = ["opacity", "stroke-width", "stroke-opacity", "fill-opacity", "filter", "stroke", "fill"]
STYLE_JS = """(el, props) => {
  const out = {};
  for (const node of [el, ...el.querySelectorAll('*')]) {
    const cs = getComputedStyle(node);
    out[node.tagName + ':' + (node.getAttribute('class') || '')] = props.map(p => cs.getPropertyValue(p)).join('|');
  }
  return out;
}"""


def _status(page) -> str:
    return page.inner_text(".snb-status")


def test_panel_in_voila_and_chromium(tmp_path, fake_gemini):
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extra installs it
        require(False, "playwright is not installed (pip install playwright; no browser download needed)")
    try:
        import voila  # noqa: F401
    except ImportError:  # pragma: no cover
        require(False, "voila is not installed (pip install voila)")

    env = {
        "GOOGLE_GEMINI_BASE_URL": fake_gemini.url,
        "GOOGLE_API_KEY": TEST_KEY,
        "SPATIAL_NB_CACHE_DIR": str(tmp_path / "cache"),
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    with VoilaServer(NOTEBOOK, tmp_path, env=env) as voila, sync_playwright() as pw:
        ctx, net = launch_chromium(pw, tmp_path / "chromium-profile")
        try:
            page = ctx.new_page()
            page.goto(voila.url, wait_until="domcontentloaded")
            page.wait_for_selector(".snb-run", timeout=120_000)
            page.wait_for_selector(".snb-overlay-view .snb-preview img", timeout=60_000)

            # 1. pick an image
            page.select_option(".snb-sample-picker select", label="Chelsea the cat")
            page.wait_for_function(
                "() => document.querySelector('.snb-overlay-view img')?.alt === 'Chelsea the cat'", timeout=30_000
            )
            # 2. pick a detect type
            page.click(".snb-kind button:has-text('Points')")
            page.wait_for_selector(".snb-kind button.mod-active:has-text('Points')")
            # 3. move the temperature: four steps right with the keyboard (0.50 -> 0.70)
            handle = page.locator(".snb-temperature .noUi-handle")
            handle.focus()
            for _ in range(4):
                handle.press("ArrowRight")
            page.wait_for_function(
                "() => document.querySelector('.snb-temperature .widget-readout').textContent.trim() === '0.70'"
            )
            # the raw-prompt view is rendered by the kernel: once it shows the points instruction and
            # 0.7, the kernel has every setting (the browser buffers widget updates per model, so a
            # click could otherwise overtake the slider's last value)
            page.click(".snb-raw-toggle")
            page.wait_for_function(
                """() => { const t = document.querySelector('.snb-raw-prompt')?.textContent || '';
                           return t.includes('"temperature": 0.7') && t.includes('Point to the items'); }""",
                timeout=30_000,
            )
            page.click(".snb-raw-toggle")  # hide it again for a compact screenshot
            # 4. run (a slow answer) with a double click: the kernel keeps serving widget messages
            # while the call is out (the elapsed time ticks), and the second click is a no-op
            fake_gemini.queue(Reply(POINTS_ANSWER, delay=1.5))
            t0 = time.perf_counter()
            page.dblclick(".snb-run")
            page.wait_for_function(
                "() => /Running… (0\\.[1-9]|[1-9])/.test(document.querySelector('.snb-status').textContent)",
                timeout=60_000,
            )
            page.wait_for_selector(".snb-overlay-view svg .snb-item", timeout=60_000)
            first_s = time.perf_counter() - t0
            page.wait_for_function("() => document.querySelector('.snb-status').textContent.includes('Done')")
            assert "not cached" in _status(page)

            (req,) = fake_gemini.generate_requests()
            assert req.generation_config["temperature"] == pytest.approx(0.7)
            assert req.system_instruction == prompts.system_instruction("points")
            assert "Point to the items" in req.prompt
            assert page.locator(".snb-history select option").count() == 1  # one run in the history

            # 5. hover one object: it is highlighted, the others are not
            items = page.locator(".snb-overlay-view .snb-item")
            assert items.count() == 2  # the fake answers two points
            page.mouse.move(2, 2)
            before = [items.nth(i).evaluate(STYLE_JS, STYLE_PROPS) for i in range(2)]
            items.nth(0).hover()
            page.wait_for_timeout(400)  # let a CSS transition finish
            hovered = items.nth(0).evaluate(STYLE_JS, STYLE_PROPS)
            other = items.nth(1).evaluate(STYLE_JS, STYLE_PROPS)
            opacity = [items.nth(i).evaluate("el => parseFloat(getComputedStyle(el).opacity)") for i in range(2)]
            print(f"\nhover: computed opacity hovered={opacity[0]} other={opacity[1]}")
            # highlighted: the hovered item's style changed, or the others were dimmed under it
            assert hovered != before[0] or other != before[1], "hovering changed no computed style"
            assert hovered != other
            assert opacity[0] > opacity[1] or hovered != before[0]
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "panel_browser.png"), full_page=True)

            # 6. same settings again: a cache hit; measure click-to-overlay
            page.mouse.move(2, 2)
            old_svg = page.locator(".snb-overlay-view svg").first.element_handle()
            t0 = time.perf_counter()
            page.click(".snb-run")
            # a new overlay (a new <svg> element) with items, and a status saying it was cached
            page.wait_for_function(
                """old => { const svg = document.querySelector('.snb-overlay-view svg');
                            return svg && svg !== old && !old.isConnected && svg.querySelector('.snb-item'); }""",
                arg=old_svg, timeout=60_000,
            )
            cached_s = time.perf_counter() - t0
            page.wait_for_function(
                "() => /· cached$/.test(document.querySelector('.snb-status').textContent.trim())", timeout=60_000
            )
            assert len(fake_gemini.generate_requests()) == 1  # the second run never left the kernel
            print(
                f"\nclick-to-overlay in Chromium via Voilà: first run {first_s * 1000:.0f} ms, "
                f"(1.5 s of it the fake server's delay), cache hit {cached_s * 1000:.0f} ms"
            )
            page.screenshot(path=str(ARTIFACTS / "panel_browser_cached.png"), full_page=True)

            # 7. the 451x300 cat fills the column up to the height cap (it was shown at 451 px)
            svg_box = page.locator(".snb-overlay-view svg").first.bounding_box()
            print(f"overlay of the 451x300 cat shown at {svg_box['width']:.0f}x{svg_box['height']:.0f} px")
            assert svg_box["width"] > 600 and svg_box["height"] <= 561

            # 8. the download links are data URLs: the overlay PNG and the Result JSON of the shared format
            page.click(".snb-tabs .lm-TabBar-tab:has-text('Download')")
            hrefs = [a.get_attribute("href") for a in page.locator(".snb-downloads a").all()]
            png = Image.open(io.BytesIO(data_url_bytes(hrefs[0], "image/png")))
            assert png.format == "PNG" and png.size == (451, 300)
            res = Result.from_json(data_url_bytes(hrefs[1], "application/json"))
            assert res.labels == ["left eye", "right eye"] and res.image_size is not None

            # 9. upload a big photo of one's own: previewed, run, then the full-size overlay PNG on demand
            photo = tmp_path / "holiday photo.jpg"
            Image.new("RGB", (1600, 1200), (30, 90, 160)).save(photo, quality=90)
            upload_file(page, ".snb-upload", photo)
            page.wait_for_function(
                "() => document.querySelector('.snb-overlay-view img')?.alt === 'holiday photo.jpg'", timeout=30_000
            )
            page.click(".snb-kind button:has-text('2D bounding boxes')")
            page.wait_for_selector(".snb-kind button.mod-active:has-text('2D bounding boxes')")
            page.click(".snb-run")
            page.wait_for_function(
                "() => document.querySelector('.snb-status').textContent.includes('3 items')", timeout=60_000
            )
            page.click(".snb-full-png")
            page.wait_for_selector(".snb-full-png-a", timeout=60_000)
            full = Image.open(io.BytesIO(data_url_bytes(page.get_attribute(".snb-full-png-a", "href"), "image/png")))
            assert full.size == (1600, 1200)
            page.screenshot(path=str(ARTIFACTS / "panel_browser_upload.png"), full_page=True)

            # 10. a bad path: a message in the panel, the picture stays, no traceback on the page
            page.fill(".snb-path input", "/no/such/<b>picture</b>.jpg")
            page.press(".snb-path input", "Enter")
            page.wait_for_selector(".snb-message .snb-msg", timeout=30_000)
            assert "Image could not be read" in page.inner_text(".snb-message")
            assert "<b>picture</b>" in page.inner_text(".snb-message")  # shown as text, not markup
            assert page.locator(".snb-message b:has-text('picture')").count() == 0
            assert "Traceback" not in page.content()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "panel_browser_failure.png"), full_page=True)
            print("Voilà log tail:\n" + "\n".join(list(voila.log)[-40:]))
            raise
        finally:
            ctx.close()

    # no request of ours left 127.0.0.1: everything else was blocked, and nothing local failed
    print(f"blocked non-loopback requests ({len(net.blocked)}): {sorted(set(net.blocked))}")
    assert net.local, "the page made no loopback requests at all?"
    assert all((urlparse(u).hostname or "") in LOCAL_HOSTS or u.startswith(("data:", "blob:")) for u in net.local)
    assert net.our_failures() == []
    assert [(u, s) for u, s in net.bad_status if s >= 500] == []
    assert not any(TEST_KEY in u for u in net.local + net.blocked)
