"""Strengthen, verify and prepare on user task files (QA report, reproduced): references that answer
otherwise from run to run, answers too large to send back, a task whose phases fail, duplicate task ids,
a task whose every new test fails its reference, stdio cases that are not text, prepare's bad source
rows, and the report's wording. Real sandbox runs on tiny task files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _cli import run_cli

from alignforge.io import DataError
from alignforge.verify._oracle import OraclePool, unsent
from alignforge.verify._plus_tests import plus_task
from alignforge.verify._pool import SandboxPool
from alignforge.verify.calibration import reference_program
from alignforge.verify.engine import verify_completions
from alignforge.verify.strengthen import strengthen_tasks
from alignforge.verify.tasks import load_tasks, normalize_task

ADD = {
    "task_id": "ok/add",
    "prompt": 'def add(a, b):\n    """Return a + b."""\n',
    "entry_point": "add",
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
}
# Strings in the order of their hashes, which follows the hash secret: two runs order two words alike
# half the time. (In a set's order, ``''``, whose hash is always 0, comes first under 7 secrets of 8:
# such an input can pass every check, so the test reads the hashes' order.)
SET_ORDER = {
    "task_id": "s/firstk",
    "prompt": "def distinct_k(words, k):\n"
    '    """Return k distinct words of the list (all of them when k is 0), in any order."""\n',
    "entry_point": "distinct_k",
    "canonical_solution": "    s = sorted(set(words), key=hash)\n    if k > 0:\n        return s[:k]\n    return s\n",
    "test": "def check(candidate):\n    assert sorted(candidate(['a', 'b', 'a'], 0)) == ['a', 'b']\n"
    "    assert candidate([], 3) == []\n    assert candidate(['z'], 1) == ['z']\n",
}
# Four answers, drawn afresh in every run: two runs agree a quarter of the time.
RANDOM = {
    "task_id": "bad/random",
    "prompt": 'def f(xs):\n    """doc"""\n',
    "entry_point": "f",
    "canonical_solution": "    import random\n    return min(xs) + random.choice([0, 10, 20, 30])\n",
    "test": "def check(candidate):\n    assert candidate([3, 1]) in (1, 11, 21, 31)\n",
}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _passes_in_fresh_sandboxes(row: dict[str, Any], n: int) -> list[bool]:
    """Whether the reference passes original + new tests, in ``n`` fresh pools (each its own hash secret;
    a distinct comment in each copy, so no verdict is answered from another)."""
    task = normalize_task(plus_task(row))
    ref = reference_program(task) or ""
    out = []
    for k in range(n):
        sample = {
            "task_id": task["task_id"],
            "completion": f"{ref}\n# copy {k}\n",
            "completion_style": "full",
        }
        with SandboxPool(1) as pool:
            (v,) = verify_completions({task["task_id"]: task}, [sample], pool=pool, retry_timeouts=False)
        out.append(bool(v["passed"]))
    return out


# --- 1. a reference that answers otherwise from run to run ----------------------------------------


@pytest.mark.slow
def test_a_nondeterministic_reference_gets_no_new_test_it_can_fail() -> None:
    """Two agreeing runs happen by chance: the chosen inputs run again under more hash secrets (and the
    real verifier checks the reference under several), and an input answered otherwise is dropped. The
    inputs the reference answers alike every time (one distinct word, none) still become tests."""
    out, reports = strengthen_tasks([SET_ORDER, RANDOM], workers=2, seed=1)
    for row, rep in zip(out, reports, strict=True):
        assert rep.dropped["nondeterministic"] > 0, rep.line()
        assert rep.reference_passes is not False, rep.line()  # None: skipped before any test was made
        if "plus_tests" in row:
            assert all(_passes_in_fresh_sandboxes(row, 8)), (rep.line(), row["plus_tests"])
    assert "plus_tests" in out[0], reports[0].line()  # the task is not thrown away whole


# --- 2. answers too large to send back; a task whose phases fail ----------------------------------


def test_an_answer_too_large_to_send_back_is_an_error_of_its_input() -> None:
    """An answer over the oracle's size limit is no answer (as one the sandbox cannot encode), for that
    input alone: the answers before and after it come back."""
    program = "def f(n):\n    return 'x' * n\n"
    with OraclePool(1) as oracle:
        out = oracle.calls(program, "f", [[[3], {}], [[20 << 20], {}], [[4], {}]], timeout_s=5)
    small, big, last = out["runs"][0]
    assert small == {"ok": "xxx"} and last == {"ok": "xxxx"}, out["runs"][0][::2]
    assert unsent(big), {k: str(v)[:80] for k, v in big.items()}


@pytest.mark.slow
def test_the_answers_of_one_job_stay_under_a_budget() -> None:
    """Each answer under the limit, but together past what one reply may carry: the later ones are no
    answers, and the job still comes back (it was a ProtocolError of the pool, the whole run lost)."""
    program = "def f(n):\n    return 'y' * n\n"
    with OraclePool(1) as oracle:
        out = oracle.calls(program, "f", [[[12 << 20], {}]] * 30, timeout_s=5)
    runs = out["runs"][0]
    assert len(runs[0].get("ok") or "") == 12 << 20 and unsent(runs[-1]), [sorted(r) for r in runs]
    assert sum("ok" in r for r in runs) * 12 < 1024  # MiB: the reply stays well under the pool's limit


class _SmallReplies(OraclePool):
    max_reply_bytes = 1 << 16


def test_a_reply_past_the_pools_limit_loses_its_job_and_the_worker_is_replaced() -> None:
    with _SmallReplies(1) as oracle:
        with pytest.raises(RuntimeError, match="ProtocolError"):
            oracle.calls("def f(n):\n    return 'x' * n\n", "f", [[[1 << 17], {}]], timeout_s=5)
        again = oracle.calls("def f(n):\n    return 'x' * n\n", "f", [[[3], {}]], timeout_s=5)
    assert again["runs"] == [[{"ok": "xxx"}]], again


@pytest.mark.slow
def test_a_task_with_huge_answers_does_not_lose_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The differential run of a task whose answers grow with the input came back as one reply past the
    pool's 1 GiB limit: an internal error, and no task written. Now each large answer is no answer."""
    huge = {
        "task_id": "bad/huge",
        "prompt": 'def f(xs):\n    """doc"""\n',
        "entry_point": "f",
        "canonical_solution": "    return 'x' * (3 * 10 ** 6 * len(xs))\n",
        "test": "def check(candidate):\n    assert candidate([1]) >= 'x'\n",
    }
    src = _write(tmp_path / "t.jsonl", [huge, ADD])
    out = tmp_path / "o.jsonl"
    r = run_cli(
        capsys, "strengthen", src, "--out", out, "--workers", "2", "--candidates", "10", "--rounds", "1"
    )
    assert r.code == 0, r.err
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["task_id"] for x in rows] == ["bad/huge", "ok/add"] and "plus_tests" in rows[1]


