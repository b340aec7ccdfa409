"""The public Python API other modules code against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _verify_helpers import mbpp_row

import alignforge.verify as V

REPO = Path(__file__).resolve().parents[1]


def test_public_names_resolve():
    for name in V.__all__:
        assert getattr(V, name) is not None


@pytest.mark.slow
def test_verifier_classes_and_verifiability(tmp_path):
    he = {
        "task_id": "HE/0",
        "prompt": 'def inc(x):\n    """x + 1"""\n',
        "entry_point": "inc",
        "tests": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(-1) == 0\n",
        "solution": "    return x + 1\n",
    }
    mb = {
        "task_id": "Mbpp/1",
        "prompt": "Write dbl(x).",
        "tests": ["assert dbl(2) == 4", "assert dbl(0) == 0"],
        "entry_point": "dbl",
        "solution": "def dbl(x):\n    return 2 * x\n",
    }
    math = {
        "task_id": "m/1",
        "prompt": "1+1?",
        "answer": "2",
        "domain": "math",
        "solution": "1+1 = \\boxed{2}",
    }
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (he, mb, math)))
    with V.HumanEvalVerifier(path, workers=1) as hv:
        assert hv.verify("def inc(x):\n    return x + 1\n", task_id="HE/0")["passed"]
        assert hv.verify("    return x + 1\n", task_id="HE/0", completion_style="body")["passed"]
        assert not hv.verify("def inc(x):\n    return x\n", task_id="HE/0")["passed"]
    with V.MBPPVerifier(path, workers=1) as mv:
        v = mv.verify("def dbl(x):\n    return x + x\n", task_id="Mbpp/1")
        assert v["passed"] and v["status"] == "passed" and len(v["tests"]) == 2
    score = V.assess_rlvr_verifiability(path, workers=1)
    assert float(score) == 1.0 and set(score.by_domain) == {"code", "math"}


@pytest.mark.slow
def test_a_raw_mbpp_row_whose_function_shadows_a_builtin(tmp_path, benchmarks_dir):
    # MBPP task 126 as its own file has it: no entry_point, and the tests call `sum`, which the solution
    # defines. The tests must call the solution's sum, not the builtin (which raised TypeError for all).
    row = mbpp_row(benchmarks_dir, 126)
    assert "entry_point" not in row and row["code"].startswith("def sum(a,b)")
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert V.assess_rlvr_verifiability(path, workers=1).verified == 1
    with V.MBPPVerifier(path, workers=1) as mv:
        assert mv.verify(row["code"], task_id="126")["passed"]
        wrong = mv.verify("def sum(a, b):\n    return a + b\n", task_id="126")
        assert (
            not wrong["passed"] and wrong["tests"][0]["outcome"] == "failed"
        )  # a wrong answer, not an error


def test_find_reference_in_every_shape_alignforge_reads_or_writes():
    tests = ["assert dbl(2) == 4"]
    ref = "def dbl(x):\n    return 2 * x\n"
    shapes = {
        "solution": {"solution": ref},  # prepare's *_full.jsonl
        "reference_solution": {"reference_solution": ref},  # generate rlvr's input
        "canonical_solution": {"canonical_solution": ref},  # HumanEval
        "code": {"code": ref},  # MBPP
        "metadata.reference_solution": {
            "metadata": {"family": "x", "reference_solution": ref}
        },  # generate rlvr
    }
    for where, extra in shapes.items():
        assert V.find_reference({"task_id": "t", "tests": tests, **extra}) == (where, ref)
    assert V.find_reference({"task_id": "t", "tests": tests, "metadata": {"family": "x"}}) is None
    assert V.find_reference({"task_id": "t", "tests": tests, "solution": ""}) is None
    # a task graded by answer: its worked solution, else the answer itself; a code task's answer is no reference
    assert V.find_reference({"task_id": "m", "answer": "12"}) == ("answer", "12")
    assert (
        V.find_reference({"task_id": "m", "answer": "12", "solution": "6+6 = \\boxed{12}"})[0] == "solution"
    )
    assert V.find_reference({"task_id": "c", "tests": tests, "answer": "12"}) is None


def test_a_reference_of_the_wrong_type_is_named_with_its_line(tmp_path):
    from alignforge.io import DataError

    path = tmp_path / "tasks.jsonl"
    good = {"task_id": "a", "prompt": "p", "tests": ["assert f() == 1"], "entry_point": "f"}
    bad = dict(good, task_id="b", metadata={"reference_solution": ["def f(): return 1"]})
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"tasks\.jsonl:2: field 'metadata\.reference_solution': expected"):
        V.load_tasks(path)
    with pytest.raises(DataError, match=r"<tasks>:1: field 'task_id': is missing"):
        V.load_tasks([{"prompt": "What is 1+1?", "answer": "2"}])


def _gen_code(tid: str, reference: str, tests: list[str]) -> dict:
    """A task as ``generate rlvr --domain code`` writes it: the reference only in metadata."""
    return {
        "task_id": tid,
        "prompt": "Write a Python function `dbl(x)` that returns twice x.",
        "entry_point": "dbl",
        "tests": tests,
        "domain": "code",
        "verification_type": "tests",
        "metadata": {"family": "dbl", "reference_solution": reference, "reference_passed": True},
    }


DBL_TESTS = ["assert dbl(2) == 4", "assert dbl(0) == 0", "assert dbl(-3) == -6"]


@pytest.fixture(scope="module")
def code_shapes():
    """One assessment over every code-task shape, good and broken (one sandbox pool for all)."""
    import gzip

    bench = REPO.parent / "shared" / "benchmarks"  # the benchmarks_dir fixture's folder, for a module fixture
    if not bench.is_dir():
        pytest.fail(f"{bench} is missing: the tests need ../shared/benchmarks beside the repository")

    he = {
        r["task_id"]: r for r in map(json.loads, gzip.open(bench / "humaneval" / "HumanEval.jsonl.gz", "rt"))
    }
    mbpp = {r["task_id"]: r for r in map(json.loads, gzip.open(bench / "mbpp" / "mbpp.jsonl.gz", "rt"))}
    rows = [
        _gen_code("gen/ok", "def dbl(x):\n    return x * 2\n", DBL_TESTS),
        # the stored reference is wrong: only running it shows the task is not verifiable
        _gen_code("gen/bad_reference", "def dbl(x):\n    return x + 2\n", DBL_TESTS),
        # tests that cannot pass: every wrong probe fails them too, and so does the reference
        _gen_code(
            "gen/assert_false", "def dbl(x):\n    return x * 2\n", ["assert False", "assert dbl(1) == 2"]
        ),
        {k: v for k, v in _gen_code("gen/no_reference", "", DBL_TESTS).items() if k != "metadata"},
        he["HumanEval/2"],  # raw HumanEval: canonical_solution is a body under the prompt, tests in "test"
        dict(he["HumanEval/4"], task_id="HumanEval/4-broken", canonical_solution="    return 0.0\n"),
        mbpp[2],  # raw MBPP: reference in "code", tests in "test_list", no prompt, no entry_point
        dict(mbpp[3], task_id="Mbpp/3-broken", code="def is_not_prime(n):\n    return True\n"),
    ]
    return V.assess_rlvr_verifiability(rows, workers=1)


def _status(score, task_id: str) -> str:
    return {u["task_id"]: u["status"] for u in score.unverifiable}.get(task_id, "verified")


@pytest.mark.slow
def test_a_reference_kept_in_metadata_is_run_before_the_task_counts(code_shapes):
    assert _status(code_shapes, "gen/ok") == "verified"
    assert _status(code_shapes, "gen/bad_reference") == "reference_fails"


@pytest.mark.slow
def test_a_code_task_with_no_reference_is_unverified_and_counts_against(code_shapes):
    assert _status(code_shapes, "gen/no_reference") == "unverified_no_reference"
    assert code_shapes.unverified_no_reference == 1


@pytest.mark.slow
def test_tests_that_cannot_pass_make_a_task_unverifiable(code_shapes):
    assert _status(code_shapes, "gen/assert_false") == "reference_fails"


@pytest.mark.slow
def test_humaneval_and_mbpp_shapes_run_their_own_reference(code_shapes):
    for tid in ("HumanEval/2", "2"):
        assert _status(code_shapes, tid) == "verified", code_shapes.unverifiable
    for tid in ("HumanEval/4-broken", "Mbpp/3-broken"):
        assert _status(code_shapes, tid) == "reference_fails", code_shapes.unverifiable


@pytest.mark.slow
def test_verifiability_counts_every_task_in_the_denominator(code_shapes):
    # 3 verified of 8: the rate is over all tasks, and the breakdown adds up to them
    assert code_shapes.breakdown == {
        "unverified_no_reference": 1,
        "reference_fails": 4,
        "probe_passed": 0,
        "verified": 3,
    }
    assert code_shapes.tasks == 8 and float(code_shapes) == 3 / 8 and code_shapes < 0.8
    code = code_shapes.by_domain["code"]
    assert code["tasks"] == 8 and code["verified"] == 3 and code["rate"] == 3 / 8 and code["target"] == 0.9


@pytest.mark.slow
def test_math_tasks_verify_their_reference_answer_through_the_math_verifier(tmp_path):
    from alignforge.generate import generate_rlvr_data

    # the seed's snippet, on the bundled math prompts: whatever generate_rlvr_data returns is accepted
    tasks = generate_rlvr_data(
        input_file=REPO / "examples" / "data" / "math_train.jsonl",
        output_file=tmp_path / "rlvr.jsonl",
        domain="math",
        verification_type="math",
    )
    verifiable = V.assess_rlvr_verifiability(tasks)
    assert verifiable >= 0.8
    assert (
        verifiable.verified == verifiable.tasks == tasks.written
        and verifiable.by_domain["math"]["rate"] == 1.0
    )
    rows = [
        {"task_id": "m/answer_only", "prompt": "What is 6 x 7?", "answer": "42", "domain": "math"},
        {
            "task_id": "m/worked",
            "prompt": "What is 15% of 80?",
            "answer": "12",
            "solution": "0.15*80 = \\boxed{12}",
        },
        # the worked solution kept in metadata disagrees with the answer: the reference really ran
        {
            "task_id": "m/bad_worked",
            "prompt": "What is 15% of 80?",
            "answer": "12",
            "domain": "math",
            "metadata": {"reference_solution": "15% of 80 is \\boxed{8}"},
        },
    ]
    score = V.assess_rlvr_verifiability(rows)
    assert _status(score, "m/answer_only") == "verified" and _status(score, "m/worked") == "verified"
    assert _status(score, "m/bad_worked") == "reference_fails"
    assert float(score) == 2 / 3 and score.by_domain["math"]["reference_fails"] == 1
