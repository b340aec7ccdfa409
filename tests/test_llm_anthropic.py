"""The anthropic backend: the real SDK against a loopback server speaking the Messages API protocol.

The paid API cannot run here, so the fake server checks what the real one checks
(auth header, anthropic-version, required fields, roles) and answers in its shapes:
``{"type": "message", "content": [...], "usage": {...}}`` and
``{"type": "error", "error": {"type": "rate_limit_error", ...}}`` with ``retry-after``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

from alignforge.errors import ConfigError  # noqa: E402
from alignforge.llm import ChatRequest, ChatResponse, LLMError, get_llm  # noqa: E402

MODEL = "claude-haiku-4-5"


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer(api_key="sk-test", retry_after="1").start()
    yield srv
    srv.stop()


def _llm(srv: FakeServer, **opts):  # type: ignore[no-untyped-def]
    return get_llm(
        f"anthropic:{MODEL}", base_url=srv.anthropic_url, api_key="sk-test", retry_base_delay=0.05, **opts
    )


def test_messages_roundtrip_with_system_usage_and_cost(server: FakeServer) -> None:
    llm = _llm(server)
    req = ChatRequest.chat(
        [
            {"role": "user", "content": "hi there"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "score this"},
        ],
        system="You are a judge.",
        max_tokens=64,
        temperature=0.0,
        stop=["###"],
    )
    [res] = llm.generate([req])
    assert isinstance(res, ChatResponse)
    assert (res.text, res.finish_reason, res.model) == ("echo: score this", "stop", MODEL)
    assert (res.usage.prompt_tokens, res.usage.completion_tokens) == (5, 3)
    assert res.usage.cost_usd == pytest.approx((5 * 1.0 + 3 * 5.0) / 1e6)
    body = server.bodies[-1]
    assert body["system"] == "You are a judge."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert (body["max_tokens"], body["stop_sequences"], body["temperature"]) == (64, ["###"], 0.0)


def test_json_schema_becomes_a_system_instruction(server: FakeServer) -> None:
    schema = json.dumps({"type": "object"})
    _llm(server).generate([ChatRequest.chat("x", json_schema=schema)])
    assert server.bodies[-1]["system"].endswith(schema)


def test_rate_limit_overload_and_server_errors_are_retried(server: FakeServer) -> None:
    out = _llm(server).generate([ChatRequest.chat(p) for p in ("a #429*1", "b #529*1", "c #500*1", "d #400")])
    assert [type(r).__name__ for r in out] == ["ChatResponse"] * 3 + ["LLMError"]
    key = server.key_of(json.dumps([MODEL, [{"role": "user", "content": "a #429*1"}], None], sort_keys=True))
    t = server.times[key]
    assert len(t) == 2 and t[1] - t[0] >= 0.95  # retry-after: 1 honoured
    err = out[3]
    assert isinstance(err, LLMError) and err.kind == "bad_request" and "invalid_request_error" in err.message


def test_wrong_key_is_an_auth_error_not_retried(server: FakeServer) -> None:
    llm = get_llm(f"anthropic:{MODEL}", base_url=server.anthropic_url, api_key="wrong")
    [res] = llm.generate([ChatRequest.chat("x")])
    assert isinstance(res, LLMError) and res.kind == "auth" and res.attempts == 1


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        get_llm(f"anthropic:{MODEL}")
