import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BENCHMARKS = SHARED / "benchmarks"


@pytest.fixture
def benchmarks_dir() -> Path:
    if not BENCHMARKS.is_dir():
        pytest.fail(f"{BENCHMARKS} is missing: the tests need ../shared/benchmarks beside the repository")
    return BENCHMARKS
