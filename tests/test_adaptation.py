"""Settings that adapt to a 400 about thinking or temperature, remembered per model (real SDK, fake server)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from spatial_nb import Client, GeminiRequestError
from spatial_nb.adaptation import FILENAME, SettingsAdaptedWarning, SettingsMemory, next_adaptation
from spatial_nb.cache import Cache
from spatial_nb.cli import main

from .conftest import TEST_KEY
from .fake_gemini import Reply

IMG = np.zeros((32, 48, 3), np.uint8)


def _client(**kw):
    kw.setdefault("retry_initial_delay", 0.01)
    return Client(**kw)


def test_rejected_level_walks_the_chain_warns_once_and_is_remembered(fake_gemini, tmp_path):
    fake_gemini.reject(model="gemini-3.8-flash", thinking_level="minimal")
    client = _client(model="gemini-3.8-flash")
    with pytest.warns(SettingsAdaptedWarning) as caught:
        res = client.detect(IMG, "Detect the cups", thinking="minimal")
    sent = [r.thinking for r in fake_gemini.generate_requests()]
    assert sent == [{"thinking_level": "minimal"}, {"thinking_level": "low"}]  # one extra request
    assert len(res) == 3 and res.request["thinking"] == {"thinking_level": "low"}
    assert res.request["adapted"] == ["thinking_level='minimal' -> thinking_level='low'"]
    assert res.request["requested"]["thinking"] == {"thinking_level": "minimal"}
    # the warning says what was sent and what worked, once: on the result and as a Python warning
    (warning,) = [w for w in caught if issubclass(w.category, SettingsAdaptedWarning)]
    text = str(warning.message)
    assert text in res.warnings and sum("rejected" in w for w in res.warnings) == 1
    assert text.startswith("gemini-3.8-flash rejected thinking_level='minimal' (HTTP 400: Thinking level MINIMAL")
    assert "sent thinking_level='low' instead, which worked" in text
    assert str(tmp_path / "cache" / FILENAME) in text and "spatial-nb cache clear" in text
    assert TEST_KEY not in text
    # the memory file says it, without the key
    memory = json.loads((tmp_path / "cache" / FILENAME).read_text())
    rule = memory["models"]["gemini-3.8-flash"]["generate_content"]["thinking"]
    assert rule == [{"rejected": {"thinking_level": "minimal"}, "use": {"thinking_level": "low"}}]
    assert TEST_KEY not in json.dumps(memory)

    # next call (another prompt, a new client): the remembered setting goes first - one request, no warning
    fake_gemini.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingsAdaptedWarning)
        again = _client(model="gemini-3.8-flash").detect(IMG, "Detect the spoons", thinking="minimal")
    assert [r.thinking for r in fake_gemini.generate_requests()] == [{"thinking_level": "low"}]
    assert not any("rejected" in w for w in again.warnings)
    assert again.request["adapted"] == ["thinking: thinking_level='minimal' -> thinking_level='low'"]


def test_cache_hit_after_an_adaptation(fake_gemini):
    fake_gemini.reject(model="gemini-3.8-flash", thinking_level="minimal")
    client = _client(model="gemini-3.8-flash")
    with pytest.warns(SettingsAdaptedWarning):
        first = client.detect(IMG, "Detect the cups", thinking="minimal")
    n = len(fake_gemini.generate_requests())
    # the key is built from what was asked for (minimal), so asking again replays the answer
    again = _client(model="gemini-3.8-flash").detect(IMG, "Detect the cups", thinking="minimal")
    assert again.cached and again.labels == first.labels
    assert len(fake_gemini.generate_requests()) == n
    assert again.model_version == first.model_version == "gemini-3.8-flash"


def test_a_workshop_pack_made_after_an_adaptation_replays_offline(fake_gemini, tmp_path, monkeypatch):
    # The instructor's run adapts (3.8 refuses "minimal"); the pack carries the answer and
    # model_settings.json; a student imports it into an empty cache and replays with no key.
    from spatial_nb.packs import export_pack, import_pack

    fake_gemini.reject(model="gemini-3.8-flash", thinking_level="minimal")
    with pytest.warns(SettingsAdaptedWarning):
        first = _client(model="gemini-3.8-flash").detect(IMG, "Detect the cups", thinking="minimal")
    pack = tmp_path / "tour.zip"
    export_pack(pack)
    student = tmp_path / "student-cache"
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(student))
    monkeypatch.delenv("GOOGLE_API_KEY")
    import_pack(pack)
    assert (student / FILENAME).exists()  # the remembered setting came along
    fake_gemini.clear()
    replay = Client(model="gemini-3.8-flash", offline=True).detect(IMG, "Detect the cups", thinking="minimal")
    assert replay.cached and replay.labels == first.labels and replay.request["thinking"] == {"thinking_level": "low"}
    assert replay.model_version == first.model_version
    assert fake_gemini.requests == []


def test_budget_chain_for_a_routed_id_uses_at_most_three_extra_requests(fake_gemini):
    # A 3.x model answering for a 2.5 id refuses budgets; the chain ends at "send no thinking config".
    fake_gemini.reject(thinking_budget=True)
    fake_gemini.reject(thinking_level="minimal")
    fake_gemini.reject(thinking_level="low", message="thinking_level LOW is not supported")
    with pytest.warns(SettingsAdaptedWarning, match=r"rejected thinking_budget=0, then thinking_level='minimal', "
                                                    r"then thinking_level='low'.*sent no thinking config instead"):
        res = _client(model="gemini-2.5-flash-lite").detect(IMG, "Detect")
    assert [r.thinking for r in fake_gemini.generate_requests()] == [
        {"thinking_budget": 0}, {"thinking_level": "minimal"}, {"thinking_level": "low"}, {}]
    assert res.request["thinking"] is None and len(res) == 3


def test_rejected_temperature_is_left_out_and_remembered(fake_gemini):
    fake_gemini.reject(model="gemini-3.6-flash", temperature=True)
    with pytest.warns(SettingsAdaptedWarning, match=r"rejected temperature=0.3 .*sent no temperature instead"):
        res = _client().detect(IMG, "Detect", temperature=0.3)
    sent = [r.generation_config.get("temperature") for r in fake_gemini.generate_requests()]
    assert sent == [0.3, None]
    assert res.request["temperature"] is None and res.request["requested"]["temperature"] == 0.3
    fake_gemini.clear()
    _client().detect(IMG, "Detect more", temperature=0.7)  # remembered: no temperature first
    assert [r.generation_config.get("temperature") for r in fake_gemini.generate_requests()] == [None]


def test_streaming_adapts_before_the_first_item(fake_gemini):
    fake_gemini.reject(model="gemini-3.8-flash", thinking_level="minimal")
    client = _client(model="gemini-3.8-flash")
    with pytest.warns(SettingsAdaptedWarning):
        stream = client.detect_stream(IMG, "Detect", thinking="minimal")
        items = list(stream)
    assert len(items) == 3 and stream.result.request["thinking"] == {"thinking_level": "low"}
    assert [r.thinking for r in fake_gemini.generate_requests()] == [{"thinking_level": "minimal"},
                                                                     {"thinking_level": "low"}]


def test_a_400_about_something_else_is_explained_not_adapted(fake_gemini):
    fake_gemini.queue(Reply(status=400, error_message=f"Request payload size exceeds the limit (key {TEST_KEY})"))
    with pytest.raises(GeminiRequestError) as info:
        _client(model="gemini-3.8-flash").detect(IMG, "Detect")
    assert len(fake_gemini.generate_requests()) == 1
    assert "payload size" in str(info.value) and TEST_KEY not in str(info.value)
    assert not (Cache().directory / FILENAME).exists()


def test_no_time_for_another_request_means_no_extra_request(fake_gemini):
    """The rejection took longer than the time then left: another request would likely not
    finish in time, so the 400 is explained instead (#12: one deadline covers adaptation)."""
    fake_gemini.queue(Reply(status=400, delay=2.0, error_message=(
        "Thinking level MINIMAL is not supported for this model. Supported thinking_level values: LOW, MEDIUM, HIGH.")))
    client = _client(model="gemini-3.8-flash", timeout=3.0)
    with pytest.raises(GeminiRequestError, match="thinking_level='minimal'"):
        client.detect(IMG, "Detect", thinking="minimal")
    assert len(fake_gemini.generate_requests()) == 1
    assert client.deadline == client.timeout == 3.0  # #10's name for the same limit


def test_cache_clear_forgets_the_settings(fake_gemini, tmp_path, capsys):
    fake_gemini.reject(model="gemini-3.8-flash", thinking_level="minimal")
    with pytest.warns(SettingsAdaptedWarning):
        _client(model="gemini-3.8-flash").detect(IMG, "Detect", thinking="minimal")
    memory = tmp_path / "cache" / FILENAME
    catalogue = tmp_path / "cache" / "models_catalogue.json"
    catalogue.write_text("{}")  # stands for a cached catalogue: clearing the cache drops it too
    assert memory.exists()
    assert main(["cache", "clear"]) == 0
    assert not memory.exists() and not catalogue.exists()
    out = capsys.readouterr().out
    assert "model settings learned from HTTP 400s" in out and "cached model catalogue" in out


def test_memory_survives_damage_and_only_applies_to_what_was_rejected(tmp_path):
    memory = SettingsMemory(tmp_path)
    memory.path.write_text("{not json")
    assert memory.apply("m", "generate_content", {"thinking_level": "minimal"}, 1.0) == (
        {"thinking_level": "minimal"}, 1.0, [])  # a damaged file is ignored
    step = next_adaptation("thinking_level minimal not supported", {"thinking": {"thinking_level": "minimal"},
                                                                    "temperature": 1.0}, [])
    memory.remember("m", "generate_content", [step], {"thinking_level": "low"})
    assert memory.apply("m", "generate_content", {"thinking_level": "high"}, 1.0)[0] == {"thinking_level": "high"}
    assert memory.apply("m", "interactions", {"thinking_level": "minimal"}, 1.0)[0] == {"thinking_level": "minimal"}
    assert memory.apply("m", "generate_content", {"thinking_level": "minimal"}, 1.0)[0] == {"thinking_level": "low"}
    assert memory.forget() and not memory.path.exists()


@pytest.mark.parametrize(
    "message, sent, expected",
    [
        ("thinking_budget is not supported", {"thinking": {"thinking_budget": 0}}, {"thinking_level": "minimal"}),
        ("Thinking level MINIMAL is not supported", {"thinking": {"thinking_level": "minimal"}},
         {"thinking_level": "low"}),
        ("thinking_level LOW is not supported", {"thinking": {"thinking_level": "low"}}, None),
        ("temperature is deprecated for this model", {"thinking": None, "temperature": 1.0}, None),
    ],
)
def test_next_step(message, sent, expected):
    step = next_adaptation(message, {"temperature": None, **sent}, [])
    assert step is not None and step.instead == expected


def test_unrelated_400s_have_no_next_step():
    assert next_adaptation("image too large", {"thinking": {"thinking_level": "minimal"}, "temperature": 1.0}, []) is None
    assert next_adaptation("thinking_level bad", {"thinking": None, "temperature": 1.0}, []) is None
