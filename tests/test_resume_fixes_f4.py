"""Resume and failure accounting of generate / judge, run through the real CLI against a loopback server.

Each test starts the fault server of ``_llm_helpers`` on 127.0.0.1 and runs ``alignforge ...`` in
process (``_cli.run_cli``), with the openai backend pointed at it. Covered: KTO rows of prompts that
left the input are kept in the dropped file with a reason (not deleted); an empty answer is not
cached; the judge's and DPO's figures after a resume count every row, not only the last run's; a
run whose every request failed exits 4; ``generate rlvr`` says when it made fewer tasks than asked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _cli import run_cli
from _generate_helpers import dpo_rule, judge_kind, judged_item, last_user, write_prompts
from _llm_helpers import FakeServer

from alignforge.llm import ChatRequest, ChatResponse, ResponseCache, Usage, get_llm
from alignforge.stages import StageRecord, record_path

QUESTION = re.compile(r"Question number (\d+):")


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    yield srv
    srv.stop()


def _opts(srv: FakeServer) -> list[str]:
    """The openai backend on the loopback server: no key, one attempt (a failure fails at once)."""
    return srv.cli_args("max_attempts=1", "price=[0,0]")


def _request(body: dict[str, Any]) -> ChatRequest:
    return ChatRequest.chat(body["messages"], temperature=body.get("temperature", 1.0), seed=body.get("seed"))


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _reasons(row: dict[str, Any]) -> list[str]:
    return [r["reason"] for r in row["metadata"].get("drop_reasons", [])]


# --- bug 3: generate kto, a prompt leaves the input ------------------------------------------------


def _kto_reply(body: dict[str, Any], attempt: int) -> str:
    """The answer at seed 0 scores 9, the one at seed 1 scores 3: half positive, so balance drops some."""
    req = _request(body)
    if judge_kind(req) == "score":
        return "Score: 9\nRationale: ok." if "seed=0)" in judged_item(req) else "Score: 3\nRationale: weak."
    return dpo_rule(req)


def test_kto_rows_of_prompts_left_out_move_to_dropped_with_a_reason(server, tmp_path, capsys):
    server.reply = _kto_reply
    write_prompts(tmp_path / "p.jsonl", 4)
    out, dropped = tmp_path / "kto.jsonl", tmp_path / "kto.dropped.jsonl"
    cmd = ["generate", "kto", "--prompts", tmp_path / "p.jsonl", "--out", out, *_opts(server)]
    first = run_cli(capsys, *cmd, "--limit", "4")
    assert first.code == 0, first
    first_rows = _rows(out)
    scored = {r["metadata"]["item_id"] for r in first_rows + _rows(dropped)}
    assert scored == {f"p{i}#{k}" for i in range(4) for k in range(2)}, first.out
    sent = len(server.received)

    # The stage's own resume is what is under test: the record (which may refuse changed
    # parameters before the stage runs) is taken away, as when it was lost.
    record_path(out).unlink()
    second = run_cli(capsys, *cmd, "--limit", "2")
    assert second.code == 0, second
    assert len(server.received) == sent  # nothing is asked again
    kept = _rows(out)
    assert {r["metadata"]["item_id"] for r in kept + _rows(dropped)} == scored  # no scored row is lost
    assert {r["metadata"]["prompt_id"] for r in kept} == {"p0", "p1"}
    gone = [r for r in _rows(dropped) if _reasons(r) == ["not_in_input"]]
    assert sorted(r["metadata"]["item_id"] for r in gone) == ["p2#0", "p2#1", "p3#0", "p3#1"]
    for r in gone:
        assert r["metadata"]["drop_reasons"][0]["detail"] == {"item_id": r["metadata"]["item_id"]}
    assert "not_in_input=4" in second.out, second.out

    # Back to four prompts: the rows come back from the dropped file, balanced as the first time.
    record_path(out).unlink()
    third = run_cli(capsys, *cmd, "--limit", "4")
    assert third.code == 0 and "not_in_input" not in third.out, third
    assert len(server.received) == sent
    assert _rows(out) == first_rows


# --- bug 4: an empty answer is not cached ----------------------------------------------------------


@pytest.mark.parametrize("empty", ["", "  \n "])
def test_an_empty_answer_is_not_cached(server, tmp_path, empty):
    server.reply = lambda body, attempt: empty if attempt == 1 else "a real answer"
    cache = tmp_path / "c.sqlite"
    llm = get_llm("openai:m", base_url=server.base_url, api_key="none", max_attempts=1, cache=cache)
    req = ChatRequest.chat("say something", max_tokens=8)
    [first] = llm.generate([req])
    assert isinstance(first, ChatResponse) and first.text == empty
    assert len(ResponseCache(cache)) == 0
    [second] = llm.generate([req])
    assert isinstance(second, ChatResponse) and second.text == "a real answer" and not second.cached
    [third] = llm.generate([req])
    assert third.text == "a real answer" and third.cached  # a real answer is cached as before
    assert len(server.received) == 2


def test_an_empty_answer_cached_by_an_earlier_version_is_not_served(server, tmp_path):
    server.reply = lambda body, attempt: "fresh"
    cache = tmp_path / "c.sqlite"
    llm = get_llm("openai:m", base_url=server.base_url, api_key="none", cache=cache)
    req = ChatRequest.chat("say something", max_tokens=8)
    ResponseCache(cache).put(llm._key(req), ChatResponse("", "m", "stop", Usage(3, 0, 0.0)))
    [res] = llm.generate([req])
    assert isinstance(res, ChatResponse) and res.text == "fresh" and not res.cached
    assert len(server.received) == 1


def test_generate_retries_an_empty_answer_on_the_next_run(server, tmp_path, capsys):
    """The failure an empty answer causes is in the failures file, and the rerun asks again."""

    def reply(body: dict[str, Any], attempt: int) -> str:
        req = _request(body)
        if judge_kind(req) is None and last_user(req).startswith("Question number 1:") and attempt == 1:
            return ""
        return dpo_rule(req)

    server.reply = reply
    write_prompts(tmp_path / "p.jsonl", 3)
    out = tmp_path / "pairs.jsonl"
    cmd = ["generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--out", out, "--max-rounds", "1"]
    first = run_cli(capsys, *cmd, *_opts(server))
    assert first.code == 0 and "failed 1" in first.out, first.out
    assert [f["candidate_id"] for f in _rows(tmp_path / "pairs.failures.jsonl")] == ["p1#0"]
    second = run_cli(capsys, *cmd, *_opts(server))
    assert second.code == 0 and "failed 0" in second.out, second.out
    assert sorted(r["metadata"]["candidate_id"] for r in _rows(out)) == ["p0#0", "p1#0", "p2#0"]
    assert not (tmp_path / "pairs.failures.jsonl").exists()


# --- bug 5: figures after a resume count every row -------------------------------------------------


def _judge_reply(state: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Score = the number in ``answer <n>``; pairwise always says A (a position-biased judge: every
    row disagrees). While ``state["down"]`` holds, requests about rows 3.. fail with a 500."""

    def reply(body: dict[str, Any], attempt: int) -> str | int:
        req = _request(body)
        item = judged_item(req)
        row = int(re.search(r"topic (\d+)", item).group(1))  # type: ignore[union-attr]
        if state["down"] and row >= 3:
            return 500
        if judge_kind(req) == "pairwise":
            return "Winner: A\nRationale: first."
        score = re.search(r"answer (\d+)", item.split("RESPONSE:", 1)[1]).group(1)  # type: ignore[union-attr]
        return f"Score: {score}\nRationale: r."

    return reply


