"""``alignforge generate dpo`` and ``alignforge judge`` killed with SIGKILL mid-run, then run again.

Both run as real subprocesses (``python -m alignforge ...``) with the openai backend against the
fault server on 127.0.0.1 (slow replies, so requests are in flight at the kill). After the rerun:
every candidate / row id is in the output exactly once, and the server's request log shows that no
request whose answer was in the SQLite cache at the kill was sent again: only the ones in flight.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _generate_helpers import dpo_rule, http_rule, judge_kind, judged_item
from _llm_helpers import FakeServer

from alignforge.llm.base import ChatRequest

CONCURRENCY = 4


def _rule(req: ChatRequest) -> str:
    """dpo_rule, except that the good answer to a "(hard)" question scores 7: that pair is dropped."""
    if judge_kind(req) == "score":
        body = judged_item(req).split("RESPONSE:", 1)[1]
        if "(hard)" in body and "FLAWED" not in body:
            return "Score: 7\nRationale: thin."
    return dpo_rule(req)


def _lines(*paths: Path) -> list[dict]:
    return [
        json.loads(line)
        for p in paths
        if p.exists()
        for line in p.read_text().splitlines()
        if line.endswith("}")  # a partial last line left by the kill is not a row
    ]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    repo_src = str(Path(__file__).resolve().parents[1] / "src")
    return {**env, "PYTHONPATH": repo_src, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _kill_then_rerun(
    srv: FakeServer, cmd: list[str], outs: list[Path], cache: Path, *, min_rows: int
) -> tuple[list[dict], subprocess.CompletedProcess[str]]:
    """Start ``cmd``, SIGKILL it once ``min_rows`` rows are written and requests are in flight, rerun it.

    Asserts the request accounting: returns the rows that were there at the kill and the rerun.
    """
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while len(_lines(*outs)) < min_rows:
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, "no rows after 180 s"
        time.sleep(0.02)
    seen = len(srv.received)
    while len(srv.received) < seen + 2:  # the next batch is on the wire
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    t_kill = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.3)  # let the server finish (and log) what was in flight
    before = _lines(*outs)
    first = list(srv.received)
    with sqlite3.connect(cache) as db:
        cached_at_kill = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    rerun = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    keys1 = [k for k, _ in first]
    keys2 = [k for k, _ in srv.received[len(first) :]]
    assert len(keys1) == len(set(keys1)) and len(keys2) == len(set(keys2))  # no faults: no retries
    resent = set(keys1) & set(keys2)
    # Exactly the requests whose answers were not in the cache at the kill were sent again ...
    assert len(resent) == len(keys1) - cached_at_kill, (len(resent), len(keys1), cached_at_kill)
    assert len(keys2) == len(set(keys1) | set(keys2)) - cached_at_kill
    # ... and those were in flight: on the wire (at most CONCURRENCY), or answered but not yet stored
    # (each had freed its slot for the next request), all sent within one reply time of the kill.
    assert len(resent) <= 2 * CONCURRENCY
    assert all(t > t_kill - srv.latency_s - 1.0 for k, t in first if k in resent)
    return before, rerun


@pytest.mark.slow
def test_generate_dpo_sigkill_then_rerun(tmp_path: Path) -> None:
    srv = FakeServer(latency_s=0.2, reply=http_rule(_rule)).start()
    try:
        n = 16
        prompts = tmp_path / "p.jsonl"
        prompts.write_text(
            "".join(
                json.dumps({"id": f"p{i}", "prompt": f"Question {i}{' (hard)' if i % 4 == 1 else ''}: why?"})
                + "\n"
                for i in range(n)
            )
        )
        out, dropped = tmp_path / "pairs.jsonl", tmp_path / "pairs.dropped.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "alignforge",
            "generate",
            "dpo",
            "--prompts",
            str(prompts),
            "--out",
            str(out),
            "--model",
            "openai:m",
            "--option",
            f"base_url={srv.base_url}",
            "--option",
            f"concurrency={CONCURRENCY}",
            "--batch-size",
            "4",
            "--max-rounds",
            "1",
            "--no-progress",
        ]
        before, rerun = _kill_then_rerun(
            srv, cmd, [out, dropped], tmp_path / "pairs.cache.sqlite", min_rows=4
        )
        assert 4 <= len(before) < n
        rows, drops = _lines(out), _lines(dropped)
        ids = [r["metadata"]["candidate_id"] for r in rows + drops]
        assert len(ids) == len(set(ids)) == n  # no duplicate, no gap
        assert set(ids) == {f"p{i}#0" for i in range(n)}
        assert {r["metadata"]["prompt_id"] for r in drops} == {f"p{i}" for i in range(n) if i % 4 == 1}
        assert all(r["metadata"]["gates_passed"] for r in rows)
        assert f"resumed: {len(before)} rows were already done and were skipped" in rerun.stdout
        assert "model openai:m: " in rerun.stdout  # per-model usage in the summary
    finally:
        srv.stop()


@pytest.mark.slow
def test_judge_sigkill_then_rerun(tmp_path: Path) -> None:
    srv = FakeServer(latency_s=0.2, reply=http_rule(dpo_rule)).start()
    try:
        n = 20
        pairs = tmp_path / "pairs.jsonl"
        pairs.write_text(
            "".join(
                json.dumps({"prompt": f"Question {i}?", "chosen": f"Good {i}.", "rejected": f"FLAWED {i}."})
                + "\n"
                for i in range(n)
            )
        )
        out = tmp_path / "judged.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "alignforge",
            "judge",
            str(pairs),
            "--out",
            str(out),
            "--model",
            "openai:j",
            "--option",
            f"base_url={srv.base_url}",
            "--option",
            f"concurrency={CONCURRENCY}",
            "--batch-size",
            "4",
            "--pairwise",
            "--no-progress",
        ]
        before, rerun = _kill_then_rerun(srv, cmd, [out], tmp_path / "judged.cache.sqlite", min_rows=4)
        assert 4 <= len(before) < n
        rows = _lines(out)
        lines = [r["metadata"]["source_line"] for r in rows]
        assert sorted(lines) == list(range(1, n + 1))  # no duplicate, no gap
        assert all(
            (r["metadata"]["chosen_score"], r["metadata"]["rejected_score"]) == (9.0, 3.0)
            and r["metadata"]["pairwise"]["winner"] == "chosen"
            for r in rows
        )
        assert f"resumed: {len(before)} rows were already done and were skipped" in rerun.stdout
    finally:
        srv.stop()
