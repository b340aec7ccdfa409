"""The workflow runner on tiny real stages (tests/_workflow_stages.py): manifest, reuse, reruns of
what changed, gates that stop the run, SIGKILL resume, status, and the CLI's exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tests._workflow_stages  # noqa: F401  (registers wftest.upper / wftest.count)
from alignforge.errors import ConfigError
from alignforge.workflow import GateStop, load_workflow, run_workflow, workflow_status

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp: Path, body: str, rows: int = 5) -> Path:
    data = tmp / "in.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(rows)))
    wf = tmp / "wf.yaml"
    wf.write_text(textwrap.dedent(body))
    return wf


CHAIN = """\
workflow: stages
stages:
  - name: a
    stage: wftest.upper
    params: {{data: in.jsonl, out: run:a.jsonl}}
  - name: b
    stage: wftest.upper
    params: {{data: "@a.out", out: run:b.jsonl, suffix: "{suffix}"}}
  - name: c
    stage: wftest.count
    params: {{data: "@b.out", out: run:c.json}}
    gates: {{rows: {{min: {min_rows}}}}}
"""


def _executions(run: Path) -> list[str]:
    log = run / "executions.log"
    return log.read_text().split() if log.exists() else []


def test_run_writes_manifest_and_rerun_reuses_keeping_finished_times(tmp_path):
    wf = _write(tmp_path, CHAIN.format(suffix="!", min_rows=1))
    run = tmp_path / "run"
    m = run_workflow(wf, run)
    assert [s["status"] for s in m["stages"]] == ["finished"] * 3
    assert _executions(run) == ["a.jsonl", "b.jsonl", "c.json"]
    assert (run / "b.jsonl").read_text().splitlines()[0] == '{"text": "ROW 0!"}'
    disk = json.loads((run / "manifest.json").read_text())
    c = disk["stages"][2]
    assert c["outputs"] == {"out": "c.json"} and c["gates"][0]["name"] == "rows" and c["gates"][0]["passed"]
    assert set(c["gates"][0]) == {"name", "figure", "value", "op", "bound", "unit", "passed", "on_fail"}
    finished = [s["finished"] for s in disk["stages"]]
    assert all(isinstance(t, float) for t in finished)

    m2 = run_workflow(wf, run)
    assert _executions(run) == ["a.jsonl", "b.jsonl", "c.json"]  # nothing ran again
    assert [s["finished"] for s in m2["stages"]] == finished
    assert m2["created"] == disk["created"]


def test_changed_parameter_reruns_that_stage_and_after_it_only(tmp_path):
    run = tmp_path / "run"
    run_workflow(_write(tmp_path, CHAIN.format(suffix="!", min_rows=1)), run)
    before = {s["name"]: s["finished"] for s in json.loads((run / "manifest.json").read_text())["stages"]}
    run_workflow(_write(tmp_path, CHAIN.format(suffix="?", min_rows=1)), run)
    assert _executions(run)[3:] == ["b.jsonl", "c.json"]
    after = {s["name"]: s["finished"] for s in json.loads((run / "manifest.json").read_text())["stages"]}
    assert after["a"] == before["a"] and after["b"] > before["b"] and after["c"] > before["c"]
    assert (run / "b.jsonl").read_text().splitlines()[0] == '{"text": "ROW 0?"}'


def test_changed_input_reruns_from_the_first_stage(tmp_path):
    run = tmp_path / "run"
    wf = _write(tmp_path, CHAIN.format(suffix="!", min_rows=1))
    run_workflow(wf, run)
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": "new"}) + "\n")
    run_workflow(wf, run)
    assert _executions(run)[3:] == ["a.jsonl", "b.jsonl", "c.json"]
    assert json.loads((run / "c.json").read_text()) == {"rows": 1}


def test_failed_gate_stops_the_run_and_is_named(tmp_path):
    body = CHAIN.format(suffix="", min_rows=10) + (
        '  - name: d\n    stage: wftest.count\n    params: {data: "@a.out", out: run:d.json}\n'
    )
    run = tmp_path / "run"
    with pytest.raises(GateStop, match=r"c: gate rows failed: 5 \(needs >= 10"):
        run_workflow(_write(tmp_path, body), run)
    st = workflow_status(run)
    assert [s["status"] for s in st["stages"]] == ["finished", "finished", "failed", "pending"]
    assert st["stopped_at"] == "c" and "gate rows failed" in st["stages"][2]["error"]
    assert "d.json" not in _executions(run)


def test_cli_run_status_and_exit_codes(tmp_path):
    wf = _write(tmp_path, CHAIN.format(suffix="", min_rows=10))
    run = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    code = "import sys, tests._workflow_stages; from alignforge.cli import main; main(sys.argv[1:])"
    cli = [sys.executable, "-c", code]
    p = subprocess.run(
        [*cli, "workflow", "run", str(wf), "--run-dir", str(run)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert p.returncode == 1, p.stderr
    assert "gate rows failed" in p.stderr
    p = subprocess.run(
        [*cli, "workflow", "status", str(run), "--json"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert {"stages", "decision"} <= set(st) and st["decision"] is None
    assert [s["name"] for s in st["stages"]] == ["a", "b", "c"]
    assert {"name", "status", "gates", "started", "finished"} <= set(st["stages"][0])
    p = subprocess.run(
        [*cli, "workflow", "status", str(run)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert "failed    c" in p.stdout and "stopped at c" in p.stdout
    html = tmp_path / "dash.html"
    p = subprocess.run(
        [*cli, "workflow", "report", str(run), "--html", str(html)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    assert html.read_text().lstrip().lower().startswith("<!doctype html")


def test_sigkill_resumes_at_the_stage_and_the_row(tmp_path):
    body = """\
    workflow: stages
    stages:
      - name: a
        stage: wftest.upper
        params: {data: in.jsonl, out: run:a.jsonl}
      - name: slow
        stage: wftest.upper
        params: {data: "@a.out", out: run:slow.jsonl, delay: 0.3}
      - name: c
        stage: wftest.count
        params: {data: "@slow.out", out: run:c.json}
    """
    wf = _write(tmp_path, body, rows=30)
    run = tmp_path / "run"
    code = f"import tests._workflow_stages; from alignforge.workflow import run_workflow; run_workflow({str(wf)!r}, {str(run)!r})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    slow = run / "slow.jsonl"
    try:
        while not (slow.exists() and len(slow.read_text().splitlines()) >= 3):
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:  # a failed wait: without this the test would wait for the whole run
            proc.kill()
        proc.wait()
    st = workflow_status(run)
    assert [s["status"] for s in st["stages"]] == ["finished", "running", "pending"]
    written = len(slow.read_text().splitlines())
    assert 3 <= written < 30
    record = json.loads((run / "slow.jsonl.stage.json").read_text())
    assert record["status"] == "running"
    first_start = record["started"]  # the killed attempt's start, kept by the resumed one

    m = run_workflow(wf, run)
    assert [s["status"] for s in m["stages"]] == ["finished"] * 3
    assert _executions(run) == ["a.jsonl", "slow.jsonl", "slow.jsonl", "c.json"]  # a not redone
    rows = [json.loads(x)["text"] for x in slow.read_text().splitlines()]
    assert rows == [f"ROW {i}" for i in range(30)]  # no duplicate, no gap
    assert m["stages"][1]["started"] == first_start
    assert m["stages"][1]["figures"]["rows"] == 30


def test_status_of_a_folder_without_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no manifest"):
        workflow_status(tmp_path)


@pytest.mark.slow
def test_ray_executor_runs_data_stages_as_ray_tasks(tmp_path):
    ray = pytest.importorskip("ray")
    ray.cloudpickle.register_pickle_by_value(tests._workflow_stages)
    body = CHAIN.format(suffix="!", min_rows=1).replace("workflow: stages", "workflow: stages\nexecutor: ray")
    run = tmp_path / "run"
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        m = run_workflow(_write(tmp_path, body), run)
    finally:
        ray.shutdown()
    assert [s["status"] for s in m["stages"]] == ["finished"] * 3
    assert all(s["figures"]["executor"] == "ray" for s in m["stages"])
    assert all(s["figures"]["pid"] != os.getpid() for s in m["stages"])  # ran in Ray workers
    assert json.loads((run / "c.json").read_text()) == {"rows": 5}
    ids = {s["fingerprint"] for s in m["stages"]}
    m2 = run_workflow(_write(tmp_path, body.replace("executor: ray", "executor: local")), run)
    assert {s["fingerprint"] for s in m2["stages"]} == ids and _executions(run) == [
        "a.jsonl",
        "b.jsonl",
        "c.json",
    ]


def test_load_builds_every_step_before_running(tmp_path):
    wf = load_workflow(_write(tmp_path, CHAIN.format(suffix="", min_rows=1)), tmp_path / "run")
    assert [s.name for s in wf.steps] == ["a", "b", "c"]
    assert not (tmp_path / "run").exists()


PAIRS = [
    {
        "prompt": "p1",
        "chosen": "good answer one",
        "rejected": "bad one",
        "metadata": {"chosen_score": 9.5, "rejected_score": 3},
    },
    {
        "prompt": "p2",
        "chosen": "good answer two",
        "rejected": "bad two",
        "metadata": {"chosen_score": 9.5, "rejected_score": 8},
    },
    {
        "prompt": "p3",
        "chosen": "good answer three",
        "rejected": "bad three",
        "metadata": {"chosen_score": 9.2, "rejected_score": 2},
    },
]
CHECK = """\
workflow: stages
stages:
  - name: check
    stage: check
    params:
      data: pairs.jsonl
      {keep}json_out: run:check.json
      failing_rows: run:failing_rows
      gates_stage: preference_data
      gates:
        version: 1
        preference_data:
          row_gates: {{chosen_score: {{min: 9.0}}, rejected_score: {{max: 6.0}}}}
          total_pairs: {{min: {total}}}
