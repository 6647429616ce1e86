"""The Gemini client: image + prompt -> one request -> :class:`Result`.

Wraps ``google.genai.Client`` (imported on first use) with the per-model settings of
:mod:`spatial_nb.models`, two request paths (``generate_content`` by default, or the
Interactions API with ``backend="interactions"``; see :mod:`spatial_nb.backends`), retries
through the SDK's own ``HttpRetryOptions`` (408/429/5xx, resets, non-JSON bodies) inside one
overall time limit per request (:mod:`spatial_nb.deadline`, :mod:`spatial_nb.http_guard`),
settings that adapt to a 400 about thinking or temperature (:mod:`spatial_nb.adaptation`),
one-line errors that never contain the key, and the on-disk answer cache.
"""

from __future__ import annotations

import copy as _copy
import os
import threading
import warnings
from typing import TYPE_CHECKING, Any

from . import backends, models
from .adaptation import SettingsAdaptedWarning, SettingsMemory
from .backends import BACKENDS
from .deadline import DEFAULT_TIMEOUT, RetrySchedule, check_timeout
from .errors import MissingKeyError, OfflineCacheMiss
from .plan import RETRY_STATUS_CODES, ModelSupportWarning, RequestPlan
from .redaction import install_log_filter, remember_secret
from .result import Result
from .streaming import DetectStream

if TYPE_CHECKING:  # pragma: no cover
    from .cache import Cache
    from .catalogue import Catalogue

__all__ = ["Client", "DetectStream", "ModelSupportWarning", "SettingsAdaptedWarning", "RETRY_STATUS_CODES",
           "find_api_key"]

_TRUE = {"1", "true", "yes", "on"}
_DETECT_SETTINGS = dict(temperature=None, max_size=640, system_instruction=None, model=None, structured=False,
                        thinking=None, max_output_tokens=None, context=None, seed=None, image_format=None,
                        media_resolution=None, timeout=None)


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


def _checked_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def _checked_attempts(attempts: int) -> int:
    if int(attempts) < 1:
        raise ValueError("retry_attempts counts the first request too: use 1 or more")
    return int(attempts)


# -- the client -----------------------------------------------------------------------------


