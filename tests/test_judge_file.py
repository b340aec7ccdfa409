"""``alignforge judge`` over a file: scores, pairwise both orders, parse_failed, resume, CLI."""

import json

from _cli import run_cli
from _generate_helpers import ScriptedLLM, dpo_rule, judge_kind, judged_item

from alignforge.judge import JudgeStage, judge_file
from alignforge.stages import run_stage


def _pairs(path, n):
    with open(path, "w") as fh:
        for i in range(n):
            row = {
                "prompt": f"Question {i}?",
                "chosen": f"Good answer {i}.",
                "rejected": f"FLAWED answer {i}.",
            }
            fh.write(json.dumps(row) + "\n")


def _rows(path):
    return [json.loads(line) for line in open(path)]


def test_judge_file_scores_pairs_both_orders_and_resumes(tmp_path):
    _pairs(tmp_path / "p.jsonl", 5)
    llm = ScriptedLLM(dpo_rule)
    s = judge_file(
        tmp_path / "p.jsonl", tmp_path / "j.jsonl", model=llm, pairwise=True, cache=None, progress=False
    )
    out = _rows(tmp_path / "j.jsonl")
    assert (s.rows, s.scored, s.parse_failed, s.failed) == (5, 10, 0, 0)
    m = out[0]["metadata"]
    assert (m["chosen_score"], m["rejected_score"]) == (9.0, 3.0)
    assert m["pairwise"] == {
        "winner": "chosen",
        "agreement": True,
        "status": "ok",
        "first_order": "a",
        "second_order": "a",
    }
    assert sorted(r["metadata"]["source_line"] for r in out) == [1, 2, 3, 4, 5]
    calls = len(llm.calls)
    again = judge_file(tmp_path / "p.jsonl", tmp_path / "j.jsonl", model=llm, cache=None, progress=False)
    assert again.resumed == 5 and len(llm.calls) == calls and len(_rows(tmp_path / "j.jsonl")) == 5
    stage = JudgeStage(tmp_path / "p.jsonl", tmp_path / "j.jsonl", model=llm, cache=None, progress=False)
    assert run_stage(stage).reused and len(llm.calls) == calls  # the same run again: recognised as done


def test_judge_file_records_parse_failed_without_a_number(tmp_path):
    _pairs(tmp_path / "p.jsonl", 2)

    def rule(req):
        if judge_kind(req) == "score" and "FLAWED" in judged_item(req):
            return "I think it is quite good, maybe a seven."
        return dpo_rule(req)

    s = judge_file(
        tmp_path / "p.jsonl", tmp_path / "j.jsonl", model=ScriptedLLM(rule), cache=None, progress=False
    )
    m = _rows(tmp_path / "j.jsonl")[0]["metadata"]
    assert s.parse_failed == 2 and "rejected_score" not in m
    assert m["judge_status"] == {"chosen_score": "ok", "rejected_score": "parse_failed"}


def test_judge_cli_dry_run_calls_nothing(tmp_path, capsys):
    _pairs(tmp_path / "p.jsonl", 3)
    res = run_cli(
        capsys, "judge", tmp_path / "p.jsonl", "--out", tmp_path / "j.jsonl", "--pairwise", "--dry-run"
    )
    assert res.code == 0, res.err
    assert "dry run: 12 judge requests for 3 rows" in res.out
    assert not (tmp_path / "j.jsonl").exists()


def test_verifiers_decide_correctness_for_math_and_code_rows(tmp_path):
    rows = [
        {
            "prompt": "What is 6*7?",
            "chosen": "6*7 = 42. The answer is 42.",
            "rejected": "The answer is 48.",
            "metadata": {"answer": "42"},
        },
        {
            "prompt": "Write add(a, b).",
            "chosen": "```python\ndef add(a, b):\n    return a + b\n```",
            "rejected": "def add(a, b):\n    return a - b\n",
            "entry_point": "add",
            "tests": ["assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(0, 5) == 5"],
        },
        {"prompt": "Why is the sky blue?", "chosen": "Rayleigh scattering.", "rejected": "FLAWED: paint."},
    ]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    llm = ScriptedLLM(lambda req: "Score: 9\nRationale: looks right.")  # the judge likes everything
    judge_file(tmp_path / "p.jsonl", tmp_path / "j.jsonl", model=llm, cache=None, progress=False)
    out = [r["metadata"] for r in _rows(tmp_path / "j.jsonl")]
    assert (out[0]["chosen_verified"], out[0]["rejected_verified"]) == (True, False)
    assert (out[1]["chosen_verified"], out[1]["rejected_verified"]) == (True, False)
    assert "chosen_verified" not in out[2]  # nothing to verify against: the judge's score stands alone
    math_req = next(r for r in llm.calls if "6*7" in judged_item(r))
    assert "REFERENCE ANSWER (known correct): 42" in judged_item(math_req)
