"""Sweeps that train: bad input refused before any trial, gated trials never best, grid, kill -9 and resume.

The training tests use the tiny random Llama of ``_train_helpers`` (CPU, a couple of steps a trial) and
the embedded SmolLM2 with LoRA; they run the real ``train.dpo`` stage and a real SQLite study.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from _train_helpers import build_tiny_model, write_config

from alignforge.errors import ConfigError
from alignforge.sweep.runner import open_study, run_sweep
from alignforge.sweep.space import load_space

REPO = Path(__file__).resolve().parents[1]
PASSING = {"kl_target": 10.0, "preference_gap_target": -100.0}
SMALL = {
    "training": {"max_steps": 2, "beta": 0.1},
    "monitors": {"kl_prompts": 1, "kl_max_new_tokens": 4},
}


def _space(path: Path, params: dict, method: str = "random", metric: str = "validation/margin") -> Path:
    body = {"program": "train_dpo.py", "method": method, "metric": {"name": metric, "goal": "maximize"}}
    path.write_text(yaml.safe_dump({**body, "parameters": params}))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "llama")


def _config(tmp_path: Path, model: Path, **sections: dict) -> Path:
    merged = {**SMALL, "constraints": PASSING, **sections}
    return write_config(tmp_path / "dpo.yaml", "dpo", model, tmp_path / "unused", **merged)


# ----------------------------------------------------------------------------- refused before trial 0


def test_refusals_before_any_trial(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "dpo.yaml", "dpo", tmp_path / "no-model", tmp_path / "o", constraints=PASSING
    )
    study = tmp_path / "study"
    cases = [
        (
            {"lr": {"values": [1e-3]}},
            "validation/margin",
            r"sweep parameter 'lr' maps to no single DPO config key",
        ),
        (
            {"training.nope": {"values": [1]}},
            "validation/margin",
            r"the DPO config has no key training\.nope",
        ),
        ({"batch_size": {"values": [2, 2.5]}}, "validation/margin", r"batch_size"),
        (
            {"beta": {"values": [0.1]}},
            "validation/win_rate",
            r"needs a judge: pass --judge SPEC and --prompts",
        ),
        (
            {"warmup_ratio": {"values": [0.1, 1.5]}},
            "validation/margin",
            r"warmup_ratio: a ratio is in \[0, 1\), got 1\.5",
        ),
        (
            {"beta": {"values": [0.1]}},
            "validation/margin",
            r"--set model\.base_model=embedded",
        ),  # no such model
    ]
    for params, metric, message in cases:
        space = _space(tmp_path / "space.yaml", params, metric=metric)
        with pytest.raises(ConfigError, match=message):
            run_sweep(cfg, space, trials=2, study_dir=study)
    ungated = write_config(tmp_path / "ungated.yaml", "dpo", tmp_path / "no-model", tmp_path / "o")
    with pytest.raises(ConfigError, match="sets no gates, and every sweep trial is gated"):
        run_sweep(
            ungated, _space(tmp_path / "s.yaml", {"beta": {"values": [0.1]}}), trials=1, study_dir=study
        )
    assert not study.exists()  # nothing ran, no study was created


def test_a_study_resumes_only_with_the_same_files(tmp_path: Path) -> None:
    space = _space(tmp_path / "space.yaml", {"beta": {"values": [0.1, 0.2]}})
    spec = load_space(space)
    study = open_study(spec, tmp_path / "study", fingerprint="a")
    assert study.user_attrs["fingerprint"] == "a"
    assert open_study(spec, tmp_path / "study", fingerprint="a").study_name == study.study_name
    with pytest.raises(ConfigError, match="was run with another config or space"):
        open_study(spec, tmp_path / "study", fingerprint="b")


def test_cli_bad_space_exits_2_with_one_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "dpo.yaml", "dpo", tmp_path / "m", tmp_path / "o", constraints=PASSING)
    space = tmp_path / "space.yaml"
    space.write_text(
        "method: bayes\nmetric: {name: validation/margin, goal: maximize}\nparameters:\n  lr: {distribution: normal}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "alignforge", "sweep", "dpo", "--config", str(cfg), "--space", str(space)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {space}:4: parameters.lr.distribution: normal is not supported: Optuna samples bounded ranges only"
    ]


def test_wandb_backend_says_it_is_not_installed(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    if __import__("importlib").util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    cfg = write_config(tmp_path / "dpo.yaml", "dpo", tmp_path / "m", tmp_path / "o", constraints=PASSING)
    space = _space(tmp_path / "space.yaml", {"beta": {"values": [0.1]}})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "alignforge",
            "sweep",
            "dpo",
            "--config",
            str(cfg),
            "--space",
            str(space),
            "--backend",
            "wandb",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "wandb is not installed, so the sweep cannot run on W&B: pip install wandb" in proc.stderr


# ----------------------------------------------------------------------------- trials that train


@pytest.mark.slow
def test_grid_gated_trial_is_pruned_never_best_and_a_rerun_trains_nothing(
    tmp_path: Path, tiny_model: Path
) -> None:
    cfg = _config(tmp_path, tiny_model, training={"max_steps": 1, "beta": 0.1})
    # The second grid point sets an impossible KL gate: that trial trains, fails its gate, is pruned.
    space = _space(
        tmp_path / "space.yaml", {"constraints.kl_target": {"values": [10.0, -1.0]}}, method="grid"
    )
    result = run_sweep(cfg, space, trials=5, study_dir=tmp_path / "study")
    assert len(result.trials) == 2  # the grid has two points, --trials 5 notwithstanding
    by_bound = {t.params["constraints.kl_target"]: t for t in result.trials}
    failed = by_bound[-1.0]
    assert (failed.state, failed.status, failed.failed_gates, failed.value) == (
        "PRUNED",
        "gates_failed",
        ["kl_divergence"],
        None,
    )
    assert failed.metrics["reward_margin"] is not None  # measured, recorded, not used
    assert result.best is not None and result.best.params == {"constraints.kl_target": 10.0}
    assert result.best.value == pytest.approx(by_bound[10.0].metrics["reward_margin"])
    best = yaml.safe_load(result.best_config.read_text()) if result.best_config else {}
    assert best["constraints"]["kl_target"] == 10.0 and best["logging"]["output_dir"] == str(
        tmp_path / "unused"
    )
    saved = json.loads(result.results.read_text())
    assert [
        t["status"] for t in sorted(saved["trials"], key=lambda t: t["params"]["constraints.kl_target"])
    ] == [
        "gates_failed",
        "passed",
    ]
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "study" / "trials").glob("*/stage.json")}
    again = run_sweep(cfg, space, trials=5, study_dir=tmp_path / "study")
    assert [t.number for t in again.trials] == [0, 1]  # resumed: no new trial
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def _trials(study_dir: Path) -> list:
    import optuna

    storage = optuna.storages.RDBStorage(f"sqlite:///{study_dir / 'study.db'}")
    return optuna.load_study(study_name="dpo-sweep", storage=storage).get_trials(deepcopy=True)


@pytest.mark.slow
def test_sigkilled_sweep_resumes_and_the_running_trial_is_retried(tmp_path: Path, tiny_model: Path) -> None:
    cfg = _config(tmp_path, tiny_model, training={"max_steps": 6, "save_steps": 1, "beta": 0.1})
    space = _space(
        tmp_path / "space.yaml",
        {"learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-3}},
    )
    study = tmp_path / "study"
    cmd = [
        sys.executable, "-m", "alignforge", "sweep", "dpo", "--config", str(cfg), "--space", str(space),
        "--trials", "1", "--study-dir", str(study), "--heartbeat", "1", "--grace-period", "3",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "sweep.log"  # a file, not a pipe: a full pipe nobody reads would stall the sweep
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 300
    try:
        while not list(
            (study / "trials").glob("*/checkpoint-1/trainer_state.json")
        ):  # killed mid-training, after a checkpoint
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the first trial never saved a checkpoint"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    killed = _trials(study)
    assert [t.state.name for t in killed] == ["RUNNING"]  # what a kill leaves without heartbeats handling it
    time.sleep(4)  # let its last heartbeat grow older than the grace period

    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    trials = _trials(study)
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    dead, retry = trials
    assert retry.system_attrs["failed_trial"] == 0 and retry.params == dead.params
    # Same values, same folder: the retried trial resumed the dead one's training from its checkpoint.
    assert retry.user_attrs["output_dir"] == dead.user_attrs["output_dir"]
    assert retry.user_attrs["resumed_from"] and "checkpoint-" in retry.user_attrs["resumed_from"]
    assert "best: trial 1 validation/margin =" in done.stdout
    assert (study / "best_config.yaml").is_file()


@pytest.mark.slow
def test_two_trials_on_the_embedded_smollm2(tmp_path: Path) -> None:
    from alignforge.train import load_config

    cfg = write_config(
        tmp_path / "dpo.yaml",
        "dpo",
        Path("embedded"),
        tmp_path / "unused",
        model={"base_model": "embedded", "lora": {"r": 4, "alpha": 8, "dropout": 0.0}},
        data={"max_length": 48, "max_rows": 4},
        training={"max_steps": 2, "batch_size": 2, "learning_rate": 5e-4},
        monitors={"kl_prompts": 1, "kl_max_new_tokens": 4},
        constraints={"kl_target": 1.0},
    )
    space = _space(
        tmp_path / "space.yaml",
        {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-3},
            "beta": {"distribution": "uniform", "min": 0.05, "max": 0.3},
            "warmup_ratio": {"distribution": "uniform", "min": 0.05, "max": 0.15},
        },
        method="bayes",
    )
    result = run_sweep(cfg, space, trials=2, study_dir=tmp_path / "study", seed=7)
    assert [t.state for t in result.trials] == ["COMPLETE", "COMPLETE"]
    assert all(
        t.passed and (Path(t.output_dir) / "adapter_model.safetensors").exists() for t in result.trials
    )
    assert len({t.output_dir for t in result.trials}) == 2
    best = result.best
    assert best is not None and best.value == max(t.value or 0.0 for t in result.trials)
    assert result.best_config is not None
    loaded = load_config(result.best_config, "dpo")
    assert loaded.training["learning_rate"] == pytest.approx(best.params["learning_rate"])
    assert loaded.training["beta"] == pytest.approx(best.params["beta"])
    assert loaded.training["warmup_steps"] == pytest.approx(best.params["warmup_ratio"])


def _judge_longer(body: dict, attempt: int) -> str:
    """A loopback pairwise judge: the longer answer wins (the same answer in both orders)."""
    from _generate_helpers import judge_kind, judged_item

    from alignforge.llm import ChatRequest

    req = ChatRequest.chat(body["messages"])
    assert judge_kind(req) == "pairwise"
    item = judged_item(req)
    a = item.split("ANSWER A:", 1)[1].split("ANSWER B:", 1)[0].strip()
    b = item.split("ANSWER B:", 1)[1].strip()
    return f"Winner: {'A' if len(a) >= len(b) else 'B'}\nRationale: longer."


@pytest.mark.slow
def test_win_rate_objective_judges_the_trial_against_the_baseline(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from _llm_helpers import FakeServer

    from alignforge.sweep.runner import WinRate

    srv = FakeServer(reply=_judge_longer).start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    try:
        prompts = tmp_path / "heldout.jsonl"
        prompts.write_text(
            "".join(json.dumps({"prompt": p}) + "\n" for p in ("Name a colour.", "Count to 3."))
        )
        cfg = _config(tmp_path, tiny_model, training={"max_steps": 1, "beta": 0.1})
        space = _space(tmp_path / "space.yaml", {"beta": {"values": [0.2]}}, metric="validation/win_rate")
        win = WinRate(judge="openai:judge", prompts=prompts, baseline=f"local:{tiny_model}", max_new_tokens=8)
        result = run_sweep(cfg, space, trials=1, study_dir=tmp_path / "study", win_rate=win)
    finally:
        srv.stop()
    (trial,) = result.trials
    report = json.loads((Path(trial.output_dir) / "winrate" / "winrate.json").read_text())
    assert report["n"] == 2 and (Path(trial.output_dir) / "winrate" / "judgments.jsonl").is_file()
    assert trial.state == "COMPLETE" and trial.value == pytest.approx(report["win_rate"])
    assert result.best is not None and result.best.number == trial.number
