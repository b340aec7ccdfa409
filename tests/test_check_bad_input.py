"""Issue #11 §4: five classes of bad input `check` used to miss, each named with its file, line and field.

Errors (exit 2, `file:line: field 'x': ...`; with `--on-error skip` the row goes to the side file):
mixed standard/conversational shapes, completion turns that are not `assistant`, RLVR tests that do
not parse. Warnings (printed and in the JSON, the run goes on): chosen equal to rejected once
whitespace is normalised (also the `not_identical` row gate), blank lines, RLVR rows repeating an
earlier row. The parallel byte-range scan gives the same answers across its range boundaries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignforge.io import DataError
from alignforge.quality.check import compute_figures
from alignforge.records import Kind
from alignforge.verify.engine import verify_completions
from alignforge.verify.tasks import load_tasks
from tests._cli import run_cli


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def bot(text: str) -> dict:
    return {"role": "assistant", "content": text}


def pair(i: int, **over: object) -> dict:
    row = {
        "prompt": f"question {i}?",
        "chosen": f"a careful answer {i}",
        "rejected": f"a sloppy answer {i}",
        "metadata": {"chosen_score": 9.5, "rejected_score": 3.0},
    }
    row.update(over)
    return row


def conv_pair(i: int, **over: object) -> dict:
    row = pair(
        i, prompt=[user(f"question {i}?")], chosen=[bot(f"careful {i}")], rejected=[bot(f"sloppy {i}")]
    )
    row.update(over)
    return row


def task(tid: str, tests: object, **over: object) -> dict:
    row = {"task_id": tid, "prompt": f"Write add(a, b) for {tid}.", "entry_point": "add", "tests": tests}
    row.update(over)
    return row


GOOD_TESTS = ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(-1, 1) == 0"]


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # a known error is one line, no traceback
    return lines[0]


# --- 1. one file mixing standard and conversational rows: an error ----------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([pair(0), conv_pair(1)], ":2: field 'prompt': mixed shapes: this row is conversational"),
        ([conv_pair(0), conv_pair(1), pair(2)], ":3: field 'prompt': mixed shapes: this row is standard"),
        (  # SFT: a messages row fixes the file as conversational; a standard prompt/completion row breaks it
            [{"messages": [user("hi"), bot("hello")]}, {"prompt": "2+2?", "completion": "4"}],
            ":2: field 'prompt': mixed shapes",
        ),
        (  # KTO
            [
                {"prompt": "p", "completion": "c", "label": True},
                {"prompt": [user("p")], "completion": [bot("c")], "label": False},
            ],
            ":2: field 'prompt': mixed shapes",
        ),
        (  # inside one row: a string prompt with message-list completions
            [pair(0, chosen=[bot("careful")], rejected=[bot("sloppy")])],
            ":1: field 'chosen': is a list of messages (conversational) while 'prompt' is a string",
        ),
        (
            [{"prompt": [user("p")], "completion": "c", "label": True}],
            ":1: field 'completion': is a string (standard) while 'prompt' is a list of messages",
        ),
    ],
)
def test_mixed_shapes_are_an_error(tmp_path, capsys, rows, expected):
    path = jsonl(tmp_path / "d.jsonl", rows)
    res = run_cli(capsys, "check", path)
    assert res.code == 2
    assert f"{path}{expected}" in one_error_line(res.err)


def test_mixed_shapes_skip_mode_keeps_the_first_valid_rows_shape(tmp_path, capsys):
    # Line 1 is broken JSON, so line 2 (conversational) fixes the shape; lines 3 and 5 are standard.
    rows = ["{broken", conv_pair(0), pair(1), conv_pair(2), pair(3)]
    path = jsonl(tmp_path / "d.jsonl", rows)
    res = run_cli(capsys, "check", path, "--on-error", "skip", "--json", tmp_path / "m.json")
    assert res.code == 1, res.err  # the data is read; the gates (1000 pairs...) fail
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["shape"] == "conversational"
    assert report["figures"]["total_pairs"] == 2 and report["invalid_rows"]["skipped"] == 3
    side = [json.loads(x) for x in (tmp_path / "d.jsonl.errors.jsonl").read_text().splitlines()]
    assert [s["line"] for s in side] == [1, 3, 5]
    assert all("field 'prompt': mixed shapes" in s["error"] for s in side[1:])


# --- 2. completion turns that are not assistant turns: an error ----------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            conv_pair(0, chosen=[user("careful")]),
            ":1: field 'chosen[0].role': expected 'assistant', got 'user'",
        ),
        (
            conv_pair(0, rejected=[bot("sloppy"), {"role": "system", "content": "x"}]),
            ":1: field 'rejected[1].role': expected 'assistant', got 'system'",
        ),
        (
            {"prompt": [user("p")], "completion": [user("again")], "label": True},
            ":1: field 'completion[0].role': expected 'assistant', got 'user'",
        ),
        (
            {"prompt": [user("p")], "completion": [bot("a"), {"role": "tool", "content": "{}"}]},
            ":1: field 'completion[1].role': expected 'assistant', got 'tool'",
        ),
    ],
)
def test_completion_turns_must_be_assistant_turns(tmp_path, capsys, row, expected):
    path = jsonl(tmp_path / "d.jsonl", [row])
    res = run_cli(capsys, "check", path)
    assert res.code == 2
    assert f"{path}{expected}" in one_error_line(res.err)


def test_completion_turns_in_skip_mode_go_to_the_side_file(tmp_path, capsys):
    rows = [conv_pair(0), conv_pair(1, chosen=[user("careful")]), conv_pair(2)]
    path = jsonl(tmp_path / "d.jsonl", rows)
    res = run_cli(capsys, "check", path, "--on-error", "skip", "--json", tmp_path / "m.json")
    assert res.code == 1, res.err
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["figures"]["total_pairs"] == 2 and report["invalid_rows"]["skipped"] == 1
    (side,) = [json.loads(x) for x in (tmp_path / "d.jsonl.errors.jsonl").read_text().splitlines()]
    assert side["line"] == 2 and side["error"].startswith("field 'chosen[0].role': expected 'assistant'")


# --- 3. RLVR tests that do not parse: an error in check and an invalid task in verify -------------


@pytest.mark.parametrize(
    ("tests", "expected"),
    [
        (
            ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(1,, 1) == 2"],
            ":2: field 'tests[2]': does not parse as Python (SyntaxError",
        ),
        (
            "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) = 0\n",
            ":2: field 'tests': does not parse as Python (SyntaxError",
        ),
        ("def test_a():\nassert add(1, 2) == 3\n", ":2: field 'tests': does not parse as Python"),
    ],
)
def test_rlvr_tests_that_do_not_parse_are_an_error(tmp_path, capsys, tests, expected):
    path = jsonl(tmp_path / "t.jsonl", [task("ok", GOOD_TESTS), task("bad", tests)])
    res = run_cli(capsys, "check", path)
    assert res.code == 2
    assert f"{path}{expected}" in one_error_line(res.err)


def test_rlvr_unparsable_tests_skip_mode_and_stdio_cases(tmp_path, capsys):
    stdio = task("io", [{"input": "1 2\n", "output": "3\n"}] * 3)  # not code: nothing to parse
    rows = [
        task("ok", GOOD_TESTS),
        task("bad", ["assert add(1, 2) == 3", "assert (", *GOOD_TESTS[1:]]),
        stdio,
    ]
    path = jsonl(tmp_path / "t.jsonl", rows)
    res = run_cli(capsys, "check", path, "--on-error", "skip", "--json", tmp_path / "m.json")
    assert res.code == 1, res.err
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["figures"]["tasks"] == 2 and report["invalid_rows"]["skipped"] == 1
    (side,) = [json.loads(x) for x in (tmp_path / "t.jsonl.errors.jsonl").read_text().splitlines()]
    assert side["line"] == 2 and side["error"].startswith("field 'tests[1]': does not parse as Python")


def test_verify_refuses_a_task_whose_tests_do_not_parse(tmp_path, capsys):
    """An invalid task, named at loading with its line and test index; never a model failure (no verdict)."""
    tasks = jsonl(
        tmp_path / "t.jsonl", [task("ok", GOOD_TESTS), task("bad", ["assert add(1, 2) == 3", "assert ("])]
    )
    with pytest.raises(DataError, match=r"t\.jsonl:2: field 'tests\[1\]': does not parse as Python"):
        load_tasks(tasks)
    completions = [{"task_id": "bad", "completion": "def add(a, b):\n    return a + b\n"}]
    with pytest.raises(DataError, match=r"field 'tests\[1\]'"):
        list(verify_completions(tasks, completions, workers=1))
    with pytest.raises(DataError, match=r"task bad: field 'tests\[0\]'"):  # rows given as a mapping
        list(verify_completions({"bad": task("bad", ["assert ("])}, completions, workers=1))
    comp = jsonl(tmp_path / "c.jsonl", completions)
    res = run_cli(capsys, "verify", "--tasks", tasks, "--completions", comp, "--out", tmp_path / "v.jsonl")
    assert res.code == 2 and f"{tasks}:2: field 'tests[1]'" in one_error_line(res.err)
    assert not (tmp_path / "v.jsonl").exists() or not (tmp_path / "v.jsonl").read_text()  # no verdicts


# --- 4. chosen equal to rejected once whitespace is normalised: the not_identical row gate + a warning


def test_chosen_equal_to_rejected_after_whitespace_normalisation(tmp_path, capsys):
    rows = [
        pair(0),
        pair(1, chosen="Paris is the capital.", rejected="  Paris  is the\ncapital.\t"),
        pair(2, chosen="Paris is the capital.", rejected="Parisis the capital."),  # different words: fine
        conv_pair(3, chosen=[bot("Four.")], rejected=[bot(" Four. \n")]),
    ]
    path = jsonl(tmp_path / "d.jsonl", rows[:3])
    res = run_cli(
        capsys,
        "check",
        path,
        "--json",
        tmp_path / "m.json",
        "--failing-rows",
        tmp_path / "failing",
        "--keep-passing",
        tmp_path / "ok.jsonl",
    )
    assert res.code == 1, res.err
    assert f"warning: {path}:2: field 'rejected': equals 'chosen' once whitespace is normalised" in res.out
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["identical_pairs"] == 1 and figures["identical_pair_lines"] == [2]
    assert figures["row_failures"]["not_identical"]["first_lines"] == [2]
    failing = [
        json.loads(x)["line"] for x in (tmp_path / "failing" / "not_identical.jsonl").read_text().splitlines()
    ]
    assert failing == [2]
    kept = [json.loads(x)["prompt"] for x in (tmp_path / "ok.jsonl").read_text().splitlines()]
    assert "question 1?" not in kept and "question 2?" in kept
    # conversational pairs: per message, roles and whitespace-normalised contents
    conv = jsonl(tmp_path / "c.jsonl", [conv_pair(0), rows[3]])
    res = run_cli(capsys, "check", conv, "--json", tmp_path / "c.json")
    assert f"{conv}:2: field 'rejected': equals 'chosen'" in res.out
    assert json.loads((tmp_path / "c.json").read_text())["figures"]["identical_pair_lines"] == [2]


# --- 5. blank lines and repeated RLVR rows: warnings with their line numbers ---------------------


def test_blank_lines_are_reported_with_their_numbers(tmp_path, capsys):
    path = tmp_path / "d.jsonl"
    lines = [json.dumps(pair(0)), "", json.dumps(pair(1)), "   \t", json.dumps(pair(2)), ""]
    path.write_text("\n".join(lines) + "\n")
    for extra in ([], ["--on-error", "skip"]):
        res = run_cli(capsys, "check", path, "--json", tmp_path / "m.json", *extra)
        assert res.code == 1, res.err
        assert f"warning: {path}:2: 3 blank line(s) skipped, at lines 2, 4, 6" in res.out
        report = json.loads((tmp_path / "m.json").read_text())
        figures = report["figures"]
        assert figures["total_pairs"] == 3 and figures["blank_lines"] == 3
        assert figures["blank_line_numbers"] == [2, 4, 6]
        assert figures["warnings"][0].startswith(f"{path}:2: 3 blank line(s)")
    assert not (tmp_path / "d.jsonl.errors.jsonl").exists()  # blank lines are not errors


def test_repeated_rlvr_rows_name_both_lines(tmp_path, capsys):
    a = task("a", GOOD_TESTS)
    b = task("b", GOOD_TESTS, prompt="Write add(a, b), again.")
    rows = [a, b, a, task("a", GOOD_TESTS[:2]), b]  # line 4 reuses the id only: not a repeated row
    path = jsonl(tmp_path / "t.jsonl", rows)
    res = run_cli(capsys, "check", path, "--json", tmp_path / "m.json")
    assert res.code == 1, res.err
    assert f"warning: {path}:3: field '<row>': repeats line 1 exactly" in res.out
    assert f"warning: {path}:5: field '<row>': repeats line 2 exactly" in res.out
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["duplicate_rows"] == 2
    assert figures["duplicate_row_lines"] == [{"line": 3, "first_line": 1}, {"line": 5, "first_line": 2}]
    assert figures["duplicate_task_ids"] == 3  # lines 3, 4, 5 (the gate on ids is unchanged)


# --- the parallel byte-range scan ----------------------------------------------------------------


def _parallel(monkeypatch, chk, workers: int) -> None:
    monkeypatch.setattr(chk, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(chk.os, "sched_getaffinity", lambda _: set(range(workers)))


def test_parallel_scan_holds_the_second_range_to_the_first_rows_shape(tmp_path, capsys, monkeypatch):
    """The shape switches exactly where the second byte range starts: each range alone is one shape."""
    import alignforge.quality.check as chk

    std = [json.dumps(pair(0, pad=""))] + [json.dumps(pair(i)) for i in range(1, 400)]
    conv = [json.dumps(conv_pair(i)) for i in range(400, 700)]
    s, c = sum(len(x) + 1 for x in std), sum(len(x) + 1 for x in conv)
    assert c > s
    std[0] = json.dumps(pair(0, pad="x" * (c - s)))  # equal halves: the midpoint is the first conv line
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(std + conv) + "\n")
    assert path.stat().st_size // 2 == sum(len(x) + 1 for x in std)
    _parallel(monkeypatch, chk, 2)
    res = run_cli(capsys, "check", path)
    assert res.code == 2
    assert f"{path}:401: field 'prompt': mixed shapes: this row is conversational" in one_error_line(res.err)


def test_parallel_scan_reports_what_the_sequential_one_does(tmp_path, monkeypatch):
    """Blank lines, whitespace-identical pairs and (merged RLVR accumulators) repeated rows keep their
    whole-file line numbers across range boundaries."""
    import alignforge.quality.check as chk

    lines = [json.dumps(pair(i)) for i in range(3000)]
    lines[2500] = json.dumps(pair(2500, rejected=" a careful  answer 2500 "))  # line 2501
    lines[10] = ""  # line 11
    lines[2900] = "  "  # line 2901
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n")
    sequential = chk.check_file(path).figures
    assert sequential["blank_line_numbers"] == [11, 2901] and sequential["identical_pair_lines"] == [2501]
    _parallel(monkeypatch, chk, 3)
    parallel = chk.check_file(path).figures
    for name in ("blank_lines", "blank_line_numbers", "identical_pairs", "identical_pair_lines", "warnings"):
        assert parallel[name] == sequential[name], name
    assert parallel["row_failures"]["not_identical"]["first_lines"] == [2501]

    # RLVR: check reads these files in one pass, but their accumulators merge like DPO's.
    rows = [task(f"t{i}", GOOD_TESTS) for i in range(300)]
    rows[250] = dict(rows[5])  # a repeat in the last range of the row on line 6
    rows[260] = task("t7", GOOD_TESTS[:2])  # a repeated id only
    rows[270] = dict(rows[255])  # a repeat inside the last range
    rlvr = jsonl(tmp_path / "t.jsonl", rows)
    rules = {"unique_task_id": True, "tests_per_task": {"min": 3, "max": 5}}
    _, seq, _ = compute_figures(rlvr, kind="rlvr", rules=rules)
    merged = chk._scan_parallel(rlvr, Kind.RLVR, rules, 3).finish()
    assert seq["duplicate_row_lines"] == [{"line": 251, "first_line": 6}, {"line": 271, "first_line": 256}]
    for name in (
        "duplicate_rows",
        "duplicate_row_lines",
        "duplicate_task_ids",
        "tests_per_task_histogram",
        "tasks",
    ):
        assert merged[name] == seq[name], name
    assert merged["row_failures"] == seq["row_failures"]
    assert sorted(merged["duplicate_task_id_examples"]) == sorted(seq["duplicate_task_id_examples"])
