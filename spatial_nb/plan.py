"""One request, planned: settings resolved, cache key, what is sent, and the adaptation loop.

A plan prepares the image lazily, so a cache hit never decodes it. The cache key is built
from the settings the user asked for (defaults resolved), never from what adaptation or the
settings memory sent instead, so remembering never causes a miss. :meth:`RequestPlan.send`
runs one call through the adaptation chain of :mod:`spatial_nb.adaptation` (at most three
extra requests, none when the time left is shorter than the rejected one took), all under one
:class:`~spatial_nb.deadline.Deadline`, and says once what it changed. An answer with no text
is a warning and never cached (a cached one from an older version counts as a miss).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import images as _images
from . import models
from .adaptation import Adaptation, SettingsAdaptedWarning, next_adaptation
from .deadline import Deadline, active, check_timeout
from .empty_answers import REFUSAL_FINISH_REASONS, empty_answer_message, is_empty_answer, is_refusal, refusal_cause
from .errors import OfflineCacheMiss
from .prompts import KIND_TITLES, KINDS, generation_config
from .request_errors import api_error_details, explain, one_line
from .result import Result

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["RequestPlan", "ModelSupportWarning", "RETRY_STATUS_CODES"]

T = TypeVar("T")

#: HTTP statuses the SDK retries (with exponential backoff); 400/401/403/404 are not retried.
#: Connection resets and non-JSON bodies arrive as 503 / 502 (see spatial_nb.http_guard).
RETRY_STATUS_CODES = [408, 429, 500, 502, 503, 504]


class ModelSupportWarning(UserWarning):
    """The chosen model is not documented to return the requested kind (e.g. masks on 3.1 Pro)."""


#: Answers that ended this way are not cached: a refusal (kept partial) or an unexplained stop.
_BLOCKING_FINISH = REFUSAL_FINISH_REASONS | {"OTHER"}


class RequestPlan:
    """Everything about one request, for :class:`~spatial_nb.client.Client` and the batch runner."""

    def __init__(self, client: Client, image: Any, prompt: str, kind: str, settings: dict[str, Any]):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt must be a non-empty string, e.g. 'Detect the cups'")
        self.client = client
        self.prompt = prompt
        self.kind = kind
        self.settings = settings
        self.backend = client.backend
        self.profile = client.profile(settings.get("model"))
        self.warnings: list[str] = []
        retired = models.warn_if_retired(self.profile, stacklevel=4)
        if retired:
            self.warnings.append(retired)
        if not self.profile.supports(kind):
            alt = models.suggest_model(kind)
            msg = (
                f"{self.profile.name} is not documented to return {KIND_TITLES[kind].lower()}; "
                f"{alt} is (pass model={alt!r}). Sending the request anyway."
            )
            warnings.warn(msg, ModelSupportWarning, stacklevel=4)
            self.warnings.append(msg)
        images_in = list(image) if isinstance(image, (list, tuple)) else [image]
        if not images_in:
            raise ValueError("image list is empty: give at least one image")
        self.max_size = _images.normalize_max_size(settings.get("max_size"))
        self.sources = [_images.open_source(img) for img in images_in]
        self.image_format = self.sources[0].send_format(settings.get("image_format"))
        #: The generation config the user asked for (defaults resolved): what the cache key uses.
        self.config = generation_config(
            kind,
            model=self.profile,
            system_instruction=settings.get("system_instruction"),
            temperature=settings.get("temperature"),
            thinking=settings.get("thinking"),
            structured=bool(settings.get("structured")),
            max_output_tokens=settings.get("max_output_tokens"),
            seed=settings.get("seed"),
            media_resolution=settings.get("media_resolution"),
        )
        context = settings.get("context")
        if isinstance(context, Result):
            self.context_text: str | None = context.raw_text or context.to_gemini_json()
            self.context_prompt = (context.request or {}).get("prompt")
        elif context is None:
            self.context_text, self.context_prompt = None, None
        else:
            self.context_text, self.context_prompt = str(context), None
        timeout = settings.get("timeout")
        #: Seconds this request may take in all (None: no limit).
        self.timeout: float | None = client.timeout if timeout is None else check_timeout(timeout)
        self.started: float | None = None
        self.deadline: Deadline | None = None
        self.adaptations: list[Adaptation] = []
        self.remembered: list[str] = []
        self._sent: dict[str, Any] | None = None
        self._prepared: list[_images.PreparedImage] | None = None
        self._key: str | None = None

    # -- cache ------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        if self._key is None:
            from .cache import cache_key

            generation = {k: v for k, v in self.config.items() if k != "system_instruction"}
            if self.context_text is not None:
                generation["context"] = self.context_text
                generation["context_prompt"] = self.context_prompt
            if len(self.sources) > 1:
                generation["images"] = len(self.sources)
            if self.backend != "generate_content":
                generation["backend"] = self.backend
            self._key = cache_key(
                source_digest="+".join(s.digest for s in self.sources),
                max_size=self.max_size,
                image_format=self.image_format,
                model=self.profile.name,
                prompt=self.prompt,
                system_instruction=self.config.get("system_instruction"),
                kind=self.kind,
                generation=generation,
            )
        return self._key

    def cached(self) -> Result | None:
        cache = self.client.cache
        if cache is None:
            return None
        hit = cache.get(self.key)
        if hit is None:
            return None
        if is_empty_answer(hit):  # stored by an older version: never an answer, ask again
            cache.delete(self.key)
            return None
        hit.cached = True
        return hit

    def require_online(self) -> None:
        if not self.client.offline:
            return
        names = ", ".join(s.name or "an in-memory image" for s in self.sources)
        cache = self.client.cache
        where = f"the cache at {cache.directory}" if cache is not None else "the cache (disabled: cache=False)"
        raise OfflineCacheMiss(
            f"offline mode: {where} has no answer for {names} with prompt {self.prompt!r} "
            f"(model {self.profile.name}, kind {self.kind}, max_size {self.max_size or 'original'}); "
            "run it once online (without offline=True / SPATIAL_NB_OFFLINE=1) to fill the cache"
        )

    def store(self, result: Result) -> None:
        cache = self.client.cache
        if cache is not None:
            cache.put(self.key, result)

    # -- what is sent ---------------------------------------------------------------------------
    @property
    def prepared(self) -> list[_images.PreparedImage]:
        if self._prepared is None:
            self._prepared = [src.prepare(self.max_size, self.image_format) for src in self.sources]
        return self._prepared

    @property
    def first_prompt(self) -> str:
        """The prompt of the first user turn when an earlier answer is sent as ``context``."""
        return self.context_prompt or "Find the points in the first image."

    def contents(self) -> list[Any]:
        from google.genai import types

        image_parts = [types.Part.from_bytes(data=p.data, mime_type=p.mime_type) for p in self.prepared]
        if self.context_text is None:
            return [types.Content(role="user", parts=[*image_parts, types.Part.from_text(text=self.prompt)])]
        return [
            types.Content(role="user", parts=[*image_parts, types.Part.from_text(text=self.first_prompt)]),
            types.Content(role="model", parts=[types.Part.from_text(text=self.context_text)]),
            types.Content(role="user", parts=[types.Part.from_text(text=self.prompt)]),
        ]

    def sent_config(self) -> dict[str, Any]:
        """The config to send first: the requested one with the settings memory applied."""
        if self._sent is None:
            sent = dict(self.config)
            memory = self.client.settings_memory
            thinking, temperature, notes = memory.apply(
                self.profile.name, self.backend, sent.get("thinking_config"), sent.get("temperature"))
            _set(sent, "thinking_config", thinking)
            _set(sent, "temperature", temperature)
            self.remembered = notes
            self._sent = sent
        return self._sent

    def sdk_config(self, config: dict[str, Any] | None = None) -> Any:
        from google.genai import types

        return types.GenerateContentConfig(**(self.sent_config() if config is None else config))

    def time_left(self) -> float | None:
        """Seconds left for this request (None: no overall limit)."""
        if self.deadline is None:
            return self.timeout
        return self.deadline.time_left()

    def start(self) -> Deadline:
        """Start the clock (once): the request's :class:`~spatial_nb.deadline.Deadline`."""
        if self.deadline is None:
            self.started = time.monotonic() if self.started is None else self.started
            self.deadline = Deadline(self.timeout, self.client.retry_schedule, set(RETRY_STATUS_CODES),
                                     started=self.started)
        return self.deadline

    def send(self, call: Callable[[dict[str, Any]], T]) -> T:
        """Run ``call(config)`` under the request's deadline, adapting to a 400 about thinking
        or temperature (see module doc). Errors are one-line, key-free GeminiRequestErrors
        raised without the SDK's exception attached (``__context__`` is None)."""
        deadline = self.start()
        config = self.sent_config()
        while True:
            deadline.begin_call()
            call_started = time.monotonic()
            try:
                with active(deadline):
                    answer = call(config)
            except Exception as exc:  # noqa: BLE001 - adapted to, or explained, below
                step = self._adaptation(exc, config, time.monotonic() - call_started)
                if step is not None:
                    self.adaptations.append(step)
                    config = dict(config)
                    _set(config, "thinking_config" if step.setting == "thinking" else "temperature", step.instead)
                    continue
                error = self.explain(exc, config)
            else:
                self._sent = config
                return answer
            raise error  # outside the except block: the SDK's error (and its request) stays behind

    def _adaptation(self, exc: Exception, config: dict[str, Any], took: float) -> Adaptation | None:
        details = api_error_details(exc)
        if details is None or details[0] != 400:
            return None
        left = self.time_left()
        if left is not None and left <= took:  # the next request would likely not finish in time
            return None
        reason = one_line(details[2], self.client._secret_key(), limit=300)
        sent = {"thinking": config.get("thinking_config"), "temperature": config.get("temperature")}
        return next_adaptation(reason, sent, self.adaptations)

    def explain(self, exc: BaseException, config: dict[str, Any] | None = None) -> BaseException:
        """``exc`` as a one-line :class:`~spatial_nb.errors.GeminiRequestError` (never with the key)."""
        cfg = self.sent_config() if config is None else config
        return explain(exc, client=self.client, model=self.profile.name,
                       sent_thinking=models.thinking_description(cfg.get("thinking_config")),
                       timeout=self.timeout)

    def _adapted_message(self) -> str | None:
        if not self.adaptations:
            return None
        sent = self._sent or {}
        rejected = ", then ".join(
            models.thinking_description(a.rejected) if a.setting == "thinking" else f"temperature={a.rejected:g}"
            for a in self.adaptations)
        instead = []
        if any(a.setting == "thinking" for a in self.adaptations):
            instead.append(models.thinking_description(sent.get("thinking_config")))
        if any(a.setting == "temperature" for a in self.adaptations):
            instead.append("no temperature")
        reason = self.adaptations[0].reason
        reason = reason if len(reason) <= 140 else reason[:137] + "..."
        return (
            f"{self.profile.name} rejected {rejected} (HTTP 400: {reason}); sent {' and '.join(instead)} "
            f"instead, which worked. Remembered in {self.client.settings_memory.path} for later requests "
            "(spatial-nb cache clear forgets it)."
        )

    # -- the result -----------------------------------------------------------------------------
    def request_record(self) -> dict[str, Any]:
        first = self.prepared[0]
        sent = self._sent or self.config
        record: dict[str, Any] = {
            "prompt": self.prompt,
            "kind": self.kind,
            "model": self.profile.name,
            "temperature": sent.get("temperature"),
            "max_size": self.max_size,
            "system_instruction": self.config.get("system_instruction"),
            "structured": "response_schema" in self.config,
            "thinking": sent.get("thinking_config"),
            "max_output_tokens": self.config.get("max_output_tokens"),
            "seed": self.config.get("seed"),
            "mime_type": first.mime_type,
            "image_size": list(first.size),
            "original_size": list(first.original_size),
            "source_name": first.source_name,
        }
        if self.config.get("media_resolution"):
            record["media_resolution"] = self.config["media_resolution"].removeprefix("MEDIA_RESOLUTION_").lower()
        if self.backend != "generate_content":
            record["backend"] = self.backend
        changed = [a.describe() for a in self.adaptations] or list(self.remembered)
        if changed:
            record["adapted"] = changed
            record["requested"] = {"temperature": self.config.get("temperature"),
                                   "thinking": self.config.get("thinking_config")}
        if len(self.prepared) > 1:
            record["images"] = [
                {"source_name": p.source_name, "image_size": list(p.size), "mime_type": p.mime_type}
                for p in self.prepared
            ]
        if self.context_text is not None:
            record["context"] = self.context_text
        return record

    def finish(
        self, result: Result, text: str, finish: str | None, block: str | None, usage: dict[str, Any] | None,
        *, store: bool = True, model_version: str | None = None,
    ) -> Result:
        """Fill in what the client knows about the answer, add warnings, store it in the cache.

        An answer with no text at all gets a warning and is never stored, whatever ``store``
        says (``store=False``: never store, e.g. an answer the caller judged unusable)."""
        result.raw_text = text
        result.model = self.profile.name
        result.usage = usage
        result.finish_reason = finish or (f"BLOCKED:{block}" if block else None)
        result.cached = False
        result.image_size = self.prepared[0].size
        result.request = self.request_record()
        result.model_version = model_version
        if self.started is not None:
            result.elapsed = round(time.monotonic() - self.started, 3)
        extra = list(self.warnings)
        adapted = self._adapted_message()
        if adapted:
            self.client.settings_memory.remember(self.profile.name, self.backend, self.adaptations,
                                                 (self._sent or {}).get("thinking_config"))
            warnings.warn(adapted, SettingsAdaptedWarning, stacklevel=4)
            extra.append(adapted)
        n = len(result.items)
        kept = f"kept the {n} complete {'item' if n == 1 else 'items'}"
        if block:
            extra.append(
                f"Gemini blocked the prompt (blockReason {block}); no answer was returned — rephrase "
                "the prompt or try another image"
            )
        elif finish == "MAX_TOKENS":
            extra.append(
                f"the answer was cut at the output token limit (MAX_TOKENS); {kept} "
                "— raise max_output_tokens or ask for fewer objects"
            )
        elif finish == "INCOMPLETE":
            extra.append(
                f"the interaction ended incomplete (status incomplete, e.g. the output token limit); "
                f"{kept} — raise max_output_tokens or ask for fewer objects"
            )
        elif finish in REFUSAL_FINISH_REASONS:
            hint = "the answer would have repeated source material" if finish == "RECITATION" else "the image or prompt touched a safety filter"
            extra.append(f"Gemini stopped the answer {refusal_cause(finish)} ({finish}); {kept} — {hint}")
        elif finish and finish not in ("STOP", "FINISH_REASON_UNSPECIFIED"):
            extra.append(f"Gemini stopped early (finish_reason {finish}); {kept}")
        empty = is_empty_answer(result)
        if empty and not is_refusal(result):  # a refusal already says why above
            extra.append(empty_answer_message(result))
        result.warnings = extra + [w for w in result.warnings if w not in extra]
        if store and not empty and not block and finish not in _BLOCKING_FINISH:
            self.store(result)
        return result


def _set(config: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        config.pop(key, None)
    else:
        config[key] = value
