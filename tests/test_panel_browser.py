"""The panel in a real browser: Voilà and JupyterLab 4 serve notebooks/panel.ipynb, Playwright drives
Debian's Chromium.

The fake Gemini server runs in this test process on 127.0.0.1; the kernel inherits
``GOOGLE_GEMINI_BASE_URL`` and a test key from the environment. Every request the page makes to a
host other than loopback is aborted and recorded. Needs /usr/bin/chromium, playwright, voila and
jupyterlab; skipped without them, except under ``CI=true`` where that is a failure.
Screenshots go to ``test-artifacts/`` (panel_voila_1440.png, panel_voila_1440_controls.png,
panel_voila_420.png, panel_voila_420_whole.png, panel_voila_2560.png, panel_voila_recorded_1440.png,
panel_voila_recorded_420.png, panel_lab_1440.png, panel_lab_1440_controls.png, panel_lab_compare.png,
panel_lab_sweep.png).
"""

from __future__ import annotations

import io
import json
import shutil
from urllib.parse import urlparse

import pytest
from PIL import Image

from spatial_nb import prompts
from spatial_nb.result import Result
from spatial_nb.widgets.layout import model_choices

from .browser_voila import (
    LOCAL_HOSTS, REPO, LabServer, VoilaServer, browser_page, cut_labels, data_url_bytes, need_browser_stack, upload_file,
)
from .conftest import TEST_KEY
from .fake_gemini import RecordedRequest, Reply, kind_aware_answer

pytestmark = [pytest.mark.browser]

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
# What three different models "see" in the sweep and compare (the first three in the model picker).
CUP = {"box_2d": [80, 160, 560, 520], "label": "cup"}
SPOON = {"box_2d": [600, 600, 900, 700], "label": "spoon"}
SAUCER = {"box_2d": [450, 50, 760, 600], "label": "saucer"}
MODELS = model_choices()[:3]
ANSWERS = {MODELS[0]: [CUP, SPOON], MODELS[1]: [CUP], MODELS[2]: [dict(CUP, box_2d=[130, 200, 610, 560]), SPOON, SAUCER]}


def by_model(req: RecordedRequest) -> Reply:
    """Box requests get a per-model answer; everything else the fake's kind-aware default."""
    if req.model in ANSWERS and "point" not in (req.system_instruction or "").lower():
        return Reply(json.dumps(ANSWERS[req.model]))
    return kind_aware_answer(req)


def _env(fake_gemini, tmp_path) -> dict[str, str]:
    return {
        "GOOGLE_GEMINI_BASE_URL": fake_gemini.url,
        "GOOGLE_API_KEY": TEST_KEY,
        "SPATIAL_NB_CACHE_DIR": str(tmp_path / "cache"),
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }


def _status(page) -> str:
    return page.inner_text(".snb-status")


def _check_network(net) -> None:
    """No request of ours left 127.0.0.1: everything else was blocked, and nothing local failed."""
    print(f"blocked non-loopback requests ({len(net.blocked)}): {sorted(set(net.blocked))[:8]}")
    assert net.local, "the page made no loopback requests at all?"
    assert all((urlparse(u).hostname or "") in LOCAL_HOSTS or u.startswith(("data:", "blob:")) for u in net.local)
    assert net.our_failures() == []
    assert [(u, s) for u, s in net.bad_status if s >= 500] == []
    assert not any(TEST_KEY in u for u in net.local + net.blocked)


def _in_first_screen(page, selector: str) -> dict:
    """The element's box; asserts it is inside the viewport and not covered by anything."""
    box = page.locator(selector).first.bounding_box()
    view = page.viewport_size
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= view["height"], (box, view)
    assert 0 <= box["x"] and box["x"] + box["width"] <= view["width"], (box, view)
    on_top = page.evaluate(
        "([x, y, sel]) => { const el = document.elementFromPoint(x, y); return !!el && !!el.closest(sel); }",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, selector],
    )
    assert on_top, f"{selector} is covered by another element"
    return box


