"""Prompt templates, default system instructions and the raw-prompt view."""

from __future__ import annotations

import json

from PIL import Image

import pytest

from spatial_nb.prompts import (
    KIND_TITLES,
    KINDS,
    POLYGON_MASKS_INSTRUCTION,
    generation_config,
    raw_prompt,
    system_instruction,
    template,
)


def test_kinds_and_titles():
    assert KINDS == ("boxes", "masks", "points", "boxes3d")
    assert KIND_TITLES == {"boxes": "2D bounding boxes", "masks": "Segmentation masks",
                           "points": "Points", "boxes3d": "3D bounding boxes"}


@pytest.mark.parametrize(
    "kind, limit, key",
    [
        ("boxes", "Limit to 25 objects", "JSON array"),  # the cookbook's instruction
        ("masks", "Limit to 20 objects", '"mask"'),
        ("points", "no more than 10 items", '"point"'),
        ("boxes3d", "no more than 10 items", '"box_3d"'),
    ],
)
def test_system_instructions(kind, limit, key):
    si = system_instruction(kind)
    assert limit in si and key in si


def test_boxes_instruction_is_the_cookbooks():
    assert system_instruction("boxes").startswith(
        "Return bounding boxes as a JSON array with labels. Never return masks or code fencing. Limit to 25 objects."
    )


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("boxes", 'Detect the cups, with no more than 20 items. Output a json list where each entry contains '
                  'the 2D bounding box in "box_2d" and a text label in "label".'),
        ("masks", 'Give the segmentation masks for the the cups. Output a JSON list of segmentation masks where '
                  'each entry contains the 2D bounding box in the key "box_2d", the segmentation mask in key '
                  '"mask", and the text label in the key "label". Use descriptive labels.'),
        ("points", 'Point to the the cups with no more than 10 items. The answer should follow the json format: '
                   '[{"point": <point>, "label": <label1>}, ...]. The points are in [y, x] format normalized to 0-1000.'),
        ("boxes3d", 'Output in json. Detect the 3D bounding boxes of the cups, output no more than 10 items. '
                    'Return a list where each entry contains the object name in "label" and its 3D bounding box in "box_3d".'),
    ],
)
def test_templates_match_ai_studio_wording(kind, expected):
    assert template(kind, "the cups") == expected


def test_template_label_with():
    assert '"box_2d" and the name in Japanese in "label"' in template("boxes", "cupcakes", "the name in Japanese")
    assert "the topping in" in template("masks", "cupcakes", "the topping")
    with pytest.raises(ValueError, match="kind must be one of"):
        template("polygons")


def test_generation_config_per_model():
    cfg = generation_config("boxes")  # the default model, gemini-3.6-flash
    assert cfg["thinking_config"] == {"thinking_level": "minimal"} and cfg["temperature"] == 1.0
    assert generation_config("boxes", model="gemini-3.1-pro-preview")["thinking_config"] == {"thinking_level": "low"}
    lite = generation_config("boxes", model="gemini-2.5-flash-lite")
    assert lite["thinking_config"] == {"thinking_budget": 0} and lite["temperature"] == 0.5  # the cookbook's
    assert generation_config("boxes", temperature=0.3)["temperature"] == 0.3  # explicit wins
    assert "thinking_config" not in generation_config("boxes", thinking=False)
    assert generation_config("boxes", thinking=512)["thinking_config"] == {"thinking_budget": 512}
    assert generation_config("boxes", thinking="LOW")["thinking_config"] == {"thinking_level": "low"}
    cfg = generation_config("points", structured=True, system_instruction="", seed=3, max_output_tokens=99)
    assert "system_instruction" not in cfg  # "" sends none
    assert cfg["response_mime_type"] == "application/json"
    assert cfg["response_schema"]["items"]["required"] == ["point", "label"]
    assert (cfg["seed"], cfg["max_output_tokens"]) == (3, 99)
    assert cfg["safety_settings"] == [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}]
    assert "media_resolution" not in cfg
    assert generation_config("boxes", media_resolution="HIGH")["media_resolution"] == "MEDIA_RESOLUTION_HIGH"
    with pytest.raises(ValueError, match="media_resolution must be one of"):
        generation_config("boxes", media_resolution="ultra")
    with pytest.raises(ValueError, match="temperature must be"):
        generation_config("boxes", temperature=3)


@pytest.mark.parametrize(
    "model, asks_polygons",
    [
        ("gemini-2.5-flash-lite", False),  # PNG maps in the box
        ("gemini-3.5-flash", False),
        ("gemini-3.6-flash", True),  # polygons of [x, y] over the whole image
        ("gemini-3.8-flash", True),
        ("gemini-robotics-er-2-preview", True),
        ("gemini-3.9-flash", True),  # a new point release, by family rule
    ],
)
def test_mask_instruction_asks_each_family_for_its_format(model, asks_polygons):
    si = generation_config("masks", model=model)["system_instruction"]
    assert (si == POLYGON_MASKS_INSTRUCTION) is asks_polygons
    assert (si == system_instruction("masks")) is not asks_polygons
    assert '"mask"' in si and "Limit to 20 objects" in si
    if asks_polygons:
        assert "[x, y] points, x first" in si and "whole image" in si
        schema = generation_config("masks", model=model, structured=True)["response_schema"]
        assert schema["items"]["properties"]["mask"] == {"type": "ARRAY", "items": {"type": "ARRAY",
                                                                                    "items": {"type": "INTEGER"}}}
    # the raw-prompt view shows the instruction actually sent
    assert si in raw_prompt("Segment the cups", kind="masks", model=model)


def test_raw_prompt_shows_everything_sent():
    text = raw_prompt("Detect the cups", kind="masks", model="gemini-2.5-flash-lite", temperature=0.2,
                      image_size=(640, 480), mime_type="image/png", media_resolution="high")
    assert "model: gemini-2.5-flash-lite" in text
    assert system_instruction("masks") in text
    assert "[image 1: inline_data, image/png, 640x480 px]" in text
    assert "Detect the cups" in text
    config = json.loads(text.split("--- generation config ---", 1)[1])
    assert config == {k: v for k, v in generation_config(
        "masks", model="gemini-2.5-flash-lite", temperature=0.2, media_resolution="high").items()
        if k != "system_instruction"}
    assert config["media_resolution"] == "MEDIA_RESOLUTION_HIGH"
    with pytest.raises(TypeError, match="temprature"):
        raw_prompt("x", temprature=1)


def test_profile_max_objects_reaches_the_boxes_instruction(fake_gemini):
    # A profile override of max_objects changes the cap the model is told, and the cache key.
    from spatial_nb import Client

    client = Client(profile_overrides={"max_objects": 40})
    img = Image.new("RGB", (64, 48), "white")
    client.detect(img, "Detect the cups")
    Client().detect(img, "Detect the cups")
    sent = [r.system_instruction for r in fake_gemini.generate_requests()]
    assert len(sent) == 2  # the second client did not hit the first one's cache entry
    assert "Limit to 40 objects." in sent[0] and "Limit to 25 objects." in sent[1]
