"""The RLVR workflow (seed 002): the file's errors name key and line, the verifiability gate, the
pass@k table and its gates, the dashboard's pass@k section in real Chromium (fast), and
examples/workflows/rlvr_demo.yaml end to end on the embedded model, SIGKILLed between RAFT cycles
and resumed without redoing a finished cycle (slow)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.stages import run_stage
from alignforge.workflow import load_workflow, run_workflow, workflow_status
from alignforge.workflow.dashboard import load_manifest, write_dashboard
from alignforge.workflow.rlvr_stages import PassAtKTable, VerifiedTasks
from alignforge.workflow.template import rlvr_template
from tests._browser import browser_page

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "workflows" / "rlvr_demo.yaml"


@pytest.fixture(autouse=True)
def _benchmarks(benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))


# --- the file ------------------------------------------------------------------------------------


def _fail(tmp: Path, text: str, pattern: str) -> None:
    wf = tmp / "rlvr.yaml"
    wf.write_text(text)
    with pytest.raises(ConfigError) as info:
        run_workflow(wf, tmp / "run")
    assert re.search(pattern, str(info.value)), str(info.value)
    assert str(info.value).startswith(f"{wf.resolve()}:")
    assert not (tmp / "run").exists()  # nothing ran, nothing written


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_bad_key_names_the_key_and_its_line(tmp_path: Path) -> None:
    text = DEMO.read_text().replace("  samples_per_prompt: 4", "  samples_per_promt: 4")
    n = _line_of(text, "samples_per_promt")
    _fail(tmp_path, text, rf"rlvr\.yaml:{n}: raft\.samples_per_promt: unknown key \(allowed here: .*cycles")
    # in the benchmark block (002's benchmark.yaml keys) and in the train config the workflow passes on
    text = DEMO.read_text().replace("  k_values: [1, 2]", "  k_value: [1, 2]")
    _fail(tmp_path, text, rf"rlvr\.yaml:{_line_of(text, 'k_value:')}: benchmark\.k_value: unknown key")
    text = DEMO.read_text().replace("max_steps: 2,", "max_stepz: 2,")
    _fail(
        tmp_path,
        text,
        rf"rlvr\.yaml:{_line_of(text, 'max_stepz')}: train\.training\.max_stepz: .*unknown key",
    )


def test_bad_values_are_named_before_anything_runs(tmp_path: Path) -> None:
    base = DEMO.read_text()
    text = base.replace("  k_values: [1, 2]", "  k_values: [1, 5]")
    _fail(tmp_path, text, r"benchmark\.samples_per_problem: 3 samples cannot give pass@5")
    text = base.replace(
        "  prompts: humaneval\n  task_ids: [HumanEval/23", "  prompts: humaneva\n  task_ids: [HumanEval/23"
    )
    _fail(tmp_path, text, r"data\.prompts: 'humaneva' is neither a prepared split \(humaneval, ")
    text = base.replace("  cycles: all", "  cycles: [1, 3]")
    _fail(tmp_path, text, r"benchmark\.cycles: cycles \[3\] are not among raft\.cycles 1\.\.2")
    text = base.replace("save_every_cycle: true", "save_every_cycle: false")
    _fail(tmp_path, text, r"checkpointing\.save_every_cycle: is false, so only cycle 2's weights are kept")
    text = base.replace("  on_fail: flag\n", "  on_fail: maybe\n")
    _fail(
        tmp_path,
        text,
        rf"rlvr\.yaml:{_line_of(text, 'maybe')}: gates\.on_fail: 'maybe' is not one of stop, flag",
    )


def test_the_template_comments_every_key_and_builds_every_step(tmp_path: Path) -> None:
    text = rlvr_template()
    wf = tmp_path / "rlvr.yaml"
    wf.write_text(text)
    body = yaml.safe_load(text)
    for section in ("model", "data", "raft", "verifier", "checkpointing", "benchmark", "gates"):
        assert isinstance(body[section], dict), section
    assert body["benchmark"]["samples_per_problem"] == 10 and body["benchmark"]["k_values"] == [1, 5, 10]
    for line in text.splitlines():
        if re.match(r"^\s*[a-z_]+:", line) and not line.rstrip().endswith(":"):
            assert "#" in line or line.strip().startswith(("training:", "compute:", "constraints:")), line
    wf_ = load_workflow(wf, tmp_path / "run")
    names = [s.name for s in wf_.steps]
    assert names == [
        "prepare.mbpp",
        "prepare.humaneval",
        "tasks.generate",
        "tasks.train",
        "tasks.benchmark",
        "bench.base",
        "raft.train",
        *[f"bench.cycle_{k}" for k in range(1, 6)],
        "bench.pass_at_k",
    ]
    by = {s.name: s for s in wf_.steps}
    assert by["tasks.generate"].stage is None
    raft = by["raft.train"].stage
    assert (
        raft is not None
        and raft.config.raft["cycles"] == 5
        and raft.config.rewards["functions"] == ["code_tests"]
    )
    assert raft.config.logging["save_every_cycle"] is True
    bench = by["bench.cycle_3"].stage
    assert bench is not None and bench.n == 10 and bench.ks == (1, 5, 10)
    assert bench.model == f"local:{tmp_path / 'run' / 'raft' / 'cycle_3'}"
    r = subprocess.run(
        [sys.executable, "-m", "alignforge", "workflow", "init", "rlvr"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0 and r.stdout == text


# --- the verifiability gate ------------------------------------------------------------------------


def _tasks_file(path: Path) -> Path:
    good = {
        "task_id": "t/add",
        "prompt": "def add(a, b):\n",
        "entry_point": "add",
        "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
        "solution": "def add(a, b):\n    return a + b\n",
    }
    body = {
        **good,
        "task_id": "t/body",
        "tests": "def check(candidate):\n    assert candidate(2, 2) == 4\n",
        "solution": "    return a + b\n",
    }
    broken = {**good, "task_id": "t/broken", "solution": "def add(a, b):\n    return a - b\n"}
    bare = {k: v for k, v in {**good, "task_id": "t/bare"}.items() if k != "solution"}
    math = {
        "task_id": "m/1",
        "prompt": "What is 2 + 3?",
        "answer": "5",
        "domain": "math",
        "solution": "2 + 3 = 5. The answer is 5",
    }
    path.write_text("".join(json.dumps(r) + "\n" for r in (good, body, broken, bare, math)))
    return path


def test_references_are_verified_failing_ones_dropped_with_reasons(tmp_path: Path) -> None:
    src = _tasks_file(tmp_path / "tasks.jsonl")
    stage = VerifiedTasks((str(src),), tmp_path / "out" / "train.jsonl")
    s = run_stage(stage)
    kept = [json.loads(x)["task_id"] for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert kept == ["t/add", "t/body", "m/1"]
    dropped = [json.loads(x) for x in (tmp_path / "out" / "train.dropped.jsonl").read_text().splitlines()]
    reasons = {d["task_id"]: d["metadata"]["drop_reasons"][0]["reason"] for d in dropped}
    assert reasons == {"t/broken": "reference_fails", "t/bare": "no_reference"}
    assert s.drop_reasons == {"reference_fails": 1, "no_reference": 1}
    assert s.figures["verifiability"] == {"code": pytest.approx(2 / 3), "math": 1.0}
    gates = {g["name"]: g for g in s.figures["gates"]}
    assert gates["verifiability.code"]["bound"] == 0.9 and not gates["verifiability.code"]["passed"]
    assert gates["verifiability.math"]["bound"] == 0.95 and gates["verifiability.math"]["passed"]
    assert "reference_failures" not in gates  # on_fail: drop
    verdicts = (tmp_path / "out" / "train.references.jsonl").read_text().splitlines()
    assert len(verdicts) == 4

    # stop: any failing reference is a stop gate of its own; a selection keeps the order asked for
    stop = VerifiedTasks(
        (str(src),),
        tmp_path / "stop" / "t.jsonl",
        task_ids=("t/broken", "t/add"),
        on_fail="stop",
        min_verifiability=0.5,
    )
    s = run_stage(stop)
    gates = {g["name"]: g for g in s.figures["gates"]}
    assert gates["reference_failures"]["value"] == 1 and not gates["reference_failures"]["passed"]
    assert gates["verifiability.code"]["passed"] and gates["verifiability.code"]["bound"] == 0.5
    with pytest.raises(ConfigError, match="task_ids: t/nope not in"):
        run_stage(VerifiedTasks((str(src),), tmp_path / "x" / "t.jsonl", task_ids=("t/nope",)))


# --- the pass@k table -----------------------------------------------------------------------------


def _report(folder: Path, model: str, **scores: float | None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"model": model, "n_tasks": 4, "samples_per_task": 4, "overall": scores}
    (folder / "report.json").write_text(json.dumps(body))
    return str(folder / "report.json")


def test_pass_at_k_table_rows_deltas_and_gates(tmp_path: Path) -> None:
    reports = (
        ("base", 0, _report(tmp_path / "base", "local", **{"pass@1": 0.5, "pass@2": 0.6})),
        ("cycle_1", 1, _report(tmp_path / "c1", "local:/r/cycle_1", **{"pass@1": 0.25, "pass@2": 0.7})),
        ("cycle_2", 2, _report(tmp_path / "c2", "local:/r/cycle_2", **{"pass@1": 0.45, "pass@2": None})),
    )
    st = PassAtKTable(reports, tmp_path / "t.json", (1, 2), max_pass1_drop=0.1, min_pass_at_k=((2, 0.5),))
    s = run_stage(st)
    table = json.loads((tmp_path / "t.json").read_text())
    assert [r["checkpoint"] for r in table["rows"]] == ["base", "cycle_1", "cycle_2"]
    assert table["rows"][1]["delta"] == {"pass@1": pytest.approx(-0.25), "pass@2": pytest.approx(0.1)}
    assert table["rows"][2]["delta"]["pass@2"] is None and table["rows"][0]["delta"]["pass@1"] == 0.0
    gates = {g["name"]: g for g in s.figures["gates"]}
    assert not gates["pass@1.cycle_1"]["passed"] and gates["pass@1.cycle_1"]["bound"] == pytest.approx(0.4)
    assert gates["pass@1.cycle_2"]["passed"]
    assert gates["pass@2.cycle_2.min"]["value"] is None and not gates["pass@2.cycle_2.min"]["passed"]
    assert s.figures["pass@1"] == {"base": 0.5, "cycle_1": 0.25, "cycle_2": 0.45}


# --- the dashboard --------------------------------------------------------------------------------


def _manifest(run: Path) -> dict[str, Any]:
    t0 = 1_780_000_000.0
    stages = [
        {
            "name": n,
            "title": n,
            "status": "finished",
            "started": t0 + i,
            "finished": t0 + i + 1,
            "duration_s": 1.0,
            "cost_usd": 0.0,
            "outputs": {},
            "gates": [],
            "figures": {},
            "report": None,
            "error": None,
        }
        for i, n in enumerate(
            [
                "prepare.humaneval",
                "tasks.train",
                "bench.base",
                "raft.train",
                "bench.cycle_1",
                "bench.cycle_2",
                "bench.cycle_3",
                "bench.pass_at_k",
            ]
        )
    ]
    rows = []
    for cycle, p1, p5 in ((0, 0.30, 0.50), (1, 0.34, 0.55), (2, 0.28, 0.56), (3, 0.40, 0.61)):
        label = "base" if cycle == 0 else f"cycle_{cycle}"
        rows.append(
            {
                "checkpoint": label,
                "cycle": cycle,
                "model": "<b>base</b>" if cycle == 0 else f"raft/{label}",
                "n_tasks": 164,
                "samples_per_problem": 10,
                "pass_at_k": {"pass@1": p1, "pass@5": p5, "pass@10": None if cycle == 2 else p5 + 0.1},
                "delta": {
                    "pass@1": p1 - 0.30,
                    "pass@5": p5 - 0.50,
                    "pass@10": None if cycle == 2 else p5 - 0.50,
                },
            }
        )
    return {
        "workflow": "rlvr",
        "file": "rlvr.yaml",
        "created": t0,
        "updated": t0 + 10,
        "stages": stages,
        "rounds": [],
        "evaluation": None,
        "decision": None,
        "pass_at_k": {"k_values": [1, 5, 10], "rows": rows, "gates": []},
    }


def test_dashboard_pass_at_k_table_and_plot_in_chromium(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps(_manifest(run)))
    page_path = write_dashboard(run)
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(page_path.as_uri())
        rows = page.locator("#passk tr.passk")
        assert rows.count() == 4  # one row per checkpoint
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.checkpoint)") == [
            "base",
            "cycle_1",
            "cycle_2",
            "cycle_3",
        ]
        heads = page.locator("#passk th").all_inner_texts()
        assert heads == ["checkpoint", "model", "pass@1", "pass@5", "pass@10"]
        c3 = page.locator('#passk tr[data-checkpoint="cycle_3"] td[data-k="pass@1"]')
        assert c3.inner_text() == "0.4 (+0.100)"
        base = page.locator('#passk tr[data-checkpoint="base"]')
        assert base.locator(".delta").count() == 0 and "<b>base</b>" in base.inner_text()  # text, not markup
        assert page.locator('#passk tr[data-checkpoint="cycle_2"] td[data-k="pass@10"]').inner_text() == "—"
        # the plot: one line per k over the checkpoints (a k with a gap still draws its points)
        svg = page.locator("#passk-chart svg")
        assert svg.count() == 1
        assert svg.locator("polyline").count() == 3
        assert svg.locator("circle").count() == 4 + 4 + 3
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
        # an RLVR run has no DPO rounds or suites: those sections are not shown
        assert page.locator("h2", has_text="Rounds").count() == 0
        assert page.locator("h2", has_text="pass@k per cycle").count() == 1


def test_pass_at_k_table_carries_the_strengthened_tests_pass_at_k(tmp_path: Path) -> None:
    """A benchmark report with ``plus`` (tasks with plus_tests): the row, the figures and the notes show
    pass@k on original + new tests beside the original figure."""
    paths = []
    for name, p1, plus1 in (("base", 0.5, 0.4), ("c1", 0.6, 0.45)):
        path = Path(_report(tmp_path / name, "local", **{"pass@1": p1}))
        body = json.loads(path.read_text())
        body["plus"] = {"overall": {"pass@1": plus1}, "n_tasks_strengthened": 3}
        path.write_text(json.dumps(body))
        paths.append(str(path))
    st = PassAtKTable((("base", 0, paths[0]), ("cycle_1", 1, paths[1])), tmp_path / "t.json", (1,))
    s = run_stage(st)
    table = json.loads((tmp_path / "t.json").read_text())
    assert table["rows"][1]["plus"] == {"n_tasks": 3, "pass_at_k": {"pass@1": 0.45}}
    assert s.figures["plus"] == {"base": {"pass@1": 0.4}, "cycle_1": {"pass@1": 0.45}}
    assert any("+ new" in n and "0.450" in n and "3 tasks strengthened" in n for n in s.notes), s.notes


def test_dashboard_shows_the_strengthened_tests_pass_at_k_in_chromium(tmp_path: Path) -> None:
    body = _manifest(tmp_path)
    for r in body["pass_at_k"]["rows"]:
        r["plus"] = {
            "n_tasks": 40,
            "pass_at_k": {"pass@1": r["pass_at_k"]["pass@1"] - 0.05, "pass@5": None, "pass@10": 0.5},
        }
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps(body))
    page_path = write_dashboard(run)
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(page_path.as_uri())
        assert page.locator("#passk tr.passk").count() == 4
        plus = page.locator("#passk tr.passk-plus")
        assert plus.evaluate_all("rs => rs.map(r => r.dataset.checkpoint)") == [
            "base",
            "cycle_1",
            "cycle_2",
            "cycle_3",
        ]
        c3 = page.locator('#passk tr.passk-plus[data-checkpoint="cycle_3"]')
        assert c3.locator('td[data-k="pass@1"]').inner_text() == "0.35"
        assert (
            "40 tasks strengthened" in c3.inner_text()
            and c3.locator('td[data-k="pass@5"]').inner_text() == "—"
        )
        # each sub-row sits right under its checkpoint's row
        order = page.locator("#passk tr").evaluate_all("rs => rs.slice(1).map(r => r.className)")
        assert order[:4] == ["passk", "passk-plus sub", "passk", "passk-plus sub"]
    body["pass_at_k"]["rows"][2]["plus"]["pass_at_k"]["pass@1"] = "good"
    (run / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(AlignforgeError, match=r"pass_at_k\.rows\[2\]\.plus\.pass_at_k\.pass@1"):
        write_dashboard(run)


def test_dashboard_shows_each_domain_of_a_mixed_run_in_chromium(tmp_path: Path) -> None:
    body = _manifest(tmp_path)
    for r in body["pass_at_k"]["rows"]:
        p1 = r["pass_at_k"]["pass@1"]
        r["by_domain"] = {
            "code": {"n_tasks": 60, "pass_at_k": {"pass@1": p1 - 0.1, "pass@5": 0.5, "pass@10": 0.6}},
            "math": {"n_tasks": 104, "pass_at_k": {"pass@1": p1 + 0.05, "pass@5": 0.5, "pass@10": None}},
        }
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps(body))
    page_path = write_dashboard(run)
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(page_path.as_uri())
        assert page.locator("#passk tr.passk").count() == 4  # the checkpoints, as before
        subs = page.locator("#passk tr.passk-domain")
        assert subs.count() == 8  # two domains under each checkpoint, in order
        assert subs.evaluate_all("rs => rs.map(r => r.dataset.checkpoint + '/' + r.dataset.domain)")[:3] == [
            "base/code",
            "base/math",
            "cycle_1/code",
        ]
        math3 = page.locator('#passk tr.passk-domain[data-checkpoint="cycle_3"][data-domain="math"]')
        assert math3.locator('td[data-k="pass@1"]').inner_text() == "0.45"
        assert "104 tasks" in math3.inner_text() and math3.locator('td[data-k="pass@10"]').inner_text() == "—"
    body["pass_at_k"]["rows"][1]["by_domain"]["code"]["pass_at_k"]["pass@5"] = "high"
    (run / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(AlignforgeError, match=r"pass_at_k\.rows\[1\]\.by_domain\.code\.pass_at_k\.pass@5"):
        write_dashboard(run)


def test_a_malformed_pass_at_k_table_names_the_field(tmp_path: Path) -> None:
    body = _manifest(tmp_path)
    body["pass_at_k"]["rows"][2]["pass_at_k"]["pass@5"] = "high"
    (tmp_path / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(
        AlignforgeError, match=r"field 'pass_at_k\.rows\[2\]\.pass_at_k\.pass@5': expected a number"
    ):
        load_manifest(tmp_path)


# --- end to end -----------------------------------------------------------------------------------


def _statuses(run: Path) -> dict[str, str]:
    return {s["name"]: s["status"] for s in workflow_status(run)["stages"]}


@pytest.mark.slow
def test_demo_killed_between_raft_cycles_resumes_and_ends_with_pass_at_k_per_cycle(tmp_path: Path) -> None:
    """rlvr_demo.yaml on the embedded model, with 48 new tokens a sample instead of 96, 2 samples a
    prompt instead of 4 and one training step a cycle (the same stages at a fraction of the work):
    SIGKILL once cycle 1's checkpoint is complete, then a rerun resumes RAFT at cycle 2 (prepare, tasks,
    the base benchmark and cycle 1 untouched) and ends with pass@k for base, cycle_1 and cycle_2 in the
    manifest and the dashboard; a third run reuses all."""
    spec = yaml.safe_load(DEMO.read_text())
    spec["raft"]["max_new_tokens"] = 48
    spec["benchmark"]["max_tokens"] = 48
    spec["raft"]["samples_per_prompt"] = 2
    spec["train"]["training"].update(max_steps=1, batch_size=2)
    demo = tmp_path / "rlvr_demo.yaml"
    demo.write_text(yaml.safe_dump(spec, sort_keys=False))
    run = tmp_path / "run"
    code = f"from alignforge.workflow import run_workflow; run_workflow({str(demo)!r}, {str(run)!r})"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "killed_run.log"  # a file, not a pipe: a full pipe would stall the run
    cycle_1 = run / "raft" / "cycle_1"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=err, stdout=err)
        try:
            deadline = time.monotonic() + 1800
            while not (cycle_1 / ".complete").exists():
                assert proc.poll() is None, (
                    f"the run ended before it could be killed: {log.read_text()[-3000:]}"
                )
                assert time.monotonic() < deadline, "cycle 1 never completed"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:  # a failed wait: without this the test would wait for the whole run
                proc.kill()
            proc.wait()
    assert not (run / "raft" / "cycle_2" / ".complete").exists()
    st = _statuses(run)
    assert st["raft.train"] == "running" and st["bench.cycle_1"] == "pending"
    done_before = {n for n, s in st.items() if s == "finished"}
    assert {"prepare.humaneval", "tasks.train", "tasks.benchmark", "bench.base"} <= done_before
    finished_at = {
        s["name"]: s["finished"] for s in workflow_status(run)["stages"] if s["status"] == "finished"
    }
    cycle_1_files = {p.name: p.stat().st_mtime_ns for p in cycle_1.iterdir() if p.is_file()}

    m = run_workflow(demo, run)
    names = [s["name"] for s in m["stages"]]
    assert names == [s.name for s in load_workflow(demo, run).steps]  # the plan's shape, in order
    assert all(s["status"] in ("finished", "skipped") for s in m["stages"]), [
        (s["name"], s["status"], s["error"]) for s in m["stages"]
    ]
    by = {s["name"]: s for s in m["stages"]}
    # nothing finished before the kill ran again; RAFT resumed from cycle 1, whose files are untouched
    assert {n: by[n]["finished"] for n in finished_at} == finished_at
    raft = by["raft.train"]["figures"]
    assert Path(raft["resumed_from"]).name == "cycle_1"
    assert {p.name: p.stat().st_mtime_ns for p in cycle_1.iterdir() if p.is_file()} == cycle_1_files
    # pass@k per checkpoint, in the step's figures and as the manifest's table
    assert by["bench.pass_at_k"]["figures"]["checkpoints"] == ["base", "cycle_1", "cycle_2"]
    table = m["pass_at_k"]
    assert table["k_values"] == [1, 2]
    assert [(r["checkpoint"], r["cycle"]) for r in table["rows"]] == [
        ("base", 0),
        ("cycle_1", 1),
        ("cycle_2", 2),
    ]
    for r in table["rows"]:
        assert set(r["pass_at_k"]) == {"pass@1", "pass@2"}
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in r["pass_at_k"].values())
        assert r["pass_at_k"]["pass@2"] >= r["pass_at_k"]["pass@1"]
        assert r["n_tasks"] == 4 and r["samples_per_problem"] == 3
    assert table["rows"][1]["model"] == "raft/cycle_1"
    for label in ("base", "cycle_1", "cycle_2"):
        report = json.loads((run / "bench" / label / "report.json").read_text())
        assert report["overall"]["pass@1"] == by["bench.pass_at_k"]["figures"]["pass@1"][label]
        assert len((run / "bench" / label / "verdicts.jsonl").read_text().splitlines()) == 4 * 3
    assert {g["name"] for g in by["bench.pass_at_k"]["gates"]} == {"pass@1.cycle_1", "pass@1.cycle_2"}
    assert isinstance(m["decision"]["deploy"], bool) and m["decision"]["reason"]
    page = write_dashboard(run).read_text()
    assert page.count('<tr class="passk"') == 3 and 'id="passk-chart"' in page

    m2 = run_workflow(demo, run)  # nothing to do: every finished stage is reused, times kept
    assert {s["name"]: s["finished"] for s in m2["stages"]} == {s["name"]: s["finished"] for s in m["stages"]}
    assert m2["pass_at_k"] == m["pass_at_k"]
