import json
from pathlib import Path

import pytest
from _generate_helpers import ScriptedLLM, judge_kind, judged_item, last_user, write_prompts

from alignforge.errors import ConfigError
from alignforge.generate import generate_grpo_data, generate_kto_data, generate_rlvr_data, generate_sft_data
from alignforge.generate.kto import balance
from alignforge.io import DataError
from alignforge.quality import check_file


def rows(path):
    return [json.loads(line) for line in open(path)] if path.exists() else []


def test_rlvr_math_is_procedural_with_exact_verified_answers(tmp_path):
    s = generate_rlvr_data(None, tmp_path / "m.jsonl", "math", "math", n=21)
    out = rows(tmp_path / "m.jsonl")
    assert s.written == 21 and len({r["task_id"] for r in out}) == 21
    assert {r["metadata"]["generator"] for r in out} == {
        "arithmetic",
        "percent",
        "discount",
        "change",
        "speed",
        "sharing",
        "rectangle",
    }
    from alignforge.verify import verify_math

    for r in out:
        assert verify_math(f"so the answer is {r['answer']}", r["answer"]).passed
    pct = [r for r in out if r["prompt"].startswith("What is") and "%" in r["prompt"]]
    for r in pct:  # the percent answers really are the percentages asked for
        p, b = r["prompt"].removeprefix("What is ").split("?")[0].split("% of ")
        assert float(r["answer"]) == pytest.approx(float(p) * float(b) / 100)


def test_rlvr_code_references_pass_their_tests_in_the_sandbox_and_wrong_ones_are_dropped(tmp_path):
    spec = tmp_path / "spec.jsonl"
    good = {
        "prompt": "Write `double(x)` returning 2*x.",
        "entry_point": "double",
        "tests": ["assert double(1) == 2", "assert double(0) == 0", "assert double(-3) == -6"],
        "reference_solution": "def double(x):\n    return 2 * x\n",
    }
    wrong = {
        **good,
        "prompt": "Write `double(x)` (buggy reference).",
        "reference_solution": "def double(x):\n    return x + 2\n",
    }
    few = {**good, "prompt": "Write `double(x)` (two tests).", "tests": good["tests"][:2]}
    spec.write_text(
        "\n".join(json.dumps(r) for r in [{"family": "caesar", "count": 2}, good, wrong, few]) + "\n"
    )
    s = generate_rlvr_data(spec, tmp_path / "c.jsonl", "code", "tests")
    out = rows(tmp_path / "c.jsonl")
    assert s.written == 3 and s.dropped == 2
    assert all(3 <= len(r["tests"]) <= 5 and r["entry_point"] in r["prompt"] for r in out)
    reasons = {r["prompt"]: r["metadata"]["drop_reasons"] for r in rows(tmp_path / "c.dropped.jsonl")}
    assert reasons["Write `double(x)` (buggy reference)."] == [
        {"reason": "reference_failed_tests", "detail": "failed"}
    ]
    assert reasons["Write `double(x)` (two tests)."] == [{"reason": "tests_not_3_to_5", "detail": 2}]
    with pytest.raises(ConfigError, match="does not fit"):
        generate_rlvr_data(None, tmp_path / "x.jsonl", "math", "tests")


def test_grpo_rows_carry_their_reward_spec(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"task_id": "m1", "prompt": "What is 2+2?", "answer": "4"},
                {"task_id": "c1", "prompt": "Write f", "tests": ["assert f() == 1"], "entry_point": "f"},
                {"prompt": "Write a poem"},
            ]
        )
        + "\n"
    )
    s = generate_grpo_data(src, tmp_path / "g.jsonl")
    out = rows(tmp_path / "g.jsonl")
    assert [r["reward_spec"]["type"] for r in out] == ["math", "tests", "judge"]
    # the columns TRL's GRPOTrainer passes to reward functions (alignforge.train.rewards)
    assert out[0]["answer"] == "4" and set(out[0]) == {"prompt", "reward_spec", "answer", "metadata"}
    assert (out[1]["tests"], out[1]["entry_point"]) == (["assert f() == 1"], "f") and "task_id" not in out[1]
    assert set(out[2]) == {"prompt", "reward_spec", "metadata"}
    result = check_file(tmp_path / "g.jsonl")
    assert result.kind == "grpo" and result.figures["reward_spec_share"] == 1.0
    assert s.rewards == {"math": 1, "tests": 1, "judge": 1}
    with pytest.raises(DataError, match="needs an 'answer'"):
        generate_grpo_data(src, tmp_path / "g2.jsonl", reward="math")


def _scoring_rule(score_of):
    def rule(req):
        if judge_kind(req) == "score":
            return f"Score: {score_of(judged_item(req))}\nRationale: r"
        u = last_user(req)
        if u.startswith("Write one realistic request"):
            return f"Request about {u.split('Topic: ')[1].splitlines()[0]}?"
        return f"Answer ({req.temperature}) to {u[:30]}"

    return rule