@pytest.mark.timeout(300)
def test_panel_in_voila_and_chromium(tmp_path, fake_gemini):
    need_browser_stack("voila")
    ARTIFACTS.mkdir(exist_ok=True)
    with VoilaServer(NOTEBOOK, tmp_path, env=_env(fake_gemini, tmp_path)) as voila, browser_page(
        voila, tmp_path / "chromium-profile", ARTIFACTS / "panel_voila_failure.png", (1440, 900)
    ) as (page, net):
        page.goto(voila.url, wait_until="domcontentloaded")
        page.wait_for_selector(".snb-run", timeout=120_000)
        page.wait_for_selector(".snb-overlay-view .snb-preview img", timeout=60_000)
        assert page.inner_text(".snb-banner") == ""  # a key is set: no banner

        # 1. pick an image, a detect type, the temperature (it starts at the default model's 1.00;
        # keyboard on the slider: 1.00 -> 1.20)
        page.select_option(".snb-sample-picker select", label="Chelsea the cat")
        page.wait_for_function(
            "() => document.querySelector('.snb-overlay-view img')?.alt === 'Chelsea the cat'", timeout=30_000
        )
        page.click(".snb-kind button:has-text('Points')")
        page.wait_for_selector(".snb-kind button.mod-active:has-text('Points')")
        assert page.inner_text(".snb-temperature .widget-readout").strip() == "1.00"
        handle = page.locator(".snb-temperature .noUi-handle")
        handle.focus()
        for _ in range(4):
            handle.press("ArrowRight")
        page.wait_for_function(
            "() => document.querySelector('.snb-temperature .widget-readout').textContent.trim() === '1.20'"
        )
        # the raw-prompt view is rendered by the kernel: once it shows the points instruction
        # and 1.2 the kernel has every setting (a click could otherwise overtake the slider)
        page.click(".snb-raw-toggle")
        page.wait_for_function(
            """() => { const t = document.querySelector('.snb-raw-prompt')?.textContent || '';
                       return t.includes('"temperature": 1.2') && t.includes('Point to the items'); }""",
            timeout=30_000,
        )
        page.click(".snb-raw-toggle")
        # the whole sample prompt is in the multi-line box
        page.click(".snb-prompt-mode button:has-text('Sample or own prompt')")
        page.wait_for_selector(".snb-prompt textarea", state="visible")
        page.select_option(".snb-sample-prompts select", index=1)
        page.wait_for_function("() => document.querySelector('.snb-prompt textarea').value.length > 10")
        sample_prompt = page.input_value(".snb-prompt textarea")
        assert page.evaluate("() => { const t = document.querySelector('.snb-prompt textarea'); "
                             "return t.scrollHeight <= t.clientHeight + 2; }"), "the prompt does not fit its box"

        # 2. a slow answer and a double click: Run is disabled in the browser while it is out,
        # the status ticks, and one request and one history entry come of it
        fake_gemini.queue(Reply(POINTS_ANSWER, delay=1.5))
        page.dblclick(".snb-run")
        page.wait_for_selector(".snb-run:disabled", timeout=10_000)
        page.wait_for_function(
            "() => /Running… (0\\.[1-9]|[1-9])/.test(document.querySelector('.snb-status').textContent)",
            timeout=60_000,
        )
        page.wait_for_selector(".snb-overlay-view svg .snb-item", timeout=60_000)
        page.wait_for_function("() => document.querySelector('.snb-status').textContent.includes('Done')")
        assert "not cached" in _status(page) and "2 items" in _status(page)
        assert page.locator(".snb-run:disabled").count() == 0
        (req,) = fake_gemini.generate_requests()
        assert req.generation_config["temperature"] == pytest.approx(1.2)
        assert req.system_instruction == prompts.system_instruction("points")
        assert sample_prompt.strip() in req.prompt
        assert page.locator(".snb-history select option").count() == 1

        # 3. hover one object: it is highlighted, the other is not
        items = page.locator(".snb-overlay-view .snb-item")
        assert items.count() == 2
        page.mouse.move(2, 2)
        before = [items.nth(i).evaluate(STYLE_JS, STYLE_PROPS) for i in range(2)]
        items.nth(0).hover()
        page.wait_for_timeout(400)  # let a CSS transition finish
        hovered = items.nth(0).evaluate(STYLE_JS, STYLE_PROPS)
        other = items.nth(1).evaluate(STYLE_JS, STYLE_PROPS)
        assert hovered != before[0] or other != before[1], "hovering changed no computed style"
        assert hovered != other
        page.mouse.move(2, 2)

        # 4. the 451x300 cat is never shown wider than it is
        svg_box = page.locator(".snb-overlay-view svg").first.bounding_box()
        print(f"\noverlay of the 451x300 cat shown at {svg_box['width']:.0f}x{svg_box['height']:.0f} px")
        assert 400 <= svg_box["width"] <= 452

        # 5. layout at 1440x900: Run on the first screen, no label cut; screenshot
        page.evaluate("() => window.scrollTo(0, 0)")
        _in_first_screen(page, ".snb-run")
        assert cut_labels(page) == []
        page.screenshot(path=str(ARTIFACTS / "panel_voila_1440.png"))
        # the settings (#10): media resolution, request path and timeout, labels whole
        for label in ("Temperature", "Model", "Max size", "Media resolution", "Request path", "Timeout (s)"):
            assert page.locator(f".snb-controls .widget-label:text-is('{label}')").count() == 1, label
        page.locator(".snb-controls").screenshot(path=str(ARTIFACTS / "panel_voila_1440_controls.png"))

        # 6. downloads: the PNG is made on click, the JSON is there at once
        page.click(".snb-tabs .lm-TabBar-tab:has-text('Download')")
        assert page.locator(".snb-png-a").count() == 0
        page.click(".snb-png")
        page.wait_for_selector(".snb-png-a", timeout=60_000)
        png = Image.open(io.BytesIO(data_url_bytes(page.get_attribute(".snb-png-a", "href"), "image/png")))
        assert png.format == "PNG" and png.size == (451, 300)
        res = Result.from_json(data_url_bytes(page.get_attribute(".snb-downloads a", "href"), "application/json"))
        assert res.labels == ["left eye", "right eye"]

        # 7. an uploaded photo larger than the screen: it grows with a wide window, never past its size
        photo = tmp_path / "holiday photo.jpg"
        Image.new("RGB", (1600, 1200), (30, 90, 160)).save(photo, quality=90)
        upload_file(page, ".snb-upload", photo)
        page.wait_for_function(
            "() => document.querySelector('.snb-overlay-view img')?.alt === 'holiday photo.jpg'", timeout=30_000
        )
        page.click(".snb-kind button:has-text('2D bounding boxes')")
        page.click(".snb-prompt-mode button:has-text('AI Studio template')")
        page.select_option(".snb-media-resolution select", label="high")  # reaches the request body
        page.click(".snb-raw-toggle")
        page.wait_for_function(
            "() => (document.querySelector('.snb-raw-prompt')?.textContent || '').includes('MEDIA_RESOLUTION_HIGH')",
            timeout=30_000,
        )
        page.click(".snb-raw-toggle")
        page.click(".snb-run")
        page.wait_for_function("() => document.querySelector('.snb-status').textContent.includes('3 items')", timeout=60_000)
        assert fake_gemini.generate_requests()[-1].generation_config["mediaResolution"] == "MEDIA_RESOLUTION_HIGH"
        width_1440 = page.locator(".snb-overlay-view svg").first.bounding_box()["width"]
        page.set_viewport_size({"width": 2560, "height": 1440})
        page.wait_for_timeout(300)
        width_2560 = page.locator(".snb-overlay-view svg").first.bounding_box()["width"]
        print(f"1600x1200 photo shown {width_1440:.0f} px wide at 1440x900, {width_2560:.0f} px at 2560x1440")
        assert width_1440 < width_2560 <= 1601
        assert cut_labels(page) == []
        page.screenshot(path=str(ARTIFACTS / "panel_voila_2560.png"))

        # 8. narrow: 420x900, the columns stack and no label is cut
        page.set_viewport_size({"width": 420, "height": 900})
        page.wait_for_timeout(300)
        controls = page.locator(".snb-controls").bounding_box()
        results = page.locator(".snb-results").bounding_box()
        assert results["y"] >= controls["y"] + controls["height"] - 1, (controls, results)  # stacked
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 420 + 1  # no sideways scroll
        assert cut_labels(page) == []
        page.screenshot(path=str(ARTIFACTS / "panel_voila_420.png"))
        tall = int(page.locator(".snb-panel").bounding_box()["height"]) + 300  # Voilà scrolls inside a div:
        page.set_viewport_size({"width": 420, "height": tall})  # a tall window shows the whole stacked panel
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "panel_voila_420_whole.png"))
        page.set_viewport_size({"width": 1440, "height": 900})

        # 9. the path box from notebooks/ (Voilà's working directory): the repository path works
        page.fill(".snb-path input", "images/coffee.jpg")
        page.press(".snb-path input", "Enter")
        page.wait_for_function(
            "() => document.querySelector('.snb-overlay-view img')?.alt === 'coffee.jpg'", timeout=30_000
        )
        assert "was loaded instead" in page.inner_text(".snb-message")
        # a bad path: a message in the panel, the picture stays, no traceback on the page
        page.fill(".snb-path input", "/no/such/<b>picture</b>.jpg")
        page.press(".snb-path input", "Enter")
        page.wait_for_function(
            "() => (document.querySelector('.snb-message')?.textContent || '').includes('Image could not be read')",
            timeout=30_000,
        )
        assert "<b>picture</b>" in page.inner_text(".snb-message")  # shown as text, not markup
        assert page.locator(".snb-message b:has-text('picture')").count() == 0
        assert "Traceback" not in page.content()
    _check_network(net)


