"""``train.init_check`` (stage 3 of the DPO workflow): every check before the first update, on real models.

The classic failure it exists for: an SFT LoRA adapter chained into DPO with the base model as the
reference. The base weights match, so only the measurements catch it: initial KL and the implicit
rewards are far from 0 and the DPO loss moves off ln 2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _cli import run_cli
from _stage_contract import assert_recorded, assert_summary
from _train_helpers import DATA, build_tiny_model, write_config

from alignforge.errors import ConfigError
from alignforge.io import DataError
from alignforge.stages import get_stage, run_stage
from alignforge.train import load_config, run_training
from alignforge.train.init_check import InitCheck, make_gate

VAL = DATA / "pairs_val.jsonl"
QUICK = {"kl_prompts": 3, "max_new_tokens": 8}


def _failed(summary) -> set[str]:
    return {g["name"] for g in summary.gates if not g["passed"]}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two random Llamas of one architecture and tokenizer, different weights."""
    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_model(root / "a", seed=0), build_tiny_model(root / "b", seed=1)


def test_registered_and_gate_dicts() -> None:
    assert get_stage("train.init_check") is InitCheck
    g = make_gate("initial_kl", "initial_kl", 0.5, "<=", 0.01, "nats/token")
    assert g == {
        "name": "initial_kl",
        "figure": "initial_kl",
        "value": 0.5,
        "op": "<=",
        "bound": 0.01,
        "unit": "nats/token",
        "passed": False,
        "on_fail": "stop",
    }
    assert not make_gate("x", "x", None, "<=", 1.0, "u")["passed"]  # not measured never passes
    assert not make_gate("x", "x", float("nan"), "<=", 1.0, "u")["passed"]
    assert (
        make_gate("x", "x", 0.05, "<", 0.1, "u")["passed"]
        and not make_gate("x", "x", 0.1, "<", 0.1, "u")["passed"]
    )


def test_bad_validation_row_names_file_line_and_field(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    bad = tmp_path / "val.jsonl"
    bad.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "p", "chosen": "a"}\n')
    stage = InitCheck(str(tiny[0]), str(tiny[0]), bad, tmp_path / "out")
    with pytest.raises(DataError, match=rf"{bad}:2.*rejected"):
        run_stage(stage)
    assert not (tmp_path / "out" / "init_check.json").exists()


