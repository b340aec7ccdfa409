"""Backend options on the generate / judge CLIs, per-model usage, and the failures side file on rerun.

Everything runs the real CLI against the fault server on 127.0.0.1 through the openai backend.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import run_cli
from _generate_helpers import dpo_rule, http_rule, judge_kind, judged_item, last_user, write_prompts
from _llm_helpers import FakeServer

from alignforge.generate import generate_dpo_pairs
from alignforge.llm.base import ChatRequest, LLMError
from alignforge.llm.pricing import Price

PRICES = {"strong": (1000.0, 2000.0), "weak": (100.0, 200.0), "judge": (10.0, 20.0)}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _strong_weak_reply(body: dict, attempt: int) -> str:
    """The weak model's answers are FLAWED (the judge scores them 3); everything else is dpo_rule."""
    req = ChatRequest.chat(body["messages"], temperature=body["temperature"], seed=body.get("seed"))
    if body["model"] == "weak" and judge_kind(req) is None:
        return "FLAWED weak answer."
    return dpo_rule(req)


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer(reply=_strong_weak_reply).start()
    yield srv
    srv.stop()


def _role_args(srv: FakeServer) -> list[str]:
    args = []
    for flag, model, option in (
        ("--model", "strong", "--option"),
        ("--weak-model", "weak", "--weak-option"),
        ("--judge-model", "judge", "--judge-option"),
    ):
        lo, hi = PRICES[model]
        args += [flag, f"openai:{model}", option, f"base_url={srv.base_url}", option, f"price=[{lo}, {hi}]"]
    return args


def test_each_role_takes_its_own_backend_options_and_usage_is_per_model(server, tmp_path, capsys):
    write_prompts(tmp_path / "p.jsonl", 3)
    out = tmp_path / "pairs.jsonl"
    common = ["--prompts", tmp_path / "p.jsonl", "--out", out, "--strategy", "strong-weak", "--no-progress"]
    # Unpriced models: only the price options make --max-cost possible.
    r = run_cli(
        capsys,
        "generate",
        "dpo",
        *common,
        *_role_args(server),
        "--option",
        "concurrency=2",
        "--max-cost",
        "100",
    )
    assert r.code == 0, r.err
    assert len(_rows(out)) == 3 and {b["model"] for b in server.bodies} == {"strong", "weak", "judge"}
    for model in PRICES:
        served = [(pt, ct) for m, pt, ct in server.served if m == model]
        pt, ct = sum(p for p, _ in served), sum(c for _, c in served)
        cost = Price(*PRICES[model]).cost(pt, ct)
        assert cost > 0.001  # the prices are set so that the cost shows at 4 decimals
        line = (
            f"model openai:{model}: {len(served)} requests (0 from cache), {pt:,} prompt + {ct:,} completion "
            f"tokens, cost ${cost:.4f}"
        )
        assert line in r.out, r.out
    assert {len([1 for m, *_ in server.served if m == k]) for k in ("strong", "weak")} == {3}

    # The same run again with the outputs gone: the cache answers everything, per model, for free.
    for p in tmp_path.glob("pairs*.jsonl"):
        p.unlink()
    sent = len(server.bodies)
    opts = {k: {"base_url": server.base_url, "price": list(v)} for k, v in PRICES.items()}
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        out,
        strategy="strong-weak",
        model="openai:strong",
        weak_model="openai:weak",
        judge_model="openai:judge",
        llm_options=opts["strong"],
        weak_options=opts["weak"],
        judge_options=opts["judge"],
        progress=False,
    )
    assert len(server.bodies) == sent and s.passed == 3
    assert set(s.models) == {"openai:strong", "openai:weak", "openai:judge"}
    for use in s.models.values():
        assert use["requests"] == use["cached"] > 0
        assert (use["prompt_tokens"], use["completion_tokens"], use["cost_usd"]) == (0, 0, 0.0)
    assert s.models["openai:judge"]["requests"] == 6  # both sides of 3 pairs


def test_bad_backend_options_are_one_line_errors(server, tmp_path, capsys):
    write_prompts(tmp_path / "p.jsonl", 1)
    base = [
        "generate",
        "dpo",
        "--prompts",
        tmp_path / "p.jsonl",
        "--out",
        tmp_path / "o.jsonl",
        "--no-progress",
    ]
    url = f"base_url={server.base_url}"
    cases = [
        (
            [
                "--model",
                "openai:m",
                "--option",
                url,
                "--judge-model",
                "openai:j",
                "--judge-option",
                "bogus=1",
            ],
            "error: backend 'openai' has no option 'bogus'; allowed: api_key, base_url, concurrency,",
        ),
        (
            ["--model", "openai:m", "--option", url, "--option", "price=[1]"],
            "option 'price' must be 2 values",
        ),
        (
            ["--model", "openai:m", "--option", url, "--option", "concurrency=many"],
            "option 'concurrency' must be int",
        ),
        (
            ["--model", "local", "--option", "bogus=1"],
            "backend 'local' has no option 'bogus'; allowed: batch_size",
        ),
        (["--model", "openai:m", "--option", "base_url"], "--option 'base_url': expected KEY=VALUE"),
        (["--model", "openai:m", "--option", url, "--judge-option", "price=[0,0]"], "need a judge model"),
        (["--model", "openai:m", "--option", url, "--weak-option", "price=[0,0]"], "need a weak model"),
        (["--model", "openai:m", "--option", "price=[1,"], "the value is not valid YAML"),
    ]
    for args, message in cases:
        r = run_cli(capsys, *base, *args)
        assert r.code == 2 and message in r.err, (args, r.err)
        assert r.err.count("\n") == 1 and "Traceback" not in r.err  # one line
    assert server.bodies == []  # nothing was sent


