"""Choose the --embeddings cosine threshold on the labelled set (paraphrase recall vs clean false positives).

    PYTHONPATH=src HF_HUB_OFFLINE=1 python bench/embed_threshold.py [--benchmark-dir ../shared/benchmarks]

Prints, per threshold, recall on each contaminated kind (embeddings alone and combined with the
n-gram scan) and the false-positive rate on clean rows. Seeds 11 (held out from the tests' seed 3).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from alignforge.curate import build_index, scan_batch
from alignforge.curate._labelled import labelled_set
from alignforge.curate.embed import EmbeddingMatcher

BENCHES = ["humaneval", "mbpp", "gsm8k", "math500", "truthfulqa"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--benchmark-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
    )
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = labelled_set(args.benchmark_dir, per_kind=30, clean=400, seed=args.seed)
    ngram = [bool(r) for r in scan_batch(rows, build_index(BENCHES, benchmark_dir=args.benchmark_dir))]
    sims = [s for s, _, _ in EmbeddingMatcher(BENCHES, benchmark_dir=args.benchmark_dir).similarities(rows)]
    labels = [r["metadata"]["label"] for r in rows]
    kinds = sorted(set(labels) - {"clean"})
    print("| threshold | " + " | ".join(f"{k} emb / +ngram" for k in kinds) + " | FP clean emb / +ngram |")
    print("|---" * (len(kinds) + 2) + "|")
    for th in (0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.88, 0.90):
        cells = []
        for k in [*kinds, "clean"]:
            idx = [i for i, lab in enumerate(labels) if lab == k]
            emb = sum(sims[i] >= th for i in idx) / len(idx)
            both = sum(sims[i] >= th or ngram[i] for i in idx) / len(idx)
            cells.append(f"{emb:.3f} / {both:.3f}")
        print(f"| {th:.2f} | " + " | ".join(cells) + " |")
    clean = sorted((sims[i] for i, lab in enumerate(labels) if lab == "clean"), reverse=True)
    print(f"\nhighest clean similarities: {[round(x, 3) for x in clean[:5]]}")


if __name__ == "__main__":
    main()
