"""The Gemini client: image + prompt -> one ``generate_content`` call -> :class:`Result`.

Wraps ``google.genai.Client`` (imported on first use) with the per-model settings of
:mod:`spatial_nb.models`, retries through the SDK's own ``HttpRetryOptions`` (408/429/5xx),
errors turned into one-line :class:`GeminiRequestError` messages that never contain the key,
and the on-disk answer cache (a hit needs no decode of the image: the key uses the source
bytes). Streaming yields items as they complete and hangs up when the model starts looping.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import images as _images
from . import models
from .errors import GeminiRequestError, MissingKeyError, OfflineCacheMiss
from .prompts import KIND_TITLES, KINDS, generation_config
from .result import Item, Result

if TYPE_CHECKING:  # pragma: no cover
    from .cache import Cache

__all__ = ["Client", "DetectStream", "ModelSupportWarning", "RETRY_STATUS_CODES", "find_api_key"]

#: HTTP statuses the SDK retries (with exponential backoff); 400/401/403/404 are not retried.
RETRY_STATUS_CODES = [408, 429, 500, 502, 503, 504]

_TRUE = {"1", "true", "yes", "on"}


class _Secret:
    """Holds the API key; its repr never shows it (so ``vars(client)`` or a log line cannot)."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value

    def get(self) -> str | None:
        return self._value

    def __repr__(self) -> str:
        return "<api key hidden>" if self._value else "<no api key>"

    def __reduce__(self):  # never pickled along with a client
        raise TypeError("spatial_nb does not pickle API keys")


class ModelSupportWarning(UserWarning):
    """The chosen model is not documented to return the requested kind (e.g. masks on 3.x)."""


# -- keys -----------------------------------------------------------------------------------


