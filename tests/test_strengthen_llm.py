"""LLM-proposed inputs for test strengthening, from a real loopback OpenAI-compatible server, run in the real sandbox."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

from alignforge.llm import get_llm  # noqa: E402
from alignforge.verify.strengthen import strengthen_tasks  # noqa: E402

# The mutant ``n in (38,)`` differs from ``n in (37,)`` only at 37 and 38: one mutated candidate per
# task (``candidates=1``, one round) does not reach them; the LLM proposes them. (Written ``n == 37``,
# the survivors' ``boundary_point`` check would run 37 and 38 itself and find the test.)
ROW = {
    "task_id": "t/37",
    "text": "Return n, except 0 for the unlucky number 37.",
    "code": "def f(n):\n    if n in (37,):\n        return 0\n    return n\n",
    "test_list": ["assert f(10) == 10", "assert f(20) == 20", "assert f(30) == 30"],
}


def _run(llm: Any, differential: int = 0) -> Any:
    # differential=0: no inputs beyond the rounds' for the survivors' differential run, so what kills
    # the mutant comes from the rounds (where the LLM's inputs join)
    return strengthen_tasks(
        [ROW], workers=1, seed=0, candidates=1, rounds=1, llm=llm, differential=differential
    )


def test_llm_inputs_join_the_candidates_under_the_same_contract_and_oracle() -> None:
    bodies: list[dict[str, Any]] = []

    def reply(body: dict[str, Any], attempt: int) -> str:
        bodies.append(body)
        return "Here you go:\nf(37)\nf(38)\nf(-100000)\nf('x')\nnot a call\nf(undefined)\n"

    srv = FakeServer(reply=reply).start()
    try:
        llm = get_llm("openai:m", base_url=srv.base_url, api_key="k")
        out, (rep,) = _run(llm)
    finally:
        srv.stop()
    (body,) = bodies
    prompt = body["messages"][-1]["content"]
    assert "unlucky number 37" in prompt and "f(10)" in prompt
    assert rep.llm_inputs == 4 and rep.llm_error is None  # the four literal calls
    assert rep.dropped["contract"] >= 2  # f(-100000) is beyond the observed magnitudes, f('x') no int
    assert rep.survivors == [] and rep.killed_after == rep.mutants, rep.line()
    assert any("f(37)" in t or "f(38)" in t for t in out[0]["plus_tests"])
    assert rep.reference_passes is True

    _, (without,) = _run(None)  # the same run without the LLM leaves the mutant alive
    assert without.survivors == ["off_by_one"] and without.llm_inputs == 0
    assert without.differential_tests == 0 and rep.differential_tests == 0
    _, (fed,) = _run(None, differential=1000)  # ... until the differential run finds an input that kills it
    assert fed.survivors == [] and fed.differential_tests >= 1, fed.line()


def test_a_failed_llm_request_is_reported_and_the_run_goes_on() -> None:
    srv = FakeServer(reply=lambda body, attempt: 400).start()
    try:
        llm = get_llm("openai:m", base_url=srv.base_url, api_key="k", max_attempts=1)
        _, (rep,) = _run(llm)
    finally:
        srv.stop()
    assert rep.llm_error and rep.llm_error.startswith("bad_request") and rep.llm_inputs == 0
    assert rep.status == "strengthened" and rep.reference_passes is True


def test_cli_llm_option_asks_once_and_caches(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    import json

    from _cli import run_cli

    calls = []
    srv = FakeServer(reply=lambda body, attempt: calls.append(1) or "f(37)\n").start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    src = tmp_path / "tasks.jsonl"
    src.write_text(json.dumps(ROW) + "\n")
    try:
        for _ in range(2):  # the second run reads the answer from the cache beside --out
            r = run_cli(
                capsys,
                "strengthen",
                src,
                "--out",
                tmp_path / "plus.jsonl",
                "--llm",
                "openai:m",
                "--candidates",
                "1",
                "--rounds",
                "1",
                "--workers",
                "1",
                "--report",
                tmp_path / "r.json",
            )
            assert r.code == 0, r.err
            (rep,) = json.loads((tmp_path / "r.json").read_text())
            assert rep["llm_inputs"] == 1 and rep["survivors"] == []
    finally:
        srv.stop()
    assert len(calls) == 1 and (tmp_path / "plus.cache.sqlite").exists()


def test_the_boundary_point_of_a_comparison_with_the_input_becomes_a_test_without_an_llm() -> None:
    """Written ``n == 37``, the mutant ``n == 38`` is run where the two comparisons answer otherwise (37
    and 38) before it is called undistinguished: 37 tells it apart, and becomes a new test."""
    row = {**ROW, "code": "def f(n):\n    if n == 37:\n        return 0\n    return n\n"}
    out, (rep,) = strengthen_tasks([row], workers=1, seed=0, candidates=1, rounds=1, differential=0)
    assert rep.survivors == [] and rep.differential_tests >= 1, rep.line()
    assert any("f(37)" in t or "f(38)" in t for t in out[0]["plus_tests"]), out[0]["plus_tests"]
