"""KTO data: answers labelled by the judge's rubric score, with the positive share held at 60-70 %.

Each prompt is answered ``per_prompt`` times (temperatures spread from ``low`` to ``high``), each
answer scored on 0-10; ``label = score >= threshold``. Scored rows are staged in
``<out>.scored.jsonl`` (resumable); the final file is that stage balanced: when positives are
above ``max_positive`` some positives are left out, when below ``min_positive`` some negatives
are, always lowest-evidence first (positives with the lowest scores, negatives with the
highest); the left-out rows are rewritten to ``<out>.balance-dropped.jsonl`` on each run (reason
``balance``), rows whose score did not parse go to ``<out>.dropped.jsonl``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.generate._inputs import load_prompts
from alignforge.generate._scored import Job, answer_and_score, job_request
from alignforge.io import JsonlWriter, iter_jsonl, write_jsonl
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

__all__ = ["generate_kto_data", "KTOSummary", "balance"]


@dataclass
class KTOSummary:
    written: int = 0
    positives: int = 0
    dropped: int = 0
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    cost_usd: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # per LLM name: requests, tokens, cost
    estimate: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        if self.estimate is not None:
            e = self.estimate
            done = f"; {e['resumed']} answers done before" if e["resumed"] else ""
            head = (
                f"dry run: generate kto: {e['inputs']} inputs, {e['planned']} LLM requests ({e['requests']} to "
                f"send, {e['cached']} answered from the cache{done}), "
                f"estimated worst-case cost {cost_text(e['cost_usd'])}"
            )
            return estimate_lines(head, e)
        share = f"{self.positives / self.written:.0%}" if self.written else "-"
        out = [
            f"wrote {self.written} KTO rows ({self.positives} positive, {share}) to {self.outputs.get('out')}; "
            f"dropped {self.dropped}, LLM failures {self.failed}; requests {self.requests}, cost ${self.cost_usd:.4f}",
            *usage_lines(self.models),
        ]
        if self.reasons:
            out.append("drop reasons: " + ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items())))
        return out


def balance(
    rows: list[dict[str, Any]], lo: float, hi: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept, left out) so that the positive share of ``kept`` lies in ``[lo, hi]`` when both labels exist."""
    pos = sorted((i for i, r in enumerate(rows) if r["label"]), key=lambda i: rows[i]["metadata"]["score"])
    neg = sorted(
        (i for i, r in enumerate(rows) if not r["label"]), key=lambda i: -rows[i]["metadata"]["score"]
    )
    if not pos or not neg:
        return rows, []
    left: list[int] = []
    while len(pos) / (len(pos) + len(neg)) > hi and len(pos) > 1:
        left.append(pos.pop(0))
    while len(pos) / (len(pos) + len(neg)) < lo and len(neg) > 1:
        left.append(neg.pop(0))
    gone = set(left)
    return [r for i, r in enumerate(rows) if i not in gone], [rows[i] for i in left]


