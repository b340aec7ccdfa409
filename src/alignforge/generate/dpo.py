"""DPO pairs in quota mode: generate candidates until N pass the pair gates or a budget runs out.

Every candidate ends in exactly one place: ``out.jsonl`` (passed the gates; with ``keep_all``
also the scored ones that did not), ``out.dropped.jsonl`` (failed a gate, with its reasons) or
``out.failures.jsonl`` (an LLM call failed for good; a rerun tries it again). A rerun skips
every candidate already in ``out`` or ``dropped`` and the request cache answers the calls of a
half-finished batch, so a killed run resumes with no duplicate and no gap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from alignforge.errors import ConfigError
from alignforge.generate._dpo_dryrun import estimate_dpo, estimate_lines_dpo
from alignforge.generate._dpo_pairs import Thresholds as Thresholds
from alignforge.generate._dpo_pairs import _row, _score
from alignforge.generate._dpo_pairs import pair_gate_reasons as pair_gate_reasons
from alignforge.generate._inputs import PromptItem, load_prompts
from alignforge.generate._stage import GeneratorStage, cache_for, run_generator
from alignforge.generate._strategies import STRATEGIES, Candidate, GenContext, requests_per_candidate
from alignforge.generate.flaws import flaw_sequence, parse_mix
from alignforge.io import iter_jsonl
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM
from alignforge.llm.resolve import resolve_llms
from alignforge.stages import (
    StageSummary,
    Tracker,
    compact_failures,
    done_ids,
    drop_reasons_of,
    progress_bar,
    reason_text,
    side_paths,
)

__all__ = ["generate_dpo_pairs", "DPOStage", "Thresholds", "pair_gate_reasons"]


def _passed_state(path: os.PathLike[str], *, strict: bool = True) -> tuple[set[str], dict[str, int]]:
    prompts: set[str] = set()
    flaws: dict[str, int] = {}
    if os.path.exists(path) and os.path.getsize(path) > 0:
        for _, row in iter_jsonl(path, on_error="raise" if strict else "skip"):
            meta = row.get("metadata") or {}
            if meta.get("gates_passed"):
                prompts.add(str(meta.get("prompt_id")))
                if meta.get("flaw_type"):
                    flaws[meta["flaw_type"]] = flaws.get(meta["flaw_type"], 0) + 1
    return prompts, flaws


def _gate_failures(*paths: os.PathLike[str]) -> dict[str, int]:
    """Every failed gate of the pairs already written (``out`` with ``--keep-all``, ``dropped``), once
    per candidate: a resumed run's ``gate_failures`` then counts them with its own, as one uncut run would."""
    counts: dict[str, int] = {}
    seen: set[str] = set()
    for path in paths:
        if not (os.path.exists(path) and os.path.getsize(path) > 0):
            continue
        for _, row in iter_jsonl(path):
            cid = str((row.get("metadata") or {}).get("candidate_id"))
            if cid in seen:
                continue
            seen.add(cid)
            for r in drop_reasons_of(row):
                counts[str(r.get("reason"))] = counts.get(str(r.get("reason")), 0) + 1
    return counts


def _name(model: str | LLM) -> str:
    return model if isinstance(model, str) else getattr(model, "name", type(model).__name__)


def _queue(items: list[PromptItem], max_rounds: int, flaws: list[str]) -> list[Candidate]:
    """Every candidate the run may try, round by round; candidate k always gets flaw k."""
    return [
        Candidate(
            cid=f"{item.id}#{r}",
            index=r * len(items) + i,
            round=r,
            item=item,
            flaw=flaws[r * len(items) + i] if flaws else None,
        )
        for r in range(max_rounds)
        for i, item in enumerate(items)
    ]


class _Settled:
    """Candidates with nothing left to retry: written, or their prompt already has a passing pair."""

    def __init__(self, done: set[str], passed_prompts: set[str]) -> None:
        self.done, self.passed_prompts = done, passed_prompts

    def __contains__(self, cid: object) -> bool:
        return cid in self.done or str(cid).rpartition("#")[0] in self.passed_prompts


