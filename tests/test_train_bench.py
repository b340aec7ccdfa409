"""bench/train_speed.py: the default model is ~0.5B, and the CPU smoke runs every mode to a full result."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _train_helpers import REPO

BENCH = REPO / "bench" / "train_speed.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("train_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_default_sizes_make_a_half_billion_parameter_llama() -> None:
    import torch
    from transformers import LlamaForCausalLM

    bench = _load_bench()
    args = bench._parser().parse_args([])
    assert (args.layers, args.hidden, args.batch, args.max_length, args.peak_flops) == (
        24,
        1280,
        8,
        640,
        989e12,
    )
    with torch.device("meta"):
        model = LlamaForCausalLM(bench.llama_config(args))
    params = sum(p.numel() for p in model.parameters())
    assert 0.45e9 < params < 0.6e9, params
    assert bench._strip(["--steps", "3", "--out", "x.json", "--check", "--workdir=/tmp"]) == ["--steps", "3"]


@pytest.mark.slow
def test_cpu_smoke_runs_every_mode_and_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    tiny = ["--layers", "1", "--hidden", "32", "--vocab", "128", "--batch", "2", "--max-length", "32"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, str(BENCH), *tiny, "--steps", "2", "--threads", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| trl_defaults |" in proc.stdout and "| lean |" in proc.stdout

    res = json.loads(out.read_text())
    assert set(res["modes"]) == {"trl_defaults", "alignforge", "lean"}
    assert res["model"]["params"] > 0 and res["model"]["pairs"] == 4
    assert res["same_tokens_in_every_mode"] is True and res["tokens_per_epoch"] > 0
    for mode, r in res["modes"].items():
        for key in ("tokens_per_s", "mfu", "epoch_s", "train_s", "s_per_step", "peak_rss_gib"):
            assert r[key] > 0, (mode, key)
        assert r["steps"] == 2, mode  # one whole epoch: 4 pairs at batch 2
        assert r["tokens"] == r["trl_counted_tokens"], mode  # our count agrees with TRL's own
        assert r["peak_gpu_mem_gib"] is None  # no GPU here
        assert r["mfu"] == pytest.approx(6 * res["model"]["params"] * r["tokens_per_s"] / res["peak_flops"])
    modes = res["modes"]
    assert (
        modes["trl_defaults"]["gradient_checkpointing"]
        and not modes["trl_defaults"]["precompute_ref_log_probs"]
    )
    assert (
        not modes["alignforge"]["gradient_checkpointing"] and modes["alignforge"]["precompute_ref_log_probs"]
    )
    assert modes["lean"]["gradient_checkpointing"] and modes["lean"]["precompute_ref_log_probs"]
    assert res["ratios"]["alignforge_speedup"] > 0 and res["ratios"]["lean_speedup"] > 0
    assert "alignforge MFU >= 30 %" in res["targets"] and res["targets_note"]
