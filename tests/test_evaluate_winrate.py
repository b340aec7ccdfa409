"""Win rate end to end over real loopback servers: both models answer, the pairwise judge is asked in
both orders, alpaca_eval's 1 / 1.5 / 2 encoding, an order-dependent verdict is a tie, a failed verdict
is a failure (never a tie); the standard error and the length-controlled win rate; the stage contract."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _generate_helpers import judge_kind, judged_item
from _llm_helpers import FakeServer
from _stage_contract import assert_recorded, assert_summary

from alignforge.evaluate import win_rate
from alignforge.evaluate.winrate import WinRateStage, lc_win_rate, winrate_stats
from alignforge.llm import ChatRequest
from alignforge.stages import get_stage, run_stage
from tests._cli import run_cli

PROMPTS = ["win", "loss", "tie", "order", "broken"]


def _reply(body: dict, attempt: int) -> str:
    req = ChatRequest.chat(body["messages"])
    if body["model"] == "tuned":
        return f"TUNED answer, a little longer: {body['messages'][-1]['content']}"
    if body["model"] == "base":
        return f"BASE: {body['messages'][-1]['content']}"
    assert body["model"] == "judge" and judge_kind(req) == "pairwise"
    item = judged_item(req)
    prompt = item.split("\n", 1)[0].removeprefix("REQUEST: ")
    a_is_tuned = item.split("ANSWER A:", 1)[1].strip().startswith("TUNED")
    if prompt == "win":
        return "Winner: " + ("A" if a_is_tuned else "B") + "\nRationale: the tuned answer is better."
    if prompt == "loss":
        return "Winner: " + ("B" if a_is_tuned else "A") + "\nRationale: the baseline is better."
    if prompt == "tie":
        return "Winner: tie\nRationale: equally good."
    if prompt == "order":
        return "Winner: A\nRationale: the first one."  # position bias: flips with the order
    return "I really cannot say."  # never parses, not even after the re-ask


@pytest.fixture
def server(monkeypatch):
    srv = FakeServer(reply=_reply).start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    yield srv
    srv.stop()


def _prompts(tmp_path):
    path = tmp_path / "heldout.jsonl"
    path.write_text("".join(json.dumps({"id": p, "prompt": p}) + "\n" for p in PROMPTS))
    return path


def test_winrate_stage_both_orders_encoding_and_reuse(tmp_path, server):
    out = tmp_path / "wr"
    stage = get_stage("evaluate.winrate")(
        "openai:tuned", "openai:base", _prompts(tmp_path), "openai:judge", out
    )
    summary = assert_summary(run_stage(stage), "evaluate.winrate", out / "winrate.json")
    assert_recorded(out / "winrate.json", "evaluate.winrate")
    report = json.loads((out / "winrate.json").read_text())
    # win 2, loss 1, tie 1.5, order-dependent 1.5; "broken" is a failure, left out of n
    assert (report["wins"], report["losses"], report["ties"], report["n"]) == (1, 1, 2, 4)
    assert report["order_disagreements"] == 1 and report["failed"] == 1
    assert report["win_rate"] == pytest.approx(0.5)
    # values 1, 0, .5, .5: sample variance 1/6, se = sqrt(1/6 / 4)
    assert report["se"] == pytest.approx(math.sqrt(1 / 6 / 4))
    assert set(report) >= {
        "win_rate",
        "se",
        "wins",
        "losses",
        "ties",
        "n",
        "lc_win_rate",
        "order_disagreements",
    }
    rows = {r["id"]: r for r in map(json.loads, (out / "judgments.jsonl").read_text().splitlines())}
    assert {k: (r["winner"], r["preference"]) for k, r in rows.items()} == {
        "win": ("tuned", 2.0),
        "loss": ("baseline", 1.0),
        "tie": ("tie", 1.5),
        "order": ("tie", 1.5),
    }
    assert rows["order"]["agreement"] is False and (rows["order"]["first"], rows["order"]["second"]) == (
        "a",
        "b",
    )
    failures = [json.loads(x) for x in (out / "judgments.failures.jsonl").read_text().splitlines()]
    assert [f["id"] for f in failures] == ["broken"] and "parse_failed" in failures[0]["error"]
    # every pair was put to the judge in both orders
    judged = [b for b in server.bodies if b["model"] == "judge"]
    for p in ("win", "loss", "tie", "order"):
        firsts = {
            m["content"].split("ANSWER A:", 1)[1].strip()[:5]
            for b in judged
            for m in b["messages"]
            if m["role"] == "user" and m["content"].startswith(f"REQUEST: {p}\n")
        }
        assert firsts == {"TUNED", "BASE:"}, p
    # `bench winrate judgments.jsonl` reads the stage's judgments the same way
    assert win_rate(out / "judgments.jsonl")["win_rate"] == pytest.approx(report["win_rate"])
    assert summary.written == 4 and summary.failed == 1
    # reuse: the same inputs and parameters run nothing
    sent = len(server.bodies)
    again = run_stage(WinRateStage("openai:tuned", "openai:base", _prompts(tmp_path), "openai:judge", out))
    assert again.reused and len(server.bodies) == sent
    # a run that died before its record was written repeats no request (the cache)
    (out / "winrate.json.stage.json").unlink()
    redo = run_stage(WinRateStage("openai:tuned", "openai:base", _prompts(tmp_path), "openai:judge", out))
    assert not redo.reused and len(server.bodies) == sent and redo.win_rate == report["win_rate"]
    # a changed parameter is a new run
    fewer = run_stage(
        WinRateStage("openai:tuned", "openai:base", _prompts(tmp_path), "openai:judge", out, limit=1)
    )
    assert not fewer.reused and fewer.n == 1 and fewer.win_rate == 1.0


def test_winrate_cli_end_to_end_and_bad_prompts(tmp_path, server, capsys):
    out = tmp_path / "cli"
    args = [
        "bench",
        "winrate",
        "--model",
        "openai:tuned",
        "--baseline",
        "openai:base",
        "--judge",
        "openai:judge",
    ]
    r = run_cli(capsys, *args, "--prompts", _prompts(tmp_path), "--out", out)
    assert r.code == 0, r.err
    assert "win rate 0.500" in r.out and "1 order disagreements (ties)" in r.out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n')
    r = run_cli(capsys, *args, "--prompts", bad, "--out", tmp_path / "bad")
    assert r.code == 2 and f"{bad}:2: field 'prompt'" in r.err
    r = run_cli(capsys, "bench", "winrate", "--model", "openai:tuned")
    assert r.code == 2 and "missing --baseline, --prompts, --judge, --out" in r.err


def test_winrate_stats_encoding():
    s = winrate_stats([2.0, 2.0, 2.0, 1.0])
    assert s["win_rate"] == 0.75 and (s["wins"], s["losses"], s["ties"]) == (3, 1, 0)
    # values 1,1,1,0: mean .75, sample variance .25, se = sqrt(.25 / 4)
    assert s["se"] == pytest.approx(0.25)
    assert winrate_stats([1.5])["se"] is None


def _synthetic(length_effect: float, bias: float, seed: int, n: int = 4000):
    """Preferences drawn from P(tuned wins) = sigmoid(bias + length_effect * tanh(diff / sd)), with the
    tuned answers mostly longer (mean difference > 0)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(200, 800, n)
    diff = rng.normal(150.0, 200.0, n).round().astype(int)
    tuned = np.maximum(base + diff, 1)
    d = tuned - base
    x = np.tanh(d / d.std())
    p = 1 / (1 + np.exp(-(bias + length_effect * x)))
    prefs = np.where(rng.random(n) < p, 2.0, 1.0)
    return prefs.tolist(), tuned.tolist(), base.tolist()


def test_lc_win_rate_removes_a_length_effect():
    prefs, lt, lb = _synthetic(length_effect=4.0, bias=0.0, seed=1)
    raw = winrate_stats(prefs)["win_rate"]
    assert raw > 0.70  # longer answers win, and the tuned ones are longer
    assert lc_win_rate(prefs, lt, lb) == pytest.approx(0.5, abs=0.04)


def test_lc_win_rate_keeps_a_real_preference():
    prefs, lt, lb = _synthetic(length_effect=0.0, bias=1.0, seed=2)
    raw = winrate_stats(prefs)["win_rate"]
    lc = lc_win_rate(prefs, lt, lb)
    assert raw == pytest.approx(1 / (1 + math.exp(-1)), abs=0.03)
    assert lc == pytest.approx(raw, abs=0.03)
    # equal lengths everywhere: the fit has nothing to remove
    assert lc_win_rate([2.0, 1.0, 2.0, 1.5], [5] * 4, [5] * 4) == pytest.approx(0.625, abs=1e-6)
