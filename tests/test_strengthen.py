"""Test strengthening on real HumanEval tasks, in the real sandbox, checked by the real verifier."""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from _cli import run_cli
from _verify_helpers import mbpp_row

from alignforge.verify._contract import infer_contract
from alignforge.verify._inputs_mutation import Input, extract_inputs
from alignforge.verify._plus_tests import passes, plus_task
from alignforge.verify.calibration import reference_program
from alignforge.verify.engine import verify_completions
from alignforge.verify.strengthen import strengthen_tasks
from alignforge.verify.tasks import normalize_task


def _humaneval(benchmarks_dir: Path, *numbers: int) -> list[dict[str, Any]]:
    with gzip.open(benchmarks_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        rows = {json.loads(line)["task_id"]: json.loads(line) for line in fh}
    return [rows[f"HumanEval/{n}"] for n in numbers]


def _plus_inputs(row: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The argument tuples of the candidate calls in a row's plus_tests."""
    out = []
    for node in ast.walk(ast.parse(row["plus_tests"])):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "candidate":
            out.append(tuple(ast.literal_eval(a) for a in node.args))
    return out


def _verdicts(rows: list[dict[str, Any]], programs: dict[str, str]) -> dict[str, dict[str, Any]]:
    task_map = {r["task_id"]: normalize_task(r) for r in rows}
    comps = [{"task_id": t, "completion": c, "completion_style": "full"} for t, c in programs.items()]
    return {v["task_id"]: v for v in verify_completions(task_map, comps, workers=2, retry_timeouts=False)}


@pytest.fixture(scope="module")
def strengthened(
    request: pytest.FixtureRequest,
) -> tuple[list[dict[str, Any]], list[Any], list[dict[str, Any]]]:
    bench = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
    # 10 make_palindrome: a mutant survives the original tests; 11 string_xor: '0'/'1' strings of equal
    # length; 4 mean_absolute_deviation: float outputs.
    rows = _humaneval(bench, 10, 11, 4)
    out, reports = strengthen_tasks(rows, workers=2, seed=0)
    return rows, reports, out


def test_kill_rate_rises_and_references_pass(strengthened: Any) -> None:
    rows, reports, out = strengthened
    by_id = {r.task_id: r for r in reports}
    for r in reports:
        assert r.status == "strengthened", r.line()
        assert r.killed_after >= r.killed_before
        assert 1 <= r.plus_tests <= 10
        assert r.reference_passes is True
    assert by_id["HumanEval/10"].killed_before < by_id["HumanEval/10"].mutants
    assert by_id["HumanEval/10"].killed_after == by_id["HumanEval/10"].mutants
    for before, after in zip(rows, out, strict=True):
        assert after["test"] == before["test"]  # the originals stay as they were
        assert isinstance(after["plus_tests"], str) and "def check(candidate)" in after["plus_tests"]
    # checked again here, independently: each reference against original + new tests, by the real verifier
    plus_rows = [plus_task(r) for r in out]
    refs = {r["task_id"]: reference_program(normalize_task(r)) or "" for r in out}
    verdicts = _verdicts(plus_rows, refs)
    assert all(v["passed"] for v in verdicts.values()), verdicts
    for r in out:  # every new assert ran, beside the original ones
        n_plus = sum(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(r["plus_tests"])))
        n_base = sum(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(r["test"])))
        assert n_plus >= 1 and len(verdicts[r["task_id"]]["tests"]) >= n_base + n_plus - 1


def test_contract_breaking_inputs_are_dropped(strengthened: Any) -> None:
    _, reports, out = strengthened
    xor = next(r for r in reports if r.task_id == "HumanEval/11")
    assert xor.dropped["contract"] > 0
    assert any("relation" in e or "alphabet" in e for e in xor.contract_examples)
    inputs = _plus_inputs(next(r for r in out if r["task_id"] == "HumanEval/11"))
    assert inputs
    for a, b in inputs:  # string_xor's precondition: two strings of 0s and 1s (of equal length)
        assert set(a + b) <= {"0", "1"} and len(a) == len(b)


def test_contract_inferred_from_observed_inputs() -> None:
    seeds: list[Input] = [((["1", "0"], 3), {}), ((["0", "1", "1"], 2), {}), ((["1"], 1), {})]
    c = infer_contract(seeds)
    assert c.violation(((["1", "1"], 2), {})) is None
    assert c.violation(((["2"], 1), {})).startswith("alphabet")  # type: ignore[union-attr]
    assert c.violation((([], 1), {})).startswith("empty")  # type: ignore[union-attr]
    assert c.violation(((["1"], -1), {})).startswith("range")  # type: ignore[union-attr]
    assert c.violation(((["1"], True), {})).startswith("type")  # type: ignore[union-attr]
    assert c.violation(((["1", "0", "1"], 1, 5), {})).startswith("type")  # type: ignore[union-attr]


