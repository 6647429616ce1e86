"""Prompts, system instructions and the generation config of a spatial request.

The default system instructions are the cookbook's for boxes and the AI Studio app's wording
for masks, points and 3D boxes (object caps 25 / 20 / 10 / 10). Masks are asked for in the
format each family returns best: PNG maps in the box for Gemini 2.5 and 3.5, polygons of
``[x, y]`` points over the whole image for 3.6+ and Robotics-ER (the model profile's
``mask_format``). ``template`` builds the AI Studio app's per-kind prompts;
``generation_config`` is the single place that turns a kind, model profile and user settings
into what is sent, so ``raw_prompt`` shows exactly what the client sends.
"""

from __future__ import annotations

import json
from typing import Any

from . import models
from .schemas import response_schema

__all__ = [
    "KINDS",
    "KIND_TITLES",
    "SAFETY_SETTINGS",
    "SYSTEM_INSTRUCTIONS",
    "POLYGON_MASKS_INSTRUCTION",
    "MEDIA_RESOLUTIONS",
    "media_resolution_value",
    "system_instruction",
    "template",
    "generation_config",
    "resolve_thinking",
    "raw_prompt",
]

#: The four kinds of spatial answer.
KINDS = ("boxes", "masks", "points", "boxes3d")

#: Titles as the AI Studio app names them.
KIND_TITLES = {
    "boxes": "2D bounding boxes",
    "masks": "Segmentation masks",
    "points": "Points",
    "boxes3d": "3D bounding boxes",
}

#: Safety settings of the cookbook: block dangerous content only at high probability.
SAFETY_SETTINGS: list[dict[str, str]] = [
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"},
]

_SAME_NAME = (
    "If an object is present multiple times, name them according to their unique characteristic "
    "(colors, size, position, unique characteristics, etc..)."
)

#: Default system instruction per kind.
SYSTEM_INSTRUCTIONS: dict[str, str] = {
    # Google cookbook, quickstarts/Spatial_understanding.ipynb
    "boxes": (
        "Return bounding boxes as a JSON array with labels. Never return masks or code fencing. "
        "Limit to 25 objects.\n" + _SAME_NAME
    ),
    # AI Studio "Spatial understanding" app wording, as standing instructions
    "masks": (
        "Output a JSON list of segmentation masks where each entry contains the 2D bounding box "
        'in the key "box_2d", the segmentation mask in key "mask", and the text label in the key '
        '"label". Use descriptive labels. Limit to 20 objects.\n' + _SAME_NAME
    ),
    "points": (
        "Point to the requested items with no more than 10 items. The answer should follow the json "
        'format: [{"point": <point>, "label": <label1>}, ...]. The points are in [y, x] format '
        "normalized to 0-1000."
    ),
    "boxes3d": (
        "Output in json. Return the 3D bounding boxes of the requested objects, output no more than "
        '10 items. Return a list where each entry contains the object name in "label" and its 3D '
        'bounding box in "box_3d".'
    ),
}


#: The masks instruction for models that answer polygons (Gemini 3.6+ and Robotics-ER): the
#: polygon format of DESIGN.md "Output formats" (x first, 0-1000 over the whole image).
POLYGON_MASKS_INSTRUCTION = (
    "Output a JSON list of segmentation masks where each entry contains the 2D bounding box in the key "
    '"box_2d", the segmentation mask in the key "mask" as a polygon outlining the object: a list of '
    "[x, y] points, x first, normalized to 0-1000 over the whole image (not the box), and the text "
    'label in the key "label". Use descriptive labels. Limit to 20 objects.\n' + _SAME_NAME
)

#: ``media_resolution`` values (how many tokens an image may use; "high" helps when boxes come back off).
MEDIA_RESOLUTIONS = ("low", "medium", "high")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


#: The object cap written into the boxes instruction (the cookbook's number).
DEFAULT_MAX_BOXES = 25


