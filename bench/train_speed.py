"""DPO training speed: alignforge's DPO recipe against TRL ``DPOTrainer`` defaults, in one run.

Same randomly initialised Llama-style model (default ~0.5B: 24 layers, hidden 1280), same synthetic
preference pairs, same batch (8) and max_length (640). Each mode runs one whole epoch in its own
process (Liger patches model classes globally, and peak memory must not leak between modes):

- ``trl_defaults``: ``DPOTrainer(model=<path>, args=DPOConfig(batch, max_length))`` and nothing else:
  fp32 weights under bf16 autocast, gradient checkpointing on, a reference model forward every step.
- ``alignforge``: the recipe's own config -> ``trl_args`` -> ``DPOTrainer`` path with the fast
  settings: bf16 weights, gradient checkpointing off, precomputed reference log-probs (the pass is
  timed: it is part of the epoch), Liger kernels when ``liger_kernel`` imports, the largest
  micro-batch (``--micro-batch``, default the whole batch), fused AdamW.
- ``lean``: the same with gradient checkpointing on (memory-lean mode).

Reported per mode: tokens/s over the epoch (wall time from model load to the end of ``train()``,
so tokenisation and the reference pass are included), s/step, MFU = 6 * params * tokens/s / peak
(``--peak-flops``, default 989e12: H100 SXM dense bf16), peak GPU memory
(``torch.cuda.max_memory_allocated``). Tokens are the real (non-padding) tokens of the chosen and
rejected sequences after truncation, which every mode sees identically. Targets (issue 6):
alignforge >= 5x TRL defaults' tokens/s and MFU >= 30 %; lean within TRL defaults' peak memory at
>= 2x their speed.

GPU (the device tool, nvidia-h200 or nvidia-h100-x1; its image has torch, transformers and accelerate
but not trl, datasets, liger-kernel or orjson, so wheels travel with the tree, ~17 MB). Step 1, here,
once, in the repository root:

    echo /.whl/ >> .git/info/exclude; python3 -m pip download --no-deps --only-binary=:all: \
      --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl trl==1.16.0 \
      transformers==5.23.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 fsspec==2026.9.0 \
      regex==2026.11.15 liger-kernel==0.8.5 orjson

Step 2, device.run with carry [".whl"] and timeout_s 600: ``bash bench/train_speed_device.sh``. It
installs the wheels, prints the GPU and the versions in use (datasets 5.2 needs pyarrow >= 24; the
H200 image had 25.0.1), runs the three modes and ``--profile 3``, and writes everything to $OUT.
Results of 2026-12-04 on an H200: bench/results/train.md.

CPU smoke (seconds; what tests/test_train_bench.py runs):

    PYTHONPATH=src HF_HUB_OFFLINE=1 python bench/train_speed.py --layers 2 --hidden 64 --vocab 512 \
      --batch 2 --max-length 64 --steps 2 --threads 1 --out /tmp/train_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = ("trl_defaults", "alignforge", "lean")
_TARGETS = {"speedup": 5.0, "mfu": 0.30, "lean_speedup": 2.0}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    m = p.add_argument_group("model (random init, Llama-style)")
    m.add_argument("--layers", type=int, default=24)
    m.add_argument("--hidden", type=int, default=1280)
    m.add_argument("--intermediate", type=int, help="MLP width (default: ~2.7 x hidden, a multiple of 64)")
    m.add_argument("--heads", type=int, help="attention heads (default: hidden / 64)")
    m.add_argument("--kv-heads", type=int, help="key/value heads (default: heads / 4 when it divides)")
    m.add_argument("--vocab", type=int, default=49152, help="model vocabulary (LM-head width)")
    d = p.add_argument_group("data and batch")
    d.add_argument("--batch", type=int, default=8, help="pairs per optimizer step (both sides)")
    d.add_argument("--micro-batch", type=int, help="alignforge/lean per-device batch (default: --batch)")
    d.add_argument("--precompute-batch", type=int, default=32, help="reference pass batch (alignforge)")
    d.add_argument("--max-length", type=int, default=640, help="prompt + completion tokens")
    d.add_argument(
        "--steps", type=int, default=100, help="optimizer steps in the epoch (pairs = steps*batch)"
    )
    d.add_argument("--prompt-tokens", help="LO:HI prompt length range (default: 5%%:40%% of max-length)")
    d.add_argument("--completion-tokens", help="LO:HI completion length range (default: 10%%:60%%)")
    r = p.add_argument_group("run")
    r.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}")
    r.add_argument(
        "--liger", choices=("auto", "on", "off"), default="auto", help="alignforge/lean Liger kernels"
    )
    r.add_argument("--peak-flops", type=float, default=989e12, help="device peak dense bf16 FLOP/s")
    r.add_argument("--threads", type=int, help="torch CPU threads (CPU smoke)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--workdir", help="where the model and data go (default: a temporary folder)")
    r.add_argument("--out", help="write the JSON results here")
    r.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    r.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="after the timed modes, profile STEPS alignforge steps (torch.profiler, after 6 warm steps)",
    )
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    p.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    return p


def _sizes(a: argparse.Namespace) -> dict[str, int]:
    heads = a.heads or max(1, a.hidden // 64)
    kv = a.kv_heads or (heads // 4 if heads % 4 == 0 else heads)
    inter = a.intermediate or max(64, round(a.hidden * 2.7 / 64) * 64)
    return {"layers": a.layers, "hidden": a.hidden, "intermediate": inter, "heads": heads, "kv_heads": kv}


def _range(spec: str | None, lo: float, hi: float, max_length: int) -> tuple[int, int]:
    if spec:
        a, _, b = spec.partition(":")
        return int(a), int(b)
    return max(1, int(max_length * lo)), max(2, int(max_length * hi))


def llama_config(a: argparse.Namespace) -> Any:
    from transformers import LlamaConfig

    s = _sizes(a)
    return LlamaConfig(
        vocab_size=a.vocab,
        hidden_size=s["hidden"],
        intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv_heads"],
        max_position_embeddings=max(2048, a.max_length),
        tie_word_embeddings=True,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )


# -- set-up: one model folder and one data file, shared by every mode -----------------------------
def _build(a: argparse.Namespace, work: Path) -> dict[str, Any]:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    model_dir = work / "model"
    special = ["<pad>", "<eos>", "<bos>", "<unk>"]
    words = [f"w{i}" for i in range(min(a.vocab, 8192) - len(special))]
    vocab = {t: i for i, t in enumerate(special + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<unk>"
    )
    s = _sizes(a)
    config = llama_config(a)
    torch.manual_seed(a.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = LlamaForCausalLM(config).to(torch.float32)
    params = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight.numel()
    model.save_pretrained(model_dir)  # fp32 on disk: TRL defaults train it as loaded
    tok.save_pretrained(model_dir)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()  # the modes run in child processes; leave them the whole GPU

    rng = random.Random(a.seed)
    p_lo, p_hi = _range(a.prompt_tokens, 0.05, 0.40, a.max_length)
    c_lo, c_hi = _range(a.completion_tokens, 0.10, 0.60, a.max_length)

    def text(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    rows = [
        {
            "prompt": text(rng.randint(p_lo, p_hi)),
            "chosen": " " + text(rng.randint(c_lo, c_hi)),
            "rejected": " " + text(rng.randint(c_lo, c_hi)),
        }
        for _ in range(a.steps * a.batch)
    ]
    data = work / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {
        "params": params,
        "non_embedding_params": params - embedding,
        "pairs": len(rows),
        "prompt_tokens": [p_lo, p_hi],
        "completion_tokens": [c_lo, c_hi],
        **s,
    }


# -- one mode, in its own process ------------------------------------------------------------------
def _alignforge_config(a: argparse.Namespace, work: Path, mode: str) -> Any:
    from alignforge.train import parse_config

    micro = a.micro_batch or a.batch
    if a.batch % micro:
        raise SystemExit(f"--micro-batch {micro} must divide --batch {a.batch}")
    raw = {
        "model": {"base_model": str(work / "model")},
        "data": {"train_file": str(work / "pairs.jsonl"), "max_length": a.max_length},
        "training": {
            "learning_rate": 1e-6,  # TRL's DPO default, so both modes take the same steps
            "batch_size": micro,
            "gradient_accumulation_steps": a.batch // micro,
            "num_epochs": 1,
            "logging_steps": 10,
            "seed": a.seed,
            "precompute_ref_log_probs": True,
            "precompute_ref_batch_size": a.precompute_batch,
            "resume": False,
        },
        "optimization": {"optimizer": "adamw"},  # fused AdamW
        "compute": {
            "precision": "auto",
            "gradient_checkpointing": mode == "lean",
            "liger": {"on": True, "off": False}.get(a.liger, "auto"),
        },
        "monitors": {"kl_prompts": 0},
        "logging": {"output_dir": str(work / f"out-{mode}"), "report_to": "none"},
    }
    return parse_config(raw, "dpo", source=f"bench:{mode}")


def _child(a: argparse.Namespace, work: Path) -> None:
    import datasets
    import torch
    import trl

    from alignforge.io import read_rows
    from alignforge.records import Kind
    from alignforge.train._data import to_dataset

    mode = a.child
    if a.threads:
        torch.set_num_threads(a.threads)
    datasets.disable_caching()  # every mode pays its own tokenisation and reference pass
    datasets.disable_progress_bars()
    cuda = torch.cuda.is_available()
    rows = [row for _, row in read_rows(work / "pairs.jsonl", Kind.DPO)]
    train_dataset = to_dataset(rows, Kind.DPO)
    liger = False
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(a.seed)

    if mode == "trl_defaults":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(work / "model")
        args = trl.DPOConfig(
            output_dir=str(work / f"out-{mode}"),
            per_device_train_batch_size=a.batch,
            max_length=a.max_length,
            num_train_epochs=1,
            save_strategy="no",
            report_to="none",
            seed=a.seed,
            use_cpu=not cuda,  # without CUDA, transformers refuses TRL's bf16 default unless told
        )
        started = time.perf_counter()
        trainer = trl.DPOTrainer(
            model=str(work / "model"), args=args, train_dataset=train_dataset, processing_class=tokenizer
        )
    else:
        from alignforge.train import load_causal_lm, load_tokenizer
        from alignforge.train.config import trl_args

        cfg = _alignforge_config(a, work, mode)
        tokenizer = load_tokenizer(cfg)
        args = trl_args(cfg)
        liger = bool(args.use_liger_kernel)
        started = time.perf_counter()
        policy = load_causal_lm(cfg)  # as run_dpo: policy only; the reference pass needs no second copy
        trainer = trl.DPOTrainer(
            model=policy, ref_model=None, args=args, train_dataset=train_dataset, processing_class=tokenizer
        )
    if cuda:
        torch.cuda.synchronize()
    init_s = time.perf_counter() - started
    if a.profile_child:
        _profile(a, trainer, work)
        return
    output = trainer.train()
    if cuda:
        torch.cuda.synchronize()
    epoch_s = time.perf_counter() - started

    tokens = 0
    for ex in trainer.train_dataset:
        p = len(ex["prompt_ids"])
        tokens += min(p + len(ex["chosen_ids"]), a.max_length) + min(
            p + len(ex["rejected_ids"]), a.max_length
        )
    model = trainer.model
    result = {
        "mode": mode,
        "epoch_s": epoch_s,
        "init_s": init_s,
        "train_s": epoch_s - init_s,
        "steps": trainer.state.global_step,
        "tokens": tokens,
        "trl_counted_tokens": getattr(trainer, "_total_train_tokens", None),
        "train_loss": output.training_loss,
        "weights_dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "bf16_autocast": bool(args.bf16),
        "gradient_checkpointing": bool(args.gradient_checkpointing),
        "precompute_ref_log_probs": bool(args.precompute_ref_log_probs),
        "liger": liger,
        "micro_batch": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "optim": str(args.optim.value if hasattr(args.optim, "value") else args.optim),
        "peak_gpu_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    (work / f"{mode}.json").write_text(json.dumps(result, indent=2) + "\n")


def _profile(a: argparse.Namespace, trainer: Any, work: Path) -> None:
    """Where one step's time goes: torch.profiler over ``--profile`` steps after 6 warm ones."""
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule
    from transformers import TrainerCallback

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    prof = profile(activities=acts, schedule=schedule(wait=4, warmup=2, active=a.profile))

    class Step(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, *_: Any, **__: Any) -> None:
            prof.step()

    trainer.args.max_steps = 6 + a.profile
    trainer.add_callback(Step())
    with prof:
        trainer.train()
    keys = ["self_cpu_time_total"] + (["self_cuda_time_total"] if torch.cuda.is_available() else [])
    averages = prof.key_averages()
    text = "".join(
        f"{a.profile} alignforge steps after 6 warm ones, by {key}\n"
        + averages.table(sort_by=key, row_limit=25, max_name_column_width=60)
        + "\n\n"
        for key in keys
    )
    (work / "profile.txt").write_text(text)


