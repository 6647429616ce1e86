"""A fake Gemini HTTP server on 127.0.0.1 for tests: the real google-genai SDK talks to it.

Point the SDK at it with ``GOOGLE_GEMINI_BASE_URL=server.url``. It records every request
body (so tests assert what we send) and answers from a queue of scripted :class:`Reply`
objects, falling back to ``server.default`` (a Reply or a callable taking the request).
Replies can be errors (429/500/400), slow, cut by MAX_TOKENS, blocked by SAFETY, or
streamed as server-sent events; a streamed reply records whether the client hung up early.

Run standalone (for notebooks or a browser test driven from another process)::

    python tests/fake_gemini.py --port 8765
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "RecordedRequest", "FakeGemini", "kind_aware_answer"]


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

    @property
    def model(self) -> str | None:
        m = re.search(r"/models/([^:/?]+)", self.path)
        return m.group(1) if m else None

    @property
    def action(self) -> str | None:
        m = re.search(r":([A-Za-z]+)", self.path)
        return m.group(1) if m else None

    @property
    def parts(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for content in (self.body or {}).get("contents", []):
            out.extend(content.get("parts", []))
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
        return "\n".join(p.get("text", "") for p in si.get("parts", []))

    @property
    def generation_config(self) -> dict[str, Any]:
        return (self.body or {}).get("generationConfig") or {}

    @property
    def safety_settings(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("safetySettings") or []


def _response_body(reply: Reply, text: str | None, finish: str | None, model: str | None) -> dict:
    usage = reply.usage or {
        "promptTokenCount": 300,
        "candidatesTokenCount": max(1, len(reply.text) // 4),
        "totalTokenCount": 300 + max(1, len(reply.text) // 4),
    }
    body: dict[str, Any] = {"usageMetadata": usage, "modelVersion": model or "fake"}
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
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
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

    def start(self) -> FakeGemini:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
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
                if req.action not in ("generateContent", "streamGenerateContent"):
                    self._send_json(404, {"error": {"code": 404, "message": f"no route {self.path}", "status": "NOT_FOUND"}})
                    return
                reply = server._next_reply(req)
                if reply.delay:
                    time.sleep(reply.delay)
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
                if req.action == "streamGenerateContent":
                    self._stream(req, reply)
                else:
                    self._send_json(200, _response_body(reply, reply.text, reply.finish_reason, req.model))

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


def kind_aware_answer(req: RecordedRequest) -> Reply:
    """A plausible answer for whatever kind the request asks for (by its wording)."""
    words = f"{req.system_instruction or ''}\n{req.prompt}".lower()
    if "mask" in words and "never return masks" not in words:
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