def system_instruction(kind: str = "boxes", max_objects: int | None = None, mask_format: str | None = None) -> str:
    """The default system instruction for ``kind``.

    Args:
        kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``.
        max_objects: For boxes, the cap on objects to ask for (default 25, the cookbook's;
            a model profile's ``max_objects`` sets it per model).
        mask_format: For masks, ``"polygon"`` asks for ``[x, y]`` polygons (Gemini 3.6+,
            Robotics-ER); anything else asks for the PNG maps Gemini 2.5 returns.

    >>> system_instruction("boxes").startswith("Return bounding boxes as a JSON array")
    True
    >>> "Limit to 40 objects." in system_instruction("boxes", max_objects=40)
    True
    >>> "[x, y] points" in system_instruction("masks", mask_format="polygon")
    True
    """
    _check_kind(kind)
    if kind == "masks" and mask_format == "polygon":
        return POLYGON_MASKS_INSTRUCTION
    text = SYSTEM_INSTRUCTIONS[kind]
    if kind == "boxes" and max_objects is not None and max_objects != DEFAULT_MAX_BOXES:
        if isinstance(max_objects, bool) or not isinstance(max_objects, int) or max_objects < 1:
            raise ValueError(f"max_objects must be a positive whole number, got {max_objects!r}")
        text = text.replace(f"Limit to {DEFAULT_MAX_BOXES} objects.", f"Limit to {max_objects} objects.")
    return text


def template(kind: str = "boxes", target: str = "items", label_with: str | None = None) -> str:
    """An AI-Studio-style prompt asking for ``target`` in the format of ``kind``.

    Args:
        kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``.
        target: What to look for ("items", "the cups", "every shadow", ...).
        label_with: What the label should hold ("a text label" by default; e.g.
            "the name in Japanese", "the topping description").

    Example:
        >>> template("boxes", "cupcakes")
        'Detect cupcakes, with no more than 20 items. Output a json list where each entry contains the 2D bounding box in "box_2d" and a text label in "label".'
    """
    _check_kind(kind)
    target = (target or "items").strip()
    if kind == "boxes":
        return (
            f"Detect {target}, with no more than 20 items. Output a json list where each entry "
            f'contains the 2D bounding box in "box_2d" and {label_with or "a text label"} in "label".'
        )
    if kind == "masks":
        return (
            f"Give the segmentation masks for the {target}. Output a JSON list of segmentation masks "
            'where each entry contains the 2D bounding box in the key "box_2d", the segmentation mask '
            f'in key "mask", and {label_with or "the text label"} in the key "label". Use descriptive labels.'
        )
    if kind == "points":
        text = (
            f"Point to the {target} with no more than 10 items. The answer should follow the json "
            'format: [{"point": <point>, "label": <label1>}, ...]. The points are in [y, x] format '
            "normalized to 0-1000."
        )
        return text + (f' Put {label_with} in "label".' if label_with else "")
    return (
        f"Output in json. Detect the 3D bounding boxes of {target}, output no more than 10 items. "
        f'Return a list where each entry contains {label_with or "the object name"} in "label" and '
        'its 3D bounding box in "box_3d".'
    )


def resolve_thinking(thinking: Any, profile: models.ModelProfile) -> dict[str, Any] | None:
    """The ``thinking_config`` to send.

    Args:
        thinking: None (the profile's setting), False (send none), an int (``thinking_budget``),
            a str (``thinking_level``, e.g. "low") or a dict sent as is.
        profile: The model's profile.
    """
    if thinking is None:
        return profile.thinking_config()
    if thinking is False:
        return None
    if isinstance(thinking, bool):
        raise ValueError("thinking=True is ambiguous: pass a budget (int), a level (str) or a dict")
    if isinstance(thinking, int):
        return {"thinking_budget": thinking}
    if isinstance(thinking, str):
        return {"thinking_level": thinking.lower()}
    if isinstance(thinking, dict):
        return dict(thinking)
    raise TypeError(f"thinking must be None, False, int, str or dict, got {type(thinking).__name__}")


def system_instruction_for(kind: str, profile: models.ModelProfile) -> str:
    """The default system instruction for ``kind`` on the model of ``profile`` (its object cap and mask format)."""
    return system_instruction(kind, max_objects=profile.max_objects, mask_format=profile.mask_format)


def media_resolution_value(value: str | None) -> str | None:
    """``"low"|"medium"|"high"`` as the API's enum name (``MEDIA_RESOLUTION_HIGH``), None passes.

    >>> media_resolution_value("High")
    'MEDIA_RESOLUTION_HIGH'
    """
    if value is None:
        return None
    word = str(value).strip().lower().removeprefix("media_resolution_")
    if word not in MEDIA_RESOLUTIONS:
        raise ValueError(f"media_resolution must be one of {MEDIA_RESOLUTIONS} (or None), got {value!r}")
    return f"MEDIA_RESOLUTION_{word.upper()}"