"""


def test_a_failed_pair_gate_names_the_gate_and_its_failing_rows_file(tmp_path):
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in PAIRS))
    run = tmp_path / "run"
    with pytest.raises(GateStop) as info:
        run_workflow(_write(tmp_path, CHECK.format(keep="", total=3)), run)
    failing = run / "failing_rows" / "rejected_score.jsonl"
    assert f"gate rejected_score failed: 1 (needs <= 0 rows failing <= 6.0); failing rows: {failing}" in str(
        info.value
    )
    assert [json.loads(x)["row"]["prompt"] for x in failing.read_text().splitlines()] == ["p2"]

    # keep-passing: the failing pair is dropped (flagged), the file's gates decide
    run2 = tmp_path / "run2"
    m = run_workflow(
        _write(tmp_path, CHECK.format(keep="keep_passing: run:kept.jsonl\n      ", total=3)), run2
    )
    gates = {g["name"]: g for g in m["stages"][0]["gates"]}
    assert gates["rejected_score"]["on_fail"] == "flag" and not gates["rejected_score"]["passed"]
    assert [json.loads(x)["prompt"] for x in (run2 / "kept.jsonl").read_text().splitlines()] == ["p1", "p3"]
    with pytest.raises(
        GateStop, match=r"gate total_pairs failed: 3 \(needs >= 4.*failing rows under .*failing_rows"
    ):
        run_workflow(
            _write(tmp_path, CHECK.format(keep="keep_passing: run:kept.jsonl\n      ", total=4)), run2
        )


def test_keep_passing_check_only_flags_file_counts_its_row_gates_dropped(tmp_path):
    """Identical / duplicate pairs stop a plain check; under keep-passing they were dropped by their
    row gates (the kept file holds none), so those file gates flag instead of stopping the run."""
    from alignforge.quality.check_stage import CheckStage, run_check
    from alignforge.workflow.run import gates_of

    rows = [
        {
            "prompt": f"q{i}",
            "chosen": f"good answer {i}",
            "rejected": "good  answer 0"
            if i == 0
            else f"bad {i}",  # row 0: identical once spaces are normalised
            "metadata": {"chosen_score": 9.5, "rejected_score": 3.0},
        }
        for i in range(6)
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [*rows, rows[1]]))  # and one exact duplicate
    gates = {
        "preference_data": {
            "row_gates": {"not_identical": True, "unique": True},
            "identical_pairs": {"max": 0},
            "duplicate_pairs": {"max": 0},
        }
    }
    plain, _ = run_check(CheckStage(data, json_out=tmp_path / "m.json", gates=gates))
    kept, _ = run_check(CheckStage(data, keep_passing=tmp_path / "kept.jsonl", gates=gates))
    on_fail = {g["name"]: g["on_fail"] for g in gates_of(plain) if not g["passed"]}
    assert on_fail["identical_pairs"] == on_fail["duplicate_pairs"] == "stop"
    on_fail = {g["name"]: g["on_fail"] for g in gates_of(kept) if not g["passed"]}
    assert on_fail["identical_pairs"] == on_fail["duplicate_pairs"] == "flag"
    assert len((tmp_path / "kept.jsonl").read_text().splitlines()) == 5
