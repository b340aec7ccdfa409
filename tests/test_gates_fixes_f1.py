"""The gates file is checked before any data is read, and its verdicts hold: scales are applied where
they are allowed and refused elsewhere, unknown figure names and non-boolean `optional` are errors,
NaN never passes, and the seed API refuses a malformed training_metrics.json in one clear line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.quality import check_file, check_quality_gates, enforce_gates
from alignforge.quality.gates import gates_init_yaml, load_gates
from tests._cli import run_cli

REPO = Path(__file__).resolve().parent.parent


def pair(i: int, c: float, r: float) -> dict:
    return {
        "prompt": f"question {i}?",
        "chosen": f"a careful answer {i}",
        "rejected": f"a sloppy answer {i}",
        "metadata": {"chosen_score": c, "rejected_score": r},
    }


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def gates_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text(text)
    return path


def by_name(result, name):  # type: ignore[no-untyped-def]
    (g,) = [g for g in result.gates if g.name == name]
    return g


# --- B1: scale is applied to the judge-score gates, and refused where nothing applies it ----------

SCALED = """\
version: 1
preference_data:
  row_gates:
    chosen_score: {min: 0.9, scale: "0-1"}
    score_gap: {min: 0.15, scale: "0-1"}
  avg_gap: {min: 0.15, scale: "0-1"}
  avg_chosen: {min: 0.7, scale: "0-1"}
