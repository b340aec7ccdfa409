"""`check` over 1,000,000 synthetic DPO pairs against pandas (load + the same averages), in one run.

Each contender runs in its own process so its peak RSS is its own. Reports pairs/s, peak RSS,
and whether alignforge's memory grows with the file (100k rows vs 1M rows).

    .venv/bin/python bench/check_speed.py              # 1,000,000 pairs (about 480 MB of JSONL)
    .venv/bin/python bench/check_speed.py --rows 200000 --workers 1
    .venv/bin/python bench/check_speed.py --huge 3000000   # and show memory stays flat past 1M

Peak RSS is the parent's plus each worker's peak (they run at the same time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD_ALIGNFORGE = """
import json, resource, sys, time
import alignforge.quality.check as chk
path, workers = sys.argv[1], int(sys.argv[2])
if workers == 1:
    chk.PARALLEL_MIN_BYTES = 1 << 62
t = time.perf_counter()
kind, figures, _ = chk.compute_figures(path, rules={"chosen_score": {"min": 9.0}, "rejected_score": {"max": 6.0}, "score_gap": {"min": 3.0}, "unique": True, "no_conflict": True})
dt = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if workers > 1 else 0
# The parent and its workers are alive together: their peaks add up (an upper bound on the total).
rss = own + child * workers
print(json.dumps({"seconds": dt, "rows": figures["total_pairs"], "avg_chosen": figures["avg_chosen"],
                  "avg_rejected": figures["avg_rejected"], "avg_gap": figures["avg_gap"], "peak_rss_mb": rss / 1024,
                  "parent_rss_mb": own / 1024, "worker_rss_mb": child / 1024}))
"""

CHILD_PANDAS = """
import json, resource, sys, time
import pandas as pd
path = sys.argv[1]
t = time.perf_counter()
df = pd.read_json(path, lines=True)
meta = pd.json_normalize(df["metadata"])
avg_c, avg_r = meta["chosen_score"].mean(), meta["rejected_score"].mean()
avg_gap = (meta["chosen_score"] - meta["rejected_score"]).mean()
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "rows": len(df), "avg_chosen": avg_c, "avg_rejected": avg_r, "avg_gap": avg_gap,
                  "peak_rss_mb": rss / 1024}))
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000, help="rows of the file for the memory-growth check")
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "alignforge-bench")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument(
        "--huge", type=int, default=0, help="also check a file this many rows long (memory growth)"
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

    results = {
        "alignforge": run(CHILD_ALIGNFORGE, str(big), str(args.workers)),
        "alignforge_1_worker": run(CHILD_ALIGNFORGE, str(big), "1"),
        "alignforge_small_file": run(CHILD_ALIGNFORGE, str(small), str(args.workers)),
        "pandas": run(CHILD_PANDAS, str(big)),
    }
    if args.huge:
        huge = args.dir / f"pairs_{args.huge}.jsonl"
        make_file(huge, args.huge)
        results["alignforge_huge_file"] = run(CHILD_ALIGNFORGE, str(huge), str(args.workers))
    for r in results.values():
        r["pairs_per_s"] = r["rows"] / r["seconds"]
    ours, pandas = results["alignforge"], results["pandas"]
    same = all(abs(ours[k] - pandas[k]) < 1e-6 for k in ("avg_chosen", "avg_rejected", "avg_gap"))
    summary = {
        "rows": args.rows,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "speedup_vs_pandas": ours["pairs_per_s"] / pandas["pairs_per_s"],
        "memory_vs_pandas": ours["peak_rss_mb"] / pandas["peak_rss_mb"],
        "memory_growth_small_to_big": ours["peak_rss_mb"] / results["alignforge_small_file"]["peak_rss_mb"],
        "memory_growth_big_to_huge": (
            results["alignforge_huge_file"]["peak_rss_mb"] / ours["peak_rss_mb"] if args.huge else None
        ),
        "same_averages": same,
        "target_100k_pairs_per_s": ours["pairs_per_s"] >= 100_000,
        "results": results,
    }
    print(json.dumps(summary, indent=2))
    print("\n| contender | rows | seconds | pairs/s | peak RSS MB |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['rows']:,} | {r['seconds']:.1f} | {r['pairs_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