def _pairs(path: Path, n: int) -> None:
    with open(path, "w") as fh:
        for i in range(n):
            row = {
                "prompt": f"Explain topic {i}.",
                "chosen": f"answer {i % 5 + 5}",
                "rejected": f"answer {i % 4}",
            }
            fh.write(json.dumps(row) + "\n")


def _summary(out: Path) -> dict[str, Any]:
    rec = StageRecord.read(record_path(out))
    assert rec is not None
    return rec.summary


def test_judge_figures_after_a_resume_cover_every_row(server, tmp_path, capsys):
    state = {"down": False}
    server.reply = _judge_reply(state)
    _pairs(tmp_path / "pairs.jsonl", 8)
    whole, parts = tmp_path / "whole.jsonl", tmp_path / "parts.jsonl"
    base = ["judge", tmp_path / "pairs.jsonl", "--pairwise", *_opts(server)]
    one = run_cli(capsys, *base, "--out", whole)
    assert one.code == 0, one
    state["down"] = True
    cut = run_cli(capsys, *base, "--out", parts)
    assert cut.code == 0 and "written 3" in cut.out and "failed 5" in cut.out, cut.out
    state["down"] = False
    rest = run_cli(capsys, *base, "--out", parts)
    assert rest.code == 0 and "written 5" in rest.out and "resumed: 3" in rest.out, rest.out
    line = "scores 16, parse_failed 0; mean chosen_score 6.62, mean rejected_score 1.50; pairwise disagreements 8"
    assert line in one.out and line in rest.out, (one.out, rest.out)
    assert _rows(parts) == _rows(whole)
    for key in ("scored", "parse_failed", "disagreements", "mean"):
        assert _summary(parts)["figures"][key] == _summary(whole)["figures"][key], key


def _dpo_reply(state: dict[str, Any]):  # type: ignore[no-untyped-def]
    """dpo_rule, except: the good answer to questions 1 and 3 scores 5 (two failed gates), and while
    ``state["down"]`` holds every request about questions 2 and 3 fails with a 500."""

    def reply(body: dict[str, Any], attempt: int) -> str | int:
        req = _request(body)
        text = json.dumps(body["messages"])
        m = QUESTION.search(text)
        q = int(m.group(1)) if m else -1
        if state["down"] and q in (2, 3):
            return 500
        scoring_good = judge_kind(req) == "score" and "FLAWED" not in judged_item(req).split("RESPONSE:")[1]
        if scoring_good and q in (1, 3):
            return "Score: 5\nRationale: thin."
        return dpo_rule(req)

    return reply


