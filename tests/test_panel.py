"""Headless tests of snb.Panel: widgets driven from Python, real SDK against the fake Gemini server.

Each test sets widget values the way a user would, clicks Run (``button.click()``), waits for
the background run and checks what was sent (fake server records), what is shown (HTML
widgets) and the panel's state.
"""

from __future__ import annotations

import base64
import html
import datetime
import io
import json
import re

import ipywidgets as W
import pytest
from PIL import Image

from spatial_nb import models, prompts
from spatial_nb.result import Result
from spatial_nb.widgets import Panel, PanelState

from .conftest import TEST_KEY
from .fake_gemini import Reply

ITEM_RE = re.compile(r"<g\b[^>]*class=\"[^\"]*\bsnb-item\b")
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "<script>alert(2)</script>"


def make_client():
    from spatial_nb.client import Client

    return Client(retry_attempts=3, retry_initial_delay=0.01)


def make_panel(**kwargs) -> Panel:
    return Panel(client=make_client(), **kwargs)


def click_run(panel: Panel) -> None:
    panel.run_button.click()
    assert panel.wait(60), "the run did not finish"


def n_items(html: str) -> int:
    return len(ITEM_RE.findall(html))


def all_html(widget: W.Widget) -> str:
    """Every HTML string the panel shows, from the whole widget tree."""
    out = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, (W.HTML, W.HTMLMath)):
            out.append(w.value)
        stack.extend(getattr(w, "children", ()) or ())
    return "\n".join(out)


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


# -- construction and settings ------------------------------------------------------------------


def test_construction_needs_no_key_and_creates_no_client():
    panel = Panel()  # no GOOGLE_API_KEY in the environment (conftest clears it)
    assert panel.client is None
    assert panel.state.image is not None and panel.state.image.source == "sample"
    assert "<img" in panel.overlay.value  # the picked sample is shown before any run
    # #10: the slider starts at the default model's temperature (1.0 on 3.x; was a fixed 0.5)
    assert panel.state.temperature == models.default_temperature(models.DEFAULT_MODEL) == 1.0
    assert panel.temperature.step == 0.05
    assert (panel.temperature.min, panel.temperature.max) == (0.0, 2.0)


def test_constructor_arguments():
    panel = Panel(image="cat", kind="points", prompt="Find the whiskers", temperature=0.8, model="gemini-2.5-pro")
    assert panel.sample_picker.value == "cat.jpg" and panel.state.image.sample == "cat.jpg"
    assert panel.kind_buttons.value == "points" and panel.prompt_mode.value == "free"
    assert panel.state.prompt == "Find the whiskers" and panel.temperature.value == 0.8
    assert panel.model_box.value == "gemini-2.5-pro"
    picture = Image.new("RGB", (40, 30), (0, 255, 0))
    panel = Panel(image=picture)
    assert panel.state.image.source == "upload" and panel.sample_picker.value == ""


def test_every_widget_has_its_own_layout():
    # a Layout shared between widgets would hide them all when one is hidden
    panel = Panel()
    widgets, stack = [], [panel]
    while stack:
        w = stack.pop()
        widgets.append(w)
        stack.extend(getattr(w, "children", ()) or ())
    assert len({id(w.layout) for w in widgets}) == len(widgets)
    panel.prompt_mode.value = "free"
    assert panel.template_box.layout.display == "none"
    assert panel.temperature.layout.display != "none" and panel.model_box.layout.display != "none"