@dataclass
class DPOStage(GeneratorStage):
    """``generate dpo`` as a stage: the parameters of :func:`generate_dpo_pairs`, one ``execute()``."""

    name = "generate.dpo"
    #: A rerun skips the rows already made (by prompt id): other inputs or parameters are refused by
    #: run_stage, except these (a larger quota, budget or batch goes on where the last run stopped).
    resumes_by_key: ClassVar[bool] = True
    resume_may_change: ClassVar[frozenset[str]] = frozenset({"n", "max_candidates", "max_cost", "batch_size"})

    input_file: str | os.PathLike[str]
    output_file: str | os.PathLike[str]
    chosen_threshold: float = 9.0
    rejected_threshold: float = 6.0
    gap_threshold: float = 3.0
    strategy: str = "flaw"
    model: str | LLM = "local"
    weak_model: str | LLM | None = None
    judge_model: str | LLM | None = None
    n: int | None = None
    max_candidates: int | None = None
    max_rounds: int = 3
    max_cost: float | None = None
    flaw_mix: str | dict[str, float] | None = None
    confirm_flaws: bool = True
    keep_all: bool = False
    batch_size: int = 8
    max_tokens: int = 256
    judge_max_tokens: int = 96
    temperature: float = 0.3
    low_temperature: float = 0.3
    high_temperature: float = 1.2
    best_of: int = 4
    cache: str | os.PathLike[str] | None = "auto"
    llm_options: dict[str, Any] | None = None
    weak_options: dict[str, Any] | None = None
    judge_options: dict[str, Any] | None = None
    progress: bool = True
    dry_run: bool = False
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if self.strategy == "strong-weak" and self.weak_model is None:
            raise ConfigError(
                "strategy strong-weak needs a weak model: --weak-model (e.g. openai:gpt-4o-mini)"
            )
        if self.weak_options and self.weak_model is None:
            raise ConfigError("weak-model options (--weak-option) need a weak model (--weak-model)")
        if self.judge_options and self.judge_model is None:
            raise ConfigError(
                "judge options (--judge-option) need a judge model (--judge-model); the default judge is "
                "--model, set with --option"
            )
        parse_mix(self.flaw_mix)  # a bad mix is refused before anything runs

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"prompts": self.input_file}

    def execute(self) -> StageSummary:
        th = Thresholds(self.chosen_threshold, self.rejected_threshold, self.gap_threshold)
        items: list[PromptItem] = load_prompts(self.input_file, limit=self.limit)
        target = len(items) if self.n is None else self.n
        if target > len(items):
            raise ConfigError(
                f"--n {target} is more than the {len(items)} prompts in {self.input_file} (one pair per prompt)"
            )
        paths = side_paths(self.output_file)
        strategy, confirm = self.strategy, self.confirm_flaws
        summary = self.summary(
            target=target, passed=0, candidates=0, flaw_counts={}, gate_failures={}, stopped_because=""
        )
        cache_path = cache_for(paths.out, self.cache)
        done = done_ids(paths.out, paths.dropped, repair=not self.dry_run)
        passed_prompts, flaw_counts = _passed_state(paths.out, strict=not self.dry_run)
        flaws = (
            flaw_sequence(parse_mix(self.flaw_mix), len(items) * self.max_rounds)
            if strategy == "flaw"
            else []
        )
        queue = _queue(items, self.max_rounds, flaws)
        params: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "low_temperature": self.low_temperature,
            "high_temperature": self.high_temperature,
            "best_of": self.best_of,
        }
        if self.dry_run:
            summary.estimate = estimate_dpo(
                queue,
                done,
                passed_prompts,
                target=target,
                max_candidates=self.max_candidates,
                rpc=requests_per_candidate(strategy, best_of=self.best_of, confirm_flaws=confirm),
                cache=cache_path,
                strategy=strategy,
                confirm_flaws=confirm,
                models={
                    "model": (self.model, self.llm_options),
                    "weak": (self.weak_model, self.weak_options),
                    "judge": (self.judge_model, self.judge_options),
                },
                judge_max_tokens=self.judge_max_tokens,
                params=params,
            )
            summary.resumed = len(done)
            summary.notes = estimate_lines_dpo(summary.estimate)
            return summary
        llm, jllm, weak, budget = resolve_llms(
            self.model,
            self.llm_options,
            judge=(self.judge_model, self.judge_options),
            weak=(self.weak_model, self.weak_options),
            cache=cache_path,
            max_cost=self.max_cost,
        )
        tracker = Tracker(target=target)
        judge = Judge(jllm, max_tokens=self.judge_max_tokens, on_usage=tracker.recorder(jllm.name))
        ctx = GenContext(
            llm=llm,
            judge=judge,
            tracker=tracker,
            weak_llm=weak,
            model_name=_name(self.model),
            weak_name=_name(self.weak_model) if self.weak_model else None,
            **params,
        )
        summary.resumed = len(done)
        tracker.passed, tracker.done = len(passed_prompts), len(done)
        tracker.reasons = _gate_failures(paths.out, paths.dropped)
        finished = set(done)
        stopped = "every prompt was tried max_rounds times"
        out_w, drop_w, fail_w = paths.writers()
        try:
            with progress_bar(tracker, f"dpo/{strategy}", enabled=self.progress) as update:
                pos = 0
                while True:
                    if tracker.passed >= target:
                        stopped = f"reached the target of {target} pairs"
                        break
                    if self.max_candidates is not None and tracker.done >= self.max_candidates:
                        stopped = f"candidate budget of {self.max_candidates} used"
                        break
                    if budget is not None and budget.stopped:
                        stopped = f"cost budget ${self.max_cost} reached (${budget.spent_usd:.4f} spent)"
                        break
                    chunk: list[Candidate] = []
                    size = min(self.batch_size, target - tracker.passed)
                    if self.max_candidates is not None:
                        size = min(size, self.max_candidates - tracker.done)
                    while pos < len(queue) and len(chunk) < size:
                        c = queue[pos]
                        pos += 1
                        if c.cid not in done and c.item.id not in passed_prompts:
                            chunk.append(c)
                    if not chunk:
                        break
                    STRATEGIES[strategy](chunk, ctx)
                    _score(chunk, ctx, strategy=strategy, confirm_flaws=confirm)
                    for c in chunk:
                        if c.error is not None:
                            fail_w.write({"candidate_id": c.cid, "prompt_id": c.item.id, "error": c.error})
                            summary.failed += 1
                            continue
                        reasons = pair_gate_reasons(c, th, strategy=strategy, confirm_flaws=confirm)
                        row = _row(c, th, strategy=strategy, judge_name=judge.name, reasons=reasons)
                        tracker.done += 1
                        if not reasons:
                            tracker.passed += 1
                            passed_prompts.add(c.item.id)
                            if c.flaw:
                                flaw_counts[c.flaw] = flaw_counts.get(c.flaw, 0) + 1
                            out_w.write(row)
                            summary.written += 1
                        else:
                            for r in reasons:
                                tracker.drop(r)
                            if self.keep_all:  # kept and marked (gates_passed: false), not dropped
                                out_w.write(row)
                                summary.written += 1
                            else:
                                drop_w.write(row)
                                summary.drop(reasons[0])
                        finished.add(c.cid)
                    update()
        finally:
            for w in (out_w, drop_w, fail_w):
                w.close()
        tracker.fill(summary)
        summary.figures.update(
            passed=tracker.passed,
            candidates=tracker.done,
            flaw_counts=flaw_counts,
            gate_failures=dict(tracker.reasons),
            stopped_because=stopped,
            complete=not stopped.startswith("cost budget"),
        )
        summary.notes = _notes(summary)
        compact_failures(paths.failures, _Settled(finished, passed_prompts), id_field="candidate_id")
        return summary