# -- the parent: set up, run each mode, compare ----------------------------------------------------
def _run_mode(mode: str, argv: list[str], work: Path, result: bool = True) -> dict[str, Any]:
    log = work / f"{mode}.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }
    env.setdefault("HF_HUB_OFFLINE", "1")
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--workdir", str(work), "--child", mode]
    print(f"running {mode} ...", file=sys.stderr, flush=True)
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = log.read_text()[-4000:]
        raise SystemExit(f"mode {mode} failed (exit {proc.returncode}); end of {log}:\n{tail}")
    return json.loads((work / f"{mode}.json").read_text()) if result else {}


def _strip(argv: list[str]) -> list[str]:
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
            continue
        if item in ("--workdir", "--out", "--child"):
            skip = True
            continue
        if item.startswith(("--workdir=", "--out=", "--child=")) or item in ("--check", "--profile-child"):
            continue
        out.append(item)
    return out


def _summarise(
    a: argparse.Namespace, setup: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    import torch
    import transformers
    import trl

    for r in runs.values():
        r["tokens_per_s"] = r["tokens"] / r["epoch_s"]
        r["s_per_step"] = r["train_s"] / max(1, r["steps"])
        r["mfu"] = 6 * setup["params"] * r["tokens_per_s"] / a.peak_flops
    cuda = torch.cuda.is_available()
    ratios: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    base = runs.get("trl_defaults")
    if base:
        for mode in ("alignforge", "lean"):
            if mode in runs:
                ratios[f"{mode}_speedup"] = runs[mode]["tokens_per_s"] / base["tokens_per_s"]
                if cuda:
                    ratios[f"{mode}_memory_ratio"] = runs[mode]["peak_gpu_mem_gib"] / base["peak_gpu_mem_gib"]
    if "alignforge" in runs and base:
        targets["alignforge >= 5x TRL defaults tokens/s"] = (
            ratios["alignforge_speedup"] >= _TARGETS["speedup"]
        )
    if "alignforge" in runs:
        targets["alignforge MFU >= 30 %"] = runs["alignforge"]["mfu"] >= _TARGETS["mfu"]
    if "lean" in runs and base:
        targets["lean >= 2x TRL defaults tokens/s"] = ratios["lean_speedup"] >= _TARGETS["lean_speedup"]
        if cuda:
            targets["lean peak memory <= TRL defaults'"] = ratios["lean_memory_ratio"] <= 1.0
    device = torch.cuda.get_device_name() if cuda else f"cpu ({platform.processor() or platform.machine()})"
    return {
        "benchmark": "dpo_train_speed",
        "device": device,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },
        "model": setup,
        "batch": a.batch,
        "max_length": a.max_length,
        "steps": a.steps,
        "peak_flops": a.peak_flops,
        "tokens_per_epoch": next(iter(runs.values()))["tokens"],
        "same_tokens_in_every_mode": len({r["tokens"] for r in runs.values()}) == 1,
        "modes": runs,
        "ratios": ratios,
        "targets": targets,
        "targets_note": None if cuda else "CPU smoke run: the targets are for an H100",
        "command": "python bench/train_speed.py " + " ".join(sys.argv[1:]),
    }


