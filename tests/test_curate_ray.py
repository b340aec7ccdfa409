"""The scan on Ray Data (local cluster): same results as in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _curate_helpers import curate_cache, shared_index

from alignforge.curate import decontaminate
from alignforge.curate._labelled import labelled_set

__all__ = ["curate_cache", "shared_index"]


@pytest.mark.slow
def test_ray_executor_matches_local(benchmarks_dir: Path, shared_index: Any) -> None:
    ray = pytest.importorskip("ray")
    rows = labelled_set(benchmarks_dir, per_kind=2, clean=10, seed=5)
    local = decontaminate(rows, against="gsm8k", index=shared_index, batch_size=16)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        remote = decontaminate(rows, against="gsm8k", index=shared_index, batch_size=16, executor="ray")
    finally:
        ray.shutdown()
    assert remote.rows == local.rows == len(rows)
    assert remote.removed == local.removed and local.contaminated_rows > 0
