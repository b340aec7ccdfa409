"""DPO pairs in quota mode: generate candidates until N pass the pair gates or a budget runs out.

Every candidate ends in exactly one place: ``out.jsonl`` (passed the gates; with ``keep_all``
also the scored ones that did not), ``out.dropped.jsonl`` (failed a gate, with its reasons) or
``out.failures.jsonl`` (an LLM call failed for good; a rerun tries it again). A rerun skips
every candidate already in ``out`` or ``dropped`` and the request cache answers the calls of a
half-finished batch, so a killed run resumes with no duplicate and no gap.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.generate._dpo_dryrun import estimate_dpo
from alignforge.generate._inputs import PromptItem, load_prompts
from alignforge.generate._strategies import STRATEGIES, Candidate, GenContext, requests_per_candidate
from alignforge.generate.flaws import FLAWS, flaw_sequence, parse_mix
from alignforge.io import iter_jsonl
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM
from alignforge.llm.resolve import resolve_llms
from alignforge.llm.runner import compact_failed
from alignforge.stages import (
    Tracker,
    cost_text,
    done_ids,
    estimate_lines,
    progress_bar,
    side_paths,
    usage_lines,
)

__all__ = ["generate_dpo_pairs", "DPOSummary", "Thresholds", "pair_gate_reasons"]


@dataclass(frozen=True)
class Thresholds:
    chosen: float = 9.0
    rejected: float = 6.0
    gap: float = 3.0


@dataclass
class DPOSummary:
    """What a run did. ``output`` is the pairs file; the summary is also a path-like object for it
    (``os.fspath(summary)``), so it can be passed where a path is read, as in the seeds'
    ``validate_dpo_pairs(generate_dpo_pairs(...))``."""

    target: int
    passed: int = 0
    candidates: int = 0
    written: int = 0
    dropped: int = 0
    failed: int = 0
    resumed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    flaw_counts: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    requests: int = 0
    cached: int = 0
    stopped_because: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # per LLM name: requests, tokens, cost
    estimate: dict[str, Any] | None = None

    @property
    def output(self) -> Path:
        """The pairs file (``outputs["out"]``); after a dry run it may not exist yet."""
        return Path(self.outputs["out"])

    def __fspath__(self) -> str:
        return self.outputs["out"]

    def lines(self) -> list[str]:
        if self.estimate is not None:
            e = self.estimate
            head = (
                f"dry run: {e['candidates']} candidates to try, {e['planned']} LLM requests ({e['requests']} to "
                f"send, {e['cached']} answered from the cache; worst case {e['max_requests']} for "
                f"{e['max_candidates']} candidates), estimated cost {cost_text(e['cost_usd'])}"
            )
            done = (
                [f"   resumed: {e['resumed']} candidates ({e['passed']} passing pairs) are already written"]
                if e["resumed"]
                else []
            )
            return estimate_lines(head, e) + done
        rate = f"{self.passed / self.candidates:.0%}" if self.candidates else "-"
        out = [
            f"{self.passed}/{self.target} pairs passed the gates after {self.candidates} candidates "
            f"(pass rate {rate}); stopped: {self.stopped_because}",
            f"written {self.written} to {self.outputs.get('out')}, dropped {self.dropped} "
            f"({self.outputs.get('dropped')}), LLM failures {self.failed} ({self.outputs.get('failures')})",
            f"requests {self.requests} ({self.cached} from cache), cost ${self.cost_usd:.4f}",
            *usage_lines(self.models),
        ]
        if self.resumed:
            out.append(
                f"resumed: {self.resumed} candidates were already in the output files and were skipped"
            )
        if self.reasons:
            out.append(
                "drop reasons: "
                + ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items(), key=lambda x: -x[1]))
            )
        if self.flaw_counts:
            out.append(
                "flaws in passed pairs: " + ", ".join(f"{k}={v}" for k, v in sorted(self.flaw_counts.items()))
            )
        return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def pair_gate_reasons(c: Candidate, th: Thresholds, *, strategy: str, confirm_flaws: bool) -> list[str]:
    """Why this scored candidate is not a good pair (empty list: it passes)."""
    reasons: list[str] = []
    if _norm(c.chosen or "") == _norm(c.rejected or ""):
        reasons.append("identical")
    cj, rj = c.chosen_judge, c.rejected_judge
    for side, j in (("chosen", cj), ("rejected", rj)):
        if j is None or not j.ok:
            reasons.append(f"{side}_judge_{'parse_failed' if j is None else j.status}")
    if cj is not None and cj.score is not None and cj.score < th.chosen:
        reasons.append("chosen_score_below_threshold")
    if rj is not None and rj.score is not None and rj.score > th.rejected:
        reasons.append("rejected_score_above_threshold")
    if cj and rj and cj.score is not None and rj.score is not None and cj.score - rj.score < th.gap:
        reasons.append("gap_below_threshold")
    if c.extra.get("chosen_verified") is False:
        reasons.append("chosen_failed_verification")
    if strategy == "flaw" and confirm_flaws:
        fc = c.extra.get("flaw_check")
        if fc is None or fc["status"] != "ok":
            reasons.append("flaw_check_parse_failed")
        else:
            if not fc["flaw_present"]:
                reasons.append("flaw_not_confirmed")
            if not fc["fluent"]:
                reasons.append("rejected_not_fluent")
    return reasons


def _score(cands: list[Candidate], ctx: GenContext, *, strategy: str, confirm_flaws: bool) -> None:
    todo = [c for c in cands if c.error is None and c.chosen_judge is None]
    items = [(c.item.text, c.chosen or "") for c in todo] + [(c.item.text, c.rejected or "") for c in todo]
    refs = [c.item.answer for c in todo] * 2
    results = ctx.judge.score_many(items, references=refs) if items else []
    for k, c in enumerate(todo):
        c.chosen_judge, c.rejected_judge = results[k], results[len(todo) + k]
    live = [c for c in cands if c.error is None]
    if strategy == "flaw" and confirm_flaws and live:
        checks = ctx.judge.check_flaws(
            [(c.item.text, c.rejected or "", c.flaw or "", FLAWS[c.flaw or ""].description) for c in live]
        )
        for c, fc in zip(live, checks, strict=True):
            c.extra["flaw_check"] = {
                "status": fc.status,
                "flaw_present": fc.flaw_present,
                "fluent": fc.fluent,
                "rationale": fc.rationale,
            }
    _verify(live)
    for c in live:
        for j in (c.chosen_judge, c.rejected_judge):
            if j is not None and j.status == "error":
                c.error = f"judge: {j.error}"


def _verify(live: list[Candidate]) -> None:
    """Math answers and code tests decide correctness (recorded as chosen/rejected_verified)."""
    from alignforge.generate._verify import code_correct_many, code_task, math_correct

    jobs: list[tuple[Candidate, str, dict[str, Any]]] = []
    for c in live:
        if "chosen_verified" in c.extra:
            continue
        if c.item.answer is not None:
            c.extra["chosen_verified"] = math_correct(c.chosen or "", c.item.answer)
            c.extra["rejected_verified"] = math_correct(c.rejected or "", c.item.answer)
        elif (task := code_task(c.item.id, c.item.text, c.item.meta)) is not None:
            jobs += [(c, "chosen", task), (c, "rejected", task)]
    verdicts = code_correct_many([(task, getattr(c, side) or "") for c, side, task in jobs])
    for (c, side, _), v in zip(jobs, verdicts, strict=True):
        c.extra[f"{side}_verified"] = v["passed"]
        c.extra[f"{side}_verdict"] = v["status"]


def _row(c: Candidate, *, strategy: str, judge_name: str, reasons: list[str]) -> dict[str, Any]:
    conv = isinstance(c.item.prompt, list)

    def shape(text: str | None) -> Any:
        return [{"role": "assistant", "content": text or ""}] if conv else (text or "")

    cj, rj = c.chosen_judge, c.rejected_judge
    meta: dict[str, Any] = {"candidate_id": c.cid, "prompt_id": c.item.id, "strategy": strategy}
    if c.flaw:
        meta["flaw_type"] = c.flaw
    if cj is not None and cj.score is not None:
        meta["chosen_score"] = cj.score
    if rj is not None and rj.score is not None:
        meta["rejected_score"] = rj.score
    meta["judge_status"] = {"chosen": cj.status if cj else None, "rejected": rj.status if rj else None}
    meta["rationale"] = {"chosen": cj.rationale if cj else "", "rejected": rj.rationale if rj else ""}
    meta["models"] = {"chosen": c.chosen_model, "rejected": c.rejected_model, "judge": judge_name}
    meta["gates_passed"] = not reasons
    if reasons:
        meta["drop_reasons"] = reasons
    meta.update(c.extra)
    return {
        "prompt": c.item.prompt,
        "chosen": shape(c.chosen),
        "rejected": shape(c.rejected),
        "metadata": meta,
    }


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
) -> DPOSummary:
    """Generate DPO pairs from the prompts in ``input_file`` (or an SFT file) into ``output_file``.

    ``n`` pairs must pass the gates (chosen >= ``chosen_threshold``, rejected <= ``rejected_threshold``,
    gap >= ``gap_threshold``, not identical, and for ``flaw`` the judge confirms the planned flaw
    in a fluent answer); each prompt gives at most one pair and is retried up to ``max_rounds``
    times. Stops early when ``max_candidates`` or ``max_cost`` (USD) is reached, and says so.

    ``llm_options``, ``weak_options`` and ``judge_options`` are backend options (``{"price": [2.5, 10]}``)
    for ``model``, ``weak_model`` and ``judge_model`` given as specs. ``dry_run`` calls nothing and
    returns the estimate of what is left to do (see :mod:`alignforge.stages.dryrun`).
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    th = Thresholds(chosen_threshold, rejected_threshold, gap_threshold)
    mix = parse_mix(flaw_mix)
    items: list[PromptItem] = load_prompts(input_file, limit=limit)
    target = len(items) if n is None else n
    if target > len(items):
        raise ConfigError(
            f"--n {target} is more than the {len(items)} prompts in {input_file} (one pair per prompt)"
        )
    if strategy == "strong-weak" and weak_model is None:
        raise ConfigError("strategy strong-weak needs a weak model: --weak-model (e.g. openai:gpt-4o-mini)")
    if weak_options and weak_model is None:
        raise ConfigError("weak-model options (--weak-option) need a weak model (--weak-model)")
    if judge_options and judge_model is None:
        raise ConfigError(
            "judge options (--judge-option) need a judge model (--judge-model); the default judge is "
            "--model, set with --option"
        )
    paths = side_paths(output_file)
    summary = DPOSummary(target=target, outputs={k: str(v) for k, v in vars(paths).items()})
    rpc = requests_per_candidate(strategy, best_of=best_of, confirm_flaws=confirm_flaws)
    cache_path = f"{paths.out.with_suffix('')}.cache.sqlite" if cache == "auto" else cache
    done = done_ids(paths.out, paths.dropped, repair=not dry_run)
    passed_prompts, flaw_counts = _passed_state(paths.out, strict=not dry_run)
    flaws = flaw_sequence(mix, len(items) * max_rounds) if strategy == "flaw" else []
    queue = _queue(items, max_rounds, flaws)
    params: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": temperature,
        "low_temperature": low_temperature,
        "high_temperature": high_temperature,
        "best_of": best_of,
    }
    if dry_run:
        summary.estimate = estimate_dpo(
            queue,
            done,
            passed_prompts,
            target=target,
            max_candidates=max_candidates,
            rpc=rpc,
            cache=cache_path,
            strategy=strategy,
            confirm_flaws=confirm_flaws,
            models={
                "model": (model, llm_options),
                "weak": (weak_model, weak_options),
                "judge": (judge_model, judge_options),
            },
            judge_max_tokens=judge_max_tokens,
            params=params,
        )
        return summary
    llm, jllm, weak, budget = resolve_llms(
        model,
        llm_options,
        judge=(judge_model, judge_options),
        weak=(weak_model, weak_options),
        cache=cache_path,
        max_cost=max_cost,
    )
    tracker = Tracker(target=target)
    judge = Judge(jllm, max_tokens=judge_max_tokens, on_usage=tracker.recorder(jllm.name))
    ctx = GenContext(
        llm=llm,
        judge=judge,
        tracker=tracker,
        weak_llm=weak,
        model_name=_name(model),
        weak_name=_name(weak_model) if weak_model else None,
        **params,
    )
    summary.resumed = len(done)
    tracker.passed, tracker.done = len(passed_prompts), len(done)
    finished = set(done)
    stopped = "every prompt was tried max_rounds times"
    out_w, drop_w, fail_w = paths.writers()
    try:
        with progress_bar(tracker, f"dpo/{strategy}", enabled=progress) as update:
            pos = 0
            while True:
                if tracker.passed >= target:
                    stopped = f"reached the target of {target} pairs"
                    break
                if max_candidates is not None and tracker.done >= max_candidates:
                    stopped = f"candidate budget of {max_candidates} used"
                    break
                if budget is not None and budget.stopped:
                    stopped = f"cost budget ${max_cost} reached (${budget.spent_usd:.4f} spent)"
                    break
                chunk: list[Candidate] = []
                size = min(batch_size, target - tracker.passed)
                if max_candidates is not None:
                    size = min(size, max_candidates - tracker.done)
                while pos < len(queue) and len(chunk) < size:
                    c = queue[pos]
                    pos += 1
                    if c.cid not in done and c.item.id not in passed_prompts:
                        chunk.append(c)
                if not chunk:
                    break
                STRATEGIES[strategy](chunk, ctx)
                _score(chunk, ctx, strategy=strategy, confirm_flaws=confirm_flaws)
                for c in chunk:
                    if c.error is not None:
                        fail_w.write({"candidate_id": c.cid, "prompt_id": c.item.id, "error": c.error})
                        summary.failed += 1
                        continue
                    reasons = pair_gate_reasons(c, th, strategy=strategy, confirm_flaws=confirm_flaws)
                    row = _row(c, strategy=strategy, judge_name=judge.name, reasons=reasons)
                    tracker.done += 1
                    summary.candidates += 1
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
                        (out_w if keep_all else drop_w).write(row)
                        summary.written += int(keep_all)
                        summary.dropped += int(not keep_all)
                    finished.add(c.cid)
                update()
    finally:
        for w in (out_w, drop_w, fail_w):
            w.close()
    summary.passed = tracker.passed
    summary.candidates = tracker.done
    summary.reasons, summary.flaw_counts = dict(tracker.reasons), flaw_counts
    summary.cost_usd, summary.requests, summary.cached = tracker.cost_usd, tracker.requests, tracker.cached
    summary.models = tracker.models_dict()
    summary.stopped_because = stopped
    compact_failed(paths.failures, _Settled(finished, passed_prompts), id_field="candidate_id")
    return summary
