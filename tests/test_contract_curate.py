"""The stage contract for ``dedup`` and ``decontaminate``: side-file names, the ``drop_reasons`` shape,
the summary, the stage record and reuse, and a SIGKILLed run rerun.

Both stages carry state from row to row, so the resume they offer is "a run not finished is redone
from the start, its outputs written to temporary files and renamed into place": a killed run leaves
no partial output, and the rerun writes every row exactly once (tested on a real subprocess).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _stage_contract import (
    assert_recorded,
    assert_side_files,
    assert_summary,
    kill_when,
    rows_of,
    run_cli,
    subprocess_env,
)

from alignforge.curate import DecontaminateStage, DedupStage, decontaminate_file, dedup_file
from alignforge.stages import StageRecord, get_stage, record_path, side_paths

_BASE = (
    "Explain how a hash map handles collisions when two keys land in the same bucket, and compare "
    "separate chaining with open addressing for a read-heavy workload"
)
BENCH = [
    {
        "id": f"q{i}",
        "question": f"A farmer named {who} owns {i + 7} goats and sells three of them at the market every "
        f"single week; how many goats remain after {i + 2} weeks of selling?",
        "answer": f"The answer is {i}.",
    }
    for i, who in enumerate(["Ana", "Bo", "Cy", "Di", "Ed"])
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pairs() -> list[dict[str, Any]]:
    return [
        {"id": "a", "prompt": _BASE + ".", "chosen": "Chaining ...", "rejected": "Magic."},
        {"id": "b", "prompt": "Write a haiku about autumn rain.", "chosen": "Leaves", "rejected": "Rain."},
        {"id": "c", "prompt": "  " + _BASE.upper() + "!!", "chosen": "Other", "rejected": "Other"},
        {"id": "d", "prompt": _BASE.replace("read-heavy", "write-heavy") + " today.", "chosen": "x", "rejected": "y"},
        {"id": "e", "prompt": "Summarise the French Revolution in three bullet points.", "chosen": "1.", "rejected": "2."},
    ]  # fmt: skip


def test_dedup_stage_contract(tmp_path: Path) -> None:
    assert get_stage("dedup") is DedupStage
    data, out = _write(tmp_path / "pairs.jsonl", _pairs()), tmp_path / "unique.jsonl"
    summary = assert_summary(dedup_file(data, out=out, near=0.7), "dedup", out)
    assert (summary.written, summary.dropped, summary.failed) == (3, 2, 0)
    assert summary.drop_reasons == {"exact_duplicate": 1, "near_duplicate": 1}
    assert summary.outputs == {"out": str(out), "dropped": str(tmp_path / "unique.dropped.jsonl")}
    assert (summary.kind, summary.rows, summary.kept) == ("dpo", 5, 3) and not summary.reused
    dropped = assert_side_files(out, dropped_reasons={"exact_duplicate", "near_duplicate"})
    details = [(r["id"], r["metadata"]["drop_reasons"][0]["detail"]) for r in dropped]
    assert details[0] == ("c", {"line": 3, "duplicate_of": "a", "kept_line": 1})
    assert details[1][0] == "d" and details[1][1]["kept_line"] == 1 and 0.7 <= details[1][1]["similarity"] < 1
    rec = assert_recorded(out, "dedup")
    assert rec.params["near"] == 0.7 and rec.outputs["dropped"]["path"] == str(side_paths(out).dropped)
    # the same inputs and parameters: recognised, nothing runs; another threshold runs again
    again = dedup_file(data, out=out, near=0.7)
    assert (
        again.reused and again.drop_reasons == summary.drop_reasons and again.fingerprint == rec.fingerprint
    )
    assert not dedup_file(data, out=out, near=0.95).reused
    assert [r["id"] for r in rows_of(out)] == ["a", "b", "d", "e"]
    # an explicit --dropped path is an output (and a parameter): a rerun naming it writes it
    other = tmp_path / "dupes.jsonl"
    named = dedup_file(data, out=out, near=0.95, dropped=other)
    assert not named.reused and named.outputs["dropped"] == str(other) and len(rows_of(other)) == 1


def test_dedup_bad_input_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "chosen": "y", "rejected": "z"}\n[1, 2]\n')
    res = run_cli(["dedup", str(bad), "--out", str(tmp_path / "u.jsonl")])
    assert res.returncode == 2 and "bad.jsonl:2" in res.stderr and "JSON object" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def _bench(tmp_path: Path) -> Path:
    return _write(tmp_path / "bench.jsonl", BENCH)


def _rows(count: int, every: int) -> list[dict[str, Any]]:
    """``count`` clean SFT rows, with a benchmark question copied in at every ``every``-th."""
    return [
        {"prompt": BENCH[i % 5]["question"], "completion": "ok"}
        if i % every == 5
        else {"prompt": f"Tell me a short story about robot number {i} and its friend {i % 97}.", "completion": "Once."}
        for i in range(count)
    ]  # fmt: skip


def test_decontaminate_stage_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    assert get_stage("decontaminate") is DecontaminateStage
    bench = _bench(tmp_path)
    data = _write(tmp_path / "rows.jsonl", _rows(40, 20))
    out, report = tmp_path / "clean.jsonl", tmp_path / "report.json"
    summary = decontaminate_file(data, against=str(bench), out=out, report=report)
    assert_summary(summary, "decontaminate", out)
    assert (summary.written, summary.dropped, summary.drop_reasons) == (38, 2, {"contamination": 2})
    assert summary.outputs == {
        "out": str(out),
        "dropped": str(side_paths(out).dropped),
        "report": str(report),
    }
    assert summary.contaminated_rows == 2 and summary.rows == 40 and summary.passed is False  # 40 % of BENCH
    dropped = assert_side_files(out, dropped_reasons={"contamination"})
    assert len(dropped) == 2
    detail = dropped[0]["metadata"]["drop_reasons"][0]["detail"]
    assert (detail["benchmark"], detail["item_id"], detail["method"]) == ("bench", "q0", "ngram")
    assert "a farmer named ana owns 7 goats" in detail["span"]
    assert "contamination" not in dropped[0]["metadata"] and "contaminated" not in dropped[0]["metadata"]
    # the report keeps its format: `removed` entries with `contamination`, as review and check read it
    rep = json.loads(report.read_text())
    assert [e["line"] for e in rep["removed"]] == [6, 26]
    assert rep["removed"][0]["contamination"][0]["item_id"] == "q0"
    rec = assert_recorded(out, "decontaminate")
    assert {k: v["path"] for k, v in rec.inputs.items()} == {
        "data": str(data),
        "benchmark:" + str(bench): str(bench),
    }
    again = decontaminate_file(data, against=str(bench), out=out, report=report)
    assert again.reused and again.passed is False and again.fingerprint == rec.fingerprint
    # a changed benchmark file changes the fingerprint: the stage runs again
    _write(bench, BENCH[1:])
    changed = decontaminate_file(data, against=str(bench), out=out, report=report)
    assert not changed.reused and changed.fingerprint != rec.fingerprint and changed.dropped == 0  # q0 gone


def test_decontaminate_without_an_output_records_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    data = _write(tmp_path / "rows.jsonl", _rows(10, 20))
    summary = decontaminate_file(data, against=str(_bench(tmp_path)))
    assert summary.dropped == 1 and summary.written == 0 and summary.outputs == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.jsonl", "cache", "rows.jsonl"]


def _killed_then_rerun(tmp_path: Path, cmd: list[str], out: Path, env: dict[str, str]) -> Any:
    """SIGKILL ``cmd`` while it writes ``out``'s temporary file; the rerun's result."""
    temps = lambda: list(out.parent.glob(f".{out.name}.tmp*"))  # noqa: E731
    kill_when(cmd, lambda: any(p.stat().st_size > 65536 for p in temps() if p.exists()), env=env)
    assert not out.exists(), "a killed run left a partial output"
    assert [StageRecord.read(record_path(out)).status] == ["running"]  # type: ignore[union-attr]
    (stale,) = temps()
    rerun = run_cli(cmd, env=env)
    assert not stale.exists() and temps() == [], "the killed run's temporary file was left behind"
    return rerun


def test_dedup_killed_run_is_redone_whole(tmp_path: Path) -> None:
    rows = [
        {"id": f"r{i}", "prompt": f"Question number {i % 60000} about topic {i % 60000}?"}
        for i in range(100000)
    ]
    data = _write(tmp_path / "rows.jsonl", rows)
    ref = dedup_file(data, out=tmp_path / "ref" / "u.jsonl", kind="grpo")
    assert (ref.written, ref.dropped) == (60000, 40000)
    out, env = tmp_path / "run" / "u.jsonl", subprocess_env()
    cmd = ["dedup", str(data), "--out", str(out), "--kind", "grpo"]
    rerun = _killed_then_rerun(tmp_path, cmd, out, env)
    assert rerun.returncode == 0, rerun.stderr
    kept = [r["id"] for r in rows_of(out)]
    assert len(kept) == len(set(kept)) == 60000 and kept == [
        f"r{i}" for i in range(60000)
    ]  # no duplicate, no gap
    assert out.read_bytes() == (tmp_path / "ref" / "u.jsonl").read_bytes()
    assert side_paths(out).dropped.read_bytes() == (tmp_path / "ref" / "u.dropped.jsonl").read_bytes()
    rec = assert_recorded(out, "dedup")
    # redone from the start: every row written by the rerun, none carried over from the killed run
    assert (rec.summary["written"], rec.summary["dropped"], rec.summary["resumed"]) == (60000, 40000, 0)
    third = run_cli(cmd, env=env)
    assert third.returncode == 0 and "reused: a finished run" in third.stdout


def test_decontaminate_killed_run_is_redone_whole(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    data = _write(tmp_path / "rows.jsonl", _rows(100000, 1000))
    env = subprocess_env(ALIGNFORGE_CACHE_DIR=str(tmp_path / "cache"))
    out, report = tmp_path / "run" / "clean.jsonl", tmp_path / "run" / "report.json"
    cmd = ["decontaminate", str(data), "--against", str(bench), "--out", str(out), "--report", str(report)]
    rerun = _killed_then_rerun(tmp_path, cmd, out, env)
    assert rerun.returncode == 1, rerun.stderr  # one of five benchmark items overlapped: the share gate fails
    clean, dropped = rows_of(out), rows_of(side_paths(out).dropped)
    assert (len(clean), len(dropped)) == (99900, 100)
    assert {r["prompt"] for r in dropped} == {BENCH[0]["question"]}  # row 5, 1005, ...: 5 % 5 = 0
    stories = [r["prompt"] for r in clean]
    assert len(set(stories)) == len(stories) == 99900  # no duplicate, no gap
    rep = json.loads(report.read_text())
    assert rep["rows"] == 100000 and rep["output"]["rows"] == 99900 and len(rep["removed"]) == 100
    rec = assert_recorded(out, "decontaminate")
    assert (rec.summary["written"], rec.summary["dropped"], rec.summary["resumed"]) == (99900, 100, 0)
    third = run_cli(cmd, env=env)
    assert third.returncode == 1 and "reused: a finished run" in third.stdout and "FAIL" in third.stdout


class _YesJudge:
    """An object speaking the alignforge.llm.base.LLM protocol: says YES, at a price per answer."""

    name = "test-judge"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, requests: Any, *, on_result: Any = None) -> list[Any]:
        from alignforge.llm.base import ChatResponse, Usage

        self.calls += len(requests)
        return [ChatResponse("YES", "t", usage=Usage(120, 1, 0.002)) for _ in requests]


@pytest.mark.slow
def test_decontaminate_judge_requests_and_cost_are_in_the_summary(tmp_path: Path, monkeypatch) -> None:
    """The real bundled embedding model flags a paraphrase; the judge's answered requests and their cost
    reach the summary (and its lines)."""
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    question = "A farmer has 17 sheep and buys 5 more each week. How many sheep does he have after 4 weeks?"
    bench = _write(tmp_path / "b.jsonl", [{"id": "b/1", "question": question, "answer": "37"}])
    loose = (
        "A shepherd starts with 17 sheep and gains 5 per week; how many after 4 weeks?"  # cosine 0.83: judged
    )
    data = _write(tmp_path / "rows.jsonl", [{"prompt": loose, "completion": "37"}, {"prompt": "Bake bread."}])
    judge = _YesJudge()
    s = decontaminate_file(
        data,
        against=str(bench),
        out=tmp_path / "c.jsonl",
        embeddings=True,
        embedding_threshold=0.5,
        judge_model=judge,
    )
    assert judge.calls == 1 and s.dropped == 1 and s.methods["embedding"]["judge_confirmed"] == 1
    assert (s.requests, s.cost_usd, list(s.models)) == (1, pytest.approx(0.002), ["test-judge"])
    assert any("requests 1 (0 from cache), cost $0.0020" in line for line in s.lines())
    (row,) = rows_of(side_paths(tmp_path / "c.jsonl").dropped)
    assert row["metadata"]["drop_reasons"][0]["detail"]["method"] == "embedding+judge"