def test_widgets_drive_state_and_kind_switch_updates_prompt():
    panel = Panel()
    panel.sample_picker.value = "coffee.jpg"
    panel.kind_buttons.value = "points"
    panel.target_text.value = "the cups"
    panel.label_text.value = "its colour"
    assert panel.state.prompt == prompts.template("points", "the cups", "its colour")
    assert panel.fov.layout.display == "none"
    panel.kind_buttons.value = "boxes3d"
    assert panel.fov.layout.display != "none"  # FOV only for 3D
    assert "3D bounding boxes" in panel.state.prompt
    # free mode: a dropdown offers the image's sample prompts for the kind, and follows the kind;
    # the multi-line box shows the whole prompt
    panel.prompt_mode.value = "free"
    from spatial_nb.samples import prompts_for

    assert isinstance(panel.prompt_box, W.Textarea) and panel.prompt_box.rows >= 3
    assert [v for _, v in panel.sample_prompts.options if v] == prompts_for("coffee.jpg", "boxes3d")
    assert panel.state.free_prompt == prompts_for("coffee.jpg", "boxes3d")[0] == panel.prompt_box.value
    assert panel.sample_prompts.value == panel.prompt_box.value
    panel.sample_prompts.value = prompts_for("coffee.jpg", "boxes3d")[1]  # picking one fills the box
    assert panel.prompt_box.value == panel.state.free_prompt == prompts_for("coffee.jpg", "boxes3d")[1]
    panel.kind_buttons.value = "masks"
    assert panel.state.free_prompt == prompts_for("coffee.jpg", "masks")[0]
    panel.prompt_box.value = "my own words"  # free text is accepted
    panel.kind_buttons.value = "points"
    assert panel.state.free_prompt == "my own words"  # typed text is not overwritten
    panel.max_size.value = "original"
    assert panel.state.max_size is None


def test_model_that_cannot_do_masks_is_named_with_an_alternative():
    panel = Panel()
    panel.model_box.value = "gemini-3.1-pro-preview"
    assert panel.model_note.value == ""  # boxes are fine
    panel.kind_buttons.value = "masks"
    note = panel.model_note.value
    assert "gemini-3.1-pro-preview" in note and "gemini-3.6-flash" in note
    panel.kind_buttons.value = "boxes"
    assert panel.model_note.value == ""


def test_raw_prompt_shows_system_instruction_and_prompt_escaped():
    panel = Panel()
    panel.prompt_mode.value = "free"
    panel.prompt_box.value = 'Find the "cups" & <saucers>'
    panel.raw_toggle.value = True
    raw = panel.raw_view.value
    assert panel.raw_view.layout.display != "none"

    assert html.escape(prompts.system_instruction("boxes"), quote=True) in raw
    assert "Find the &quot;cups&quot; &amp; &lt;saucers&gt;" in raw
    assert "<saucers>" not in raw
    panel.temperature.value = 1.3
    assert '"temperature": 1.3' in html.unescape(panel.raw_view.value)


def test_state_is_plain_python():
    state = PanelState()
    state.kind = "points"
    before = state.history
    from spatial_nb.widgets import ImageChoice, RunRecord

    state.add_run(RunRecord(1, ImageChoice("path", "a.jpg", "a.jpg"), {"kind": "points", "prompt": "p"}))
    assert state.history is not before and len(state.history) == 1 and state.selected == 0  # reassigned


# -- runs against the fake server ---------------------------------------------------------------


def test_run_sends_the_settings_and_shows_the_overlay(fake_gemini):
    panel = make_panel()
    panel.sample_picker.value = "cat.jpg"
    panel.prompt_mode.value = "free"
    panel.prompt_box.value = "Find the cat's eyes and ears"
    panel.temperature.value = 1.25
    panel.model_box.value = "gemini-2.5-flash-lite"
    click_run(panel)

    (req,) = fake_gemini.generate_requests()
    assert req.model == "gemini-2.5-flash-lite"
    assert "Find the cat's eyes and ears" in req.prompt
    assert req.generation_config["temperature"] == 1.25
    assert req.system_instruction == prompts.system_instruction("boxes")
    assert len(req.images) == 1 and req.images[0][0] == "image/jpeg"
    assert TEST_KEY not in json.dumps(req.body)

    assert n_items(panel.overlay.value) == 3  # the fake's default answer has 3 boxes
    assert len(panel.state.history) == 1 and panel.state.current.result.labels == [
        "left object", "right object", "bottom object"]
    assert "3 items" in panel.status.value and "tokens" in panel.status.value and "not cached" in panel.status.value
    assert panel.run_button.disabled is False and panel.message.value == ""
    assert '{"label": "left object", "box": [0.08, 0.12, 0.42, 0.56]}' in html.unescape(panel.json_view.value)
    assert "```json" in panel.raw_text_view.value
    assert "gemini-2.5-flash-lite" in panel.request_view.value
    assert TEST_KEY not in all_html(panel)


