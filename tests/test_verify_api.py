"""The public Python API other modules code against."""

from __future__ import annotations

import json

import pytest

import alignforge.verify as V


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
