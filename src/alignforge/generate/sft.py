"""SFT data: inputs from a taxonomy (or a prompts file), one strong answer each, kept if the judge says >= 0.80.

The judge scores on 0-10; ``min_score`` is on 0-1 (the training-methods guide's 0.80), so a row
needs a score of at least ``10 * min_score``. Rows below it, and rows whose score did not parse,
go to ``<out>.dropped.jsonl`` with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from alignforge.errors import ConfigError
from alignforge.generate import templates
from alignforge.generate._inputs import load_prompts
from alignforge.generate._runtime import Tracker, done_ids, progress_bar, resolve_llm, side_paths
from alignforge.generate._scored import Job, answer_and_score
from alignforge.generate._strategies import complete
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM

__all__ = ["generate_sft_data", "SFTSummary", "load_taxonomy"]


@dataclass
class SFTSummary:
    inputs: int = 0
    written: int = 0
    dropped: int = 0
    failed: int = 0
    resumed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    cost_usd: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"{self.written} SFT rows kept of {self.inputs} inputs ({self.resumed} done before); dropped "
            f"{self.dropped}, LLM failures {self.failed}; requests {self.requests}, cost ${self.cost_usd:.4f}"
        ]
        if self.reasons:
            out.append("drop reasons: " + ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items())))
        return out


def load_taxonomy(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``domain``, ``topics`` (names, or ``{name, subtopics}``), ``tasks``, optional ``system`` and ``per_leaf``."""
    import yaml

    with open(path) as fh:
        tax = yaml.safe_load(fh)
    if not isinstance(tax, dict) or not tax.get("topics"):
        raise ConfigError(f"{path}: a taxonomy needs 'topics' (and usually 'domain' and 'tasks')")
    return tax


def _leaves(tax: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """(leaf id, topic text, task, k) for every topic x subtopic x task x per_leaf."""
    tasks = tax.get("tasks") or ["answer a question"]
    out = []
    for topic in tax["topics"]:
        name = topic if isinstance(topic, str) else topic.get("name")
        if not name:
            raise ConfigError("taxonomy: every topic needs a name")
        subs = (topic.get("subtopics") if isinstance(topic, dict) else None) or [None]
        for sub in subs:
            for task in (topic.get("tasks") if isinstance(topic, dict) else None) or tasks:
                for k in range(int(tax.get("per_leaf", 1))):
                    text = f"{name}: {sub}" if sub else name
                    out.append((f"{name}/{sub or '-'}/{task}#{k}", text, task, k))
    return out


def generate_sft_data(
    output_file: str | os.PathLike[str],
    *,
    taxonomy: str | os.PathLike[str] | None = None,
    prompts: str | os.PathLike[str] | None = None,
    model: str | LLM = "local",
    judge_model: str | LLM | None = None,
    min_score: float = 0.80,
    max_tokens: int = 256,
    judge_max_tokens: int = 96,
    batch_size: int = 8,
    max_cost: float | None = None,
    cache: str | os.PathLike[str] | None = "auto",
    limit: int | None = None,
    progress: bool = True,
) -> SFTSummary:
    """Write ``messages`` rows (system?, user, assistant) with ``metadata.score`` (0-10) to ``output_file``."""
    if (taxonomy is None) == (prompts is None):
        raise ConfigError("give exactly one of taxonomy (a YAML file) or prompts (a JSONL file)")
    if not 0 <= min_score <= 1:
        raise ConfigError(f"min_score is on 0-1 (0.80 keeps judge scores >= 8/10), got {min_score}")
    paths = side_paths(output_file)
    summary = SFTSummary(outputs={k: str(v) for k, v in vars(paths).items()})
    cache_path = f"{paths.out.with_suffix('')}.cache.sqlite" if cache == "auto" else cache
    from alignforge.llm import Budget

    budget = Budget(max_cost) if max_cost is not None else None
    llm = resolve_llm(model, cache=cache_path, budget=budget)
    jllm = resolve_llm(judge_model, cache=cache_path, budget=budget) if judge_model else llm
    tracker = Tracker(target=0)
    judge = Judge(jllm, max_tokens=judge_max_tokens, on_usage=tracker.on_usage)
    system = None
    jobs: list[Job] = []
    if taxonomy is not None:
        tax = load_taxonomy(taxonomy)
        system = tax.get("system")
        leaves = _leaves(tax)[:limit]
        convs = [
            templates.sft_input_messages(str(tax.get("domain", "general")), t, task)
            for _, t, task, _ in leaves
        ]
        texts = complete(
            llm, convs, temperature=0.9, max_tokens=96, seeds=[k for *_, k in leaves], tracker=tracker
        )
        for (lid, *_), text in zip(leaves, texts, strict=True):
            if isinstance(text, str):
                jobs.append(
                    Job(lid, [{"role": "user", "content": text}], text, meta={"source": f"taxonomy:{lid}"})
                )
            else:
                summary.failed += 1
    else:
        for item in load_prompts(prompts, limit=limit):  # type: ignore[arg-type]
            jobs.append(Job(item.id, item.messages(), item.text, meta={"source": f"prompts:{item.id}"}))
    for j in jobs:
        sys_msg = [{"role": "system", "content": system or templates.ANSWER_SYSTEM}]
        j.messages = sys_msg + [m for m in j.messages if m["role"] != "system"]
    summary.inputs = len(jobs)
    done = done_ids(paths.out, paths.dropped, key="item_id")
    summary.resumed = sum(1 for j in jobs if j.item_id in done)
    todo = [j for j in jobs if j.item_id not in done]
    tracker.target, tracker.done = len(jobs), summary.resumed
    out_w, drop_w, fail_w = paths.writers()
    try:
        with progress_bar(tracker, "sft", enabled=progress, count="done") as update:
            for start in range(0, len(todo), batch_size):
                if budget is not None and budget.stopped:
                    break
                for s in answer_and_score(
                    llm, judge, tracker, todo[start : start + batch_size], max_tokens=max_tokens
                ):
                    if s.error:
                        fail_w.write({"item_id": s.job.item_id, "error": s.error})
                        summary.failed += 1
                        continue
                    jr = s.judge
                    msgs = [m for m in s.job.messages if system or m["role"] != "system"]
                    meta: dict[str, Any] = {
                        "item_id": s.job.item_id,
                        **s.job.meta,
                        "judge_status": jr.status if jr else None,
                    }
                    if jr is not None and jr.ok:
                        meta["score"] = jr.score
                    meta["rationale"] = jr.rationale if jr else ""
                    row = {
                        "messages": [*msgs, {"role": "assistant", "content": s.response}],
                        "metadata": meta,
                    }
                    reason = None
                    if jr is None or not jr.ok:
                        reason = "judge_parse_failed"
                    elif (jr.score or 0) < 10 * min_score:
                        reason = "score_below_min"
                    tracker.done += 1
                    if reason:
                        meta["drop_reason"] = reason
                        drop_w.write(row)
                        summary.dropped += 1
                        summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
                    else:
                        tracker.passed += 1
                        out_w.write(row)
                        summary.written += 1
                update()
    finally:
        for w in (out_w, drop_w, fail_w):
            w.close()
    summary.requests, summary.cost_usd = tracker.requests, tracker.cost_usd
    return summary