@pytest.mark.parametrize(
    ("kind", "n_expected"),
    [
        ("points", 2),  # fake answers 2 points
        ("masks", 2),  # 2 boxes with ellipse masks
        ("boxes3d", 2),  # 2 3D boxes (table, cup)
    ],
)
def test_kind_reaches_the_request(fake_gemini, kind, n_expected):
    panel = make_panel()
    panel.kind_buttons.value = kind
    panel.target_text.value = "the cups"
    click_run(panel)
    (req,) = fake_gemini.generate_requests()
    assert req.system_instruction == prompts.generation_config(kind)["system_instruction"]
    assert prompts.template(kind, "the cups") in req.prompt
    assert len(panel.state.current.result) == n_expected
    assert n_items(panel.overlay.value) == n_expected
    assert panel.message.value == "" and "Done" in panel.status.value
    assert "data:application/json;base64," in panel.downloads.value
    assert not re.search(r'download="[^"]*\.png"', all_html(panel))  # PNGs only when asked for (light notebooks)
    assert panel.png_button.layout.display != "none"


def test_fov_slider_changes_the_3d_overlay(fake_gemini):
    panel = make_panel()
    panel.kind_buttons.value = "boxes3d"
    panel.fov.value = 60
    first = panel.run()
    panel.fov.value = 100  # same request (cached), drawn with another field of view
    second = panel.run()
    assert second.result.cached and second.settings["fov_degrees"] == 100
    strip = lambda h: re.sub(r"snb-[0-9a-f]{12}", "", h)  # noqa: E731 - per-call ids differ anyway
    assert strip(panel.overlay_html(first)) != strip(panel.overlay_html(second))


def test_structured_toggle_asks_for_json(fake_gemini):
    panel = make_panel()
    panel.structured.value = True
    click_run(panel)
    (req,) = fake_gemini.generate_requests()
    assert req.generation_config.get("responseMimeType") == "application/json"


def test_max_size_reaches_the_request(fake_gemini):
    panel = make_panel()
    panel.sample_picker.value = "hubble_deep_field.jpg"  # 1000 x 872
    panel.max_size.value = "640 px"
    click_run(panel)
    panel.max_size.value = "original"
    click_run(panel)
    sizes = [Image.open(io.BytesIO(r.images[0][1])).size for r in fake_gemini.generate_requests()]
    assert sizes == [(640, 558), (1000, 872)]


def test_second_identical_run_is_cached_and_history_flips_and_compares(fake_gemini):
    panel = make_panel()
    click_run(panel)
    panel.run()  # the same again, deliberately (a second click this fast would be a double click)
    assert len(fake_gemini.generate_requests()) == 1
    assert panel.status.value.endswith("· cached")
    panel.kind_buttons.value = "points"
    click_run(panel)
    history = panel.state.history
    assert [len(r.result) for r in history] == [3, 3, 2]
    assert [r.result.cached for r in history] == [False, True, False]
    assert len(panel.history_picker.options) == 3
    assert n_items(panel.overlay.value) == 2

    panel.history_picker.value = 0  # flip back to the first run
    assert panel.state.selected == 0 and n_items(panel.overlay.value) == 3
    assert "left object" in panel.json_view.value
    assert panel.kind_buttons.value == "boxes"  # its settings came back with it
    panel.compare_picker.value = (0, 2)  # side by side with the points run, in the lab below
    assert "snb-compare-view" in panel.compare_view.value
    assert n_items(panel.compare_view.value) == 3 + 2
    assert n_items(panel.overlay.value) == 3  # the main picture stays the shown run
    panel.compare_picker.value = (2,)
    assert n_items(panel.compare_view.value) == 0 and "Pick one more run" in panel.compare_view.value


