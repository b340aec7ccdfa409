"""The verify commands end to end: verify, bench passk, calibrate, prepare's errors."""

from __future__ import annotations

import json
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


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "alignforge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


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
    assert r.returncode == 0 and "resumed: 2 verdicts" in r.stdout, r.stderr
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


@pytest.mark.slow
def test_calibrate_catches_a_weak_test_suite(tmp_path):
    weak = dict(ADD, tests="def check(candidate):\n    candidate(1, 2)\n    assert True\n")
    tasks = _write(tmp_path / "tasks.jsonl", [weak])
    r = _cli("verify", "calibrate", "--tasks", str(tasks), "--workers", "1", cwd=tmp_path)
    assert r.returncode == 1 and "targets NOT met" in r.stdout


def test_prepare_without_source_offline_says_what_to_do(tmp_path):
    r = _cli("prepare", "gsm8k", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2 and "--source" in r.stderr
