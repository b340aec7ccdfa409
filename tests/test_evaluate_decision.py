"""The deployment decision: the seed's EVALUATION_CONFIG thresholds as gates (format C), every failed
gate named, unmeasured figures failing closed, the report, bad thresholds, the CLI's exit codes and the
stage contract (record, reuse, a changed threshold reruns)."""

from __future__ import annotations

import json

import pytest
from _stage_contract import assert_recorded, assert_summary

from alignforge.errors import ConfigError
from alignforge.evaluate.decision import DEFAULT_THRESHOLDS, DecisionStage, decide
from alignforge.stages import get_stage, run_stage
from tests._cli import run_cli

GATE_KEYS = {"name", "figure", "value", "op", "bound", "unit", "passed", "on_fail"}


def _suites(path, model, scores):
    suites = {
        name: {"metric": metric, "score": score, "se": (score * (1 - score) / n) ** 0.5, "n": n}
        for name, (metric, score, n) in scores.items()
    }
    path.write_text(json.dumps({"model": model, "suites": suites}))
    return path


@pytest.fixture
def files(tmp_path):
    base = {
        "humaneval": ("pass@1", 0.30, 100),
        "gsm8k": ("accuracy", 0.40, 100),
        "mmlu": ("accuracy", 0.50, 200),
        "arc_challenge": ("acc_norm", 0.40, 100),
    }
    good = {k: (m, s * 0.98, n) for k, (m, s, n) in base.items()}
    bad = {**good, "gsm8k": ("accuracy", 0.32, 100)}  # retention 0.8, still above gsm8k's 0.30 floor
    f = {
        "base": _suites(tmp_path / "base.json", "local", base),
        "good": _suites(tmp_path / "good.json", "local:dpo", good),
        "bad": _suites(tmp_path / "bad.json", "local:dpo", bad),
        "win": tmp_path / "winrate.json",
        "lose": tmp_path / "lose.json",
        "metrics": tmp_path / "training_metrics.json",
        "hot": tmp_path / "hot_metrics.json",
        "check": tmp_path / "check_metrics.json",
    }
    f["win"].write_text(json.dumps({"win_rate": 0.62, "se": 0.04, "n": 100, "lc_win_rate": 0.58}))
    f["lose"].write_text(json.dumps({"win_rate": 0.5, "se": 0.05, "n": 100}))
    f["metrics"].write_text(json.dumps({"kl_divergence": 0.05, "reward_margin": 0.4}))
    f["hot"].write_text(json.dumps({"kl_divergence": 0.2, "reward_margin": 0.4}))
    f["check"].write_text(json.dumps({"decontamination": 0.97, "total_pairs": 1200}))
    return f


def test_all_gates_pass_deploys(files):
    d = decide(
        files["base"],
        files["good"],
        winrate=files["win"],
        training_metrics=files["metrics"],
        decontamination=files["check"],
    )
    assert d["deploy"] is True and d["failed"] == []
    names = [g["name"] for g in d["gates"]]
    assert names == [
        "capability.mmlu",
        "capability.humaneval",
        "capability.gsm8k",
        "kl_divergence",
        "preference_gap",
        "capability_retention",
        "decontamination",
        "win_rate",
    ]
    for g in d["gates"]:
        assert set(g) == GATE_KEYS and g["passed"] and g["on_fail"] == "stop"
    by = {g["name"]: g for g in d["gates"]}
    assert by["capability_retention"]["value"] == pytest.approx(0.98)
    assert (by["win_rate"]["op"], by["win_rate"]["bound"]) == (">", 0.5)
    assert (by["kl_divergence"]["op"], by["kl_divergence"]["bound"], by["kl_divergence"]["value"]) == (
        "<=",
        0.1,
        0.05,
    )
    assert by["preference_gap"]["value"] == 0.4 and by["decontamination"]["value"] == 0.97
    assert d["retention"]["suites"]["gsm8k"]["tuned"]["score"] == pytest.approx(0.392)