def test_inputs_extracted_from_check_asserts(benchmarks_dir: Path) -> None:
    (row,) = _humaneval(benchmarks_dir, 11)
    task = normalize_task(row)
    assert extract_inputs(task, task["entry_point"]) == [
        (("111000", "101010"), {}),
        (("1", "1"), {}),
        (("0101", "0000"), {}),
    ]


def test_raising_and_nondeterministic_inputs_are_dropped(tmp_path: Path) -> None:
    # The reference answers in set order (hash-seed dependent for strings) and refuses long lists.
    ref = (
        "def uniq(xs):\n    if len(xs) > 4:\n        raise ValueError('too long')\n    return list(set(xs))\n"
    )
    row = {
        "task_id": "t/uniq",
        "prompt": "Return the distinct items of xs.",
        "canonical_solution": ref,
        "tests": [
            "assert sorted(uniq(['ab', 'cd', 'ef'])) == ['ab', 'cd', 'ef']",
            "assert sorted(uniq(['ab', 'ab', 'gh'])) == ['ab', 'gh']",
            "assert uniq(['xy']) == ['xy']",
        ],
        "test_style": "mbpp",
    }
    out, (report,) = strengthen_tasks([row], workers=2, seed=0)
    assert report.dropped["raises"] > 0
    assert report.dropped["nondeterministic"] > 0
    assert report.reference_passes is not False
    assert out[0]["tests"] == row["tests"]


def test_float_outputs_compared_with_isclose(strengthened: Any) -> None:
    assert passes(0.1 + 0.2, 0.3) and not passes(0.3001, 0.3)
    assert passes([1.0, (2.0 + 1e-12, "a")], [1.0, (2.0, "a")]) and not passes([1.0], (1.0,))
    _, _, out = strengthened
    mad = next(r for r in out if r["task_id"] == "HumanEval/4")
    assert "__af_close(candidate(" in mad["plus_tests"]
    plus = plus_task(mad)
    ref = reference_program(normalize_task(mad)) or ""
    nudged = ref.replace("return sum(", "return (1 + 1e-12) * sum(")
    wrong = ref.replace("return sum(", "return 0.001 + sum(")
    assert nudged != ref and wrong != ref
    only_plus = {**mad, "test": mad["plus_tests"]}
    rows = [{**plus, "task_id": "near"}, {**only_plus, "task_id": "off"}]
    v = _verdicts(rows, {"near": nudged, "off": wrong})
    assert v["near"]["passed"], v["near"]
    assert not v["off"]["passed"]