def _notes(s: StageSummary) -> list[str]:
    """DPO's own summary lines: the quota, why it stopped, which gates failed, the flaws that passed."""
    rate = f"{s.passed / s.candidates:.0%}" if s.candidates else "-"
    out = [
        f"   {s.passed}/{s.target} pairs passed the gates after {s.candidates} candidates "
        f"(pass rate {rate}); stopped: {s.stopped_because}"
    ]
    if s.gate_failures:
        out.append("   gates failed (a pair may fail several): " + reason_text(s.gate_failures))
    if s.flaw_counts:
        out.append(
            "   flaws in passed pairs: " + ", ".join(f"{k}={v}" for k, v in sorted(s.flaw_counts.items()))
        )
    return out


def generate_dpo_pairs(
    input_file: str | os.PathLike[str],
    output_file: str | os.PathLike[str],
    *,
    chosen_threshold: float = 9.0,
    rejected_threshold: float = 6.0,
    gap_threshold: float = 3.0,
    strategy: str = "flaw",
    model: str | LLM = "local",
    weak_model: str | LLM | None = None,
    judge_model: str | LLM | None = None,
    n: int | None = None,
    max_candidates: int | None = None,
    max_rounds: int = 3,
    max_cost: float | None = None,
    flaw_mix: str | dict[str, float] | None = None,
    confirm_flaws: bool = True,
    keep_all: bool = False,
    batch_size: int = 8,
    max_tokens: int = 256,
    judge_max_tokens: int = 96,
    temperature: float = 0.3,
    low_temperature: float = 0.3,
    high_temperature: float = 1.2,
    best_of: int = 4,
    cache: str | os.PathLike[str] | None = "auto",
    llm_options: dict[str, Any] | None = None,
    weak_options: dict[str, Any] | None = None,
    judge_options: dict[str, Any] | None = None,
    progress: bool = True,
    dry_run: bool = False,
    limit: int | None = None,
) -> StageSummary:
    """Generate DPO pairs from the prompts in ``input_file`` (or an SFT file) into ``output_file``.

    ``n`` pairs must pass the gates (chosen >= ``chosen_threshold``, rejected <= ``rejected_threshold``,
    gap >= ``gap_threshold``, not identical, and for ``flaw`` the judge confirms the planned flaw
    in a fluent answer); each prompt gives at most one pair and is retried up to ``max_rounds``
    times. Stops early when ``max_candidates`` or ``max_cost`` (USD) is reached, and says so.

    ``llm_options``, ``weak_options`` and ``judge_options`` are backend options (``{"price": [2.5, 10]}``)
    for ``model``, ``weak_model`` and ``judge_model`` given as specs. ``dry_run`` calls nothing and
    returns the estimate of what is left to do (see :mod:`alignforge.stages.dryrun`).

    Returns the stage's :class:`~alignforge.stages.StageSummary` (path-like for the pairs file); its
    figures: ``target``, ``passed``, ``candidates``, ``flaw_counts``, ``gate_failures`` (every failed
    gate counted; ``drop_reasons`` counts each dropped pair once, by its first reason) and
    ``stopped_because``.
    """
    return run_generator(DPOStage(**locals()), dry_run=dry_run)
