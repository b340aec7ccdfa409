"""Fixes to `dedup` / `decontaminate` input reading (QA report C5, C6), through the real CLI.

C6: a content-parts message is scanned by its text parts; a row with no text in the fields the scan
reads is *unscanned* (counted on its own, never clean, in the summary, the report and the figure
`check` reads). C5: both commands read Parquet as `check` does.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from _curate_helpers import curate_cache, read_jsonl, shared_index, write_jsonl

from alignforge.quality._decontam import report_figures
from alignforge.records import text_of
from tests._cli import run_cli

__all__ = ["curate_cache", "shared_index"]


@pytest.fixture
def questions(benchmarks_dir: Path, curate_cache: Path) -> list[str]:
    with gzip.open(benchmarks_dir / "gsm8k" / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for _, line in zip(range(3), fh, strict=False)]


def _pair(prompt: Any, i: int) -> dict[str, Any]:
    return {
        "prompt": prompt,
        "chosen": f"A careful answer about the weather in town number {i}.",
        "rejected": f"No idea, town {i}.",
        "metadata": {"chosen_score": 9.0, "rejected_score": 4.0},
    }


def _clean(n: int) -> list[dict[str, Any]]:
    return [
        _pair(f"Describe the weather you would expect in a coastal town in month {i}.", i) for i in range(n)
    ]


def _decontaminate(capsys: Any, data: Path, bench: Path, *extra: Any) -> Any:
    return run_cli(capsys, "decontaminate", data, "--against", "gsm8k", "--benchmark-dir", bench, *extra)


def test_text_of_reads_content_parts() -> None:
    msgs = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "image_url", "image_url": {}}],
        },
        {"role": "assistant", "content": "second"},
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    assert text_of(msgs) == "first\nsecond\n"
    assert text_of([{"type": "text", "text": "bare part"}]) == "bare part"


def test_content_parts_prompt_is_scanned(
    tmp_path: Path, benchmarks_dir: Path, questions: list[str], capsys: Any
) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": questions[0]}]}]
    data = write_jsonl(tmp_path / "parts.jsonl", [_pair(parts, 0), *_clean(3)])
    run = _decontaminate(
        capsys, data, benchmarks_dir, "--out", tmp_path / "clean.jsonl", "--min-score", "0.5"
    )
    assert run.code == 0, run.out + run.err
    assert "rows 4, clean 3, contaminated 1 " in run.out
    (dropped,) = read_jsonl(tmp_path / "clean.dropped.jsonl")
    (reason,) = dropped["metadata"]["drop_reasons"]
    assert reason["detail"]["item_id"] == "gsm8k/test/0" and reason["detail"]["field"] == "prompt[0]"
    assert len(read_jsonl(tmp_path / "clean.jsonl")) == 3


def test_row_with_no_scanned_text_is_unscanned_not_clean(
    tmp_path: Path, benchmarks_dir: Path, questions: list[str], capsys: Any
) -> None:
    # Line 2 holds a GSM8K question in a field the scan does not read; line 4 has no text at all.
    rows = [
        *_clean(1),
        {"query": questions[1]},
        *_clean(2)[1:],
        {"prompt": "", "chosen": "?!", "rejected": "--"},
    ]
    data = tmp_path / "mixed.jsonl"  # json.dumps' spacing: not the bytes of --out, which orjson writes
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, report, annotate = tmp_path / "clean.jsonl", tmp_path / "r.json", tmp_path / "a.jsonl"
    run = _decontaminate(
        capsys, data, benchmarks_dir, "--out", out, "--report", report, "--annotate", annotate
    )
    assert run.code == 1, run.out + run.err  # 2 of 4 rows clean: 0.5 < 0.9
    assert "rows 4, clean 2, contaminated 0, unscanned 2 " in run.out
    assert "warning: 2 rows unscanned (lines 2, 4)" in run.out and "not counted as clean" in run.out
    assert "decontamination score 0.5000 (gate >= 0.9) FAIL" in run.out

    rep = json.loads(report.read_text())
    assert (rep["rows"], rep["clean_rows"], rep["contaminated_rows"], rep["unscanned_rows"]) == (4, 2, 0, 2)
    assert rep["unscanned_lines"] == [2, 4] and rep["decontamination_score"] == 0.5
    assert not rep["gates"]["decontamination_score"]["passed"]
    # Nothing lost: the unscanned rows are kept in --out, and --out's own figures do not call them clean.
    assert [r.get("query") for r in read_jsonl(out)] == [None, questions[1], None, None]
    assert (rep["output"]["unscanned_rows"], rep["output"]["decontamination_score"]) == (2, 0.5)
    flags = [(r["metadata"]["contaminated"], r["metadata"].get("unscanned")) for r in read_jsonl(annotate)]
    assert flags == [(False, None), (None, True), (False, None), (None, True)]

    # The figure a gate reads through the bound report (input and --out alike) is 0.5, not 1.0. (`check`
    # itself refuses these files: `{"query": ...}` is no record kind.)
    for checked, section in ((data, "scanned"), (out, "output")):
        figures = report_figures(report, checked)
        assert figures["decontamination"] == 0.5
        assert figures["decontamination_source"]["measured_as"] == section
        assert figures["decontamination_source"]["unscanned_rows"] == 2


def test_check_scan_and_decontaminate_agree_on_unscanned_rows(
    tmp_path: Path, benchmarks_dir: Path, questions: list[str], capsys: Any
) -> None:
    # A valid DPO file (so `check` reads it) whose line 3 has no word to scan.
    rows = [_pair(questions[2], 0), *_clean(2), {"prompt": "???", "chosen": "!!", "rejected": "--"}]
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    report = tmp_path / "r.json"
    _decontaminate(capsys, data, benchmarks_dir, "--report", report)
    rep = json.loads(report.read_text())
    assert (rep["clean_rows"], rep["contaminated_rows"], rep["unscanned_rows"]) == (2, 1, 1)
    m = tmp_path / "m.json"
    run_cli(capsys, "check", data, "--against", "gsm8k", "--benchmark-dir", benchmarks_dir, "--json", m)
    figures = json.loads(m.read_text())["figures"]
    assert figures["decontamination"] == rep["decontamination_score"] == 0.5
    assert figures["decontamination_source"]["unscanned_rows"] == 1
    assert figures["decontamination_source"]["unscanned_first_lines"] == [4]


def test_dedup_and_decontaminate_read_parquet(
    tmp_path: Path, benchmarks_dir: Path, questions: list[str], capsys: Any
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [_pair(questions[0], 0), *_clean(2), _clean(2)[1]]
    data = tmp_path / "good.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)

    run = run_cli(capsys, "dedup", data, "--out", tmp_path / "unique.jsonl")
    assert run.code == 0, run.out + run.err
    assert len(read_jsonl(tmp_path / "unique.jsonl")) == 3
    (dup,) = read_jsonl(tmp_path / "unique.dropped.jsonl")
    assert dup["metadata"]["drop_reasons"][0]["detail"] == {"line": 4, "duplicate_of": 3, "kept_line": 3}

    out, report = tmp_path / "clean.jsonl", tmp_path / "r.json"
    run = _decontaminate(capsys, data, benchmarks_dir, "--out", out, "--report", report, "--min-score", "0.5")
    assert run.code == 0, run.out + run.err
    assert "rows 4, clean 3, contaminated 1 " in run.out
    (removed,) = read_jsonl(tmp_path / "clean.dropped.jsonl")
    assert removed["prompt"] == questions[0]
    # The report is bound to the Parquet file's bytes: `check` accepts it for that file.
    m = tmp_path / "m.json"
    run_cli(capsys, "check", data, "--decontam-report", report, "--json", m)
    figures = json.loads(m.read_text())["figures"]
    assert figures["decontamination"] == 0.75
    assert figures["decontamination_source"]["measured_as"] == "scanned"


def test_parquet_that_is_not_parquet_names_the_file(tmp_path: Path, capsys: Any) -> None:
    data = tmp_path / "bad.parquet"
    data.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
    run = run_cli(capsys, "dedup", data, "--out", tmp_path / "u.jsonl")
    assert run.code == 2
    assert "bad.parquet: not a readable Parquet file" in run.err
    assert not (tmp_path / "u.jsonl").exists()


@pytest.mark.slow
def test_ray_executor_counts_unscanned_rows_as_local_does(questions: list[str], shared_index: Any) -> None:
    ray = pytest.importorskip("ray")
    from alignforge.curate import decontaminate

    parts = [{"role": "user", "content": [{"type": "text", "text": questions[0]}]}]
    rows = [_pair(parts, 0), {"query": questions[1]}, *_clean(3), {"prompt": "..."}]
    local = decontaminate(rows, against="gsm8k", index=shared_index, batch_size=4)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        remote = decontaminate(rows, against="gsm8k", index=shared_index, batch_size=4, executor="ray")
    finally:
        ray.shutdown()
    for rep in (local, remote):
        assert (rep.clean_rows, rep.contaminated_rows, rep.unscanned_rows) == (3, 1, 2)
        assert rep.unscanned_lines == [2, 6] and rep.decontamination_score == 0.5