@pytest.mark.timeout(300)
def test_recorded_answer_in_voila_without_a_key(tmp_path, fake_gemini):
    """No key: the banner offers the recordings, one click draws one, and the kernel sends nothing
    (the SDK would reach the fake server, which must see no request)."""
    need_browser_stack("voila")
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**_env(fake_gemini, tmp_path), "GOOGLE_API_KEY": ""}  # an empty key is no key
    with VoilaServer(NOTEBOOK, tmp_path, env=env) as voila, browser_page(
        voila, tmp_path / "chromium-profile", ARTIFACTS / "panel_voila_recorded_failure.png", (1440, 900)
    ) as (page, net):
        page.goto(voila.url, wait_until="domcontentloaded")
        page.wait_for_selector(".snb-try-recording", state="visible", timeout=120_000)
        banner = page.inner_text(".snb-banner")
        assert "No Gemini API key yet" in banner and "Recorded answers are available without a key" in banner
        page.click(".snb-try-recording")
        page.wait_for_function(
            "() => document.querySelectorAll('.snb-overlay-view svg .snb-item').length === 2 "
            "&& document.querySelector('.snb-status').textContent.includes('Recorded answer')",
            timeout=60_000,
        )
        status = _status(page)
        assert "not a live call" in status and "2 items" in status
        assert "Google's Gemini cookbook" in page.inner_text(".snb-message")
        assert page.locator(".snb-source button.mod-active:has-text('Recorded answer (no key)')").count() == 1
        assert "Show me the positions of the socks" in page.input_value(".snb-prompt textarea")
        page.evaluate("() => window.scrollTo(0, 0)")
        assert cut_labels(page) == []
        page.screenshot(path=str(ARTIFACTS / "panel_voila_recorded_1440.png"))
        page.set_viewport_size({"width": 420, "height": 900})
        page.wait_for_timeout(300)
        assert cut_labels(page) == []
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 420 + 1
        tall = int(page.locator(".snb-panel").bounding_box()["height"]) + 300
        page.set_viewport_size({"width": 420, "height": tall})
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "panel_voila_recorded_420.png"))
        assert "Traceback" not in page.content()
    assert fake_gemini.requests == []  # nothing was sent: not a request, not a model list
    _check_network(net)


