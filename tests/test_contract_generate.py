"""The stage contract for the five generators: generate dpo / sft / kto / grpo / rlvr.

Per generator: the one summary type, the side-file names, the ``metadata.drop_reasons`` shape, the
stage record beside the output, and a real ``python -m alignforge generate ...`` killed with SIGKILL
once some rows are written, then run again: no duplicate, no gap, and the rows finished before the
kill are not redone (the LLM generators run with ``--cache none`` against the loopback server, so a
redone row would show as a request about its prompt in the server's log; the others count what
the rerun kept as ``resumed``). Plus: the one flaw taxonomy, and the secrets a record leaves out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _generate_helpers import (
    ScriptedLLM,
    dpo_rule,
    http_rule,
    judge_kind,
    judged_item,
    last_user,
    write_prompts,
)
from _llm_helpers import FakeServer
from _stage_contract import (
    assert_recorded,
    assert_side_files,
    assert_summary,
    kill_when,
    rows_of,
    run_cli,
)

from alignforge.generate import (
    DPOStage,
    GRPOStage,
    KTOStage,
    RLVRStage,
    SFTStage,
    generate_dpo_pairs,
    generate_grpo_data,
    generate_kto_data,
    generate_rlvr_data,
    generate_sft_data,
)
from alignforge.llm.base import ChatRequest, LLMError
from alignforge.stages import StageRecord, get_stage, record_path, run_stage

QUESTION = re.compile(r"Question number (\d+):")


def _rule(req: ChatRequest) -> str | LLMError:
    """dpo_rule, except that every answer to a question whose number ends in 1 scores 7 (dropped)."""
    if judge_kind(req) == "score":
        body = judged_item(req).split("RESPONSE:", 1)[1]
        m = QUESTION.search(judged_item(req))
        if m and m.group(1).endswith("1") and "FLAWED" not in body:
            return "Score: 7\nRationale: thin."
    return dpo_rule(req)


def _flaky(req: ChatRequest) -> str | LLMError:
    """_rule, but the answer to question 2 fails: a row for the failures file."""
    if judge_kind(req) is None and last_user(req).startswith("Question number 2:"):
        return LLMError("server", "503 from the test")
    return _rule(req)


def _questions(bodies: list[dict[str, Any]]) -> set[int]:
    """The prompt numbers the requests were about."""
    found = set()
    for body in bodies:
        for m in body["messages"]:
            found |= {int(x) for x in QUESTION.findall(str(m.get("content")))}
    return found


def _ids(path: Path, key: str) -> list[str]:
    return [r["metadata"][key] for r in rows_of(path)]


# --- the registry names every generator ------------------------------------------------------------


def test_every_generator_is_a_registered_stage():
    for name, cls in {
        "generate.dpo": DPOStage,
        "generate.sft": SFTStage,
        "generate.kto": KTOStage,
        "generate.grpo": GRPOStage,
        "generate.rlvr": RLVRStage,
    }.items():
        assert get_stage(name) is cls and cls.name == name


# --- in-process: summary, side files, drop reasons, record ----------------------------------------


def test_dpo_contract(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 4)
    out = tmp_path / "pairs.jsonl"
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl", out, model=ScriptedLLM(_flaky), cache=None, progress=False, max_rounds=1
    )
    assert_summary(s, "generate.dpo", out)
    assert (s.written, s.dropped, s.failed) == (2, 1, 1) and s.passed == 2 and s.target == 4
    assert s.drop_reasons == {"chosen_score_below_threshold": 1}
    assert s.gate_failures == {"chosen_score_below_threshold": 1}
    [dropped] = assert_side_files(out, dropped_reasons={"chosen_score_below_threshold"})
    assert dropped["metadata"]["drop_reasons"][0] == {
        "reason": "chosen_score_below_threshold",
        "detail": {"score": 7.0, "threshold": 9.0},
    }
    assert [f["candidate_id"] for f in rows_of(tmp_path / "pairs.failures.jsonl")] == ["p2#0"]
    rec = assert_recorded(out, "generate.dpo")
    assert rec.params["model"] == "scripted" and rec.params["chosen_threshold"] == 9.0
    assert s.lines()[0].startswith(f"generate.dpo: written 2 to {out}, dropped 1")
    assert any("2/4 pairs passed the gates after 3 candidates" in line for line in s.lines())


def test_a_run_with_failures_left_is_not_reused_one_without_is(tmp_path):
    """Through run_stage (as a workflow runs it): a finished run is reused only when nothing is left
    to retry; the failed candidate of the first run is tried again, then the stage is done."""
    write_prompts(tmp_path / "p.jsonl", 3)
    out = tmp_path / "pairs.jsonl"
    kw = dict(cache=None, progress=False, max_rounds=1)
    first = run_stage(DPOStage(tmp_path / "p.jsonl", out, model=ScriptedLLM(_flaky, name="m"), **kw))
    assert first.failed == 1 and not first.reused
    llm = ScriptedLLM(_rule, name="m")
    second = run_stage(DPOStage(tmp_path / "p.jsonl", out, model=llm, **kw))
    assert not second.reused and second.resumed == 2 and second.written == 1 and second.failed == 0
    assert _questions([{"messages": [{"content": m.content} for m in r.messages]} for r in llm.calls]) == {2}
    third = run_stage(DPOStage(tmp_path / "p.jsonl", out, model=ScriptedLLM(_rule, name="m"), **kw))
    assert third.reused and third.written == 1  # the second run's summary, recorded
    assert not (tmp_path / "pairs.failures.jsonl").exists()


def test_a_dry_run_records_nothing(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 2)
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl", tmp_path / "x.jsonl", model="openai:gpt-4o-mini", dry_run=True
    )
    assert s.estimate is not None and s.lines()[0].startswith("dry run: 2 candidates to try")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]


def test_the_record_keeps_no_credentials(tmp_path):
    srv = FakeServer(reply=http_rule(_rule)).start()
    try:
        write_prompts(tmp_path / "p.jsonl", 2)
        out = tmp_path / "sft.jsonl"
        opts = {
            "base_url": srv.base_url,
            "api_key": "sk-secret-of-the-test",
            "concurrency": 3,
            "price": [1, 2],
        }
        generate_sft_data(
            out, prompts=tmp_path / "p.jsonl", model="openai:m", llm_options=opts, progress=False
        )
    finally:
        srv.stop()
    text = record_path(out).read_text()
    assert "sk-secret-of-the-test" not in text and "concurrency" not in text
    rec = StageRecord.read(record_path(out))
    assert rec is not None and rec.params["llm_options"] == {"base_url": srv.base_url, "price": [1, 2]}


def test_sft_contract(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 4)
    out = tmp_path / "sft.jsonl"
    s = generate_sft_data(
        out, prompts=tmp_path / "p.jsonl", model=ScriptedLLM(_flaky), cache=None, progress=False
    )
    assert_summary(s, "generate.sft", out)
    assert (s.written, s.dropped, s.failed, s.inputs) == (2, 1, 1, 4)
    [dropped] = assert_side_files(out, dropped_reasons={"score_below_min"})
    assert dropped["metadata"]["drop_reasons"] == [
        {"reason": "score_below_min", "detail": {"score": 7.0, "min": 8.0}}
    ]
    assert "drop_reason" not in dropped["metadata"]  # the old string field is gone
    assert_recorded(out, "generate.sft")


def test_kto_contract_keeps_every_row_in_the_side_file_scheme(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 10)

    def rule(req: ChatRequest) -> str:
        if judge_kind(req) == "score":
            item = judged_item(req)
            if "Question number 9:" in item and "t=0.3" not in item:
                return "no score here"  # parse_failed: dropped
            return "Score: 9" if "t=0.3" in item else "Score: 3"
        return dpo_rule(req)

    out = tmp_path / "kto.jsonl"
    s = generate_kto_data(tmp_path / "p.jsonl", out, model=ScriptedLLM(rule), cache=None, progress=False)
    assert_summary(s, "generate.kto", out)
    dropped = assert_side_files(out, dropped_reasons={"balance", "judge_parse_failed"})
    assert sorted(p.name for p in tmp_path.glob("kto*")) == [
        "kto.dropped.jsonl",
        "kto.jsonl",
        "kto.jsonl.stage.json",
    ]
    kept = rows_of(out)
    assert 0.6 <= sum(r["label"] for r in kept) / len(kept) <= 0.7 and s.positives == sum(
        r["label"] for r in kept
    )
    assert s.drop_reasons == {"judge_parse_failed": 1, "balance": 19 - len(kept)}
    balance = [r for r in dropped if r["metadata"]["drop_reasons"][0]["reason"] == "balance"]
    assert balance[0]["metadata"]["drop_reasons"][0]["detail"]["score"] in (9.0, 3.0)
    # every answer is in exactly one file; a second run balances the same rows the same way
    ids = _ids(out, "item_id") + [r["metadata"]["item_id"] for r in dropped]
    assert sorted(ids) == sorted(f"p{i}#{k}" for i in range(10) for k in range(2))
    before = out.read_bytes(), (tmp_path / "kto.dropped.jsonl").read_bytes()
    again = generate_kto_data(tmp_path / "p.jsonl", out, model=ScriptedLLM(rule), cache=None, progress=False)
    assert again.resumed == 20 and again.written == len(kept)
    assert (out.read_bytes(), (tmp_path / "kto.dropped.jsonl").read_bytes()) == before
    assert_recorded(out, "generate.kto")


def test_grpo_contract(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "prompt": f"What is {i}+1?", "answer": str(i + 1)}) + "\n"
            for i in range(5)
        )
    )
    out = tmp_path / "grpo.jsonl"
    s = generate_grpo_data(src, out)
    assert_summary(s, "generate.grpo", out)
    assert (s.written, s.resumed, s.rewards) == (5, 0, {"math": 5})
    assert_side_files(out)
    assert_recorded(out, "generate.grpo")
    with out.open("a") as fh:  # a torn last line, as a kill leaves it
        fh.write('{"prompt": "What is')
    again = generate_grpo_data(src, out)
    assert (again.written, again.resumed) == (0, 5) and len(rows_of(out)) == 5
    assert out.read_text().endswith("}\n")


def test_rlvr_contract_and_a_changed_input_replaces_stale_rows(tmp_path):
    spec = tmp_path / "spec.jsonl"
    tasks = [
        {"prompt": "What is 6 x 7?", "answer": "42"},
        {"prompt": "What is 6 x 7?", "answer": "42"},  # the same task again: dropped as a duplicate
        {"prompt": "What is 2 + 2?", "answer": "4"},
    ]
    spec.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    out = tmp_path / "rlvr.jsonl"
    s = generate_rlvr_data(spec, out, "math")
    assert_summary(s, "generate.rlvr", out)
    assert (s.written, s.dropped, s.drop_reasons) == (2, 1, {"duplicate_task": 1})
    [dup] = assert_side_files(out, dropped_reasons={"duplicate_task"})
    assert dup["metadata"]["drop_reasons"][0]["detail"] == {"task_id": dup["task_id"]}
    assert_recorded(out, "generate.rlvr")
    spec.write_text(
        "".join(json.dumps(t) + "\n" for t in [tasks[0], {"prompt": "What is 3 + 3?", "answer": "6"}])
    )
    again = generate_rlvr_data(spec, out, "math")
    assert again.resumed == 1 and again.written == 1  # the first task is kept, the rest redone
    assert [r["prompt"] for r in rows_of(out)] == ["What is 6 x 7?", "What is 3 + 3?"]
    assert rows_of(tmp_path / "rlvr.dropped.jsonl") == []


def test_the_flaw_taxonomy_is_defined_once():
    from alignforge.flaws import FLAW_MIX, FLAWS
    from alignforge.generate import DEFAULT_MIX
    from alignforge.generate import FLAWS as generate_flaws
    from alignforge.quality._common import FLAW_TARGET

    assert DEFAULT_MIX is FLAW_MIX and FLAW_TARGET is FLAW_MIX and generate_flaws is FLAWS
    assert list(FLAWS) == list(FLAW_MIX) and sum(FLAW_MIX.values()) == pytest.approx(1.0)


def test_the_generate_cli_only_parses_and_prints():
    cli = Path(__file__).resolve().parents[1] / "src" / "alignforge" / "cli" / "generate.py"
    assert len(cli.read_text().splitlines()) < 250


# --- SIGKILL mid-run, then the same command again ---------------------------------------------------


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer(latency_s=0.1, reply=http_rule(_rule)).start()
    yield srv
    srv.stop()


def _llm_args(srv: FakeServer) -> list[str]:
    return [
        "--model", "openai:m", "--option", f"base_url={srv.base_url}", "--option", "concurrency=2",
        "--batch-size", "2", "--cache", "none", "--no-progress",
    ]  # fmt: skip


def _kill_and_rerun(
    srv: FakeServer, cmd: list[str], out: Path, key: str, *, min_rows: int
) -> tuple[set[int], list[dict[str, Any]]]:
    """Kill ``cmd`` once ``min_rows`` rows are in ``out`` + dropped, and run it again. Returns the
    prompt numbers of the rows finished at the kill and the requests the rerun sent."""
    dropped = out.with_name(out.stem + ".dropped.jsonl")
    kill_when(cmd, lambda: len(rows_of(out)) + len(rows_of(dropped)) >= min_rows)
    finished = [str(r["metadata"][key]) for r in rows_of(out) + rows_of(dropped)]
    sent = len(srv.bodies)
    rerun = run_cli(cmd)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resumed: {len(finished)} rows were already done and were skipped" in rerun.stdout
    return {int(i.split("#")[0].removeprefix("p")) for i in finished}, srv.bodies[sent:]


def test_generate_dpo_resumes_after_sigkill(server, tmp_path):
    write_prompts(tmp_path / "p.jsonl", 12)
    out = tmp_path / "pairs.jsonl"
    cmd = ["generate", "dpo", "--prompts", str(tmp_path / "p.jsonl"), "--out", str(out), "--max-rounds", "1"]
    done, later = _kill_and_rerun(server, [*cmd, *_llm_args(server)], out, "candidate_id", min_rows=4)
    assert 4 <= len(done) < 12 and not (_questions(later) & done)  # finished pairs were not redone
    ids = _ids(out, "candidate_id") + _ids(tmp_path / "pairs.dropped.jsonl", "candidate_id")
    assert sorted(ids) == sorted(f"p{i}#0" for i in range(12))  # no duplicate, no gap
    assert_side_files(out, dropped_reasons={"chosen_score_below_threshold"})
    assert_recorded(out, "generate.dpo")


def test_generate_sft_resumes_after_sigkill(server, tmp_path):
    write_prompts(tmp_path / "p.jsonl", 16)
    out = tmp_path / "sft.jsonl"
    cmd = ["generate", "sft", "--prompts", str(tmp_path / "p.jsonl"), "--out", str(out), *_llm_args(server)]
    done, later = _kill_and_rerun(server, cmd, out, "item_id", min_rows=4)
    assert 4 <= len(done) < 16 and not (_questions(later) & done)
    ids = _ids(out, "item_id") + _ids(tmp_path / "sft.dropped.jsonl", "item_id")
    assert sorted(ids) == sorted(f"p{i}" for i in range(16))
    assert_side_files(out, dropped_reasons={"score_below_min"})
    assert_recorded(out, "generate.sft")


def test_generate_kto_resumes_after_sigkill(server, tmp_path):
    write_prompts(tmp_path / "p.jsonl", 8)
    out = tmp_path / "kto.jsonl"
    cmd = ["generate", "kto", "--prompts", str(tmp_path / "p.jsonl"), "--out", str(out), *_llm_args(server)]
    dropped = tmp_path / "kto.dropped.jsonl"
    kill_when(cmd, lambda: len(rows_of(out)) + len(rows_of(dropped)) >= 4)
    finished = {r["metadata"]["item_id"]: r for r in rows_of(out) + rows_of(dropped)}
    both = {
        int(p[1:])
        for p in {i.split("#")[0] for i in finished}
        if f"{p}#0" in finished and f"{p}#1" in finished
    }
    sent = len(server.bodies)
    rerun = run_cli(cmd)
    assert rerun.returncode == 0, rerun.stderr
    assert 4 <= len(finished) < 16 and f"resumed: {len(finished)} rows were already done" in rerun.stdout
    assert not (_questions(server.bodies[sent:]) & both)  # prompts whose answers were all scored: not asked
    rows = {r["metadata"]["item_id"]: r for r in rows_of(out) + rows_of(dropped)}
    assert sorted(rows) == sorted(f"p{i}#{k}" for i in range(8) for k in range(2))  # each once
    assert len(rows_of(out)) + len(rows_of(dropped)) == 16
    for item_id, row in finished.items():  # the answers scored before the kill are the ones kept
        assert rows[item_id]["completion"] == row["completion"]
    assert_side_files(out)
    assert_recorded(out, "generate.kto")


def test_generate_grpo_resumes_after_sigkill(tmp_path):
    src = tmp_path / "in.jsonl"
    with src.open("w") as fh:
        for i in range(200_000):
            fh.write(
                json.dumps({"task_id": f"t{i}", "prompt": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n"
            )
    out = tmp_path / "grpo.jsonl"
    cmd = ["generate", "grpo", "--prompts", str(src), "--out", str(out)]
    kill_when(cmd, lambda: out.exists() and out.stat().st_size > 200_000)
    at_kill = len(rows_of(out))
    rerun = run_cli(cmd)
    assert rerun.returncode == 0, rerun.stderr
    assert at_kill > 0 and f"resumed: {at_kill} rows were already done" in rerun.stdout
    assert f"written {200_000 - at_kill} to" in rerun.stdout
    fresh = tmp_path / "fresh.jsonl"
    assert run_cli(["generate", "grpo", "--prompts", str(src), "--out", str(fresh)]).returncode == 0
    assert out.read_bytes() == fresh.read_bytes()  # no duplicate, no gap, same order
    assert_recorded(out, "generate.grpo")


def test_generate_rlvr_resumes_after_sigkill(tmp_path):
    out = tmp_path / "code.jsonl"
    cmd = ["generate", "rlvr", "--domain", "code", "--n", "200", "--out", str(out)]
    kill_when(cmd, lambda: len(rows_of(out)) >= 32)
    at_kill = len(rows_of(out)) + len(rows_of(tmp_path / "code.dropped.jsonl"))
    rerun = run_cli(cmd)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resumed: {at_kill} rows were already done" in rerun.stdout
    fresh = tmp_path / "fresh.jsonl"
    assert run_cli([*cmd[:-1], str(fresh)]).returncode == 0
    assert out.read_bytes() == fresh.read_bytes()  # no duplicate, no gap, same order
    assert_side_files(out)
    assert_recorded(out, "generate.rlvr")
