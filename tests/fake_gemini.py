"""A fake Gemini HTTP server on 127.0.0.1 for tests: the real google-genai SDK talks to it.

Point the SDK at it with ``GOOGLE_GEMINI_BASE_URL=server.url``. It records every request
body (so tests assert what we send) and answers from a queue of scripted :class:`Reply`
objects, falling back to ``server.default`` (a Reply or a callable taking the request).
Replies can be errors (429/500/400), slow, cut by MAX_TOKENS, blocked by SAFETY, or
streamed as server-sent events; a streamed reply records whether the client hung up early.
Faults a real network produces are scripted too: any raw body (empty, ``{"candidates": []}``,
an HTML page) with any status and content type, a body dribbled a byte at a time, a request
that is accepted and never answered, and a TCP reset (before the answer or part-way through).

Besides ``generateContent`` it serves ``GET /{version}/models`` (the live catalogue, in pages
of ``server.page_size`` like the real API, from ``server.catalogue``) and
``POST /{version}/interactions`` (the Interactions API: an ``Interaction`` with a
``model_output`` step, ``usage`` and ``status``). :meth:`FakeGemini.reject` makes it answer 400
to a thinking setting or a temperature, the way the real API answers settings a model does not
take; every answer names the model that answered (``modelVersion`` / ``model``).

Run standalone (for notebooks or a browser test driven from another process)::

    python tests/fake_gemini.py --port 8765
"""

from __future__ import annotations

import base64
import json
import re
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "RecordedRequest", "FakeGemini", "Rejection", "kind_aware_answer", "catalogue_model",
           "DEFAULT_CATALOGUE"]


@dataclass
class Reply:
    """One scripted answer.

    Attributes:
        text: The model's text (ignored for error statuses).
        status: HTTP status; >= 400 sends a Google-style error body.
        finish_reason: ``STOP``, ``MAX_TOKENS``, ``SAFETY``, ...
        delay: Seconds to wait before answering.
        chunks: For streaming requests: the text split into these pieces, one SSE event
            each (default: the text in pieces of ``chunk_size`` characters).
        chunk_size: Piece length when ``chunks`` is not given.
        chunk_delay: Seconds between streamed events.
        block_reason: When set, the prompt is blocked (``promptFeedback.blockReason``) and
            no candidate is returned.
        usage: ``usageMetadata`` to send (default: small made-up token counts).
        error_message: Message in the error body for statuses >= 400.
        model_version: The model the answer says answered (default: the requested id).
        status: For the Interactions API, ``interaction.status`` is ``interaction_status``.
        raw_body: Send exactly these bytes as the body (with ``status`` and ``content_type``)
            instead of an answer built from ``text``: ``b""``, ``b'{"candidates": []}'``,
            an HTML page.
        content_type: The Content-Type of ``raw_body``.
        dribble_delay: Send the body one byte at a time with this many seconds between bytes.
        hang: Read the request and never answer (until the client hangs up or the server stops).
        reset: Close the connection with a TCP reset instead of answering.
        reset_after_bytes: Send the headers and this many body bytes, then reset the connection.
    """

    text: str = "[]"
    status: int = 200
    finish_reason: str = "STOP"
    delay: float = 0.0
    chunks: list[str] | None = None
    chunk_size: int = 40
    chunk_delay: float = 0.0
    block_reason: str | None = None
    usage: dict[str, int] | None = None
    error_message: str = ""
    model_version: str | None = None
    interaction_status: str = "completed"
    raw_body: bytes | None = None
    content_type: str = "application/json"
    dribble_delay: float = 0.0
    hang: bool = False
    reset: bool = False
    reset_after_bytes: int | None = None


