"""Strict reading: each kind of bad input gets one clear line naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignforge.io import DataError, JsonlWriter, ReadStats, iter_jsonl, read_rows, repair_tail, write_jsonl
from alignforge.records import Kind
from tests._cli import run_cli

GOOD = {"prompt": "What is 2+2?", "chosen": "4, because 2+2=4.", "rejected": "5"}


def write_lines(
    path: Path, lines: list[str | bytes], *, newline: bytes = b"\n", trailing: bool = True
) -> Path:
    data = newline.join(x if isinstance(x, bytes) else x.encode() for x in lines)
    path.write_bytes(data + (newline if trailing else b""))
    return path


def j(obj: object) -> str:
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("lines", "trailing", "expected"),
    [
        ([j(GOOD), "{not json"], True, ":2: not valid JSON"),
        ([j(GOOD), j(GOOD)[:-5]], False, ":2: truncated last line"),
        ([j({"prompt": "p", "chosen": "c"})], True, ":1: field 'rejected': is missing"),
        (
            [j(GOOD), j({"prompt": "p", "chosen": 3, "rejected": "r"})],
            True,
            ":2: field 'chosen': expected a string or a list of messages, got int",
        ),
        (
            [j({"prompt": "  ", "chosen": "c", "rejected": "r"})],
            True,
            ":1: field 'prompt': is an empty string",
        ),
        ([j(GOOD), b'{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}'], True, ":2: invalid UTF-8"),
        ([j([GOOD, GOOD])], True, ":1: the file is a JSON array, not JSONL"),
        (
            [j(GOOD), j({"prompt": "p", "completion": "c", "label": True})],
            True,
            ":2: field '<row>': mixed record kinds",
        ),
        (
            [j({**GOOD, "metadata": {"chosen_score": "high"}})],
            True,
            ":1: field 'metadata.chosen_score': expected a number",
        ),
        ([j({**GOOD, "metadata": {"chosen_score": 85}})], True, "outside the 0-10 judge scale"),
        (
            [j({"prompt": [{"role": "robot", "content": "hi"}], "chosen": "a", "rejected": "b"})],
            True,
            "field 'prompt[0].role'",
        ),
    ],
)
def test_invalid_input_names_file_line_and_field(tmp_path, capsys, lines, trailing, expected):
    path = write_lines(tmp_path / "pairs.jsonl", lines, trailing=trailing)
    run = run_cli(capsys, "check", path)
    assert run.code == 2
    assert f"{path}" in run.err and expected in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1, "known errors are one line (tracebacks only with --debug)"


def test_empty_file_is_an_error(tmp_path, capsys):
    path = write_lines(tmp_path / "empty.jsonl", ["", "  "])
    run = run_cli(capsys, "check", path)
    assert run.code == 2 and "the file is empty" in run.err


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + j(GOOD).encode() + b"\r\n" + j(GOOD).encode() + b"\r\n")
    rows = list(read_rows(path, Kind.DPO))
    assert [n for n, _ in rows] == [1, 2]
    assert rows[0][1]["rejected"] == "5"


def test_multi_megabyte_line_is_refused_without_loading_it(tmp_path):
    path = tmp_path / "big.jsonl"
    big = {**GOOD, "chosen": "x" * 3 * 2**20}
    write_lines(path, [j(GOOD), j(big), j(GOOD)])
    with pytest.raises(DataError, match=r":2: line is 3\.0 MiB, over the 1 MiB limit"):
        list(iter_jsonl(path, max_line_bytes=2**20))
    stats = ReadStats()
    rows = list(iter_jsonl(path, max_line_bytes=2**20, on_error="skip", stats=stats))
    assert [n for n, _ in rows] == [1, 3] and stats.skipped == 1
    # Under the default 16 MiB limit the same line is ordinary data.
    assert len(list(read_rows(path, Kind.DPO))) == 3


def test_skip_mode_counts_and_keeps_every_bad_line(tmp_path, capsys):
    path = write_lines(tmp_path / "pairs.jsonl", [j(GOOD), "{oops", j({"prompt": "p"}), j(GOOD)])
    side = tmp_path / "bad.jsonl"
    run = run_cli(
        capsys, "check", path, "--on-error", "skip", "--side-file", side, "--json", tmp_path / "m.json"
    )
    assert run.code == 1  # the data is read; the gates (1000 pairs, scores) fail
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["invalid_rows"]["skipped"] == 2
    assert report["figures"]["total_pairs"] == 2
    bad = [json.loads(x) for x in side.read_text().splitlines()]
    assert [b["line"] for b in bad] == [2, 3]
    assert "field 'chosen'" in bad[1]["error"] and bad[0]["raw"] == "{oops"


def test_identical_chosen_and_rejected_is_reported_not_fatal(tmp_path, capsys):
    path = write_lines(tmp_path / "pairs.jsonl", [j(GOOD), j({**GOOD, "rejected": GOOD["chosen"]})])
    run = run_cli(capsys, "check", path, "--json", tmp_path / "m.json")
    assert run.code == 1
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["identical_pairs"] == 1 and figures["row_failures"]["not_identical"]["first_lines"] == [2]


def test_writer_appends_whole_lines_and_repairs_a_torn_tail(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as w:
        w.write({"a": 1})
        w.write({"a": 2})
    with open(path, "ab") as fh:  # what a SIGKILL mid-write leaves behind
        fh.write(b'{"a": 3, "b"')
    assert repair_tail(path) == len(b'{"a": 3, "b"')
    with JsonlWriter(path) as w:
        w.write({"a": 3})
    assert [json.loads(x)["a"] for x in path.read_text().splitlines()] == [1, 2, 3]


def test_write_jsonl_replaces_atomically_and_parquet_roundtrips(tmp_path):
    rows = [GOOD, {**GOOD, "prompt": "Another?"}]
    assert write_jsonl(tmp_path / "a.jsonl", rows) == 2
    assert write_jsonl(tmp_path / "a.parquet", rows) == 2
    back = [r for _, r in read_rows(tmp_path / "a.parquet", Kind.DPO)]
    assert back == rows
