"""The stage contract under the training recipes (``train.*``) and checkpoint scoring
(``evaluate.checkpoint``): the one summary, the record beside the outputs, reuse, the post-condition
of a training stage, and a SIGKILL then rerun of a real ``python -m alignforge`` process."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from _llm_helpers import FakeServer
from _stage_contract import (
    REPO,
    assert_recorded,
    assert_side_files,
    assert_summary,
    kill_when,
    rows_of,
    run_cli,
    subprocess_env,
)
from _train_helpers import build_tiny_model, write_config

from alignforge.evaluate import score_checkpoint
from alignforge.stages import StageRecord, get_stage, record_path
from alignforge.train import NotTrained, load_config, run_training
from alignforge.train.stage import TrainRAFT, TrainSFT


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "llama")


def _env() -> dict[str, str]:
    # tests/ on the path: the RAFT config names the reward _train_helpers:always_pass
    return subprocess_env(PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO / 'tests'}")


def test_every_recipe_and_checkpoint_scoring_are_registered() -> None:
    for recipe in ("sft", "reward", "dpo", "kto", "grpo", "raft"):
        assert get_stage(f"train.{recipe}").recipe == recipe
    assert get_stage("train.sft") is TrainSFT and get_stage("train.raft") is TrainRAFT
    assert get_stage("evaluate.checkpoint").name == "evaluate.checkpoint"


def test_resume_passes_over_a_checkpoint_a_kill_left_half_written(tmp_path: Path) -> None:
    from alignforge.train import parse_config
    from alignforge.train._recipe_steps import last_checkpoint

    raw = {
        "model": {"base_model": "m"},
        "data": {"train_file": "a.jsonl"},
        "logging": {"output_dir": str(tmp_path)},
    }
    cfg = parse_config(raw, "sft")
    assert last_checkpoint(cfg) is None
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-11").mkdir()  # killed while saving: weights, no trainer_state.json yet
    (tmp_path / "checkpoint-11" / "model.safetensors").write_bytes(b"partial")
    assert last_checkpoint(cfg) == str(tmp_path / "checkpoint-10")  # 10 > 2 numerically, 11 is partial
    raw["training"] = {"resume": False}
    assert last_checkpoint(parse_config(raw, "sft")) is None


@pytest.mark.slow
def test_a_finished_training_stage_is_recorded_and_reused(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "out"
    path = write_config(tmp_path / "sft.yaml", "sft", tiny_model, out, training={"max_steps": 3})
    summary = assert_summary(run_training(load_config(path, "sft")), "train.sft", out)
    assert summary.written == 3 and summary.failed == 0 and summary.resumed == 0 and not summary.reused
    assert summary.weights_changed is True and summary.passed and "train_loss_last" in summary.metrics
    rec = assert_recorded(out, "train.sft")
    assert rec.inputs["model.base_model"]["path"] == str(tiny_model)  # a local base model is an input
    assert rec.inputs["data.train_file"]["path"].endswith("sft_train.jsonl")
    assert "logging" in rec.params and "report_to" not in rec.params["logging"]
    weights = (out / "model.safetensors").stat().st_mtime_ns

    again = run_training(load_config(path, "sft"))
    assert again.reused and again.written == 3 and again.fingerprint == rec.fingerprint
    assert (out / "model.safetensors").stat().st_mtime_ns == weights  # nothing trained again

    changed = write_config(
        tmp_path / "sft.yaml", "sft", tiny_model, out, training={"max_steps": 3, "learning_rate": 2e-3}
    )
    assert not run_training(load_config(changed, "sft")).reused  # a parameter changed: it trains


@pytest.mark.slow
def test_weights_that_did_not_change_are_not_recorded_finished(tmp_path: Path, tiny_model: Path) -> None:
    # Every GRPO group scores the same reward: zero advantages, zero gradients, global step 2 but the
    # weights are the base model's. The stage raises NotTrained and its record stays "running".
    out = tmp_path / "out"
    path = write_config(
        tmp_path / "grpo.yaml",
        "grpo",
        tiny_model,
        out,
        training={"max_steps": 2, "batch_size": 4, "num_generations": 4, "max_completion_length": 4},
        rewards={"functions": ["exact_match"]},
        monitors={"kl_prompts": 0},
    )
    for _ in range(2):  # and a rerun is not taken for finished
        with pytest.raises(NotTrained, match="weights did not change over 2 steps") as raised:
            run_training(load_config(path, "grpo"))
        assert raised.value.summary.written == 2 and raised.value.exit_code == 1
        rec = StageRecord.read(record_path(out))
        assert rec is not None and rec.stage == "train.grpo" and rec.status == "running"


@pytest.mark.slow
def test_killed_training_is_not_finished_and_the_rerun_resumes_from_its_checkpoint(
    tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "sft.yaml",
        "sft",
        tiny_model,
        out,
        training={"max_steps": 30, "save_steps": 1, "save_total_limit": 2, "batch_size": 2},
    )
    cmd = ["train", "sft", "--config", str(config)]
    kill_when(cmd, lambda: (out / "checkpoint-3").is_dir(), env=_env())
    rec = StageRecord.read(out / "stage.json")
    assert rec is not None and rec.status == "running"  # killed: not taken for finished

    r = run_cli(cmd, env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    rec = assert_recorded(out, "train.sft")
    done = rec.summary
    assert done["written"] == 30 and not done["reused"]
    # It resumed from the newest complete checkpoint the killed run left: those steps are not redone.
    resumed_from = done["figures"]["resumed_from"]
    assert resumed_from and Path(resumed_from).name == f"checkpoint-{done['resumed']}"
    assert 2 <= done["resumed"] < 30
    assert f"resumed from {resumed_from}" in r.stdout
    state = json.loads((out / "checkpoint-30" / "trainer_state.json").read_text())
    assert state["global_step"] == 30


@pytest.mark.slow
def test_killed_raft_run_restarts_at_the_next_cycle(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "raft.yaml",
        "raft",
        tiny_model,
        out,
        raft={"cycles": 2, "samples_per_prompt": 2, "max_new_tokens": 4, "eval_samples": 2, "pass_k": [1]},
        training={"max_steps": 2},
        rewards={"functions": ["_train_helpers:always_pass"]},
    )
    cmd = ["train", "raft", "--config", str(config)]
    cycle_1 = out / "cycle_1"
    kill_when(cmd, lambda: (cycle_1 / ".complete").exists(), env=_env())
    assert not (out / "cycle_2" / ".complete").exists()
    assert StageRecord.read(out / "stage.json").status == "running"  # type: ignore[union-attr]
    before = {p.name: p.stat().st_mtime_ns for p in cycle_1.iterdir() if p.is_file()}

    r = run_cli(cmd, env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    # Cycle 1 is not redone: its files are untouched, and the rerun starts from it.
    assert {p.name: p.stat().st_mtime_ns for p in cycle_1.iterdir() if p.is_file()} == before
    rec = assert_recorded(out, "train.raft")
    done = rec.summary
    assert Path(done["figures"]["resumed_from"]).name == "cycle_1"
    assert done["resumed"] == 2 and done["written"] == 4  # cycle 1's 2 steps were done before the kill
    assert [c["cycle"] for c in done["figures"]["cycles"]] == [1, 2]
    # The samples follow the side-file scheme: every sample passes (always_pass), none is dropped.
    for k in (1, 2):
        kept = rows_of(out / f"cycle_{k}" / "samples.jsonl")
        assert len(kept) == 16 and all(s["passed"] for s in kept)
        assert assert_side_files(out / f"cycle_{k}" / "samples.jsonl") == []


def _tasks(path: Path, n: int, *, fault: bool = False) -> Path:
    rows = [
        {
            "task_id": f"m{i}",
            "prompt": f"What is {i} + 5 - {i}?",
            "answer": "5" if i % 2 == 0 else "6",
            "domain": "math",
        }
        for i in range(n)
    ]
    if fault:
        rows[-1]["prompt"] += " #400"  # the server refuses it: a failed generation
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _server(latency_s: float = 0.0) -> FakeServer:
    return FakeServer(
        latency_s=latency_s, reply=lambda req, n: "Adding and taking away.\nThe answer is 5"
    ).start()


def test_checkpoint_scoring_contract_and_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    try:
        tasks = _tasks(tmp_path / "tasks.jsonl", 3, fault=True)
        out = tmp_path / "scores"
        summary = assert_summary(
            score_checkpoint("openai:fake", tasks, out, n=2, ks=(1, 2), max_tokens=16),
            "evaluate.checkpoint",
            out / "report.json",
        )
        assert (summary.written, summary.failed) == (6, 2)
        assert summary.scores == {"tasks/pass@1": pytest.approx(1 / 3), "tasks/pass@2": pytest.approx(1 / 3)}
        assert summary.statuses["passed"] == 2 and summary.failed_generations == 2
        failures = rows_of(out / "samples.failures.jsonl")
        assert [(f["task_id"], f["sample_index"]) for f in failures] == [("m2", 0), ("m2", 1)]
        assert_side_files(out / "samples.jsonl")
        rec = assert_recorded(out / "report.json", "evaluate.checkpoint")
        assert rec.params["model"] == "openai:fake" and "workers" not in rec.params
        sent = len(server.received)

        again = score_checkpoint("openai:fake", tasks, out, n=2, ks=(1, 2), max_tokens=16)
        assert again.reused and again.scores == summary.scores and len(server.received) == sent
        assert not score_checkpoint("openai:fake", tasks, out, n=2, ks=(1,), max_tokens=16).reused
    finally:
        server.stop()


def test_killed_checkpoint_scoring_repeats_no_finished_generation(tmp_path: Path) -> None:
    server = _server(latency_s=0.1)  # 96 requests, 16 in flight: six waves of 0.1 s
    try:
        tasks = _tasks(tmp_path / "tasks.jsonl", 24)
        out = tmp_path / "scores"
        env = subprocess_env(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="none")
        cmd = ["bench", "checkpoint", "--model", "openai:fake", "--tasks", str(tasks), "--out", str(out)]
        cmd += ["--n", "4", "--k", "1,4", "--max-tokens", "16"]
        kill_when(cmd, lambda: len(server.served) >= 20, env=env)
        with sqlite3.connect(out / "requests.sqlite") as db:
            cached = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        assert 0 < cached < 96
        assert not (out / "report.json").exists()
        at_kill = len(server.received)

        r = run_cli(cmd, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
        assert len(server.received) - at_kill == 96 - cached  # only the generations not finished
        assert len(rows_of(out / "verdicts.jsonl")) == 96
        rec = assert_recorded(out / "report.json", "evaluate.checkpoint")
        assert rec.summary["written"] == 96 and rec.summary["figures"]["scores"]["tasks/pass@4"] == 0.5
        assert "evaluate.checkpoint: written 96" in r.stdout
    finally:
        server.stop()


def test_where_the_sandbox_runs_is_not_part_of_a_training_fingerprint(tmp_path: Path) -> None:
    from alignforge.train import parse_config

    def params(**verifier: object) -> dict:
        raw = {
            "model": {"base_model": "m"},
            "data": {"train_file": "a.jsonl"},
            "logging": {"output_dir": str(tmp_path)},
            "rewards": {"functions": ["code_tests"]},
            "verifier": verifier,
        }
        return TrainRAFT(parse_config(raw, "raft")).params()

    assert params(executor="ray") == params(executor="local") == params()
    assert params(executor="ray", timeout=3) != params()  # a setting that changes verdicts counts
