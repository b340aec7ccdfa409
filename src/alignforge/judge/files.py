"""``alignforge judge``: score every row of a DPO / SFT / KTO file, resumably.

DPO rows get ``chosen_score`` / ``rejected_score`` (and with ``pairwise`` a both-orders verdict);
SFT and KTO rows get ``score``. A score that does not parse is recorded as
``judge_status: parse_failed`` with no number. Rows whose judge call failed for good go to
``<out>.failures.jsonl`` and are retried by the next run; finished rows (keyed by their input
line, ``metadata.source_line``) are never judged twice. Rows that carry an exact ``answer`` (math)
or ``tests`` (code, run in the sandbox) also get ``chosen_verified`` / ``rejected_verified`` (DPO)
or ``verified``: correctness is the verifier's call, and the answer is shown to the judge.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from alignforge.io import DataError, JsonlWriter, iter_jsonl, read_rows, repair_tail
from alignforge.judge.rubric import Judge, JudgeResult
from alignforge.llm.base import LLM
from alignforge.llm.resolve import resolve_llm
from alignforge.llm.runner import compact_failed
from alignforge.records import Kind, text_of
from alignforge.stages import (
    DryRun,
    Tracker,
    cost_text,
    estimate_lines,
    progress_bar,
    side_paths,
    usage_lines,
)

__all__ = ["judge_file", "JudgeFileSummary"]


@dataclass
class JudgeFileSummary:
    rows: int = 0
    scored: int = 0
    parse_failed: int = 0
    failed: int = 0
    skipped_done: int = 0
    budget_reached: bool = False
    disagreements: int = 0
    mean: dict[str, float] = field(default_factory=dict)
    cost_usd: float = 0.0
    requests: int = 0
    estimate: dict[str, Any] | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # per LLM name: requests, tokens, cost

    def lines(self) -> list[str]:
        if self.estimate is not None:
            e = self.estimate
            done = f" ({self.skipped_done} already done)" if self.skipped_done else ""
            head = (
                f"dry run: {e['requests']} judge requests for {self.rows - self.skipped_done} rows{done}, "
                f"{e['cached']} more answered from the cache, estimated cost {cost_text(e['cost_usd'])}"
            )
            return estimate_lines(head, e)
        means = ", ".join(f"mean {k} {v:.2f}" for k, v in self.mean.items())
        return [
            f"judged {self.rows} rows ({self.skipped_done} already done): {self.scored} scores, "
            f"{self.parse_failed} parse_failed, {self.failed} failed calls -> {self.outputs.get('failures')}",
            *(
                ["stopped: the cost budget was reached; rerun with a larger --max-cost to finish"]
                if self.budget_reached
                else []
            ),
            f"{means}; pairwise disagreements {self.disagreements}; requests {self.requests}, cost ${self.cost_usd:.4f}",
            *usage_lines(self.models),
        ]


def _set(meta: dict[str, Any], key: str, res: JudgeResult, judge_name: str) -> None:
    meta.pop(key, None)
    if res.ok:
        meta[key] = res.score
    status = meta.setdefault("judge_status", {})
    if isinstance(status, dict):
        status[key] = res.status
    rat = meta.setdefault("rationale", {})
    if isinstance(rat, dict):
        rat[key] = res.rationale
    meta["judge_model"] = judge_name


def _verify_chunk(chunk: list[tuple[int, dict[str, Any]]], kind: Kind) -> list[dict[str, bool]]:
    """Per row, ``{side: passed}`` from the math verifier (an ``answer``) or the sandbox (``tests``)."""
    from alignforge.generate._verify import code_correct_many, code_task, math_correct

    out: list[dict[str, bool]] = [{} for _ in chunk]
    jobs: list[tuple[int, str, dict[str, Any], str]] = []
    for k, (ln, r) in enumerate(chunk):
        spec = {**(r.get("metadata") or {}), **r}
        prompt = text_of(r["prompt"] if "prompt" in r else r["messages"][:-1])
        sides = (
            {"chosen": r["chosen"], "rejected": r["rejected"]}
            if kind is Kind.DPO
            else {"response": r["completion"] if "completion" in r else r["messages"][-1:]}
        )
        task = code_task(str(spec.get("task_id", f"line{ln}")), prompt, spec)
        for side, resp in sides.items():
            if spec.get("answer") is not None and task is None:
                out[k][side] = math_correct(text_of(resp), str(spec["answer"]))
            elif task is not None:
                jobs.append((k, side, task, text_of(resp)))
    for (k, side, _, _), v in zip(jobs, code_correct_many([(t, c) for _, _, t, c in jobs]), strict=True):
        out[k][side] = bool(v["passed"])
    return out


def _done_lines(path: os.PathLike[str], *, repair: bool = True) -> set[int | None]:
    if not os.path.exists(path):
        return set()
    if repair:
        repair_tail(path)
    if os.path.getsize(path) == 0:
        return set()
    rows = iter_jsonl(path, on_error="raise" if repair else "skip")
    return {(row.get("metadata") or {}).get("source_line") for _, row in rows}


def _items(
    chunk: list[tuple[int, dict[str, Any]]], kind: Kind
) -> tuple[tuple[str, ...], list[tuple[str, str]], list[str | None]]:
    """The score keys of ``kind`` and, per row and key, the ``(prompt, response)`` to judge and its reference."""
    keys = ("chosen_score", "rejected_score") if kind is Kind.DPO else ("score",)
    items: list[tuple[str, str]] = []
    refs: list[str | None] = []
    for _, r in chunk:
        answer = r.get("answer", (r.get("metadata") or {}).get("answer"))
        refs += [None if answer is None else str(answer)] * len(keys)
        prompt = r["prompt"] if "prompt" in r else r["messages"][:-1]
        for key in keys:
            field_name = key.removesuffix("_score") if kind is Kind.DPO else None
            resp = (
                r[field_name]
                if field_name
                else (r["completion"] if "completion" in r else r["messages"][-1:])
            )
            items.append((text_of(prompt), text_of(resp)))
    return keys, items, refs


def _pair_items(items: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """``(prompt, chosen, rejected)`` per DPO row from its two score items."""
    return [(items[2 * k][0], items[2 * k][1], items[2 * k + 1][1]) for k in range(len(items) // 2)]


def judge_file(
    input_file: str | os.PathLike[str],
    output_file: str | os.PathLike[str],
    *,
    model: str | LLM = "local",
    pairwise: bool = False,
    batch_size: int = 16,
    max_tokens: int = 96,
    retries: int = 1,
    max_cost: float | None = None,
    cache: str | os.PathLike[str] | None = "auto",
    llm_options: dict[str, Any] | None = None,
    progress: bool = True,
    dry_run: bool = False,
) -> JudgeFileSummary:
    """Judge every row of ``input_file`` into ``output_file`` (see the module docstring)."""
    paths = side_paths(output_file)
    rows = list(read_rows(input_file))
    if not rows:
        raise DataError(input_file, None, "nothing to judge")
    from alignforge.records import detect_kind

    kind = detect_kind(rows[0][1])
    if kind not in (Kind.DPO, Kind.SFT, Kind.KTO):
        raise DataError(input_file, rows[0][0], f"cannot judge {kind.value} rows: give DPO, SFT or KTO data")
    summary = JudgeFileSummary(rows=len(rows), outputs={k: str(v) for k, v in vars(paths).items()})
    done = _done_lines(paths.out, repair=not dry_run)
    todo = [(ln, r) for ln, r in rows if ln not in done]
    summary.skipped_done = len(rows) - len(todo)
    cache_path = f"{paths.out.with_suffix('')}.cache.sqlite" if cache == "auto" else cache
    if dry_run:
        dry = DryRun(cache_path)
        try:
            judge = Judge(dry.role("judge", model, llm_options), max_tokens=max_tokens)
            _, items, refs = _items(todo, kind)
            dry.add("judge", judge.score_requests(items, references=refs))
            if pairwise and kind is Kind.DPO:
                dry.add("judge", judge.pairwise_requests(_pair_items(items)))
            summary.estimate = dry.result()
        finally:
            dry.close()
        return summary
    from alignforge.llm import Budget

    budget = Budget(max_cost) if max_cost is not None else None
    llm = resolve_llm(model, cache=cache_path, options=llm_options, budget=budget)
    tracker = Tracker(target=len(rows), done=summary.skipped_done, passed=summary.skipped_done)
    judge = Judge(llm, max_tokens=max_tokens, retries=retries, on_usage=tracker.recorder(llm.name))
    finished = {str(ln) for ln in done}
    sums: dict[str, list[float]] = {}
    with (
        JsonlWriter(paths.out) as out_w,
        JsonlWriter(paths.failures) as fail_w,
        progress_bar(tracker, "judge", enabled=progress, count="done") as update,
    ):
        for start in range(0, len(todo), batch_size):
            if budget is not None and budget.stopped:
                summary.budget_reached = True
                break
            chunk = todo[start : start + batch_size]
            keys, items, refs = _items(chunk, kind)
            results = judge.score_many(items, references=refs)
            verified = _verify_chunk(chunk, kind)
            pairs = judge.pairwise_many(_pair_items(items)) if pairwise and kind is Kind.DPO else []
            for k, (ln, r) in enumerate(chunk):
                mine = results[k * len(keys) : (k + 1) * len(keys)]
                if any(m.status == "error" for m in mine):
                    fail_w.write(
                        {"source_line": ln, "error": next(m.error for m in mine if m.status == "error")}
                    )
                    summary.failed += 1
                    continue
                row = dict(r)
                meta = dict(row.get("metadata") or {})
                for key, res in zip(keys, mine, strict=True):
                    _set(meta, key, res, judge.name)
                    if res.ok and res.score is not None:
                        summary.scored += 1
                        sums.setdefault(key, []).append(res.score)
                    else:
                        summary.parse_failed += 1
                    row.pop(key, None)  # a stale top-level score must not shadow the new one
                if pairs:
                    p = pairs[k]
                    names = {"a": "chosen", "b": "rejected", "tie": "tie"}
                    meta["pairwise"] = {
                        "winner": names.get(p.winner or ""),
                        "agreement": p.agreement,
                        "status": p.status,
                        "first_order": p.first,
                        "second_order": p.second,
                    }
                    summary.disagreements += int(p.status == "disagree")
                for side, ok in verified[k].items():  # correctness: the verifier's, not the judge's
                    meta["verified" if side == "response" else f"{side}_verified"] = ok
                meta["source_line"] = ln
                row["metadata"] = meta
                out_w.write(row)
                finished.add(str(ln))
                tracker.done += 1
                tracker.passed += int(all(m.ok for m in mine))
            update()
    summary.mean = {k: sum(v) / len(v) for k, v in sums.items() if v}
    summary.cost_usd, summary.requests = tracker.cost_usd, tracker.requests
    summary.models = tracker.models_dict()
    compact_failed(paths.failures, finished, id_field="source_line")
    return summary
