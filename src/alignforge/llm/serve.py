"""An OpenAI-compatible HTTP endpoint over any backend (``alignforge serve --model local``).

``POST /v1/chat/completions`` (non-streaming) and ``GET /v1/models``, with token usage
in every reply and errors in OpenAI's ``{"error": {...}}`` shape. Requests arriving
together are gathered into one batch (up to ``max_batch``, waiting at most
``batch_wait_s`` for company), so concurrent clients share the local model's batched
generation. Built on the standard library's ``ThreadingHTTPServer``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError

__all__ = ["make_server", "request_from_openai", "Batcher"]


class Batcher:
    """Collects requests from many threads and runs them through ``llm.generate`` in batches."""

    def __init__(self, llm: LLM, *, max_batch: int = 16, wait_s: float = 0.01) -> None:
        self.llm = llm
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._q: queue.SimpleQueue[tuple[ChatRequest, Future[ChatResponse | LLMError]]] = queue.SimpleQueue()
        self.batches = 0
        threading.Thread(target=self._work, name="alignforge-serve-batcher", daemon=True).start()

    def submit(self, req: ChatRequest) -> Future[ChatResponse | LLMError]:
        fut: Future[ChatResponse | LLMError] = Future()
        self._q.put((req, fut))
        return fut

    def _work(self) -> None:
        while True:
            batch = [self._q.get()]
            deadline = time.monotonic() + self.wait_s
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    batch.append(self._q.get(timeout=left) if left > 0 else self._q.get_nowait())
                except queue.Empty:
                    break
            self.batches += 1
            futs = [f for _, f in batch]
            try:
                results = self.llm.generate([r for r, _ in batch])
            except Exception as exc:  # a crashed batch fails its requests, never the server
                results = [LLMError("backend", f"{type(exc).__name__}: {exc}")] * len(batch)
            for fut, res in zip(futs, results, strict=True):
                fut.set_result(res)


class _BadRequest(ValueError):
    def __init__(
        self, message: str, param: str | None = None, status: int = 400, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.param, self.status, self.code = param, status, code


def request_from_openai(body: Any) -> ChatRequest:
    """A :class:`ChatRequest` from an OpenAI chat-completions body (OpenAI's defaults: temperature 1)."""
    if not isinstance(body, dict):
        raise _BadRequest("the request body must be a JSON object")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise _BadRequest("'messages' must be a non-empty array", "messages")
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant"):
            raise _BadRequest(f"messages[{i}].role must be system, user or assistant", f"messages[{i}].role")
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(
                p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
        if not isinstance(content, str):
            raise _BadRequest(f"messages[{i}].content must be a string", f"messages[{i}].content")
        out.append({"role": "system" if m["role"] == "developer" else m["role"], "content": content})
    if body.get("stream"):
        raise _BadRequest("streaming is not supported by alignforge serve; send stream=false", "stream")
    if body.get("n", 1) != 1:
        raise _BadRequest("only n=1 is supported", "n")
    stop = body.get("stop") or ()
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    schema = None
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = json.dumps(fmt.get("json_schema", {}).get("schema", {}), sort_keys=True)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 256
    try:
        return ChatRequest.chat(
            out,
            model=str(body.get("model", "")),
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            max_tokens=int(max_tokens),
            seed=body.get("seed"),
            stop=stop,
            json_schema=schema,
        )
    except (TypeError, ValueError) as exc:
        raise _BadRequest(f"invalid parameter: {exc}") from None


def make_server(
    llm: LLM,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_name: str | None = None,
    max_batch: int = 16,
    batch_wait_s: float = 0.01,
) -> ThreadingHTTPServer:
    """A ready server (call ``serve_forever``); ``server.server_address[1]`` is the port (0 picks one)."""
    served = model_name or getattr(llm, "model_id", None) or llm.name
    names = {served, llm.name}
    batcher = Batcher(llm, max_batch=max_batch, wait_s=batch_wait_s)
    created = int(time.time())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "alignforge-serve"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            pass

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(
            self, status: int, message: str, etype: str, param: str | None = None, code: str | None = None
        ) -> None:
            self._send(status, {"error": {"message": message, "type": etype, "param": param, "code": code}})

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {"id": served, "object": "model", "created": created, "owned_by": "alignforge"}
                        ],
                    },
                )
            elif self.path.rstrip("/") in ("/health", "/v1/health"):
                self._send(200, {"status": "ok", "model": served})
            else:
                self._error(404, f"no route GET {self.path}", "invalid_request_error")

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._error(404, f"no route POST {self.path}", "invalid_request_error")
            try:
                req = request_from_openai(json.loads(raw))
                if req.model and req.model not in names:
                    raise _BadRequest(
                        f"the model {req.model!r} does not exist; this server has {served!r}",
                        "model",
                        404,
                        "model_not_found",
                    )
            except json.JSONDecodeError as exc:
                return self._error(400, f"the body is not valid JSON: {exc}", "invalid_request_error")
            except _BadRequest as exc:
                return self._error(exc.status, str(exc), "invalid_request_error", exc.param, exc.code)
            res = batcher.submit(req).result()
            if isinstance(res, LLMError):
                status = 400 if res.kind == "bad_request" else 500
                etype = "invalid_request_error" if status == 400 else "server_error"
                return self._error(status, res.message, etype)
            u = res.usage
            self._send(
                200,
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": served,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": res.text},
                            "finish_reason": res.finish_reason,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": u.prompt_tokens,
                        "completion_tokens": u.completion_tokens,
                        "total_tokens": u.prompt_tokens + u.completion_tokens,
                    },
                },
            )

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.batcher = batcher  # type: ignore[attr-defined]
    return server
