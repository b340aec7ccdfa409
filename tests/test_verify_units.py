"""Pure parts of verify: pass@k, answer extraction and grading, test-style detection, programs, prepare."""

from __future__ import annotations

import json
from math import comb

import pytest

from alignforge.verify import extract_answer, pass_at_k, pass_at_k_table, verify_choice, verify_math
from alignforge.verify._protocol import ProtocolError, decode_value
from alignforge.verify._suites import build_program, detect_style, strip_fences


@pytest.mark.parametrize(
    "n,c,k", [(10, 3, 1), (10, 3, 5), (10, 0, 3), (10, 10, 10), (200, 17, 10), (5, 4, 2)]
)
def test_pass_at_k_matches_the_exact_formula(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    v = pass_at_k(10_000, 1, 100)
    assert v == pytest.approx(0.01, rel=1e-9)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_at_k(5, 1, 6)


def test_pass_at_k_table_skips_k_above_n():
    rows = [{"task_id": "a", "passed": p} for p in (True, False, False)] + [{"task_id": "b", "passed": True}]
    t = pass_at_k_table(rows, [1, 3])
    assert t["tasks"]["a"]["pass@1"] == pytest.approx(1 / 3)
    assert t["overall"]["pass@1"] == pytest.approx((1 / 3 + 1) / 2)
    assert t["overall"]["skipped@3"] == 1 and t["overall"]["pass@3"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("so x = 4. \\boxed{4} ... wait, \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("Janet makes 9 * 2 = 18.\n#### 18", "18"),
        ("Adding them up, the answer is 1,000.", "1,000"),
        ("We get 3 apples and then 7 apples", "7"),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "completion,answer,passed",
    [
        ("The total is \\boxed{18.0}", "18", True),
        ("#### 1,000", "1000", True),
        ("The answer is 18.", "18", True),
        ("\\boxed{\\frac{3}{4}}", "0.75", True),
        ("\\boxed{17}", "18", False),
        ("It is \\boxed{18} or \\boxed{19}", "18", False),  # two different final answers
        ("no idea", "18", False),
        ("\\boxed{\\frac{\\pi}{2}}", "\\frac{\\pi}{2}", True),
        ("\\boxed{x^2+2x+1}", "(x+1)^2", True),
        ("\\boxed{p - q}", "p - q", True),
    ],
)
def test_verify_math_table(completion, answer, passed):
    assert verify_math(completion, answer).passed is passed


@pytest.mark.parametrize(
    "completion,answer,passed",
    [
        # two different final answers, across styles: wrong, whichever style ranks first
        ("The answer is 20. So \\boxed{18}", "18", False),
        ("#### 20\n\\boxed{18}", "18", False),
        ("\\boxed{18}\n#### 20", "18", False),
        ("The answer is 20.\n#### 18", "18", False),
        ("#### 18\nThe final answer is 20", "18", False),
        ("First \\boxed{20}, then the answer is 18.", "18", False),
        ("The answer is therefore 20.\n#### 18", "18", False),
        ("Final answer: 17\n\nThe answer is \\boxed{18}", "18", False),
        # one answer stated several ways: right
        ("The answer is 18.\n#### 18", "18", True),
        ("The answer is 18 apples. So \\boxed{18}", "18", True),
        ("so the answer is $\\boxed{18}$.", "18", True),
        ("The answer is 18.0. \\boxed{18}", "18", True),
        ("Janet sells 9 * 2 = $<<9*2=18>>18.\nThe answer is 18.\n#### 18", "18", True),
        ("The total is 1,000 dollars, so the answer is 1,000.\n#### 1000", "1000", True),
        ("Answer: Let's think step by step. 6*3 = 18, so \\boxed{18}", "18", True),
        ("We may check our answer: $6 \\cdot 3 = 18$, so our answer is correct. \\boxed{18}", "18", True),
        ("\\boxed{18.0} and the answer is 18", "18", True),
    ],
)
def test_verify_math_holds_a_completion_to_every_answer_it_states(completion, answer, passed):
    v = verify_math(completion, answer)
    assert v.passed is passed, v
    if not passed and extract_answer(completion) in ("18", "18.0"):
        assert "different final answers" in v.detail


def test_verify_choice():
    assert verify_choice("Thinking... The answer is (B).", "B").passed
    assert not verify_choice("The answer is (C).", "B").passed
    assert not verify_choice("", "B").passed


def test_codec_refuses_anything_but_builtin_trees():
    assert decode_value(b'{"t": [1, {"l": [2.5, "x"]}, {"s": [3]}]}') == (1, [2.5, "x"], {3})
    for raw in (b'{"x": 1}', b"[1, 2]", b'{"d": [[{"l": []}, 1]]}', b"not json"):
        with pytest.raises(ProtocolError):
            decode_value(raw)


def test_styles_fences_and_programs():
    he = {
        "prompt": 'def f(x):\n    """doc"""\n',
        "entry_point": "f",
        "style": "humaneval",
        "tests": "def check(candidate):\n    assert candidate(1) == 1\n",
    }
    assert detect_style(he) == "humaneval"
    assert detect_style({"tests": ["assert f(1) == 1"]}) == "mbpp"
    assert detect_style({"tests": "def test_a():\n    assert True\n"}) == "pytest"
    assert detect_style({"tests": [{"input": "", "output": "1"}]}) == "stdio"
    with pytest.raises(ValueError):
        detect_style({"tests": "print(1)"})
    assert strip_fences("x\n```python\nprint(1)\n```\ny") == "print(1)\n"
    assert build_program(he, "    return x\n") == he["prompt"] + "    return x\n"
    full = build_program(he, "```python\ndef f(x):\n    return x\n```", "full")
    assert full.startswith(he["prompt"]) and full.rstrip().endswith("return x")


@pytest.mark.slow
def test_prepare_humaneval_and_small_mbpp(tmp_path, benchmarks_dir):
    import gzip

    from alignforge.verify import prepare_dataset

    s = prepare_dataset("humaneval", tmp_path, validation_size=5).splits["humaneval"]
    assert s["written"] == 164 and not s["reference_failures"]
    lines = (tmp_path / "humaneval_prompts.jsonl").read_text().splitlines()
    assert len(lines) == 164 and set(json.loads(lines[0])) == {"task_id", "prompt", "entry_point"}
    assert len((tmp_path / "humaneval_validation.jsonl").read_text().splitlines()) == 5
    src = tmp_path / "mbpp_src"
    src.mkdir()
    with gzip.open(benchmarks_dir / "mbpp" / "mbpp.jsonl.gz", "rt") as fh:
        rows = [json.loads(x) for x in fh]
    keep = [r for r in rows if r["task_id"] in (11, 12, 367, 600, 601, 602)]
    from alignforge.verify.prepare import _entry_point

    entry = _entry_point(rows[12]["code"], rows[12]["test_list"])
    broken = dict(rows[12], code=f"def {entry}(*args):\n    return None\n")  # a reference that fails
    (src / "mbpp.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep + [broken]))
    (src / "sanitized-mbpp.json").write_text(json.dumps([]))
    out = prepare_dataset("mbpp", tmp_path, source=src, validation_size=1).splits
    assert out["mbpp"]["written"] == 3 and out["mbpp_train"]["written"] == 2
    assert list(out["mbpp"]["reference_failures"]) == [f"Mbpp/{rows[12]['task_id']}"]
    prompt = json.loads((tmp_path / "mbpp_prompts.jsonl").read_text().splitlines()[0])["prompt"]
    assert (
        "assert" in prompt and json.loads((tmp_path / "dataset_summary.json").read_text())["datasets"]["mbpp"]
    )


@pytest.mark.slow
def test_prepare_mbpp_from_the_hub_loads_every_split(tmp_path, benchmarks_dir, monkeypatch):
    """Without --source, MBPP comes through `datasets`: every split of both configs, not just test.

    The Hub cannot be reached here, so a stand-in `datasets` serves the shared copy split by task id
    the way the Hub does (train 601-974, test 11-510, validation 511-600, prompt 1-10).
    """
    import gzip
    import sys
    import types

    from alignforge.verify import prepare_dataset

    full = [json.loads(x) for x in gzip.open(benchmarks_dir / "mbpp" / "mbpp.jsonl.gz", "rt")]
    sanitized = json.loads(gzip.open(benchmarks_dir / "mbpp" / "sanitized-mbpp.json.gz", "rt").read())
    keep = {2, 11, 12, 512, 513, 601, 602}
    ranges = {"train": (601, 974), "test": (11, 510), "validation": (511, 600), "prompt": (1, 10)}
    calls = []

    def load_dataset(repo, config, split):
        calls.append((repo, config, split))
        lo, hi = ranges[split]
        rows = full if config == "full" else sanitized
        return [r for r in rows if lo <= r["task_id"] <= hi and r["task_id"] in keep]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    out = prepare_dataset("mbpp", tmp_path, validation_size=5, workers=1).splits
    assert {(c, s) for _, c, s in calls} == {(c, s) for c in ("full", "sanitized") for s in ranges}
    assert {k: v["written"] for k, v in out.items()} == {
        "mbpp": 2,
        "mbpp_train": 2,
        "mbpp_valsplit": 2,
        "mbpp_sanitized": sum(r["task_id"] in keep for r in sanitized),
    }
    assert len((tmp_path / "mbpp_validation.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "mbpp_train_full.jsonl").is_file() and (
        tmp_path / "mbpp_sanitized_full.jsonl"
    ).is_file()


def test_mutants_change_the_reference_one_operator_at_a_time():
    from alignforge.verify._mutants import mutants

    ref = (
        "def helper(x):\n    return x < 100\n\n"
        "def f(xs, k):\n    total = 0\n    for x in xs:\n        if x > k:\n            total += x\n"
        "        else:\n            total -= 1\n    return total\n"
    )

    def run(code):
        ns: dict = {}
        exec(code, ns)
        return ns["f"]([1, 5, 9], 4)

    out = dict(mutants(ref, "f"))
    assert run(ref) == 13
    assert {name: run(code) for name, code in out.items()} == {
        "flip_compare": -1,  # x > k -> x <= k
        "off_by_one": 14,  # total = 0 -> total = 1
        "swap_add_sub": -15,  # total += x -> total -= x
        "first_branch": 15,  # the if always takes its first branch
    }
    assert all("x < 100" in code for code in out.values())  # only the entry point is mutated
    assert mutants("def g():\n    return None\n", "g") == [] and mutants("not python(", "g") == []


def test_an_assert_on_a_false_constant_is_a_failing_test_not_dropped():
    from alignforge.verify._suites import compile_task

    mbpp = compile_task({"style": "mbpp", "tests": ["assert False", "assert f(1) == 1"], "entry_point": "f"})
    assert mbpp.units == ["False", "f(1) == 1"]
    # HumanEval's debugging lines (`assert True, "..."`) still count as no test
    checks = "def check(candidate):\n    assert True, 'debug'\n    assert candidate(1) == 1\n    assert 0\n"
    he = compile_task({"style": "humaneval", "tests": checks, "entry_point": "f", "prompt": ""})
    assert he.units == ["candidate(1) == 1", "0"]


def test_tasks_compiled_once_for_every_worker_load_as_the_worker_would_compile_them():
    """The pool compiles each task once and ships marshal bytes; a worker loads exactly what it would
    have compiled. Tasks whose compiling runs code (MBPP setup) or fails are left to the worker."""
    import dataclasses

    from _verify_helpers import more_tasks, tasks

    from alignforge.verify._suites import compile_for_workers, compile_task, load_compiled
    from alignforge.verify.tasks import normalize_task

    rows = {**tasks(), **more_tasks()}
    mbpp_plain = normalize_task(
        {
            "task_id": "m",
            "prompt": "Write f.",
            "entry_point": "f",
            "tests": ["assert f([1, 2], {'a': (3, 4.5)}) == {1, 2}", "assert math.isclose(f(0j, b'x'), 1)"],
        }
    )
    shipped = 0
    for task in [*rows.values(), mbpp_plain]:
        if task.get("domain") != "code":
            continue
        task = {k: v for k, v in task.items() if k != "_key"}
        data = compile_for_workers(task)
        if task["style"] == "mbpp" and task.get("test_setup_code"):
            assert data is None, task["task_id"]
            continue
        assert data is not None, task["task_id"]
        shipped += 1
        loaded, compiled = load_compiled(data), compile_task(task)
        assert loaded == compiled, task["task_id"]  # code objects compare by their contents
        assert [f.name for f in dataclasses.fields(loaded)] == [f.name for f in dataclasses.fields(compiled)]
    assert shipped >= 5
    assert compile_for_workers({**mbpp_plain, "tests": ["assert f(1) =="]}) is None
