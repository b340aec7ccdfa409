"""The real pipeline end to end on the embedded SmolLM2-135M-Instruct (slow: real generation on CPU).

Strong, weak and judge are all the local model, so steps 4 and 5 must come out identical
(greedy decoding, one cache) and the judge's gap must be exactly 0; with the threshold at 0
that attempt counts as differentiated and step 7 runs on real output. A rerun asks nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignforge.assess import STEP_FILES, run_assessment
from alignforge.llm import get_llm

pytestmark = pytest.mark.slow


def test_local_model_end_to_end_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "assess"
    lines: list[str] = []
    # float32 pinned: greedy output must not depend on whether this CPU has native bf16 (dtype auto)
    llm = get_llm("local", dtype="float32")
    kw = {"out": out, "model": llm, "max_tokens": 64, "attempts": 1, "min_differentiation": 0.0}
    res = run_assessment("LLM post-training with DPO", echo=lines.append, **kw)
    assert res.models == {"strong": "local", "weak": "local", "judge": "local"}
    assert [(a.status, a.gap) for a in res.attempts] == [("differentiated", 0.0)]
    assert res.success_rate == "100% (1/1 attempts)"
    steps = {n: json.loads((out / name).read_text()) for n, name in STEP_FILES.items()}
    assert all(steps[1]["categories"][level] for level in ("Beginner", "Intermediate", "Advanced"))
    assert len(steps[2]["errors"]) >= 2 and len(steps[3]["challenge"]["requirements"]) >= 1  # the minimums
    assert steps[4]["text"] == steps[5]["text"]  # the same model, greedy: one answer, sent once
    assert 0 <= steps[6]["strong_score"] == steps[6]["weak_score"] <= 10
    assert steps[7]["total_errors"] >= 1
    for err in steps[7]["errors"]:  # real spans of the weak implementation, marked up in the code
        assert err["span"] in steps[5]["code"].splitlines()[err["line"] - 1]
        assert f"data-error-id='{err['id']}'" in steps[7]["code"]
    summary = json.loads((out / "assessment.json").read_text())
    assert summary["steps_completed"] == 7 and summary["requests"]["sent"] == res.requests_sent > 0
    assert (out / "report.md").read_text().startswith("# Assessment: LLM post-training with DPO")

    again = run_assessment("LLM post-training with DPO", **kw)
    assert again.requests_sent == 0 and again.assessment == res.assessment
