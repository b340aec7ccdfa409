"""Score a checkpoint on RLVR tasks: sample n completions per task, verify them in the sandbox, pass@k."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from alignforge.io import JsonlWriter, write_jsonl

__all__ = ["score_checkpoint", "sample_prompt"]

_CODE = (
    "Complete the following Python function. Reply with the whole function in one ```python block, "
    "nothing else.\n\n{prompt}"
)
_MATH = "Solve the problem. Show brief working, then finish with a line 'The answer is <answer>'.\n\n{prompt}"


def sample_prompt(task: dict[str, Any]) -> str:
    """The chat prompt for a task: code asks for the full function, math for a final answer line."""
    template = _CODE if task.get("domain") == "code" else _MATH
    return template.format(prompt=task["prompt"])


def score_checkpoint(
    model: str,
    tasks: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    n: int = 10,
    ks: Sequence[int] = (1, 5, 10),
    temperature: float = 0.8,
    max_tokens: int = 384,
    limit: int | None = None,
    workers: int | None = None,
    cache: str | os.PathLike[str] | None = None,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """Write ``samples.jsonl``, ``verdicts.jsonl`` and ``report.json`` under ``out_dir``; return the report.

    ``model`` is any backend spec (``local``, ``local:/path/to/checkpoint``, ``openai:...``).
    Each sample has its own seed, so the request cache keeps samples apart and a rerun repeats
    no finished generation. ``timeout_s`` bounds each sample's test run in the sandbox.
    """
    from alignforge.llm import ChatRequest, ChatResponse, get_llm
    from alignforge.verify import load_tasks, pass_at_k_table, verify_completions

    if max(ks) > n:
        raise ValueError(f"pass@{max(ks)} needs at least {max(ks)} samples per task (n={n})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    task_map = load_tasks(tasks)
    chosen = list(task_map.values())[:limit] if limit else list(task_map.values())
    llm = get_llm(model, cache=cache or str(out / "requests.sqlite"))
    requests = [
        ChatRequest.chat(sample_prompt(t), temperature=temperature, max_tokens=max_tokens, seed=i)
        for t in chosen
        for i in range(n)
    ]
    results = llm.generate(requests)
    samples, failed = [], 0
    for j, res in enumerate(results):
        task, index = chosen[j // n], j % n
        if not isinstance(res, ChatResponse):
            failed += 1  # a failed generation is a failed sample, counted, never skipped
            text = ""
        else:
            text = res.text
        samples.append(
            {
                "task_id": task["task_id"],
                "sample_index": index,
                "completion": text,
                "completion_style": "full",
                "model": model,
                "temperature": temperature,
            }
        )
    write_jsonl(out / "samples.jsonl", samples)
    with JsonlWriter(out / "verdicts.jsonl", append=False) as w:
        verdicts = []
        for v in verify_completions(
            {t["task_id"]: t for t in chosen}, samples, workers=workers, timeout_s=timeout_s
        ):
            w.write(v)
            verdicts.append(v)
    table = pass_at_k_table(verdicts, list(ks))
    stem = Path(tasks).name.removesuffix(".jsonl").removesuffix("_full")
    report = {
        "model": model,
        "tasks": str(tasks),
        "n_tasks": len(chosen),
        "samples_per_task": n,
        "temperature": temperature,
        "failed_generations": failed,
        "overall": table["overall"],
        "scores": {f"{stem}/pass@{k}": table["overall"][f"pass@{k}"] for k in ks},
        "statuses": _count(v["status"] for v in verdicts),
    }
    (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
