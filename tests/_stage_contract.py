"""Checks every stage's contract test uses: side-file names, the drop-reason shape, the summary's fields,
the stage record, and SIGKILL-then-rerun of a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alignforge.stages import StageRecord, StageSummary, record_path, side_paths

REPO = Path(__file__).resolve().parents[1]


def rows_of(path: Path) -> list[dict[str, Any]]:
    """Complete rows of a JSONL file (a partial last line left by a kill is not a row)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def assert_summary(summary: Any, stage: str, out: Path) -> StageSummary:
    """The one summary type, with the common fields filled and the main output named."""
    assert isinstance(summary, StageSummary), f"{stage}: run() returned {type(summary).__name__}"
    assert summary.stage == stage
    for name in ("written", "dropped", "failed", "resumed"):
        assert isinstance(getattr(summary, name), int) and getattr(summary, name) >= 0, name
    assert isinstance(summary.drop_reasons, dict)
    assert sum(summary.drop_reasons.values()) == summary.dropped, (summary.drop_reasons, summary.dropped)
    assert isinstance(summary.cost_usd, float) and summary.duration_s >= 0
    assert Path(summary.outputs["out"]) == out and os.fspath(summary) == str(out)
    return summary


def assert_side_files(out: Path, *, dropped_reasons: set[str] | None = None) -> list[dict[str, Any]]:
    """``out.dropped.jsonl`` / ``out.failures.jsonl`` are the only side-file names; every dropped row
    carries ``metadata.drop_reasons`` as a non-empty list of ``{reason, detail}``. Returns the dropped rows."""
    paths = side_paths(out)
    stray = [
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(out.stem + ".") and p.name.endswith(".jsonl")
    ]
    allowed = {paths.out.name, paths.dropped.name, paths.failures.name}
    assert set(stray) <= allowed, f"side files outside the scheme: {sorted(set(stray) - allowed)}"
    dropped = rows_of(paths.dropped)
    for row in dropped:
        reasons = row["metadata"]["drop_reasons"]
        assert isinstance(reasons, list) and reasons, row
        for r in reasons:
            assert set(r) == {"reason", "detail"} and isinstance(r["reason"], str) and r["reason"], r
    for row in rows_of(paths.out):
        assert not (row.get("metadata") or {}).get("drop_reasons"), f"a kept row carries drop reasons: {row}"
    if dropped_reasons is not None:
        seen = {r["reason"] for row in dropped for r in row["metadata"]["drop_reasons"]}
        assert seen == dropped_reasons, seen
    return dropped


def assert_recorded(out: Path, stage: str) -> StageRecord:
    rec = StageRecord.read(record_path(out))
    assert rec is not None and rec.stage == stage and rec.status == "finished", rec
    assert rec.outputs["out"]["path"] == str(out)
    return rec


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    return {**env, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **extra}


def kill_when(
    cmd: Sequence[str], ready: Callable[[], bool], *, env: dict[str, str] | None = None, limit_s: float = 180
) -> None:
    """Start ``python -m alignforge`` + ``cmd``, SIGKILL it as soon as ``ready()`` holds (polled)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "alignforge", *cmd],
        env=env or subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + limit_s
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(
                f"the run ended before it could be killed (exit {proc.returncode}): {err[-2000:]}"
            )
        assert time.monotonic() < deadline, f"not ready after {limit_s} s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def run_cli(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alignforge", *cmd],
        env=env or subprocess_env(),
        capture_output=True,
        text=True,
    )
