"""`check` over 1,000,000 synthetic DPO pairs against polars and pandas, in one run.

The anchor is polars' lazy ``scan_ndjson`` computing only the three score averages on its streaming
engine (what a user who only wants averages would write); the target is half its rate while
computing every figure ``check`` reports. pandas (load + the same averages) is kept for the record.

Each contender runs in its own process, its imports inside its timer, so its time and peak RSS are
its own. Reports pairs/s, peak RSS, the ratio to the anchor, the engine ``check`` used, and whether
alignforge's memory grows with the file (100k rows vs 1M rows).

    .venv/bin/python bench/check_speed.py              # 1,000,000 pairs (about 480 MB of JSONL)
    .venv/bin/python bench/check_speed.py --rows 200000 --workers 1
    .venv/bin/python bench/check_speed.py --huge 3000000   # and show memory stays flat past 1M

``alignforge`` is what ``check`` does by default (the columnar scan for a large DPO file);
``alignforge_rows`` is the row-by-row scan over byte ranges in ``--workers`` processes (what
``check`` does when the columnar scan declines, and did before it); its peak RSS is the parent's
plus each worker's (they run at the same time). ``alignforge_recorded`` is a check whose stage
record names the file by sha256 (``check --json`` / ``--keep-passing``), the hash fed by the scan's
own reads; ``alignforge_hash_first`` hashes the file before the scan, as such a check did before.

``--repeat N`` runs the anchor and ``alignforge`` N times, alternating, and reports the median of
each (the machine is shared: single runs swing with the load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RULES = (
    '{"chosen_score": {"min": 9.0}, "rejected_score": {"max": 6.0}, "score_gap": {"min": 3.0}, '
    '"unique": True, "no_conflict": True}'
)

CHILD_ALIGNFORGE = f"""
import json, resource, sys, time
t = time.perf_counter()
import alignforge.quality._columnar as columnar
import alignforge.quality.check as chk
path, workers, engine = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if engine == "rows":
    columnar.MIN_BYTES = 1 << 62
    if workers == 1:
        chk.PARALLEL_MIN_BYTES = 1 << 62
digest = sha = None
if engine == "recorded":  # the sha256 fed by the scan's reads (a recorded check)
    from alignforge.quality._digest import FileDigest
    digest = FileDigest(path)
elif engine == "hash_first":  # the file hashed before the scan (a recorded check before)
    from alignforge.stages import file_sha256
    sha = file_sha256(path)
kind, figures, _ = chk.compute_figures(path, rules={RULES}, digest=digest)
if digest is not None:
    sha = digest.finish()
    assert digest.topped_up == 0, digest.topped_up
dt = time.perf_counter() - t
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
own = me.ru_maxrss
child = kids.ru_maxrss if engine == "rows" and workers > 1 else 0
# The parent and its workers are alive together: their peaks add up (an upper bound on the total).
rss = own + child * workers
print(json.dumps({{"seconds": dt, "rows": figures["total_pairs"], "avg_chosen": figures["avg_chosen"],
                  "avg_rejected": figures["avg_rejected"], "avg_gap": figures["avg_gap"], "peak_rss_mb": rss / 1024,
                  "parent_rss_mb": own / 1024, "worker_rss_mb": child / 1024, "engine": figures["scan_engine"], "cpu_s": cpu,
                  "figures": len(figures), "sha256": sha}}))
"""

CHILD_POLARS = """
import json, resource, sys, time
t = time.perf_counter()
import polars as pl
path = sys.argv[1]
m = pl.col("metadata")
out = (
    pl.scan_ndjson(path)
    .select(c=m.struct.field("chosen_score"), r=m.struct.field("rejected_score"))
    .select(pl.col("c").mean(), pl.col("r").mean(), (pl.col("c") - pl.col("r")).mean().alias("g"), pl.len())
    .collect(engine="streaming")
)
dt = time.perf_counter() - t
avg_c, avg_r, avg_gap, n = out.row(0)
me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": dt, "rows": n, "avg_chosen": avg_c, "avg_rejected": avg_r, "avg_gap": avg_gap,
                  "peak_rss_mb": me.ru_maxrss / 1024, "figures": 3, "cpu_s": me.ru_utime + me.ru_stime}))
"""

CHILD_PANDAS = """
import json, resource, sys, time
t = time.perf_counter()
import pandas as pd
path = sys.argv[1]
df = pd.read_json(path, lines=True)
meta = pd.json_normalize(df["metadata"])
avg_c, avg_r = meta["chosen_score"].mean(), meta["rejected_score"].mean()
avg_gap = (meta["chosen_score"] - meta["rejected_score"]).mean()
dt = time.perf_counter() - t
me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": dt, "rows": len(df), "avg_chosen": avg_c, "avg_rejected": avg_r, "avg_gap": avg_gap,
                  "peak_rss_mb": me.ru_maxrss / 1024, "figures": 3, "cpu_s": me.ru_utime + me.ru_stime}))
