"""Hunt A fixes in the stage layer, io and split (f3).

A2: an output that is an input (`check a.jsonl --json a.jsonl`, `decontaminate g.jsonl --report
g.jsonl`, `dedup d.jsonl --out d.jsonl`, ...) is refused with exit 2 before the stage runs, and the
input is left as it was. A4: a line over the size limit, skipped, keeps its first 4 KiB in the side
file, marked truncated. C7: decontaminate's gates are shares in [0, 1]. C8: a split that fails on
bad input leaves no record (or the one it found). C9: rows separated by a bare CR are named as such.
D1: split's summary line says how many rows went to each file. D2: split names a Parquet file's
halves `<stem>_train.jsonl`, not `<stem>.parquet_train.jsonl`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from alignforge.errors import ConfigError
from alignforge.io import ReadStats, iter_jsonl, write_jsonl
from alignforge.stages import Stage, StageSummary, run_stage
from tests._cli import run_cli
from tests._curate_helpers import SCORED_PAIRS

PAIRS = SCORED_PAIRS[:3]


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def many_pairs(n: int) -> list[dict[str, Any]]:
    return [
        {
            "prompt": f"question {i % 40}?",
            "chosen": f"a careful answer {i}",
            "rejected": f"a sloppy answer {i}",
            "metadata": {"chosen_score": 9.5, "rejected_score": 3.0},
        }
        for i in range(n)
    ]


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "bench").mkdir()
    item = {"question": "How many legs does a spider have in total when counted?", "answer": "8"}
    return jsonl(tmp_path / "bench" / "mybench.jsonl", [item])


# --- A2: an output that is an input ----------------------------------------------------------


def test_check_json_onto_its_data_file_is_refused_and_the_data_kept(tmp_path, capsys):
    data = jsonl(tmp_path / "a.jsonl", PAIRS)
    before = data.read_bytes()
    res = run_cli(capsys, "check", data, "--json", data)
    assert res.code == 2, (res.code, res.err)
    assert "output 'json'" in res.err and "input 'data'" in res.err and str(data) in res.err
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]  # no record, nothing else written


def test_check_html_onto_its_data_file_with_keep_passing_is_refused(tmp_path, capsys):
    data = jsonl(tmp_path / "e.jsonl", PAIRS)
    before = data.read_bytes()
    res = run_cli(capsys, "check", data, "--keep-passing", tmp_path / "k.jsonl", "--html", data)
    assert res.code == 2, (res.code, res.err)
    assert "output 'html'" in res.err and str(data) in res.err
    assert data.read_bytes() == before
    assert not (tmp_path / "k.jsonl").exists() and not (tmp_path / "k.jsonl.stage.json").exists()


def test_an_output_reaching_the_input_by_a_link_is_refused(tmp_path, capsys):
    data = jsonl(tmp_path / "a.jsonl", PAIRS)
    before = data.read_bytes()
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(data)
    for out in (link, tmp_path / "sub" / ".." / "a.jsonl"):
        res = run_cli(capsys, "check", data, "--json", out)
        assert res.code == 2 and "same file" in res.err, (res.code, res.err)
        assert data.read_bytes() == before


def test_decontaminate_report_or_out_onto_its_input_is_refused(tmp_path, capsys, bench):
    data = jsonl(tmp_path / "g.jsonl", PAIRS)
    before = data.read_bytes()
    against = str(bench)
    for flag in ("--report", "--out", "--annotate"):
        res = run_cli(capsys, "decontaminate", data, "--against", against, flag, data)
        assert res.code == 2, (flag, res.code, res.out, res.err)
        assert "same file as input 'data'" in res.err and "report vouches" not in res.out
        assert data.read_bytes() == before
    assert not list(tmp_path.glob("*.stage.json"))
    res = run_cli(capsys, "decontaminate", data, "--against", against, "--report", tmp_path / "r.json")
    assert res.code == 0, res.err  # a report beside the data is still written


def test_dedup_out_onto_its_input_is_refused(tmp_path, capsys):
    data = jsonl(tmp_path / "d.jsonl", [*PAIRS, PAIRS[0]])
    before = data.read_bytes()
    res = run_cli(capsys, "dedup", data, "--out", data)
    assert res.code == 2 and "output 'out'" in res.err, (res.code, res.err)
    assert data.read_bytes() == before


@dataclass
class _Copy(Stage):
    """A stage that copies a file; ``ran`` says whether execute() was reached."""

    src: Path
    dst: Path
    ran: bool = False

    name: ClassVar[str] = "test.copy"

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"src": self.src}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": self.dst}

    def params(self) -> dict[str, Any]:
        return {}

    def execute(self) -> StageSummary:
        self.ran = True
        self.dst.write_bytes(self.src.read_bytes().upper())
        return StageSummary(self.name, written=1, outputs={"out": str(self.dst)})


def test_run_stage_refuses_any_stage_whose_output_is_an_input_before_it_runs(tmp_path):
    src = tmp_path / "x.jsonl"
    src.write_text('{"a": 1}\n')
    stage = _Copy(src, tmp_path / "." / "x.jsonl")
    with pytest.raises(ConfigError, match=r"test.copy: output 'out' .* is the same file as input 'src'"):
        run_stage(stage)
    assert not stage.ran and src.read_text() == '{"a": 1}\n'
    assert not (tmp_path / "x.jsonl.stage.json").exists()
    ok = _Copy(src, tmp_path / "y.jsonl")
    run_stage(ok)
    assert ok.ran and (tmp_path / "y.jsonl").read_text() == '{"A": 1}\n'


# --- A4: an oversized line's side-file record ------------------------------------------------


@pytest.mark.parametrize("limit", [100, 10_000])
def test_an_oversized_skipped_line_keeps_its_first_4_kib(tmp_path, limit):
    line = json.dumps({"prompt": "p", "chosen": "c" * 50_000, "rejected": "r"})
    data = tmp_path / "big.jsonl"
    data.write_text('{"a": 1}\n' + line + '\n{"b": 2}\n')
    side = tmp_path / "side.jsonl"
    stats = ReadStats()
    rows = list(iter_jsonl(data, on_error="skip", side_file=side, stats=stats, max_line_bytes=limit))
    assert [n for n, _ in rows] == [1, 3] and stats.skipped == 1
    (entry,) = [json.loads(x) for x in side.read_text().splitlines()]
    assert entry["line"] == 2 and "over the" in entry["error"]
    assert entry["raw"] == line[:4096] and entry["truncated"] is True


def test_check_skips_a_line_over_16_mib_with_its_head_in_the_side_file(tmp_path, capsys):
    data = tmp_path / "big.jsonl"
    huge = json.dumps({**PAIRS[0], "chosen": "x" * (17 * 1024 * 1024)})
    with open(data, "w") as fh:
        fh.write(json.dumps(PAIRS[1]) + "\n" + huge + "\n" + json.dumps(PAIRS[2]) + "\n")
    side = tmp_path / "side.jsonl"
    res = run_cli(capsys, "check", data, "--on-error", "skip", "--side-file", side)
    assert res.code in (0, 1), res.err
    (entry,) = [json.loads(x) for x in side.read_text().splitlines()]
    assert entry["line"] == 2 and entry["raw"] == huge[:4096] and entry["truncated"] is True


# --- C7: decontaminate's gates are shares ------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max-share", "2"), ("--min-score", "90"), ("--max-share", "-0.1"), ("--min-score", "-1")],
)
def test_decontaminate_gate_shares_out_of_range_are_refused(tmp_path, capsys, bench, flag, value):
    data = jsonl(tmp_path / "g.jsonl", PAIRS)
    against = str(bench)
    res = run_cli(
        capsys, "decontaminate", data, "--against", against, "--report", tmp_path / "r.json", flag, value
    )
    assert res.code == 2 and f"Invalid value for '{flag}'" in res.err, (res.code, res.err)
    assert not (tmp_path / "r.json").exists()
    res = run_cli(capsys, "decontaminate", data, "--against", against, flag, "0" if "max" in flag else "1")
    assert res.code == 0, res.err  # both ends of [0, 1] are shares


# --- C8: a failed split leaves no running record ----------------------------------------------


def test_a_split_failing_on_bad_input_leaves_no_record_and_no_output(tmp_path, capsys):
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps(PAIRS[0]) + "\n{bad\n")
    res = run_cli(capsys, "split", data)
    assert res.code == 2 and "bad.jsonl:2: not valid JSON" in res.err, (res.code, res.err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_a_split_failing_on_bad_input_keeps_the_finished_split_it_found(tmp_path, capsys):
    data = jsonl(tmp_path / "p.jsonl", many_pairs(50))
    assert run_cli(capsys, "split", data).code == 0
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "p.jsonl"}
    assert "p_train.jsonl.stage.json" in files
    data.write_text(data.read_text() + "{bad\n")
    res = run_cli(capsys, "split", data)
    assert res.code == 2 and "p.jsonl:51: not valid JSON" in res.err, (res.code, res.err)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "p.jsonl"} == files


# --- C9: rows separated by a bare CR ---------------------------------------------------------


@pytest.mark.parametrize("end", [b"\r", b"\n", b""])
def test_rows_separated_by_a_bare_cr_are_named_as_such(tmp_path, capsys, end):
    data = tmp_path / "cr.jsonl"
    data.write_bytes(b"\r".join(json.dumps(r).encode() for r in PAIRS) + end)
    res = run_cli(capsys, "check", data)
    assert res.code == 2, (res.code, res.err)
    assert "cr.jsonl:1: " in res.err and "bare CR" in res.err and "truncated" not in res.err, res.err


def test_a_bad_line_with_crlf_endings_keeps_its_json_message(tmp_path, capsys):
    data = tmp_path / "crlf.jsonl"
    data.write_bytes(json.dumps(PAIRS[0]).encode() + b"\r\n" + b'{"prompt": \r\n')
    res = run_cli(capsys, "check", data)
    assert res.code == 2 and "crlf.jsonl:2: not valid JSON" in res.err and "CR" not in res.err, res.err


# --- D1, D2: split's summary and names ---------------------------------------------------------


def test_split_summary_says_how_many_rows_went_to_each_file(tmp_path, capsys):
    data = jsonl(tmp_path / "pairs.jsonl", many_pairs(200))
    res = run_cli(capsys, "split", data, "--validation", "0.2")
    assert res.code == 0, res.err
    train, val = tmp_path / "pairs_train.jsonl", tmp_path / "pairs_val.jsonl"
    n_train, n_val = (len(p.read_text().splitlines()) for p in (train, val))
    assert n_train + n_val == 200 and n_val > 0
    first = res.out.splitlines()[0]
    assert first == f"split: written 200 ({n_train} to {train}, {n_val} to {val})", first


def test_split_names_a_parquet_files_halves_by_its_stem(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    data = tmp_path / "good.parquet"
    write_jsonl(data, many_pairs(100))
    res = run_cli(capsys, "split", data)
    assert res.code == 0, res.err
    assert (tmp_path / "good_train.jsonl").is_file() and (tmp_path / "good_val.jsonl").is_file()
    assert not list(tmp_path.glob("good.parquet_*"))
