"""Every recipe end to end on a tiny random Llama (CPU, a few steps): loss moves, metrics files, gates."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _train_helpers import build_tiny_model, write_config

from alignforge.errors import GateFailure
from alignforge.train import NotTrained, load_config, run_training


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "llama")


def _run(tmp_path: Path, stage: str, base: Path, /, **sections: dict):
    path = write_config(tmp_path / f"{stage}.yaml", stage, base, tmp_path / "out", **sections)
    return run_training(load_config(path, stage))


def _metrics_file(folder: Path) -> dict:
    return json.loads((folder / "training_metrics.json").read_text())


def test_dpo_moves_the_loss_and_reports_kl_margin_and_gates(tmp_path: Path, tiny_model: Path) -> None:
    result = _run(
        tmp_path,
        "dpo",
        tiny_model,
        training={"max_steps": 4, "save_steps": 2, "beta": 0.1},
        monitors={"kl_prompts": 3, "kl_max_new_tokens": 8},
        constraints={"kl_target": 10.0, "preference_gap_target": 100.0, "on_fail": "flag"},
    )
    m = result.metrics
    # The policy starts as a copy of the reference: the DPO loss is ln 2 and KL is 0 before step 1.
    assert m["train_loss_first"] == pytest.approx(math.log(2), abs=1e-4)
    assert m["kl_divergence_initial"] == pytest.approx(0.0, abs=1e-6)
    assert m["eval_loss"] < math.log(2) - 1e-3  # training moved the validation loss
    assert m["kl_divergence"] > 1e-6  # and the policy away from the reference
    assert m["preference_gap"] == m["reward_margin"] and 0.0 <= m["preference_accuracy"] <= 1.0
    gates = {g["metric"]: g for g in result.gates}
    assert gates["kl_divergence"]["passed"] and not gates["preference_gap"]["passed"]
    assert not result.passed
    out = tmp_path / "out"
    saved = _metrics_file(out)
    assert saved["kl_divergence"] == pytest.approx(m["kl_divergence"])
    assert "nats/token" in saved["units"]["kl_divergence"]
    assert saved["gates_passed"] is False
    assert [p.name for p in sorted(out.glob("checkpoint-*"))] == ["checkpoint-2", "checkpoint-4"]
    assert "kl_divergence" in _metrics_file(out / "checkpoint-2")
    card = json.loads((out / "run_card.json").read_text())
    assert card["gates_passed"] is False and card["data"]["train_rows"] == 18
    assert "| preference_gap | >= 100 |" in (out / "run_card.md").read_text()


def test_gate_stops_at_evaluation_and_the_run_resumes_from_its_checkpoint(
    tmp_path: Path, tiny_model: Path
) -> None:
    gate = {"preference_gap_target": 100.0, "on_fail": "stop", "check_at_eval": True}
    common = {"training": {"max_steps": 4, "eval_steps": 2, "save_steps": 2}, "monitors": {"kl_prompts": 0}}
    with pytest.raises(GateFailure, match="preference_gap .* misses >= 100"):
        _run(tmp_path, "dpo", tiny_model, constraints=gate, **common)
    out = tmp_path / "out"
    card = json.loads((out / "run_card.json").read_text())
    assert card["stopped_early"] is True
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-2"]  # stopped at the first evaluation

    result = _run(tmp_path, "dpo", tiny_model, constraints={"on_fail": "stop"}, **common)
    assert result.resumed_from and result.resumed_from.endswith("checkpoint-2")
    assert result.passed and not result.stopped_early
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert _metrics_file(out)["step"] == 4
    # The first loss of the whole run survives the resume (restored from checkpoint-2's metrics).
    assert result.metrics["train_loss_first"] == pytest.approx(math.log(2), abs=1e-4)


def test_sft_lowers_the_loss(tmp_path: Path, tiny_model: Path) -> None:
    result = _run(tmp_path, "sft", tiny_model, training={"max_steps": 5, "learning_rate": 3e-3})
    m = result.metrics
    assert m["train_loss_last"] < m["train_loss_first"]
    assert (tmp_path / "out" / "model.safetensors").exists()


def test_reward_model_accuracies_and_gate(tmp_path: Path, tiny_model: Path) -> None:
    with pytest.raises(GateFailure, match="rm_val_accuracy"):
        _run(
            tmp_path,
            "reward",
            tiny_model,
            training={"max_steps": 3},
            constraints={"rm_accuracy_target": 1.01, "rm_gap_max": 1.0},
        )
    saved = _metrics_file(tmp_path / "out")
    for key in ("rm_train_accuracy", "rm_val_accuracy", "rm_train_val_gap"):
        assert saved[key] is not None, key
    assert saved["rm_train_val_gap"] == pytest.approx(saved["rm_train_accuracy"] - saved["rm_val_accuracy"])
    # Counted over every pair (18 train, 6 validation at batch 4: ragged last batches), not batch-averaged.
    for key, pairs in (("rm_train_accuracy", 18), ("rm_val_accuracy", 6)):
        assert saved[key] * pairs == pytest.approx(round(saved[key] * pairs)), (key, saved[key])
    assert saved["units"]["rm_val_accuracy"] == "fraction, ties count as wrong"


def test_reward_gates_checked_at_each_evaluation_see_both_accuracies(
    tmp_path: Path, tiny_model: Path
) -> None:
    result = _run(
        tmp_path,
        "reward",
        tiny_model,
        training={"max_steps": 2, "eval_steps": 1},
        constraints={"rm_accuracy_target": 0.0, "check_at_eval": True, "on_fail": "stop"},
    )
    # Both accuracies exist at step 1's evaluation, so the gates pass there instead of "not measured".
    assert result.passed and not result.stopped_early
    assert 0.0 <= result.metrics["rm_train_accuracy"] <= 1.0


def test_kto_trains_with_kl_monitor(tmp_path: Path, tiny_model: Path) -> None:
    result = _run(
        tmp_path,
        "kto",
        tiny_model,
        training={"max_steps": 3},
        monitors={"kl_prompts": 2, "kl_max_new_tokens": 6},
        constraints={"kl_target": 10.0},
    )
    m = result.metrics
    assert m["kl_divergence_initial"] == pytest.approx(0.0, abs=1e-6)
    assert m["kl_divergence"] > 0 and "reward_margin" in m and result.passed


def test_grpo_with_the_math_verifier_as_reward(tmp_path: Path, tiny_model: Path) -> None:
    # Every group scores the same reward, so every advantage and gradient is zero: the weights do not
    # move, and the stage says so instead of recording a finished training run.
    with pytest.raises(NotTrained, match="weights did not change over 2 steps") as raised:
        _run(
            tmp_path,
            "grpo",
            tiny_model,
            training={"max_steps": 2, "batch_size": 4, "num_generations": 4, "max_completion_length": 8},
            rewards={"functions": ["math", "exact_match"]},
            monitors={"kl_prompts": 0},
            constraints={"zero_variance_max": 1.0, "on_fail": "flag"},
        )
    result = raised.value.summary
    assert result.written == 2 and result.weights_changed is False
    m = result.metrics
    # A random model never answers right: every group has zero reward variance, and the gate reads it.
    assert m["mean_reward"] == 0.0 and m["frac_zero_std_groups"] == 1.0
    assert m["pass_rate"] == 0.0 and result.passed
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert set(card["data"]["rewards"]) == {"math", "exact_match"}


def test_raft_cycles_checkpoints_and_resume(tmp_path: Path, tiny_model: Path) -> None:
    raft = {"cycles": 2, "samples_per_prompt": 2, "max_new_tokens": 6, "eval_samples": 5, "pass_k": [1, 5]}
    # A random model passes nothing: no cycle keeps a sample, so no step is taken (NotTrained).
    with pytest.raises(NotTrained, match="no cycle kept a passing sample") as raised:
        _run(
            tmp_path,
            "raft",
            tiny_model,
            raft=raft,
            rewards={"functions": ["exact_match"]},
            constraints={"pass_rate_target": 0.5, "on_fail": "flag", "check_at_eval": True},
        )
    result = raised.value.summary
    out = tmp_path / "out"
    assert [p.name for p in sorted(out.glob("cycle_*"))] == ["cycle_1", "cycle_2"]
    first = _metrics_file(out / "cycle_1")
    assert first["pass_at_1"] == 0.0 and first["pass_at_5"] == 0.0 and first["kept_samples"] == 0
    assert (out / "cycle_1" / "samples.jsonl").read_text() == ""
    dropped = [json.loads(x) for x in (out / "cycle_1" / "samples.dropped.jsonl").read_text().splitlines()]
    assert len(dropped) == 8 * 2
    assert all(s["metadata"]["drop_reasons"][0]["reason"] == "failed_verification" for s in dropped)
    assert result.drop_reasons == {"failed_verification": 2 * 8 * 2}
    assert not result.passed  # pass_rate 0 < 0.5, flagged
    assert [w.split(":")[0] for w in result.warnings] == ["cycle 1", "cycle 2"]  # checked after each cycle

    with pytest.raises(NotTrained) as again:
        _run(
            tmp_path,
            "raft",
            tiny_model,
            raft=raft,
            rewards={"functions": ["exact_match"]},
            constraints={"on_fail": "flag"},
        )
    assert again.value.summary.resumed_from.endswith("cycle_2")


def test_raft_trains_on_kept_samples_and_reports_pass_at_k(tmp_path: Path, tiny_model: Path) -> None:
    # A reward every sample earns: each cycle keeps samples, fine-tunes on them and scores pass@k.
    raft = {"cycles": 1, "samples_per_prompt": 2, "max_new_tokens": 4, "eval_samples": 5, "pass_k": [1, 5]}
    result = _run(
        tmp_path,
        "raft",
        tiny_model,
        raft=raft,
        training={"max_steps": 2},
        rewards={"functions": ["_train_helpers:always_pass"]},
        constraints={"zero_variance_max": 1.0, "on_fail": "flag"},
    )
    cycle = _metrics_file(tmp_path / "out" / "cycle_1")
    assert cycle["kept_samples"] > 0 and cycle["train_loss"] is not None and cycle["train_loss"] > 0
    assert cycle["pass_at_1"] == 1.0 and cycle["pass_at_5"] == 1.0 and cycle["pass_rate"] == 1.0
    assert cycle["frac_zero_std_groups"] == 1.0  # every group all-pass: no variance to learn from
    assert result.passed and (tmp_path / "out" / "config.json").exists()


def test_initial_kl_check_catches_a_reference_that_is_not_the_policy(
    tmp_path: Path, tiny_model: Path
) -> None:
    other = build_tiny_model(tmp_path / "other", seed=1)
    result = _run(
        tmp_path,
        "dpo",
        tiny_model,
        model={"reference_model": str(other)},
        training={"max_steps": 1},
        monitors={"kl_prompts": 2, "kl_max_new_tokens": 4},
        constraints={"initial_kl_max": 1e-3, "on_fail": "flag"},
    )
    assert result.metrics["kl_divergence_initial"] > 1e-3
    assert any("before the first step" in w for w in result.warnings)
    gate = next(g for g in result.gates if g["metric"] == "kl_divergence_initial")
    assert not gate["passed"] and not result.passed