"""


def test_scale_0_1_on_preference_score_gates_is_applied(tmp_path, capsys):
    data = jsonl(tmp_path / "p.jsonl", [pair(0, 7, 6), pair(1, 8, 7)])
    gates = gates_file(tmp_path, SCALED)
    result = check_file(data, gates=gates)
    # 0.9 on 0-1 is 9 on the judge's 0-10: both pairs (7, 8) miss it; gaps of 1 miss 1.5.
    assert (
        by_name(result, "chosen_score").status == "fail" and by_name(result, "chosen_score").rows_failing == 2
    )
    assert by_name(result, "score_gap").rows_failing == 2
    assert by_name(result, "avg_gap").status == "fail" and "1.5" in by_name(result, "avg_gap").bound
    assert by_name(result, "avg_chosen").status == "pass"  # 7.5 >= 7.0
    res = run_cli(capsys, "check", data, "--gates", gates, "--keep-passing", tmp_path / "k.jsonl")
    assert res.code == 1
    dropped = [json.loads(x) for x in (tmp_path / "k.dropped.jsonl").read_text().splitlines()]
    details = [d["detail"] for d in dropped[0]["metadata"]["drop_reasons"]]
    assert "chosen_score 7, gate >= 9.0" in details


def test_scale_0_1_passes_pairs_that_meet_the_scaled_bound(tmp_path):
    data = jsonl(tmp_path / "p.jsonl", [pair(0, 9.5, 3), pair(1, 9.0, 2)])
    result = check_file(data, gates=gates_file(tmp_path, SCALED))
    for name in ("chosen_score", "score_gap", "avg_gap", "avg_chosen"):
        assert by_name(result, name).status == "pass", name


@pytest.mark.parametrize(
    "text, where",
    [
        ("preference_data:\n  total_pairs: {min: 0.5, scale: '0-1'}\n", "preference_data.total_pairs"),
        ("preference_data:\n  row_gates:\n    chosen_score: {min: 9, data_scale: '0-1'}\n",
         "preference_data.row_gates.chosen_score"),
        ("sft_data:\n  share_score_ge_min: {min: 0.9, scale: '0-1'}\n", "sft_data.share_score_ge_min"),
        ("rlvr_data:\n  row_gates:\n    tests_per_task: {min: 3, scale: '0-10'}\n",
         "rlvr_data.row_gates.tests_per_task"),
    ],
)  # fmt: skip
def test_scale_where_nothing_applies_it_is_refused(tmp_path, capsys, text, where):
    gates = gates_file(tmp_path, text)
    res = run_cli(capsys, "gates", "validate", gates)
    assert res.code == 2 and str(gates) in res.err and where in res.err and "scale" in res.err
    assert "Traceback" not in res.err


def test_sft_score_keeps_its_scale_and_data_scale(tmp_path, capsys):
    gates = gates_file(
        tmp_path, "sft_data:\n  row_gates:\n    score: {min: 0.8, scale: '0-1', data_scale: '0-10'}\n"
    )
    assert run_cli(capsys, "gates", "validate", gates).code == 0


# --- B2 / C4: gate names are the figures check computes ------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("preference_data:\n  avg_chosn: {min: 9.5, optional: true}\n", "did you mean 'avg_chosen'"),
        ("sft_data:\n  row_cont: {min: 10}\n", "did you mean 'row_count'"),
        ("evaluation:\n  capability_retension: {min: 0.95}\n", "did you mean 'capability_retention'"),
        ("reward_model:\n  rm_val_acuracy: {min: 0.7}\n", "did you mean 'rm_val_accuracy'"),
        (
            "preference_data:\n  flaw_mix_target.oversimplifed: {max: 0.1}\n",
            "did you mean 'flaw_mix_target.oversimplified'",
        ),
        ("preference_data:\n  total_pairs.x: {min: 1}\n", "'total_pairs' is a number"),
    ],
)
def test_unknown_figure_names_are_errors_with_a_suggestion(tmp_path, capsys, text, expected):
    gates = gates_file(tmp_path, text)
    res = run_cli(capsys, "gates", "validate", gates)
    assert res.code == 2 and expected in res.err and str(gates) in res.err, res.err
    data = jsonl(tmp_path / "p.jsonl", [pair(0, 9, 3)])
    if text.startswith("preference_data"):
        assert run_cli(capsys, "check", data, "--gates", gates).code == 2


def test_known_dotted_and_data_keyed_figures_are_accepted(tmp_path):
    load_gates(
        gates_file(
            tmp_path,
            "preference_data:\n"
            "  flaw_mix.oversimplified: {min: 0.05, optional: true}\n"
            "  flaw_mix_target.oversimplified: {max: 1}\n"
            "  per_benchmark.gsm8k.share: {max: 0.02, optional: true}\n"
            "  row_failures.chosen_score.rows: {max: 10, optional: true}\n"
            "  review_disagreement: {max: 0.05, optional: true}\n"
            "  contaminated_rows: {max: 0, optional: true}\n"
            "rlvr_data:\n  verifiability_by_domain.finance: {min: 0.85, optional: true}\n"
            "kto_data:\n  label_counts.true: {min: 1}\n",
        )
    )


def test_a_gate_on_a_mapping_or_a_list_is_caught_by_validate(tmp_path, capsys):
    gates = gates_file(tmp_path, "preference_data:\n  flaw_mix: {min: 0.1}\n")
    res = run_cli(capsys, "gates", "validate", gates)
    assert res.code == 2 and str(gates) in res.err
    assert "which is a mapping, not a number" in res.err and "flaw_mix.oversimplified" in res.err
    gates.write_text("preference_data:\n  identical_pair_lines: {max: 0}\n")
    res = run_cli(capsys, "gates", "validate", gates)
    assert res.code == 2 and "which is a list, not a number" in res.err and str(gates) in res.err


def test_shipped_and_example_gates_still_validate(tmp_path):
    load_gates(None)
    load_gates(gates_file(tmp_path, gates_init_yaml(["gsm8k"], str(tmp_path))))
    found = 0
    for wf in sorted((REPO / "examples").rglob("*.yaml")):
        doc = yaml.safe_load(wf.read_text())
        inline = (doc.get("preference") or {}).get("gates") if isinstance(doc, dict) else None
        if isinstance(inline, dict):
            found += 1
            load_gates(gates_file(tmp_path, yaml.safe_dump(inline)))
    assert found >= 1  # examples/workflows/dpo_demo.yaml


# --- B3, C1, D3: the keys' types and the file's shape ----------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("preference_data:\n  avg_chosen: {min: 9, optional: 'no'}\n", "optional must be true or false"),
        ("preference_data:\n  avg_chosen: {min: 9, optional: 1}\n", "optional must be true or false"),
        ("preference_data:\n  avg_chosen: true\n", "must be a mapping like"),
        ("version: 2\npreference_data:\n  avg_chosen: {min: 9}\n", "version 2"),
        ("version: '1'\npreference_data:\n  avg_chosen: {min: 9}\n", "version"),
        ("preference_data:\n  avg_chosen: {min: 9, max: 6}\n", "min 9 is above max 6"),
        ("preference_data:\n  avg_chosen: {min: .nan}\n", "must be a finite number"),
        ("preference_data:\n  avg_gap: {min: -.inf}\n", "must be a finite number"),
        ("preference_data:\n  avg_chosen: {min: 9}\n  avg_chosen: {min: 1}\n", "g.yaml:3: duplicate key 'avg_chosen'"),
        ("preference_data:\n  avg_chosen: {min: 9, min: 1}\n", "g.yaml:2: duplicate key 'min'"),
        ("preference_data: {}\npreference_data:\n  avg_chosen: {min: 1}\n", "g.yaml:2: duplicate key"),
    ],
)  # fmt: skip
def test_bad_gates_files_are_refused(tmp_path, capsys, text, expected):
    gates = gates_file(tmp_path, text)
    res = run_cli(capsys, "gates", "validate", gates)
    assert res.code == 2 and expected in res.err and str(gates) in res.err, res.err
    assert "Traceback" not in res.err and "internal error" not in res.err


def test_a_bare_boolean_dataset_gate_no_longer_crashes_check(tmp_path, capsys):
    data = jsonl(tmp_path / "p.jsonl", [pair(0, 9, 3)])
    gates = gates_file(tmp_path, "preference_data:\n  avg_chosen: true\n")
    res = run_cli(capsys, "check", data, "--gates", gates)
    assert res.code == 2 and "internal error" not in res.err and str(gates) in res.err


def test_version_1_and_no_version_are_accepted(tmp_path):
    load_gates(gates_file(tmp_path, "version: 1\npreference_data:\n  avg_chosen: {min: 9}\n"))
    load_gates(gates_file(tmp_path, "preference_data:\n  avg_chosen: {min: 9}\n"))


# --- B4: NaN never passes ------------------------------------------------------------------------


def test_nan_figures_fail_the_gates(tmp_path):
    nan = float("nan")
    assert enforce_gates("dpo_training", kl_divergence=nan, reward_margin=0.21, verbose=False) is False
    assert enforce_gates("dpo_training", kl_divergence=0.05, reward_margin=nan, verbose=False) is False
    assert enforce_gates("dpo_training", kl_divergence=0.05, reward_margin=0.21, verbose=False) is True
    assert enforce_gates("evaluation", capability_retention=nan, verbose=False) is False
    assert enforce_gates("evaluation", capability_retention=math.inf, verbose=False) is False
    assert enforce_gates("evaluation", capability_retention=96.5, verbose=False) is True


def test_a_nan_figure_is_reported_not_measured(tmp_path, capsys):
    cfg = load_gates(None)
    assert enforce_gates("reward_model", figures={
        "rm_train_accuracy": 0.9, "rm_val_accuracy": float("nan"), "rm_train_val_gap": 0.0,
    }, gates=cfg) is False  # fmt: skip
    out = capsys.readouterr().out
    assert "rm_val_accuracy" in out and "nan" in out


def test_a_non_numeric_figure_given_to_enforce_gates_is_an_error():
    with pytest.raises(ValueError, match="kl_divergence must be a number"):
        enforce_gates("dpo_training", kl_divergence="0.05", verbose=False)  # type: ignore[arg-type]


def test_enforce_gates_validates_a_gates_mapping():
    cfg = load_gates(None)
    cfg["dpo_training"] = {"kl_divergence": {"max": 0.1, "optional": "no"}}
    with pytest.raises(ConfigError, match="optional must be true or false"):
        enforce_gates("dpo_training", kl_divergence=0.05, gates=cfg, verbose=False)


# --- C10: check_quality_gates on a malformed training_metrics.json --------------------------------

CONFIG = {"constraints": {"kl_target": 0.1, "preference_gap_target": 0.15}}


def _metrics(tmp_path: Path, text: str) -> Path:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir(exist_ok=True)
    (ckpt / "training_metrics.json").write_text(text)
    return ckpt


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"kl_divergence": "0.05", "reward_margin": 0.3}', "field 'kl_divergence' must be a number"),
        ('{"kl_divergence": 0.05, "reward_margin": true}', "field 'reward_margin' must be a number"),
        ('{"kl_divergence": 0.05, "reward_margin": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_a_malformed_metrics_file_is_a_clear_error(tmp_path, text, expected):
    ckpt = _metrics(tmp_path, text)
    with pytest.raises(AlignforgeError, match=expected) as info:
        check_quality_gates(ckpt, CONFIG)
    assert "training_metrics.json" in str(info.value)


@pytest.mark.parametrize(
    "text",
    ['{"kl_divergence": NaN, "reward_margin": 0.3}', '{"kl_divergence": 0.05, "reward_margin": Infinity}'],
)
def test_non_finite_metrics_fail_the_gates(tmp_path, text):
    res = check_quality_gates(_metrics(tmp_path, text), CONFIG)
    assert res["gates_passed"] is False and any("finite" in r for r in res["reasons"])


def test_well_formed_metrics_still_pass(tmp_path):
    ckpt = _metrics(tmp_path, '{"kl_divergence": 0.05, "reward_margin": 0.3}')
    assert check_quality_gates(ckpt, CONFIG)["gates_passed"] is True


def test_a_non_numeric_constraint_is_a_clear_error(tmp_path):
    ckpt = _metrics(tmp_path, '{"kl_divergence": 0.05, "reward_margin": 0.3}')
    with pytest.raises(ConfigError, match="constraints.kl_target"):
        check_quality_gates(ckpt, {"constraints": {"kl_target": "0.1"}})
