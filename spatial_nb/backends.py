"""The two request paths: ``generate_content`` (default) and the Interactions API.

Both send the same image, prompt, system instruction and settings and return an
:class:`Answer` (text, finish reason, block reason, token usage, the model that answered).
``generate_content`` is the default because the Batch API and response schemas are shaped
like it; the Interactions API (``client.interactions.create``) is what Google's current docs
and cookbook call. How each setting is carried on the Interactions path:

==========================  ====================================================================
spatial_nb setting          Interactions API request / response
==========================  ====================================================================
image (inline bytes)        ``input`` user step: ``{"type": "image", "data": base64, "mime_type"}``
prompt                      same step: ``{"type": "text", "text": prompt}`` (after the images)
context (earlier answer)    a ``model_output`` step, then a second ``user_input`` step
system instruction          ``system_instruction`` (a string)
temperature, seed,          ``generation_config.temperature`` / ``.seed`` / ``.max_output_tokens``
max_output_tokens
thinking                    ``generation_config.thinking_level`` only, never a budget: a budget of
                            0 is sent as ``"minimal"``, any other budget as ``"low"``
media_resolution            per image part: ``"resolution": "low" | "medium" | "high"``
structured output           ``response_format={"type": "text", "mime_type": "application/json",
                            "schema": <JSON schema of the kind>}``
safety settings             ``safety_settings=[{"type": "dangerous_content", "threshold":
                            "block_only_high"}]``
storage                     ``store=False`` always (the default keeps the interaction, image
                            included, on Google's servers)
continuation                ``automatic_continuation=False``: one billed call, never more
answer text                 ``interaction.output_text`` (else the last ``model_output`` step's text)
finish reason               ``interaction.status``: completed -> STOP, incomplete ->
                            INCOMPLETE (warned like a token-limit cut), failed -> error
usage                       ``usage.total_input_tokens`` / ``total_output_tokens`` /
                            ``total_thought_tokens`` / ``total_tokens``
model_version               ``interaction.model``
errors                      ``APIStatusError`` and friends -> one-line, redacted
                            :class:`~spatial_nb.errors.GeminiRequestError`
==========================  ====================================================================
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import GeminiRequestError

__all__ = ["Answer", "BACKENDS", "send", "interactions_request", "read_response", "read_interaction"]

#: The request paths, the default first.
BACKENDS = ("generate_content", "interactions")

_STATUS_TO_FINISH = {
    "completed": "STOP",
    "incomplete": "INCOMPLETE",
    "requires_continuation": "INCOMPLETE",
    "budget_exceeded": "INCOMPLETE",
    "cancelled": "CANCELLED",
}


@dataclass
class Answer:
    """What came back, whichever path carried it."""

    text: str
    finish: str | None = None
    block: str | None = None
    usage: dict[str, Any] | None = None
    model_version: str | None = None


def send(backend: str, sdk: Any, plan: Any, config: dict[str, Any]) -> Answer:
    """One request on ``backend`` with the generation ``config`` actually sent."""
    if backend == "interactions":
        try:
            interaction = sdk.interactions.create(**interactions_request(plan, config))
        except Exception as exc:
            if _empty_ok_body(exc):  # HTTP 200 with nothing in it: an empty answer, not an error
                return Answer("")
            raise
        return read_interaction(interaction)
    response = sdk.models.generate_content(
        model=plan.profile.name, contents=plan.contents(), config=plan.sdk_config(config)
    )
    return read_response([response])


def _empty_ok_body(exc: BaseException) -> bool:
    """True when the SDK failed to read an HTTP 200 whose body was empty."""
    response = getattr(exc, "response", None)
    if getattr(response, "status_code", None) != 200:
        return False
    try:
        return not (response.content or b"").strip()
    except Exception:  # noqa: BLE001 - a body that cannot be read again
        return False


# -- generate_content answers ----------------------------------------------------------------


def _enum_name(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "name", None) or str(value)


def response_text(response: Any) -> str:
    """Text of the first candidate, thoughts excluded."""
    out = []
    for cand in getattr(response, "candidates", None) or []:
        content = getattr(cand, "content", None)
        for part in (getattr(content, "parts", None) or []):
            if getattr(part, "text", None) and not getattr(part, "thought", False):
                out.append(part.text)
        break  # first candidate only
    return "".join(out)


def usage_dict(meta: Any) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {
        "prompt_tokens": getattr(meta, "prompt_token_count", None),
        "output_tokens": getattr(meta, "candidates_token_count", None),
        "thinking_tokens": getattr(meta, "thoughts_token_count", None) or 0,
        "total_tokens": getattr(meta, "total_token_count", None),
    }


def read_response(responses: Sequence[Any]) -> Answer:
    """An :class:`Answer` from one ``generate_content`` response or a streamed sequence of them."""
    pieces: list[str] = []
    finish = block = version = None
    usage_meta = None
    for response in responses:
        pieces.append(response_text(response))
        for cand in getattr(response, "candidates", None) or []:
            if getattr(cand, "finish_reason", None) is not None:
                finish = _enum_name(cand.finish_reason)
            break
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None) is not None:
            block = _enum_name(feedback.block_reason)
        if getattr(response, "usage_metadata", None) is not None:
            usage_meta = response.usage_metadata
        version = getattr(response, "model_version", None) or version
    return Answer("".join(pieces), finish, block, usage_dict(usage_meta), version)


# -- the Interactions API ----------------------------------------------------------------------


def _level(thinking: dict[str, Any] | None) -> str | None:
    if not thinking:
        return None
    if thinking.get("thinking_level"):
        return str(thinking["thinking_level"]).lower()
    budget = thinking.get("thinking_budget")
    if budget is None:
        return None
    return "minimal" if budget <= 0 else "low"


def _safety(settings: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"type": s["category"].lower().removeprefix("harm_category_"), "threshold": s["threshold"].lower()}
            for s in settings]


def interactions_request(plan: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``client.interactions.create`` (see the module's mapping table)."""
    resolution = config.get("media_resolution")
    images = []
    for prepared in plan.prepared:
        part = {"type": "image", "data": base64.b64encode(prepared.data).decode("ascii"),
                "mime_type": prepared.mime_type}
        if resolution:
            part["resolution"] = str(resolution).lower().removeprefix("media_resolution_")
        images.append(part)
    if plan.context_text is None:
        steps = [{"type": "user_input", "content": [*images, {"type": "text", "text": plan.prompt}]}]
    else:
        steps = [
            {"type": "user_input", "content": [*images, {"type": "text", "text": plan.first_prompt}]},
            {"type": "model_output", "content": [{"type": "text", "text": plan.context_text}]},
            {"type": "user_input", "content": [{"type": "text", "text": plan.prompt}]},
        ]
    generation: dict[str, Any] = {}
    for key in ("temperature", "seed", "max_output_tokens"):
        if config.get(key) is not None:
            generation[key] = config[key]
    level = _level(config.get("thinking_config"))
    if level:
        generation["thinking_level"] = level
    kwargs: dict[str, Any] = {"model": plan.profile.name, "input": steps, "store": False,
                              "automatic_continuation": False}
    if config.get("system_instruction"):
        kwargs["system_instruction"] = config["system_instruction"]
    if generation:
        kwargs["generation_config"] = generation
    if config.get("safety_settings"):
        kwargs["safety_settings"] = _safety(config["safety_settings"])
    if config.get("response_schema") is not None:
        from .schemas import json_schema

        kwargs["response_format"] = {"type": "text", "mime_type": "application/json",
                                     "schema": json_schema(plan.kind, plan.profile.mask_format)}
    return kwargs


