"""The SDK's HTTP client, made to keep the request's deadline and to report network faults as retryable.

Given to ``google.genai.Client`` as ``HttpOptions(httpx_client=...)``, so both request paths
(``generate_content`` and the Interactions API) send through it. Outside a request of ours
(no current :class:`~spatial_nb.deadline.Deadline`: model lists, Batch API files) it is a
plain ``httpx2.Client``. Inside one, each HTTP attempt:

- gets the time left as its connect/read/write/pool timeout and ``X-Server-Timeout``;
- reads its body under a watchdog that shuts the socket at the deadline, so a body that
  dribbles a byte a second ends on time (httpx's timeouts are per read, not per response);
- turns what the SDK would not retry into an answer it does retry: a connection reset or
  broken body becomes HTTP 503, a 200 whose body is not JSON (an HTML error page from a
  proxy) becomes HTTP 502, both marked with the ``x-spatial-nb-fault`` header so the final
  error can say what really happened;
- stops with :class:`~spatial_nb.deadline.DeadlineExceeded` (which the SDK does not retry)
  when time is up, or when the SDK's next backoff wait would end after the deadline.
"""

from __future__ import annotations

import json
import math
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

try:  # the SDK's default HTTP library (google-genai >= 3 depends on httpx2)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - an SDK on plain httpx
    import httpx  # type: ignore[no-redef]

from .deadline import FAULT_HEADER, Deadline, current

__all__ = ["GuardedHttpClient", "make_http_client", "ssl_context"]

_SNIPPET = 120


def ssl_context() -> ssl.SSLContext:
    """The TLS settings of every Gemini connection: made like the SDK's own (the ``SSL_CERT_FILE``
    / ``SSL_CERT_DIR`` CAs when set, else httpx's defaults), once per process and per value of
    those two variables. Loading the CA certificates costs ~20 ms of CPU; an SSLContext is
    safe to share between clients and threads."""
    where = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _ssl_lock:
        context = _ssl_contexts.get(where)
        if context is None:
            if where[0] or where[1]:
                context = ssl.create_default_context(cafile=where[0], capath=where[1])
            else:
                context = httpx.create_ssl_context()
            _ssl_contexts[where] = context
        return context


_ssl_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_ssl_lock = threading.Lock()


def make_http_client(verify: ssl.SSLContext | None = None) -> GuardedHttpClient:
    """A :class:`GuardedHttpClient` set up like the SDK's own (``verify``: default :func:`ssl_context`; env proxies)."""
    return GuardedHttpClient(verify=verify if verify is not None else ssl_context(), timeout=None)


class GuardedHttpClient(httpx.Client):
    """``httpx2.Client`` whose :meth:`send` keeps the current request's deadline (see module doc)."""

    def send(self, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        deadline = current()
        if deadline is None:
            return super().send(request, stream=stream, **kwargs)
        return _send(lambda: super(GuardedHttpClient, self).send(request, stream=True, **kwargs), request, deadline)


def _bounded(timeouts: Any, left: float) -> dict[str, float]:
    base = timeouts if isinstance(timeouts, dict) else {}
    out = {}
    for phase in ("connect", "read", "write", "pool"):
        value = base.get(phase)
        out[phase] = left if value is None else min(float(value), left)
    return out


def _send(send: Any, request: Any, deadline: Deadline) -> Any:
    attempt = deadline.next_attempt()
    left = deadline.time_left()
    if left is not None:
        if left <= 0:
            raise deadline.exceeded(
                "no time was left for attempt %d" % attempt if attempt > 1 else "no time was left to send it")
        request.extensions["timeout"] = _bounded(request.extensions.get("timeout"), left)
        request.headers["X-Server-Timeout"] = str(max(1, math.ceil(left)))
    try:
        response = send()
    except httpx.TransportError as exc:  # timeouts, refused/reset connections, protocol errors
        if deadline.expired():
            raise deadline.exceeded("no answer arrived in time") from None
        return _fault(request, deadline, 503, "connection", f"{type(exc).__name__}: {exc}")
    watchdog = _Watchdog(response, left) if left is not None else None
    content_type = response.headers.get("content-type", "")
    if response.status_code == 200 and "event-stream" in content_type:
        return _replace(response, _DeadlineStream(response, deadline, watchdog))
    chunks = []
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            if deadline.expired():
                raise deadline.exceeded("the answer was still arriving")
    except httpx.TransportError as exc:
        if deadline.expired() or (watchdog is not None and watchdog.fired):
            raise deadline.exceeded("the answer was still arriving") from None
        return _fault(request, deadline, 503, "connection",
                      f"the connection broke while the answer arrived ({type(exc).__name__}: {exc})")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        response.close()
    body = b"".join(chunks)
    if response.status_code == 200 and body.strip() and not _is_json(body):
        shown = " ".join(body[:_SNIPPET].decode("utf-8", "replace").split())
        return _fault(request, deadline, 502, "not-json",
                      f"HTTP 200 with a body that is not JSON ({content_type or 'no content type'}, "
                      f"{len(body)} bytes: {shown!r})")
    rebuilt = _replace(response, body)
    if response.status_code in deadline.retry_statuses:
        deadline.last_failure = f"HTTP {response.status_code}"
        if not deadline.room_for_retry(_retry_after(response)):
            raise deadline.exceeded(f"HTTP {response.status_code} on attempt {attempt}, and no time was left "
                                    "to wait for another attempt")
    return rebuilt


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _fault(request: Any, deadline: Deadline, status: int, kind: str, message: str) -> Any:
    """An answer the SDK retries (``status``), saying what really happened."""
    deadline.last_failure = message
    if not deadline.room_for_retry():
        raise deadline.exceeded(f"{message} on attempt {deadline.attempt}, and no time was left for another")
    body = json.dumps({"error": {"code": status, "status": "UNAVAILABLE", "message": message}}).encode()
    return httpx.Response(status, headers={"content-type": "application/json", FAULT_HEADER: kind},
                          content=body, request=request)


def _replace(response: Any, content: Any) -> Any:
    """``response`` with a new body: bytes already decoded, or a wrapped stream."""
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    if isinstance(content, bytes):
        return httpx.Response(response.status_code, headers=headers, content=content, request=response.request,
                              extensions=response.extensions)
    return httpx.Response(response.status_code, headers=headers, stream=content, request=response.request,
                          extensions=response.extensions)


class _Watchdog:
    """Shuts the response's socket at the deadline, ending a read that would block past it."""

    def __init__(self, response: Any, seconds: float):
        self.fired = False
        self._response = response
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            try:  # the plain socket call: SSLSocket.shutdown would also drop its TLS state under the reader
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


class _DeadlineStream(httpx.SyncByteStream):
    """A server-sent-events body that ends at the deadline (the watchdog unblocks a stalled read)."""

    def __init__(self, response: Any, deadline: Deadline, watchdog: _Watchdog | None):
        self._response = response
        self._deadline = deadline
        self._watchdog = watchdog

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._response.iter_bytes():
                yield chunk
                if self._deadline.expired():
                    raise self._deadline.exceeded("the streamed answer was still arriving")
        except httpx.TransportError:
            if self._deadline.expired() or (self._watchdog is not None and self._watchdog.fired):
                raise self._deadline.exceeded("the streamed answer was still arriving") from None
            raise
        finally:
            self.close()

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._response.close()