@dataclass
class RecordedRequest:
    """What the server received, with helpers to read a generateContent body."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    raw_body: bytes = b""
    stream_completed: bool | None = None  # streaming only: False when the client hung up
    events_sent: int = 0
    #: For replies that hang or dribble: True once the client closed the connection, False
    #: when the server stopped (or finished) first; None for other replies.
    client_hung_up: bool | None = None

    @property
    def model(self) -> str | None:
        m = re.search(r"/models/([^:/?]+)", self.path)
        if m:
            return m.group(1)
        if self.is_interaction and isinstance(self.body, dict):
            return self.body.get("model")
        return None

    @property
    def is_interaction(self) -> bool:
        """True for ``POST .../interactions`` (the Interactions API)."""
        return self.method == "POST" and re.search(r"/interactions(\?|$)", self.path) is not None

    @property
    def action(self) -> str | None:
        m = re.search(r":([A-Za-z]+)", self.path)
        return m.group(1) if m else None

    @property
    def parts(self) -> list[dict[str, Any]]:
        """generateContent parts, or the content items of an interaction's input steps."""
        out: list[dict[str, Any]] = []
        body = self.body or {}
        for content in body.get("contents", []):
            out.extend(content.get("parts", []))
        steps = body.get("input") if self.is_interaction else None
        if isinstance(steps, str):
            out.append({"type": "text", "text": steps})
        elif isinstance(steps, list):
            for step in steps:
                if isinstance(step, dict) and "content" in step and step.get("type") == "user_input":
                    out.extend(c for c in step["content"] if isinstance(c, dict))
                elif isinstance(step, dict) and step.get("type") in ("text", "image"):
                    out.append(step)
        return out

    @property
    def texts(self) -> list[str]:
        return [p["text"] for p in self.parts if "text" in p]

    @property
    def prompt(self) -> str:
        return "\n".join(self.texts)

    @property
    def images(self) -> list[tuple[str, bytes]]:
        """``(mime_type, bytes)`` of every inline image part (URL-safe or plain base64)."""
        out = []
        for p in self.parts:
            if p.get("type") == "image" and "data" in p:  # Interactions API image content
                data = p["data"]
                raw = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if "-" in data or "_" in data else None)
                out.append((p.get("mime_type"), raw))
                continue
            inline = p.get("inlineData") or p.get("inline_data")
            if inline:
                data = inline["data"]
                raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
                out.append((inline.get("mimeType") or inline.get("mime_type"), raw))
        return out

    @property
    def system_instruction(self) -> str | None:
        si = (self.body or {}).get("systemInstruction") or (self.body or {}).get("system_instruction")
        if not si:
            return None
        if isinstance(si, str):  # the Interactions API sends a plain string
            return si
        return "\n".join(p.get("text", "") for p in si.get("parts", []))

    @property
    def generation_config(self) -> dict[str, Any]:
        body = self.body or {}
        return body.get("generationConfig") or body.get("generation_config") or {}

    @property
    def thinking(self) -> dict[str, Any]:
        """The thinking setting sent, as ``{"thinking_level": "low"}`` / ``{"thinking_budget": 0}`` / {}."""
        cfg = self.generation_config
        if "thinking_level" in cfg and not isinstance(cfg.get("thinking_level"), dict):
            return {"thinking_level": str(cfg["thinking_level"]).lower()}  # Interactions API
        tc = cfg.get("thinkingConfig") or cfg.get("thinking_config") or {}
        out = {}
        for key, value in tc.items():
            key = {"thinkingBudget": "thinking_budget", "thinkingLevel": "thinking_level"}.get(key, key)
            out[key] = value.lower() if isinstance(value, str) else value
        return out

    @property
    def safety_settings(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("safetySettings") or []


def _response_body(reply: Reply, text: str | None, finish: str | None, model: str | None) -> dict:
    usage = reply.usage or {
        "promptTokenCount": 300,
        "candidatesTokenCount": max(1, len(reply.text) // 4),
        "totalTokenCount": 300 + max(1, len(reply.text) // 4),
    }
    body: dict[str, Any] = {"usageMetadata": usage, "modelVersion": reply.model_version or model or "fake"}
    if reply.block_reason:
        body["promptFeedback"] = {"blockReason": reply.block_reason}
        return body
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": []}, "index": 0}
    if text:
        candidate["content"]["parts"].append({"text": text})
    if finish:
        candidate["finishReason"] = finish
    if finish == "SAFETY":
        candidate["safetyRatings"] = [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
        ]
    body["candidates"] = [candidate]
    return body


def _interaction_body(reply: Reply, req: RecordedRequest) -> dict:
    """An ``Interaction`` as the real API returns it (store=false: no stored input echoed)."""
    n_out = max(1, len(reply.text) // 4)
    usage = reply.usage or {"total_input_tokens": 300, "total_output_tokens": n_out, "total_thought_tokens": 0,
                            "total_tokens": 300 + n_out}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "id": f"fake-interaction-{len(reply.text)}-{int(time.time() * 1000)}",
        "status": reply.interaction_status,
        "model": reply.model_version or req.model or "fake",
        "created": stamp,
        "updated": stamp,
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": reply.text}]}],
        "usage": usage,
    }


@dataclass
class Rejection:
    """A setting the fake API refuses with HTTP 400, like a real model that does not take it.

    Attributes:
        model: Only requests for this model id (None: any).
        thinking_level: Refuse this ``thinking_level`` (e.g. "minimal").
        thinking_budget: Refuse any ``thinking_budget`` (True) or this value.
        temperature: Refuse any ``temperature``.
        message: The error message (default: one naming the setting).
    """

    model: str | None = None
    thinking_level: str | None = None
    thinking_budget: bool | int | None = None
    temperature: bool = False
    message: str | None = None

    def check(self, req: RecordedRequest) -> str | None:
        if self.model is not None and req.model != self.model:
            return None
        thinking = req.thinking
        if self.thinking_level and thinking.get("thinking_level") == self.thinking_level.lower():
            return self.message or (f"Thinking level {self.thinking_level.upper()} is not supported for this "
                                    "model. Supported thinking_level values: LOW, MEDIUM, HIGH.")
        budget = thinking.get("thinking_budget")
        if self.thinking_budget is not None and budget is not None and (
                self.thinking_budget is True or budget == self.thinking_budget):
            return self.message or ("thinking_budget is not supported by this model; use thinking_level "
                                    "instead.")
        if self.temperature and "temperature" in req.generation_config:
            return self.message or "temperature is not supported for this model: remove it from the request."
        return None


def catalogue_model(name: str, *, thinking: bool = True, temperature: float | None = 1.0,
                    max_temperature: float | None = 2.0, actions: tuple[str, ...] = ("generateContent", "countTokens"),
                    display_name: str | None = None) -> dict[str, Any]:
    """One entry of ``GET /v1/models`` in the API's JSON shape."""
    entry: dict[str, Any] = {
        "name": f"models/{name}", "version": "001", "displayName": display_name or name,
        "inputTokenLimit": 1048576, "outputTokenLimit": 65536, "supportedGenerationMethods": list(actions),
        "thinking": thinking,
    }
    if temperature is not None:
        entry["temperature"] = temperature
    if max_temperature is not None:
        entry["maxTemperature"] = max_temperature
    return entry


#: The catalogue the fake lists by default (a plausible December 2026 line-up).
DEFAULT_CATALOGUE = [
    catalogue_model("gemini-3.6-flash"),
    catalogue_model("gemini-3.8-flash"),
    catalogue_model("gemini-3.5-flash-lite"),
    catalogue_model("gemini-3.1-pro-preview"),
    catalogue_model("gemini-2.5-flash-lite", temperature=1.0),
    catalogue_model("gemini-robotics-er-2-preview"),
    catalogue_model("gemini-3.9-flash-preview"),
    catalogue_model("gemini-3.1-flash-tts-preview", thinking=False),
    catalogue_model("gemini-embedding-2", thinking=False, actions=("embedContent",)),
]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FakeGemini:
    """The server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    Example:
        >>> with FakeGemini() as server:           # doctest: +SKIP
        ...     server.queue(Reply('[{"box_2d": [0, 0, 500, 500], "label": "a"}]'))
        ...     os.environ["GOOGLE_GEMINI_BASE_URL"] = server.url
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.requests: list[RecordedRequest] = []
        self.default: Reply | Callable[[RecordedRequest], Reply] = kind_aware_answer
        self.extra_routes: dict[str, Callable[[RecordedRequest, BaseHTTPRequestHandler], bool]] = {}
        #: ``GET /models`` lists these (API JSON entries, see :func:`catalogue_model`).
        self.catalogue: list[dict[str, Any]] = [dict(m) for m in DEFAULT_CATALOGUE]
        #: Entries per ``GET /models`` page (the SDK follows ``nextPageToken``).
        self.page_size = 4
        self.rejections: list[Rejection] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends replies that hang or dribble
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *replies: Reply | str) -> None:
        """Answer the next requests with these replies (strings become ``Reply(text)``)."""
        with self._lock:
            for r in replies:
                self._queue.append(Reply(r) if isinstance(r, str) else r)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def generate_requests(self) -> list[RecordedRequest]:
        """Only the generateContent / streamGenerateContent requests."""
        return [r for r in self.requests if r.action in ("generateContent", "streamGenerateContent")]

    def interaction_requests(self) -> list[RecordedRequest]:
        """Only the ``POST .../interactions`` requests."""
        return [r for r in self.requests if r.is_interaction]

    def model_requests(self) -> list[RecordedRequest]:
        """Every request that asks a model for an answer (either API)."""
        return [r for r in self.requests
                if r.is_interaction or r.action in ("generateContent", "streamGenerateContent")]

    def list_requests(self) -> list[RecordedRequest]:
        """The ``GET .../models`` requests (catalogue pages)."""
        return [r for r in self.requests if r.method == "GET" and re.search(r"/models(\?|$)", r.path)]

    def reject(self, **rule: Any) -> Rejection:
        """Answer HTTP 400 to requests that carry a setting (see :class:`Rejection`)."""
        rejection = Rejection(**rule)
        self.rejections.append(rejection)
        return rejection

    def start(self) -> FakeGemini:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ----------------------------------------------------------------------------
    def _next_reply(self, req: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        default = self.default
        return default(req) if callable(default) else default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without TCP_NODELAY every keep-alive answer waits ~40 ms for the client's delayed ACK
            # (headers and body go out in two small writes): a stall no real server has.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _read(self, method: str) -> RecordedRequest:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                req = RecordedRequest(method, self.path, dict(self.headers), body, raw)
                with server._lock:
                    server.requests.append(req)
                return req

            def _send_json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

            def _dispatch(self, method: str) -> None:
                req = self._read(method)
                for pattern, route in server.extra_routes.items():
                    if re.search(pattern, self.path) and route(req, self):
                        return
                if method == "GET" and re.search(r"/models(\?|$)", self.path):
                    self._list_models()
                    return
                if not req.is_interaction and req.action not in ("generateContent", "streamGenerateContent"):
                    self._send_json(404, {"error": {"code": 404, "message": f"no route {self.path}", "status": "NOT_FOUND"}})
                    return
                for rejection in list(server.rejections):
                    why = rejection.check(req)
                    if why:
                        self._send_json(400, {"error": {"code": 400, "message": why, "status": "INVALID_ARGUMENT"}})
                        return
                reply = server._next_reply(req)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.hang:
                    self._hang(req)
                    return
                if reply.reset:
                    self._reset()
                    return
                if reply.raw_body is not None or reply.dribble_delay or reply.reset_after_bytes is not None:
                    self._send_fault(req, reply)
                    return
                if reply.status >= 400:
                    self._send_json(
                        reply.status,
                        {
                            "error": {
                                "code": reply.status,
                                "message": reply.error_message or f"fake error {reply.status}",
                                "status": _STATUS_NAMES.get(reply.status, "UNKNOWN"),
                            }
                        },
                    )
                    return
                if req.is_interaction:
                    self._send_json(200, _interaction_body(reply, req))
                elif req.action == "streamGenerateContent":
                    self._stream(req, reply)
                else:
                    self._send_json(200, _response_body(reply, reply.text, reply.finish_reason, req.model))

            # -- network faults ---------------------------------------------------------------
            def _reset(self) -> None:
                """Close with a TCP RST (SO_LINGER 0), the way a crashed proxy or server does."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _hang(self, req: RecordedRequest) -> None:
                """Accept the request and say nothing until the client hangs up or the server stops."""
                sock = self.connection
                self.close_connection = True
                while not server._stopping.is_set():
                    readable, _, _ = select.select([sock], [], [], 0.05)
                    if not readable:
                        continue
                    try:
                        peeked = sock.recv(1, socket.MSG_PEEK)
                    except OSError:
                        peeked = b""
                    if not peeked:
                        req.client_hung_up = True
                        return
                    time.sleep(0.05)  # the client sent more bytes: keep ignoring them
                req.client_hung_up = False

            def _send_fault(self, req: RecordedRequest, reply: Reply) -> None:
                """A raw, dribbled or cut-off body (see :class:`Reply`)."""
                if reply.raw_body is not None:
                    data, content_type = reply.raw_body, reply.content_type
                elif req.is_interaction:
                    data, content_type = json.dumps(_interaction_body(reply, req)).encode(), "application/json"
                else:
                    body = _response_body(reply, reply.text, reply.finish_reason, req.model)
                    data, content_type = json.dumps(body).encode(), "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                cut = reply.reset_after_bytes
                try:
                    if reply.dribble_delay:
                        req.client_hung_up = False
                        for i in range(len(data) if cut is None else min(cut, len(data))):
                            if server._stopping.is_set():
                                self.close_connection = True
                                return
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(reply.dribble_delay)
                    else:
                        self.wfile.write(data if cut is None else data[:cut])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    req.client_hung_up = True
                    self.close_connection = True
                    return
                if cut is not None:
                    self._reset()

            def _list_models(self) -> None:
                from urllib.parse import parse_qs, urlparse

                query = parse_qs(urlparse(self.path).query)
                start = int((query.get("pageToken") or ["0"])[0] or 0)
                size = max(1, server.page_size)
                page = server.catalogue[start : start + size]
                body: dict[str, Any] = {"models": page}
                if start + size < len(server.catalogue):
                    body["nextPageToken"] = str(start + size)
                self._send_json(200, body)

            def _stream(self, req: RecordedRequest, reply: Reply) -> None:
                pieces = reply.chunks
                if pieces is None:
                    step = max(1, reply.chunk_size)
                    pieces = [reply.text[i : i + step] for i in range(0, len(reply.text), step)] or [""]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                req.stream_completed = False
                try:
                    for i, piece in enumerate(pieces):
                        last = i == len(pieces) - 1
                        body = _response_body(reply, piece, reply.finish_reason if last else None, req.model)
                        event = f"data: {json.dumps(body)}\r\n\r\n".encode()
                        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                        self.wfile.flush()
                        req.events_sent = i + 1
                        if reply.chunk_delay and not last:
                            time.sleep(reply.chunk_delay)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    req.stream_completed = True
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    self.close_connection = True

        return Handler


# -- a default answer that fits the request's kind ------------------------------------------

_BOXES = [
    {"box_2d": [120, 80, 560, 420], "label": "left object"},
    {"box_2d": [200, 520, 760, 930], "label": "right object"},
    {"box_2d": [600, 300, 950, 640], "label": "bottom object"},
]
_POINTS = [
    {"point": [300, 250], "label": "left object"},
    {"point": [480, 720], "label": "right object"},
]
_BOXES3D = [
    {"label": "table", "box_3d": [0.0, 2.5, -0.6, 1.2, 0.8, 0.7, 0, 0, 15]},
    {"label": "cup", "box_3d": [0.3, 2.0, -0.2, 0.1, 0.1, 0.12, 0, 0, 0]},
]


def _ellipse_mask_png() -> str:
    import io

    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:64, 0:64]
    inside = ((xx - 31.5) / 30) ** 2 + ((yy - 31.5) / 30) ** 2 <= 1
    buf = io.BytesIO()
    Image.fromarray((inside * 255).astype("uint8"), "L").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _polygon_mask(box_2d: list[int]) -> list[list[int]]:
    """A diamond inside the box, as ``[[x, y], ...]`` over the whole image (0-1000)."""
    y0, x0, y1, x1 = box_2d
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    return [[cx, y0 + 10], [x1 - 10, cy], [cx, y1 - 10], [x0 + 10, cy]]


def kind_aware_answer(req: RecordedRequest) -> Reply:
    """A plausible answer for whatever kind the request asks for (by its wording)."""
    words = f"{req.system_instruction or ''}\n{req.prompt}".lower()
    if "mask" in words and "never return masks" not in words and "[x, y] points" in words:
        items = [dict(b, mask=_polygon_mask(b["box_2d"])) for b in _BOXES[:2]]  # 3.6+: polygons
    elif "mask" in words and "never return masks" not in words:
        items = [dict(b, mask=_ellipse_mask_png()) for b in _BOXES[:2]]
    elif "3d" in words or "box_3d" in words:
        items = _BOXES3D
    elif "point" in words:
        items = _POINTS
    else:
        items = _BOXES
    return Reply("```json\n" + json.dumps(items, indent=1) + "\n```")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    server = FakeGemini(port=args.port)
    if args.delay:
        base = server.default

        def slow(req: RecordedRequest) -> Reply:
            reply = base(req) if callable(base) else base
            reply.delay = args.delay
            return reply

        server.default = slow
    print(server.url, flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