def _screenshot_lab(page, name: str) -> None:
    """The whole lab section: JupyterLab scrolls inside the notebook, so grow the window to fit it."""
    view = page.viewport_size
    page.set_viewport_size({"width": view["width"], "height": int(page.locator(".snb-lab").bounding_box()["height"]) + 400})
    page.wait_for_timeout(300)
    page.locator(".snb-lab").scroll_into_view_if_needed()
    page.locator(".snb-lab").screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(view)


def _run_and_wait(page, n_done: int) -> None:
    page.click(".snb-run")
    page.wait_for_function(
        "n => document.querySelectorAll('.snb-history select option').length === n "
        "&& document.querySelector('.snb-status').textContent.includes('Done')",
        arg=n_done, timeout=60_000,
    )


@pytest.mark.timeout(420)
def test_panel_in_jupyterlab_compare_and_sweep(tmp_path, fake_gemini):
    need_browser_stack("jupyterlab", "jupyterlab_widgets")
    ARTIFACTS.mkdir(exist_ok=True)
    fake_gemini.default = by_model
    # a copy: JupyterLab saves what it opens (outputs, a new empty cell), and the repository's
    # notebook must stay as it is; the kernel still runs in a notebooks/ folder
    root = tmp_path / "lab-root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    with LabServer(root / "notebooks" / NOTEBOOK.name, tmp_path, root=root, env=_env(fake_gemini, tmp_path)) as lab, browser_page(
        lab, tmp_path / "chromium-profile", ARTIFACTS / "panel_lab_failure.png", (1440, 900)
    ) as (page, net):
        page.goto(lab.notebook_url, wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=180_000)
        # the side bar (file browser) is open, as a new user has it
        if not page.locator("#jp-left-stack").is_visible():
            page.click("[data-id='filebrowser']")
        assert page.locator("#jp-left-stack").bounding_box()["width"] > 150
        page.wait_for_function(  # the kernel is up before the cell is run
            "() => /\\| Idle/.test(document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')?.textContent || '')",
            timeout=180_000,
        )
        page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".snb-run", timeout=180_000)
        page.wait_for_selector(".snb-overlay-view .snb-preview img", timeout=60_000)
        page.mouse.move(2, 450)
        page.evaluate("() => document.querySelectorAll('.jp-WindowedPanel-outer, .jp-Notebook')"
                      ".forEach(el => el.scrollTop = 0)")
        page.wait_for_timeout(300)
        run_box = _in_first_screen(page, ".snb-run")
        print(f"\nJupyterLab 1440x900, side bar open: Run at y={run_box['y']:.0f}..{run_box['y'] + run_box['height']:.0f}")
        assert cut_labels(page) == []
        page.screenshot(path=str(ARTIFACTS / "panel_lab_1440.png"))
        page.locator(".snb-controls").screenshot(path=str(ARTIFACTS / "panel_lab_1440_controls.png"))  # every setting

        # two runs with two models, then compare them
        model = page.locator(".snb-model input")
        for n, name in enumerate((MODELS[0], MODELS[2]), 1):
            model.fill(name)
            model.press("Enter")
            page.wait_for_timeout(200)
            _run_and_wait(page, n)
        assert [r.model for r in fake_gemini.generate_requests()] == [MODELS[0], MODELS[2]]
        page.select_option(".snb-compare select", index=[0, 1])
        page.wait_for_function(
            "() => document.querySelectorAll('.snb-compare-view-box .snb-card').length === 2", timeout=30_000
        )
        cards = page.locator(".snb-compare-view-box .snb-card")
        boxes = [cards.nth(i).locator(".snb-pic").bounding_box() for i in range(2)]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) <= 1  # captions of equal height: pictures aligned
        assert boxes[0]["width"] >= 300 and abs(boxes[0]["x"] - boxes[1]["x"]) >= boxes[0]["width"]  # side by side
        assert page.locator(".snb-compare-view-box .snb-diff-only_b").count() == 1  # the saucer is new
        assert page.locator(".snb-compare-view-box .snb-diff-moved").count() == 1  # the cup moved
        _screenshot_lab(page, "panel_lab_compare.png")

        # a sweep of three models in one click
        page.click(".snb-lab .lm-TabBar-tab:has-text('Sweep')")
        page.select_option(".snb-sweep-models select", index=[0, 1, 2])
        page.wait_for_timeout(200)
        page.click(".snb-sweep")
        page.wait_for_function(
            "() => document.querySelectorAll('.snb-sweep-view-box .snb-card').length === 3", timeout=90_000
        )
        sweep = page.inner_text(".snb-sweep-view-box")
        assert sweep.count("agreement") >= 3 and "tokens" in sweep
        assert page.locator(".snb-sweep-view-box .snb-card svg .snb-item").count() == 2 + 1 + 3
        assert len(fake_gemini.generate_requests()) == 2 + 1  # two of the three were cached
        _screenshot_lab(page, "panel_lab_sweep.png")
        assert "Traceback" not in page.inner_text(".jp-Notebook")
    _check_network(net)