def test_double_click_sends_one_request(fake_gemini):
    answer = '[{"box_2d": [100, 100, 500, 500], "label": "slow"}]'
    fake_gemini.queue(Reply(answer, delay=0.5))
    panel = make_panel()
    statuses: list[str] = []
    panel.status.observe(lambda ch: statuses.append(ch["new"]), names=["value"])
    panel.run_button.click()
    assert panel.run_button.disabled is True and panel.state.running
    panel.run_button.click()  # second click while running: a no-op
    assert panel.wait(30)
    assert len(fake_gemini.generate_requests()) == 1
    assert panel.runner.started == 1 and len(panel.state.history) == 1
    assert panel.state.current.result.labels == ["slow"]
    assert panel.run_button.disabled is False and not panel.state.running
    # the status line ticked while the call was out (elapsed time), then gave tokens
    ticks = [s for s in statuses if s.startswith("Running… ") and not s.endswith(" 0.0 s")]
    assert ticks, statuses
    assert "tokens" in statuses[-1]


def test_run_helper_blocks_and_returns_the_record(fake_gemini):
    panel = make_panel()
    record = panel.run()
    assert record is panel.state.current and record.ok and len(record.result) == 3


# -- errors inside the panel ----------------------------------------------------------------------


def test_missing_key_is_explained_in_the_panel_and_panel_recovers(fake_gemini, monkeypatch):
    # #14: the key is explained once, in a banner built with the panel; Run points at it
    monkeypatch.delenv("GOOGLE_API_KEY")
    panel = Panel()  # client created lazily at the first Run
    banner = panel.banner.value
    assert "No Gemini API key" in banner and "GOOGLE_API_KEY" in banner and banner.count("aistudio.google.com/apikey") == 1
    click_run(panel)
    msg = panel.message.value
    assert "No Gemini API key" in msg and "note at the top" in msg and "aistudio" not in msg
    assert all_html(panel).count("https://aistudio.google.com/apikey") == 1  # one URL, once
    assert panel.state.history == [] and panel.run_button.disabled is False
    assert fake_gemini.generate_requests() == []
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)  # the user sets it, clicks Run again
    click_run(panel)
    assert len(panel.state.history) == 1 and panel.message.value == "" and panel.banner.value == ""


def test_429_after_retries_is_shown_and_panel_stays_usable(fake_gemini):
    fake_gemini.queue(*[Reply(status=429, error_message="Resource has been exhausted")] * 3)
    panel = make_panel()
    click_run(panel)
    assert len(fake_gemini.generate_requests()) == 3  # 3 attempts in total
    assert "429" in panel.message.value and "Wait a minute" in panel.message.value
    assert "Traceback" not in all_html(panel)
    assert panel.state.history == [] and panel.run_button.disabled is False
    click_run(panel)  # the server is fine again
    assert len(panel.state.history) == 1


def test_safety_block_is_shown(fake_gemini):
    fake_gemini.queue(Reply(block_reason="SAFETY"))
    panel = make_panel()
    click_run(panel)
    assert "safety" in panel.message.value.lower()
    assert panel.run_button.disabled is False


@pytest.mark.parametrize("finish, title", [("SPII", "Blocked by safety filters"), ("RECITATION", "Stopped: recitation")])
def test_every_refusal_reason_gets_its_own_title(fake_gemini, finish, title):
    fake_gemini.queue(Reply("", finish_reason=finish))
    panel = make_panel()
    click_run(panel)
    assert title in panel.message.value and finish in panel.message.value


def test_garbage_answer_says_nothing_could_be_read(fake_gemini):
    fake_gemini.queue(Reply("I am sorry, I cannot help with that picture."))
    panel = make_panel()
    click_run(panel)
    assert "Nothing could be read" in panel.message.value
    assert "Nothing could be read" in panel.warnings_view.value
    assert n_items(panel.overlay.value) == 0
    assert "I am sorry" in panel.raw_text_view.value