def test_judge_cli_takes_backend_options(server, tmp_path, capsys):
    pairs = tmp_path / "p.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"prompt": f"Q{i}?", "chosen": "Good.", "rejected": "FLAWED."}) + "\n"
            for i in range(2)
        )
    )
    args = ["judge", pairs, "--out", tmp_path / "j.jsonl", "--model", "openai:judge", "--no-progress"]
    r = run_cli(
        capsys,
        *args,
        "--option",
        f"base_url={server.base_url}",
        "--option",
        "price=[10, 20]",
        "--max-cost",
        "5",
    )
    assert r.code == 0, r.err
    pt, ct = sum(p for _, p, _ in server.served), sum(c for *_, c in server.served)
    assert f"model openai:judge: 4 requests (0 from cache), {pt:,} prompt + {ct:,} completion tokens" in r.out
    r = run_cli(capsys, *args, "--option", f"base_url={server.base_url}", "--option", "temperature=0")
    assert r.code == 2 and "parameter 'options'" in r.err  # not mixed with the other options' scores
    (tmp_path / "j.jsonl").unlink()
    r = run_cli(capsys, *args, "--option", f"base_url={server.base_url}", "--option", "temperature=0")
    assert r.code == 2 and "backend 'openai' has no option 'temperature'" in r.err


def _flaky(fail_first: str, fail_always: str):  # type: ignore[no-untyped-def]
    """A reply that fails (503) the answer request of one prompt once, and of another one every time."""

    def reply(body: dict, attempt: int) -> str | int:
        req = ChatRequest.chat(body["messages"], temperature=body["temperature"], seed=body.get("seed"))
        asks = judge_kind(req) is None and last_user(req).startswith("Question number")
        if asks and last_user(req).startswith(fail_always):
            return 503
        if asks and last_user(req).startswith(fail_first) and attempt == 1:
            return 503
        return dpo_rule(req)

    return reply


def test_failures_file_keeps_only_what_still_fails(tmp_path, capsys):
    srv = FakeServer(reply=_flaky("Question number 1:", "Question number 2:")).start()
    try:
        write_prompts(tmp_path / "p.jsonl", 4)
        args = ["generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--out", tmp_path / "pairs.jsonl"]
        args += ["--model", "openai:m", "--option", f"base_url={srv.base_url}", "--option", "max_attempts=1"]
        args += ["--max-rounds", "1", "--no-progress"]
        failures = tmp_path / "pairs.failures.jsonl"
        r = run_cli(capsys, *args)
        assert r.code == 0, r.err
        assert sorted(f["candidate_id"] for f in _rows(failures)) == ["p1#0", "p2#0"]
        r = run_cli(capsys, *args)  # p1 succeeds now, p2 fails again
        assert r.code == 0 and f"failed 1 ({failures})" in r.out
        [left] = _rows(failures)
        assert left["candidate_id"] == "p2#0" and "server" in left["error"]
        assert sorted(row["metadata"]["prompt_id"] for row in _rows(tmp_path / "pairs.jsonl")) == [
            "p0",
            "p1",
            "p3",
        ]
    finally:
        srv.stop()


def test_judge_failures_file_keeps_only_what_still_fails(tmp_path, capsys):
    def rule(req: ChatRequest) -> str | LLMError:
        if judge_kind(req) == "score" and "Question 2?" in judged_item(req):
            return LLMError("server", "down")
        return dpo_rule(req)

    once = {"Question 1?"}

    def reply(body: dict, attempt: int) -> str | int:
        req = ChatRequest.chat(body["messages"], temperature=body["temperature"], seed=body.get("seed"))
        if judge_kind(req) == "score" and any(q in judged_item(req) for q in once) and attempt == 1:
            return 503
        return http_rule(rule)(body, attempt)

    srv = FakeServer(reply=reply).start()
    try:
        pairs = tmp_path / "p.jsonl"
        pairs.write_text(
            "".join(
                json.dumps({"prompt": f"Question {i}?", "chosen": "Good.", "rejected": "FLAWED."}) + "\n"
                for i in range(3)
            )
        )
        args = ["judge", pairs, "--out", tmp_path / "j.jsonl", "--model", "openai:j", "--no-progress"]
        args += ["--option", f"base_url={srv.base_url}", "--option", "max_attempts=1"]
        failures = tmp_path / "j.failures.jsonl"
        assert run_cli(capsys, *args).code == 0
        assert sorted(f["source_line"] for f in _rows(failures)) == [2, 3]
        assert run_cli(capsys, *args).code == 0
        assert [f["source_line"] for f in _rows(failures)] == [3]
        assert sorted(r["metadata"]["source_line"] for r in _rows(tmp_path / "j.jsonl")) == [1, 2]
    finally:
        srv.stop()
