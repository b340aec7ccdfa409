"""Sampling and verification shared by RAFT and the GRPO validation pass: generate, score, pass@k."""

from __future__ import annotations

import math
from typing import Any

from alignforge.train.monitors import _prompt_text

__all__ = ["chat_prompts", "pass_at_k", "sample", "score", "task_columns"]

_TASK_COLUMNS = (
    "task_id",
    "answer",
    "tests",
    "entry_point",
    "test_setup_code",
    "test_imports",
    "domain",
    "choices",
    "verification",
    "task_prompt",
)


def chat_prompts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``prompt`` as the benchmark asks it (``evaluate.checkpoint``'s instruction, one
    user message: the chat template renders it), the task's own prompt kept as ``task_prompt`` for
    the verifiers (a code task's body completes that prompt)."""
    from alignforge.evaluate.checkpoint import sample_prompt
    from alignforge.verify.tasks import task_domain

    out = []
    for row in rows:
        text = row["prompt"]
        if not isinstance(text, str):  # conversational already: the rows say how to ask
            out.append(row)
            continue
        asked = sample_prompt({"prompt": text, "domain": task_domain(row)})
        out.append({**row, "prompt": [{"role": "user", "content": asked}], "task_prompt": text})
    return out


def task_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The columns reward functions read, as lists aligned with ``rows``; ``verifier`` is each row's
    ``metadata.verifier`` (the finance / general grading spec) as JSON text, since Arrow (GRPO's
    dataset) would merge the finance and general specs' keys into one struct."""
    import json

    cols = {"prompt": [r["prompt"] for r in rows]}
    for key in _TASK_COLUMNS:
        if any(key in r for r in rows):
            cols[key] = [r.get(key) for r in rows]
    metas = [r.get("metadata") for r in rows]
    specs = [m.get("verifier") if isinstance(m, dict) else None for m in metas]
    if any(s is not None for s in specs):
        cols["verifier"] = [None if s is None else json.dumps(s, sort_keys=True) for s in specs]
    return cols


def sample(
    model: Any,
    tokenizer: Any,
    prompts: list[Any],
    *,
    n: int,
    temperature: float,
    max_new_tokens: int,
    seed: int,
    batch_size: int = 8,
) -> list[list[str]]:
    """``n`` sampled completions per prompt (text after the prompt, special tokens stripped)."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[list[str]] = []
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            for start in range(0, len(prompts), batch_size):
                texts = [_prompt_text(tokenizer, p) for p in prompts[start : start + batch_size]]
                enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left").to(device)
                seq = model.generate(
                    **enc,
                    do_sample=True,
                    temperature=temperature,
                    top_p=1.0,
                    top_k=0,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=n,
                    pad_token_id=tokenizer.pad_token_id,
                    use_cache=True,
                )
                decoded = tokenizer.batch_decode(
                    seq[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
                )
                out.extend(decoded[i * n : (i + 1) * n] for i in range(len(texts)))
    finally:
        model.train(was_training)
    return out


def score(
    funcs: list[Any],
    rows: list[dict[str, Any]],
    completions: list[list[str]],
    weights: list[float] | None = None,
) -> tuple[list[list[float]], list[list[bool]]]:
    """Weighted reward per completion and whether it passed the verifier (the first function's reward
    is 1.0), both in the same nesting as ``completions``."""
    flat_rows = [row for row, group in zip(rows, completions, strict=True) for _ in group]
    flat = [c for group in completions for c in group]
    if not flat:
        return [[] for _ in completions], [[] for _ in completions]
    cols = task_columns(flat_rows)
    prompts = cols["prompt"]
    weights = weights or [1.0] * len(funcs)
    total = [0.0] * len(flat)
    passed: list[bool] = []
    for j, (func, weight) in enumerate(zip(funcs, weights, strict=True)):
        extra = {k: v for k, v in cols.items() if k != "prompt"}
        values = [v if v is not None else 0.0 for v in func(prompts=prompts, completions=flat, **extra)]
        total = [t + weight * v for t, v in zip(total, values, strict=True)]
        if j == 0:
            passed = [v >= 1.0 for v in values]
    out, ok, i = [], [], 0
    for group in completions:
        out.append(total[i : i + len(group)])
        ok.append(passed[i : i + len(group)])
        i += len(group)
    return out, ok


def pass_at_k(n: int, c: int, k: int) -> float | None:
    """The unbiased pass@k estimator (Chen et al. 2021); None when fewer than ``k`` samples exist."""
    try:
        from alignforge.verify import pass_at_k as verify_pass_at_k  # type: ignore[attr-defined]
    except ImportError:
        verify_pass_at_k = None
    if n < k:
        return None
    if verify_pass_at_k is not None:
        return float(verify_pass_at_k(n, c, k))
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)
