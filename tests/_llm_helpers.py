"""A fault-injecting loopback server that speaks the OpenAI chat and Anthropic Messages protocols.

Faults are asked for in the last user message: ``#429*2`` (the first two attempts get
429 with Retry-After), ``#500*1``, ``#529*1``, ``#drop*1`` (connection closed without a
reply), ``#slow*1`` (the reply takes ``slow_s``), ``#400`` (always a 400). The reply
text is ``echo: <last user message>``, or what ``reply(body, attempt)`` returns (an int: that
HTTP error instead). The server counts attempts per request (keyed by model + messages) and
the peak number of requests in flight, logs the key and arrival time of every request body
(``received``) and the usage of every 200 reply (``served``: model, prompt and completion tokens).

Run standalone (used by the bench and the resume test): ``python tests/_llm_helpers.py
--latency 0.1`` prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

_FAULT = re.compile(r"#(429|500|529|503|drop|slow)\*(\d+)|#(400)")


class FakeServer:
    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        retry_after: str | None = "0.2",
        slow_s: float = 5.0,
        api_key: str | None = None,
        reply: Callable[[dict[str, Any], int], str | int] | None = None,
    ) -> None:
        self.latency_s = latency_s
        self.reply = reply
        self.received: list[tuple[str, float]] = []  # (body_key, time.monotonic()) per request, in order
        self.served: list[tuple[str, int, int]] = []  # (model, prompt_tokens, completion_tokens) per 200
        self.retry_after = retry_after
        self.slow_s = slow_s
        self.api_key = api_key
        self.attempts: Counter[str] = Counter()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._conn, "127.0.0.1", 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:

            async def shutdown() -> None:
                assert self._server is not None
                self._server.close()
                for w in list(self._writers):
                    w.transport.abort()
                await asyncio.sleep(0.05)

            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def cli_args(self, *options: str) -> list[str]:
        """The CLI's model arguments for the openai backend on this server (no key), with ``options``
        (``key=value``) and no progress bar."""
        opts = [x for o in options for x in ("--option", o)]
        return [
            "--model",
            "openai:fake",
            "--option",
            f"base_url={self.base_url}",
            "--option",
            "api_key=none",
            *opts,
            "--no-progress",
        ]

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def key_of(self, text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @staticmethod
    def body_key(body: dict[str, Any]) -> str:
        """Every field of a request body: two requests share it only if they are the same request."""
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    # --- HTTP ------------------------------------------------------------------------------------
    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                result = await self._handle(method, path.split("?")[0], headers, body)
                if result is None:  # drop the connection without replying
                    writer.transport.abort()
                    return
                status, extra, payload = result
                data = json.dumps(payload).encode()
                head = [
                    f"HTTP/1.1 {status} X",
                    "content-type: application/json",
                    f"content-length: {len(data)}",
                ]
                head += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any] | None:
        anthropic = path == "/v1/messages"
        if method == "GET" and path == "/v1/models":
            return (
                200,
                {},
                {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "test"}]},
            )
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/messages"):
            return 404, {}, {"error": {"message": f"no route {method} {path}", "type": "not_found"}}
        req = json.loads(body)
        self.bodies.append(req)
        self.received.append((self.body_key(req), time.monotonic()))
        if anthropic:
            problem = self._check_anthropic(headers, req)
            if problem:
                return problem
        msgs = req["messages"]
        last = next((m["content"] for m in reversed(msgs) if m["role"] == "user"), "")
        if isinstance(last, list):
            last = "".join(b.get("text", "") for b in last)
        key = self.key_of(json.dumps([req.get("model"), msgs, req.get("system")], sort_keys=True))
        self.attempts[key] += 1
        self.times[key].append(time.monotonic())
        n = self.attempts[key]
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            for m in _FAULT.finditer(last):
                if m.group(3):
                    return self._error(anthropic, 400, "bad request asked for by #400")
                fault, times = m.group(1), int(m.group(2))
                if n > times:
                    continue
                if fault == "drop":
                    return None
                if fault == "slow":
                    await asyncio.sleep(self.slow_s)
                    continue
                return self._error(anthropic, int(fault), f"injected {fault}")
            text: str | int = f"echo: {last}" if self.reply is None else self.reply(req, n)
            if isinstance(text, int):
                return self._error(anthropic, text, f"error {text} asked for by reply()")
            return 200, {}, self._reply(anthropic, req, text)
        finally:
            self.in_flight -= 1

    def _reply(self, anthropic: bool, req: dict[str, Any], text: str) -> dict[str, Any]:
        pt = sum(len(str(m["content"]).split()) for m in req["messages"])
        ct = len(text.split())
        self.served.append((req["model"], pt, ct))
        if anthropic:
            return {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": req["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": pt, "output_tokens": ct},
            }
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        }

    def _error(self, anthropic: bool, status: int, message: str) -> tuple[int, dict[str, str], Any]:
        headers = {"retry-after": self.retry_after} if status in (429, 529) and self.retry_after else {}
        if anthropic:
            etype = {
                400: "invalid_request_error",
                401: "authentication_error",
                429: "rate_limit_error",
                529: "overloaded_error",
            }.get(status, "api_error")
            return (
                status,
                {**headers, "request-id": "req_fake"},
                {"type": "error", "error": {"type": etype, "message": message}},
            )
        etype = {400: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
        return status, headers, {"error": {"message": message, "type": etype, "param": None, "code": None}}

    def _check_anthropic(
        self, headers: dict[str, str], req: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any] | None:
        """The checks the real Messages API makes that a client could get wrong."""
        self.last_headers = headers
        keys = {headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer ")}
        if self.api_key is not None and self.api_key not in keys:
            return self._error(True, 401, "invalid x-api-key")
        if "anthropic-version" not in headers:
            return self._error(True, 400, "anthropic-version header is required")
        for field in ("model", "max_tokens", "messages"):
            if field not in req:
                return self._error(True, 400, f"{field}: Field required")
        for i, m in enumerate(req["messages"]):
            if m.get("role") not in ("user", "assistant"):
                return self._error(True, 400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
        return None


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.0)
    args = ap.parse_args()
    srv = FakeServer(latency_s=args.latency).start()
    print(f"PORT {srv.port}", flush=True)
    threading.Event().wait()