def test_adapter_without_its_base_is_a_config_error(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    with pytest.raises(ConfigError, match=r"adapter_config.json: base_model_name_or_path is missing"):
        run_stage(InitCheck(str(adapter), "embedded", VAL, tmp_path / "out"))


def test_same_checkpoint_passes_every_gate_and_is_reused(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    stage = InitCheck(str(tiny[0]), str(tiny[0]), VAL, tmp_path / "out", **QUICK)
    summary = run_stage(stage)
    assert summary.passed, summary.lines()
    assert_summary(summary, "train.init_check", tmp_path / "out" / "init_check.json")
    assert_recorded(tmp_path / "out" / "init_check.json", "train.init_check")
    f = summary.figures
    assert f["reference_frozen"] and f["reference_trainable_params"] == 0
    assert f["architecture_match"] and f["tokenizer_match"] and f["weights_match"]
    assert f["weights_compared"] == "all weights"
    assert f["initial_kl"] == pytest.approx(0.0, abs=1e-6)
    assert f["dpo_loss"] == pytest.approx(math.log(2), abs=1e-5) and f["ln2"] == pytest.approx(math.log(2))
    assert f["mean_abs_reward"] == pytest.approx(0.0, abs=1e-6)
    names = [g["name"] for g in f["gates"]]
    assert names == [
        "reference_frozen",
        "architecture_match",
        "policy_copy_of_reference",
        "tokenizer_match",
        "initial_kl",
        "dpo_loss_ln2",
        "implicit_rewards_zero",
    ]
    saved = json.loads((tmp_path / "out" / "init_check.json").read_text())
    assert saved["passed"] is True and saved["gates"] == f["gates"]
    assert run_stage(stage).reused


def test_a_different_reference_fails_copy_kl_and_reward_gates(
    tmp_path: Path, tiny: tuple[Path, Path]
) -> None:
    summary = run_stage(InitCheck(str(tiny[0]), str(tiny[1]), VAL, tmp_path / "out", **QUICK))
    assert not summary.passed
    assert {"policy_copy_of_reference", "initial_kl", "implicit_rewards_zero"} <= _failed(summary)
    f = summary.figures
    assert f["architecture_match"] and f["tokenizer_match"]  # same shapes and tokenizer, other weights
    assert any("differs" in d for d in f["weights_diff"])
    assert f["initial_kl"] > 0.01


def test_a_reference_that_is_not_frozen_fails(
    tmp_path: Path, tiny: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate watches the recipe's loader: a loader that stops freezing the reference is caught."""
    from alignforge.train import _loading

    real = _loading.load_causal_lm

    def unfrozen(cfg, which="policy", **kw):
        model = real(cfg, which, **kw)
        if which == "reference":
            model.requires_grad_(True)
        return model

    monkeypatch.setattr(_loading, "load_causal_lm", unfrozen)
    summary = run_stage(InitCheck(str(tiny[0]), str(tiny[0]), VAL, tmp_path / "out", **QUICK))
    assert _failed(summary) == {"reference_frozen"}
    assert summary.figures["reference_trainable_params"] > 0


def test_tokenizer_and_architecture_mismatches_are_named(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    other = tmp_path / "other"
    build_tiny_model(other, seed=0)
    tok = AutoTokenizer.from_pretrained(other)
    tok.chat_template = "{{ messages[0]['content'] }}"
    tok.save_pretrained(other)
    summary = run_stage(InitCheck(str(tiny[0]), str(other), VAL, tmp_path / "out", **QUICK))
    assert _failed(summary) == {"tokenizer_match"}
    assert summary.figures["tokenizer_diff"] == ["chat templates differ"]

    summary = run_stage(InitCheck("embedded", str(tiny[0]), VAL, tmp_path / "out2", **QUICK))
    assert not summary.figures["architecture_match"]
    assert "config.hidden_size: 576 vs 64" in summary.figures["architecture_diff"]


def test_cli_init_check_from_a_dpo_config(
    tmp_path: Path, tiny: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    monitors = {"kl_prompts": 2, "kl_max_new_tokens": 8}
    good = write_config(tmp_path / "good.yaml", "dpo", tiny[0], tmp_path / "o1", monitors=monitors)
    run = run_cli(capsys, "train", "init-check", "--config", good)
    assert run.code == 0, run.err
    assert "gate initial_kl" in run.out and (tmp_path / "o1" / "init_check" / "init_check.json").exists()

    bad = write_config(
        tmp_path / "bad.yaml",
        "dpo",
        tiny[0],
        tmp_path / "o2",
        model={"reference_model": str(tiny[1])},
        training={"beta": 0.5},
        monitors=monitors,
    )
    run = run_cli(capsys, "train", "init-check", "--config", bad)
    assert run.code == 1
    assert "gates failed: policy_copy_of_reference, initial_kl" in run.err
    saved = json.loads((tmp_path / "o2" / "init_check" / "init_check.json").read_text())
    assert saved["beta"] == 0.5 and saved["reference"] == str(tiny[1])

    no_val = write_config(
        tmp_path / "nv.yaml", "dpo", tiny[0], tmp_path / "o3", data={"validation_file": None}
    )
    run = run_cli(capsys, "train", "init-check", "--config", no_val)
    assert run.code == 2 and "data.validation_file is required" in run.err


# --- the LLaMA-Factory failure, on the embedded SmolLM2 with a real SFT LoRA adapter -----------------


@pytest.fixture(scope="module")
def sft_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sft")
    config = write_config(
        root / "sft.yaml",
        "sft",
        Path("embedded"),
        root / "adapter",
        model={"base_model": "embedded", "lora": {"r": 4, "alpha": 8, "dropout": 0.0}},
        data={"max_length": 48, "max_rows": 8},
        training={"max_steps": 3, "batch_size": 4, "learning_rate": 5e-3},
    )
    run_training(load_config(config, "sft"))
    assert (root / "adapter" / "adapter_config.json").exists()
    return root / "adapter"


@pytest.mark.slow
def test_sft_adapter_with_the_base_as_reference_is_caught(tmp_path: Path, sft_adapter: Path) -> None:
    summary = run_stage(InitCheck(str(sft_adapter), "embedded", VAL, tmp_path / "out", **QUICK))
    f = summary.figures
    # Everything structural passes: the policy's base weights are the reference's weights.
    assert f["reference_frozen"] and f["architecture_match"] and f["tokenizer_match"] and f["weights_match"]
    assert f["weights_compared"] == "base weights (the policy's adapter is on top)"
    # The measurements do not: the policy is base + SFT, the reference only base.
    assert not summary.passed
    assert {"initial_kl", "implicit_rewards_zero"} <= _failed(summary)
    assert f["initial_kl"] > 0.01 and f["mean_abs_reward"] > 0.02
    assert f["dpo_loss_deviation"] > 1e-3  # ln 2 holds to ~1e-7 when the chain is right (below)


@pytest.mark.slow
def test_sft_adapter_with_itself_as_reference_passes(tmp_path: Path, sft_adapter: Path) -> None:
    summary = run_stage(InitCheck(str(sft_adapter), str(sft_adapter), VAL, tmp_path / "out", **QUICK))
    assert summary.passed, summary.lines()
    f = summary.figures
    assert f["weights_compared"] == "base and adapter weights" and f["reference_frozen"]
    assert f["initial_kl"] < 1e-4 and f["dpo_loss_deviation"] < 1e-4 and f["mean_abs_reward"] < 1e-4


@pytest.mark.slow
def test_dpo_config_with_lora_on_an_sft_adapter_uses_the_recipes_reference(
    tmp_path: Path, sft_adapter: Path
) -> None:
    """With ``model.lora`` the DPO recipe's reference is the policy with its adapters off: for a policy
    that is an SFT adapter that is the bare base model, the wrong chain, and the check says so."""
    from alignforge.models import embedded_checkpoint
    from alignforge.train.init_check import from_config

    config = write_config(
        tmp_path / "dpo.yaml",
        "dpo",
        Path("embedded"),
        tmp_path / "o",
        model={"base_model": "embedded", "policy_model": str(sft_adapter), "lora": {"r": 4}},
    )
    stage = from_config(load_config(config, "dpo"))
    assert stage.policy == str(sft_adapter) and stage.reference == str(embedded_checkpoint())
    assert stage.validation == VAL and stage.beta == 0.1 and stage.out_dir == tmp_path / "o" / "init_check"
