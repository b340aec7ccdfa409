"""A run killed with SIGKILL and started again: no duplicate or missing row, no finished request sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
N = 60

_RUN = """
import sys
from alignforge.llm import ChatRequest, Job, get_llm, run_requests
base_url, out, cache, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
llm = get_llm("openai:m", base_url=base_url, concurrency=4)
jobs = [Job(f"row{i}", ChatRequest.chat(f"prompt {i}", max_tokens=8)) for i in range(N)]
stats = run_requests(llm, jobs, out=out, cache=cache, make_row=lambda job, r: {"answer": r.text})
print(stats.resumed, stats.written, stats.cached, stats.failed)
"""


@pytest.mark.slow
def test_sigkill_then_rerun(tmp_path: Path) -> None:
    srv = FakeServer(latency_s=0.25).start()
    try:
        out, cache, script = tmp_path / "out.jsonl", tmp_path / "cache.sqlite", tmp_path / "run.py"
        script.write_text(_RUN)
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        cmd = [sys.executable, str(script), srv.base_url, str(out), str(cache), str(N)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 12):
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        done_before = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.endswith("}")}
        assert 12 <= len(done_before) < N
        attempts_at_kill = sum(srv.attempts.values())

        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        resumed, written, _cached, failed = map(int, rerun.stdout.split())
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)) == N  # no duplicate, no missing row
        assert set(ids) == {f"row{i}" for i in range(N)}
        assert all(r["answer"] == f"echo: prompt {r['id'][3:]}" for r in rows)
        assert resumed >= len(done_before) and resumed + written == N and failed == 0

        def key(rid: str) -> str:
            msgs = [{"role": "user", "content": f"prompt {rid[3:]}"}]
            return srv.key_of(json.dumps(["m", msgs, None], sort_keys=True))

        # Finished requests were never sent again; at most the 4 in flight at the kill were sent twice.
        assert all(srv.attempts[key(rid)] == 1 for rid in done_before)
        assert sum(srv.attempts.values()) - N <= 4
        assert sum(srv.attempts.values()) - attempts_at_kill == N - resumed - _cached
    finally:
        srv.stop()