def test_a_task_whose_phase_fails_is_skipped_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reference that patches the builtin ``hash`` makes every run look like one hash secret: the
    oracle's harness error was raised through the whole run (internal error, nothing written). Now that
    task is skipped, saying why, and the others are strengthened and written."""
    patched = {
        "task_id": "bad/probe",
        "prompt": 'def f(x):\n    """doc"""\n',
        "entry_point": "f",
        "canonical_solution": "    return x + 1\n\nimport builtins\nbuiltins.hash = lambda *a: 0\n",
        "test": "def check(candidate):\n    assert candidate(1) == 2\n",
    }
    src = _write(tmp_path / "t.jsonl", [patched, ADD])
    out, report = tmp_path / "o.jsonl", tmp_path / "r.json"
    r = run_cli(capsys, "strengthen", src, "--out", out, "--workers", "2", "--report", report)
    assert r.code == 0, r.err
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert "plus_tests" not in rows[0] and "plus_tests" in rows[1]
    rep = json.loads(report.read_text())[0]
    assert rep["status"].startswith("skipped: internal error") and "hash secret" in rep["status"], rep
    assert rep["killed_after"] == rep["killed_before"], rep
    assert "bad/probe: skipped: internal error" in r.out


def test_a_reference_defining_its_own_hash_is_strengthened() -> None:
    """The oracle's probe of the hash secret calls the builtin, not a ``hash`` the program defines."""
    own = {
        **ADD,
        "task_id": "ok/own_hash",
        "canonical_solution": "    return hash(a) + b\n\n\ndef hash(x):\n    return x\n",
    }
    out, (rep,) = strengthen_tasks([own], workers=2, seed=0, candidates=20, rounds=1)
    assert rep.status == "strengthened" and "plus_tests" in out[0], rep.line()


# --- 3. duplicate task ids ---------------------------------------------------------------------


def test_duplicate_task_ids_are_refused_naming_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = {**ADD, "canonical_solution": "    return b + a\n"}
    src = _write(tmp_path / "t.jsonl", [ADD, {**ADD, "task_id": "ok/other"}, other])
    r = run_cli(capsys, "strengthen", src, "--out", tmp_path / "o.jsonl")
    assert r.code == 2 and f"{src}:3: field 'task_id': duplicate of line 1" in r.err, r.err
    assert not (tmp_path / "o.jsonl").exists()
    with pytest.raises(DataError, match=re.escape(f"{src}:3: field 'task_id': duplicate of line 1")):
        load_tasks(src)
    with pytest.raises(DataError, match=r"<tasks>:2: field 'task_id': duplicate of line 1"):
        load_tasks([ADD, other])


