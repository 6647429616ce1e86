"""The panel's parts of #10 and #15, driven headlessly: the model picker, the temperature that
follows the model, media resolution / request path / timeout settings, "answered by", retired-model
notes, and recorded answers that need no key and no network.

Live runs use the real google-genai SDK against the fake Gemini server (its request records show
what was sent); the recorded-answer tests run with no key, no server and every socket blocked.
"""

from __future__ import annotations

import html
import json
import socket
import time

import pytest

from spatial_nb import catalogue, models
from spatial_nb.recordings import recording_for, recordings
from spatial_nb.samples import prompts_for
from spatial_nb.widgets import Panel

from .conftest import TEST_KEY
from .fake_gemini import Reply
from .test_panel import all_html, click_run, make_client, make_panel, n_items

SOCKS = recordings()[0]


def write_catalogue(tmp_path, *entries: catalogue.CatalogueModel, age_s: float = 0.0) -> None:
    """A catalogue file in the test's cache directory, as ``spatial-nb models`` would have left it."""
    cat = catalogue.Catalogue(list(entries), time.time() - age_s)
    path = tmp_path / "cache" / catalogue.FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cat.to_json(), encoding="utf-8")


def listed(name: str, temperature: float | None = 1.0) -> catalogue.CatalogueModel:
    return catalogue.CatalogueModel(name, actions=("generateContent", "countTokens"), temperature=temperature)


# -- model picker -------------------------------------------------------------------------------------


def test_model_picker_lists_current_models_first_and_sends_nothing(fake_gemini, tmp_path):
    # A stale catalogue (two days old) that lists a new model and the retired 2.5 Flash: building
    # the panel must read it from disk and never refresh it (no request of any kind).
    write_catalogue(tmp_path, listed("gemini-3.9-flash"), listed("gemini-2.5-flash"), listed("gemini-3.6-flash"),
                    age_s=2 * 24 * 3600)
    for panel in (Panel(client=make_client()), Panel()):
        options = list(panel.model_box.options)
        current = [m for m in models.KNOWN_MODELS if models.PROFILES[m].status == "current"]
        assert options[0] == models.DEFAULT_MODEL == panel.model_box.value
        assert options[: len(current)] == current  # current table ids first, the default first
        assert "gemini-3.9-flash" in options and options.index("gemini-3.9-flash") >= len(current)
        for gone in ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-robotics-er-1.5-preview"):
            assert gone not in options  # retired and shut-down ids are not offered
        assert tuple(panel.sweep_models.options) == tuple(options)  # the sweep offers the same list
    assert fake_gemini.requests == []  # no catalogue refresh, no request at all while building


def test_a_typed_model_is_kept_and_a_retired_one_is_explained_plainly(fake_gemini):
    panel = Panel(model="gemini-2.5-pro")  # typed ids are accepted even when not offered
    assert panel.model_box.value == "gemini-2.5-pro" and "gemini-2.5-pro" in panel.model_box.options
    note = html.unescape(panel.model_note.value)
    assert "gemini-2.5-pro was retired on 2026-12-01" in note and "gemini-3.8-flash" in note
    assert "pick gemini-3.8-flash in the Model box" in note and "model=" not in note  # panel words, not code
    panel.model_box.value = "gemini-3-pro-preview"
    assert "shut down" in panel.model_note.value and "gemini-3.1-pro-preview" in panel.model_note.value
    panel.model_box.value = models.DEFAULT_MODEL
    assert panel.model_note.value == ""
    assert fake_gemini.requests == []


# -- temperature ----------------------------------------------------------------------------------------


