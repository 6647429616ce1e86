"""The model table: rows, family rules, retired ids, defaults, pickers, sources with dates."""

from __future__ import annotations

import re
import warnings

import pytest

from spatial_nb import models
from spatial_nb.model_sources import SOURCES, Source
from spatial_nb.models import DEFAULT_MODEL, KNOWN_MODELS, ModelProfile, profile, suggest_model, supports


@pytest.fixture(autouse=True)
def _fresh_retired_warnings(monkeypatch):
    monkeypatch.setattr(models, "_warned", set())


@pytest.mark.parametrize(
    "name, family, thinking",
    [
        ("gemini-3.6-flash", "gemini-3.6-flash", {"thinking_level": "minimal"}),  # the default
        ("gemini-3.8-flash", "gemini-3.8-flash", {"thinking_level": "low"}),  # rejects minimal
        ("gemini-3.7-flash", "gemini-3.7-flash", {"thinking_level": "low"}),
        ("gemini-3.5-flash", "gemini-3.5-flash", {"thinking_level": "minimal"}),
        ("gemini-3.5-flash-lite", "gemini-3.5-flash-lite", {"thinking_level": "minimal"}),
        ("gemini-3.1-pro-preview", "gemini-3.1-pro-preview", {"thinking_level": "low"}),  # Pro: low at least
        ("gemini-3.1-flash-lite", "gemini-3.1-flash-lite", {"thinking_level": "minimal"}),
        ("gemini-robotics-er-2-preview", "gemini-robotics-er-2-preview", {"thinking_level": "minimal"}),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", {"thinking_budget": 0}),  # still a budget
        ("gemini-2.5-flash", "gemini-2.5-flash", {"thinking_level": "minimal"}),  # retired: 3.5 Flash-Lite answers
        ("gemini-2.5-pro", "gemini-2.5-pro", {"thinking_level": "low"}),  # retired: 3.8 Flash answers
        ("gemini-3.6-flash-001", "gemini-3.6-flash", {"thinking_level": "minimal"}),  # versioned id
        ("models/gemini-3.8-flash", "gemini-3.8-flash", {"thinking_level": "low"}),  # resource prefix
        ("gemini-2.5-flash-lite-preview-09-2025", "gemini-2.5-flash-lite", {"thinking_budget": 0}),
        ("gemini-9-ultra", "unknown", None),  # unknown: no thinking config at all
        ("gemini-3.6-flashy", "unknown", None),  # a prefix must end at a dash
    ],
)
def test_thinking_per_row(name, family, thinking):
    p = profile(name)
    assert p.family == family
    assert p.name == name.removeprefix("models/")
    assert p.thinking_config() == thinking


@pytest.mark.parametrize(
    "name, thinking, masks, temperature",
    [
        ("gemini-3.9-flash", {"thinking_level": "low"}, "polygon", 1.0),  # a new Flash point release
        ("gemini-3.9-flash-preview", {"thinking_level": "low"}, "polygon", 1.0),
        ("gemini-3.6-flash-lite", {"thinking_level": "minimal"}, "polygon", 1.0),  # not the 3.6 Flash row
        ("gemini-3.9-flash-lite", {"thinking_level": "minimal"}, "polygon", 1.0),
        ("gemini-3.4-pro", {"thinking_level": "low"}, None, 1.0),  # before 3.5: no masks assumed
        ("gemini-4.0-flash", {"thinking_level": "low"}, "polygon", 1.0),
        ("gemini-robotics-er-3-preview", {"thinking_level": "minimal"}, "polygon", 1.0),
    ],
)
def test_family_rules_give_new_ids_sensible_settings(name, thinking, masks, temperature):
    p = profile(name)
    assert p.origin == "family rule" and p.status == "current"
    assert p.thinking_config() == thinking
    assert p.mask_format == masks and p.supports("masks") == (masks is not None)
    assert p.temperature == temperature


def test_default_is_current_and_first_in_every_picker(tmp_path):
    assert DEFAULT_MODEL == "gemini-3.6-flash" == KNOWN_MODELS[0]
    assert profile().name == DEFAULT_MODEL and profile().status == "current"
    picker = models.picker_models()
    assert picker[0] == DEFAULT_MODEL
    for listing in (KNOWN_MODELS, picker):
        assert models.PROFILES[listing[0]].status == "current"
        statuses = [models.profile(m).status for m in listing]
        # current ids come first; nothing retired or shut down before a current one
        first_old = next((i for i, s in enumerate(statuses) if s in ("retired", "shut_down")), len(statuses))
        assert "current" not in statuses[first_old:]
    for required in ("gemini-3.5-flash", "gemini-3.5-flash-lite", "gemini-3.8-flash", "gemini-3.1-pro-preview",
                     "gemini-3.1-flash-lite", "gemini-robotics-er-2-preview", "gemini-2.5-flash-lite"):
        assert required in picker and models.profile(required).status == "current"
    for gone in ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-robotics-er-1.5-preview"):
        assert gone in KNOWN_MODELS and gone not in picker  # typed ids still work; pickers hide them