def _colab_secret(name: str = "GOOGLE_API_KEY") -> str | None:
    """The Colab secret ``name`` when running in Colab with notebook access granted, else None."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    # SecretNotFoundError, NotebookAccessError (access not granted), TimeoutException, ...
    try:
        value = userdata.get(name)
    except Exception:  # noqa: BLE001 - any Colab failure means "no secret here"
        return None
    return value or None


def find_api_key(api_key: str | None = None) -> str | None:
    """The key to use: the argument, ``GOOGLE_API_KEY``, ``GEMINI_API_KEY``, or the Colab secret."""
    return _find_api_key(api_key)[0]


def _find_api_key(api_key: str | None = None) -> tuple[str | None, str]:
    """(key, where it came from), e.g. ``("AIza...", "GOOGLE_API_KEY")``; (None, "") when none."""
    candidates = (
        (api_key, "the api_key argument"),
        (os.environ.get("GOOGLE_API_KEY"), "GOOGLE_API_KEY"),
        (os.environ.get("GEMINI_API_KEY"), "GEMINI_API_KEY"),
    )
    for value, where in candidates:
        if value and value.strip():
            return value.strip(), where
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        value = _colab_secret(name)
        if value and value.strip():
            return value.strip(), f"the Colab secret {name}"
    return None, ""


def _check_key(key: str, where: str) -> None:
    """Refuse a key that cannot go into an HTTP header (httpx's error would quote it in full)."""
    if all(33 <= ord(ch) <= 126 for ch in key):
        return
    raise MissingKeyError(
        f"The Gemini API key in {where} contains a space, line break, control or non-ASCII "
        "character, so it cannot be sent; copy it again from https://aistudio.google.com/apikey "
        "(API keys are one line of letters, digits, '-' and '_')."
    )


# -- the client -----------------------------------------------------------------------------


class Client:
    """Ask Gemini where things are in images.

    Args:
        model: Model id (default: ``$SPATIAL_NB_MODEL`` or :data:`spatial_nb.models.DEFAULT_MODEL`),
            or a :class:`~spatial_nb.models.ModelProfile`.
        api_key: Gemini API key; default ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` / Colab secret.
        vertexai, project, location: Use Vertex AI (also through the SDK's own environment:
            ``GOOGLE_GENAI_USE_VERTEXAI``, ``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION``).
        cache: True (the default on-disk cache), False (none) or a :class:`~spatial_nb.cache.Cache`.
        offline: Replay from the cache only (default: ``SPATIAL_NB_OFFLINE=1``); a miss raises
            :class:`~spatial_nb.errors.OfflineCacheMiss`. Works without a key.
        retry_attempts: Attempts in total for 408/429/5xx answers (1 = no retry).
        retry_initial_delay: Seconds before the first retry (then exponential backoff).
        timeout: Seconds per HTTP request (None: the SDK's default).
        profile_overrides: Fields of the model profile to change, e.g.
            ``{"thinking": "level", "thinking_value": "low"}``.

    Raises:
        MissingKeyError: not offline, not Vertex AI, and no key anywhere.

    Example:
        >>> client = snb.Client()                                  # doctest: +SKIP
        >>> res = client.detect("kitchen.jpg", "Detect the cups")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | models.ModelProfile | None = None,
        api_key: str | None = None,
        *,
        vertexai: bool | None = None,
        project: str | None = None,
        location: str | None = None,
        cache: bool | Cache | None = True,
        offline: bool | None = None,
        retry_attempts: int = 3,
        retry_initial_delay: float = 1.0,
        timeout: float | None = None,
        profile_overrides: dict[str, Any] | None = None,
    ):
        if isinstance(model, models.ModelProfile):
            self._profile_base: models.ModelProfile | None = model
            self.model = model.name
        else:
            self._profile_base = None
            self.model = (model or os.environ.get("SPATIAL_NB_MODEL") or models.DEFAULT_MODEL).strip()
        self.profile_overrides = dict(profile_overrides or {})
        self.profile()  # validate the overrides now, not at the first request
        if offline is None:
            offline = os.environ.get("SPATIAL_NB_OFFLINE", "").strip().lower() in _TRUE
        self.offline = bool(offline)
        if vertexai is None:
            vertexai = os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower() in _TRUE
        self.vertexai = bool(vertexai)
        self.project = project
        self.location = location
        if int(retry_attempts) < 1:
            raise ValueError("retry_attempts counts the first request too: use 1 or more")
        self.retry_attempts = int(retry_attempts)
        self.retry_initial_delay = float(retry_initial_delay)
        self.timeout = timeout
        self._cache_setting = cache
        self._cache: Cache | None = None
        key, where = _find_api_key(api_key)
        self.__key = _Secret(key)
        if not key and not self.vertexai and not self.offline:
            raise MissingKeyError()
        uses_key = not self.vertexai or not (project or os.environ.get("GOOGLE_CLOUD_PROJECT"))
        if key and uses_key and not self.offline:
            _check_key(key, where)
        self._sdk_client: Any = None
        self._sdk_lock = threading.Lock()

    def __repr__(self) -> str:
        mode = "offline" if self.offline else ("vertexai" if self.vertexai else "gemini-api")
        cache = "off" if self._cache_setting is None or self._cache_setting is False else "on"
        return f"Client(model={self.model!r}, {mode}, cache={cache})"

    # -- settings ---------------------------------------------------------------------------
    def profile(self, model: str | models.ModelProfile | None = None) -> models.ModelProfile:
        """The model profile used for ``model`` (default: the client's), with the overrides."""
        if isinstance(model, models.ModelProfile):
            return models.profile(model, **self.profile_overrides)
        if model is None and self._profile_base is not None:
            return models.profile(self._profile_base, **self.profile_overrides)
        return models.profile(model or self.model, **self.profile_overrides)

    @property
    def cache(self) -> Cache | None:
        """The answer cache in use, or None."""
        setting = self._cache_setting
        if self._cache is None and setting is not None and setting is not False:  # a Cache may be empty (falsy)
            if setting is True:
                from .cache import default_cache

                self._cache = default_cache()
            else:
                self._cache = self._cache_setting  # type: ignore[assignment]
        return self._cache

    def _sdk(self) -> Any:
        if self.offline:  # pragma: no cover - guarded by callers
            raise OfflineCacheMiss("offline mode: no request may be sent")
        with self._sdk_lock:
            return self._sdk_locked()

    def _sdk_locked(self) -> Any:
        if self._sdk_client is None:
            from google import genai
            from google.genai import types

            retry = types.HttpRetryOptions(
                attempts=self.retry_attempts,
                initial_delay=self.retry_initial_delay,
                jitter=self.retry_initial_delay,  # random extra wait up to one initial delay
                http_status_codes=list(RETRY_STATUS_CODES),
            )
            http = types.HttpOptions(
                retry_options=retry,
                timeout=None if self.timeout is None else int(self.timeout * 1000),
            )
            kwargs: dict[str, Any] = {"http_options": http}
            if self.vertexai:
                kwargs.update(vertexai=True, project=self.project, location=self.location)
                if self.__key.get() and not (self.project or os.environ.get("GOOGLE_CLOUD_PROJECT")):
                    kwargs["api_key"] = self.__key.get()  # Vertex AI express mode
            else:
                kwargs["api_key"] = self.__key.get()
            with warnings.catch_warnings():  # "both GOOGLE_API_KEY and GEMINI_API_KEY are set"
                warnings.simplefilter("ignore")
                self._sdk_client = genai.Client(**kwargs)
        return self._sdk_client

    # -- requests ---------------------------------------------------------------------------
    def _plan(self, image: Any, prompt: str, kind: str, settings: dict[str, Any]) -> _Plan:
        return _Plan(self, image, prompt, kind, settings)

    def detect(
        self,
        image: Any,
        prompt: str,
        kind: str = "boxes",
        *,
        temperature: float | None = 0.5,
        max_size: int | str | None = 640,
        system_instruction: str | None = None,
        model: str | models.ModelProfile | None = None,
        structured: bool = False,
        thinking: Any = None,
        max_output_tokens: int | None = None,
        context: Result | str | None = None,
        seed: int | None = None,
        image_format: str | None = None,
    ) -> Result:
        """Send one image (or several) and a prompt; return the parsed answer.

        Args:
            image: Path, bytes, PIL image or numpy array — or a list of them (multi-view: all
                images are sent, the prompt asks about points found in the first).
            prompt: What to find, e.g. ``snb.prompts.template("boxes", "the cups")``.
            kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``; picks the default
                system instruction and the response schema.
            temperature: Sampling temperature (0.5: above 0 keeps the model from repeating).
            max_size: Longest side sent, in pixels (640, 1024) or ``"original"``.
            system_instruction: None for the kind's default, "" for none, or your own text.
            model: Model id for this call (default: the client's).
            structured: Send a response schema (JSON mode) for the kind.
            thinking: None (model profile), False (no thinking config), an int budget, a level
                string ("low", "minimal") or a ``ThinkingConfig``-shaped dict.
            max_output_tokens: Output token limit (None: the model's default).
            context: An earlier :class:`Result` or answer text, sent as the model's previous
                turn (e.g. points found in the first image, for multi-view correspondence).
            seed: Sampling seed.
            image_format: "JPEG", "PNG" or "WEBP" (default: see ``prepare_image``).

        Returns:
            A :class:`Result` with ``raw_text``, ``model``, ``usage``, ``finish_reason``,
            ``cached``, ``image_size`` (what the model saw) and ``request`` (the settings).
            Safety blocks and token-limit cuts are warnings on it, not exceptions.

        Raises:
            GeminiRequestError: the API refused or failed (one line saying what to change).
            OfflineCacheMiss: offline and the answer is not cached.
            ImageLoadError: the image cannot be read.
        """
        plan = self._plan(
            image, prompt, kind,
            dict(temperature=temperature, max_size=max_size, system_instruction=system_instruction,
                 model=model, structured=structured, thinking=thinking,
                 max_output_tokens=max_output_tokens, context=context, seed=seed,
                 image_format=image_format),
        )
        hit = plan.cached()
        if hit is not None:
            return hit
        plan.require_online()
        sdk = self._sdk()
        try:
            response = sdk.models.generate_content(
                model=plan.profile.name, contents=plan.contents(), config=plan.sdk_config()
            )
        except Exception as exc:  # noqa: BLE001 - converted (or re-raised) below
            raise plan.explain(exc) from None
        text, finish, block, usage = _read_response([response])
        from .parsing import parse

        result = parse(text)
        return plan.finish(result, text, finish, block, usage)

    def detect_stream(self, image: Any, prompt: str, kind: str = "boxes", **settings: Any) -> DetectStream:
        """Like :meth:`detect`, but yields each :class:`Item` as soon as it is complete.

        Returns a :class:`DetectStream`: iterate it for items; afterwards ``stream.result`` is
        the full :class:`Result` (the generator also returns it). When the model starts
        repeating itself the HTTP stream is closed at once (saving tokens and time) and the
        result carries a warning. A cached answer is replayed item by item.

        Example:
            >>> stream = client.detect_stream("shelf.jpg", "Detect every can")  # doctest: +SKIP
            >>> for item in stream:                                             # doctest: +SKIP
            ...     print(item.label)
            >>> stream.result.usage                                             # doctest: +SKIP
        """
        allowed = {"temperature", "max_size", "system_instruction", "model", "structured", "thinking",
                   "max_output_tokens", "context", "seed", "image_format"}
        unknown = set(settings) - allowed
        if unknown:
            raise TypeError(f"detect_stream() got unknown settings {sorted(unknown)}")
        defaults = dict(temperature=0.5, max_size=640, system_instruction=None, model=None, structured=False,
                        thinking=None, max_output_tokens=None, context=None, seed=None, image_format=None)
        plan = self._plan(image, prompt, kind, {**defaults, **settings})
        return DetectStream(plan)


# -- one request, planned -------------------------------------------------------------------


class _Plan:
    """Everything about one request: prepared lazily, so a cache hit never decodes the image."""

    def __init__(self, client: Client, image: Any, prompt: str, kind: str, settings: dict[str, Any]):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt must be a non-empty string, e.g. 'Detect the cups'")
        self.client = client
        self.prompt = prompt
        self.kind = kind
        self.settings = settings
        self.profile = client.profile(settings.get("model"))
        self.warnings: list[str] = []
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
        self.config = generation_config(
            kind,
            model=self.profile,
            system_instruction=settings.get("system_instruction"),
            temperature=settings.get("temperature"),
            thinking=settings.get("thinking"),
            structured=bool(settings.get("structured")),
            max_output_tokens=settings.get("max_output_tokens"),
            seed=settings.get("seed"),
        )
        context = settings.get("context")
        if isinstance(context, Result):
            self.context_text: str | None = context.raw_text or context.to_gemini_json()
            self.context_prompt = (context.request or {}).get("prompt")
        elif context is None:
            self.context_text, self.context_prompt = None, None
        else:
            self.context_text, self.context_prompt = str(context), None
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
        if hit is not None:
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

    # -- request ----------------------------------------------------------------------------
    @property
    def prepared(self) -> list[_images.PreparedImage]:
        if self._prepared is None:
            self._prepared = [
                src.prepare(self.max_size, self.image_format) for src in self.sources
            ]
        return self._prepared

    def contents(self) -> list[Any]:
        from google.genai import types

        image_parts = [types.Part.from_bytes(data=p.data, mime_type=p.mime_type) for p in self.prepared]
        if self.context_text is None:
            return [types.Content(role="user", parts=[*image_parts, types.Part.from_text(text=self.prompt)])]
        first_prompt = self.context_prompt or "Find the points in the first image."
        return [
            types.Content(role="user", parts=[*image_parts, types.Part.from_text(text=first_prompt)]),
            types.Content(role="model", parts=[types.Part.from_text(text=self.context_text)]),
            types.Content(role="user", parts=[types.Part.from_text(text=self.prompt)]),
        ]

    def sdk_config(self) -> Any:
        from google.genai import types

        return types.GenerateContentConfig(**self.config)

    def request_record(self) -> dict[str, Any]:
        first = self.prepared[0]
        record: dict[str, Any] = {
            "prompt": self.prompt,
            "kind": self.kind,
            "model": self.profile.name,
            "temperature": self.config.get("temperature"),
            "max_size": self.max_size,
            "system_instruction": self.config.get("system_instruction"),
            "structured": "response_schema" in self.config,
            "thinking": self.config.get("thinking_config"),
            "max_output_tokens": self.config.get("max_output_tokens"),
            "seed": self.config.get("seed"),
            "mime_type": first.mime_type,
            "image_size": list(first.size),
            "original_size": list(first.original_size),
            "source_name": first.source_name,
        }
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
        *, store: bool = True,
    ) -> Result:
        result.raw_text = text
        result.model = self.profile.name
        result.usage = usage
        result.finish_reason = finish or (f"BLOCKED:{block}" if block else None)
        result.cached = False
        result.image_size = self.prepared[0].size
        result.request = self.request_record()
        extra = list(self.warnings)
        n = len(result.items)
        if block:
            extra.append(
                f"Gemini blocked the prompt (blockReason {block}); no answer was returned — rephrase "
                "the prompt or try another image"
            )
        elif finish == "MAX_TOKENS":
            extra.append(
                f"the answer was cut at the output token limit (MAX_TOKENS); kept the {n} complete "
                "items — raise max_output_tokens or ask for fewer objects"
            )
        elif finish in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"):
            extra.append(
                f"Gemini stopped the answer for safety ({finish}); kept the {n} complete items — "
                "the image or prompt touched a safety filter"
            )
        elif finish and finish not in ("STOP", "FINISH_REASON_UNSPECIFIED"):
            extra.append(f"Gemini stopped early (finish_reason {finish}); kept the {n} complete items")
        result.warnings = extra + [w for w in result.warnings if w not in extra]
        if store and not block and finish not in ("SAFETY", "PROHIBITED_CONTENT", "OTHER"):
            self.store(result)
        return result

    # -- errors -----------------------------------------------------------------------------
    def explain(self, exc: Exception) -> Exception:
        """``exc`` as a one-line :class:`GeminiRequestError` (never containing the key)."""
        from google.genai import errors as genai_errors

        key = self.client._Client__key.get()  # type: ignore[attr-defined]
        attempts = self.client.retry_attempts
        name = self.profile.name
        if isinstance(exc, genai_errors.APIError):
            code = int(getattr(exc, "code", 0) or 0)
            status = getattr(exc, "status", None) or ""
            detail = _one_line(getattr(exc, "message", None) or str(exc), key)
            if code == 400 and "thinking" in detail.lower():
                from .models import thinking_description

                sent = thinking_description(self.config.get("thinking_config"))
                msg = (
                    f"{name} rejected the thinking setting that was sent ({sent}): {detail}. "
                    "Change it per call with detect(..., thinking='low') (a thinking_level), "
                    "thinking=128 (a thinking_budget) or thinking=False (send none), or for every "
                    "call with Client(profile_overrides={'thinking': 'level', 'thinking_value': 'low'}); "
                    "on the command line: --thinking low | 128 | off"
                )
            elif code == 400:
                msg = f"Gemini rejected the request (HTTP 400 {status}) for {name}: {detail}"
            elif code in (401, 403):
                msg = (
                    f"Gemini refused the API key or permission (HTTP {code} {status}): {detail}. "
                    "Check the key at https://aistudio.google.com/apikey and that it may use "
                    f"{name}"
                )
            elif code == 404:
                msg = (
                    f"model {name!r} was not found (HTTP 404): {detail}. Known models: "
                    + ", ".join(models.KNOWN_MODELS)
                )
            elif code == 429:
                msg = (
                    f"Gemini quota or rate limit exhausted (HTTP 429) after {attempts} attempt(s): "
                    f"{detail}. Wait a minute and retry, lower the concurrency, or check your quota"
                )
            elif code == 408 or code >= 500:
                msg = (
                    f"Gemini server error (HTTP {code} {status}) on all {attempts} attempt(s) for "
                    f"{name}: {detail}. Try again later or pick another model"
                )
            else:
                msg = f"Gemini request failed (HTTP {code} {status}) for {name}: {detail}"
            return GeminiRequestError(msg, status=code or None)
        if "Timeout" in type(exc).__name__ or isinstance(exc, TimeoutError):
            limit = f"{self.client.timeout:g} s" if self.client.timeout else "the SDK's time limit"
            return GeminiRequestError(
                f"Gemini did not answer within {limit} ({type(exc).__name__}); retry, pick a faster "
                "model or a smaller max_size, or raise Client(timeout=...)"
            )
        if exc.__class__.__module__.startswith(("httpx", "httpcore")) or isinstance(exc, OSError):
            return GeminiRequestError(
                f"could not reach Gemini ({type(exc).__name__}: {_one_line(str(exc), key)}); "
                "check the network connection (or GOOGLE_GEMINI_BASE_URL) and retry"
            )
        return exc


def _one_line(text: str, key: str | None, limit: int = 400) -> str:
    if key:  # the key as is, and as str/bytes reprs spell it inside error messages
        for spelling in {key, repr(key)[1:-1], repr(key.encode("utf-8", "backslashreplace"))[2:-1]}:
            text = text.replace(spelling, "***")
    text = re.sub(r"AIza[0-9A-Za-z_\-]{20,}", "***", text)  # any Google API key shape
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _enum_name(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "name", None) or str(value)


def _read_response(responses: Sequence[Any]) -> tuple[str, str | None, str | None, dict[str, Any] | None]:
    """Text (thoughts excluded), finish reason, block reason and usage from SDK responses."""
    pieces: list[str] = []
    finish = block = None
    usage_meta = None
    for response in responses:
        pieces.append(_response_text(response))
        for cand in getattr(response, "candidates", None) or []:
            if getattr(cand, "finish_reason", None) is not None:
                finish = _enum_name(cand.finish_reason)
            break
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None) is not None:
            block = _enum_name(feedback.block_reason)
        if getattr(response, "usage_metadata", None) is not None:
            usage_meta = response.usage_metadata
    return "".join(pieces), finish, block, _usage(usage_meta)


