"""Checkpoint scoring: retention against a baseline, win rate, and pass@k from a real model's samples."""

from __future__ import annotations

import json

import pytest

from alignforge.errors import AlignforgeError
from alignforge.evaluate import capability_retention, load_scores, score_checkpoint, win_rate
from alignforge.io import write_jsonl
from tests._cli import run_cli


def test_retention_is_the_worst_benchmark_and_gates(tmp_path, capsys):
    base, tuned = {"gsm8k": 0.40, "humaneval/pass@1": 0.20}, {"gsm8k": 0.41, "humaneval/pass@1": 0.18}
    r = capability_retention(base, tuned)
    assert r["capability_retention"] == pytest.approx(0.9) and r["worst_benchmark"] == "humaneval/pass@1"
    assert r["per_benchmark"]["gsm8k"] == pytest.approx(1.025)
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "t.json").write_text(json.dumps(tuned))
    run = run_cli(
        capsys, "bench", "retention", "--baseline", tmp_path / "b.json", "--tuned", tmp_path / "t.json"
    )
    assert run.code == 1 and "capability_retention" in run.out  # 0.90 < 0.95
    (tmp_path / "t.json").write_text(json.dumps({"gsm8k": 0.40, "humaneval/pass@1": 0.195}))
    assert (
        run_cli(
            capsys, "bench", "retention", "--baseline", tmp_path / "b.json", "--tuned", tmp_path / "t.json"
        ).code
        == 0
    )
    with pytest.raises(AlignforgeError, match="tuned scores lack gsm8k"):
        capability_retention(base, {"humaneval/pass@1": 0.2})
    (tmp_path / "bad.json").write_text(json.dumps({"gsm8k": 41.0}))
    with pytest.raises(AlignforgeError, match="'gsm8k': 41.0 is not a 0-1 score"):
        load_scores(tmp_path / "bad.json")


def test_win_rate_counts_ties_half_and_disagreements_as_ties(tmp_path):
    rows = [{"winner": "tuned"}] * 6 + [{"winner": "baseline"}] * 2 + [{"winner": "tie"}] * 2
    rows += [{"winner": "tuned", "agreement": False}]
    write_jsonl(tmp_path / "j.jsonl", rows)
    r = win_rate(tmp_path / "j.jsonl")
    assert (r["wins"], r["ties"], r["losses"], r["order_disagreements"]) == (6, 3, 2, 1)
    assert r["win_rate"] == pytest.approx(7.5 / 11)
    assert r["ci95"][0] < r["win_rate"] < r["ci95"][1]
    write_jsonl(tmp_path / "bad.jsonl", [{"winner": "A"}])
    with pytest.raises(AlignforgeError, match=r"bad.jsonl:1: field 'winner'"):
        win_rate(tmp_path / "bad.jsonl")


@pytest.mark.slow
def test_score_checkpoint_on_the_embedded_model(tmp_path):
    tasks = [
        {"task_id": "m1", "prompt": "What is 2 + 3?", "answer": "5", "domain": "math"},
        {"task_id": "m2", "prompt": "What is 10 times 4?", "answer": "40", "domain": "math"},
    ]
    write_jsonl(tmp_path / "tasks.jsonl", tasks)
    report = score_checkpoint(
        "local", tmp_path / "tasks.jsonl", tmp_path / "out", n=2, ks=(1, 2), max_tokens=48
    ).figures
    verdicts = [json.loads(x) for x in (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 4 and {v["task_id"] for v in verdicts} == {"m1", "m2"}
    passed = {t: sum(v["passed"] for v in verdicts if v["task_id"] == t) for t in ("m1", "m2")}
    expected = sum((1 - (1 - c / 2)) for c in passed.values()) / 2  # pass@1 = c/n, averaged
    assert report["overall"]["pass@1"] == pytest.approx(expected)
    assert set(report["scores"]) == {"tasks/pass@1", "tasks/pass@2"}
    # A rerun with the same tasks, model and settings is the finished stage, reused.
    again = score_checkpoint(
        "local", tmp_path / "tasks.jsonl", tmp_path / "out", n=2, ks=(1, 2), max_tokens=48
    )
    assert again.reused and again.overall == report["overall"] and again.written == 4
