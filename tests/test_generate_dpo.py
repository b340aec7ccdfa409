import json

import pytest
from _generate_helpers import Killed, ScriptedLLM, dpo_rule, judge_kind, judged_item, last_user, write_prompts

from alignforge.errors import ConfigError
from alignforge.generate import DEFAULT_MIX, flaw_sequence, generate_dpo_pairs, parse_mix


def rows(path):
    return [json.loads(line) for line in open(path)] if path.exists() else []


def test_flaw_sequence_hits_the_target_mix():
    seq = flaw_sequence(DEFAULT_MIX, 100)
    counts = {k: seq.count(k) for k in DEFAULT_MIX}
    assert counts == {
        "oversimplified": 25,
        "risky_advice": 20,
        "incomplete": 20,
        "hallucinated": 15,
        "irrelevant": 10,
        "overconfident": 10,
    }
    first20 = flaw_sequence(DEFAULT_MIX, 20)
    assert all(abs(first20.count(k) - 20 * w) <= 1 for k, w in DEFAULT_MIX.items())
    assert parse_mix("incomplete=1,hallucinated=3") == {"incomplete": 0.25, "hallucinated": 0.75}
    with pytest.raises(ConfigError, match="unknown flaw"):
        parse_mix("typos=1")


def test_flaw_quota_mode_writes_gated_pairs(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 12)
    llm = ScriptedLLM(dpo_rule)
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=llm,
        n=10,
        cache=None,
        progress=False,
        batch_size=4,
    )
    out = rows(tmp_path / "pairs.jsonl")
    assert s.passed == 10 and len(out) == 10 and s.stopped_because.startswith("reached the target")
    m = out[0]["metadata"]
    assert (m["chosen_score"], m["rejected_score"], m["strategy"]) == (9.0, 3.0, "flaw")
    assert m["flaw_type"] in DEFAULT_MIX and m["gates_passed"] is True
    assert out[0]["rejected"] == "FLAWED answer that sounds fine."  # lead-in line removed
    assert len({r["metadata"]["prompt_id"] for r in out}) == 10
    assert sum(s.flaw_counts.values()) == 10


def test_gate_failures_are_dropped_with_reasons(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 3)

    def rule(req):
        if judge_kind(req) == "score":
            return "Score: 7\nRationale: meh"  # chosen too low, rejected too high, gap 0
        return dpo_rule(req)

    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=ScriptedLLM(rule),
        cache=None,
        progress=False,
        max_rounds=1,
    )
    assert s.passed == 0 and s.dropped == 3
    d = rows(tmp_path / "pairs.dropped.jsonl")
    assert d[0]["metadata"]["drop_reasons"] == [
        {"reason": "chosen_score_below_threshold", "detail": {"score": 7.0, "threshold": 9.0}},
        {"reason": "rejected_score_above_threshold", "detail": {"score": 7.0, "threshold": 6.0}},
        {"reason": "gap_below_threshold", "detail": {"gap": 0.0, "threshold": 3.0}},
    ]
    assert s.gate_failures["gap_below_threshold"] == 3  # every failed gate counted
    assert s.drop_reasons == {"chosen_score_below_threshold": 3}  # each dropped pair once, by its first
    assert not (tmp_path / "pairs.jsonl").exists() or rows(tmp_path / "pairs.jsonl") == []


def test_parse_failed_scores_never_become_numbers(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 2)

    def rule(req):
        return "nice answer, 9/10!" if judge_kind(req) == "score" else dpo_rule(req)

    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=ScriptedLLM(rule),
        cache=None,
        progress=False,
        max_rounds=1,
        keep_all=True,
    )
    out = rows(tmp_path / "pairs.jsonl")
    assert s.passed == 0 and len(out) == 2
    m = out[0]["metadata"]
    assert "chosen_score" not in m and m["judge_status"]["chosen"] == "parse_failed"
    assert "chosen_judge_parse_failed" in [r["reason"] for r in m["drop_reasons"]]
    assert m["gates_passed"] is False and s.dropped == 0  # keep_all: marked in the output, not dropped


def test_resume_after_kill_repeats_nothing_finished(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 9)
    killed = ScriptedLLM(dpo_rule, die_after=20)  # 15 calls a batch: dies inside the second
    with pytest.raises(Killed):
        generate_dpo_pairs(
            tmp_path / "p.jsonl",
            tmp_path / "pairs.jsonl",
            model=killed,
            cache=None,
            progress=False,
            batch_size=3,
        )
    first = rows(tmp_path / "pairs.jsonl")
    assert 0 < len(first) < 9
    again = ScriptedLLM(dpo_rule)
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl", tmp_path / "pairs.jsonl", model=again, cache=None, progress=False, batch_size=3
    )
    out = rows(tmp_path / "pairs.jsonl")
    ids = [r["metadata"]["prompt_id"] for r in out]
    assert sorted(ids) == sorted(f"p{i}" for i in range(9))  # no gap, no duplicate
    assert s.resumed == len(first)
    asked = {last_user(r)[:40] for r in again.calls if "Question number" in last_user(r)[:40]}
    done = {r["prompt"] for r in first}
    assert not any(d[:40] in asked for d in done)  # finished prompts were not asked again


