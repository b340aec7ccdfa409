"""The openai backend against a real loopback HTTP server that injects faults."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

from alignforge.llm import ChatRequest, ChatResponse, LLMError, get_llm  # noqa: E402


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer(retry_after="0.2", slow_s=3.0).start()
    yield srv
    srv.stop()


def _key(srv: FakeServer, model: str, prompt: str) -> str:
    return srv.key_of(json.dumps([model, [{"role": "user", "content": prompt}], None], sort_keys=True))


def _llm(srv: FakeServer, **opts):  # type: ignore[no-untyped-def]
    opts.setdefault("retry_base_delay", 0.05)
    return get_llm("openai:gpt-4o-mini", base_url=srv.base_url, api_key="k", **opts)


def test_results_in_order_with_usage_and_cost(server: FakeServer) -> None:
    llm = _llm(server, concurrency=8)
    prompts = [f"question {i}" for i in range(40)]
    seen: list[int] = []
    out = llm.generate(
        [ChatRequest.chat(p, max_tokens=8) for p in prompts], on_result=lambda i, r: seen.append(i)
    )
    assert [r.text for r in out if isinstance(r, ChatResponse)] == [f"echo: {p}" for p in prompts]
    assert sorted(seen) == list(range(40))
    r0 = out[0]
    assert isinstance(r0, ChatResponse) and r0.usage.prompt_tokens == 2 and r0.usage.completion_tokens == 3
    assert r0.usage.cost_usd == pytest.approx((2 * 0.15 + 3 * 0.60) / 1e6)
    assert server.peak_in_flight <= 8


def test_retries_honour_retry_after_and_stop_on_client_errors(server: FakeServer) -> None:
    server.retry_after = "1"
    llm = _llm(server)
    prompts = ["a #429*2", "b #500*1", "c #drop*1", "d #400", "e #529*1"]
    out = llm.generate([ChatRequest.chat(p) for p in prompts])
    assert [type(r).__name__ for r in out] == [
        "ChatResponse",
        "ChatResponse",
        "ChatResponse",
        "LLMError",
        "ChatResponse",
    ]
    attempts = {p: server.attempts[_key(server, "gpt-4o-mini", p)] for p in prompts}
    assert attempts == {"a #429*2": 3, "b #500*1": 2, "c #drop*1": 2, "d #400": 1, "e #529*1": 2}
    times = server.times[_key(server, "gpt-4o-mini", "a #429*2")]
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False))  # waited Retry-After: 1
    err = out[3]
    assert (
        isinstance(err, LLMError) and err.kind == "bad_request" and err.attempts == 1 and "400" in err.message
    )


def test_timeouts_and_exhausted_retries_become_errors(server: FakeServer) -> None:
    llm = _llm(server, timeout=0.5, max_attempts=2)
    out = llm.generate(
        [ChatRequest.chat("slow #slow*5"), ChatRequest.chat("broken #500*9"), ChatRequest.chat("ok")]
    )
    assert isinstance(out[0], LLMError) and out[0].kind == "timeout" and out[0].attempts == 2
    assert isinstance(out[1], LLMError) and out[1].kind == "server" and out[1].attempts == 2
    assert isinstance(out[2], ChatResponse)


def test_aimd_lowers_concurrency_on_429_and_recovers(server: FakeServer) -> None:
    server.retry_after = "0.05"
    llm = _llm(server, concurrency=16)
    out = llm.generate([ChatRequest.chat(f"r{i} #429*1") for i in range(32)])
    assert all(isinstance(r, ChatResponse) for r in out)
    limiter = llm.pool.limiter  # type: ignore[attr-defined]
    assert limiter.decreases >= 1 and limiter.limit < 16
    llm.generate([ChatRequest.chat(f"fine {i}") for i in range(400)])
    assert limiter.limit == 16


def test_request_body_carries_every_parameter(server: FakeServer) -> None:
    llm = _llm(server)
    schema = json.dumps({"type": "object", "properties": {"score": {"type": "integer"}}})
    req = ChatRequest.chat(
        "x",
        system="sys",
        temperature=0.7,
        top_p=0.9,
        max_tokens=5,
        seed=3,
        stop=["END"],
        json_schema=schema,
        extra=(("reasoning_effort", "low"),),
    )
    [res] = llm.generate([req])
    assert isinstance(res, ChatResponse)
    body = server.bodies[-1]
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "x"}]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"], body["stop"]) == (
        0.7,
        0.9,
        5,
        3,
        ["END"],
    )
    assert body["response_format"]["json_schema"]["schema"]["properties"]["score"] == {"type": "integer"}
    assert body["reasoning_effort"] == "low"


def test_unreachable_server_is_a_connection_error() -> None:
    llm = get_llm("openai:m", base_url="http://127.0.0.1:9/v1", max_attempts=2, retry_base_delay=0.01)
    [res] = llm.generate([ChatRequest.chat("x")])
    assert isinstance(res, LLMError) and res.kind == "connection" and res.attempts == 2


def test_sdk_default_transport_also_works(server: FakeServer) -> None:
    llm = _llm(server, http="httpx")
    out = llm.generate([ChatRequest.chat("a #429*1"), ChatRequest.chat("b")])
    assert [r.text for r in out if isinstance(r, ChatResponse)] == ["echo: a #429*1", "echo: b"]


def test_a_failing_callback_stops_the_remaining_calls() -> None:
    srv = FakeServer(latency_s=0.3).start()
    try:
        llm = get_llm("openai:m", base_url=srv.base_url, concurrency=2)

        def boom(i: int, res: object) -> None:
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError, match="disk full"):
            llm.generate([ChatRequest.chat(f"q{i}") for i in range(20)], on_result=boom)
        time.sleep(1.2)  # uncancelled, four more rounds of two would go out in this time
        assert sum(srv.attempts.values()) <= 4  # the two in flight when it raised, and the two before
    finally:
        srv.stop()