# --- 4. every new test fails the reference -----------------------------------------------------


def test_a_task_whose_every_new_test_fails_its_reference_is_skipped_not_a_failing_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference keeps state between calls: the oracle calls it once per child, the tests many times
    in one, so every new test fails it and is removed. That is a task without new tests, not a reference
    failing them ("REFERENCE FAILS" with no test written)."""
    stateful = {
        "task_id": "bad/state",
        "prompt": 'def f(x):\n    """doc"""\n',
        "entry_point": "f",
        "canonical_solution": "    _calls.append(x)\n    return x + (len(_calls) > 1)\n\n\n_calls = []\n",
        "test": "def check(candidate):\n    assert candidate(1) == 1\n",
    }
    src = _write(tmp_path / "t.jsonl", [stateful])
    r = run_cli(capsys, "strengthen", src, "--out", tmp_path / "o.jsonl", "--workers", "2")
    assert r.code == 0, r.err
    assert "REFERENCE FAILS" not in r.out and "references failing their strengthened tests: 0" in r.out
    assert "bad/state: skipped: every new test failed the reference's check" in r.out, r.out
    (row,) = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert "plus_tests" not in row


# --- 5. stdio cases that are not text; the field as the row names it -------------------------------


@pytest.mark.parametrize(
    "case,field",
    [({"input": "a\n", "output": 5}, "tests[0].output"), ({"input": 5, "output": "5"}, "tests[0].input")],
)
def test_a_stdio_case_that_is_not_text_is_an_invalid_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: dict[str, Any], field: str
) -> None:
    row = {"task_id": "io/bad", "prompt": "echo", "solution": "print(input())\n", "tests": [case]}
    src = _write(tmp_path / "t.jsonl", [ADD, row])
    r = run_cli(capsys, "strengthen", src, "--out", tmp_path / "o.jsonl")
    assert r.code == 2 and f"{src}:2: field '{field}': expected a string, got int" in r.err, r.err
    with pytest.raises(DataError, match=re.escape(f"{src}:2: field '{field}'")):
        load_tasks(src)


def test_errors_name_the_tests_field_the_row_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = {
        "task_id": "m/1",
        "code": "def f(x):\n    return x\n",
        "test_list": ["assert f(1) == 1", "assert f(("],
    }
    src = _write(tmp_path / "t.jsonl", [row])
    r = run_cli(capsys, "strengthen", src, "--out", tmp_path / "o.jsonl")
    assert r.code == 2 and f"{src}:1: field 'test_list[1]': does not parse" in r.err, r.err
    he = {**ADD, "test": "assert add(1, 2) == 3\n"}  # neither check() nor test_*
    with pytest.raises(DataError, match=r"<tasks>:1: field 'test': "):
        load_tasks([he])


# --- 7. prepare's source rows -------------------------------------------------------------------


@pytest.mark.parametrize(
    "second,said",
    [
        (json.dumps({k: v for k, v in ADD.items() if k != "entry_point"}), "field 'entry_point': is missing"),
        ('{"task_id": "x", oops', "not valid JSON"),
    ],
)
def test_prepare_names_the_source_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], second: str, said: str
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "HumanEval.jsonl").write_text(json.dumps(ADD) + "\n" + second + "\n")
    r = run_cli(capsys, "prepare", "humaneval", "--source", source, "--out", tmp_path / "out")
    assert r.code == 2, r.err
    assert f"{source / 'HumanEval.jsonl'}:2: " in r.err and said in r.err, r.err


# --- 9. the report's wording ---------------------------------------------------------------------


def test_a_skip_says_why_the_reference_fails_and_no_drop_is_counted_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {**ADD, "task_id": "bad/syntax", "canonical_solution": "    return a +\n"}
    alt = {**ADD, "task_id": "ok/alt", "alternative_solutions": ["def add(a, b):\n    return b + a\n"]}
    src = _write(tmp_path / "t.jsonl", [broken, alt])
    report = tmp_path / "not" / "yet" / "r.json"
    r = run_cli(
        capsys, "strengthen", src, "--out", tmp_path / "o.jsonl", "--workers", "2", "--report", report
    )
    assert r.code == 0, r.err
    line = next(x for x in r.out.splitlines() if x.startswith("bad/syntax:"))
    assert "the reference fails its own tests (" in line and "SyntaxError" in line, line
    assert not re.search(r"\b[a-z_]+ 0\b", r.out.split("ok/alt:", 1)[1].split("\n", 1)[0]), r.out
    reps = json.loads(report.read_text())
    assert all(n > 0 for rep in reps for n in rep["dropped"].values()), reps
