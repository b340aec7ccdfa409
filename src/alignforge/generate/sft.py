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
from alignforge.generate._scored import Job, answer_and_score, job_request
from alignforge.generate._strategies import answer_request, complete
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM
from alignforge.llm.resolve import resolve_llms
from alignforge.llm.runner import compact_failed
from alignforge.stages import (
    DryRun,
    Tracker,
    cost_text,
    done_ids,
    estimate_lines,
    progress_bar,
    side_paths,
    stand_in,
    usage_lines,
)

__all__ = ["generate_sft_data", "SFTSummary", "load_taxonomy"]

_INPUT_MAX_TOKENS = 96  # a taxonomy leaf's written user input


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
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # per LLM name: requests, tokens, cost
    estimate: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        if self.estimate is not None:
            e = self.estimate
            head = (
                f"dry run: generate sft{' (taxonomy)' if e['taxonomy'] else ''}: {e['inputs']} inputs, "
                f"{e['planned']} LLM requests ({e['requests']} to send, {e['cached']} answered from the cache"
                f"{f'; {self.resumed} inputs done before' if self.resumed else ''}), "
                f"estimated worst-case cost {cost_text(e['cost_usd'])}"
            )
            return estimate_lines(head, e)
        out = [
            f"{self.written} SFT rows kept of {self.inputs} inputs ({self.resumed} done before); dropped "
            f"{self.dropped}, LLM failures {self.failed}; requests {self.requests}, cost ${self.cost_usd:.4f}",
            *usage_lines(self.models),
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
    llm_options: dict[str, Any] | None = None,
    judge_options: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> SFTSummary:
    """Write ``messages`` rows (system?, user, assistant) with ``metadata.score`` (0-10) to ``output_file``.

    ``llm_options`` / ``judge_options``: backend options for ``model`` / ``judge_model`` given as specs.
    ``dry_run`` calls nothing and returns the estimate for the inputs not done yet.
    """
    if (taxonomy is None) == (prompts is None):
        raise ConfigError("give exactly one of taxonomy (a YAML file) or prompts (a JSONL file)")
    if not 0 <= min_score <= 1:
        raise ConfigError(f"min_score is on 0-1 (0.80 keeps judge scores >= 8/10), got {min_score}")
    if judge_options and judge_model is None:
        raise ConfigError("judge options (--judge-option) need a judge model (--judge-model)")
    paths = side_paths(output_file)
    summary = SFTSummary(outputs={k: str(v) for k, v in vars(paths).items()})
    cache_path = f"{paths.out.with_suffix('')}.cache.sqlite" if cache == "auto" else cache
    done = done_ids(paths.out, paths.dropped, key="item_id", repair=not dry_run)
    system = None
    leaves: list[tuple[str, str, str, int]] = []
    input_convs: list[tuple[list[dict[str, str]], int]] = []  # per leaf to do: (conversation, seed)
    jobs: list[Job] = []
    if taxonomy is not None:
        tax = load_taxonomy(taxonomy)
        system = tax.get("system")
        all_leaves = _leaves(tax)[:limit]
        leaves = [leaf for leaf in all_leaves if leaf[0] not in done]  # a finished leaf asks nothing again
        summary.inputs, summary.resumed = len(all_leaves), len(all_leaves) - len(leaves)
        domain = str(tax.get("domain", "general"))
        input_convs = [(templates.sft_input_messages(domain, t, task), k) for _, t, task, k in leaves]
    else:
        for item in load_prompts(prompts, limit=limit):  # type: ignore[arg-type]
            jobs.append(Job(item.id, item.messages(), item.text, meta={"source": f"prompts:{item.id}"}))
        summary.inputs = len(jobs)
        jobs = [j for j in jobs if j.item_id not in done]
        summary.resumed = summary.inputs - len(jobs)
    sys_msg = [{"role": "system", "content": system or templates.ANSWER_SYSTEM}]
    for j in jobs:
        j.messages = sys_msg + [m for m in j.messages if m["role"] != "system"]
    if dry_run:
        summary.estimate = _estimate(
            input_convs,
            jobs,
            system=sys_msg,
            taxonomy=taxonomy is not None,
            cache=cache_path,
            models={"model": (model, llm_options), "judge": (judge_model, judge_options)},
            max_tokens=max_tokens,
            judge_max_tokens=judge_max_tokens,
        )
        return summary
    llm, jllm, _, budget = resolve_llms(
        model, llm_options, judge=(judge_model, judge_options), cache=cache_path, max_cost=max_cost
    )
    tracker = Tracker(target=summary.inputs, done=summary.resumed)
    judge = Judge(jllm, max_tokens=judge_max_tokens, on_usage=tracker.recorder(jllm.name))
    finished = set(done)
    out_w, drop_w, fail_w = paths.writers()
    try:
        if leaves:
            convs, seeds = [c for c, _ in input_convs], [k for _, k in input_convs]
            texts = complete(
                llm, convs, temperature=0.9, max_tokens=_INPUT_MAX_TOKENS, seeds=seeds, tracker=tracker
            )
            for (lid, *_), text in zip(leaves, texts, strict=True):
                if isinstance(text, str):
                    msgs = [*sys_msg, {"role": "user", "content": text}]
                    jobs.append(Job(lid, msgs, text, meta={"source": f"taxonomy:{lid}"}))
                else:
                    fail_w.write({"item_id": lid, "error": f"input: {text.kind}: {text.message}"})
                    summary.failed += 1
        with progress_bar(tracker, "sft", enabled=progress, count="done") as update:
            for start in range(0, len(jobs), batch_size):
                if budget is not None and budget.stopped:
                    break
                for s in answer_and_score(
                    llm, judge, tracker, jobs[start : start + batch_size], max_tokens=max_tokens
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
                    finished.add(s.job.item_id)
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
    summary.models = tracker.models_dict()
    compact_failed(paths.failures, finished, id_field="item_id")
    return summary


def _estimate(
    input_convs: list[tuple[list[dict[str, str]], int]],
    jobs: list[Job],
    *,
    system: list[dict[str, str]],
    taxonomy: bool,
    cache: str | os.PathLike[str] | None,
    models: dict[str, tuple[str | LLM | None, dict[str, Any] | None]],
    max_tokens: int,
    judge_max_tokens: int,
) -> dict[str, Any]:
    """Taxonomy: write each input, answer it, judge it; prompts: answer, judge (the judge calls depend)."""
    with DryRun(cache) as dry:
        _, jllm = dry.model_and_judge(models)
        judge = Judge(jllm, max_tokens=judge_max_tokens)
        filler_input, filler = stand_in(_INPUT_MAX_TOKENS), stand_in(max_tokens)
        for conv, k in input_convs:  # the request is known; the answer to it is not
            dry.add("model", [answer_request(conv, temperature=0.9, max_tokens=_INPUT_MAX_TOKENS, seed=k)])
            answer = Job("", [*system, {"role": "user", "content": filler_input}], filler_input)
            dry.add("model", [job_request(answer, max_tokens)], dependent=True)
        dry.add("model", [job_request(j, max_tokens) for j in jobs])
        n = len(input_convs) + len(jobs)
        dry.add("judge", judge.score_requests([(filler_input, filler)] * n), dependent=True)
        return {**dry.result(), "taxonomy": taxonomy, "inputs": n}
