"""Decontamination scan: alignforge vs datatrove's NGramsDecontFilter, same rows, same n, one run.

    python bench/decontam_speed.py --rows 200000            # uses /tmp/dtvenv (made with --setup-dtvenv)
    python bench/decontam_speed.py --setup-dtvenv           # python -m venv /tmp/dtvenv; pip install datatrove

What it does:
1. Writes a work folder: the benchmark files of ../shared/benchmarks plus a SYNTHETIC
   ``hellaswag/hellaswag_val.jsonl`` in the original format (the real file is not in shared/),
   the benchmark items as JSONL (so datatrove indexes exactly our items), and ``rows.jsonl``:
   the labelled set (verbatim / prompt-only / reformatted / embedded / paraphrased copies and
   clean rows) mixed into filler DPO rows written from the benchmarks' own vocabulary.
2. Runs each engine in its own process (peak RSS = that process's ru_maxrss): ours through
   ``alignforge.curate.decontaminate``; datatrove (in its own venv, never the project's) with
   its default config (question->answer straddling n-grams + answer n-grams), the index built
   with its own ``compute_hashes`` from the same items.
3. Prints a markdown table: rows/s, peak memory, index build time, recall per kind, FP rate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCHES = ["humaneval", "mbpp", "gsm8k", "math500", "truthfulqa", "hellaswag"]
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "benchmarks"
TEXT_FIELDS = ("prompt", "messages", "chosen", "rejected", "completion", "text")


def row_text(row: dict) -> list[str]:
    out = []
    for name in TEXT_FIELDS:
        v = row.get(name)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(m.get("content", "") for m in v if isinstance(m, dict))
    return out


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- step 1: data ------------------------------------------------------------------------------


def prepare(work: Path, rows: int, seed: int) -> None:
    sys.path.insert(0, str(REPO / "src"))
    from alignforge.curate import load_benchmark
    from alignforge.curate._labelled import labelled_set, synthetic_hellaswag
    from alignforge.curate._normalize import tokens

    bdir = work / "benchmarks"
    bdir.mkdir(parents=True, exist_ok=True)
    for sub in SHARED.iterdir():
        if sub.is_dir() and not (bdir / sub.name).exists():
            (bdir / sub.name).symlink_to(sub)
    (bdir / "hellaswag").mkdir(exist_ok=True)
    with open(bdir / "hellaswag" / "hellaswag_val.jsonl", "w") as fh:
        for r in synthetic_hellaswag(10042, seed=seed):
            fh.write(json.dumps(r) + "\n")
    items, vocab = [], []
    for name in BENCHES:
        for it in load_benchmark(name, benchmark_dir=bdir):
            items.append({"task": name, "id": it.id, "query": it.question, "label": it.answer})
            vocab.extend(tokens(it.question)[:40])
    with open(work / "items.jsonl", "w") as fh:
        for it in items:
            fh.write(json.dumps(it) + "\n")
    labelled = labelled_set(bdir, per_kind=40, clean=600, seed=seed, benchmarks=BENCHES)
    rng = random.Random(seed)

    def filler(k: int) -> str:
        words = rng.choices(vocab, k=k)
        return " ".join(w.capitalize() if i % 12 == 0 else w for i, w in enumerate(words)) + "."

    positions = set(rng.sample(range(rows), len(labelled)))
    it_lab = iter(labelled)
    with open(work / "rows.jsonl", "w") as fh:
        for i in range(rows):
            if i in positions:
                row = next(it_lab)
            else:
                row = {
                    "prompt": filler(rng.randint(10, 30)),
                    "chosen": filler(rng.randint(25, 60)),
                    "rejected": filler(rng.randint(15, 40)),
                    "metadata": {"label": "filler"},
                }
            fh.write(json.dumps(row) + "\n")


# --- step 2: engines ---------------------------------------------------------------------------


def run_ours(work: Path, n: int) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    os.environ["ALIGNFORGE_CACHE_DIR"] = str(work / "cache")
    from alignforge.curate import build_index, decontaminate

    bdir = work / "benchmarks"
    t, c = time.perf_counter(), time.process_time()
    build_index(BENCHES, benchmark_dir=bdir, n=n, use_cache=False)
    cold, cold_cpu = time.perf_counter() - t, time.process_time() - c
    build_index(BENCHES, benchmark_dir=bdir, n=n)  # writes the cache
    t = time.perf_counter()
    idx = build_index(BENCHES, benchmark_dir=bdir, n=n)
    warm = time.perf_counter() - t
    assert idx.cached
    t, c = time.perf_counter(), time.process_time()
    rep = decontaminate(work / "rows.jsonl", against=BENCHES, index=idx)
    scan, cpu = time.perf_counter() - t, time.process_time() - c
    flagged = sorted(r["row"] - 1 for r in rep.removed)
    return {
        "engine": "alignforge",
        "rows": rep.rows,
        "scan_s": scan,
        "cpu_s": cpu,
        "index_cold_s": cold,
        "index_cold_cpu_s": cold_cpu,
        "index_cached_s": warm,
        "peak_mib": peak_mib(),
        "flagged": flagged,
    }


def run_datatrove(work: Path, n: int, query_ngrams: bool) -> dict:
    import numpy as np
    from datatrove.data import Document
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer

    # lighteval is only needed to fetch tasks from the hub; we hand the indexer our items instead.
    NGramsDecontIndexer._requires_dependencies = []

    cfg = NGramsDecontConfig(n_grams=n, find_query_ngrams=query_ngrams, find_overlap_ngrams=True)
    index_dir = work / f"dt_index_{n}_{int(query_ngrams)}"
    index_dir.mkdir(exist_ok=True)
    t = time.perf_counter()
    indexer = NGramsDecontIndexer(str(index_dir), lighteval_tasks=[], config=cfg)
    hashes: dict[str, set[int]] = {}
    with open(work / "items.jsonl") as fh:
        for line in fh:
            it = json.loads(line)
            if it["label"].strip():
                hashes.setdefault(it["task"], set()).update(indexer.compute_hashes(it["label"], it["query"]))
    for task, hs in hashes.items():
        np.array(sorted(hs), dtype=cfg.hash_config.np_descr).tofile(index_dir / f"{task}.index.hashes")
    flt = NGramsDecontFilter(str(index_dir), config=cfg)
    flt.load_index_hashes()
    index_s = time.perf_counter() - t
    flagged, rows = [], 0
    t, c = time.perf_counter(), time.process_time()
    with open(work / "rows.jsonl") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            if query_ngrams and row.get("metadata", {}).get("label") == "filler":
                continue  # the +query variant is run for recall only (labelled rows), to save an hour
            doc = Document(text="\n".join(row_text(row)), id=str(i))
            res = flt.filter(doc)
            if res is not True:
                flagged.append(i)
            rows += 1
    scan, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "engine": "datatrove" + (" +query" if query_ngrams else ""),
        "rows": rows,
        "scan_s": scan,
        "cpu_s": cpu,
        "index_cold_s": index_s,
        "index_cached_s": None,
        "peak_mib": peak_mib(),
        "flagged": flagged,
    }


# --- step 3: report ----------------------------------------------------------------------------


def recall(work: Path, flagged: list[int]) -> dict[str, float]:
    fl = set(flagged)
    per: dict[str, list[int]] = {}
    with open(work / "rows.jsonl") as fh:
        for i, line in enumerate(fh):
            lab = json.loads(line).get("metadata", {}).get("label")
            if lab and lab != "filler":
                per.setdefault(lab, [0, 0])
                per[lab][0] += 1
                per[lab][1] += int(i in fl)
    return {k: v[1] / v[0] for k, v in sorted(per.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/af_decontam_bench"))
    ap.add_argument("--dtvenv", type=Path, default=Path("/tmp/dtvenv"))
    ap.add_argument("--setup-dtvenv", action="store_true", help="create the datatrove venv and exit")
    ap.add_argument("--json", type=Path, help="write all figures here")
    ap.add_argument("--engine", choices=["ours", "datatrove", "datatrove-query"], help=argparse.SUPPRESS)
    ap.add_argument("--reuse", action="store_true", help="reuse the rows and benchmarks already in --work")
    args = ap.parse_args()
    if args.setup_dtvenv:
        subprocess.run([sys.executable, "-m", "venv", str(args.dtvenv)], check=True)
        pip = [
            str(args.dtvenv / "bin" / "pip"),
            "install",
            "-q",
            "datatrove==0.10.1",
            "spacy",
            "regex",
            "xxhash<4",
            "numpy",
        ]
        subprocess.run(pip, check=True)
        return
    if args.engine:
        if args.engine == "ours":
            res = run_ours(args.work, args.n)
        else:
            res = run_datatrove(args.work, args.n, args.engine == "datatrove-query")
        print("RESULT " + json.dumps(res))
        return
    if not (args.dtvenv / "bin" / "python").exists():
        sys.exit(f"{args.dtvenv} missing: run `python bench/decontam_speed.py --setup-dtvenv` first")
    args.work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if not (args.reuse and (args.work / "rows.jsonl").exists()):
        prepare(args.work, args.rows, args.seed)
    print(f"prepared {args.rows} rows in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    results = []
    for engine, py in (
        ("ours", sys.executable),
        ("datatrove", str(args.dtvenv / "bin" / "python")),
        ("datatrove-query", str(args.dtvenv / "bin" / "python")),
    ):
        cmd = [py, __file__, "--engine", engine, "--work", str(args.work), "--n", str(args.n)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        res = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[7:])
        res["recall"] = recall(args.work, res.pop("flagged"))
        # Rows per CPU-second: the machine is shared, so wall time depends on the neighbours' load.
        res["rows_per_s"] = res["rows"] / res["cpu_s"] if engine != "datatrove-query" else None
        res["rows_per_wall_s"] = res["rows"] / res["scan_s"] if engine != "datatrove-query" else None
        results.append(res)
        print(f"{engine}: {res}", file=sys.stderr)
    ours, dt = results[0], results[1]
    kinds = [k for k in ours["recall"] if k != "clean"]
    print(f"\n{args.rows} rows, n = {args.n}, benchmarks: {', '.join(BENCHES)} (hellaswag synthetic)\n")
    print(
        "| engine | rows per CPU-s | speed-up (CPU) | rows per wall-s | peak RSS MiB | index build s (cached) | "
        + " | ".join(f"recall {k}" for k in kinds)
        + " | FP clean |"
    )
    print("|---" * (7 + len(kinds)) + "|")
    for r in results:
        cached = f" ({r['index_cached_s']:.3f})" if r["index_cached_s"] is not None else ""
        speed = (
            f"{r['rows_per_s']:,.0f} | {r['rows_per_s'] / dt['rows_per_s']:.1f}x | {r['rows_per_wall_s']:,.0f}"
            if r["rows_per_s"]
            else "labelled rows only | - | -"
        )
        print(
            f"| {r['engine']} | {speed} | "
            f"{r['peak_mib']:.0f} | {r['index_cold_s']:.2f}{cached} | "
            + " | ".join(f"{r['recall'].get(k, 0):.3f}" for k in kinds)
            + f" | {r['recall'].get('clean', 0):.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    speedup = ours["rows_per_s"] / dt["rows_per_s"]
    print(
        f"\ntarget >= 5x datatrove with higher recall: {speedup:.1f}x -> {'MET' if speedup >= 5 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