def test_cli_strengthen(benchmarks_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "tasks.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _humaneval(benchmarks_dir, 10, 11)))
    out = tmp_path / "plus.jsonl"
    run = run_cli(capsys, "strengthen", src, "--out", out, "--workers", "2", "--max-tests", "4")
    assert run.code == 0, run.err
    assert (
        "mutant kill rate" in run.out and "HumanEval/10:" in run.out and "inputs dropped: contract" in run.out
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["task_id"] for r in rows] == ["HumanEval/10", "HumanEval/11"]
    assert all(1 <= len(_plus_inputs(r)) <= 4 for r in rows)


def test_cli_bad_input_names_file_line_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.jsonl"
    good = {"task_id": "a", "tests": ["assert f(1) == 1"], "code": "def f(x):\n    return x\n"}
    src.write_text(json.dumps(good) + "\n" + json.dumps({"tests": ["assert f(1) == 1"]}) + "\n")
    run = run_cli(capsys, "strengthen", src, "--out", tmp_path / "o.jsonl")
    assert run.code == 2
    assert f"{src}:2" in run.err and "task_id" in run.err


@pytest.mark.slow
def test_prepare_strengthen_then_verify_plus_catches_what_the_base_tests_let_through(tmp_path, capsys):
    """`prepare humaneval --strengthen` writes plus_tests; `verify --plus` fails a mutant the base tests pass."""
    from alignforge.verify._mutants import mutants

    bench = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
    src = tmp_path / "src"
    src.mkdir()
    rows = _humaneval(bench, 10, 11)
    (src / "HumanEval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "rlvr"
    r = run_cli(
        capsys, "prepare", "humaneval", "--out", out, "--source", src, "--strengthen", "--workers", "2"
    )
    assert r.code == 0, r.err
    assert "strengthened" in r.out and "mutants killed" in r.out and "not shown equivalent" in r.out
    full = [json.loads(x) for x in (out / "humaneval_full.jsonl").read_text().splitlines()]
    assert all(row.get("plus_tests") for row in full)
    task = next(row for row in full if row["task_id"] == "HumanEval/10")
    ref = reference_program(normalize_task(task))
    programs = [ref] + [m for _, m in mutants(ref, task["entry_point"])]
    comps = tmp_path / "c.jsonl"
    comps.write_text(
        "".join(
            json.dumps({"task_id": "HumanEval/10", "completion": p, "completion_style": "full", "sample": i})
            + "\n"
            for i, p in enumerate(programs)
        )
    )
    passed = {}
    for flag in ((), ("--plus",)):
        v = tmp_path / f"v{len(flag)}.jsonl"
        r = run_cli(
            capsys,
            "verify",
            "--tasks",
            out / "humaneval_full.jsonl",
            "--completions",
            comps,
            "--out",
            v,
            *flag,
        )
        assert r.code == 0, r.err
        verdicts = [json.loads(x) for x in v.read_text().splitlines()]
        assert verdicts[0]["passed"]  # the reference passes its base and its plus tests
        passed[bool(flag)] = sum(x["passed"] for x in verdicts)
    assert passed[True] < passed[False]  # a mutant the base tests let through fails the plus tests


def _double(task_id: str, text: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "text": text,
        "code": "def double(n):\n    if n < 0:\n        return -1\n    return 2 * n\n",
        "test_list": ["assert double(1) == 2", "assert double(2) == 4", "assert double(3) == 6"],
    }


def test_contract_relaxed_by_the_text_kills_what_needs_zero_and_survivors_are_classified(
    benchmarks_dir: Path,
) -> None:
    """The mutant ``n < 1`` differs from ``n < 0`` only at 0. Where the text says "positive", 0 is refused
    and the survivor is reported with the input that tells it apart; where it does not, a test at 0
    kills it. HumanEval/20 (closest pair: a sign flip) and /89 (rotation: an upper-case letter) survived
    the conservative contract; /88's ``(a[0] - a[-1]) % 2`` is equivalent (the parity rule)."""
    from alignforge.verify.strengthen import format_totals

    rows = [_double("pos", "Double a positive number."), _double("any", "Double a number.")]
    rows += _humaneval(benchmarks_dir, 20, 89, 88, 32)
    out, reports = strengthen_tasks(rows, workers=2, seed=0)
    by_id = {r.task_id: r for r in reports}
    for r in reports:
        assert r.status == "strengthened" and r.reference_passes is True, r.line()
    pos, anyn = by_id["pos"], by_id["any"]
    assert pos.survivors == ["off_by_one"] and anyn.survivors == []
    note = pos.survivor_notes["off_by_one"]
    assert note["kind"] == "outside_contract" and "positive" in note["detail"], note
    assert any(
        "double(0)" in t or "double(-" in t
        for t in next(r for r in out if r["task_id"] == "any")["plus_tests"]
    )
    for tid in ("HumanEval/20", "HumanEval/89"):
        assert by_id[tid].killed_before < by_id[tid].mutants == by_id[tid].killed_after, by_id[tid].line()
    # HumanEval/32 (find_zero) checks a property on inputs from random.Random(42): no literal call to mutate;
    # its own tests under another seed kill the mutant ``> 1`` that seed 42 lets through
    he32 = by_id["HumanEval/32"]
    assert he32.reseeded is not None and he32.killed_before < he32.mutants == he32.killed_after
    src32 = next(r for r in out if r["task_id"] == "HumanEval/32")["plus_tests"]
    assert f"random.Random({he32.reseeded})" in src32 and "random.Random(42)" not in src32
    he88 = by_id["HumanEval/88"]
    assert he88.survivors == ["swap_add_sub"]
    assert he88.survivor_notes["swap_add_sub"]["kind"] == "equivalent"
    assert "parity" in he88.survivor_notes["swap_add_sub"]["detail"]
    totals = "\n".join(format_totals(reports))
    n = sum(r.mutants for r in reports)
    after = sum(r.killed_after for r in reports)
    assert "mutant kill rate (raw, all mutants)" in totals and f"-> {after}/{n} " in totals
    assert "non-equivalent mutants (less 1 shown equivalent)" in totals and f"-> {after}/{n - 1} " in totals
    assert "outside_contract 1" in totals and "equivalent 1" in totals
    assert (
        he88.survivor_notes["swap_add_sub"]["rule"] == "parity" and "equivalent by rule: parity 1" in totals
    )
    # the new tests of 20 and 89 hold inputs the old contract refused: a negative number, an upper-case letter
    plus = {r["task_id"]: _plus_inputs(r) for r in out if r["task_id"] in ("HumanEval/20", "HumanEval/89")}
    assert any(x < 0 for (xs,) in plus["HumanEval/20"] for x in xs)
    assert any(c.isupper() for (s,) in plus["HumanEval/89"] for c in s)
    plus_rows = [plus_task(r) for r in out]
    refs = {r["task_id"]: reference_program(normalize_task(r)) or "" for r in out}
    assert all(v["passed"] for v in _verdicts(plus_rows, refs).values())


def test_known_correct_alternatives_are_a_second_oracle(benchmarks_dir: Path) -> None:
    """MBPP 628's reference strips the string before replacing spaces; sanitized MBPP's solution is
    ``string.replace(" ", "%20")``. Both pass the original tests; an input with an outer space tells them
    apart, so it is dropped, and the alternative passes the strengthened tests. An "alternative" that
    fails the original tests is not known to be correct and is not used."""
    with gzip.open(benchmarks_dir / "mbpp" / "mbpp.jsonl.gz", "rt") as fh:
        row = next(r for r in map(json.loads, fh) if r["task_id"] == 628)
    alt = 'def replace_spaces(string):\n  return string.replace(" ", "%20")\n'
    wrong = "def replace_spaces(string):\n  return string\n"
    out, (rep,) = strengthen_tasks([{**row, "alternative_solutions": [alt, wrong]}], workers=2, seed=0)
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    assert (rep.alternatives, rep.alternatives_used, rep.alternatives_failing) == (2, 1, 0)
    assert rep.dropped["alternative_disagrees"] > 0
    verdicts = _verdicts([{**plus_task(out[0]), "task_id": "alt"}], {"alt": alt})
    assert verdicts["alt"]["passed"], verdicts
    for t in out[0]["plus_tests"]:  # no new test has an outer space in its input
        (arg,) = _mbpp_args(t)
        assert arg == arg.strip(), t


def _mbpp_args(assert_line: str) -> tuple[Any, ...]:
    """The arguments of the call a new test asserts on (after the float comparer's def, where it has one)."""
    test = ast.parse(assert_line).body[-1]
    call = next(
        n
        for n in ast.walk(test)
        if isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id.startswith("__"))
    )
    return tuple(ast.literal_eval(a) for a in call.args)


def test_bad_alternatives_field_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.jsonl"
    good = {"task_id": "a", "tests": ["assert f(1) == 1"], "code": "def f(x):\n    return x\n"}
    src.write_text(json.dumps(good) + "\n" + json.dumps({**good, "alternative_solutions": "x"}) + "\n")
    run = run_cli(capsys, "strengthen", src, "--out", tmp_path / "o.jsonl")
    assert run.code == 2 and f"{src}:2" in run.err and "alternative_solutions" in run.err


def test_inputs_the_differential_run_finds_become_tests(benchmarks_dir: Path) -> None:
    """MBPP 152 (merge sort): the rounds keep no input that kills one mutant, but the survivors'
    differential run finds one within the contract (the empty list). It goes through the oracle, becomes
    a test, the verifier measures again, and the mutant is killed; the reference passes every new test."""
    from alignforge.verify.strengthen import format_totals

    with gzip.open(benchmarks_dir / "mbpp" / "mbpp.jsonl.gz", "rt") as fh:
        row = next(r for line in fh if (r := json.loads(line))["task_id"] == 152)
    out, (rep,) = strengthen_tasks([row], workers=2, seed=0)
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    assert rep.differential_tests >= 1 and rep.killed_before < rep.mutants == rep.killed_after, rep.line()
    assert rep.survivors == [] and rep.survivor_notes == {}
    assert "assert merge_sort([]) == []" in out[0]["plus_tests"]
    assert f"{rep.differential_tests} from inputs the differential run found" in "\n".join(
        format_totals([rep])
    )
    task = normalize_task(row)
    ref = reference_program(task) or ""
    plus_row = {**plus_task(out[0]), "task_id": task["task_id"]}
    assert [v["passed"] for v in _verdicts([plus_row], {task["task_id"]: ref}).values()] == [True]


_GRADE = {
    "task_id": "grade",
    "prompt": "Write grade(score): 'A' from 90 up, 'B' from 80 up, else 'C'.",
    "solution": "def grade(score):\n    if score >= 90:\n        return 'A'\n    if score >= 80:\n        return 'B'\n    return 'C'\n",
    "tests": (
        "from solution import grade as g\n\n\ndef test_a():\n    assert g(95) == 'A'\n\n\n"
        "class TestRest:\n    def test_b(self):\n        assert g(85) == 'B'\n\n"
        "    def test_c(self):\n        assert g(50) == 'C'\n"
    ),
}


def test_pytest_style_tasks_are_strengthened() -> None:
    """A pytest-style task (its function imported under another name, tests in a class too, no
    entry_point field): its calls are found, the new tests are test functions of their own after the
    module's, and the mutant the original tests let through (``score >= 91``) fails them."""
    from alignforge.verify._mutants import mutants

    out, (rep,) = strengthen_tasks([_GRADE], workers=2, seed=0)
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    assert rep.killed_before < rep.mutants == rep.killed_after, rep.line()
    plus = out[0]["plus_tests"]
    assert isinstance(plus, str) and plus.startswith("import solution as __af_solution\n")
    assert "def test_af_plus_1():" in plus and "assert __af_solution.grade(90) == 'A'" in plus
    task = normalize_task(plus_task(out[0]))
    assert task["style"] == "pytest" and task["tests"].startswith(_GRADE["tests"].rstrip())
    off = dict(mutants(_GRADE["solution"], "grade"))["off_by_one"]
    assert "score >= 91" in off
    got = _verdicts([plus_task(out[0])], {"grade": _GRADE["solution"]})["grade"]
    assert got["passed"] and [t["name"] for t in got["tests"]][:3] == [
        "test_a",
        "TestRest::test_b",
        "TestRest::test_c",
    ]
    assert _verdicts([_GRADE], {"grade": off})["grade"]["passed"]  # the original tests let it through
    assert not _verdicts([plus_task(out[0])], {"grade": off})["grade"]["passed"]


def test_inputs_built_by_the_programs_own_class_are_strengthened(benchmarks_dir: Path) -> None:
    """MBPP 601's tests pass chains of ``Pair(5, 24)``: no literal input, so the task was skipped and its
    ``max = 0`` made 1 survived. The calls of the program's own class are inputs now, built in the
    sandbox afresh for every call; mutation changes their arguments, and the empty chain kills the
    mutant. The new tests build the pairs as the task's own tests do, and the real verifier passes the
    reference on them and fails the mutant."""
    from alignforge.verify._mutants import mutants

    row = mbpp_row(benchmarks_dir, 601)
    out, (rep,) = strengthen_tasks([row], workers=2, seed=0)
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    assert rep.killed_before < rep.mutants == rep.killed_after, rep.line()
    plus = out[0]["plus_tests"]
    assert "assert max_chain_length([], 0) == 0" in plus, plus
    assert any("Pair(" in t for t in plus) and not any(
        "Pair(5, 24), Pair(15, 25), Pair(27, 40)" in t for t in plus
    )
    task = normalize_task(row)
    ref = reference_program(task) or ""
    off = dict(mutants(ref, task["entry_point"]))["off_by_one"]
    plus_row = {**plus_task(out[0]), "task_id": task["task_id"]}
    assert _verdicts([plus_row], {task["task_id"]: ref})[task["task_id"]]["passed"]
    assert _verdicts([{**row, "task_id": task["task_id"]}], {task["task_id"]: off})[task["task_id"]]["passed"]
    assert not _verdicts([plus_row], {task["task_id"]: off})[task["task_id"]]["passed"]


_SEGMENT = {
    "task_id": "seg",
    "prompt": "Write length(seg): the length of a Segment (its fields a and b), never negative.",
    "solution": (
        "class Segment:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n\n\n"
        "def length(seg):\n    if seg.b < seg.a:\n        return seg.a - seg.b\n    return seg.b - seg.a\n"
    ),
    "tests": (
        "from solution import Segment, length\n\n\ndef test_length():\n"
        "    assert length(Segment(1, 4)) == 3\n    assert length(Segment(2, 9)) == 7\n"
        "    assert length(Segment(0, 5)) == 5\n"
    ),
}


def test_a_pytest_style_task_builds_its_class_through_the_module() -> None:
    """In a pytest-style task the new tests name the class through the module they import
    (``__af_solution.Segment(4, 1)``): the test module has no ``Segment`` of its own. The mutant that
    adds in the ``b < a`` branch passes the original tests (every segment there has a <= b) and fails
    the new ones."""
    from alignforge.verify._mutants import mutants

    out, (rep,) = strengthen_tasks([_SEGMENT], workers=2, seed=0)
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    plus = out[0]["plus_tests"]
    assert "__af_solution.length(__af_solution.Segment(" in plus, plus
    adds = dict(mutants(_SEGMENT["solution"], "length"))["swap_add_sub"]
    assert "seg.a + seg.b" in adds
    assert _verdicts([_SEGMENT], {"seg": adds})["seg"]["passed"]
    assert not _verdicts([plus_task(out[0])], {"seg": adds})["seg"]["passed"]
    assert _verdicts([plus_task(out[0])], {"seg": _SEGMENT["solution"]})["seg"]["passed"]


def test_pytest_style_calls_are_found_by_name_alias_and_module() -> None:
    tests = (
        "import solution\nfrom solution import mean as avg\n\n\n"
        "def test_one():\n    assert solution.mean([1, 2, 3]) == 2.0\n    assert avg([4]) == 4.0\n"
        "    assert mean([5, 7]) == 6.0\n    assert other.mean([9]) == 9\n"
    )
    task = normalize_task(
        {"task_id": "m", "solution": "def mean(xs):\n    return sum(xs) / len(xs)\n", "tests": tests}
    )
    assert extract_inputs(task, "mean") == [(([1, 2, 3],), {}), (([4],), {}), (([5, 7],), {})]


_SUMPOS = {
    "task_id": "sumpos",
    "prompt": "Read n, then n integers on one line. Print the sum of those above zero, then how many they are.",
    "solution": (
        "n = int(input())\nxs = list(map(int, input().split()))\ns = 0\nc = 0\n"
        "for x in xs:\n    if x > 0:\n        s += x\n        c += 1\nprint(s)\nprint(c)\n"
    ),
    "tests": [
        {"input": "3\n1 2 3\n", "output": "6\n3\n"},
        {"input": "4\n5 6 7 8\n", "output": "26\n4\n"},
        {"input": "2\n10 20\n", "output": "30\n2\n"},
    ],
}


def test_stdio_tasks_are_strengthened_as_lines_of_tokens() -> None:
    """A stdio task: its inputs are read as (n, [xs]), mutated (n kept equal to the list's length, a
    relation every observed input has), run through the program as text, and the new cases kill the
    mutant the original ones let through (no input had a number <= 0). Inputs that are not lines of
    tokens are not guessed at."""
    from alignforge.verify._mutants import mutants
    from alignforge.verify._stdio_inputs import parse_stdio_inputs

    odd = {"task_id": "odd", "solution": "print(1)\n", "tests": [{"input": "a  b\n", "output": "1\n"}]}
    parity = {
        "task_id": "parity",
        "solution": "a, b = map(int, input().split())\nprint((a + b) % 2)\n",
        "tests": [{"input": f"{a} {b}\n", "output": f"{(a + b) % 2}\n"} for a, b in ((3, 4), (2, 2), (5, 8))],
    }
    out, (rep, skipped, par) = strengthen_tasks([_SUMPOS, odd, parity], workers=2, seed=0)
    assert skipped.status == "skipped: stdio inputs that are not lines of tokens"
    # (a - b) % 2: the parity rule reads the program itself, not the function the oracle calls it through
    assert par.survivor_notes["swap_add_sub"]["kind"] == "equivalent", par.line()
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    assert rep.killed_before < rep.mutants == rep.killed_after, rep.line()
    cases = out[0]["plus_tests"]
    assert cases and all(set(c) == {"input", "output"} for c in cases)
    lines = [c["input"].split("\n") for c in cases]
    assert all(len(ls) == 3 and ls[2] == "" and int(ls[0]) == len(ls[1].split()) for ls in lines), cases
    assert any(int(x) <= 0 for ls in lines for x in ls[1].split())  # the count line follows the list
    assert parse_stdio_inputs(_SUMPOS) == [((3, [1, 2, 3]), {}), ((4, [5, 6, 7, 8]), {}), ((2, [10, 20]), {})]
    task = normalize_task(plus_task(out[0]))
    assert task["style"] == "stdio" and len(task["tests"]) == 3 + len(cases)
    survivor = next(c for n, c in mutants(_SUMPOS["solution"]) if n == "first_branch")
    assert _verdicts([_SUMPOS], {"sumpos": survivor})["sumpos"]["passed"]  # the original cases let it through
    assert not _verdicts([plus_task(out[0])], {"sumpos": survivor})["sumpos"]["passed"]
    assert _verdicts([plus_task(out[0])], {"sumpos": _SUMPOS["solution"]})["sumpos"]["passed"]


def test_checkpoint_scores_report_pass_at_k_on_the_strengthened_tests_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``evaluate.checkpoint`` on a task file with ``plus_tests``: pass@k on the original tests and, as
    HumanEval+ beside HumanEval, on original + new. A model (a loopback OpenAI-compatible server) that
    answers with the mutant the original tests let through for one seed of two passes the original tests
    on both samples and the longer suite on one."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _llm_helpers import FakeServer

    from alignforge.evaluate import score_checkpoint
    from alignforge.io import write_jsonl
    from alignforge.verify._mutants import mutants

    out, _ = strengthen_tasks([_GRADE], workers=2, seed=0)
    write_jsonl(tmp_path / "tasks.jsonl", [out[0], {**_GRADE, "task_id": "grade_plain"}])
    wrong = dict(mutants(_GRADE["solution"], "grade"))["off_by_one"]

    def reply(body: dict[str, Any], attempt: int) -> str:
        return f"```python\n{wrong if body.get('seed') == 0 else _GRADE['solution']}```"

    srv = FakeServer(reply=reply).start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    try:
        rep = score_checkpoint("openai:m", tmp_path / "tasks.jsonl", tmp_path / "out", n=2, ks=(1, 2)).figures
    finally:
        srv.stop()
    assert rep["overall"]["pass@1"] == 1.0
    # grade: 1 of 2 samples passes the new tests; grade_plain (no plus_tests) keeps its verdicts
    assert rep["plus"]["overall"]["pass@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert rep["plus"]["n_tasks_strengthened"] == 1 and rep["plus"]["samples_failing_only_new_tests"] == 1
    # the scores stay the original tests' own: retention reads every score there as a benchmark
    assert set(rep["scores"]) == {"tasks/pass@1", "tasks/pass@2"} and rep["scores"]["tasks/pass@1"] == 1.0


def test_pytest_new_tests_leave_the_modules_own_names_alone() -> None:
    """A test module with its own checker named like the function: the new tests reach the candidate
    through a module alias of their own, so the module's tests keep comparing against its checker."""
    row = {
        **_GRADE,
        "task_id": "grade_own",
        "tests": (
            "import solution\n\n\ndef grade(s):\n    return 'A' if s >= 90 else 'B' if s >= 80 else 'C'\n\n\n"
            "def test_all():\n    assert solution.grade(95) == grade(95)\n    assert solution.grade(85) == grade(85)\n"
            "    assert solution.grade(50) == grade(50)\n"
        ),
    }
    out, (rep,) = strengthen_tasks([row], workers=2, seed=0)
    assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
    wrong = _GRADE["solution"].replace("return 'B'", "return 'Z'")
    got = _verdicts([plus_task(out[0])], {"grade_own": wrong})["grade_own"]
    assert got["tests"][0]["name"] == "test_all" and got["tests"][0]["outcome"] == "failed"


def test_plus_task_merges_by_the_tasks_style_and_pytest_is_not_reseeded() -> None:
    from alignforge.verify.strengthen import NO_LITERAL

    helper = "def check(x):\n    return x\n\n\n"
    row = {**_GRADE, "task_id": "g2", "test_style": "pytest", "tests": helper + _GRADE["tests"]}
    merged = plus_task(
        {**row, "plus_tests": "import solution as __af_solution\n\n\ndef test_af_plus_1():\n    pass\n"}
    )
    assert merged["tests"].startswith(helper) and "__af_base_check" not in merged["tests"]
    seeded = {
        "task_id": "r",
        "solution": "def f(x):\n    return x * 2\n",
        "entry_point": "f",
        "tests": "import random\nfrom solution import f\n\n\ndef test_random():\n    rng = random.Random(0)\n"
        "    for _ in range(5):\n        x = rng.randint(1, 9)\n        assert f(x) == 2 * x\n",
    }
    out, (rep,) = strengthen_tasks([seeded], workers=2, seed=0)
    assert rep.status == NO_LITERAL and "plus_tests" not in out[0]


def test_stdio_new_inputs_keep_the_text_form() -> None:
    """Two cases only (too few for an inferred relation): the count line still follows the list; words
    never become empty or numbers; constraint lines keep negatives and 0 out; nan is a word."""
    from alignforge.verify._contract import loosened
    from alignforge.verify._stdio_inputs import parse_stdio_inputs

    two = {**_SUMPOS, "task_id": "two", "tests": _SUMPOS["tests"][:2]}
    words = {
        "task_id": "words",
        "prompt": "Read n and n words; print them joined by commas.",
        "solution": "n = int(input())\nprint(','.join(input().split()[:n]))\n",
        "tests": [
            {"input": "3\napple banana cherry\n", "output": "apple,banana,cherry"},
            {"input": "2\nfig kiwi\n", "output": "fig,kiwi"},
        ],
    }
    out, reps = strengthen_tasks([two, words], workers=2, seed=0)
    for row, rep in zip(out, reps, strict=True):
        assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
        for case in row.get("plus_tests") or []:
            head, body, *_ = case["input"].split("\n")
            assert int(head) == len(body.split()) and "  " not in body and not body.startswith(" "), case
            if row["task_id"] == "words":
                assert all(not w.lstrip("-").isdigit() for w in body.split()), case
    assert {"sign", "zero"} & loosened("Constraints: 1 <= n <= 100, 1 ≤ a_i ≤ 10^9") == set()
    assert "sign" in loosened("-10^9 <= a_i <= 10^9")
    assert parse_stdio_inputs({"tests": [{"input": "nan inf 1.5\n", "output": ""}]}) == [
        ((["nan", "inf", 1.5],), {})
    ]


@pytest.mark.slow
def test_a_raw_mbpp_row_shadowing_a_builtin_is_strengthened_and_a_slow_reference_is_named(
    benchmarks_dir: Path,
) -> None:
    # MBPP 126 as mbpp.jsonl has it (no entry_point; its function is called `sum`): the tests used to call
    # the builtin, so the task was skipped as "the reference fails its own tests".
    shadow = mbpp_row(benchmarks_dir, 126)
    # a reference over its CPU limit is said to time out (after a second try), not to fail
    slow = {
        "task_id": 2,
        "code": "def spin(n):\n    while True:\n        n += 1\n",
        "test_list": ["assert spin(1) == 2"],
    }
    _, reports = strengthen_tasks(
        [shadow, slow], workers=1, seed=0, ref_timeout_s=0.3, candidates=20, rounds=1
    )
    by_id = {r.task_id: r for r in reports}
    assert by_id["126"].status == "strengthened" and by_id["126"].reference_passes, by_id["126"].line()
    assert by_id["2"].status == "skipped: the reference times out on its own tests (0.3 CPU s, twice)"


@pytest.mark.slow
def test_the_reference_s_constants_kill_what_the_tests_inputs_never_reach_and_no_test_needs_a_sentinel(
    benchmarks_dir: Path,
) -> None:
    """MBPP survivors no step from the tests' own inputs told apart: 159 (``days > 19`` for March: needs
    March 20), 387 (a hex string ending in '0'), 958 (``int_to_roman`` tested up to 50; 1000 is in its
    own table) and 222 (a 1-tuple, where the tests' tuples have 3 to 6 elements). The reference's
    constants are steps now, one of them exempt from the magnitude rule, and a tuple seen at several
    lengths is a sequence: all four are killed. 763's mutant (``diff = 11 ** 20``) differs only on
    arrays of one element, which the reference answers with its sentinel 10 ** 20: no test requires
    that value, and the survivor is outside the contract."""
    rows = [mbpp_row(benchmarks_dir, n) for n in (159, 387, 958, 222, 763, 350)]
    out, reports = strengthen_tasks(rows, workers=2, seed=0)
    by_id = {int(r.task_id): r for r in reports}
    # 350 (``maxOcc = 1``) differs only on the empty string: the differential run takes every one-step
    # mutation of the observed inputs before any random one, so it finds '' whatever the draw
    for tid in (159, 387, 958, 222, 350):
        rep = by_id[tid]
        assert rep.status == "strengthened" and rep.reference_passes is True, rep.line()
        assert rep.killed_before < rep.mutants == rep.killed_after, rep.line()
    plus = {int(r["task_id"]): "\n".join(r.get("plus_tests") or []) for r in out}
    assert "month_season('March', 20)" in plus[159] or "month_season('March', 21)" in plus[159]
    assert any(f"int_to_roman({n})" in plus[958] for n in (999, 1000, 1001))
    rep = by_id[763]
    assert rep.survivors == ["off_by_one"] and rep.dropped["sentinel_answer"] > 0, rep.line()
    assert rep.survivor_notes["off_by_one"]["kind"] == "outside_contract"
    assert str(10**20) not in plus[763] and str(11**20) not in plus[763]
    plus_rows = [{**plus_task(r), "task_id": str(r["task_id"])} for r in out]
    refs = {str(r["task_id"]): reference_program(normalize_task(r)) or "" for r in out}
    assert all(v["passed"] for v in _verdicts(plus_rows, refs).values())


@pytest.mark.slow
def test_an_order_between_arguments_the_reference_treats_alike_is_dropped(benchmarks_dir: Path) -> None:
    """Every observed input of MBPP 404 (``minimum(1, 2)``, ``(-5, -4)``, ``(0, 0)``) has a <= b, and of 227
    (minimum of three) c < a, so ``return a`` and a flipped comparison survived as "outside the contract".
    Swapped, each observed input, and each of some generated ones, gets the same answer from the
    reference: the order is a coincidence of the examples, and is dropped. 28's binomial(n, k) answers
    otherwise swapped, so k < n stays a rule; 225's ``find_Min(arr, low, high)`` is answered alike both
    ways (an interval), but its names say range, so low < high stays too: no new test of either breaks
    its order. 76's ``count_Squares(4, 3)``, ``(2, 2)``, ``(1, 1)`` have the two apart only once: the
    generated inputs, answered alike swapped, make the evidence, and a 2 x 5 rectangle kills "always
    swap" (the mutant that drops ``if n < m``)."""
    rows = [mbpp_row(benchmarks_dir, n) for n in (404, 227, 28, 225, 76)]
    out, reports = strengthen_tasks(rows, workers=2, seed=0)
    by_id = {int(r.task_id): r for r in reports}
    for tid in (404, 227, 76):
        rep = by_id[tid]
        assert rep.reference_passes is True and rep.killed_before < rep.mutants == rep.killed_after, (
            rep.line()
        )
    plus = {int(r["task_id"]): r.get("plus_tests") or [] for r in out}
    assert any(a > b for a, b in map(_mbpp_args, plus[404]))
    assert any(m < n for m, n in map(_mbpp_args, plus[76])), plus[76]
    assert by_id[28].survivors and all(k < n for n, k in map(_mbpp_args, plus[28])), plus[28]
    assert all(low < high for _, low, high in map(_mbpp_args, plus[225])), plus[225]