def test_sft_from_taxonomy_keeps_rows_at_or_above_0_80(tmp_path):
    tax = tmp_path / "t.yaml"
    tax.write_text(
        "domain: cooking\nsystem: Be brief.\ntasks: [explain]\ntopics:\n  - name: rice\n    subtopics: [storage, boiling]\n"
        "  - name: eggs\n"
    )
    rule = _scoring_rule(lambda item: 8 if "rice" in item else 7)
    s = generate_sft_data(
        tmp_path / "sft.jsonl", taxonomy=tax, model=ScriptedLLM(rule), cache=None, progress=False
    )
    out = rows(tmp_path / "sft.jsonl")
    assert s.inputs == 3 and len(out) == 2 and s.reasons == {"score_below_min": 1}
    assert out[0]["messages"][1] == {"role": "user", "content": "Request about rice: storage?"}
    assert [m["role"] for m in out[0]["messages"]] == ["system", "user", "assistant"]
    assert out[0]["metadata"]["score"] == 8.0
    rerun = ScriptedLLM(rule)
    again = generate_sft_data(tmp_path / "sft.jsonl", taxonomy=tax, model=rerun, cache=None, progress=False)
    assert again.resumed == 3 and again.written == 0 and len(rows(tmp_path / "sft.jsonl")) == 2
    assert rerun.calls == []  # a finished leaf does not ask for its input again (even without a cache)


def test_sft_input_failures_go_to_the_side_file_and_leave_it_once_they_succeed(tmp_path):
    from alignforge.llm.base import LLMError

    tax = tmp_path / "t.yaml"
    tax.write_text("domain: cooking\ntasks: [explain]\ntopics: [rice, eggs]\n")
    good = _scoring_rule(lambda item: 9)

    def flaky(req):
        if "Topic: eggs" in last_user(req):
            return LLMError("server", "503 from the test")
        return good(req)

    out = tmp_path / "sft.jsonl"
    s = generate_sft_data(out, taxonomy=tax, model=ScriptedLLM(flaky), cache=None, progress=False)
    assert (s.written, s.failed) == (1, 1)
    [fail] = rows(tmp_path / "sft.failures.jsonl")
    assert fail["item_id"] == "eggs/-/explain#0" and fail["error"].startswith("input: server: 503")
    s = generate_sft_data(out, taxonomy=tax, model=ScriptedLLM(good), cache=None, progress=False)
    assert (s.resumed, s.written, s.failed) == (1, 1, 0)
    assert not (tmp_path / "sft.failures.jsonl").exists()  # nothing is failing any more


def test_kto_labels_from_rubric_and_balances_positive_share(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 10)
    rule = _scoring_rule(lambda item: 9 if "(0.3)" in item else 3)  # low temperature answers are good
    s = generate_kto_data(
        tmp_path / "p.jsonl",
        tmp_path / "kto.jsonl",
        model=ScriptedLLM(rule),
        per_prompt=2,
        cache=None,
        progress=False,
    )
    out = rows(tmp_path / "kto.jsonl")
    share = sum(r["label"] for r in out) / len(out)
    assert 0.6 <= share <= 0.7, share
    assert s.reasons["balance"] == 20 - len(out)
    assert all(isinstance(r["label"], bool) and r["metadata"]["score"] in (9.0, 3.0) for r in out)
    few_pos = [{"label": True, "metadata": {"score": 9}}] + [
        {"label": False, "metadata": {"score": s}} for s in (1, 5, 2)
    ]
    kept, left = balance(few_pos, 0.6, 0.7)
    assert [r["metadata"]["score"] for r in kept] == [9, 1] and [r["metadata"]["score"] for r in left] == [
        5,
        2,
    ]


def test_sft_and_kto_dry_runs_count_requests_and_call_nothing(tmp_path, capsys):
    from _cli import run_cli

    root = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path / "x.jsonl"
    r = run_cli(
        capsys,
        "generate",
        "sft",
        "--taxonomy",
        root / "taxonomy.yaml",
        "--out",
        out,
        "--model",
        "openai:gpt-4o",
        "--dry-run",
    )
    # 15 taxonomy leaves x (write the input, answer it, judge it)
    assert r.code == 0 and "15 inputs, 45 LLM requests" in r.out and "$" in r.out
    r = run_cli(
        capsys,
        "generate",
        "kto",
        "--prompts",
        root / "prompts.jsonl",
        "--out",
        out,
        "--per-prompt",
        "2",
        "--limit",
        "10",
        "--dry-run",
    )
    assert r.code == 0 and "10 inputs, 40 LLM requests" in r.out
    assert not out.exists() and not list(tmp_path.iterdir())
