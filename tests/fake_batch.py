"""Gemini Batch API and File API routes for the fake Gemini server (tests only).

``FakeBatchAPI(server)`` registers, through ``server.extra_routes``, the endpoints the real
google-genai SDK calls: ``models/{m}:batchGenerateContent`` (create), ``batches/{id}`` (get),
the resumable upload (``upload/{version}/files`` + the upload session URL) and
``files/{id}:download``. Each inner request is answered by the server's queue/default
(so the same scripts work), after ``polls_before_done`` status checks. Answers can come back
out of order and without their keys, as the real API's inline answers do (python-genai
issues #1909 and #2008), and jobs can end in any state, including ones the SDK does not know.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from typing import Any

from .fake_gemini import FakeGemini, RecordedRequest, _response_body

__all__ = ["FakeBatchAPI"]


class FakeBatchAPI:
    """Batch jobs kept in memory.

    Attributes:
        jobs: ``{"batches/N": {"state", "model", "requests": [(key, body)], "polls", "output"}}``.
        files: ``{"files/name": bytes}`` uploaded or produced.
        inner_requests: The per-image requests the jobs carried (RecordedRequest each).
        final_state: State a job ends in (``BATCH_STATE_SUCCEEDED`` unless a test changes it);
            jobs ending ``*_SUCCEEDED`` or ``*_PARTIALLY_SUCCEEDED`` carry answers.
        extra_response_fields: Merged into every answer (fields a newer API might add).
        row_order: ``"request"``, ``"reversed"`` or ``"shuffled"`` (seeded): the order of the
            answers in the output, inline or in the result file.
        drop_keys: Answers come back without ``metadata`` (inline) or ``key`` (result file).
        end_time: Finished jobs report ``endTime`` (the real API does).
    """

    def __init__(self, server: FakeGemini, polls_before_done: int = 1):
        self.server = server
        self.polls_before_done = polls_before_done
        self.final_state = "BATCH_STATE_SUCCEEDED"
        self.extra_response_fields: dict[str, Any] = {}
        self.row_order = "request"
        self.drop_keys = False
        self.end_time = True
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.inner_requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        server.extra_routes.update({
            r":batchGenerateContent": self._create,
            r"/batches/[^/:?]+": self._get,
            r"^/upload/[^/]+/files": self._upload_start,
            r"^/upload-session/": self._upload_data,
            r"/files/[^/:?]+:download": self._download,
        })

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _send(handler: Any, status: int, payload: dict | bytes, headers: dict[str, str] | None = None) -> bool:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes) else "application/json")
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return True

    def _operation(self, name: str) -> dict[str, Any]:
        job = self.jobs[name]
        meta: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "name": name, "model": f"models/{job['model']}", "state": job["state"],
            "displayName": job.get("display_name", ""),
        }
        if job.get("output") is not None:
            meta["output"] = job["output"]
        if job.get("finished") and self.end_time:
            meta["endTime"] = "2026-12-03T10:00:00Z"
        out: dict[str, Any] = {"name": name, "metadata": meta}
        if job.get("finished"):
            out["done"] = True
        return out

    # -- routes ---------------------------------------------------------------------------
    def _create(self, req: RecordedRequest, handler: Any) -> bool:
        batch = (req.body or {}).get("batch", {})
        source = batch.get("inputConfig", {})
        requests: list[tuple[str | None, dict]] = []
        if "requests" in source:
            for entry in source["requests"]["requests"]:
                requests.append(((entry.get("metadata") or {}).get("key"), entry["request"]))
            from_file = None
        else:
            from_file = source["fileName"]
            for line in self.files[from_file].decode().splitlines():
                if line.strip():
                    row = json.loads(line)
                    requests.append((row.get("key"), row["request"]))
        name = f"batches/job{next(self._ids)}"
        with self._lock:
            self.jobs[name] = {"state": "BATCH_STATE_PENDING", "model": req.model, "requests": requests,
                               "polls": 0, "output": None, "from_file": from_file,
                               "display_name": batch.get("displayName")}
        return self._send(handler, 200, self._operation(name))

    def _get(self, req: RecordedRequest, handler: Any) -> bool:
        if req.method != "GET":
            return False
        name = "batches/" + req.path.split("/batches/", 1)[1].split("?", 1)[0]
        job = self.jobs.get(name)
        if job is None:
            return self._send(handler, 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}})
        with self._lock:
            job["polls"] += 1
            if job["polls"] > self.polls_before_done and not job.get("finished"):
                self._finish(name, job)
            elif not job.get("finished"):
                job["state"] = "BATCH_STATE_RUNNING"
        return self._send(handler, 200, self._operation(name))

    def _finish(self, name: str, job: dict[str, Any]) -> None:
        answers = []
        for key, body in job["requests"]:
            inner = RecordedRequest("POST", f"/v1/models/{job['model']}:generateContent", {}, body)
            self.inner_requests.append(inner)
            reply = self.server._next_reply(inner)
            entry: dict[str, Any] = {"metadata": {"key": key}} if key is not None else {}
            if reply.status >= 400:
                entry["error"] = {"code": reply.status, "message": reply.error_message or f"fake error {reply.status}"}
            else:
                entry["response"] = {**_response_body(reply, reply.text, reply.finish_reason, job["model"]),
                                     **self.extra_response_fields}
            if self.drop_keys:
                entry.pop("metadata", None)
            answers.append((key, entry))
        if self.row_order == "reversed":
            answers.reverse()
        elif self.row_order == "shuffled":
            random.Random(7).shuffle(answers)
        job["state"] = self.final_state
        job["finished"] = True
        if not self.final_state.endswith("SUCCEEDED"):  # also PARTIALLY_SUCCEEDED
            job["output"] = None
            return
        if job["from_file"]:
            lines = []
            for key, entry in answers:
                row = {} if self.drop_keys else {"key": key}
                row.update({k: v for k, v in entry.items() if k != "metadata"})
                lines.append(json.dumps(row))
            result_name = f"files/{name.split('/')[1]}-results"
            self.files[result_name] = ("\n".join(lines) + "\n").encode()
            job["output"] = {"responsesFile": result_name}
        else:
            job["output"] = {"inlinedResponses": {"inlinedResponses": [entry for _, entry in answers]}}

    def _upload_start(self, req: RecordedRequest, handler: Any) -> bool:
        session = f"s{next(self._ids)}"
        host, port = self.server._httpd.server_address[:2]
        return self._send(handler, 200, {}, {
            "x-goog-upload-url": f"http://{host}:{port}/upload-session/{session}",
            "x-goog-upload-status": "active",
        })

    def _upload_data(self, req: RecordedRequest, handler: Any) -> bool:
        name = f"files/upload{next(self._ids)}"
        self.files[name] = req.raw_body
        file = {"name": name, "mimeType": "application/jsonl", "sizeBytes": str(len(req.raw_body)), "state": "ACTIVE"}
        return self._send(handler, 200, {"file": file}, {"x-goog-upload-status": "final"})

    def _download(self, req: RecordedRequest, handler: Any) -> bool:
        name = "files/" + req.path.split("/files/", 1)[1].split(":download", 1)[0]
        if name not in self.files:
            return self._send(handler, 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}})
        return self._send(handler, 200, self.files[name])