def _response_text(response: Any) -> str:
    out = []
    for cand in getattr(response, "candidates", None) or []:
        content = getattr(cand, "content", None)
        for part in (getattr(content, "parts", None) or []):
            if getattr(part, "text", None) and not getattr(part, "thought", False):
                out.append(part.text)
        break  # first candidate only
    return "".join(out)


def _usage(meta: Any) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {
        "prompt_tokens": getattr(meta, "prompt_token_count", None),
        "output_tokens": getattr(meta, "candidates_token_count", None),
        "thinking_tokens": getattr(meta, "thoughts_token_count", None) or 0,
        "total_tokens": getattr(meta, "total_token_count", None),
    }


# -- streaming --------------------------------------------------------------------------------


class DetectStream:
    """Items of one streamed answer, as they complete; ``.result`` holds the full Result after.

    Iterate it once (``for item in stream``); ``close()`` (or leaving a ``with`` block) hangs
    up early. ``result`` is None until the stream has ended.
    """

    def __init__(self, plan: _Plan):
        self._plan = plan
        self.result: Result | None = None
        self.stopped_early = False
        self._gen = self._run()

    def __iter__(self) -> Iterator[Item]:
        return self

    def __next__(self) -> Item:
        return next(self._gen)

    def __enter__(self) -> DetectStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop now; closes the HTTP connection if the answer is still streaming."""
        self._gen.close()

    def _run(self) -> Iterator[Item]:
        plan = self._plan
        hit = plan.cached()
        if hit is not None:
            self.result = hit
            yield from hit.items
            return hit
        plan.require_online()
        from .parsing import StreamParser

        sdk = plan.client._sdk()
        parser = StreamParser()
        responses: list[Any] = []
        try:
            sdk_stream = sdk.models.generate_content_stream(
                model=plan.profile.name, contents=plan.contents(), config=plan.sdk_config()
            )
        except Exception as exc:  # noqa: BLE001
            raise plan.explain(exc) from None
        try:
            try:
                for response in sdk_stream:
                    responses.append(response)
                    piece = _response_text(response)
                    if piece:
                        yield from parser.feed(piece)
                    if parser.looping:
                        self.stopped_early = True
                        break
            except Exception as exc:  # noqa: BLE001
                raise plan.explain(exc) from None
        finally:
            _close_sdk_stream(sdk_stream)
        text, finish, block, usage = _read_response(responses)
        result = parser.result()
        if self.stopped_early:
            result.warnings.insert(
                0,
                f"the model started repeating itself; the stream was stopped after {len(result.items)} "
                "items to save tokens and time (try a higher temperature or a narrower prompt)",
            )
            finish = finish or "LOOPING"
        self.result = plan.finish(result, text, finish, block, usage)
        return self.result


def _close_sdk_stream(sdk_stream: Any) -> None:
    """Close the SDK's response generator and the HTTP response under it.

    Closing the outer generator unwinds the SDK's nested generators; httpx/httpcore close an
    unfinished HTTP/1.1 response (dropping the connection) when their iterator is closed.
    The explicit search below also closes an ``httpx.Response`` held in a generator frame,
    in case a future SDK buffers it somewhere the unwinding does not reach.
    """
    responses = []
    gen = sdk_stream
    seen = 0
    while gen is not None and seen < 8:  # walk the chain of generator frames
        seen += 1
        frame = getattr(gen, "gi_frame", None)
        if frame is None:
            break
        nxt = None
        for value in frame.f_locals.values():
            stream = getattr(value, "response_stream", None)
            if stream is not None and hasattr(stream, "close"):
                responses.append(stream)
            if nxt is None and hasattr(value, "gi_frame") and value is not gen:
                nxt = value
        gen = nxt
    close = getattr(sdk_stream, "close", None)
    if close is not None:
        close()
    for stream in responses:
        try:
            stream.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
