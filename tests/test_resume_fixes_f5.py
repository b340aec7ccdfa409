"""What a rerun does with the outputs and the record an earlier run left, through the real CLI.

Covered: a stage that resumes by key (verify here) refuses outputs made from other inputs or
parameters, naming what changed, and outputs changed after the run finished (``--fresh`` starts
over; a changed ``--k`` still resumes); a run that fails before it touched an output leaves the
record as it was; a complete last row without its newline is kept on resume; ``check`` refuses an
HTML report onto its data when it writes no --json / --keep-passing, and leaves no
``running`` record when it fails on bad input; judge refuses a judgement of an edited input row
and DPO rows of a changed threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _cli import run_cli
from _generate_helpers import dpo_rule, write_prompts
from _llm_helpers import FakeServer

from alignforge.llm import ChatRequest
from alignforge.stages import StageRecord, record_path

TASKS = [
    {"task_id": "m1", "prompt": "What is 6*3?", "answer": "18", "domain": "math"},
    {"task_id": "m2", "prompt": "What is 2+2?", "answer": "4", "domain": "math"},
]
ANSWERS = ["18", "17", "4", "5"]  # m1 twice, m2 twice: half pass
PAIRS = [
    {"prompt": "Explain topic 0 briefly.", "chosen": "A clear and correct answer.", "rejected": "No."},
    {"prompt": "Explain topic 1 briefly.", "chosen": "Another clear answer here.", "rejected": "Eh."},
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _completions(path: Path, answers: list[str]) -> Path:
    tids = ["m1", "m1", "m2", "m2", "m1", "m2"]
    return _write(
        path, [{"task_id": tids[i], "completion": f"The answer is {a}"} for i, a in enumerate(answers)]
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def verify_run(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """``verify`` of ANSWERS once (pass@1 0.5); returns a function that reruns it with extra args."""
    tasks = _write(tmp_path / "tasks.jsonl", TASKS)
    comp = _completions(tmp_path / "comp.jsonl", ANSWERS)
    out = tmp_path / "v.jsonl"

    def again(*extra: str):  # type: ignore[no-untyped-def]
        return run_cli(capsys, "verify", "--tasks", tasks, "--completions", comp, "--out", out, *extra)

    first = again("--k", "1")
    assert first.code == 0 and "pass@1 0.5000" in first.out, first
    return again


# --- bug 1: a changed input or parameter is not resumed from -------------------------------------


@pytest.mark.parametrize("answers", [["18", "18", "4", "5"], ["18", "17", "4"]], ids=["edited", "fewer"])
def test_verify_refuses_verdicts_of_a_changed_completions_file(verify_run, tmp_path, answers):
    """pass@1 of the new file is 0.75 either way (the mean over tasks of each one's pass rate)."""
    out = tmp_path / "v.jsonl"
    verdicts, record = out.read_bytes(), record_path(out).read_bytes()
    _completions(tmp_path / "comp.jsonl", answers)
    res = verify_run("--k", "1")
    assert res.code == 2, res
    assert "input 'completions'" in res.err and str(tmp_path / "comp.jsonl") in res.err, res.err
    assert "--fresh" in res.err and str(record_path(out)) in res.err, res.err
    assert "pass@1" not in res.out
    assert out.read_bytes() == verdicts and record_path(out).read_bytes() == record

    fresh = verify_run("--k", "1", "--fresh")
    assert fresh.code == 0, fresh
    passed = [r["passed"] for r in _rows(out)]
    assert passed == [a in ("18", "4") for a in answers]
    assert "pass@1 0.7500" in fresh.out


def test_verify_refuses_a_changed_parameter_and_names_it(verify_run, tmp_path):
    res = verify_run("--k", "1", "--timeout", "7")
    assert res.code == 2, res
    assert "parameter 'timeout_s' was 5.0, now 7.0" in res.err, res.err
    rec = StageRecord.read(record_path(tmp_path / "v.jsonl"))
    assert rec is not None and rec.status == "finished" and rec.params["timeout_s"] == 5.0


def test_verify_resumes_with_other_ks(verify_run):
    """``ks`` only re-counts pass@k over the verdicts: documented to resume, not refused."""
    res = verify_run("--k", "1,2")
    assert res.code == 0, res
    assert "resumed: 4 rows" in res.out and "written 0" in res.out
    assert "pass@1 0.5000  pass@2 1.0000" in res.out


def test_a_killed_run_of_other_parameters_is_not_resumed_either(verify_run, tmp_path):
    out = tmp_path / "v.jsonl"
    rec = StageRecord.read(record_path(out))
    assert rec is not None
    rec.status, rec.finished, rec.outputs = "running", None, {}  # what a SIGKILL mid-run leaves
    rec.write(record_path(out))
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]))
    res = verify_run("--k", "1", "--memory-mb", "512")
    assert res.code == 2 and "parameter 'memory_mb' was 1024, now 512" in res.err, res
    same = verify_run("--k", "1")  # the same parameters resume at row 3
    assert same.code == 0 and "resumed: 2 rows" in same.out and "pass@1 0.5000" in same.out, same


