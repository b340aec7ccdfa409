"""The CLI over the recipes, the multi-process path through accelerate, and DPO with LoRA on SmolLM2."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _train_helpers import REPO, build_tiny_model, write_config

from alignforge.train import load_config, run_training


def test_cli_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "model: {base_model: m}\ndata: {train_file: a.jsonl, max_target_length: 512}\n"
        "logging: {output_dir: o}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "alignforge", "train", "dpo", "--config", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {bad}: data.max_target_length is obsolete: set data.max_length"
    ]


def test_cli_help_lists_every_stage_with_an_example() -> None:
    from click.testing import CliRunner

    from alignforge.cli import cli

    out = CliRunner().invoke(cli, ["train", "--help"]).output
    for stage in ("sft", "reward", "dpo", "kto", "grpo", "raft"):
        assert stage in out
    assert (
        "alignforge train dpo --config examples/dpo_config.yaml"
        in CliRunner().invoke(cli, ["train", "dpo", "--help"]).output
    )


@pytest.mark.slow
def test_dpo_under_accelerate_with_two_cpu_processes(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "dpo.yaml",
        "dpo",
        model,
        out,
        training={"max_steps": 2, "batch_size": 2, "save_steps": 2},
        monitors={"kl_prompts": 2, "kl_max_new_tokens": 4},
        constraints={"kl_target": 10.0},
    )
    # accelerate 1.15's `--cpu` runs the simple single-process launcher; `--multi_gpu` with no visible
    # GPU starts torch.distributed processes on the gloo backend, the same code path as on GPUs.
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CUDA_VISIBLE_DEVICES": ""}
    launcher = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]
    proc = subprocess.run(
        [*launcher, "-m", "alignforge", "train", "dpo", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("train.dpo: written 2 to") == 1  # only rank 0 reports
    card = json.loads((out / "run_card.json").read_text())
    assert card["processes"] == 2 and card["gates_passed"] is True
    assert card["metrics"]["kl_divergence_initial"] == pytest.approx(0.0, abs=1e-6)
    # The 18 training pairs are split over the two processes (9 each, 5 batches of 2 per epoch), so
    # 2 steps are 2/5 of an epoch; one process alone, or both reading all 18, would give 2/9.
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["epoch"] == pytest.approx(2 / 5, abs=1e-6)
    assert (out / "model.safetensors").exists()


@pytest.mark.slow
def test_dpo_with_lora_on_the_embedded_smollm2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "dpo.yaml",
        "dpo",
        Path("embedded"),
        out,
        model={"base_model": "embedded", "lora": {"r": 4, "alpha": 8, "dropout": 0.0}},
        data={"max_length": 48, "max_rows": 4},
        training={"max_steps": 2, "batch_size": 2, "learning_rate": 5e-4},
        monitors={"kl_prompts": 1, "kl_max_new_tokens": 4},
        constraints={"kl_target": 1.0},
    )
    result = run_training(load_config(config, "dpo"))
    m = result.metrics
    assert m["train_loss_first"] == pytest.approx(math.log(2), abs=1e-3)
    assert m["kl_divergence_initial"] == pytest.approx(0.0, abs=1e-5)  # adapters off == reference
    assert math.isfinite(m["kl_divergence"]) and result.passed
    assert (out / "adapter_model.safetensors").exists()