def read_interaction(interaction: Any) -> Answer:
    """An :class:`Answer` from an ``Interaction``; a failed interaction raises one line."""
    status = str(getattr(interaction, "status", "") or "").lower()
    text = getattr(interaction, "output_text", None)
    if text is None:
        text = ""
        for step in reversed(getattr(interaction, "steps", None) or []):
            if getattr(step, "type", None) == "model_output":
                text = "".join(getattr(c, "text", "") or "" for c in (getattr(step, "content", None) or []))
                break
    if status == "failed":
        errors = getattr(interaction, "errors", None) or []
        why = "; ".join(str(getattr(e, "message", None) or e) for e in errors)[:300] or "no reason given"
        raise GeminiRequestError(f"the Gemini interaction failed (status failed): {why}")
    usage = getattr(interaction, "usage", None)
    usage_out = None
    if usage is not None:
        usage_out = {
            "prompt_tokens": getattr(usage, "total_input_tokens", None),
            "output_tokens": getattr(usage, "total_output_tokens", None),
            "thinking_tokens": getattr(usage, "total_thought_tokens", None) or 0,
            "total_tokens": getattr(usage, "total_tokens", None),
        }
    finish = _STATUS_TO_FINISH.get(status, status.upper() or None)
    return Answer(text or "", finish, None, usage_out, getattr(interaction, "model", None))
