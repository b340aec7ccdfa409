"""Budgets and estimates on a loopback server: budget errors, a budget shared by two stages, dry-run prices.

(The request runner these tests once went through is gone: rows, side files and resume belong to the
stages; tests/test_contract_judge_verify.py proves them on the judge stage.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

from alignforge.llm import Budget, BudgetedLLM, ChatRequest, LLMError, estimate_requests, get_llm  # noqa: E402


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    yield srv
    srv.stop()


def test_budgeted_llm_returns_budget_errors(server: FakeServer) -> None:
    llm = get_llm("openai:gpt-4o", base_url=server.base_url)
    budget = Budget(0.0)
    out = BudgetedLLM(llm, budget).generate([ChatRequest.chat("x", max_tokens=10)] * 2)
    assert all(isinstance(r, LLMError) and r.kind == "budget" for r in out)
    assert budget.stopped and sum(server.attempts.values()) == 0


def test_dry_run_estimate_counts_cache_hits_and_prices(server: FakeServer, tmp_path: Path) -> None:
    llm = get_llm("openai:gpt-4o-mini", base_url=server.base_url, cache=tmp_path / "c.sqlite")
    reqs = [ChatRequest.chat("x" * 300, max_tokens=100) for _ in range(1)] + [
        ChatRequest.chat("y", max_tokens=50)
    ]
    llm.generate(reqs[1:])
    est = estimate_requests(llm, reqs)
    assert (est.requests, est.cached, est.max_completion_tokens) == (1, 1, 100)
    assert 100 <= est.prompt_tokens <= 110
    assert est.max_cost_usd == pytest.approx((est.prompt_tokens * 0.15 + 100 * 0.60) / 1e6)
    assert "1 requests to send (1 more answered from the cache)" in str(est)
    assert estimate_requests(get_llm("openai:custom", base_url=server.base_url), reqs).max_cost_usd is None


def test_one_budget_shared_by_two_stages(server: FakeServer) -> None:
    llm = get_llm("openai:gpt-4o", base_url=server.base_url, concurrency=1)
    # One request reserves $0.0001125 (5 + 10 tokens) and really costs $0.0000225 (1 + 2 tokens):
    # stage a fits (one at a time), stage b has room for one more request only.
    budget = Budget(0.00016)
    a = BudgetedLLM(llm, budget).generate([ChatRequest.chat(p, max_tokens=10) for p in ("a", "b")])
    b = BudgetedLLM(llm, budget).generate([ChatRequest.chat(p, max_tokens=10) for p in ("c", "d")])
    assert not any(isinstance(r, LLMError) for r in a)
    assert [isinstance(r, LLMError) and r.kind == "budget" for r in b] == [False, True]
    spent = sum(r.usage.cost_usd for r in [*a, b[0]] if not isinstance(r, LLMError))
    assert budget.spent_usd == pytest.approx(spent) and budget.spent_usd <= 0.00016