# --- bug 2: outputs changed after a run finished are not resumed from ----------------------------


def test_verify_refuses_verdicts_edited_after_the_run_finished(verify_run, tmp_path):
    out = tmp_path / "v.jsonl"
    out.write_text(out.read_text().replace('"passed":false', '"passed":true'))
    assert all(r["passed"] for r in _rows(out))
    res = verify_run("--k", "1")
    assert res.code == 2, res
    assert f"{out} was changed after the run that wrote it finished" in res.err, res.err
    assert "pass@1" not in res.out
    fresh = verify_run("--k", "1", "--fresh")
    assert fresh.code == 0 and "pass@1 0.5000" in fresh.out, fresh


def test_removing_the_output_starts_over(verify_run, tmp_path):
    (tmp_path / "v.jsonl").unlink()
    res = verify_run("--k", "1")
    assert res.code == 0 and "written 4" in res.out and "pass@1 0.5000" in res.out, res


# --- bug 6a: a run that fails before it starts leaves the record as it was ----------------------


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    yield srv
    srv.stop()


def _dpo_reply(body: dict[str, Any], attempt: int) -> str:
    req = ChatRequest.chat(body["messages"], temperature=body.get("temperature", 1.0), seed=body.get("seed"))
    return dpo_rule(req)


def _llm(srv: FakeServer, price: str = "[0,0]") -> list[str]:
    return srv.cli_args(f"price={price}")


def test_an_invalid_option_keeps_the_finished_record(server, tmp_path, capsys):
    server.reply = _dpo_reply
    write_prompts(tmp_path / "p.jsonl", 2)
    out = tmp_path / "pairs.jsonl"
    cmd = ["generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--out", out, "--max-rounds", "1"]
    first = run_cli(capsys, *cmd, *_llm(server))
    assert first.code == 0, first
    record = record_path(out).read_bytes()
    assert json.loads(record)["status"] == "finished"
    bad = run_cli(capsys, *cmd, *_llm(server, price="[1]"))
    assert bad.code == 2 and "price" in bad.err, bad
    assert record_path(out).read_bytes() == record


def test_a_missing_input_leaves_no_running_record(tmp_path, capsys):
    out = tmp_path / "pairs.jsonl"
    res = run_cli(capsys, "generate", "dpo", "--prompts", tmp_path / "missing.jsonl", "--out", out)
    assert res.code == 2 and "missing.jsonl" in res.err, res
    assert not record_path(out).exists()


# --- bug 7: a complete last row without its newline is kept ---------------------------------------