def test_dpo_gate_failures_after_a_resume_cover_every_pair(server, tmp_path, capsys):
    state = {"down": False}
    server.reply = _dpo_reply(state)
    write_prompts(tmp_path / "p.jsonl", 4)
    base = ["generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--max-rounds", "1", *_opts(server)]
    whole, parts = tmp_path / "whole.jsonl", tmp_path / "parts.jsonl"
    one = run_cli(capsys, *base, "--out", whole)
    assert one.code == 0 and "written 2" in one.out, one.out
    state["down"] = True
    cut = run_cli(capsys, *base, "--out", parts)
    assert cut.code == 0 and "failed 2" in cut.out, cut.out
    state["down"] = False
    rest = run_cli(capsys, *base, "--out", parts)
    assert rest.code == 0 and "resumed: 2" in rest.out, rest.out
    gates = "gates failed (a pair may fail several): chosen_score_below_threshold=2, gap_below_threshold=2"
    assert gates in one.out and gates in rest.out, (one.out, rest.out)
    assert _summary(parts)["figures"]["gate_failures"] == _summary(whole)["figures"]["gate_failures"]
    assert _summary(parts)["figures"]["gate_failures"] == {
        "chosen_score_below_threshold": 2,
        "gap_below_threshold": 2,
    }


# --- bug 6b: every request failed -> exit 4 --------------------------------------------------------


def test_generate_dpo_exits_4_when_every_request_failed(server, tmp_path, capsys):
    server.reply = lambda body, attempt: 500
    write_prompts(tmp_path / "p.jsonl", 3)
    out = tmp_path / "pairs.jsonl"
    res = run_cli(capsys, "generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--out", out, *_opts(server))
    assert res.code == 4, (res.out, res.err)
    assert "written 0" in res.out and "failed 9" in res.out, res.out
    assert "every request failed" in res.err and str(tmp_path / "pairs.failures.jsonl") in res.err, res.err
    failures = [f["candidate_id"] for f in _rows(tmp_path / "pairs.failures.jsonl")]
    assert sorted(failures) == sorted(f"p{i}#{r}" for i in range(3) for r in range(3))


def test_judge_exits_4_when_every_request_failed_and_0_when_some_rows_were_judged(server, tmp_path, capsys):
    state = {"down": True}
    reply = _judge_reply(state)
    server.reply = lambda body, attempt: 500 if state["all"] else reply(body, attempt)
    _pairs(tmp_path / "pairs.jsonl", 5)
    out = tmp_path / "judged.jsonl"
    cmd = ["judge", tmp_path / "pairs.jsonl", "--out", out, *_opts(server)]
    state["all"] = True
    dead = run_cli(capsys, *cmd)
    assert dead.code == 4 and "written 0" in dead.out and "failed 5" in dead.out, dead
    assert "every request failed" in dead.err, dead.err
    state["all"] = False  # rows 0-2 answer, 3-4 still fail: a partial run is normal, exit 0
    some = run_cli(capsys, *cmd)
    assert some.code == 0 and "written 3" in some.out and "failed 2" in some.out, some
    state["down"] = False
    done = run_cli(capsys, *cmd)
    assert done.code == 0 and "written 2" in done.out and "failed 0" in done.out, done


# --- bug 8: generate rlvr says when it made fewer tasks than asked ---------------------------------


def test_rlvr_notes_a_shortfall_of_distinct_tasks(tmp_path, capsys):
    out = tmp_path / "math.jsonl"
    res = run_cli(capsys, "generate", "rlvr", "--domain", "math", "--n", "3000", "--out", out)
    assert res.code == 0, res
    written = len(_rows(out)) + len(_rows(tmp_path / "math.dropped.jsonl"))
    assert written < 3000
    m = re.search(r"asked 3000 tasks, the generators gave (\d+) distinct ones", res.out)
    assert m is not None and int(m.group(1)) == written, res.out
    short = StageRecord.read(record_path(out)).summary["figures"]["short_of"]  # type: ignore[union-attr]
    assert sum(v["asked"] for v in short.values()) - sum(v["made"] for v in short.values()) == 3000 - written
    assert all(v["made"] < v["asked"] for v in short.values())


def test_rlvr_says_nothing_when_every_task_was_made(tmp_path, capsys):
    out = tmp_path / "math.jsonl"
    res = run_cli(capsys, "generate", "rlvr", "--domain", "math", "--n", "70", "--out", out)
    assert res.code == 0 and "asked" not in res.out, res.out
    assert StageRecord.read(record_path(out)).summary["figures"]["short_of"] == {}  # type: ignore[union-attr]
