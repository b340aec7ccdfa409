"""KTO data: answers labelled by the judge's rubric score, with the positive share held at 60-70 %.

Each prompt is answered ``per_prompt`` times (temperatures spread from ``low`` to ``high``), each
answer scored on 0-10; ``label = score >= threshold``. Scored rows are appended to ``out.jsonl`` as
they come (a killed run resumes at its row); rows whose score did not parse go to
``out.dropped.jsonl``. At the end the scored rows are balanced: when positives are above
``max_positive`` some positives are left out, when below ``min_positive`` some negatives are, always
lowest-evidence first (positives with the lowest scores, negatives with the highest). The left-out
rows move to ``out.dropped.jsonl`` with the reason ``balance``; each run balances again over every
scored row (kept or left out before), in input order, so the result does not depend on how the
runs were cut. Scored rows of prompts no longer in the input are kept in ``out.dropped.jsonl`` with
the reason ``not_in_input`` (detail: the item id), never deleted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from alignforge.errors import ConfigError
from alignforge.generate._inputs import load_prompts
from alignforge.generate._scored import Job, answer_and_score, job_request
from alignforge.generate._stage import GeneratorStage, cache_for, run_generator
from alignforge.io import iter_jsonl, write_jsonl
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM
from alignforge.llm.resolve import resolve_llms
from alignforge.stages import (
    DryRun,
    StageSummary,
    Tracker,
    add_drop_reason,
    compact_failures,
    cost_text,
    done_ids,
    drop_reasons_of,
    estimate_lines,
    first_reason,
    progress_bar,
    side_paths,
    stand_in,
)

__all__ = ["generate_kto_data", "KTOStage", "balance"]


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


@dataclass
class KTOStage(GeneratorStage):
    """``generate kto`` as a stage: the parameters of :func:`generate_kto_data`, one ``execute()``."""

    name = "generate.kto"
    #: A rerun skips the rows already made (by prompt id): other inputs or parameters are refused by
    #: run_stage, except these (the rows of prompts left out move to dropped (not_in_input) and the mix is balanced again).
    resumes_by_key: ClassVar[bool] = True
    resume_may_change: ClassVar[frozenset[str]] = frozenset(
        {"prompts", "limit", "min_positive", "max_positive", "max_cost", "batch_size"}
    )

    input_file: str | os.PathLike[str]
    output_file: str | os.PathLike[str]
    model: str | LLM = "local"
    judge_model: str | LLM | None = None
    threshold: float = 7.0
    per_prompt: int = 2
    low_temperature: float = 0.3
    high_temperature: float = 1.1
    min_positive: float = 0.60
    max_positive: float = 0.70
    max_tokens: int = 256
    judge_max_tokens: int = 96
    batch_size: int = 8
    max_cost: float | None = None
    cache: str | os.PathLike[str] | None = "auto"
    limit: int | None = None
    progress: bool = True
    llm_options: dict[str, Any] | None = None
    judge_options: dict[str, Any] | None = None
    dry_run: bool = False

    NOT_PARAMS = GeneratorStage.NOT_PARAMS | {"batch_size"}

    def __post_init__(self) -> None:
        if not 0 <= self.min_positive <= self.max_positive <= 1:
            raise ConfigError(
                f"need 0 <= min_positive <= max_positive <= 1, got {self.min_positive}, {self.max_positive}"
            )
        if self.judge_options and self.judge_model is None:
            raise ConfigError("judge options (--judge-option) need a judge model (--judge-model)")

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"prompts": self.input_file}

    def execute(self) -> StageSummary:
        paths = side_paths(self.output_file)
        summary = self.summary(inputs=0, positives=0)
        cache_path = cache_for(paths.out, self.cache)
        items = {i.id: i for i in load_prompts(self.input_file, limit=self.limit)}
        summary.figures["inputs"] = len(items)
        step = (self.high_temperature - self.low_temperature) / max(self.per_prompt - 1, 1)
        jobs = [
            Job(
                f"{i.id}#{k}",
                i.messages(),
                i.text,
                temperature=round(self.low_temperature + k * step, 3),
                seed=k,
                meta={"prompt_id": i.id},
            )
            for i in items.values()
            for k in range(self.per_prompt)
        ]
        done = done_ids(paths.out, paths.dropped, key="item_id", repair=not self.dry_run)
        todo = [j for j in jobs if j.item_id not in done]
        summary.resumed = len(jobs) - len(todo)
        if self.dry_run:
            e = summary.estimate = _estimate(
                todo,
                cache=cache_path,
                models={
                    "model": (self.model, self.llm_options),
                    "judge": (self.judge_model, self.judge_options),
                },
                max_tokens=self.max_tokens,
                judge_max_tokens=self.judge_max_tokens,
            )
            e.update(inputs=len(items), resumed=summary.resumed)
            resumed = f"; {e['resumed']} answers done before" if e["resumed"] else ""
            head = (
                f"dry run: generate kto: {e['inputs']} inputs, {e['planned']} LLM requests ({e['requests']} to "
                f"send, {e['cached']} answered from the cache{resumed}), "
                f"estimated worst-case cost {cost_text(e['cost_usd'])}"
            )
            summary.notes = estimate_lines(head, e)
            return summary
        llm, jllm, _, budget = resolve_llms(
            self.model,
            self.llm_options,
            judge=(self.judge_model, self.judge_options),
            cache=cache_path,
            max_cost=self.max_cost,
        )
        tracker = Tracker(target=len(jobs), done=summary.resumed)
        judge = Judge(jllm, max_tokens=self.judge_max_tokens, on_usage=tracker.recorder(jllm.name))
        finished = set(done)
        stopped = False
        out_w, drop_w, fail_w = paths.writers()
        try:
            with progress_bar(tracker, "kto", enabled=self.progress, count="done") as update:
                for start in range(0, len(todo), self.batch_size):
                    if budget is not None and budget.stopped:
                        stopped = True
                        break
                    batch = todo[start : start + self.batch_size]
                    for s in answer_and_score(llm, judge, tracker, batch, max_tokens=self.max_tokens):
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
                        row: dict[str, Any] = {
                            "prompt": item.prompt,
                            "completion": s.response,
                            "metadata": meta,
                        }
                        tracker.done += 1
                        finished.add(s.job.item_id)
                        if j is None or not j.ok or j.score is None:
                            status = j.status if j else "parse_failed"
                            drop_w.write(add_drop_reason(row, "judge_parse_failed", {"status": status}))
                            continue
                        meta["score"] = j.score
                        row["label"] = j.score >= self.threshold
                        if isinstance(item.prompt, list):
                            row["completion"] = [{"role": "assistant", "content": s.response}]
                        out_w.write(row)
                        tracker.passed += int(row["label"])
                    update()
        finally:
            for w in (out_w, drop_w, fail_w):
                w.close()
        order = {j.item_id: k for k, j in enumerate(jobs)}
        self._rebalance(summary, order)
        tracker.fill(summary)
        summary.figures["complete"] = not stopped
        share = f"{summary.positives / summary.written:.0%}" if summary.written else "-"
        summary.notes = [f"   {summary.written} KTO rows, {summary.positives} positive ({share})"]
        compact_failures(paths.failures, finished, id_field="item_id")
        return summary

    def _rebalance(self, summary: StageSummary, order: dict[str, int]) -> None:
        """Balance every scored row (in ``out`` or left out to ``dropped`` before) again, in input order.

        A scored row whose prompt is no longer in the input (a smaller ``limit``, an edited file) moves
        to ``dropped`` with the reason ``not_in_input`` and comes back when its prompt does.

        ``dropped`` is written first, then ``out``, each atomically: a kill in between leaves a row in
        both, which the next run's balance sees once (by ``item_id``).
        """
        paths = side_paths(self.output_file)
        scored: dict[str, dict[str, Any]] = {}
        not_in_input: dict[str, dict[str, Any]] = {}
        kept_drops: list[dict[str, Any]] = []
        for path in (paths.out, paths.dropped):
            for _, row in iter_jsonl(path) if path.exists() and path.stat().st_size else ():
                if first_reason(drop_reasons_of(row)) not in (None, "balance", "not_in_input"):
                    kept_drops.append(row)
                    continue
                meta = row["metadata"]
                meta.pop("drop_reasons", None)
                item_id = meta.get("item_id")
                if item_id in order:
                    scored.setdefault(item_id, row)
                elif item_id not in not_in_input:  # kept aside, back in the balance when its prompt is
                    not_in_input[item_id] = add_drop_reason(row, "not_in_input", {"item_id": item_id})
        rows = sorted(scored.values(), key=lambda r: order[r["metadata"]["item_id"]])
        kept, left_out = balance(rows, self.min_positive, self.max_positive)
        n = len(kept)
        share = sum(1 for r in kept if r["label"]) / n if n else 0.0
        for r in left_out:
            add_drop_reason(
                r,
                "balance",
                {"label": r["label"], "score": r["metadata"]["score"], "positive_share": round(share, 4)},
            )
        dropped = [*kept_drops, *left_out, *not_in_input.values()]
        if dropped or paths.dropped.exists():
            write_jsonl(paths.dropped, dropped)
        summary.written = write_jsonl(paths.out, kept)
        summary.figures["positives"] = sum(1 for r in kept if r["label"])
        for r in dropped:
            summary.drop(first_reason(drop_reasons_of(r)) or "unknown")


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
) -> StageSummary:
    """Write ``prompt, completion, label`` rows with ``metadata.score`` (0-10) to ``output_file``.

    ``llm_options`` / ``judge_options``: backend options for ``model`` / ``judge_model`` given as specs.
    ``dry_run`` calls nothing and returns the estimate for the answers not scored yet. Returns the
    stage's :class:`~alignforge.stages.StageSummary` (figures ``inputs``, ``positives``).
    """
    return run_generator(KTOStage(**locals()), dry_run=dry_run)


def parse_share_band(text: str) -> tuple[float, float]:
    """``"0.60-0.70"`` -> ``(0.6, 0.7)``: the band ``--positive-share`` holds the positive share in."""
    try:
        lo, hi = (float(x) for x in text.split("-"))
    except ValueError:
        raise ConfigError(f"--positive-share: expected LOW-HIGH, e.g. 0.60-0.70, got {text!r}") from None
    return lo, hi


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
