"""``verify --plus`` on a task file whose ``plus_tests`` are malformed: one line naming the file, the
task's line and the field (exit 2), never an internal error or a line of the merged tests."""

from __future__ import annotations

import json
from pathlib import Path

from tests._cli import run_cli

TASK = {
    "task_id": "T/0",
    "prompt": 'def add(a, b):\n    """add"""\n',
    "entry_point": "add",
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
}


def _files(tmp_path: Path, plus: object) -> tuple[Path, Path]:
    tasks, comp = tmp_path / "tasks.jsonl", tmp_path / "c.jsonl"
    other = {**TASK, "task_id": "T/1"}
    tasks.write_text(json.dumps(other) + "\n" + json.dumps({**TASK, "plus_tests": plus}) + "\n")
    comp.write_text(json.dumps({"task_id": "T/0", "completion": "    return a + b\n"}) + "\n")
    return tasks, comp


def test_plus_tests_of_the_wrong_shape_name_the_file_line_and_field(tmp_path, capsys):
    tasks, comp = _files(tmp_path, ["assert add(1, 1) == 2"])
    r = run_cli(
        capsys, "verify", "--tasks", tasks, "--completions", comp, "--out", tmp_path / "v.jsonl", "--plus"
    )
    assert r.code == 2 and f"{tasks}:2: field 'plus_tests'" in r.err, r


def test_plus_tests_that_do_not_parse_name_the_file_line_and_field(tmp_path, capsys):
    tasks, comp = _files(tmp_path, "def check(candidate):\n    assert candidate(1,\n")
    r = run_cli(
        capsys, "verify", "--tasks", tasks, "--completions", comp, "--out", tmp_path / "v.jsonl", "--plus"
    )
    assert r.code == 2 and f"{tasks}:2: field 'plus_tests': does not parse as Python" in r.err, r