@pytest.mark.parametrize(
    "name, status, replacement",
    [
        ("gemini-2.5-flash", "retired", "gemini-3.5-flash-lite"),
        ("gemini-2.5-pro", "retired", "gemini-3.8-flash"),
        ("gemini-3-pro-preview", "shut_down", "gemini-3.1-pro-preview"),
        ("gemini-robotics-er-1.5-preview", "shut_down", "gemini-robotics-er-2-preview"),
        ("gemini-robotics-er-1.6-preview", "shut_down", "gemini-robotics-er-2-preview"),
    ],
)
def test_retired_ids_warn_once_naming_the_replacement(name, status, replacement):
    assert profile(name).status == status and profile(name).replacement == replacement
    with pytest.warns(models.RetiredModelWarning, match=re.escape(replacement)):
        text = models.warn_if_retired(name)
    assert replacement in text and name in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call does not warn again
        assert models.warn_if_retired(name) == text
    assert models.warn_if_retired("gemini-3.6-flash") is None


@pytest.mark.parametrize(
    "name, kind, expected",
    [
        ("gemini-3.6-flash", "masks", True),  # polygons
        ("gemini-2.5-flash-lite", "masks", True),  # PNG maps
        ("gemini-3.1-pro-preview", "masks", False),  # not documented
        ("some-new-model", "masks", False),  # not assumed
        ("gemini-3.1-pro-preview", "boxes", True),
    ],
)
def test_supports(name, kind, expected):
    assert supports(name, kind) is expected


def test_suggest_model_names_a_current_one_that_supports_the_kind():
    for kind in ("boxes", "masks", "points", "boxes3d"):
        name = suggest_model(kind)
        assert supports(name, kind) and profile(name).status == "current"
    with pytest.raises(ValueError):
        suggest_model("polygons")


def test_mask_format_per_family():
    assert profile("gemini-2.5-flash-lite").mask_format == "png"
    assert profile("gemini-3.5-flash").mask_format == "png"
    assert profile("gemini-3.6-flash").mask_format == "polygon"
    assert profile("gemini-3.8-flash").mask_format == "polygon"
    assert profile("gemini-robotics-er-2-preview").mask_format == "polygon"


# Facts a row states; each must carry at least one source with a stored copy's date.
_FACTS = ("thinking", "kinds", "temperature", "max_objects")


def test_every_table_fact_carries_a_source_and_a_date():
    checked = 0
    for p in [*models.PROFILES.values(), models.UNKNOWN, profile("gemini-3.9-flash")]:
        facts = list(_FACTS)
        if p.mask_format:
            facts.append("mask_format")
        if p.origin == "table":
            facts.append("status")
        for fact in facts:
            cited = models.sources_of(p).get(fact)
            assert cited, f"{p.family}: no source for {fact}"
            for source in cited:
                assert isinstance(source, Source)
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source.stored), (p.family, fact)
                assert "2026-12-03" >= source.stored >= "2026-01-01", (p.family, fact, source.stored)
                assert source.url and source.dated_by and source.title
                checked += 1
    assert checked > 50
    for name, source in SOURCES.items():
        assert source.says, name  # what the page says is written down
        assert "stored copy of" in source.cite()
    with pytest.raises(ValueError, match="ISO date"):
        Source("x", "https://x", "December 2026", "nothing")


def test_default_temperature_from_table_then_catalogue(tmp_path):
    from spatial_nb import catalogue

    assert models.default_temperature("gemini-3.6-flash") == 1.0  # Gemini 3 guide
    assert models.default_temperature("gemini-2.5-flash-lite") == 0.5  # the cookbook's
    cat = catalogue.Catalogue([catalogue.CatalogueModel("gemini-2.5-flash-lite", temperature=0.7)], 1.0)
    catalogue._save(cat, tmp_path / "cache")  # the conftest cache directory
    assert models.default_temperature("gemini-2.5-flash-lite") == 0.7  # the API's own default wins
    assert models.default_temperature("gemini-3.6-flash") == 1.0  # not listed: the table


@pytest.mark.parametrize(
    "asked, answered, other",
    [
        ("gemini-3.6-flash", "gemini-3.6-flash-001", None),  # version suffixes don't count
        ("gemini-3.1-pro-preview", "gemini-3.1-pro", None),
        ("models/gemini-3.8-flash", "gemini-3.8-flash", None),
        ("gemini-2.5-flash", "gemini-3.5-flash-lite", "gemini-3.5-flash-lite"),  # routed
        ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),  # Lite is another family
        ("gemini-3.6-flash", None, None),
    ],
)
def test_answered_by(asked, answered, other):
    from spatial_nb.result import Result

    assert models.answered_by(Result(model=asked, model_version=answered)) == other


def test_overrides():
    p = profile("gemini-3.6-flash", thinking_value="low", kinds=["boxes", "points"])
    assert p.thinking_config() == {"thinking_level": "low"}
    assert not p.supports("masks") and p.kinds == ("boxes", "points")
    assert profile(p) is p  # a profile passes through
    assert profile(p, temperature=0.1).temperature == 0.1
    with pytest.raises(TypeError, match="thinkng"):
        profile("gemini-3.6-flash", thinkng="none")
    with pytest.raises(ValueError, match="thinking must be"):
        ModelProfile("x", "x", thinking="off")
    with pytest.raises(ValueError, match="status must be"):
        ModelProfile("x", "x", status="gone")
