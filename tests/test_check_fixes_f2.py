"""Fixes to the `check` run itself (QA report A1, A2's HTML half, A3, B5, B6, B7, C2).

Every test runs the real CLI (or the library function the CLI calls) on real files in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import alignforge.quality._columnar as columnar
import alignforge.quality.check as chk
from alignforge.io import write_jsonl
from alignforge.quality import check_file
from tests._cli import run_cli
from tests._curate_helpers import SCORED_PAIRS as P_ROWS

# The hunter's 4-row DPO file (p.jsonl).


def pair(i: int, cs: float | None = 9.5, rs: float | None = 2.0) -> dict:
    meta = {k: v for k, v in (("chosen_score", cs), ("rejected_score", rs)) if v is not None}
    return {
        "prompt": f"question {i}?",
        "chosen": f"a good answer {i}",
        "rejected": f"bad {i}",
        "metadata": meta,
    }


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".partial"))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here reads or writes the real ~/.cache (benchmark indexes go under tmp_path)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(home / "cache"))
    monkeypatch.delenv("ALIGNFORGE_BENCHMARK_DIR", raising=False)


# A1 -------------------------------------------------------------------------------------------


def test_side_file_that_is_the_data_file_is_refused_and_the_data_kept(tmp_path, capsys):
    data = tmp_path / "p.jsonl"
    write_jsonl(data, P_ROWS)
    with open(data, "ab") as fh:
        fh.write(b"{not json\n")
    before = data.read_bytes()
    run = run_cli(capsys, "check", data, "--on-error", "skip", "--side-file", data)
    assert run.code == 2, run.err
    assert data.read_bytes() == before
    assert "side file" in run.err and str(data) in run.err
    # the same file by another spelling
    run = run_cli(capsys, "check", data, "--on-error", "skip", "--side-file", tmp_path / "." / "p.jsonl")
    assert run.code == 2 and data.read_bytes() == before


def test_side_file_of_a_run_is_replaced_whole_and_a_failed_run_keeps_the_last_one(tmp_path, capsys):
    data = tmp_path / "p.jsonl"
    write_jsonl(data, P_ROWS)
    with open(data, "ab") as fh:
        fh.write(b"{not json\n")
    side = tmp_path / "p.jsonl.errors.jsonl"
    run = run_cli(capsys, "check", data, "--on-error", "skip", "--json", tmp_path / "m.json")
    assert run.code == 1, run.err  # line 4 is an identical pair
    first = side.read_bytes()
    assert [json.loads(x)["line"] for x in first.splitlines()] == [5]
    assert json.loads((tmp_path / "m.json").read_text())["invalid_rows"]["side_file"] == str(side)
    # A run refused on its other input (a verdicts file that is not JSONL) leaves the last side file.
    (tmp_path / "v.jsonl").write_text("[1, 2]\n")
    run = run_cli(capsys, "check", data, "--on-error", "skip", "--verdicts", tmp_path / "v.jsonl")
    assert run.code == 2
    assert side.read_bytes() == first
    assert partials(tmp_path) == []
    # A clean file's run leaves no side file from the earlier one.
    write_jsonl(data, P_ROWS)
    run = run_cli(capsys, "check", data, "--on-error", "skip")
    assert run.code == 1 and not side.exists() and partials(tmp_path) == []


# A3 -------------------------------------------------------------------------------------------


def test_failing_rows_are_not_half_written_when_the_pass_fails(tmp_path, capsys):
    # Without the whole-file gates (unique, no_conflict) rows are routed as they are read.
    gates = tmp_path / "g.yaml"
    gates.write_text("preference_data:\n  row_gates:\n    chosen_score: {min: 9.0}\n")
    good = tmp_path / "good.jsonl"
    write_jsonl(good, [pair(i, cs=5.0) for i in range(3)])
    fr = tmp_path / "fr"
    run = run_cli(capsys, "check", good, "--gates", gates, "--failing-rows", fr)
    assert run.code == 1
    earlier = {p.name: p.read_bytes() for p in fr.iterdir()}
    assert len(earlier["chosen_score.jsonl"].splitlines()) == 3
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [pair(i, cs=5.0) for i in range(20_000)])
    with open(bad, "ab") as fh:
        fh.write(b'{"prompt": "x", "chosen"\n')
    run = run_cli(capsys, "check", bad, "--gates", gates, "--failing-rows", fr)
    assert run.code == 2 and "bad.jsonl:20001" in run.err
    # nothing of the failed run: the earlier run's files, whole, and no partial file
    assert {p.name: p.read_bytes() for p in fr.iterdir()} == earlier
    assert partials(tmp_path) == []


def test_failing_rows_folder_holds_this_runs_gates_only(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [pair(0), pair(1, cs=5.0)])
    fr = tmp_path / "fr"
    fr.mkdir()
    mine = fr / "notes.jsonl"  # a file of the user's, not a gate's
    mine.write_text('{"line": 1, "note": "mine"}\n')
    run = run_cli(capsys, "check", data, "--failing-rows", fr)
    assert run.code == 1
    assert [json.loads(x)["line"] for x in (fr / "chosen_score.jsonl").read_text().splitlines()] == [2]
    # every row gate of the run has its file, empty when no row fails it
    assert (fr / "rejected_score.jsonl").read_bytes() == b""
    assert (fr / "unique.jsonl").read_bytes() == b""
    # The next run's files replace these: a gate no row fails now has an empty file, and a gate the
    # run does not hold leaves no file from the earlier run.
    write_jsonl(data, [pair(0), pair(1)])
    gates = tmp_path / "g.yaml"
    gates.write_text("preference_data:\n  row_gates:\n    rejected_score: {max: 6.0}\n")
    run = run_cli(capsys, "check", data, "--gates", gates, "--failing-rows", fr)
    assert run.code == 0, run.out + run.err
    assert sorted(p.name for p in fr.iterdir()) == ["notes.jsonl", "rejected_score.jsonl"]
    assert mine.read_text() == '{"line": 1, "note": "mine"}\n'


# A2 (the HTML half) ---------------------------------------------------------------------------


def test_html_and_json_reports_replace_the_old_ones_whole(tmp_path, capsys):
    data = tmp_path / "p.jsonl"
    write_jsonl(data, P_ROWS)
    html, js = tmp_path / "r.html", tmp_path / "m.json"
    html.write_text("old report")
    js.write_text("old")
    run = run_cli(capsys, "check", data, "--html", html, "--json", js)
    assert run.code == 1
    assert html.read_text().startswith("<!doctype html>")
    assert json.loads(js.read_text())["path"] == str(data)
    assert partials(tmp_path) == []


# B5 -------------------------------------------------------------------------------------------


def _report(tmp_path: Path, capsys, data: Path, against: str, benchmarks_dir: Path) -> Path:
    report = tmp_path / f"rep-{against.replace(',', '-')}.json"
    run = run_cli(
        capsys,
        "decontaminate",
        data,
        "--against",
        against,
        "--benchmark-dir",
        benchmarks_dir,
        "--report",
        report,
    )
    assert run.code == 0, run.err
    return report


def test_decontam_report_must_cover_the_gates_files_benchmarks(tmp_path, capsys, benchmarks_dir):
    data = tmp_path / "p.jsonl"
    write_jsonl(data, P_ROWS)
    gates = tmp_path / "g.yaml"
    gates.write_text(
        f"decontamination:\n  against: [gsm8k]\n  benchmark_dir: {benchmarks_dir}\n"
        "preference_data:\n  decontamination: {min: 0.9}\n"
    )
    humaneval = _report(tmp_path, capsys, data, "humaneval", benchmarks_dir)
    run = run_cli(capsys, "check", data, "--gates", gates, "--decontam-report", humaneval)
    assert run.code == 2, run.out + run.err
    assert "gsm8k" in run.err and str(humaneval) in run.err and str(gates) in run.err
    both = _report(tmp_path, capsys, data, "humaneval,gsm8k", benchmarks_dir)
    run = run_cli(capsys, "check", data, "--gates", gates, "--decontam-report", both)
    assert run.code == 0, run.out + run.err
    # no gates-file entry: the report is taken as it is
    run = run_cli(capsys, "check", data, "--decontam-report", humaneval, "--json", tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["figures"]["decontamination"] == 1.0


# B6 -------------------------------------------------------------------------------------------


def sft(i: int, meta: dict) -> dict:
    return {
        "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
        "metadata": meta,
    }


def test_unscored_sft_rows_fail_the_score_row_gate(tmp_path, capsys):
    data = tmp_path / "s.jsonl"
    write_jsonl(
        data,
        [sft(0, {"score": 9}), sft(1, {"judge_status": {"score": "parse_failed"}}), sft(2, {"score": 8.5})],
    )
    kept = tmp_path / "kept.jsonl"
    run = run_cli(capsys, "check", data, "--keep-passing", kept)
    assert run.code == 1, run.out
    assert [json.loads(x)["messages"][0]["content"] for x in kept.read_text().splitlines()] == ["q0", "q2"]
    dropped = [json.loads(x) for x in (tmp_path / "kept.dropped.jsonl").read_text().splitlines()]
    assert [d["metadata"]["drop_reasons"] for d in dropped] == [
        [{"reason": "score", "detail": "score missing, gate >= 0.8 on 0-1"}]
    ]
    gate = next(g for g in check_file(data).gates if g.name == "score")
    assert gate.status == "fail" and gate.first_lines == [2]


# B7 -------------------------------------------------------------------------------------------


def test_a_data_stage_of_another_kind_is_refused(tmp_path, capsys):
    data = tmp_path / "p.jsonl"
    write_jsonl(data, P_ROWS)
    run = run_cli(capsys, "check", data, "--stage", "sft_data", "--keep-passing", tmp_path / "k.jsonl")
    assert run.code == 2, run.out
    assert "sft_data" in run.err and "dpo" in run.err and "preference_data" in run.err
    assert not (tmp_path / "k.jsonl").exists()
    run = run_cli(capsys, "check", data, "--stage", "preference_data")
    assert run.code == 1  # the kind's own stage: line 4 is an identical pair


# C2 -------------------------------------------------------------------------------------------


def test_a_half_scored_pair_fails_only_the_gates_of_its_missing_score(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [pair(0), pair(1, rs=None), pair(2, cs=None, rs=1.0), pair(3, cs=5.0, rs=None)])
    kept = tmp_path / "kept.jsonl"
    run = run_cli(capsys, "check", data, "--keep-passing", kept)
    assert run.code == 1
    reasons = {
        json.loads(x)["prompt"]: json.loads(x)["metadata"]["drop_reasons"]
        for x in (tmp_path / "kept.dropped.jsonl").read_text().splitlines()
    }
    assert reasons == {
        "question 1?": [
            {"reason": "rejected_score", "detail": "rejected_score missing, gate <= 6.0"},
            {"reason": "score_gap", "detail": "score_gap missing, gate >= 3.0"},
        ],
        "question 2?": [
            {"reason": "chosen_score", "detail": "chosen_score missing, gate >= 9.0"},
            {"reason": "score_gap", "detail": "score_gap missing, gate >= 3.0"},
        ],
        "question 3?": [
            {"reason": "chosen_score", "detail": "chosen_score 5.0, gate >= 9.0"},
            {"reason": "rejected_score", "detail": "rejected_score missing, gate <= 6.0"},
            {"reason": "score_gap", "detail": "score_gap missing, gate >= 3.0"},
        ],
    }


RULES = {"chosen_score": {"min": 9.0}, "rejected_score": {"max": 6.0}, "score_gap": {"min": 3.0}}


@pytest.mark.parametrize("engine", ["rows", "parallel", "columnar"])
def test_every_engine_judges_each_score_gate_on_its_own_score(tmp_path, monkeypatch, engine):
    if engine == "columnar":
        pytest.importorskip("numba")
    rows = [pair(i) for i in range(30)]
    rows[3] = pair(3, rs=None)  # line 4: chosen fine, rejected missing
    rows[10] = pair(10, cs=None, rs=1.0)  # line 11: chosen missing, rejected fine
    rows[20] = pair(20, cs=None, rs=None)  # line 21: neither
    data = tmp_path / "d.jsonl"
    write_jsonl(data, rows)
    monkeypatch.setattr(columnar, "MIN_BYTES", 0 if engine == "columnar" else 1 << 62)
    monkeypatch.setattr(chk, "PARALLEL_MIN_BYTES", 1 if engine == "parallel" else 1 << 62)
    monkeypatch.setattr(chk.os, "sched_getaffinity", lambda _: {0, 1, 2})
    _, figures, _ = chk.compute_figures(data, rules=RULES)
    assert figures["scan_engine"] == engine if engine == "columnar" else figures["scan_engine"] == "rows"
    failing = {g: f["first_lines"] for g, f in figures["row_failures"].items()}
    assert failing == {"chosen_score": [11, 21], "rejected_score": [4, 21], "score_gap": [4, 11, 21]}
    assert figures["scored_pairs"] == 27 and figures["share_chosen_ge_min"] == 1.0
