"""run_requests: atomic rows, resume, side file, drops, budgets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

from alignforge.errors import ConfigError  # noqa: E402
from alignforge.llm import (  # noqa: E402
    Budget,
    BudgetedLLM,
    ChatRequest,
    Drop,
    Job,
    LLMError,
    estimate_requests,
    get_llm,
    run_requests,
)


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    yield srv
    srv.stop()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _jobs(prompts: list[str], **params) -> list[Job]:  # type: ignore[no-untyped-def]
    return [Job(f"id{i}", ChatRequest.chat(p, **params)) for i, p in enumerate(prompts)]


def test_rows_failures_drops_and_resume(server: FakeServer, tmp_path: Path) -> None:
    llm = get_llm("openai:m", base_url=server.base_url, max_attempts=1)
    prompts = ["a", "b #400", "c", "drop me", "e"]
    out = tmp_path / "out.jsonl"

    def make_row(job: Job, resp):  # type: ignore[no-untyped-def]
        return Drop("asked to drop") if "drop" in resp.text else {"answer": resp.text}

    stats = run_requests(llm, _jobs(prompts), out=out, make_row=make_row, cache=tmp_path / "c.sqlite")
    assert (stats.written, stats.failed, stats.dropped, stats.total) == (3, 1, 1, 5)
    assert stats.drop_reasons == {"asked to drop": 1} and stats.error_kinds == {"bad_request": 1}
    assert stats.pass_rate == pytest.approx(0.6)
    assert sorted(r["id"] for r in _rows(out)) == ["id0", "id2", "id4"]
    side = _rows(tmp_path / "out.failed.jsonl")
    assert {(r["id"], r["kind"]) for r in side} == {("id1", "bad_request"), ("id3", "dropped")}
    sent = sum(server.attempts.values())

    # A partial last line (a killed writer) is cut, and only the unfinished jobs run again.
    with open(out, "ab") as fh:
        fh.write(b'{"answer": "half')
    again = run_requests(llm, _jobs(prompts), out=out, make_row=make_row, cache=tmp_path / "c.sqlite")
    assert (again.resumed, again.written, again.failed, again.dropped) == (3, 0, 1, 1)
    assert again.cached == 1  # the dropped one came from the cache; only the 400 went out again
    assert sum(server.attempts.values()) == sent + 1
    assert sorted(r["id"] for r in _rows(out)) == ["id0", "id2", "id4"]
    assert len(_rows(tmp_path / "out.failed.jsonl")) == 2  # compacted: one entry per unresolved id


def test_side_file_is_removed_once_everything_succeeds(server: FakeServer, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    flaky = get_llm("openai:m", base_url=server.base_url, max_attempts=1)
    s1 = run_requests(flaky, _jobs(["x #500*1", "y"]), out=out)
    assert s1.failed == 1 and s1.failed_file is not None
    s2 = run_requests(flaky, _jobs(["x #500*1", "y"]), out=out)
    assert (s2.resumed, s2.written, s2.failed, s2.failed_file) == (1, 1, 0, None)
    assert not (tmp_path / "o.failed.jsonl").exists() and len(_rows(out)) == 2


def test_duplicate_job_ids_are_refused(server: FakeServer, tmp_path: Path) -> None:
    llm = get_llm("openai:m", base_url=server.base_url)
    jobs = [Job("same", ChatRequest.chat("a")), Job("same", ChatRequest.chat("b"))]
    with pytest.raises(ConfigError, match="duplicate job id 'same'"):
        run_requests(llm, jobs, out=tmp_path / "o.jsonl")


def test_budget_stops_cleanly_and_a_rerun_finishes(server: FakeServer, tmp_path: Path) -> None:
    # gpt-4o: $2.50 / $10 per 1M. One request reserves ~10 prompt + 10 output tokens ($0.000125) and
    # really costs 3 + 4 tokens ($0.0000475), so about 8 fit in $0.0005.
    llm = get_llm("openai:gpt-4o", base_url=server.base_url, concurrency=2)
    jobs = _jobs([f"prompt number {i}" for i in range(20)], max_tokens=10)
    out = tmp_path / "o.jsonl"
    cap = 0.0005
    stats = run_requests(llm, jobs, out=out, max_cost=cap)
    assert 0 < stats.written < 20 and stats.not_run_budget == 20 - stats.written and stats.failed == 0
    assert stats.cost_usd <= cap
    assert not (tmp_path / "o.failed.jsonl").exists()  # not sent is not failed
    rest = run_requests(llm, jobs, out=out, max_cost=1.0)
    assert rest.resumed == stats.written and rest.written == 20 - stats.written
    assert sorted(r["id"] for r in _rows(out)) == sorted(j.id for j in jobs)


def test_budgeted_llm_returns_budget_errors(server: FakeServer) -> None:
    llm = get_llm("openai:gpt-4o", base_url=server.base_url)
    budget = Budget(0.0)
    out = BudgetedLLM(llm, budget).generate([ChatRequest.chat("x", max_tokens=10)] * 2)
    assert all(isinstance(r, LLMError) and r.kind == "budget" for r in out)
    assert budget.stopped and sum(server.attempts.values()) == 0


def test_budget_needs_a_price(server: FakeServer, tmp_path: Path) -> None:
    unpriced = get_llm("openai:my-finetune", base_url=server.base_url)
    with pytest.raises(ConfigError, match="no price is known for 'openai:my-finetune'.*price="):
        run_requests(unpriced, _jobs(["a"]), out=tmp_path / "o.jsonl", max_cost=1.0)
    free = get_llm("openai:my-finetune", base_url=server.base_url, price=(0, 0))
    assert run_requests(free, _jobs(["a"]), out=tmp_path / "o.jsonl", max_cost=0.0).written == 1


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


def test_one_budget_shared_by_two_stages_and_a_progress_bar(server: FakeServer, tmp_path: Path) -> None:
    llm = get_llm("openai:gpt-4o", base_url=server.base_url)
    # One request reserves $0.0001125 (5 + 10 tokens) and really costs $0.0000225 (1 + 2 tokens):
    # stage a fits (one at a time), stage b has room for one more request only.
    budget = Budget(0.00016)
    a = run_requests(
        llm, _jobs(["a", "b"], max_tokens=10), out=tmp_path / "a.jsonl", max_cost=budget, progress=True
    )
    b = run_requests(
        llm, _jobs(["c", "d"], max_tokens=10), out=tmp_path / "b.jsonl", max_cost=budget, progress=True
    )
    assert (a.written, b.written, b.not_run_budget) == (2, 1, 1)
    assert budget.spent_usd == pytest.approx(a.cost_usd + b.cost_usd) and budget.spent_usd <= 0.00016
