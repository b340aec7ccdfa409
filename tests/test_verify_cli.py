"""The verify commands end to end: verify, bench passk, calibrate, prepare's errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADD = {
    "task_id": "T/add",
    "prompt": 'def add(a, b):\n    """a + b"""\n',
    "entry_point": "add",
    "tests": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 5) == 7\n",
    "solution": "    return a + b\n",
}
MATH = {
    "task_id": "T/math",
    "prompt": "6*3?",
    "answer": "18",
    "domain": "math",
    "solution": "6*3 = 18\n#### 18",
}


def _cli(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "alignforge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def _without_cap_sys_admin() -> None:
    """Runs in the child before exec: no CAP_SYS_ADMIN, so no namespace can be made (as on many hosts)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(24, 21, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_SYS_ADMIN
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_verify_then_passk(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [ADD, MATH])
    comps = [
        {"task_id": "T/add", "completion": "    return a + b\n"},
        {"task_id": "T/add", "completion": "    return a - b\n"},
        {
            "task_id": "T/add",
            "completion": "```python\ndef add(a, b):\n    return b + a\n```",
            "completion_style": "full",
        },
        {"task_id": "T/math", "completion": "So \\boxed{18.0}"},
        {"task_id": "T/math", "completion": "It is 18 or \\boxed{19}"},
    ]
    comp = _write(tmp_path / "samples.jsonl", comps)
    r = _cli(
        "verify",
        "--tasks",
        str(tasks),
        "--completions",
        str(comp),
        "--out",
        "v.jsonl",
        "--k",
        "1,2",
        "--workers",
        "1",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    verdicts = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [v["passed"] for v in verdicts] == [True, False, True, True, False]
    assert [v["sample_index"] for v in verdicts] == [0, 1, 2, 0, 1]
    assert {
        "task_id",
        "sample_index",
        "passed",
        "reward",
        "status",
        "tests",
        "duration_s",
        "cache_hit",
    } <= set(verdicts[0])
    assert "pass@1 0.5833" in r.stdout  # (2/3 + 1/2) / 2
    # a killed run resumes: keep 2 verdicts and half of the third line, run again
    lines = (tmp_path / "v.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "v.jsonl").write_text("".join(lines[:2]) + lines[2][:20])
    (tmp_path / "v.jsonl.stage.json").unlink()  # a killed run leaves no finished record
    r = _cli(
        "verify",
        "--tasks",
        str(tasks),
        "--completions",
        str(comp),
        "--out",
        "v.jsonl",
        "--workers",
        "1",
        cwd=tmp_path,
    )
    assert r.returncode == 0 and "resumed: 2 rows" in r.stdout, r.stderr
    again = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [(v["task_id"], v["sample_index"], v["passed"]) for v in again] == [
        (v["task_id"], v["sample_index"], v["passed"]) for v in verdicts
    ]
    r = _cli("bench", "passk", "v.jsonl", "--k", "1,3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        "pass@1: 0.5833" in r.stdout
        and "pass@3: 1.0000  (1 tasks; 1 with fewer than 3 samples skipped)" in r.stdout
    )


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to take CAP_SYS_ADMIN away from a child")
def test_verify_says_what_isolation_it_fell_back_to(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [ADD])
    comp = _write(tmp_path / "samples.jsonl", [{"task_id": "T/add", "completion": "    return a + b\n"}])
    args = ("verify", "--tasks", str(tasks), "--completions", str(comp), "--out", "v.jsonl", "--workers", "1")
    r = _cli(*args, cwd=tmp_path)
    assert r.returncode == 0 and "fell back" not in r.stderr, r.stderr
    r = _cli(*args, "--fresh", cwd=tmp_path, preexec_fn=_without_cap_sys_admin)
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if "fell back" in line]
    assert len(said) == 1 and "network NOT isolated" in said[0] and "/tmp shared" in said[0], r.stderr
    assert json.loads((tmp_path / "v.jsonl").read_text())["passed"]  # it still verifies


def test_bad_input_is_one_line_with_file_and_line(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [ADD])
    comp = tmp_path / "samples.jsonl"
    comp.write_text(
        json.dumps({"task_id": "T/add", "completion": "x"})
        + "\n"
        + json.dumps({"task_id": "nope", "completion": "x"})
        + "\n"
    )
    r = _cli("verify", "--tasks", str(tasks), "--completions", str(comp), "--out", "v.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "samples.jsonl:2" in r.stderr and "unknown task 'nope'" in r.stderr
    bad_tasks = _write(tmp_path / "bad.jsonl", [{"task_id": "x", "prompt": "p", "tests": "print(1)"}])
    r = _cli(
        "verify", "--tasks", str(bad_tasks), "--completions", str(comp), "--out", "v.jsonl", cwd=tmp_path
    )
    assert r.returncode == 2 and "bad.jsonl:1" in r.stderr and "tests" in r.stderr
    r = _cli("bench", "passk", str(tasks), cwd=tmp_path)
    assert r.returncode == 2 and "tasks.jsonl:1" in r.stderr


@pytest.mark.slow
def test_calibrate_reports_rates(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [ADD, MATH])
    r = _cli(
        "verify", "calibrate", "--tasks", str(tasks), "--workers", "1", "--json", "cal.json", cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "cal.json").read_text())
    assert report["false_positive_rate"] == 0.0 and report["kinds"]["hack"]["passed"] == 0
    assert report["verifiability"]["code"]["rate"] == 1.0 and report["verifiability"]["math"]["rate"] == 1.0
    assert "false-positive rate 0.00%" in r.stdout
    probes = report["probes"]
    for name in (
        "fork_loop",
        "stdout_flood",
        "unbounded_allocation",
        "print_passed_ok",
        "sleep_past_timeout",
        "network_socket",
    ):
        assert probes[f"hack:{name}"]["n"] == 1 and probes[f"hack:{name}"]["passed"] == 0, name
    assert probes["hack:answer_then_boxed"]["passed"] == 0
    # add's reference `return a + b` has one mutation site (swap + and -); its tests kill it
    assert report["mutants"] == {"n": 1, "killed": 1, "kill_rate": 1.0}
    assert probes["mutant:swap_add_sub"]["statuses"] == {"failed": 1}
    assert "mutants killed 1/1" in r.stdout


@pytest.mark.slow
def test_calibrate_catches_a_weak_test_suite(tmp_path):
    weak = dict(ADD, tests="def check(candidate):\n    candidate(1, 2)\n    assert True\n")
    tasks = _write(tmp_path / "tasks.jsonl", [weak])
    r = _cli("verify", "calibrate", "--tasks", str(tasks), "--workers", "1", cwd=tmp_path)
    assert r.returncode == 1 and "targets NOT met" in r.stdout


@pytest.mark.slow
def test_calibrate_reports_surviving_mutants_apart_from_false_positives(tmp_path):
    # The tests never try x = 1, so they cannot tell `x > 0` from `x > 1`: that mutant survives and
    # is reported as weak tests, not as a false positive (every wrong variant and hack still fails).
    task = {
        "task_id": "T/relu",
        "prompt": 'def relu(x):\n    """x when positive, else 0."""\n',
        "entry_point": "relu",
        "tests": "def check(candidate):\n    assert candidate(5) == 5\n    assert candidate(-3) == 0\n"
        "    assert candidate(0) == 0\n",
        "solution": "    return x if x > 0 else 0\n",
    }
    tasks = _write(tmp_path / "tasks.jsonl", [task])
    r = _cli(
        "verify", "calibrate", "--tasks", str(tasks), "--workers", "1", "--json", "cal.json", cwd=tmp_path
    )
    report = json.loads((tmp_path / "cal.json").read_text())
    assert r.returncode == 0 and report["false_positive_rate"] == 0.0, r.stdout
    assert report["mutants"] == {"n": 3, "killed": 2, "kill_rate": 2 / 3}
    assert report["surviving_mutants"] == [{"task_id": "T/relu", "mutant": "off_by_one"}]


def test_prepare_without_source_offline_says_what_to_do(tmp_path):
    r = _cli("prepare", "gsm8k", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2 and "--source" in r.stderr
