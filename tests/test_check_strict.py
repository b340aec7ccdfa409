"""check fails loudly and precisely: skip mode past a bad first line, strict gates files, Parquet,
SFT score scales, RLVR entry points inferred from the tests, and a crash that is not a gate failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignforge.io import read_rows, write_jsonl
from alignforge.quality import check_file
from alignforge.quality.gates import DEFAULT_GATES_YAML, load_gates
from alignforge.records import Kind
from tests._cli import run_cli


def pair(i: int, c: float = 9.5, r: float = 3.0) -> dict:
    return {
        "prompt": f"question {i}?",
        "chosen": f"a careful answer {i}",
        "rejected": f"a sloppy answer {i}",
        "metadata": {"chosen_score": c, "rejected_score": r},
    }


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_skip_mode_survives_a_bad_first_line(tmp_path, capsys):
    data = jsonl(tmp_path / "p.jsonl", ["{broken", *[pair(i) for i in range(5)]])
    res = run_cli(capsys, "check", data, "--on-error", "skip", "--json", tmp_path / "m.json")
    assert res.code == 1  # the gates (1000 pairs, decontamination) fail; the input does not
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["kind"] == "dpo" and report["figures"]["total_pairs"] == 5
    assert report["invalid_rows"]["skipped"] == 1
    side = [json.loads(x) for x in (tmp_path / "p.jsonl.errors.jsonl").read_text().splitlines()]
    assert side[0]["line"] == 1 and "not valid JSON" in side[0]["error"]
    # strict mode still names the line
    res = run_cli(capsys, "check", data)
    assert res.code == 2 and "p.jsonl:1: not valid JSON" in res.err


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "preference_data:\n  row_gates:\n    chosen_scor: {min: 9}\n",
            "unknown row gate 'preference_data.row_gates.chosen_scor'",
        ),
        ("preference_data:\n  row_gates:\n    chosen_score: true\n", "needs bounds"),
        ("preference_data:\n  row_gates:\n    unique: {min: 1}\n", "is a check"),
        ("preference_data:\n  total_pairs: {min: '1000'}\n", "min must be a number, got '1000'"),
        (
            "sft_data:\n  row_gates:\n    score: {min: 0.8, scale: '0-100'}\n",
            "scale must be one of 0-10, 0-1",
        ),
        ("dpo_training:\n  row_gates:\n    x: true\n", "has no row-level gates"),
    ],
)
def test_gates_file_mistakes_are_config_errors(tmp_path, capsys, yaml_text, expected):
    gates = tmp_path / "g.yaml"
    gates.write_text(yaml_text)
    res = run_cli(capsys, "gates", "validate", gates)
    assert res.code == 2 and expected in res.err and str(gates) in res.err
    assert "Traceback" not in res.err


def test_a_gate_on_a_mapping_figure_names_the_fix(tmp_path, capsys):
    data = jsonl(tmp_path / "p.jsonl", [pair(i) for i in range(3)])
    gates = tmp_path / "g.yaml"
    gates.write_text("preference_data:\n  flaw_mix_target: {max: 0.1}\n")
    res = run_cli(capsys, "check", data, "--gates", gates)
    assert res.code == 2
    assert "which is a mapping, not a number" in res.err and "flaw_mix_target.oversimplified" in res.err


def test_row_gate_on_fail_flag_reports_without_failing(tmp_path):
    rows = [pair(0), pair(1, c=7.0)]
    cfg = load_gates(None)
    cfg["preference_data"] = {"row_gates": {"chosen_score": {"min": 9.0, "on_fail": "flag"}}}
    result = check_file(jsonl(tmp_path / "p.jsonl", rows), gates=cfg)
    (gate,) = result.gates
    assert gate.status == "flag" and gate.rows_failing == 1 and gate.first_lines == [2]
    assert result.passed
    assert result.figures["share_meeting_all"] == 0.5


def test_parquet_is_detected_validated_and_written_in_batches(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    rows = [pair(i) for i in range(20_000)]
    pq = tmp_path / "p.parquet"
    assert write_jsonl(pq, rows) == 20_000
    import pyarrow.parquet as papq

    assert papq.ParquetFile(pq).metadata.num_row_groups >= 2  # streamed in batches, not one table
    res = run_cli(capsys, "check", pq, "--json", tmp_path / "m.json")
    assert res.code == 1, res.err
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["total_pairs"] == 20_000 and figures["avg_chosen"] == pytest.approx(9.5)

    bad = [pair(0), {"prompt": "p", "chosen": "", "rejected": "r"}, pair(2)]
    badpq = tmp_path / "bad.parquet"
    write_jsonl(badpq, bad)
    res = run_cli(capsys, "check", badpq)
    assert res.code == 2 and "bad.parquet:2: field 'chosen': is an empty string" in res.err
    side = tmp_path / "side.jsonl"
    assert len(list(read_rows(badpq, Kind.DPO, on_error="skip", side_file=side))) == 2
    assert json.loads(side.read_text())["line"] == 2


def test_sft_scores_on_either_scale(tmp_path, capsys):
    conv = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]
    on01 = jsonl(
        tmp_path / "s01.jsonl", [{"messages": conv, "metadata": {"score": s}} for s in (0.9, 0.85, 0.5)]
    )
    run_cli(capsys, "check", on01, "--score-scale", "0-1", "--json", tmp_path / "a.json")
    figures = json.loads((tmp_path / "a.json").read_text())["figures"]
    assert figures["share_score_ge_min"] == pytest.approx(2 / 3)
    assert figures["thresholds"]["score_min_0_1"] == pytest.approx(0.8)
    assert "score_scale_warning" not in figures
    # read as 0-10 (the default), every score fails and the report says why it may be wrong
    run_cli(capsys, "check", on01, "--json", tmp_path / "b.json")
    figures = json.loads((tmp_path / "b.json").read_text())["figures"]
    assert figures["share_score_ge_min"] == 0.0 and "--score-scale 0-1" in figures["score_scale_warning"]
    # a row that says its own scale wins; 8.0 of 10 meets the guide's 0.80
    mixed = jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"messages": conv, "metadata": {"score": 8.0}},
            {"messages": conv, "metadata": {"score": 0.95, "score_scale": "0-1"}},
            {"messages": conv, "metadata": {"score": 7.9}},
        ],
    )
    result = check_file(mixed)
    assert result.figures["share_score_ge_min"] == pytest.approx(2 / 3)
    score_gate = next(g for g in result.gates if g.name == "score")
    assert score_gate.first_lines == [3]


def test_rlvr_entry_point_inferred_from_the_tests(tmp_path):
    tests = ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(-1, 1) == 0"]
    rows = [
        {"task_id": "hidden", "prompt": "Write a function that sums two numbers.", "tests": tests},
        {"task_id": "named", "prompt": "Write add(a, b) returning a + b.", "tests": tests},
        {
            "task_id": "harness",
            "prompt": "Complete it.",
            "tests": "def check(candidate):\n    assert candidate(1) == 2\n",
        },
    ]
    result = check_file(jsonl(tmp_path / "t.jsonl", rows))
    f = result.figures
    assert f["entry_point_hidden_tasks"] == 1 and f["entry_point_hidden_examples"] == ["hidden"]
    assert f["entry_point_inferred_from_tests"] == 2
    gate = next(g for g in result.gates if g.name == "entry_point_in_prompt")
    assert gate.first_lines == [1]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty.jsonl: the file is empty"),
        (b"\xef\xbb\xbf" + json.dumps(pair(0)).encode() + b"\r\n", None),
    ],
)
def test_empty_file_and_bom_through_the_cli(tmp_path, capsys, content, expected):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    res = run_cli(capsys, "check", path)
    if expected is None:
        assert res.code == 1 and "total_pairs" in res.out  # read fine; the 1000-pair gate fails
    else:
        assert res.code == 2 and expected in res.err and str(tmp_path) in res.err


def test_oversized_line_through_the_cli(tmp_path, capsys):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.write(json.dumps(pair(0)).encode() + b"\n")
        fh.write(json.dumps({**pair(1), "chosen": "x" * (17 * 1024 * 1024)}).encode() + b"\n")
    res = run_cli(capsys, "check", path)
    assert res.code == 2 and "big.jsonl:2: line is" in res.err and "MiB limit" in res.err


def test_split_cli_and_bad_share(tmp_path, capsys):
    data = jsonl(tmp_path / "p.jsonl", [pair(i % 40) for i in range(200)])
    res = run_cli(capsys, "split", data, "--validation", "0.2")
    assert res.code == 0, res.err
    train = [json.loads(x)["prompt"] for x in (tmp_path / "p_train.jsonl").read_text().splitlines()]
    val = [json.loads(x)["prompt"] for x in (tmp_path / "p_val.jsonl").read_text().splitlines()]
    assert len(train) + len(val) == 200 and not set(train) & set(val)
    res = run_cli(capsys, "split", data, "--validation", "2")
    assert res.code == 2 and "Traceback" not in res.err


def test_an_internal_error_is_not_a_gate_failure(tmp_path, capsys, monkeypatch):
    import alignforge.quality.check_stage as check_stage

    def boom(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(check_stage, "check_file", boom)  # what the check stage calls
    res = run_cli(capsys, "check", jsonl(tmp_path / "p.jsonl", [pair(0)]))
    assert res.code == 3 and "internal error: RuntimeError: a bug" in res.err


def test_default_gates_state_every_scale():
    # every score-bearing gate says which scale it is on
    for line in DEFAULT_GATES_YAML.splitlines():
        if "score" in line.split(":")[0] and "{" in line:
            assert "0-10" in line or "0-1" in line, line


def test_failing_rows_per_gate_ready_to_filter(tmp_path, capsys):
    rows = [
        pair(0),
        pair(1, c=7.0),  # chosen_score and score_gap (7 - 3 = 4 passes the gap: only chosen_score)
        pair(0),  # exact duplicate of line 1
        {**pair(3), "rejected": pair(3)["chosen"]},  # identical chosen and rejected
        pair(4, c=9.0, r=7.5),  # rejected_score and score_gap
    ]
    data = jsonl(tmp_path / "p.jsonl", rows)
    res = run_cli(
        capsys, "check", data, "--failing-rows", tmp_path / "failing", "--keep-passing", tmp_path / "ok.jsonl"
    )
    assert res.code == 1 and "4 rows failing a row-level gate" in res.out

    def lines(gate: str) -> list[int]:
        path = tmp_path / "failing" / f"{gate}.jsonl"
        return [json.loads(x)["line"] for x in path.read_text().splitlines()] if path.exists() else []

    assert lines("chosen_score") == [2]
    assert lines("rejected_score") == [5] and lines("score_gap") == [5]
    assert lines("unique") == [3] and lines("not_identical") == [4]
    kept = [json.loads(x) for x in (tmp_path / "ok.jsonl").read_text().splitlines()]
    assert kept == [rows[0]]
    row = json.loads((tmp_path / "failing" / "chosen_score.jsonl").read_text())
    assert row["gate"] == "chosen_score" and row["row"] == rows[1]


@pytest.mark.slow
def test_sft_conversations_render_through_the_embedded_chat_template(tmp_path, capsys):
    conv = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    pc = {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "completion": [{"role": "assistant", "content": "4"}],
    }
    data = jsonl(tmp_path / "s.jsonl", [{"messages": conv}, pc])  # one shape per file (both conversational)
    res = run_cli(capsys, "check", data, "--tokenizer", "embedded", "--json", tmp_path / "m.json")
    assert res.code == 1, res.err  # 2 rows < 1000: the row-count gate fails, nothing else
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["render_failures"] == 0 and figures["messages_valid_share"] == 1.0
    res = run_cli(capsys, "check", data, "--json", tmp_path / "n.json")
    assert json.loads((tmp_path / "n.json").read_text())["figures"]["render_failures"] is None  # not measured