def test_failing_and_unmeasured_gates_are_named(files):
    d = decide(files["base"], files["bad"], winrate=files["lose"], training_metrics=files["hot"])
    assert d["deploy"] is False
    # retention 0.32/0.40 = 0.8; win rate 0.5 is not > 0.5; KL 0.2 > 0.1; decontamination not given
    assert d["failed"] == ["kl_divergence", "capability_retention", "decontamination", "win_rate"]
    assert "decontamination not measured" in d["reason"] and "kl_divergence 0.2 not <= 0.1" in d["reason"]
    assert "capability_retention 0.8 not >= 0.95" in d["reason"] and "win_rate 0.5 not > 0.5" in d["reason"]
    assert d["retention"]["worst_suite"] == "gsm8k"
    # a capability floor: the tuned score itself, a suite the thresholds name but nobody measured fails closed
    t = {"capability_benchmarks": {"math500": {"baseline_threshold": 0.2}}}
    d = decide(files["base"], files["good"], thresholds=t)
    assert d["failed"] == ["capability.math500"] and d["gates"][0]["value"] is None


def test_seed_config_shape_and_bad_thresholds(files):
    seed = {
        "capability_benchmarks": {
            "mmlu": {"dataset": "cais/mmlu", "subset": "all", "num_shots": 5, "metric": "accuracy",
                     "baseline_threshold": 0.45},
        },
        "alignment_evaluation": {
            "preference_validation": {"test_set": "x.jsonl", "metric": "win_rate", "baseline_threshold": 0.5},
            "human_eval": {"sample_size": 100},
        },
        "quality_thresholds": {"capability_retention": {"min": 0.95}},
    }  # fmt: skip
    d = decide(files["base"], files["good"], winrate=files["win"], thresholds=seed)
    assert [g["name"] for g in d["gates"]] == ["capability.mmlu", "capability_retention", "win_rate"]
    assert d["deploy"] is True
    with pytest.raises(ConfigError, match="thresholds: unknown key 'quality'"):
        decide(files["base"], files["good"], thresholds={"quality": {}})
    with pytest.raises(ConfigError, match="quality_thresholds.kl: unknown gate"):
        decide(files["base"], files["good"], thresholds={"quality_thresholds": {"kl": {"max": 1}}})
    with pytest.raises(ConfigError, match=r"quality_thresholds.kl_divergence.max: expected a number"):
        decide(
            files["base"], files["good"], thresholds={"quality_thresholds": {"kl_divergence": {"max": "x"}}}
        )
    with pytest.raises(ConfigError, match=r"capability_benchmarks.gsm8k.floor: unknown key"):
        decide(
            files["base"],
            files["good"],
            thresholds={"capability_benchmarks": {"gsm8k": {"baseline_threshold": 0.3, "floor": 1}}},
        )


def test_decision_stage_contract_and_report(files, tmp_path):
    out = tmp_path / "decision"
    cls = get_stage("evaluate.decision")
    assert cls is DecisionStage
    kw = dict(
        baseline_suites=files["base"],
        tuned_suites=files["bad"],
        out_dir=out,
        winrate=files["lose"],
        training_metrics=files["hot"],
    )
    s = assert_summary(run_stage(cls(**kw)), "evaluate.decision", out / "decision.json")
    assert_recorded(out / "decision.json", "evaluate.decision")
    d = json.loads((out / "decision.json").read_text())
    assert set(d) >= {"deploy", "gates", "failed", "retention", "reason"} and d["deploy"] is False
    assert s.figures["failed"] == d["failed"] and s.figures["passed"] is False
    report = (out / "evaluation_report.md").read_text()
    assert "**DO NOT DEPLOY**" in report
    for name in d["failed"]:
        assert f"| {name} |" in report and "FAIL" in report
    assert "| gsm8k | accuracy | 0.400 ± 0.049 (n=100) | 0.320 ± 0.047 (n=100) | 0.800 |" in report
    assert run_stage(cls(**kw)).reused
    changed = run_stage(cls(**kw, thresholds={"quality_thresholds": {"kl_divergence": {"max": 0.3}}}))
    assert not changed.reused and changed.deploy is True
    # an edited input reruns too
    files["hot"].write_text(json.dumps({"kl_divergence": 0.01, "reward_margin": 0.4}))
    assert not run_stage(cls(**kw)).reused