def test_llm_failures_go_to_side_file_and_are_retried(tmp_path):
    from alignforge.llm.base import LLMError

    write_prompts(tmp_path / "p.jsonl", 2)

    def flaky(req):
        if "number 1" in last_user(req) and "Here is a question" not in last_user(req):
            return LLMError("server", "503")
        return dpo_rule(req)

    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=ScriptedLLM(flaky),
        cache=None,
        progress=False,
        max_rounds=1,
    )
    assert s.failed == 1 and s.passed == 1
    assert rows(tmp_path / "pairs.failures.jsonl")[0]["error"].startswith("chosen: server")
    s2 = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=ScriptedLLM(dpo_rule),
        cache=None,
        progress=False,
        max_rounds=1,
    )
    assert s2.passed == 2 and len(rows(tmp_path / "pairs.jsonl")) == 2


def test_cost_budget_stops_and_dry_run_calls_nothing(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 10)
    llm = ScriptedLLM(dpo_rule, cost=0.01)
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=llm,
        cache=None,
        progress=False,
        batch_size=2,
        max_cost=0.15,
    )
    assert s.stopped_because.startswith("cost budget") and s.passed < 10
    est = generate_dpo_pairs(
        tmp_path / "p.jsonl", tmp_path / "x.jsonl", model="openai:gpt-4o-mini", n=5, dry_run=True
    )
    assert est.estimate["requests"] == 25 and est.estimate["cost_usd"] > 0
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("strategy", ["strong-weak", "reference", "temperature", "best-of-n"])
def test_other_strategies_record_themselves(tmp_path, strategy):
    write_prompts(tmp_path / "p.jsonl", 3, reference="Rayleigh scattering: shorter wavelengths scatter more.")
    strong = ScriptedLLM(dpo_rule, name="strong")

    def weak_rule(req):
        return "FLAWED weak answer"

    def scored(req):
        if judge_kind(req) == "score":
            resp = judged_item(req).split("RESPONSE:", 1)[1]
            if strategy == "reference":
                return "Score: 9" if "REF" in resp else "Score: 4"
            if strategy == "temperature":
                return "Score: 9" if "t=0.3" in resp else "Score: 5"
            if strategy == "best-of-n":
                return "Score: 10" if "seed=0" in resp else ("Score: 2" if "seed=3" in resp else "Score: 7")
        if (
            strategy == "reference"
            and req.messages[0].role == "system"
            and "reference material" in req.messages[0].content
        ):
            return "REF answer"
        return dpo_rule(req)

    model = strong if strategy == "strong-weak" else ScriptedLLM(scored)
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=model,
        strategy=strategy,
        weak_model=ScriptedLLM(weak_rule, name="weak") if strategy == "strong-weak" else None,
        cache=None,
        progress=False,
        max_rounds=1,
    )
    out = rows(tmp_path / "pairs.jsonl")
    assert s.passed == 3, (s.reasons, rows(tmp_path / "pairs.dropped.jsonl")[:1])
    assert all(r["metadata"]["strategy"] == strategy for r in out)
    if strategy == "strong-weak":
        assert out[0]["metadata"]["models"] == {"chosen": "strong", "rejected": "weak", "judge": "strong"}
    if strategy == "best-of-n":
        assert out[0]["metadata"]["sample_scores"] == [10.0, 7.0, 7.0, 2.0]


@pytest.mark.parametrize("chosen_code, kept", [("return a + b", True), ("return a * b", False)])
def test_code_prompts_are_decided_by_the_sandbox_not_the_judge(tmp_path, chosen_code, kept):
    task = {
        "id": "add",
        "prompt": "Write a Python function add(a, b) that returns the sum of a and b.",
        "entry_point": "add",
        "tests": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"],
    }
    (tmp_path / "p.jsonl").write_text(json.dumps(task) + "\n")

    def rule(req):
        if judge_kind(req) is not None:
            return dpo_rule(req)  # the judge likes any answer that is not marked FLAWED: 9/10
        if "Here is a question and an answer." in last_user(req):
            return "FLAWED version:\n```python\ndef add(a, b):\n    return a - b\n```"
        return f"Here you go:\n```python\ndef add(a, b):\n    {chosen_code}\n```"

    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        model=ScriptedLLM(rule),
        n=1,
        cache=None,
        progress=False,
    )
    kept_rows, dropped = rows(tmp_path / "pairs.jsonl"), rows(tmp_path / "pairs.dropped.jsonl")
    row = (kept_rows or dropped)[0]
    meta = row["metadata"]
    assert meta["chosen_score"] == 9.0  # the judge's opinion is the same in both cases ...
    assert meta["chosen_verified"] is kept and meta["rejected_verified"] is False  # ... the tests decide
    assert meta["rejected_verdict"] == "failed"
    assert (s.passed == 1) is kept
    if not kept:
        assert {"reason": "chosen_failed_verification", "detail": {"verdict": "failed"}} in meta[
            "drop_reasons"
        ]