def test_hostile_text_is_escaped_everywhere(fake_gemini):
    items = [
        {"box_2d": [100, 100, 400, 400], "label": HOSTILE_IMG},
        {"box_2d": [100, 100, 400, 400], "label": HOSTILE_IMG},  # duplicate: a warning naming it
        {"box_2d": [500, 500, 900, 900], "label": HOSTILE_SCRIPT},
        {"point": "<svg onload=alert(3)>", "label": HOSTILE_SCRIPT},  # unreadable item: a warning
    ]
    text = f"Here you go {HOSTILE_SCRIPT}\n```json\n{json.dumps(items)}\n```"
    fake_gemini.queue(Reply(text))
    panel = make_panel()
    click_run(panel)
    res = panel.state.current.result
    assert HOSTILE_IMG in res.labels and HOSTILE_SCRIPT in res.labels
    shown = all_html(panel)
    for bad in (HOSTILE_IMG, HOSTILE_SCRIPT, "<svg onload", "<script"):
        assert bad not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.json_view.value
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in panel.raw_text_view.value
    assert res.warnings, "the parser should have warned about the duplicate / bad item"
    assert "<" not in re.sub(r"</?(ul|li|i)\b[^>]*>", "", panel.warnings_view.value)
    assert "&lt;" in panel.warnings_view.value  # warnings quote the hostile text, escaped
    # the JSON download holds the real labels (a file, not HTML)
    href = re.search(r'href="data:application/json;base64,([^"]+)"', panel.downloads.value).group(1)
    assert HOSTILE_IMG in Result.from_json(base64.b64decode(href)).labels


def test_bad_path_is_shown_and_keeps_the_image():
    panel = Panel()
    before = panel.state.image
    panel.path_text.value = "/no/such/picture.jpg"
    assert "Image could not be read" in panel.message.value
    assert panel.state.image == before and panel.sample_picker.value == before.sample


