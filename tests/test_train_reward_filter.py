"""Stage 4: the reward model's workflow gates (accuracy >= 70 %, gap < 10 %) and the pair filter, on a
real reward model trained for a few steps on a tiny random Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _stage_contract import assert_recorded, assert_side_files, assert_summary, kill_when, rows_of, run_cli
from _train_helpers import DATA, build_tiny_model, write_config

from alignforge.errors import ConfigError, GateFailure
from alignforge.io import DataError
from alignforge.stages import StageRecord, get_stage, record_path, run_stage, side_paths
from alignforge.train import load_config, run_training
from alignforge.train.reward_filter import REASON, RewardFilter, filter_pairs
from alignforge.train.reward_model import filter_pairs as from_recipe
from alignforge.train.reward_model import rm_gates

VAL = DATA / "pairs_val.jsonl"


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rm")
    base = build_tiny_model(root / "base")
    config = write_config(
        root / "reward.yaml",
        "reward",
        base,
        root / "out",
        training={"max_steps": 3},
        constraints={"on_fail": "flag"},
    )
    return root / "out", run_training(load_config(config, "reward"))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rm_gates_in_the_stage_figures(reward_model) -> None:
    _, summary = reward_model
    gates = {g["name"]: g for g in summary.figures["rm_gates"]}
    m = summary.figures["metrics"]
    assert list(gates) == ["rm_train_accuracy", "rm_val_accuracy", "rm_train_val_gap"]
    for key in ("rm_train_accuracy", "rm_val_accuracy"):
        g = gates[key]
        assert (g["op"], g["bound"], g["value"], g["on_fail"]) == (">=", 0.7, m[key], "flag")
        assert g["passed"] == (m[key] >= 0.7)
    g = gates["rm_train_val_gap"]
    assert (g["op"], g["bound"], g["value"]) == ("<", 0.1, m["rm_train_val_gap"])
    assert g["passed"] == (m["rm_train_val_gap"] < 0.1)
    assert set(g) == {"name", "figure", "value", "op", "bound", "unit", "passed", "on_fail"}


def test_rm_gate_bounds_follow_the_constraints() -> None:
    metrics = {"rm_train_accuracy": 0.9, "rm_val_accuracy": 0.75, "rm_train_val_gap": 0.15}
    default = {g["name"]: g["passed"] for g in rm_gates(metrics, {})}
    assert default == {"rm_train_accuracy": True, "rm_val_accuracy": True, "rm_train_val_gap": False}
    moved = rm_gates(metrics, {"rm_accuracy_target": 0.8, "rm_gap_max": 0.2, "on_fail": "flag"})
    assert [(g["bound"], g["passed"], g["on_fail"]) for g in moved] == [
        (0.8, True, "flag"),
        (0.8, False, "flag"),
        (0.2, True, "flag"),
    ]
    unmeasured = rm_gates({}, {})
    assert not any(g["passed"] for g in unmeasured) and all(g["value"] is None for g in unmeasured)


def test_filter_drops_each_disagreement_with_its_rewards(tmp_path: Path, reward_model) -> None:
    model_dir, summary = reward_model
    assert get_stage("train.reward_filter") is RewardFilter and from_recipe is filter_pairs
    # Every validation pair and its mirror (chosen and rejected swapped): a model that scores the two
    # completions differently agrees with exactly one of the two.
    pairs = tmp_path / "pairs.jsonl"
    rows = _rows(VAL)
    mirrored = [{**r, "chosen": r["rejected"], "rejected": r["chosen"]} for r in rows]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows + mirrored))
    result = filter_pairs(model_dir, pairs, tmp_path / "kept.jsonl")
    assert_summary(result, "train.reward_filter", tmp_path / "kept.jsonl")
    assert_side_files(tmp_path / "kept.jsonl", dropped_reasons={REASON})
    assert_recorded(tmp_path / "kept.jsonl", "train.reward_filter")
    kept, dropped = _rows(tmp_path / "kept.jsonl"), _rows(tmp_path / "kept.dropped.jsonl")
    assert result.written == len(kept) == len(rows) and result.dropped == len(dropped) == len(rows)
    assert result.drop_reasons == {REASON: len(rows)}
    for row in dropped:
        [reason] = row["metadata"]["drop_reasons"]
        assert reason["reason"] == REASON
        assert reason["detail"]["chosen_reward"] <= reason["detail"]["rejected_reward"]
    for row in kept:
        r = row["metadata"]["reward_model"]
        assert r["chosen_reward"] > r["rejected_reward"]
    # Scored as the recipe scored them: the kept share of the original pairs is its validation accuracy.
    kept_originals = sum(
        1
        for r in kept
        if {k: r[k] for k in ("prompt", "chosen")} in [{k: o[k] for k in ("prompt", "chosen")} for o in rows]
    )
    assert kept_originals / len(rows) == pytest.approx(summary.figures["metrics"]["rm_val_accuracy"])
    assert filter_pairs(model_dir, pairs, tmp_path / "kept.jsonl").reused


def test_filter_bad_input(tmp_path: Path, reward_model) -> None:
    model_dir, _ = reward_model
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "p", "chosen": 3, "rejected": "b"}\n'
    )
    with pytest.raises(DataError, match=rf"{bad}:2.*chosen"):
        run_stage(RewardFilter(model_dir, bad, tmp_path / "out.jsonl"))
    assert not (tmp_path / "out.jsonl").exists()  # nothing half-written under the final name
    with pytest.raises(ConfigError, match="not a saved reward model"):
        filter_pairs(tmp_path, VAL, tmp_path / "o.jsonl")


def test_reward_gate_failure_still_stops_under_on_fail_stop(tmp_path: Path) -> None:
    """The configured gates keep their meaning: rm_gates add figures, they do not replace the stop."""
    base = build_tiny_model(tmp_path / "base")
    config = write_config(
        tmp_path / "r.yaml",
        "reward",
        base,
        tmp_path / "out",
        training={"max_steps": 1},
        constraints={"rm_accuracy_target": 1.01},
    )
    with pytest.raises(GateFailure, match="rm_val_accuracy"):
        run_training(load_config(config, "reward"))
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert [g["bound"] for g in card["rm_gates"]] == [1.01, 1.01, 0.1]


def test_sigkill_leaves_nothing_partial_and_the_rerun_finishes(tmp_path: Path, reward_model) -> None:
    """A kill mid-scoring leaves the record ``running`` and no output under its final name; the rerun
    (the same command) scores every pair once."""
    model_dir, _ = reward_model
    rows = _rows(VAL)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({**rows[i % len(rows)], "id": i}) + "\n" for i in range(3000)))
    out = tmp_path / "kept.jsonl"
    cmd = ["train", "reward-filter", "--model", str(model_dir), "--pairs", str(pairs), "--out", str(out)]
    partial = Path(f"{out}.tmp")
    kill_when([*cmd, "--batch-size", "1"], lambda: len(rows_of(partial)) >= 2)
    assert not out.exists() and not side_paths(out).dropped.exists()
    rec = StageRecord.read(record_path(out))
    assert rec is not None and rec.status == "running"

    proc = run_cli(cmd)
    assert proc.returncode == 0, proc.stderr
    assert "train.reward_filter: written" in proc.stdout
    ids = sorted(r["id"] for r in rows_of(out) + rows_of(side_paths(out).dropped))
    assert ids == list(range(3000))
    assert_recorded(out, "train.reward_filter")