def generation_config(
    kind: str = "boxes",
    *,
    model: str | models.ModelProfile | None = None,
    system_instruction: str | None = None,
    temperature: float | None = None,
    thinking: Any = None,
    structured: bool = False,
    max_output_tokens: int | None = None,
    seed: int | None = None,
    media_resolution: str | None = None,
) -> dict[str, Any]:
    """The generation config of a request, as a dict ``GenerateContentConfig(**d)`` accepts.

    ``system_instruction=None`` uses the kind's default; ``""`` sends none.
    ``temperature=None`` uses the model's default (:func:`spatial_nb.models.default_temperature`:
    the live catalogue's, else 1.0 on Gemini 3.x and the cookbook's 0.5 on 2.5).

    Example:
        >>> cfg = generation_config("boxes", model="gemini-2.5-flash-lite")
        >>> cfg["thinking_config"], cfg["temperature"]
        ({'thinking_budget': 0}, 0.5)
        >>> generation_config("boxes", model="gemini-3.8-flash", media_resolution="high")["media_resolution"]
        'MEDIA_RESOLUTION_HIGH'
    """
    _check_kind(kind)
    prof = model if isinstance(model, models.ModelProfile) else models.profile(model)
    si = system_instruction_for(kind, prof) if system_instruction is None else system_instruction
    cfg: dict[str, Any] = {}
    if si:
        cfg["system_instruction"] = si
    if temperature is None:
        temperature = models.default_temperature(prof)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise ValueError(f"temperature must be a number from 0 to 2 (or None for the model's default), got {temperature!r}")
    cfg["temperature"] = float(temperature)
    thinking_cfg = resolve_thinking(thinking, prof)
    if thinking_cfg:
        cfg["thinking_config"] = thinking_cfg
    cfg["safety_settings"] = [dict(s) for s in SAFETY_SETTINGS]
    if structured:
        cfg["response_mime_type"] = "application/json"
        cfg["response_schema"] = response_schema(kind, prof.mask_format)
    resolution = media_resolution_value(media_resolution)
    if resolution:
        cfg["media_resolution"] = resolution
    if max_output_tokens is not None:
        cfg["max_output_tokens"] = int(max_output_tokens)
    if seed is not None:
        cfg["seed"] = int(seed)
    return cfg


def raw_prompt(
    prompt: str,
    kind: str = "boxes",
    system_instruction: str | None = None,
    model: str | None = None,
    temperature: float | None = None,
    **settings: Any,
) -> str:
    """Show exactly what a request would send: model, system instruction, parts and config.

    Args:
        prompt: The user prompt.
        kind, system_instruction, model, temperature: As in ``Client.detect`` (temperature
            None: the model's default).
        **settings: Other ``detect`` settings: ``thinking``, ``structured``,
            ``max_output_tokens``, ``seed``, ``media_resolution``, and for the image line
            ``mime_type`` and ``image_size`` (width, height) and ``images`` (count).

    Example:
        >>> print(raw_prompt("Detect the cups", model="gemini-3.6-flash").splitlines()[0])
        model: gemini-3.6-flash
    """
    images = int(settings.pop("images", 1))
    mime = settings.pop("mime_type", "image/jpeg")
    size = settings.pop("image_size", None)
    known = {"thinking", "structured", "max_output_tokens", "seed", "media_resolution"}
    unknown = set(settings) - known
    if unknown:
        raise TypeError(f"raw_prompt() got unknown settings {sorted(unknown)}; known: {sorted(known)}")
    prof = models.profile(model)
    cfg = generation_config(
        kind, model=prof, system_instruction=system_instruction, temperature=temperature, **settings
    )
    si = cfg.pop("system_instruction", None)
    size_text = f", {size[0]}x{size[1]} px" if size else ""
    lines = [f"model: {prof.name}", "", "--- system instruction ---", si if si else "(none)", ""]
    lines.append("--- contents (role: user) ---")
    for i in range(images):
        lines.append(f"[image {i + 1}: inline_data, {mime}{size_text}]")
    lines += [prompt, "", "--- generation config ---", json.dumps(cfg, indent=2, ensure_ascii=False)]
    return "\n".join(lines)
