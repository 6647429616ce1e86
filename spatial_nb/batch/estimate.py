"""Before spending money: how many requests and roughly how many tokens would a folder run use?

Image tokens follow the Gemini API token rule (ai.google.dev/gemini-api/docs/tokens, "Understand
and count tokens", retrieved 2026-11-24; same rule quoted by geminibyexample.com/027): an image
with both sides <= 384 px counts 258 tokens; a larger one is cropped/scaled into 768x768 tiles of
258 tokens each. Gemini 3 models budget images by ``media_resolution`` instead
(ai.google.dev/gemini-api/docs/media-resolution), measured at ~1,100 tokens per image whatever
its size, so they get a flat per-image figure here. Text is ~4 characters per token (same
page). Output is a rough per-kind guess; a real run's ``usage`` is the truth.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Estimate", "estimate", "image_tokens", "text_tokens", "OUTPUT_TOKENS_PER_IMAGE"]

#: Tokens per image tile (and for a small image) in Gemini 2.x models.
TOKENS_PER_TILE = 258
#: Tile side in pixels; images with both sides <= SMALL_IMAGE_PX count one tile.
TILE_PX = 768
SMALL_IMAGE_PX = 384
#: Gemini 3.x default media resolution for images (flat, ~1,100 measured; rounded up).
GEMINI3_IMAGE_TOKENS = 1120
#: Rough output tokens of one answer per kind (25 boxes ~ 20 tokens each; masks carry base64 PNGs).
OUTPUT_TOKENS_PER_IMAGE = {"boxes": 500, "points": 250, "boxes3d": 450, "masks": 6000}


def image_tokens(width: int, height: int, model: str | None = None) -> int:
    """Input tokens of one image of ``width`` x ``height`` pixels as sent.

    >>> image_tokens(384, 300), image_tokens(640, 480), image_tokens(1024, 768)
    (258, 258, 516)
    """
    if model and model.startswith("gemini-3"):
        return GEMINI3_IMAGE_TOKENS
    if width <= SMALL_IMAGE_PX and height <= SMALL_IMAGE_PX:
        return TOKENS_PER_TILE
    return math.ceil(width / TILE_PX) * math.ceil(height / TILE_PX) * TOKENS_PER_TILE


def text_tokens(text: str) -> int:
    """~4 characters per token (the Gemini docs' rule of thumb)."""
    return math.ceil(len(text) / 4) if text else 0


@dataclass
class Estimate:
    """What a run would send: counts and rough token totals (input = image + prompt text)."""

    images: int
    requests: int
    image_tokens: int
    prompt_tokens: int
    output_tokens: int
    unreadable: int = 0
    model: str | None = None

    @property
    def input_tokens(self) -> int:
        return self.image_tokens + self.prompt_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __str__(self) -> str:
        lines = [
            f"images:          {self.images:,}" + (f" ({self.unreadable} unreadable, not counted)" if self.unreadable else ""),
            f"requests:        {self.requests:,}",
            f"input tokens:    ~{self.input_tokens:,} ({self.image_tokens:,} image + {self.prompt_tokens:,} prompt/system text)",
            f"output tokens:   ~{self.output_tokens:,} (rough guess)",
            f"total tokens:    ~{self.total_tokens:,}" + (f" on {self.model}" if self.model else ""),
        ]
        return "\n".join(lines)


def _sent_size(path: str | os.PathLike, max_size: int | None) -> tuple[int, int] | None:
    """Size after EXIF rotation and thumbnailing to ``max_size``, from the header only."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width
    except OSError:
        return None
    if max_size and max(width, height) > max_size:
        scale = max_size / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    return width, height


def estimate(
    paths: Iterable[str | os.PathLike],
    prompt: str,
    kind: str = "boxes",
    *,
    model: str | None = None,
    max_size: int | None = 640,
    system_instruction: str | None = None,
    samples: int = 1,
    **_: Any,
) -> Estimate:
    """Estimate requests and tokens for labelling ``paths`` (reads image headers only).

    Args:
        paths: The images.
        prompt, kind, model, max_size: As in ``run_folder``.
        system_instruction: None = the kind's default system instruction.
        samples: Requests per image (consensus sampling).
    """
    if system_instruction is None:
        try:
            from ..prompts import system_instruction as default_si

            system_instruction = default_si(kind)
        except ImportError:  # pragma: no cover - prompts is part of the package
            system_instruction = ""
    if model is None:
        try:
            from ..models import DEFAULT_MODEL

            model = os.environ.get("SPATIAL_NB_MODEL") or DEFAULT_MODEL
        except ImportError:  # pragma: no cover
            model = None
    per_request_text = text_tokens(prompt) + text_tokens(system_instruction or "")
    images = unreadable = img_tokens = 0
    for path in paths:
        size = _sent_size(path, max_size)
        images += 1
        if size is None:
            unreadable += 1
            continue
        img_tokens += image_tokens(*size, model=model)
    readable = images - unreadable
    requests = readable * samples
    return Estimate(
        images=images,
        requests=requests,
        image_tokens=img_tokens * samples,
        prompt_tokens=per_request_text * requests,
        output_tokens=OUTPUT_TOKENS_PER_IMAGE.get(kind, 500) * requests,
        unreadable=unreadable,
        model=model,
    )
