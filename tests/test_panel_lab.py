"""The panel as a prompt lab (#14), driven headlessly against the fake Gemini server.

Layout (whole prompts in a Textarea), one run per click, a history that restores what it shows,
compare and sweep grids with differences marked, messages (banner, no repeats, plurals), widget
state size after a run, and the path box from a notebooks/ working directory.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from pathlib import Path

import ipywidgets as W
import pytest

from spatial_nb import models
from spatial_nb.samples import prompts_for
from spatial_nb.widgets import Panel
from spatial_nb.widgets.messages import _SENTENCE_END

from .conftest import TEST_KEY
from .fake_gemini import RecordedRequest, Reply
from .test_panel import all_html, click_run, make_panel, n_items

REPO = Path(__file__).resolve().parents[1]
CUP = {"box_2d": [100, 100, 500, 400], "label": "cup"}
SPOON = {"box_2d": [600, 600, 900, 700], "label": "spoon"}
SAUCER = {"box_2d": [450, 50, 700, 500], "label": "saucer <b>"}
BY_MODEL = {
    "model-a": [CUP, SPOON],
    "model-b": [CUP],
    "model-c": [dict(CUP, box_2d=[160, 140, 560, 440]), SPOON, SAUCER],
}


def by_model(req: RecordedRequest) -> Reply:
    return Reply(json.dumps(BY_MODEL.get(req.model, [CUP])))


def sentences(html_text: str) -> list[str]:
    text = re.sub(r"<[^>]+>", " ", html_text)
    text = " ".join(text.replace("&quot;", '"').replace("&#x27;", "'").split())
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


# -- 1. layout --------------------------------------------------------------------------------------


def test_the_whole_sample_prompt_is_in_a_multi_line_box():
    panel = Panel(image="coffee")
    panel.prompt_mode.value = "free"
    longest = max(prompts_for("coffee.jpg", "boxes"), key=len)
    panel.sample_prompts.value = longest
    assert isinstance(panel.prompt_box, W.Textarea) and panel.prompt_box.value == longest
    assert panel.state.prompt == longest.strip()
    panel.prompt_box.value = longest + "\nOnly the ones on the left."  # edited freely, several lines
    assert panel.sample_prompts.value == ""  # no longer one of the samples
    assert panel.state.prompt.endswith("Only the ones on the left.")
    panel.prompt_mode.value = "template"  # the template's prompt is shown whole too
    assert panel.state.prompt in html.unescape(panel.template_preview.value)


def test_run_comes_before_the_settings():
    panel = Panel()
    left = list(panel.children[3].children[0].children)  # main row -> left column
    run_row = next(i for i, c in enumerate(left) if panel.run_button in getattr(c, "children", ()))
    assert left.index(panel.free_box) < run_row < left.index(panel.settings_box)
    assert panel.settings_box.children[:2] == (panel.temperature, panel.model_box)


# -- 2. one run per click -------------------------------------------------------------------------


def test_clicks_during_a_slow_answer_make_one_request_and_one_history_entry(fake_gemini):
    fake_gemini.queue(Reply('[{"box_2d": [100, 100, 500, 500], "label": "slow"}]', delay=0.6))
    panel = make_panel()
    panel.run_button.click()
    assert panel.run_button.disabled and panel.sweep_button.disabled and panel.run_button.description == "Running…"
    panel.run_button.click()
    panel.kind_buttons.value = "points"  # other settings do not make a click during a run count either
    panel.run_button.click()
    assert panel.start_sweep() is False
    assert panel.wait(30)
    assert len(fake_gemini.generate_requests()) == 1 and len(panel.state.history) == 1
    assert not panel.run_button.disabled and panel.run_button.description == "Run"


def test_a_double_click_on_a_fast_cached_run_is_one_run(fake_gemini):
    # Fails before #14: the second click of a double click arrived after the cache hit had
    # finished and started a second, duplicate run.
    panel = make_panel()
    panel.run()  # fills the cache: the next identical run takes milliseconds
    panel.run_button.click()
    assert panel.wait(30)
    panel.run_button.click()  # the double click's second click, after the first run finished
    assert panel.wait(30)
    assert len(panel.state.history) == 2 and len(fake_gemini.generate_requests()) == 1
    panel.temperature.value = 0.9  # a click with other settings is a new run at once
    panel.run_button.click()
    assert panel.wait(30) and len(panel.state.history) == 3


# -- 3. history that tells the truth ----------------------------------------------------------------


def test_showing_an_old_run_restores_its_image_settings_and_status(fake_gemini):
    panel = make_panel(image="coffee")
    panel.prompt_mode.value = "free"
    panel.prompt_box.value = "Find the cups"
    panel.temperature.value = 0.3
    fake_gemini.queue(Reply("Sorry, I see no cups."))  # run 1 ends with a "Nothing found" warning
    first = panel.run()
    panel.sample_picker.value = "cat.jpg"
    panel.kind_buttons.value = "points"
    panel.prompt_box.value = "Point to the eyes"
    panel.temperature.value = 1.2
    panel.model_box.value = "gemini-2.5-flash-lite"
    panel.max_size.value = "original"
    second = panel.run()
    assert "run #2" in panel.status.value and panel.message.value == ""

    panel.history_picker.value = 0
    assert panel.state.current is first
    assert panel.sample_picker.value == "coffee.jpg" and panel.state.image == first.image
    assert (panel.kind_buttons.value, panel.prompt_box.value, panel.temperature.value) == ("boxes", "Find the cups", 0.3)
    assert panel.model_box.value == models.DEFAULT_MODEL and panel.max_size.value == "640 px"
    assert "run #1" in panel.status.value and "0 items" in panel.status.value
    assert "Nothing found" in panel.message.value
    assert "Espresso" in panel.image_info.value or "coffee" in panel.image_info.value.lower()

    panel.history_picker.value = 1
    assert panel.sample_picker.value == "cat.jpg" and panel.kind_buttons.value == "points"
    assert (panel.prompt_box.value, panel.temperature.value, panel.model_box.value) == ("Point to the eyes", 1.2, "gemini-2.5-flash-lite")
    assert panel.max_size.value == "original" and "run #2" in panel.status.value and panel.message.value == ""
    assert n_items(panel.overlay.value) == len(second.result) == 2
    # a new picture leaves the history: no run is shown, the status says so
    panel.sample_picker.value = "coffee.jpg"
    assert panel.state.current is None and panel.status.value == "Ready." and "<img" in panel.overlay.value


# -- 4. compare and sweep -------------------------------------------------------------------------------


def test_compare_two_runs_marks_what_differs(fake_gemini):
    fake_gemini.default = by_model
    panel = make_panel(image="coffee")
    for model in ("model-a", "model-c"):
        panel.model_box.value = model
        panel.run()
    panel.compare(1, 2)
    view = panel.compare_view.value
    assert view.count('class="snb-card"') == 2 and n_items(view) == 2 + 3
    assert "vs #1" in view and "1 new" in view and "1 moved" in view  # saucer new, cup moved
    assert view.count("snb-diff-only_b") == 1 and view.count("snb-diff-moved") == 1
    assert "saucer &lt;b&gt;" in view and "saucer <b>" not in view  # labels escaped in captions
    # the temperature follows each model's default (#10): 1.0 for ids the table does not know (was 0.5)
    assert "Reference" in view and "#1 · model-a 1<" in view and "#2 · model-c 1<" in view
    assert "2 items" in view and "3 items" in view and "tokens" in view
    panel.compare_last.click()
    assert panel.compare_picker.value == (0, 1)
    with pytest.raises(ValueError, match="no run numbered 7"):
        panel.compare(1, 7)


def test_sweep_of_three_models_in_the_panel(fake_gemini):
    fake_gemini.default = by_model
    panel = make_panel(image="coffee")
    panel.sweep_models.options = ("model-a", "model-b", "model-c", "model-d")
    panel.sweep_models.value = ("model-a", "model-b", "model-c")
    panel.sweep_button.click()
    assert panel.sweep_button.disabled and panel.run_button.disabled
    assert panel.wait(60)
    assert [r.model for r in fake_gemini.generate_requests()] == ["model-a", "model-b", "model-c"]
    view = panel.sweep_view.value
    assert view.count('class="snb-card"') == 3 and n_items(view) == 2 + 1 + 3
    assert view.count("agreement ") == 3 and "tokens" in view and re.search(r"\d+\.\d+ s", view)
    runs = panel.sweep_records()
    assert [r.group for r in runs] == ["sweep 1"] * 3 and [r.number for r in runs] == [1, 2, 3]
    assert all(r.result.elapsed is not None for r in runs)
    assert panel.state.current is None  # the sweep does not replace the shown run
    assert "3 runs added to the history" in panel.sweep_status.value
    assert not panel.sweep_button.disabled and not panel.run_button.disabled


def test_a_sweep_keeps_going_when_one_model_fails(fake_gemini):
    fake_gemini.default = by_model
    fake_gemini.queue(Reply(status=404, error_message="model gone is not found"))
    panel = make_panel(image="coffee")
    panel.sweep_models.options = ("gone", "model-b")
    panel.sweep_models.value = ("gone", "model-b")
    assert panel.start_sweep() and panel.wait(60)
    view = panel.sweep_view.value
    assert view.count('class="snb-card"') == 2 and "failed" in view and "404" in view
    assert len(panel.state.history) == 1 and "1 failed" in panel.sweep_status.value


@pytest.mark.parametrize(
    ("models", "temperatures", "expected"),
    [
        ((), "", "Pick two or more models"),  # one run is not a sweep
        (("model-a",), "0.2, hot", "'hot' is not a number"),
        (("model-a",), "0.2, 3", "outside 0 to 2"),
    ],
)
def test_sweep_explains_what_is_missing(fake_gemini, models, temperatures, expected):
    panel = make_panel()
    panel.sweep_models.options = ("model-a", "model-b")
    panel.sweep_models.value = models
    panel.sweep_temperatures.value = temperatures
    assert panel.start_sweep() is False
    assert expected in panel.sweep_status.value.replace("&#x27;", "'") and fake_gemini.generate_requests() == []


# -- 5. messages ----------------------------------------------------------------------------------------


def test_banner_without_a_key_is_built_with_the_panel(monkeypatch):
    panel = Panel()
    banner = panel.banner.value
    assert "No Gemini API key yet" in banner and banner.count("https://aistudio.google.com/apikey") == 1
    assert 'os.environ[&quot;GOOGLE_API_KEY&quot;]' in banner and "Colab" not in banner  # only what applies here
    monkeypatch.setenv("VOILA_KERNEL_ID", "k")  # under Voilà there are no cells to run
    assert "Stop Voilà" in Panel().banner.value and "os.environ" not in Panel().banner.value
    monkeypatch.setenv("SPATIAL_NB_OFFLINE", "1")
    assert "Offline replay" in Panel().banner.value and "apikey" not in Panel().banner.value
    monkeypatch.delenv("SPATIAL_NB_OFFLINE")
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    assert Panel().banner.value == ""


@pytest.mark.parametrize(
    ("status", "server_message"),
    [
        (500, "Internal error encountered."),  # the SDK retries: every attempt fails
        (503, "The model is overloaded. Please try again later."),
        (429, "Resource has been exhausted (e.g. check quota)."),
        (404, "models/gemini-9 is not found for API version v1beta."),
        (400, "Invalid value at 'generation_config.thinking_config' (thinking_budget)."),
        (403, "Method doesn't allow unregistered callers."),
    ],
)
def test_error_messages_are_short_plain_and_never_repeat(fake_gemini, status, server_message):
    fake_gemini.queue(*[Reply(status=status, error_message=server_message)] * 3)
    panel = make_panel()
    click_run(panel)
    shown = panel.message.value
    said = sentences(shown)
    assert f"HTTP {status}" in shown
    assert len(said) == len({s.rstrip(".").casefold() for s in said}), said  # no sentence twice
    assert ".." not in re.sub(r"<[^>]+>", "", shown) and len(said) <= 4, said
    for not_here in ("concurrency", "--thinking", "Client(", "detect(", "Wait a minute and retry"):
        assert not_here not in shown  # advice for code or the command line
    assert shown.count("Wait a minute") <= 1 and shown.count("Try again later") == 0


def test_plurals_in_status_titles_and_captions(fake_gemini):
    fake_gemini.queue(Reply('[{"box_2d": [100, 100, 500, 500], "label": "cup"}]'))
    panel = make_panel()
    record = panel.run()
    assert "1 item ·" in panel.status.value and "1 items" not in all_html(panel)
    assert record.title().endswith("(1 item)")


# -- 6. light notebooks ---------------------------------------------------------------------------------


def test_widget_state_after_one_run_and_after_five(fake_gemini):
    photo = REPO / "images" / "hubble_deep_field.jpg"  # a busy picture: the hardest case for the JPEG
    panel = make_panel()
    panel.upload.value = ({"name": "photo.jpg", "type": "image/jpeg", "size": photo.stat().st_size,
                           "content": memoryview(photo.read_bytes()),
                           "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert panel.upload.value == ()  # the uploaded bytes are not kept in the widget (nor the notebook)
    panel.run()
    one = panel.widget_state_bytes()
    for kind in ("points", "masks", "boxes3d", "boxes"):
        panel.kind_buttons.value = kind
        panel.run()
    five = panel.widget_state_bytes()
    print(f"\nwidget state: {one / 1024:.0f} KiB after one run, {five / 1024:.0f} KiB after five")
    assert one <= 300 * 1024
    assert five - one <= 30 * 1024  # runs do not pile up in the widgets


# -- 8. paths --------------------------------------------------------------------------------------------


def test_path_box_from_the_notebooks_folder(monkeypatch):
    monkeypatch.chdir(REPO / "notebooks")  # what `voila notebooks/panel.ipynb` does
    panel = Panel()
    panel.path_text.value = "images/coffee.jpg"
    assert panel.state.image.value == str(REPO / "images" / "coffee.jpg") and panel.state.image.source == "path"
    assert "was loaded instead" in panel.message.value and str(REPO / "images" / "coffee.jpg") in panel.message.value
    panel.path_text.value = "images/no_such_photo.jpg"
    shown = panel.message.value
    assert "Image could not be read" in shown and str(REPO / "notebooks") in shown
    assert str(REPO / "images" / "no_such_photo.jpg") in shown  # says what was tried
    assert panel.state.image.value == str(REPO / "images" / "coffee.jpg")  # the picture stays


# -- 7. a workshop pack replayed in the panel ----------------------------------------------------


def test_a_pack_replays_in_the_panel_without_a_key(fake_gemini, tmp_path, monkeypatch):
    from spatial_nb.packs import export_pack, import_pack

    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "instructor"))
    teacher = make_panel(image="coffee")
    original = teacher.run()
    export_pack(tmp_path / "tour.zip")
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "student"))
    import_pack(tmp_path / "tour.zip")
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("SPATIAL_NB_OFFLINE", "1")
    fake_gemini.clear()

    student = Panel(image="coffee")
    assert "Offline replay" in student.banner.value
    replay = student.run()
    assert replay.result.cached and replay.result.labels == original.result.labels
    assert student.overlay.value.count("snb-item") == teacher.overlay.value.count("snb-item")
    student.temperature.value = 1.5  # never run with this setting: a clear message, no request
    assert student.run() is None
    assert "Offline: no recorded answer" in student.message.value and fake_gemini.requests == []
