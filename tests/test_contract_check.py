"""The stage contract for check and split: side-file names, the drop-reason shape, the summary, the
stage record and reuse, one read of the input, and a SIGKILL-then-rerun that writes the same files.

check and split are whole-file stages: a check's figures (and its duplicates and conflicts) need
the whole file, so a killed run resumes at no row. What the contract asks of them is that a killed
run leaves no partial output and the rerun writes exactly what an uninterrupted run writes.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import traceback
from pathlib import Path

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

from alignforge.io import write_jsonl
from alignforge.quality import check_file, split_file
from alignforge.quality._synthetic import synthetic_dpo_rows
from alignforge.quality.check_stage import CheckStage
from alignforge.quality.split import SplitStage
from alignforge.stages import StageRecord, get_stage, record_path, run_stage, side_paths
from tests._cli import run_cli as run_cli_here

# Only per-row gates: rows are routed as they are read, so the kept file grows through the whole pass.
ROW_GATES_ONLY = """\
preference_data:
  row_gates:
    chosen_score: {min: 9.0, unit: "0-10 judge score"}
    score_gap: {min: 3.0, unit: "0-10 points"}
  total_pairs: {min: 1000, unit: pairs}
"""


def pair(prompt: str, chosen: str, rejected: str, cs: float = 9.5, rs: float = 3.0) -> dict:
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "metadata": {"chosen_score": cs, "rejected_score": rs},
    }


ROWS = [
    pair("p1", "good", "bad"),  # 1 kept
    pair("p2", "fine", "poor", 7.0),  # 2 chosen_score
    pair("p1", "good", "bad"),  # 3 repeats line 1: unique
    pair("p3", "A", "B"),  # 4 conflicts with line 5 (decided only at line 5)
    pair("p3", "B", "A"),  # 5
    pair("p4", "same words", " same  words "),  # 6 not_identical
    pair("p5", "ok", "meh", 9.0, 7.5),  # 7 rejected_score and score_gap
    pair("p6", "yes", "no"),  # 8 kept
]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """60,000 synthetic pairs (about 29 MB): large enough that a run is killed in the middle."""
    path = tmp_path_factory.mktemp("big") / "pairs.jsonl"
    write_jsonl(path, synthetic_dpo_rows(60_000, seed=5))
    return path


def test_check_stage_contract(tmp_path):
    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, ROWS)
    out = tmp_path / "kept.jsonl"
    stage = CheckStage(data, keep_passing=out, failing_rows=tmp_path / "failing")
    assert get_stage("check") is CheckStage
    s = assert_summary(run_stage(stage), "check", out)
    assert (s.written, s.dropped, s.failed) == (2, 6, 0)
    # each dropped row once, by the first gate it fails
    assert s.drop_reasons == {
        "chosen_score": 1,
        "rejected_score": 1,
        "unique": 1,
        "no_conflict": 2,
        "not_identical": 1,
    }
    assert s.passed is False and "total_pairs" in s.failed_gates and s.kind == "dpo"
    assert s.outputs["dropped"] == str(side_paths(out).dropped)
    dropped = assert_side_files(
        out,
        dropped_reasons={
            "chosen_score",
            "rejected_score",
            "score_gap",
            "unique",
            "no_conflict",
            "not_identical",
        },
    )
    assert [r["prompt"] for r in rows_of(out)] == ["p1", "p6"]
    assert rows_of(out) == [ROWS[0], ROWS[7]]  # kept rows as they were, no drop reasons added
    by_prompt = {(r["prompt"], r["chosen"]): r["metadata"]["drop_reasons"] for r in dropped}
    assert by_prompt[("p2", "fine")] == [
        {"reason": "chosen_score", "detail": "chosen_score 7.0, gate >= 9.0"}
    ]
    assert [r["reason"] for r in by_prompt[("p5", "ok")]] == ["rejected_score", "score_gap"]
    assert by_prompt[("p5", "ok")][1]["detail"] == "score_gap 1.5, gate >= 3.0"
    assert [r["reason"] for r in by_prompt[("p3", "A")]] == ["no_conflict"]  # the earlier row of the conflict
    assert by_prompt[("p1", "good")][0]["reason"] == "unique"  # the repeat, not the first occurrence
    # --failing-rows keeps its shape: {"line", "gate", "row"} per gate
    failing = [json.loads(x) for x in (tmp_path / "failing" / "no_conflict.jsonl").read_text().splitlines()]
    assert [(f["line"], f["gate"]) for f in failing] == [(4, "no_conflict"), (5, "no_conflict")]
    assert failing[0]["row"] == ROWS[3]
    # the record, then reuse: same inputs and parameters, outputs intact
    rec = assert_recorded(out, "check")
    assert rec.inputs["data"]["path"] == str(data) and set(rec.outputs) >= {"out", "dropped", "failing_rows"}
    again = run_stage(stage)
    assert again.reused and again.written == 2 and again.drop_reasons == s.drop_reasons
    # another gates file is another run
    gates = tmp_path / "gates.yaml"
    gates.write_text(ROW_GATES_ONLY)
    stage.gates = gates
    third = run_stage(stage)
    assert not third.reused and (third.written, third.dropped) == (6, 2)
    assert third.drop_reasons == {"chosen_score": 1, "score_gap": 1}


def test_check_without_a_row_filter_records_beside_its_json(tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, ROWS)
    res = run_cli_here(capsys, "check", data, "--json", tmp_path / "m.json", "--quiet")
    assert res.code == 1 and res.out.startswith("FAIL")
    rec = assert_recorded(tmp_path / "m.json", "check")
    assert rec.summary["figures"]["result"]["figures"]["total_pairs"] == 8
    assert not list(tmp_path.glob("*.dropped.jsonl"))


class _Counting(io.FileIO):
    """A real file whose reads are counted (bytes taken from the OS); ``entry`` is [who opened it, bytes]."""

    entry: list

    def readinto(self, b):  # type: ignore[override]
        n = super().readinto(b)
        self.entry[1] += n or 0
        return n

    def readall(self):
        data = super().readall()
        self.entry[1] += len(data)
        return data


def _count_reads(monkeypatch, target: Path) -> list[list]:
    log: list[list] = []
    real_open = builtins.open

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == target and "r" in mode and "b" in mode:
            stack = "".join(f.filename for f in traceback.extract_stack())
            raw = _Counting(os.fspath(file), "r")
            raw.entry = ["fingerprint" if "stages/record.py" in stack else "check", 0]
            log.append(raw.entry)
            return io.BufferedReader(raw)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    return log


def test_check_reads_the_input_once(big, tmp_path, capsys, monkeypatch):
    """keep-passing, failing-rows, skip mode and the duplicate / conflict gates: one full read.

    Before, the CLI measured the file, measured it again to find duplicates and conflicts, then
    read it a third time to write the passing rows."""
    size = big.stat().st_size
    log = _count_reads(monkeypatch, big)
    r = check_file(
        big,
        keep_passing=tmp_path / "a" / "kept.jsonl",
        failing_rows=tmp_path / "a" / "failing",
        on_error="skip",
    )
    assert r.kept and r.dropped and r.kept + r.dropped == 60_000
    full = [n for _, n in log if n >= size]
    heads = sum(n for _, n in log if n < size)  # kind detection and the shape: the first lines only
    assert full == [size] and heads < 64 * 1024, log
    # the CLI: the same pass, which also hashes the bytes for the stage record's fingerprint
    log.clear()
    res = run_cli_here(
        capsys,
        "check",
        big,
        "--keep-passing",
        tmp_path / "b" / "kept.jsonl",
        "--failing-rows",
        tmp_path / "b" / "failing",
        "--on-error",
        "skip",
        "--quiet",
    )
    assert res.code == 1, res.err
    assert [tag for tag, n in log if n >= size] == ["check"], log
    assert StageRecord.read(record_path(tmp_path / "b" / "kept.jsonl")).inputs["data"]["sha256"] == (  # type: ignore[union-attr]
        hashlib.sha256(big.read_bytes()).hexdigest()
    )
    assert (tmp_path / "a" / "kept.jsonl").read_bytes() == (tmp_path / "b" / "kept.jsonl").read_bytes()


def test_a_killed_keep_passing_run_reruns_to_the_same_files(big, tmp_path):
    gates = tmp_path / "gates.yaml"
    gates.write_text(ROW_GATES_ONLY)
    ref = check_file(big, gates=gates, keep_passing=tmp_path / "ref" / "kept.jsonl")
    out = tmp_path / "run" / "kept.jsonl"
    partial = out.with_name(".kept.jsonl.partial")
    cmd = ["check", str(big), "--gates", str(gates), "--keep-passing", str(out), "--quiet"]
    kill_when(cmd, lambda: partial.exists() and partial.stat().st_size > 1 << 20)
    assert not out.exists() and not side_paths(out).dropped.exists()  # nothing half-written in place
    rec = StageRecord.read(record_path(out))
    assert rec is not None and rec.status == "running"
    res = run_cli(cmd, env=subprocess_env())
    assert res.returncode == (0 if ref.passed else 1), res.stderr
    assert out.read_bytes() == (tmp_path / "ref" / "kept.jsonl").read_bytes()
    assert side_paths(out).dropped.read_bytes() == (tmp_path / "ref" / "kept.dropped.jsonl").read_bytes()
    assert not partial.exists()
    assert len(rows_of(out)) + len(rows_of(side_paths(out).dropped)) == 60_000  # no duplicate, no gap
    assert_side_files(out, dropped_reasons={"chosen_score", "score_gap"})
    assert_recorded(out, "check")


def test_the_spill_keeps_input_order_and_all_rows(big, tmp_path):
    """Default gates (duplicates and conflicts on): the rows pass through the spill in file order."""
    r = check_file(big, keep_passing=tmp_path / "kept.jsonl")
    kept, dropped = rows_of(tmp_path / "kept.jsonl"), rows_of(tmp_path / "kept.dropped.jsonl")
    assert (len(kept), len(dropped)) == (r.kept, r.dropped) and r.kept + r.dropped == 60_000
    src = big.read_text().splitlines()
    strip = [json.loads(x) for x in src]
    for row in dropped:
        del row["metadata"]["drop_reasons"]
    # kept and dropped, merged back by file order, are the input (each row once)
    merged, k, d = [], 0, 0
    for row in strip:
        if k < len(kept) and kept[k] == row:
            merged.append(row)
            k += 1
        elif d < len(dropped) and dropped[d] == row:
            merged.append(row)
            d += 1
    assert (k, d) == (len(kept), len(dropped)) and merged == strip
    assert not list(tmp_path.glob(".*"))  # no partial or spill left behind


def test_split_stage_contract(tmp_path):
    rows = [pair(f"question {i % 40}?", f"a{i}", f"b{i}") for i in range(200)]
    data = tmp_path / "p.jsonl"
    write_jsonl(data, rows)
    stage = SplitStage(data, tmp_path, validation=0.2)
    assert get_stage("split") is SplitStage
    train = tmp_path / "p_train.jsonl"
    s = assert_summary(run_stage(stage), "split", train)
    assert s.written == 200 and s.dropped == 0 and s.train + s.validation == 200
    assert s.outputs["validation"] == str(tmp_path / "p_val.jsonl")
    assert_side_files(train)
    assert not side_paths(train).dropped.exists() and not side_paths(train).failures.exists()
    assert_recorded(train, "split")
    val = rows_of(tmp_path / "p_val.jsonl")
    assert not {r["prompt"] for r in rows_of(train)} & {r["prompt"] for r in val}
    assert run_stage(stage).reused
    assert (
        split_file(data, tmp_path, validation=0.2)["validation"] == s.validation
    )  # the library call reuses it
    stage.seed = 1
    assert not run_stage(stage).reused


def test_a_killed_split_reruns_to_the_same_files(big, tmp_path):
    ref = split_file(big, tmp_path / "ref", validation=0.1)
    out = tmp_path / "run"
    out.mkdir()
    partial = out / ".pairs_train.jsonl.partial"
    cmd = ["split", str(big), "--out-dir", str(out)]
    kill_when(cmd, lambda: partial.exists() and partial.stat().st_size > 1 << 20)
    assert not (out / "pairs_train.jsonl").exists() and not (out / "pairs_val.jsonl").exists()
    res = run_cli(cmd)
    assert res.returncode == 0, res.stderr
    assert f"train {ref['train']:,} rows" in res.stdout
    for name in ("pairs_train.jsonl", "pairs_val.jsonl"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    assert not partial.exists()


def test_keep_passing_names_a_jsonl_file_and_a_rerun_rewrites_the_skip_side_file(tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    data.write_text("{broken\n" + "".join(json.dumps(r) + "\n" for r in ROWS))
    res = run_cli_here(capsys, "check", data, "--on-error", "skip", "--keep-passing", tmp_path / "clean.json")
    assert res.code == 2 and "clean.json: this stage writes JSONL; name the output *.jsonl" in res.err
    for _ in range(2):  # the second run's skipped lines replace the first's, not add to them
        res = run_cli_here(
            capsys, "check", data, "--on-error", "skip", "--keep-passing", tmp_path / "k.jsonl"
        )
        assert res.code == 1, res.err
        errors = (tmp_path / "pairs.jsonl.errors.jsonl").read_text().splitlines()
        assert len(errors) == 1 and json.loads(errors[0])["line"] == 1
        assert len(rows_of(tmp_path / "k.jsonl")) == 2 and len(rows_of(tmp_path / "k.dropped.jsonl")) == 6


def test_a_scan_that_bypasses_the_row_filter_writes_nothing(tmp_path):
    """The filter's verdicts must be the scan's: rows fed around it are an internal error, not a
    kept file missing the rows it never saw."""
    from alignforge.quality._dpo import DPOAccumulator
    from alignforge.quality._rowfilter import RowFilter
    from alignforge.records import Kind

    rules = {"chosen_score": {"min": 9.0}}
    filt = RowFilter(Kind.DPO, rules, keep=tmp_path / "kept.jsonl")
    acc = DPOAccumulator(rules)
    tee = filt.attach(acc)
    tee.add_batch([1, 2], [ROWS[0], ROWS[1]])
    acc.add_batch([3], [ROWS[7]])  # around the filter
    acc.finish()
    with pytest.raises(RuntimeError, match="row filter saw 2 rows"):
        filt.finish(acc)
    assert not list(tmp_path.iterdir())  # neither the files nor their partial forms