def test_temperature_follows_the_model_until_the_slider_is_moved(tmp_path):
    write_catalogue(tmp_path, listed("gemini-3.5-flash", temperature=0.7))  # the API's own default wins
    panel = Panel()
    assert panel.temperature.value == 1.0 and panel.state.temperature_auto  # gemini-3.6-flash: 1.0
    panel.model_box.value = "gemini-2.5-flash-lite"
    assert panel.temperature.value == 0.5  # the cookbook's 0.5 on 2.5
    panel.model_box.value = "gemini-3.5-flash"
    assert panel.temperature.value == 0.7  # from the cached catalogue
    panel.temperature.value = 1.35  # the user moves the slider: it stays put from now on
    assert not panel.state.temperature_auto
    for model in ("gemini-2.5-flash-lite", models.DEFAULT_MODEL):
        panel.model_box.value = model
        assert panel.temperature.value == 1.35
    panel.raw_toggle.value = True
    assert '"temperature": 1.35' in html.unescape(panel.raw_view.value)


def test_an_explicit_temperature_always_wins():
    panel = Panel(temperature=0.3)
    assert panel.temperature.value == 0.3 and not panel.state.temperature_auto
    panel.model_box.value = "gemini-2.5-flash-lite"
    assert panel.temperature.value == 0.3


def test_the_temperature_sent_is_the_models_default_and_history_restores_the_choice(fake_gemini):
    panel = make_panel(image="coffee")
    panel.model_box.value = "gemini-2.5-flash-lite"
    first = panel.run()  # followed the model: 0.5
    panel.model_box.value = models.DEFAULT_MODEL
    panel.temperature.value = 0.2  # set by hand
    second = panel.run()
    assert [r.generation_config["temperature"] for r in fake_gemini.generate_requests()] == [0.5, 0.2]
    panel.history_picker.value = 0  # run 1 comes back following its model again
    assert panel.state.current is first and panel.temperature.value == 0.5 and panel.state.temperature_auto
    panel.model_box.value = models.DEFAULT_MODEL
    assert panel.temperature.value == 1.0
    panel.history_picker.value = 1
    assert panel.state.current is second and panel.temperature.value == 0.2 and not panel.state.temperature_auto


def test_a_sweep_without_typed_temperatures_uses_each_models_default(fake_gemini):
    panel = make_panel(image="coffee")
    panel.sweep_models.value = (models.DEFAULT_MODEL, "gemini-2.5-flash-lite")
    assert panel.start_sweep() and panel.wait(60)
    sent = [(r.model, r.generation_config["temperature"]) for r in fake_gemini.generate_requests()]
    assert sent == [(models.DEFAULT_MODEL, 1.0), ("gemini-2.5-flash-lite", 0.5)]
    assert [r.title().split(" · ")[2] for r in panel.sweep_records()] == [
        f"{models.DEFAULT_MODEL} 1", "gemini-2.5-flash-lite 0.5"]


# -- media resolution, request path, timeout ---------------------------------------------------------


def test_media_resolution_reaches_the_request_body(fake_gemini):
    panel = make_panel(media_resolution="low")
    assert panel.media_resolution.value == "low"
    click_run(panel)
    panel.media_resolution.value = "high"
    click_run(panel)
    panel.media_resolution.value = ""  # the model's default: nothing sent
    click_run(panel)
    sent = [r.generation_config.get("mediaResolution") for r in fake_gemini.generate_requests()]
    assert sent == ["MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_HIGH", None]
    assert panel.state.current.settings["media_resolution"] is None
    assert [o[0] for o in panel.media_resolution.options] == ["model default", "low", "medium", "high"]


def test_the_interactions_backend_is_a_panel_choice(fake_gemini):
    panel = make_panel()
    assert panel.backend.value == "generate_content"
    panel.backend.value = "interactions"
    panel.media_resolution.value = "high"
    record = panel.run()
    assert fake_gemini.generate_requests() == []
    (req,) = fake_gemini.interaction_requests()
    assert req.body["store"] is False and req.body["model"] == models.DEFAULT_MODEL
    (image,) = [c for c in req.parts if c.get("type") == "image"]
    assert image["resolution"] == "high"  # media resolution per image part on this path
    assert record.result.request["backend"] == "interactions" and record.settings["backend"] == "interactions"
    assert n_items(panel.overlay.value) == 3 and "Done" in panel.status.value
    assert panel.client.backend == "generate_content"  # the given client is left as it was
    panel.backend.value = "generate_content"
    panel.kind_buttons.value = "points"
    panel.run()
    assert len(fake_gemini.generate_requests()) == 1 and len(fake_gemini.interaction_requests()) == 1
    panel.history_picker.value = 0  # the first run comes back with its request path
    assert panel.backend.value == "interactions"