def generate_kto_data(
    input_file: str | os.PathLike[str],
    output_file: str | os.PathLike[str],
    *,
    model: str | LLM = "local",
    judge_model: str | LLM | None = None,
    threshold: float = 7.0,
    per_prompt: int = 2,
    low_temperature: float = 0.3,
    high_temperature: float = 1.1,
    min_positive: float = 0.60,
    max_positive: float = 0.70,
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
) -> KTOSummary:
    """Write ``prompt, completion, label`` rows with ``metadata.score`` (0-10) to ``output_file``.

    ``llm_options`` / ``judge_options``: backend options for ``model`` / ``judge_model`` given as specs.
    ``dry_run`` calls nothing and returns the estimate for the answers not scored yet.
    """
    if not 0 <= min_positive <= max_positive <= 1:
        raise ConfigError(f"need 0 <= min_positive <= max_positive <= 1, got {min_positive}, {max_positive}")
    if judge_options and judge_model is None:
        raise ConfigError("judge options (--judge-option) need a judge model (--judge-model)")
    paths = side_paths(output_file)
    stage = Path(f"{paths.out.with_suffix('')}.scored.jsonl")
    summary = KTOSummary(outputs={**{k: str(v) for k, v in vars(paths).items()}, "scored": str(stage)})
    cache_path = f"{paths.out.with_suffix('')}.cache.sqlite" if cache == "auto" else cache
    items = {i.id: i for i in load_prompts(input_file, limit=limit)}
    step = (high_temperature - low_temperature) / max(per_prompt - 1, 1)
    jobs = [
        Job(
            f"{i.id}#{k}",
            i.messages(),
            i.text,
            temperature=round(low_temperature + k * step, 3),
            seed=k,
            meta={"prompt_id": i.id},
        )
        for i in items.values()
        for k in range(per_prompt)
    ]
    done = done_ids(stage, paths.dropped, key="item_id", repair=not dry_run)
    todo = [j for j in jobs if j.item_id not in done]
    if dry_run:
        summary.estimate = _estimate(
            todo,
            cache=cache_path,
            models={"model": (model, llm_options), "judge": (judge_model, judge_options)},
            max_tokens=max_tokens,
            judge_max_tokens=judge_max_tokens,
        )
        summary.estimate.update(inputs=len(items), resumed=len(jobs) - len(todo))
        return summary
    llm, jllm, _, budget = resolve_llms(
        model, llm_options, judge=(judge_model, judge_options), cache=cache_path, max_cost=max_cost
    )
    tracker = Tracker(target=len(jobs), done=len(jobs) - len(todo))
    judge = Judge(jllm, max_tokens=judge_max_tokens, on_usage=tracker.recorder(jllm.name))
    finished = set(done)
    with (
        JsonlWriter(stage) as stage_w,
        JsonlWriter(paths.dropped) as drop_w,
        JsonlWriter(paths.failures) as fail_w,
        progress_bar(tracker, "kto", enabled=progress, count="done") as update,
    ):
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
                j = s.judge
                item = items[s.job.meta["prompt_id"]]
                meta: dict[str, Any] = {
                    "item_id": s.job.item_id,
                    "prompt_id": item.id,
                    "temperature": s.job.temperature,
                    "judge_status": j.status if j else None,
                    "rationale": j.rationale if j else "",
                }
                row: dict[str, Any] = {"prompt": item.prompt, "completion": s.response}
                tracker.done += 1
                finished.add(s.job.item_id)
                if j is None or not j.ok or j.score is None:
                    meta["drop_reason"] = "judge_parse_failed"
                    drop_w.write({**row, "metadata": meta})
                    continue
                meta["score"] = j.score
                row["label"] = j.score >= threshold
                if isinstance(item.prompt, list):
                    row["completion"] = [{"role": "assistant", "content": s.response}]
                stage_w.write({**row, "metadata": meta})
                tracker.passed += int(row["label"])
            update()
    staged = [r for _, r in iter_jsonl(stage)] if stage.exists() and stage.stat().st_size else []
    kept, left_out = balance(staged, min_positive, max_positive)
    summary.written = write_jsonl(paths.out, kept)
    summary.positives = sum(1 for r in kept if r["label"])
    rebalanced = Path(f"{paths.out.with_suffix('')}.balance-dropped.jsonl")
    write_jsonl(
        rebalanced, [{**r, "metadata": {**r["metadata"], "drop_reason": "balance"}} for r in left_out]
    )
    summary.outputs["balance_dropped"] = str(rebalanced)
    if left_out:
        summary.reasons["balance"] = len(left_out)
    if paths.dropped.exists() and paths.dropped.stat().st_size:
        for _, r in iter_jsonl(paths.dropped):
            reason = (r.get("metadata") or {}).get("drop_reason", "unknown")
            summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
    summary.dropped = sum(summary.reasons.values())
    summary.requests, summary.cost_usd = tracker.requests, tracker.cost_usd
    summary.models = tracker.models_dict()
    compact_failed(paths.failures, finished, id_field="item_id")
    return summary


def _estimate(
    todo: list[Job],
    *,
    cache: str | os.PathLike[str] | None,
    models: dict[str, tuple[str | LLM | None, dict[str, Any] | None]],
    max_tokens: int,
    judge_max_tokens: int,
) -> dict[str, Any]:
    """Each answer not scored yet: the answer request (known), then its judge call (depends on it)."""
    with DryRun(cache) as dry:
        _, jllm = dry.model_and_judge(models)
        dry.add("model", [job_request(j, max_tokens) for j in todo])
        judge = Judge(jllm, max_tokens=judge_max_tokens)
        filler = stand_in(max_tokens)
        dry.add("judge", judge.score_requests([(j.prompt_text, filler) for j in todo]), dependent=True)
        return dry.result()