"""


def make_file(path: Path, rows: int) -> None:
    from alignforge.io import write_jsonl
    from alignforge.quality._synthetic import synthetic_dpo_rows

    if (
        path.exists()
        and path.with_suffix(".rows").exists()
        and path.with_suffix(".rows").read_text() == str(rows)
    ):
        return
    write_jsonl(path, synthetic_dpo_rows(rows, seed=0))
    path.with_suffix(".rows").write_text(str(rows))


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The run of median time (the upper middle one of an even count)."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000, help="rows of the file for the memory-growth check")
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "alignforge-bench")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument(
        "--huge", type=int, default=0, help="also check a file this many rows long (memory growth)"
    )
    ap.add_argument("--no-pandas", action="store_true", help="leave pandas out (it takes ~25 s and 3.6 GB)")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs of the anchor and of check, alternating (medians)"
    )
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    big, small = args.dir / f"pairs_{args.rows}.jsonl", args.dir / f"pairs_{args.small}.jsonl"
    t = time.perf_counter()
    make_file(big, args.rows)
    make_file(small, args.small)
    print(
        f"data ready in {time.perf_counter() - t:.0f}s: {big} ({big.stat().st_size / 1e6:.0f} MB)",
        file=sys.stderr,
    )

    # The first check on a machine compiles the byte scanner into numba's cache (seconds, once): do
    # it here, untimed, so every timed run loads it as a user's second check would.
    run(CHILD_ALIGNFORGE, str(small), str(args.workers), "default")
    load_before = os.getloadavg()[0]
    pairs = [
        (run(CHILD_POLARS, str(big)), run(CHILD_ALIGNFORGE, str(big), str(args.workers), "default"))
        for _ in range(max(1, args.repeat))
    ]
    results = {
        "polars": _median([p for p, _ in pairs]),
        "alignforge": _median([a for _, a in pairs]),
        "alignforge_recorded": run(CHILD_ALIGNFORGE, str(big), str(args.workers), "recorded"),
        "alignforge_hash_first": run(CHILD_ALIGNFORGE, str(big), str(args.workers), "hash_first"),
        "alignforge_rows": run(CHILD_ALIGNFORGE, str(big), str(args.workers), "rows"),
        "alignforge_small_file": run(CHILD_ALIGNFORGE, str(small), str(args.workers), "default"),
    }
    if results["alignforge_recorded"]["sha256"] != results["alignforge_hash_first"]["sha256"]:
        raise SystemExit("the sha256 fed by the scan differs from the file's")
    if not args.no_pandas:
        results["pandas"] = run(CHILD_PANDAS, str(big))
    if args.huge:
        huge = args.dir / f"pairs_{args.huge}.jsonl"
        make_file(huge, args.huge)
        results["alignforge_huge_file"] = run(CHILD_ALIGNFORGE, str(huge), str(args.workers), "default")
    for r in results.values():
        r["pairs_per_s"] = r["rows"] / r["seconds"]
    ours, anchor = results["alignforge"], results["polars"]
    same = all(
        abs(r[k] - anchor[k]) < 1e-9
        for r in results.values()
        if r["rows"] == args.rows
        for k in ("avg_chosen", "avg_rejected", "avg_gap")
    )
    summary = {
        "rows": args.rows,
        "repeat": args.repeat,
        "runs_seconds": {
            "polars": [round(p["seconds"], 3) for p, _ in pairs],
            "alignforge": [round(a["seconds"], 3) for _, a in pairs],
        },
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_avg_1m": {"before": load_before, "after": os.getloadavg()[0]},
        "engine": ours["engine"],
        "ratio_vs_polars_averages": ours["pairs_per_s"] / anchor["pairs_per_s"],
        # CPU-seconds: what the ratio tends to when the machine is busy (each process gets a share)
        "cpu_ratio_vs_polars_averages": anchor["cpu_s"] / ours["cpu_s"],
        "target_half_of_polars": ours["pairs_per_s"] >= 0.5 * anchor["pairs_per_s"],
        "speedup_vs_rows_scan": ours["pairs_per_s"] / results["alignforge_rows"]["pairs_per_s"],
        "memory_growth_small_to_big": ours["peak_rss_mb"] / results["alignforge_small_file"]["peak_rss_mb"],
        "memory_growth_big_to_huge": (
            results["alignforge_huge_file"]["peak_rss_mb"] / ours["peak_rss_mb"] if args.huge else None
        ),
        "same_averages": same,
        "results": results,
    }
    print(json.dumps(summary, indent=2))
    print(
        "\n| contender | rows | figures | seconds | pairs/s | × polars | CPU s | peak RSS MB |"
        "\n|---|---|---|---|---|---|---|---|"
    )
    for name, r in results.items():
        print(
            f"| {name} | {r['rows']:,} | {r['figures']} | {r['seconds']:.2f} | {r['pairs_per_s']:,.0f} | "
            f"{r['pairs_per_s'] / anchor['pairs_per_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
