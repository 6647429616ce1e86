"""The model table: thinking per family, kinds, prefix matching, overrides, sources."""

from __future__ import annotations

import re

import pytest

from spatial_nb import models
from spatial_nb.models import DEFAULT_MODEL, KNOWN_MODELS, ModelProfile, profile, suggest_model, supports


@pytest.mark.parametrize(
    "name, family, thinking",
    [
        ("gemini-2.5-flash", "gemini-2.5-flash", {"thinking_budget": 0}),  # thinking off
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", {"thinking_budget": 0}),  # not "flash" by prefix
        ("gemini-2.5-pro", "gemini-2.5-pro", {"thinking_budget": 128}),  # cannot be off: minimum
        ("gemini-3-flash-preview", "gemini-3-flash-preview", {"thinking_level": "minimal"}),
        ("gemini-3-pro-preview", "gemini-3-pro-preview", {"thinking_level": "low"}),
        ("gemini-robotics-er-1.5-preview", "gemini-robotics-er-1.5-preview", {"thinking_budget": 0}),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash", {"thinking_budget": 0}),  # versioned
        ("gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite", {"thinking_budget": 0}),
        ("models/gemini-2.5-pro", "gemini-2.5-pro", {"thinking_budget": 128}),  # resource prefix
        ("gemini-9-ultra", "unknown", None),  # unknown: no thinking config at all
        ("gemini-2.5-flashy", "unknown", None),  # a prefix must end at a dash
    ],
)
def test_thinking_per_family(name, family, thinking):
    p = profile(name)
    assert p.family == family
    assert p.name == name.removeprefix("models/")
    assert p.thinking_config() == thinking


def test_default_and_known_models():
    assert DEFAULT_MODEL == "gemini-2.5-flash" == KNOWN_MODELS[0]
    assert profile().name == DEFAULT_MODEL
    for required in ("gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-3-flash-preview",
                     "gemini-3-pro-preview", "gemini-robotics-er-1.5-preview"):
        assert required in KNOWN_MODELS


@pytest.mark.parametrize(
    "name, kind, expected",
    [
        ("gemini-2.5-flash", "masks", True),
        ("gemini-2.5-pro", "masks", True),
        ("gemini-3-flash-preview", "masks", False),  # release notes: no masks on 3.x
        ("gemini-3-pro-preview", "masks", False),
        ("some-new-model", "masks", False),  # not assumed
        ("gemini-3-pro-preview", "boxes", True),
    ],
)
def test_supports(name, kind, expected):
    assert supports(name, kind) is expected


def test_suggest_model_names_one_that_supports_the_kind():
    for kind in ("boxes", "masks", "points", "boxes3d"):
        assert supports(suggest_model(kind), kind)
    with pytest.raises(ValueError):
        suggest_model("polygons")


def test_every_fact_has_a_source_and_date():
    for p in [*models.PROFILES.values(), models.UNKNOWN]:
        assert "thinking" in p.sources, p.family
        for fact, source in p.sources.items():
            assert re.search(r"retrieved \d{4}-\d{2}-\d{2}", source), (p.family, fact)


def test_overrides():
    p = profile("gemini-3-flash-preview", thinking_value="low", kinds=["boxes", "masks"])
    assert p.thinking_config() == {"thinking_level": "low"}
    assert p.supports("masks") and p.kinds == ("boxes", "masks")
    assert profile(p) is p  # a profile passes through
    assert profile(p, temperature=0.1).temperature == 0.1
    with pytest.raises(TypeError, match="thinkng"):
        profile("gemini-2.5-flash", thinkng="none")
    with pytest.raises(ValueError, match="thinking must be"):
        ModelProfile("x", "x", thinking="off")
