"""``verify --executor ray`` on a real local Ray cluster (started once for the module): the same
verdicts, side files and resume as the local executor, the verdict cache shared across actors, and
the GRPO / RAFT ``code_tests`` reward verifying on Ray when the training config says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _sandbox import require_bwrap
from _verify_helpers import TREE_SOLUTION, tasks

from alignforge.errors import ConfigError
from alignforge.io import DataError

REPO = Path(__file__).resolve().parents[1]
ADD_OK = "def add(a, b):\n    return a + b\n"
HACK_EQ = "def add(a, b):\n    class E:\n        def __eq__(s, o): return True\n    return E()\n"
HACK_EXIT = "def add(a, b):\n    import os\n    os._exit(0)\n"
SAMPLES: list[dict[str, Any]] = [
    {"task_id": "add", "completion": ADD_OK, "completion_style": "full"},
    {"task_id": "add", "completion": "    return a - b\n"},
    {"task_id": "add", "completion": HACK_EQ, "completion_style": "full"},
    {"task_id": "add", "completion": HACK_EXIT, "completion_style": "full"},
    {"task_id": "mbpp_tree", "completion": TREE_SOLUTION, "completion_style": "full"},
    {"task_id": "pyt", "completion": "def square(x):\n    return x * x\n", "completion_style": "full"},
    {"task_id": "stdio", "completion": "a, b = map(int, input().split())\nprint(a + b)\n"},
    {"task_id": "stdio", "completion": "print(3)\n"},
    {"task_id": "math", "completion": "6*3 = \\boxed{18}"},
    {"task_id": "math", "completion": "\\boxed{19}"},
    {"task_id": "add", "completion": ADD_OK, "completion_style": "full"},  # a duplicate: cache_hit
]
TASK_IDS = ("add", "mbpp_tree", "pyt", "stdio", "math")


def _tasks() -> dict[str, dict[str, Any]]:
    return {tid: t for tid, t in tasks().items() if tid in TASK_IDS}


def _task_rows() -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if k != "_key"} for t in _tasks().values()]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _same(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Verdicts without their timings, the only fields that may differ between two runs."""
    return [{k: v for k, v in r.items() if k not in ("duration_s", "cpu_s")} for r in rows]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_verdicts() -> list[dict[str, Any]]:
    from alignforge.verify import verify_completions

    return list(verify_completions(_tasks(), SAMPLES, workers=1, timeout_s=5.0))


@pytest.mark.slow
def test_ray_verdicts_equal_local_verdicts(ray_cluster, local_verdicts):
    from alignforge.verify import RayVerifier

    statuses = [str(v["status"]) for v in local_verdicts]
    assert statuses[:4] == ["passed", "failed", "hack_suspected", statuses[3]] and statuses[3] != "passed"
    assert [v["passed"] for v in local_verdicts][4:] == [True, True, True, False, True, False, True]
    with RayVerifier(actors=2, workers=1, batch_size=3) as verifier:
        remote = list(verifier.map(_tasks(), SAMPLES, timeout_s=5.0))
        actors = verifier.stats()["actors"]
    assert _same(remote) == _same(local_verdicts)
    assert [v["cache_hit"] for v in remote] == [False] * 10 + [True]
    assert all(r["rows"] > 0 and r["workers"] == 1 for r in actors) and len({r["pid"] for r in actors}) == 2
    assert sum(r["rows"] for r in actors) == 10  # the duplicate was joined in the driver, not run