def test_upload_gif_first_frame_with_hostile_file_name(fake_gemini):
    frames = [Image.new("RGB", (80, 60), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    name = '<img src=x onerror=alert(1)>".gif'
    panel = make_panel()
    panel.upload.value = (
        {"name": name, "type": "image/gif", "size": len(buf.getvalue()), "content": memoryview(buf.getvalue()),
         "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},
    )
    assert panel.state.image.source == "upload" and panel.sample_picker.value == ""
    assert "<img src=x" not in all_html(panel) and "&lt;img src=x" in panel.image_info.value
    click_run(panel)
    (req,) = fake_gemini.generate_requests()
    mime, data = req.images[0]
    sent = Image.open(io.BytesIO(data)).convert("RGB")
    assert sent.size == (80, 60) and sent.getpixel((40, 30))[0] > 200  # the first (red) frame
    assert "<img src=x" not in all_html(panel)
    assert 'download="img_src_x_onerror_alert_1' in panel.downloads.value


def test_downloads_are_data_urls_in_the_shared_format(fake_gemini):
    panel = make_panel()
    click_run(panel)
    assert panel.png_link.value == ""  # made only when asked for
    panel.png_button.click()
    assert panel._png_runner.wait(60)
    links = panel.downloads.value + panel.png_link.value
    assert "<script" not in links
    png = re.search(r'download="([^"]+\.png)" href="data:image/png;base64,([^"]+)"', links)
    js = re.search(r'download="([^"]+\.json)" href="data:application/json;base64,([^"]+)"', links)
    assert png and js
    overlay = Image.open(io.BytesIO(base64.b64decode(png.group(2))))
    assert overlay.size == panel.state.current.picture.size
    res = Result.from_json(base64.b64decode(js.group(2)))
    assert res.labels == panel.state.current.result.labels and res.model == models.DEFAULT_MODEL


# -- messages ----------------------------------------------------------------------------------------

from spatial_nb.errors import GeminiRequestError, ImageLoadError, MissingKeyError  # noqa: E402
from spatial_nb.widgets.messages import describe_error, message_html  # noqa: E402


@pytest.mark.parametrize(
    ("exc", "title"),
    [
        (MissingKeyError(), "No Gemini API key"),  # with how to set it
        (GeminiRequestError("quota exhausted", status=429), "Rate limit (HTTP 429)"),
        (GeminiRequestError("blocked by safety settings", status=400), "Blocked by safety filters"),
        (GeminiRequestError("backend down", status=503), "Gemini server error (HTTP 503)"),
        (ImageLoadError("not an image: 'x.txt'"), "Image could not be read"),
        (ZeroDivisionError("division by zero"), "Unexpected error"),  # never a traceback
    ],
)
def test_errors_become_titled_messages(exc, title):
    assert describe_error(exc).title == title


def test_messages_are_escaped_and_never_show_the_key(monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    exc = GeminiRequestError(f"bad key {TEST_KEY} for <script>alert(1)</script>", status=400)
    shown = message_html(describe_error(exc))
    assert TEST_KEY not in shown and "<script>" not in shown and "&lt;script&gt;" in shown


# -- display size, full-size download, escaping everywhere, no tracebacks ------------------------------


def test_pictures_fit_the_column_and_window_without_upscaling(fake_gemini):
    # #14: small photos are never shown wider than they are; big ones grow with the column up to
    # a share of the window height (was: every picture scaled up to a fixed 560 px height)
    from spatial_nb.widgets import ImageChoice
    from spatial_nb.widgets.history import DISPLAY_MAX_HEIGHT_VH as VH

    panel = make_panel(image="chelsea")  # 451 x 300
    cap = f"min(100%, 451px, calc({VH}vh * 451 / 300))"
    assert f"width:{cap}" in panel.overlay.value
    click_run(panel)
    assert f'class="snb-fit" style="width:{cap}' in panel.overlay.value
    assert "width: 100% !important" in panel.children[0].value  # the panel's stylesheet: the <svg> fills that box
    big = Image.new("RGB", (3000, 1500), (0, 90, 0))  # shown from a 1024-px copy, may grow to 3000 px
    panel.set_image(ImageChoice("upload", "wide.png", big))
    assert "width:min(100%, 3000px, calc(70vh * 1024 / 512))" in panel.overlay.value


def _big_photo_bytes(size=(2400, 1600)) -> bytes:
    img = Image.new("RGB", size, (40, 40, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_full_size_overlay_png_is_made_on_demand_from_the_original(fake_gemini):
    from spatial_nb.widgets import ImageChoice

    panel = make_panel()
    panel.set_image(ImageChoice("upload", "big.jpg", _big_photo_bytes()))
    record = panel.run()
    assert record.image_size == (2400, 1600) and record.picture.size == (1024, 683)
    # the page stays light: no PNG until asked; the display-size button says what it makes
    assert "display size, 1024×683" in panel.png_button.description
    assert not re.search(r'download="[^"]*\.png"', all_html(panel))
    assert panel.full_png_button.layout.display != "none" and "2400×1600" in panel.full_png_button.description
    assert panel.full_png_link.value == ""
    panel.full_png_button.click()
    assert panel._png_runner.wait(60)
    link = panel.full_png_link.value
    found = re.search(r'download="big_boxes_run1_full\.png" href="data:image/png;base64,([^"]+)"', link)
    assert found, link
    full = Image.open(io.BytesIO(base64.b64decode(found.group(1)))).convert("RGB")
    assert full.size == (2400, 1600)
    # drawn on the original: the first box's left edge (x0 = 0.08) is coloured, its inside is the photo
    x0, y_mid = round(0.08 * 2400), round(0.34 * 1600)
    edge = full.getpixel((x0 + 1, y_mid))
    assert max(edge) - min(edge) > 60, edge  # a saturated box colour, not the grey photo
    assert full.getpixel((round(0.25 * 2400), y_mid)) == pytest.approx((40, 40, 40), abs=6)
    # flipping to another run hides the link again; a small picture needs no button at all
    panel.sample_picker.value = "chelsea.jpg"
    panel.run()
    assert panel.full_png_link.value == "" and panel.full_png_button.layout.display == "none"
    assert "full size, 451×300" in panel.png_button.description


def test_every_untrusted_string_is_escaped_in_every_html_widget(fake_gemini, tmp_path):
    hostile = '<img src=x onerror=alert(1)>'
    path = tmp_path / f"{hostile}.png"
    Image.new("RGB", (120, 80), (10, 200, 10)).save(path)
    fake_gemini.queue(Reply(json.dumps([{"box_2d": [100, 100, 500, 500], "label": hostile}])))
    panel = make_panel()
    panel.path_text.value = str(path)  # a hostile file name
    assert panel.state.image.name == path.name
    click_run(panel)
    panel.model_box.value = f"gemini-{hostile}"  # a hostile model name: the model note, the raw prompt, the error
    panel.kind_buttons.value = "masks"
    panel.raw_toggle.value = True
    fake_gemini.queue(Reply(status=404, error_message=f"model gemini-{hostile} not found"))
    click_run(panel)
    assert panel.message.value and "404" in panel.message.value
    panel.model_box.value = "gemini-3.5-flash-lite"
    panel.kind_buttons.value = "points"
    click_run(panel)
    panel.history_picker.value = 0
    panel.compare_picker.value = (0, 1)  # compare captions carry the model, the prompt and the labels
    assert "snb-compare-view" in panel.compare_view.value
    shown = all_html(panel)
    assert "<img src=x" not in shown and "onerror=alert(1)>" not in shown.replace("&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown


def test_error_paths_put_no_traceback_anywhere(fake_gemini, monkeypatch, caplog, capfd):
    import logging
    import threading

    thread_errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args))
    caplog.set_level(logging.INFO)
    # missing key, 429 after retries, garbage answer, blocked, bad path, broken upload
    monkeypatch.delenv("GOOGLE_API_KEY")
    panel = Panel()
    click_run(panel)
    assert "No Gemini API key" in panel.message.value
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    panel.client = make_client()
    fake_gemini.queue(*[Reply(status=429, error_message="Resource has been exhausted")] * 3)
    click_run(panel)
    assert "429" in panel.message.value
    fake_gemini.queue(Reply("no json here, sorry"))
    click_run(panel)
    assert "Nothing could be read" in panel.message.value
    fake_gemini.queue(Reply(block_reason="SAFETY"))
    panel.kind_buttons.value = "points"
    click_run(panel)
    assert "safety" in panel.message.value.lower()
    panel.path_text.value = "/no/such/file.jpg"
    assert "Image could not be read" in panel.message.value
    panel.upload.value = ({"name": "broken.png", "type": "image/png", "size": 5, "content": memoryview(b"junk!"),
                           "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert "Image could not be read" in panel.message.value
    assert panel.run_button.disabled is False
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception" not in err, err
    assert [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()] == []
    assert thread_errors == []
    assert "Traceback" not in all_html(panel)


def test_handled_failures_log_one_redacted_line(monkeypatch, caplog):
    # A handled error reaches the DEBUG log as one line with the key replaced, never a traceback.
    import logging

    from spatial_nb.widgets.messages import log_failure

    monkeypatch.setenv("GOOGLE_API_KEY", "AIzaSECRET-123456")
    logger = logging.getLogger("spatial_nb.test")
    with caplog.at_level(logging.DEBUG, logger="spatial_nb.test"):
        try:
            raise RuntimeError("Illegal header value b'AIzaSECRET-123456'")
        except RuntimeError as exc:
            log_failure(logger, "a callback", exc)
    (record,) = caplog.records
    assert "AIzaSECRET-123456" not in record.getMessage() and "***" in record.getMessage()
    assert record.exc_info is None