def test_the_timeout_reaches_the_client(fake_gemini):
    given = make_client()
    panel = Panel(client=given, timeout=45)
    assert panel.timeout.value == 45
    assert panel._get_client().timeout == 45 and panel._get_client() is panel._get_client()  # made once
    panel.timeout.value = 1
    client = panel._get_client()
    assert client.timeout == 1 and client is not given and given.timeout == 120  # the given one is untouched
    assert client.retry_attempts == given.retry_attempts and client.model == given.model
    fake_gemini.queue(*[Reply('[{"box_2d": [1, 1, 9, 9], "label": "late"}]', delay=2.5)] * 3)
    click_run(panel)
    assert "No answer in time" in panel.message.value, panel.message.value
    assert panel.state.history == [] and not panel.run_button.disabled
    assert TEST_KEY not in all_html(panel)


def test_a_panel_without_a_client_builds_one_with_its_settings(fake_gemini):
    panel = Panel(backend="interactions", timeout=30)
    assert panel.client is None
    panel.run()
    assert panel.client.backend == "interactions" and panel.client.timeout == 30
    assert len(fake_gemini.interaction_requests()) == 1


# -- who answered ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::spatial_nb.models.RetiredModelWarning")  # warned once per process
def test_the_status_says_who_answered_when_google_routed_the_request(fake_gemini):
    fake_gemini.queue(Reply(json.dumps([{"box_2d": [100, 100, 500, 500], "label": "cup"}]),
                            model_version="gemini-3.5-flash-lite-001"))
    panel = make_panel(model="gemini-2.5-flash")
    panel.run()
    assert any("was retired on 2026-12-01" in w for w in panel.state.current.result.warnings)
    status = html.unescape(panel.status.value)
    assert "answered by gemini-3.5-flash-lite-001" in status and "1 item" in status
    assert "gemini-3.5-flash-lite-001" in panel.request_view.value
    panel.model_box.value = models.DEFAULT_MODEL  # a version suffix of the same model is not "another model"
    fake_gemini.queue(Reply(json.dumps([{"box_2d": [100, 100, 500, 500], "label": "cup"}]),
                            model_version=f"{models.DEFAULT_MODEL}-001"))
    panel.run()
    assert "answered by" not in panel.status.value
    panel.history_picker.value = 0
    assert "answered by gemini-3.5-flash-lite-001" in html.unescape(panel.status.value)
    panel.compare(1, 2)  # the compare captions say it too, for the routed run only
    view = html.unescape(panel.compare_view.value)
    assert view.count("answered by gemini-3.5-flash-lite-001") == 1


# -- recorded answers -------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection fails (and is logged): a recorded run must not even try."""
    tried = []

    def refuse(*args, **kwargs):
        tried.append(args[1:] if args else kwargs)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return tried