@pytest.mark.slow
def test_the_shared_cache_answers_a_repeat_on_another_actor(ray_cluster):
    from alignforge.verify import RayVerifier

    row = [{"task_id": "add", "completion": ADD_OK, "completion_style": "full"}]
    with RayVerifier(actors=2, workers=1, batch_size=1) as verifier:
        first = list(verifier.map(_tasks(), row))  # round robin: the first actor
        again = list(verifier.map(_tasks(), row))  # the second actor, which never ran it
        stats = verifier.stats()
    assert first[0]["passed"] and not first[0]["cache_hit"]
    assert again[0]["cache_hit"] and _same(again)[0] == {**_same(first)[0], "cache_hit": True}
    assert [a["batches"] for a in stats["actors"]] == [1, 1]
    assert stats["cache"] == {"hits": 1, "misses": 1, "stored": 1}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PYTHONPATH": str(REPO / "src"),
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "HOME": os.environ.get("HOME", "/root"),
    }
    if "RAY_AUTH_MODE" in os.environ:  # ray.init set it: joining a cluster by address needs it said
        env["RAY_AUTH_MODE"] = os.environ["RAY_AUTH_MODE"]
    return subprocess.run(
        [sys.executable, "-m", "alignforge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_executor_ray_writes_what_the_local_executor_writes(ray_cluster, tmp_path):
    from alignforge.verify import VerdictCache, verify_completions

    task_file = _write(tmp_path / "tasks.jsonl", _task_rows())
    comp = _write(tmp_path / "samples.jsonl", SAMPLES)
    base = ("verify", "--tasks", str(task_file), "--completions", str(comp), "--workers", "1", "--k", "1")
    local = _cli(*base, "--out", "local.jsonl", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    address = ray_cluster.get_runtime_context().gcs_address
    remote = _cli(
        *base,
        "--out",
        "ray.jsonl",
        "--executor",
        "ray",
        "--ray-address",
        address,
        "--cache",
        "c.sqlite",
        cwd=tmp_path,
    )
    assert remote.returncode == 0, remote.stderr
    assert _same(_lines(tmp_path / "ray.jsonl")) == _same(_lines(tmp_path / "local.jsonl"))
    assert remote.stdout.replace("ray.jsonl", "local.jsonl") == local.stdout
    assert "cache hits 1" in remote.stdout and "pass@1 0.6800" in remote.stdout
    # the Ray cache actor wrote the SQLite cache: a local run over it runs nothing again
    again = list(verify_completions(_tasks(), SAMPLES, workers=1, cache=VerdictCache(tmp_path / "c.sqlite")))
    assert all(v["cache_hit"] for v in again) and _same(again) == [
        {**v, "cache_hit": True} for v in _same(_lines(tmp_path / "local.jsonl"))
    ]
    bad = _cli(*base, "--out", "x.jsonl", "--ray-address", address, cwd=tmp_path)
    assert bad.returncode == 2 and "--ray-address needs --executor ray" in bad.stderr


@pytest.mark.slow
def test_a_killed_run_resumes_on_ray_as_it_resumes_locally(ray_cluster, local_verdicts, tmp_path):
    from alignforge.verify import verify_file

    task_file = _write(tmp_path / "tasks.jsonl", _task_rows())
    comp = _write(tmp_path / "samples.jsonl", SAMPLES)
    lines = [json.dumps(v) + "\n" for v in local_verdicts]
    summaries = {}
    for executor in ("local", "ray"):
        out = tmp_path / f"{executor}.jsonl"
        out.write_text("".join(lines[:4]) + lines[4][:25])  # a run killed while writing its fifth verdict
        summaries[executor] = verify_file(task_file, comp, out, workers=1, executor=executor)
    local, ray = summaries["local"], summaries["ray"]
    assert ray.resumed == local.resumed == 4 and ray.written == local.written == len(SAMPLES) - 4
    assert ray.figures == local.figures and ray.figures["passed"] == 6
    assert _same(_lines(tmp_path / "ray.jsonl")) == _same(_lines(tmp_path / "local.jsonl"))
    # the duplicate's first verdict was written before the kill: both run it again (no --cache)
    assert _lines(tmp_path / "ray.jsonl")[-1]["cache_hit"] is False


@pytest.mark.slow
def test_bwrap_isolation_is_kept_on_every_actor(ray_cluster):
    require_bwrap()
    from alignforge.verify import RayVerifier

    rows = [SAMPLES[0], SAMPLES[2]]
    with RayVerifier(actors=1, workers=1, isolation="bwrap") as verifier:
        out = list(verifier.map(_tasks(), rows))
    assert [str(v["status"]) for v in out] == ["passed", "hack_suspected"]


def _grpo_config(tmp_path: Path, executor: str | None, functions: list[str]) -> Any:
    from alignforge.train.config import parse_config

    raw: dict[str, Any] = {
        "model": {"base_model": "x"},
        "data": {"train_file": str(tmp_path / "t.jsonl")},
        "rewards": {"functions": functions},
    }
    if executor is not None:
        raw["verifier"] = {"executor": executor}
    return parse_config(raw, "grpo", source="grpo.yaml")


@pytest.mark.slow
def test_code_tests_reward_verifies_on_ray_when_the_config_says_so(ray_cluster, tmp_path):
    from alignforge.train import rewards

    cfg = _grpo_config(tmp_path, "ray", ["code_tests"])
    assert cfg.verifier["executor"] == "ray"
    (func,) = rewards.resolve_rewards(
        cfg.rewards["functions"], timeout_s=cfg.rewards["timeout_s"], executor=cfg.verifier["executor"]
    )
    add = _tasks()["add"]
    cols = {"tests": [add["tests"]] * 3, "entry_point": ["add"] * 3, "task_id": ["add"] * 3}
    completions = ["    return a + b\n", "    return a * b\n", HACK_EQ]
    got = func([add["prompt"]] * 3, completions, **cols)
    assert got == [1.0, 0.0, 0.0]
    verifier = rewards._ray_verifier()  # the one the reward used, still connected
    stats = verifier.stats()
    assert stats["cache"]["misses"] == 3 and sum(a["rows"] for a in stats["actors"]) == 3
    assert func([add["prompt"]] * 3, completions, **cols) == got  # a GRPO repeat: from the shared cache
    assert verifier.stats()["cache"]["hits"] == 3
    local = rewards.resolve_rewards(["code_tests"], timeout_s=cfg.rewards["timeout_s"])[0]
    assert local([add["prompt"]] * 3, completions, **cols) == got
    verifier.close()


def test_executor_settings_are_checked(tmp_path):
    from alignforge.train.rewards import resolve_rewards
    from alignforge.verify.stage import VerifyStage

    assert _grpo_config(tmp_path, None, ["code_tests"]).verifier["executor"] == "local"
    with pytest.raises(ConfigError, match=r"grpo.yaml: verifier.executor: 'spark' is not one of local, ray"):
        _grpo_config(tmp_path, "spark", ["code_tests"])
    with pytest.raises(ConfigError, match="verifier.executor ray runs the code_tests reward"):
        resolve_rewards(["math"], executor="ray")
    task_file = _write(tmp_path / "tasks.jsonl", _task_rows())
    stage = VerifyStage(task_file, task_file, tmp_path / "v.jsonl", executor="spark")
    with pytest.raises(DataError, match="unknown executor 'spark'"):
        stage.execute()
