"""The whole pipeline against a loopback OpenAI-compatible server with scripted answers.

The real openai backend, the real SQLite cache and the real CLI entry point; only the
models' answers are scripted (see ``_assess_helpers``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _assess_helpers import WEAK_CODE, ScriptedServer  # noqa: E402
from _cli import run_cli  # noqa: E402

from alignforge.assess import STEP_FILES, StepFailed, run_assessment  # noqa: E402
from alignforge.errors import ConfigError  # noqa: E402

TOPIC = "LLM post-training with DPO"
MODELS = ["--strong-model", "openai:strong", "--weak-model", "openai:weak", "--judge-model", "openai:judge"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    srv = ScriptedServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    yield srv
    srv.stop()


def _run(out: Path, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("strong_model", "openai:strong")
    kw.setdefault("weak_model", "openai:weak")
    kw.setdefault("judge_model", "openai:judge")
    return run_assessment(TOPIC, out=out, **kw)


def _load(out: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / name).read_text())


def test_cli_success_writes_every_step_and_exits_0(server: ScriptedServer, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a"
    run = run_cli(capsys, "assess", "--topic", TOPIC, "--out", out, *MODELS)
    assert run.code == 0, run.err
    assert "Success Rate: 100% (1/1 attempts)" in run.out
    assert "attempt 1: strong 9 - weak 2 = 7 (>= 6): differentiated" in run.out
    for name in STEP_FILES.values():
        assert (out / name).exists(), name
    cats = _load(out, STEP_FILES[1])["categories"]
    assert set(cats) == {"Beginner", "Intermediate", "Advanced"}
    assert cats["Beginner"] == [
        "What DPO optimizes and why",
        "Preference pairs: chosen and rejected",
    ]  # deduped
    errors = _load(out, STEP_FILES[2])["errors"]
    assert errors[0] == {
        "error": "Using raw logits instead of log probabilities",
        "impact": "the loss learns nothing useful",
        "likelihood": "high",
    }
    assert [e["likelihood"] for e in errors] == ["high", "medium", "low"]
    ch = _load(out, STEP_FILES[3])["challenge"]
    assert ch["title"] == "DPO for customer-service replies" and len(ch["requirements"]) == 2
    assert _load(out, STEP_FILES[5])["model"] == "openai:weak"
    six = _load(out, STEP_FILES[6])
    assert (six["strong_score"], six["weak_score"], six["min_differentiation"]) == (9.0, 2.0, 6.0)
    assert six["differentiated"] is True
    # Step 7: only the span that really is in the weak code survives; the invented one is dropped with a reason.
    a = _load(out, STEP_FILES[7])
    assert a["total_errors"] == 1 and a["errors"][0]["line"] == 4
    assert a["errors"][0]["span"] == "chosen_probs = torch.softmax(chosen_logits, dim=-1)"
    assert a["errors"][0]["span"] in WEAK_CODE
    assert "<span class='error-span' data-error-id='1'>chosen_probs = " in a["code"]
    assert a["dropped_spans"][0]["quote"] == "loss = made_up_line()" and a["dropped_spans"][0]["reason"]
    # ... and each kept span gets its teaching fields from its own request.
    assert {k: a["errors"][0][k] for k in ("severity", "concept", "minutes")} == {
        "severity": "critical",
        "concept": "Log probabilities in the DPO loss",
        "minutes": 4,
    }
    assert a["errors"][0]["fix"] == "chosen_logps = torch.log_softmax(chosen_logits, dim=-1)"
    assert a["estimated_minutes"] == 4 and server.calls["details"] == 1
    assert (out / "assessment.html").exists()
    summary = _load(out, "assessment.json")
    assert summary["differentiated"] is True and summary["steps_completed"] == 7
    assert summary["success_rate"] == "100% (1/1 attempts)"
    assert "Success Rate**: 100% (1/1 attempts)" in (out / "report.md").read_text()
    # Same request text to strong and weak: the cache key must still tell the two models apart.
    assert server.calls["implementation"] == 2


def test_rerun_sends_nothing_and_cache_answers_lost_step_files(
    server: ScriptedServer, tmp_path: Path
) -> None:
    out = tmp_path / "a"
    first = _run(out)
    sent = len(server.requests)
    # 3 categories, the catalog, the challenge, 2 implementations, 2 judge scores, the spans, their details
    assert first.requests_sent == sent == 11
    again = _run(out)  # every step file is there: nothing is asked at all
    assert len(server.requests) == sent and again.requests_sent == 0 and again.cache_hits == 0
    assert again.success_rate == first.success_rate and again.assessment == first.assessment
    for f in out.glob("step*.json"):
        f.unlink()
    for f in (out / "attempts").rglob("*.json"):
        f.unlink()
    third = _run(out)  # step files gone, cache kept: every answer comes from the cache
    assert len(server.requests) == sent
    assert third.requests_sent == 0 and third.cache_hits == sent
    assert third.assessment == first.assessment


def test_unparsable_answer_is_reasked_then_fails_naming_the_step(
    server: ScriptedServer, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    server.queue["catalog"] = ["Sure! Here are some mistakes people make.", "1. Too short"]
    res = _run(tmp_path / "a")
    assert res.differentiated
    catalog_reqs = [r for r in server.requests if "list mistakes" in r["messages"][0]["content"]]
    assert len(catalog_reqs) == 3  # two re-asks, each continuing the conversation with the reason
    assert [r["temperature"] for r in catalog_reqs] == [0.0, 0.7, 0.7]  # re-asks sample
    assert (
        "could not be used: needs a list of at least 2 distinct items"
        in catalog_reqs[1]["messages"][-1]["content"]
    )
    assert catalog_reqs[1]["messages"][-2]["content"] == "Sure! Here are some mistakes people make."

    server.queue["categories"] = ["no list here"] * 9
    with pytest.raises(
        StepFailed, match=r"^step 1 \(categories\): openai:judge gave no usable answer in 3 tries"
    ):
        _run(tmp_path / "b")
    assert not (tmp_path / "b" / STEP_FILES[1]).exists()
    server.queue["categories"] = ["no list here"] * 9
    run = run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "c", *MODELS, "--retries", "1")
    assert run.code == 1
    assert (
        run.err.strip().splitlines()[-1].startswith("error: step 1 (categories): openai:judge gave no usable")
    )


def test_no_differentiation_retries_steps_3_to_6(server: ScriptedServer, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from _assess_helpers import STRONG_CODE

    server.queue["implementation:weak"] = [STRONG_CODE, STRONG_CODE]  # weak looks strong twice
    res = _run(tmp_path / "a")
    assert [(a.attempt, a.status, a.gap) for a in res.attempts] == [
        (1, "not_differentiated", 0.0),
        (2, "not_differentiated", 0.0),
        (3, "differentiated", 7.0),
    ]
    assert res.success_rate == "33% (1/3 attempts)"
    assert server.calls["challenge"] == 3 and server.calls["categories"] == 3  # steps 1-2 once
    assert _load(tmp_path / "a", STEP_FILES[3])["attempt"] == 3
    temps = [
        r["temperature"] for r in server.requests if "implementation challenge" in r["messages"][0]["content"]
    ]
    assert temps == [0.0, 0.7, 0.7]  # later attempts sample, so they can differ

    server.queue["implementation:weak"] = [STRONG_CODE] * 2
    run = run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "b", *MODELS, "--attempts", "2")
    assert run.code == 1
    assert "Success Rate: 0% (0/2 attempts)" in run.out
    assert "no attempt differentiated the models" in run.err
    summary = _load(tmp_path / "b", "assessment.json")
    assert summary["differentiated"] is False and summary["step7"].startswith("skipped")
    assert not (tmp_path / "b" / STEP_FILES[7]).exists()
    # More attempts on the same folder: attempts 1-2 are kept, attempt 3 runs and differentiates.
    before = len(server.requests)
    run = run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "b", *MODELS, "--attempts", "3")
    assert run.code == 0 and "Success Rate: 33% (1/3 attempts)" in run.out
    # challenge, 2 implementations, the judge on the weak one (the strong code was judged before: cached),
    # spans, details
    assert len(server.requests) - before == 6


def test_judge_answer_without_a_score_is_a_failed_attempt_not_a_number(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.queue["judge"] = ["The strong one looks better overall."] * 12
    res = _run(tmp_path / "a", attempts=2, retries=1)
    assert [a.status for a in res.attempts] == ["failed", "failed"]
    assert res.attempts[0].strong_score is None and "parse_failed" in (res.attempts[0].error or "")
    assert (tmp_path / "a" / "attempts" / "1" / "failed.json").exists()
    assert res.success_rate == "0% (0/2 attempts)"


def test_request_failure_stops_the_run_and_a_rerun_resumes(server: ScriptedServer, tmp_path: Path) -> None:
    server.queue["implementation:weak"] = ["HTTP400"]
    with pytest.raises(
        StepFailed, match=r"step 5 \(weak implementation\), attempt 1: openai:weak request failed"
    ):
        _run(tmp_path / "a")
    assert (tmp_path / "a" / "attempts" / "1" / STEP_FILES[4]).exists()
    assert not (tmp_path / "a" / "attempts" / "1" / STEP_FILES[5]).exists()
    before = len(server.requests)
    res = _run(tmp_path / "a")
    assert res.differentiated
    steps = [r["model"] for r in server.requests[before:]]
    # only what was not finished: step 5, 6 (x2), 7 (spans, details)
    assert steps == ["weak", "judge", "judge", "judge", "judge"]


def test_invalid_input_exits_2(server: ScriptedServer, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(capsys, "assess", "--topic", "  ", "--out", tmp_path / "a", *MODELS).code == 2
    assert run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "a", "--model", "nope:x").code == 2
    bad = run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "a", "--min-differentiation", "11")
    assert bad.code == 2
    assert run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "b", *MODELS).code == 0
    other = run_cli(capsys, "assess", "--topic", "SQL indexing", "--out", tmp_path / "b", *MODELS)
    assert other.code == 2 and "holds a run with topic='LLM post-training with DPO'" in other.err
    (tmp_path / "b" / STEP_FILES[1]).write_text("{not json")
    broken = run_cli(capsys, "assess", "--topic", TOPIC, "--out", tmp_path / "b", *MODELS)
    assert broken.code == 2 and "step1_categories.json: not valid JSON" in broken.err
    with pytest.raises(ConfigError):
        run_assessment(TOPIC, out=tmp_path / "c", attempts=0)


def test_a_stricter_threshold_on_a_finished_run_asks_nothing_and_fails_the_gate(
    server: ScriptedServer, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a"
    assert run_cli(capsys, "assess", "--topic", TOPIC, "--out", out, *MODELS).code == 0
    sent = len(server.requests)
    run = run_cli(
        capsys,
        "assess",
        "--topic",
        TOPIC,
        "--out",
        out,
        *MODELS,
        "--min-differentiation",
        "8",
        "--attempts",
        "1",
    )
    assert run.code == 1 and len(server.requests) == sent
    assert "attempt 1: strong 9 - weak 2 = 7 (< 8): not_differentiated" in run.out
    assert not (out / STEP_FILES[7]).exists()  # built from an attempt that no longer passes
    assert _load(out, "assessment.json")["differentiated"] is False


def test_a_challenge_without_requirements_gets_them_asked_for_on_their_own(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.queue["challenge"] = ["Title: Support DPO\nTask: Implement the DPO loss for support replies now."]
    res = _run(tmp_path / "a")
    assert res.differentiated and server.calls["requirements"] == 1
    ch = _load(tmp_path / "a", STEP_FILES[3])["challenge"]
    assert ch["title"] == "Support DPO"
    assert ch["requirements"] == [
        "Compute the loss from log probabilities",
        "Keep the reference model frozen",
    ]
    # A requirement that names a step 2 mistake is a hint: re-asked, then the attempt fails.
    server.queue["challenge"] = ["Title: Support DPO\nTask: Implement the DPO loss for support replies now."]
    server.queue["requirements"] = ["1. Avoid Using raw logits instead of log probabilities here"] * 3
    res = _run(tmp_path / "b", attempts=1)
    assert res.attempts[0].status == "failed"
    assert "names a known mistake" in (res.attempts[0].error or "")


def test_sigkill_mid_run_then_rerun_repeats_no_finished_request(
    server: ScriptedServer, tmp_path: Path
) -> None:
    import os
    import subprocess
    import time

    from _assess_helpers import WEAK_CODE as weak

    server.slow_s = 60.0
    server.queue["implementation:weak"] = [f"SLOW:{weak}"]
    out = tmp_path / "a"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    cmd = [sys.executable, "-m", "alignforge", "assess", "--topic", TOPIC, "--out", str(out), *MODELS]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while server.calls["implementation"] < 2 and time.monotonic() < deadline:  # the weak one in flight
            time.sleep(0.05)
        assert server.calls["implementation"] == 2
    finally:
        proc.kill()
        proc.wait()
    finished = [r["model"] for r in server.requests]
    assert finished == ["judge"] * 5 + ["strong", "weak"]  # 3 categories, catalog, challenge, strong, weak
    server.queue.clear()
    res = _run(out)
    assert res.differentiated
    # Only the request that was in flight is sent again, then what never ran: judge x2, spans, details.
    assert [r["model"] for r in server.requests[len(finished) :]] == ["weak"] + ["judge"] * 4


def test_step7_details_missing_a_field_are_reasked_never_defaulted(
    server: ScriptedServer, tmp_path: Path
) -> None:
    from _assess_helpers import DEFAULTS

    no_severity = "\n".join(ln for ln in DEFAULTS["details"].splitlines() if not ln.startswith("Severity"))
    server.queue["details"] = [no_severity, DEFAULTS["details"].replace("Minutes: 4", "Minutes: 15-20")]
    res = _run(tmp_path / "a")
    assert res.differentiated and res.assessment is not None
    reqs = [r for r in server.requests if "You explain one error" in r["messages"][0]["content"]]
    assert len(reqs) == 3
    assert "could not be used: missing 'Severity:'" in reqs[1]["messages"][-1]["content"]
    assert "whole number of minutes from 1 to 240, got '15-20'" in reqs[2]["messages"][-1]["content"]
    assert (
        res.assessment["errors"][0]["severity"] == "critical" and res.assessment["errors"][0]["minutes"] == 4
    )

    server.queue["details"] = [no_severity] * 3
    with pytest.raises(
        StepFailed, match=r"step 7 \(student assessment\), details: openai:judge gave no usable"
    ):
        _run(tmp_path / "b")
    assert not (tmp_path / "b" / STEP_FILES[7]).exists()
