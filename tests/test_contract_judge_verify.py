"""The stage contract for judge, verify and prepare: side files, summary, record, reuse, SIGKILL resume.

Judge runs against a real loopback server (tests/_llm_helpers.py FakeServer), verify and prepare
against the real sandbox. What the removed ``llm/runner.py`` tests proved about the request cache,
the failures side file and budgets is proved here on the judge stage.
"""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402
from _stage_contract import (  # noqa: E402
    assert_recorded,
    assert_side_files,
    assert_summary,
    kill_when,
    rows_of,
    run_cli,
)

from alignforge.errors import ConfigError  # noqa: E402
from alignforge.judge import JudgeStatus, judge_file  # noqa: E402
from alignforge.records import VerdictStatus  # noqa: E402
from alignforge.stages import get_stage, side_paths  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src" / "alignforge"
SCORE = "Score: 7\nRationale: fine."


def _score_reply(body: dict, attempt: int) -> str:
    return SCORE


def _sft(path: Path, texts: list[str]) -> Path:
    rows = [{"prompt": f"Question item-{i:03d}?", "completion": t} for i, t in enumerate(texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _requests_per_item(srv: FakeServer) -> Counter[str]:
    """How many requests the server got for each row (rows are told apart by their ``item-NNN``)."""
    import re

    seen: Counter[str] = Counter()
    for body in srv.bodies:
        m = re.search(r"item-\d{3}", body["messages"][-1]["content"])
        assert m, body
        seen[m.group(0)] += 1
    return seen


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer(reply=_score_reply).start()
    yield srv
    srv.stop()


def test_the_three_stages_are_registered() -> None:
    assert [get_stage(n).name for n in ("judge", "verify", "prepare")] == ["judge", "verify", "prepare"]


# --- judge ---------------------------------------------------------------------------------------


def test_judge_contract_failures_side_file_cache_and_reuse(server: FakeServer, tmp_path: Path) -> None:
    data = _sft(tmp_path / "in.jsonl", ["fine answer", "flaky answer #500*1", "bad answer #400", "ok"])
    out = tmp_path / "judged.jsonl"
    opts = {"base_url": server.base_url, "max_attempts": 1, "price": [0, 0]}

    def run() -> object:
        return judge_file(data, out, model="openai:m", llm_options=opts, progress=False)

    first = assert_summary(run(), "judge", out)
    assert (first.written, first.failed, first.scored, first.parse_failed) == (2, 2, 2, 0)
    assert_side_files(out)
    fails = rows_of(side_paths(out).failures)
    assert sorted(f["source_line"] for f in fails) == [2, 3] and all(f["error"] for f in fails)
    assert {m["metadata"]["judge_status"]["score"] for m in rows_of(out)} == {JudgeStatus.OK.value}
    assert_recorded(out, "judge")
    sent = len(server.bodies)

    # A run that left failures is not taken for finished: the rerun retries only the failed rows
    # (the #500*1 one now succeeds), answered requests come from the cache, nothing else is sent.
    second = run()
    assert not second.reused and (second.resumed, second.written, second.failed) == (2, 1, 1)
    assert len(server.bodies) == sent + 2
    assert len(rows_of(side_paths(out).failures)) == 1  # compacted: one line per row still failing
    assert sorted(r["metadata"]["source_line"] for r in rows_of(out)) == [1, 2, 4]

    # Once every row is judged the failures file goes, and the same run again is reused: nothing sent.
    data.write_text(data.read_text().replace(" #400", ""))
    third = run()
    assert (third.written, third.failed) == (1, 0) and not side_paths(out).failures.exists()
    sent = len(server.bodies)
    fourth = run()
    assert fourth.reused and fourth.written == 1 and len(server.bodies) == sent
    assert sorted(r["metadata"]["source_line"] for r in rows_of(out)) == [1, 2, 3, 4]


def test_judge_budget_stops_cleanly_and_a_rerun_finishes(server: FakeServer, tmp_path: Path) -> None:
    data = _sft(tmp_path / "in.jsonl", [f"answer {i}" for i in range(12)])
    out = tmp_path / "judged.jsonl"
    opts = {"base_url": server.base_url}

    def run(max_cost: float) -> object:
        return judge_file(
            data,
            out,
            model="openai:gpt-4o",
            llm_options=opts,
            max_cost=max_cost,
            batch_size=2,
            progress=False,
        )

    first = run(0.003)  # gpt-4o: a judge request reserves about $0.0013 and costs about $0.0004
    assert first.budget_reached and 0 < first.written < 12 and first.cost_usd <= 0.003
    assert first.notes[-1].startswith("   stopped: the cost budget was reached")
    rest = run(1.0)
    assert not rest.reused and not rest.budget_reached
    assert rest.resumed == first.written and rest.written + rest.resumed == 12
    assert sorted(r["metadata"]["source_line"] for r in rows_of(out)) == list(range(1, 13))
    assert max(_requests_per_item(server).values()) == 1  # no answered request was sent twice
    assert not side_paths(out).failures.exists()


def test_judge_budget_needs_a_price(server: FakeServer, tmp_path: Path) -> None:
    data = _sft(tmp_path / "in.jsonl", ["a"])
    with pytest.raises(ConfigError, match="no price is known for 'openai:my-finetune'.*price="):
        judge_file(
            data,
            tmp_path / "o.jsonl",
            model="openai:my-finetune",
            llm_options={"base_url": server.base_url},
            max_cost=1.0,
            progress=False,
        )


@pytest.mark.slow
def test_judge_resumes_after_sigkill_without_resending(tmp_path: Path) -> None:
    n, batch = 40, 4
    srv = FakeServer(latency_s=0.05, reply=_score_reply).start()
    try:
        data = _sft(tmp_path / "in.jsonl", [f"answer {i}" for i in range(n)])
        out = tmp_path / "judged.jsonl"
        cmd = ["judge", str(data), "--out", str(out), "--model", "openai:m", "--batch-size", str(batch),
               "--option", f"base_url={srv.base_url}", "--option", "price=[0,0]", "--no-progress"]  # fmt: skip
        kill_when(cmd, lambda: len(rows_of(out)) >= 8)
        before = out.read_bytes()
        done_before = {r["metadata"]["source_line"] for r in rows_of(out)}
        assert 8 <= len(done_before) < n
        sent_at_kill = _requests_per_item(srv)

        rerun = run_cli(cmd)
        assert rerun.returncode == 0, rerun.stderr
        rows = rows_of(out)
        lines = [r["metadata"]["source_line"] for r in rows]
        assert sorted(lines) == list(range(1, n + 1))  # no duplicate, no gap
        # The finished rows were neither redone nor rewritten, and none of their requests went out again.
        complete = before[: before.rfind(b"\n") + 1]
        assert out.read_bytes().startswith(complete)
        assert f"resumed: {len(done_before)} rows" in rerun.stdout, rerun.stdout
        per_item = _requests_per_item(srv)
        assert all(per_item[f"item-{ln - 1:03d}"] == 1 for ln in done_before)
        # Answered before the kill means cached: at most the batch in flight at the kill is sent twice.
        assert sum(per_item.values()) - n <= batch and sum(per_item.values()) >= sum(sent_at_kill.values())
        assert not side_paths(out).failures.exists()
        assert_recorded(out, "judge")
    finally:
        srv.stop()


# --- verify --------------------------------------------------------------------------------------

ADD = {
    "task_id": "T/add",
    "prompt": 'def add(a, b):\n    """a + b"""\n',
    "entry_point": "add",
    "tests": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
}
MATH = {"task_id": "T/math", "prompt": "6*3?", "answer": "18", "domain": "math"}


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_verdict_statuses_are_the_enum_where_they_are_made(tmp_path: Path) -> None:
    from alignforge.verify import verify_completions, verify_math

    assert verify_math("so \\boxed{18}", "18").status is VerdictStatus.PASSED
    assert verify_math("no idea", "18").status is VerdictStatus.FAILED
    rows = [{"task_id": "T/math", "completion": c} for c in ("\\boxed{18}", "\\boxed{19}")]
    verdicts = list(verify_completions({"T/math": MATH}, rows, workers=1))
    assert [type(v["status"]) for v in verdicts] == [VerdictStatus, VerdictStatus]
    assert [v["status"] for v in verdicts] == ["passed", "failed"]  # written as the same strings


@pytest.mark.slow
def test_verify_contract_and_resume_after_sigkill(tmp_path: Path) -> None:
    n = 14
    tasks = _jsonl(tmp_path / "tasks.jsonl", [ADD, MATH])
    # Each sample sleeps a little (wall time, not CPU) so the run can be killed part-way; every
    # completion differs, so none is answered from another's verdict.
    comps = [
        {"task_id": "T/add", "completion": f"    import time\n    time.sleep(0.3)  # {i}\n    return a + b\n"}
        for i in range(n - 2)
    ] + [
        {"task_id": "T/math", "completion": "\\boxed{18}"},
        {"task_id": "T/math", "completion": "\\boxed{7}"},
    ]
    completions = _jsonl(tmp_path / "samples.jsonl", comps)
    out = tmp_path / "verdicts.jsonl"
    cmd = ["verify", "--tasks", str(tasks), "--completions", str(completions), "--out", str(out),
           "--workers", "1", "--k", "1"]  # fmt: skip
    kill_when(cmd, lambda: len(rows_of(out)) >= 3)
    before = out.read_bytes()
    complete = before[: before.rfind(b"\n") + 1]
    k = complete.count(b"\n")
    assert 3 <= k < n

    rerun = run_cli(cmd)
    assert rerun.returncode == 0, rerun.stderr
    verdicts = rows_of(out)
    assert [(v["task_id"], v["sample_index"]) for v in verdicts] == [("T/add", i) for i in range(n - 2)] + [
        ("T/math", 0),
        ("T/math", 1),
    ]  # complete, in input order, none duplicated
    assert out.read_bytes().startswith(complete)  # the finished verdicts were not run again
    assert f"verify: written {n - k} to {out}" in rerun.stdout and f"resumed: {k} rows" in rerun.stdout
    assert [v["passed"] for v in verdicts] == [True] * (n - 2) + [True, False]
    assert "pass@1 0.7500" in rerun.stdout  # (1 + 1/2) / 2
    assert_side_files(out)
    rec = assert_recorded(out, "verify")
    assert rec.summary["figures"]["verdicts"] == n and rec.summary["resumed"] == k

    from alignforge.verify import verify_file

    again = assert_summary(verify_file(tasks, completions, out, workers=1, ks=[1]), "verify", out)
    assert again.reused and again.pass_at_k["pass@1"] == pytest.approx(0.75)
    fresh = verify_file(tasks, _jsonl(tmp_path / "two.jsonl", comps[-2:]), out, workers=1, fresh=True)
    assert (fresh.written, fresh.resumed, fresh.statuses) == (2, 0, {"failed": 1, "passed": 1})
    assert len(rows_of(out)) == 2


# --- prepare -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_prepare_contract_record_and_reuse(tmp_path: Path, benchmarks_dir: Path) -> None:
    import gzip

    from alignforge.verify import prepare_dataset

    src = tmp_path / "src"
    src.mkdir()
    rows = [json.loads(x) for x in gzip.open(benchmarks_dir / "humaneval" / "HumanEval.jsonl.gz", "rt")][:3]
    rows[2]["canonical_solution"] = "    return None\n"  # a reference that fails its own tests
    (src / "HumanEval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "rlvr" / "humaneval_full.jsonl"

    first = assert_summary(
        prepare_dataset("humaneval", tmp_path / "rlvr", source=src, workers=1), "prepare", out
    )
    assert (first.written, first.dropped, first.drop_reasons) == (2, 1, {"reference_fails": 1})
    assert first.splits["humaneval"]["written"] == 2 and len(rows_of(out)) == 2
    dropped = assert_side_files(out, dropped_reasons={"reference_fails"})
    assert dropped[0]["task_id"] == rows[2]["task_id"] and dropped[0]["metadata"]["split"] == "humaneval"
    rec = assert_recorded(out, "prepare")
    assert {"out", "humaneval_prompts", "humaneval_solutions", "validation", "dropped"} <= set(rec.outputs)

    again = prepare_dataset("humaneval", tmp_path / "rlvr", source=src, workers=1)
    assert again.reused and again.splits == first.splits
    other = prepare_dataset("humaneval", tmp_path / "rlvr", source=src, workers=1, validation_size=1)
    assert not other.reused and len(rows_of(tmp_path / "rlvr" / "humaneval_validation.jsonl")) == 1
    (tmp_path / "rlvr" / "humaneval_prompts.jsonl").write_text("")  # an output edited after the run
    assert not prepare_dataset(
        "humaneval", tmp_path / "rlvr", source=src, workers=1, validation_size=1
    ).reused


# --- layers --------------------------------------------------------------------------------------


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((SRC / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found += [(path.name, f"{node.module}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Import):
                found += [(path.name, a.name) for a in node.names]
    return found


@pytest.mark.parametrize("package", ["judge", "verify", "llm"])
def test_no_import_runs_up_the_layers_or_into_another_private_module(package: str) -> None:
    above = {"judge": ("generate", "train", "bench", "demo", "cli", "evaluate"),
             "verify": ("generate", "judge", "train", "bench", "demo", "cli", "evaluate"),
             "llm": ("stages", "generate", "judge", "verify", "train", "bench", "demo", "cli", "io")}[package]  # fmt: skip
    for name, mod in _imports(package):
        parts = mod.split(".")
        if parts[0] != "alignforge" or len(parts) < 2:
            continue
        assert parts[1] not in above, f"{package}/{name} imports {mod}"
        if parts[1] != package:
            assert not any(p.startswith("_") for p in parts[2:]), f"{package}/{name} imports private {mod}"