class Client:
    """Ask Gemini where things are in images.

    Args:
        model: Model id (default: ``$SPATIAL_NB_MODEL`` or :data:`spatial_nb.models.DEFAULT_MODEL`),
            or a :class:`~spatial_nb.models.ModelProfile`.
        api_key: Gemini API key; default ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` / Colab secret.
        backend: ``"generate_content"`` (default: what the Batch API and response schemas speak)
            or ``"interactions"`` (``client.interactions.create``, as Google's current docs and
            cookbook call it; sent with ``store=False``). Keyword-only.
        vertexai, project, location: Use Vertex AI (also through the SDK's own environment:
            ``GOOGLE_GENAI_USE_VERTEXAI``, ``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION``).
        cache: True (the default on-disk cache), False (none) or a :class:`~spatial_nb.cache.Cache`.
        offline: Replay from the cache only (default: ``SPATIAL_NB_OFFLINE=1``); a miss raises
            :class:`~spatial_nb.errors.OfflineCacheMiss`. Works without a key.
        retry_attempts: Attempts in total for 408/429/5xx answers, connection resets and
            non-JSON bodies (1 = no retry); the SDK does the retrying.
        retry_initial_delay: Seconds before the first retry (then exponential backoff, plus up
            to this much random jitter).
        timeout: Seconds one request may take in all (default 120): every attempt, the waits
            between them, settings adaptation and a slow body; each attempt gets the time
            left. None: no overall limit. Per call: ``detect(..., timeout=...)``.
        profile_overrides: Fields of the model profile to change, e.g.
            ``{"thinking": "level", "thinking_value": "low"}``.

    Raises:
        MissingKeyError: not offline, not Vertex AI, and no key anywhere.
        ValueError: an unknown ``backend``.

    Example:
        >>> client = snb.Client()                                  # doctest: +SKIP
        >>> res = client.detect("kitchen.jpg", "Detect the cups")  # doctest: +SKIP
        >>> snb.Client(backend="interactions")                     # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | models.ModelProfile | None = None,
        api_key: str | None = None,
        *,
        backend: str = "generate_content",
        vertexai: bool | None = None,
        project: str | None = None,
        location: str | None = None,
        cache: bool | Cache | None = True,
        offline: bool | None = None,
        retry_attempts: int = 3,
        retry_initial_delay: float = 1.0,
        timeout: float | None = DEFAULT_TIMEOUT,
        profile_overrides: dict[str, Any] | None = None,
    ):
        self.backend = _checked_backend(backend)
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
        self.retry_attempts = _checked_attempts(retry_attempts)
        self.retry_initial_delay = float(retry_initial_delay)
        self.timeout = timeout  # validated by the property
        self._cache_setting = cache
        self._cache: Cache | None = None
        key, where = _find_api_key(api_key)
        self.__key = _Secret(key)
        self.key_source = where
        if not key and not self.vertexai and not self.offline:
            raise MissingKeyError()
        uses_key = not self.vertexai or not (project or os.environ.get("GOOGLE_CLOUD_PROJECT"))
        if key and uses_key and not self.offline:
            _check_key(key, where)
        remember_secret(key)  # redaction.redact and the log filter know it from now on
        # one SDK client per (attempts setting, per-read timeout): copies share them (see copy())
        self._sdk_clients: dict[tuple[RetrySchedule, float | None], Any] = {}
        self._sdk_lock = threading.Lock()

    def __repr__(self) -> str:
        mode = "offline" if self.offline else ("vertexai" if self.vertexai else "gemini-api")
        cache = "off" if self._cache_setting is None or self._cache_setting is False else "on"
        backend = "" if self.backend == "generate_content" else f", backend={self.backend!r}"
        return f"Client(model={self.model!r}, {mode}, cache={cache}{backend})"

    def _secret_key(self) -> str | None:
        """The key, for redacting it from error text (never shown)."""
        return self.__key.get()

    @property
    def timeout(self) -> float | None:
        """Seconds one request may take in all (None: no limit); settable, e.g. from a panel."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._timeout = check_timeout(seconds)

    @property
    def deadline(self) -> float | None:
        """Same as :attr:`timeout` (the name #10's adaptation loop used)."""
        return self.timeout

    @deadline.setter
    def deadline(self, seconds: float | None) -> None:
        self.timeout = seconds

    @property
    def retry_schedule(self) -> RetrySchedule:
        """How the SDK retries for this client (attempts, delays, jitter)."""
        return RetrySchedule(attempts=self.retry_attempts, initial_delay=self.retry_initial_delay,
                             jitter=self.retry_initial_delay)

    def copy(self, **changes: Any) -> Client:
        """This client with some settings changed (``backend``, ``retry_attempts``,
        ``retry_initial_delay``, ``timeout``, ``offline``, ``profile_overrides``); it shares the
        key, the cache and the HTTP connections.

        Example:
            >>> quick = client.copy(timeout=20, retry_attempts=1)  # doctest: +SKIP
        """
        allowed = {"backend", "retry_attempts", "retry_initial_delay", "timeout", "offline", "profile_overrides"}
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"Client.copy() cannot change {sorted(unknown)}; it can change {sorted(allowed)}")
        other = _copy.copy(self)
        if "retry_attempts" in changes:
            changes["retry_attempts"] = _checked_attempts(changes["retry_attempts"])
        if "backend" in changes:
            _checked_backend(changes["backend"])
        for name, value in changes.items():
            if name == "profile_overrides":
                value = dict(value or {})
            setattr(other, name, value)
        other.profile()  # validate overrides now
        return other

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

    @property
    def settings_memory(self) -> SettingsMemory:
        """What each model accepted instead of a rejected setting (in the cache directory)."""
        cache = self.cache
        return SettingsMemory(cache.directory if cache is not None else None)

    def catalogue(self, refresh: bool = False) -> Catalogue | None:
        """The live model catalogue: the cached file when it is under a day old, else fetched
        (``refresh=True`` always fetches). Offline: the cached file or None, never a request."""
        from . import catalogue

        directory = self.cache.directory if self.cache is not None else None
        return catalogue.refresh(self, force=refresh, directory=directory)

    def _sdk(self) -> Any:
        if self.offline:  # pragma: no cover - guarded by callers
            raise OfflineCacheMiss("offline mode: no request may be sent")
        schedule = self.retry_schedule
        slot = (schedule, self.timeout)  # the timeout is baked into the SDK client's HttpOptions
        with self._sdk_lock:
            sdk = self._sdk_clients.get(slot)
            if sdk is None:
                sdk = self._sdk_clients[slot] = self._new_sdk(schedule)
            return sdk

    def _new_sdk(self, schedule: RetrySchedule) -> Any:
        from google import genai
        from google.genai import types

        from .http_guard import make_http_client, ssl_context

        http = types.HttpOptions(
            retry_options=schedule.http_retry_options(RETRY_STATUS_CODES),
            # per read, for calls outside a request's deadline (model lists, Batch API files)
            timeout=None if self.timeout is None else int(self.timeout * 1000),
        )
        if not _uses_mtls(self.vertexai):  # Vertex mTLS needs the SDK's own google-auth session
            tls = ssl_context()  # made once per process: loading the CA certificates costs ~20 ms
            http.httpx_client = make_http_client(tls)
            # The SDK also builds an async HTTP client ("verify") and a websocket context
            # ("ssl") at once; given ours, it does not load the CA certificates twice more.
            http.async_client_args = {"verify": tls, "ssl": tls}
        kwargs: dict[str, Any] = {"http_options": http}
        if self.vertexai:
            kwargs.update(vertexai=True, project=self.project, location=self.location)
            if self.__key.get() and not (self.project or os.environ.get("GOOGLE_CLOUD_PROJECT")):
                kwargs["api_key"] = self.__key.get()  # Vertex AI express mode
        else:
            kwargs["api_key"] = self.__key.get()
        with warnings.catch_warnings():  # "both GOOGLE_API_KEY and GEMINI_API_KEY are set"
            warnings.simplefilter("ignore")
            sdk = genai.Client(**kwargs)
        install_log_filter()  # the SDK's loggers exist now; its retry line quotes error bodies
        return sdk

    def warm_up(self) -> None:
        """Do now, without sending anything, the one-off work of this process's first request:
        build the SDK client (its HTTP client, TLS setup) and the SDK's request and answer types
        (pydantic builds them on first use, ~30 ms). A folder run calls it on a request thread
        while its first images are prepared, so the first requests do not wait for it. Safe
        from any thread; does nothing offline; a failure here surfaces on the first request.

        Example:
            >>> client.warm_up()  # doctest: +SKIP
        """
        if self.offline:
            return
        from google.genai import types

        self._sdk()
        if self.backend == "generate_content":
            types.GenerateContentConfig(temperature=0.0)
            types.Content(role="user", parts=[types.Part.from_bytes(data=b"\xff\xd8\xff", mime_type="image/jpeg"),
                                              types.Part.from_text(text="warm-up")])
            types.GenerateContentResponse()

    # -- requests ---------------------------------------------------------------------------
    def _plan(self, image: Any, prompt: str, kind: str, settings: dict[str, Any]) -> RequestPlan:
        return RequestPlan(self, image, prompt, kind, settings)

    def _answer(self, plan: RequestPlan) -> Result:
        """Send the plan (adapting settings if needed), parse, finish and store the answer."""
        from .parsing import parse

        sdk = self._sdk()
        answer = plan.send(lambda config: backends.send(self.backend, sdk, plan, config))
        result = parse(answer.text)
        return plan.finish(result, answer.text, answer.finish, answer.block, answer.usage,
                           model_version=answer.model_version)

    def detect(
        self,
        image: Any,
        prompt: str,
        kind: str = "boxes",
        *,
        temperature: float | None = None,
        max_size: int | str | None = 640,
        system_instruction: str | None = None,
        model: str | models.ModelProfile | None = None,
        structured: bool = False,
        thinking: Any = None,
        max_output_tokens: int | None = None,
        context: Result | str | None = None,
        seed: int | None = None,
        image_format: str | None = None,
        media_resolution: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Send one image (or several) and a prompt; return the parsed answer.

        Args:
            image: Path, bytes, PIL image or numpy array — or a list of them (multi-view: all
                images are sent, the prompt asks about points found in the first).
            prompt: What to find, e.g. ``snb.prompts.template("boxes", "the cups")``.
            kind: ``"boxes"``, ``"masks"``, ``"points"`` or ``"boxes3d"``; picks the default
                system instruction and the response schema.
            temperature: Sampling temperature; None (default) uses the model's own default
                (:func:`spatial_nb.models.default_temperature`: the live catalogue's, else 1.0
                on Gemini 3.x as Google advises and the cookbook's 0.5 on 2.5).
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
            media_resolution: ``"low"``, ``"medium"`` or ``"high"`` (tokens per image; Google
                suggests "high" when boxes come back off). None: the model's default.
            timeout: Seconds this call may take in all (default: the client's ``timeout``).

        Returns:
            A :class:`Result` with ``raw_text``, ``model``, ``model_version`` (who answered),
            ``usage``, ``finish_reason``, ``cached``, ``elapsed`` (seconds), ``image_size``
            (what the model saw) and ``request`` (the settings sent). Safety blocks and
            token-limit cuts are warnings on it, not exceptions; so is a setting the API
            rejected and spatial_nb replaced (also a :class:`SettingsAdaptedWarning`), and so
            is an answer with no text at all (never cached: the next call asks again).

        Raises:
            GeminiRequestError: the API refused or failed, or the time limit ran out (one line
                saying what to change; ``.transient`` says whether trying again later may help).
            OfflineCacheMiss: offline and the answer is not cached.
            ImageLoadError: the image cannot be read.
        """
        plan = self._plan(
            image, prompt, kind,
            dict(temperature=temperature, max_size=max_size, system_instruction=system_instruction,
                 model=model, structured=structured, thinking=thinking,
                 max_output_tokens=max_output_tokens, context=context, seed=seed,
                 image_format=image_format, media_resolution=media_resolution, timeout=timeout),
        )
        hit = plan.cached()
        if hit is not None:
            return hit
        plan.require_online()
        return self._answer(plan)

    def detect_stream(self, image: Any, prompt: str, kind: str = "boxes", **settings: Any) -> DetectStream:
        """Like :meth:`detect`, but yields each :class:`Item` as soon as it is complete.

        Returns a :class:`DetectStream`: iterate it for items; afterwards ``stream.result`` is
        the full :class:`Result` (the generator also returns it). When the model starts
        repeating itself the HTTP stream is closed at once (saving tokens and time) and the
        result carries a warning. A cached answer is replayed item by item; with
        ``backend="interactions"`` the items arrive together when the answer is complete.

        Example:
            >>> stream = client.detect_stream("shelf.jpg", "Detect every can")  # doctest: +SKIP
            >>> for item in stream:                                             # doctest: +SKIP
            ...     print(item.label)
            >>> stream.result.usage                                             # doctest: +SKIP
        """
        unknown = set(settings) - set(_DETECT_SETTINGS)
        if unknown:
            raise TypeError(f"detect_stream() got unknown settings {sorted(unknown)}")
        plan = self._plan(image, prompt, kind, {**_DETECT_SETTINGS, **settings})
        return DetectStream(plan)


def _uses_mtls(vertexai: bool) -> bool:
    """True when the SDK would talk to Vertex AI through google-auth's mTLS session (not httpx)."""
    if not vertexai:
        return False
    try:
        from google.auth.transport import mtls

        return bool(mtls.should_use_client_cert() and mtls.has_default_client_cert_source())
    except Exception:  # noqa: BLE001 - an older google-auth: no mTLS session either
        return False