def _table(res: dict[str, Any]) -> str:
    m = res["model"]
    lines = [
        f"DPO epoch on {res['device']}: {m['params'] / 1e6:.1f}M params ({m['layers']} layers, hidden "
        f"{m['hidden']}), {m['pairs']} pairs, batch {res['batch']}, max_length {res['max_length']}, "
        f"{res['tokens_per_epoch']} tokens",
        "",
        "| mode | tokens/s | s/step | epoch s (init s) | MFU | peak GPU mem GiB | speed vs TRL | settings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = res["modes"].get("trl_defaults")
    for mode, r in res["modes"].items():
        mem = "n/a (CPU)" if r["peak_gpu_mem_gib"] is None else f"{r['peak_gpu_mem_gib']:.1f}"
        speed = f"{r['tokens_per_s'] / base['tokens_per_s']:.2f}x" if base else "-"
        settings = (
            f"{r['weights_dtype']} weights{' +bf16 autocast' if r['bf16_autocast'] else ''}, "
            f"ckpt {'on' if r['gradient_checkpointing'] else 'off'}, "
            f"ref {'precomputed' if r['precompute_ref_log_probs'] else 'every step'}, "
            f"liger {'on' if r['liger'] else 'off'}, micro-batch {r['micro_batch']}, {r['optim']}"
        )
        lines.append(
            f"| {mode} | {r['tokens_per_s']:.0f} | {r['s_per_step']:.3f} | {r['epoch_s']:.1f} ({r['init_s']:.1f})"
            f" | {100 * r['mfu']:.1f} % | {mem} | {speed} | {settings} |"
        )
    if res["targets"]:
        lines += ["", "| target | met |", "|---|---|"]
        lines += [f"| {k} | {'yes' if v else 'NO'} |" for k, v in res["targets"].items()]
        if res["targets_note"]:
            lines.append(f"\n({res['targets_note']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = _parser().parse_args(argv)
    if a.child:
        _child(a, Path(a.workdir))
        return 0
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SystemExit(f"--modes: unknown {bad}; choose from {', '.join(MODES)}")
    with tempfile.TemporaryDirectory(prefix="train_speed_", dir=a.workdir) as tmp:
        work = Path(tmp)
        setup = _build(a, work)
        print(f"model: {setup['params'] / 1e6:.1f}M parameters; {setup['pairs']} pairs", file=sys.stderr)
        runs = {mode: _run_mode(mode, _strip(argv), work) for mode in modes}
        if a.profile:
            _run_mode("alignforge", [*_strip(argv), "--profile-child"], work, result=False)
            profile_text = (work / "profile.txt").read_text()
            print(profile_text, file=sys.stderr)
            if a.out:
                Path(a.out).parent.mkdir(parents=True, exist_ok=True)
                Path(a.out).with_suffix(".profile.txt").write_text(profile_text)
    res = _summarise(a, setup, runs)
    print(_table(res))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    return 1 if a.check and not all(res["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