def test_decision_cli_exit_codes(files, tmp_path, capsys):
    common = ["bench", "decision", "--baseline-suites", files["base"], "--winrate", files["win"]]
    r = run_cli(
        capsys,
        *common,
        "--tuned-suites",
        files["good"],
        "--training-metrics",
        files["metrics"],
        "--decontamination",
        files["check"],
        "--out",
        tmp_path / "ok",
    )
    assert r.code == 0, r.err
    assert "deploy: all 8 gates passed" in r.out
    r = run_cli(capsys, *common, "--tuned-suites", files["bad"], "--out", tmp_path / "no")
    assert r.code == 1
    assert (
        "FAIL  capability_retention" in r.out and "FAIL  kl_divergence" in r.out and "not measured" in r.out
    )
    thresholds = tmp_path / "t.yaml"
    thresholds.write_text("quality_thresholds:\n  kl_divergence: {maximum: 0.1}\n")
    r = run_cli(
        capsys, *common, "--tuned-suites", files["good"], "--thresholds", thresholds, "--out", tmp_path / "x"
    )
    assert r.code == 2 and "quality_thresholds.kl_divergence" in r.err
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"model": "m", "suites": {"gsm8k": {"metric": "accuracy", "score": "high"}}})
    )
    r = run_cli(capsys, *common, "--tuned-suites", broken, "--out", tmp_path / "y")
    assert r.code == 2 and f"{broken}: field 'suites.gsm8k.score'" in r.err


def test_default_thresholds_are_the_seeds():
    assert DEFAULT_THRESHOLDS["quality_thresholds"] == {
        "kl_divergence": {"max": 0.1},
        "preference_gap": {"min": 0.15},
        "capability_retention": {"min": 0.95},
        "decontamination": {"min": 0.9},
    }
    caps = DEFAULT_THRESHOLDS["capability_benchmarks"]
    assert {k: v["baseline_threshold"] for k, v in caps.items()} == {
        "mmlu": 0.45,
        "humaneval": 0.15,
        "gsm8k": 0.30,
    }


def test_decontamination_from_a_check_json_or_a_decontaminate_report(files, tmp_path):
    check = tmp_path / "check.json"
    check.write_text(
        json.dumps({"path": "pairs.jsonl", "figures": {"decontamination": 0.95, "total_pairs": 10}})
    )
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"scanned": {"sha256": "ab"}, "decontamination_score": 0.8}))
    unmeasured = tmp_path / "no_scan.json"
    unmeasured.write_text(json.dumps({"figures": {"total_pairs": 10}}))
    t = {"quality_thresholds": {"decontamination": {"min": 0.9}}}
    values = [
        decide(files["base"], files["good"], decontamination=p, thresholds=t)["gates"][0]
        for p in (check, report, unmeasured)
    ]
    assert [(g["value"], g["passed"]) for g in values] == [(0.95, True), (0.8, False), (None, False)]


def test_load_thresholds_reads_the_seed_shape_and_names_the_file(tmp_path):
    from alignforge.evaluate.decision import load_thresholds

    seed = tmp_path / "seed.yaml"
    seed.write_text("EVALUATION_CONFIG:\n  quality_thresholds:\n    kl_divergence: {max: 0.2}\n")
    assert load_thresholds(seed) == {"quality_thresholds": {"kl_divergence": {"max": 0.2}}}
    bare = tmp_path / "bare.yaml"
    bare.write_text("win_rate: {gt: 0.5}\n")
    assert load_thresholds(bare) == {"win_rate": {"gt": 0.5}}
    for name, text, message in (
        ("list.yaml", "- 1\n", "expected a mapping"),
        ("bad.yaml", "a: [1\n", "not valid YAML"),
    ):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ConfigError, match=f"{path}: {message}"):
            load_thresholds(path)
    with pytest.raises(ConfigError, match="no such thresholds file"):
        load_thresholds(tmp_path / "missing.yaml")