def test_recorded_answer_without_a_key_or_a_network(no_network):
    panel = Panel()  # no key (conftest), no fake server
    banner = html.unescape(panel.banner.value)
    assert "No Gemini API key yet" in banner and "recorded answers" in banner.lower()
    assert "Socks" in banner and panel.try_recording.layout.display != "none"
    assert panel.source_buttons.disabled  # the first sample and the template prompt have no recording

    panel.sample_picker.value = SOCKS.image
    panel.prompt_mode.value = "free"  # the socks' first sample prompt is the recorded one
    assert panel.state.free_prompt == SOCKS.prompt == prompts_for(SOCKS.image, "boxes")[0]
    assert not panel.source_buttons.disabled and panel.source_buttons.value == "recorded"  # no key: chosen for the user
    assert "no key, no network" in panel.source_note.value
    click_run(panel)

    record = panel.state.current
    assert record is not None and record.recorded and panel.client is None  # no client was even made
    assert record.result.labels == SOCKS.result().labels and n_items(panel.overlay.value) == 2
    status = html.unescape(panel.status.value)
    assert status == f"Recorded answer (no key), not a live call (run #1) · 2 items · {SOCKS.model}"
    message = html.unescape(panel.message.value)
    assert "Recorded answer (no key)" in message and "Google's Gemini cookbook" in message and "7bac5a6" in message
    assert "not a live call" in message.lower()
    assert record.title().endswith("(2 items, recorded)") and record.settings["model"] == SOCKS.model
    assert record.settings["temperature"] == SOCKS.request["temperature"]
    assert no_network == []


def test_the_banner_button_replays_each_recording_in_turn(no_network):
    panel = Panel()
    panel.try_recording.click()
    assert panel.wait(30)
    panel.try_recording.click()
    assert panel.wait(30)
    runs = panel.state.history
    assert [r.image.sample for r in runs] == [rec.image for rec in recordings()]
    assert all(r.recorded for r in runs) and [len(r.result) for r in runs] == [len(rec.result()) for rec in recordings()]
    spill = recordings()[1]
    assert panel.sample_picker.value == spill.image and panel.prompt_box.value == spill.prompt
    assert "Recorded answer" in panel.status.value and no_network == []
    panel.history_picker.value = 0  # the socks run comes back with its photo, prompt and source
    assert panel.sample_picker.value == SOCKS.image and panel.source_buttons.value == "recorded"
    assert panel.prompt_box.value == SOCKS.prompt and "run #1" in panel.status.value


def test_the_source_follows_the_photo_and_prompt():
    panel = Panel(image=SOCKS.image)
    panel.prompt_mode.value = "free"
    assert panel.source_buttons.value == "recorded"
    assert panel.source_buttons.layout.display != "none"
    panel.prompt_box.value = "Detect all rainbow socks"  # no recording for this prompt: no choice to show
    assert panel.source_buttons.disabled and panel.source_buttons.value == "live" and panel.source_note.value == ""
    assert panel.source_buttons.layout.display == "none"
    panel.prompt_box.value = "  " + SOCKS.prompt + " "  # whitespace does not matter
    assert not panel.source_buttons.disabled and panel.source_buttons.value == "recorded"
    panel.kind_buttons.value = "points"  # the recording is of boxes
    assert panel.source_buttons.disabled and panel.source_buttons.value == "live"
    assert recording_for(SOCKS.image, SOCKS.prompt, "points") is None


def test_with_a_key_gemini_stays_the_source_and_a_recording_can_be_chosen(fake_gemini):
    panel = make_panel(image=SOCKS.image)
    panel.prompt_mode.value = "free"
    assert not panel.source_buttons.disabled and panel.source_buttons.value == "live"  # a key: ask Gemini
    assert "choose Recorded answer (no key)" in panel.source_note.value
    assert panel.try_recording.layout.display == "none" and panel.banner.value == ""
    panel.source_buttons.value = "recorded"
    panel.run()
    assert panel.state.current.recorded and fake_gemini.requests == []
    panel.source_buttons.value = "live"
    panel.run()
    assert len(fake_gemini.generate_requests()) == 1 and not panel.state.current.recorded
    assert SOCKS.prompt in fake_gemini.generate_requests()[0].prompt


def test_the_voila_banner_keeps_its_command_in_one_sentence(monkeypatch):
    # Failed before: the ellipsis in "GOOGLE_API_KEY=..." ended a sentence, so the next word was
    # capitalised ("... In its shell").
    monkeypatch.setenv("VOILA_KERNEL_ID", "k")
    banner = html.unescape(Panel().banner.value)
    assert "run export GOOGLE_API_KEY=... in its shell, then start it again." in banner
