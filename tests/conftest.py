import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# `make test` runs two xdist workers on a 2-core machine. torch's default of one OpenMP thread per core
# in each worker (and in each process a test starts) oversubscribes the cores, and libgomp's spinning
# then made two concurrent generations ten times slower: 220 s against 22 s for the same work with one
# thread each (measured 2026-12-04). Set before torch loads; a value already in the environment wins.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BENCHMARKS = SHARED / "benchmarks"


@pytest.fixture
def benchmarks_dir() -> Path:
    if not BENCHMARKS.is_dir():
        pytest.fail(f"{BENCHMARKS} is missing: the tests need ../shared/benchmarks beside the repository")
    return BENCHMARKS