def test_a_complete_last_row_without_newline_is_kept_on_resume(verify_run, tmp_path):
    out = tmp_path / "v.jsonl"
    whole = out.read_text()
    record_path(out).unlink()  # as after a kill before the record was written: the stage resumes
    out.write_text(whole.rstrip("\n"))
    res = verify_run("--k", "1")
    assert res.code == 0 and "resumed: 4 rows" in res.out and "written 0" in res.out, res
    assert out.read_text() == whole

    record_path(out).unlink()
    lines = whole.splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:25])  # a torn last row is still cut and redone
    res = verify_run("--k", "1")
    assert res.code == 0 and "resumed: 3 rows" in res.out and "written 1" in res.out, res
    assert [r["sample_index"] for r in _rows(out)] == [0, 1, 0, 1]


# --- check: (a) outputs onto the data without a recorded output, (b) no `running` record ------


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--html", "{data}"], "output 'html'"),
        (["--html", "{link}"], "output 'html'"),
        (["--on-error", "skip", "--side-file", "{data}"], "side file"),
    ],
    ids=["html", "html-link", "side-file"],
)
def test_check_without_json_refuses_an_output_onto_its_data(tmp_path, capsys, flags, said):
    data = _write(tmp_path / "p.jsonl", PAIRS)
    (tmp_path / "link.html").symlink_to(data)
    before = data.read_bytes()
    args = [f.format(data=data, link=tmp_path / "link.html") for f in flags]
    res = run_cli(capsys, "check", data, *args)
    assert res.code == 2, res
    assert said in res.err and str(data) in res.err, res.err
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "p.jsonl"]


def test_check_failing_on_bad_input_leaves_the_record_it_found(tmp_path, capsys):
    data = _write(tmp_path / "p.jsonl", PAIRS)
    metrics = tmp_path / "m.json"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    res = run_cli(capsys, "check", bad, "--json", tmp_path / "b.json")
    assert res.code == 2 and "bad.jsonl:1" in res.err, res
    assert not record_path(tmp_path / "b.json").exists()

    ok = run_cli(capsys, "check", data, "--json", metrics)
    assert ok.code in (0, 1), ok
    record = record_path(metrics).read_bytes()
    data.write_text("not json\n")
    res = run_cli(capsys, "check", data, "--json", metrics)
    assert res.code == 2 and "p.jsonl:1" in res.err, res
    assert record_path(metrics).read_bytes() == record


# --- bug 1 for the judge and DPO: their stages still have to set resumes_by_key ------------------


def _judge_reply(body: dict[str, Any], attempt: int) -> str:
    item = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    return "Score: 8\nRationale: fine." if "clear" in item else "Score: 2\nRationale: poor."


def test_judge_refuses_scores_of_swapped_pairs(server, tmp_path, capsys):
    server.reply = _judge_reply
    data = _write(tmp_path / "pairs.jsonl", PAIRS)
    out = tmp_path / "judged.jsonl"
    cmd = ["judge", data, "--out", out, *_llm(server)]
    assert run_cli(capsys, *cmd).code == 0
    _write(data, [{**p, "chosen": p["rejected"], "rejected": p["chosen"]} for p in PAIRS])
    res = run_cli(capsys, *cmd)
    assert res.code == 2 and "line 1 made from other text" in res.err, res
    assert len(out.read_text().splitlines()) == len(PAIRS)  # nothing lost, nothing added


def test_generate_dpo_refuses_rows_of_a_changed_threshold(server, tmp_path, capsys):
    server.reply = _dpo_reply
    write_prompts(tmp_path / "p.jsonl", 2)
    out = tmp_path / "pairs.jsonl"
    cmd = ["generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--out", out, "--max-rounds", "1"]
    assert run_cli(capsys, *cmd, *_llm(server)).code == 0
    res = run_cli(capsys, *cmd, "--chosen-threshold", "9.5", *_llm(server))
    assert res.code == 2 and "parameter 'chosen_threshold' was 9.0, now 9.5" in res.err, res
