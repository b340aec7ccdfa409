"""The ``judge`` stage: score every row of a DPO / SFT / KTO file, resumably.

DPO rows get ``chosen_score`` / ``rejected_score`` (and with ``pairwise`` a both-orders verdict);
SFT and KTO rows get ``score``. A score that does not parse is recorded as
``judge_status: parse_failed`` with no number. Rows whose judge call failed for good go to
``<out>.failures.jsonl`` and are retried by the next run; finished rows (keyed by their input
line, ``metadata.source_line``) are never judged twice, and every request goes through the SQLite
request cache, so a run killed mid-batch pays for no answered request again. Rows that carry an
exact ``answer`` (math) or ``tests`` (code, run in the sandbox) also get ``chosen_verified`` /
``rejected_verified`` (DPO) or ``verified``: correctness is the verifier's call, and the answer is
shown to the judge.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from alignforge.io import DataError, JsonlWriter, iter_jsonl, read_rows, repair_tail
from alignforge.judge._ask import JudgeStatus
from alignforge.judge._rows import pair_items, score_items, set_score, verify_rows
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM
from alignforge.llm.resolve import resolve_llm
from alignforge.records import Kind, detect_kind
from alignforge.stages import (
    DryRun,
    Stage,
    StageRecord,
    StageSummary,
    Tracker,
    compact_failures,
    cost_text,
    estimate_lines,
    progress_bar,
    run_stage,
    side_paths,
)

__all__ = ["JudgeStage", "judge_file"]

# Backend options that change which answers come back or what they cost (as generate's stages count
# them); the rest (api_key, concurrency, timeouts, retries) stay out of the fingerprint and the record.
_RESULT_OPTIONS = frozenset({"base_url", "price", "dtype", "max_tokens_field", "organization"})


@dataclass
class JudgeStage(Stage):
    """Judge ``data`` into ``out`` (see the module docstring).

    ``model`` is a spec (``local``, ``openai:gpt-4o``, ...) or an LLM object; ``llm_options`` are the
    spec's backend options. ``batch_size``, ``max_cost``, ``cache``, ``progress`` and ``dry_run`` do
    not change the scores and stay out of the fingerprint, as do backend options that do not decide
    the answers (credentials, concurrency, timeouts).
    A run that left failed rows or stopped at its budget is not taken for finished: the next run
    retries what is missing.
    """

    data: str | os.PathLike[str]
    out: str | os.PathLike[str]
    model: str | LLM = "local"
    pairwise: bool = False
    max_tokens: int = 96
    retries: int = 1
    llm_options: dict[str, Any] | None = None
    batch_size: int = 16
    max_cost: float | None = None
    cache: str | os.PathLike[str] | None = "auto"
    progress: bool = True
    dry_run: bool = False

    name = "judge"

    #: A rerun skips the input lines already judged, after checking each one's text against the
    #: judged row (:func:`_done_lines`): rows added to the input are judged, an edited one is refused.
    #: Another model, options or token limit is refused by :func:`~alignforge.stages.run_stage`.
    resumes_by_key: ClassVar[bool] = True
    resume_may_change: ClassVar[frozenset[str]] = frozenset({"data", "pairwise", "retries"})

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"data": self.data}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        paths = side_paths(self.out)
        return {"out": paths.out, "failures": paths.failures}

    def params(self) -> dict[str, Any]:
        options = {k: v for k, v in (self.llm_options or {}).items() if k in _RESULT_OPTIONS}
        return {
            "model": self.model if isinstance(self.model, str) else self.model.name,
            "options": options,
            "pairwise": self.pairwise,
            "max_tokens": self.max_tokens,
            "retries": self.retries,
        }

    def stale_rows(self) -> str | None:
        """The first input line whose judged row was made from other text (the input was edited)."""
        out = side_paths(self.out).out
        judged = _done_lines(out, repair=False)
        if not judged:
            return None
        for ln, row in read_rows(self.data):
            if ln in judged and judged[ln] != _text_key(row):
                return f"{out} holds a judgement of {self.data} line {ln} made from other text (edited since)"
        return None

    def finished_record(self, fp: str | None = None) -> StageRecord | None:
        rec = super().finished_record(fp)
        if rec is None:
            return None
        summary = rec.summary
        if summary.get("failed") or (summary.get("figures") or {}).get("budget_reached"):
            return None  # rows are missing: rerun to judge them
        return rec

    def execute(self) -> StageSummary:
        paths = side_paths(self.out)
        rows = list(read_rows(self.data))
        if not rows:
            raise DataError(self.data, None, "nothing to judge")
        kind = detect_kind(rows[0][1])
        if kind not in (Kind.DPO, Kind.SFT, Kind.KTO):
            raise DataError(
                self.data, rows[0][0], f"cannot judge {kind.value} rows: give DPO, SFT or KTO data"
            )
        outputs = {k: str(v) for k, v in self.outputs().items()}
        done = set(_done_lines(paths.out, repair=not self.dry_run))
        todo = [(ln, r) for ln, r in rows if ln not in done]
        summary = StageSummary(self.name, resumed=len(rows) - len(todo), outputs=outputs)
        summary.figures = {
            "rows": len(rows),
            "scored": 0,
            "parse_failed": 0,
            "disagreements": 0,
            "mean": {},
            "budget_reached": False,
        }
        cache = f"{paths.out.with_suffix('')}.cache.sqlite" if self.cache == "auto" else self.cache
        if self.dry_run:
            return self._estimate(summary, todo, kind, cache)
        self._judge(summary, todo, kind, cache, {str(ln) for ln in done})
        summary.figures.update(
            _tally(paths.out, score_items([], kind)[0], {ln for ln, _ in rows}, pairwise=self.pairwise)
        )
        f = summary.figures
        means = ", ".join(f"mean {k} {v:.2f}" for k, v in f["mean"].items())
        summary.notes.append(
            f"   scores {f['scored']}, parse_failed {f['parse_failed']}"
            + (f"; {means}" if means else "")
            + (f"; pairwise disagreements {f['disagreements']}" if self.pairwise else "")
        )
        if f["budget_reached"]:
            summary.notes.append(
                "   stopped: the cost budget was reached; rerun with a larger --max-cost to finish"
            )
        return summary

    def _estimate(
        self, summary: StageSummary, todo: list[tuple[int, dict[str, Any]]], kind: Kind, cache: Any
    ) -> StageSummary:
        with DryRun(cache) as dry:
            judge = Judge(dry.role("judge", self.model, self.llm_options), max_tokens=self.max_tokens)
            _, items, refs = score_items(todo, kind)
            dry.add("judge", judge.score_requests(items, references=refs))
            if self.pairwise and kind is Kind.DPO:
                dry.add("judge", judge.pairwise_requests(pair_items(items)))
            e = summary.estimate = dry.result()
        already = f" ({summary.resumed} already done)" if summary.resumed else ""
        head = (
            f"dry run: {e['requests']} judge requests for {len(todo)} rows{already}, "
            f"{e['cached']} more answered from the cache, estimated cost {cost_text(e['cost_usd'])}"
        )
        summary.notes = estimate_lines(head, e)
        return summary

    def _judge(
        self,
        summary: StageSummary,
        todo: list[tuple[int, dict[str, Any]]],
        kind: Kind,
        cache: Any,
        finished: set[str],
    ) -> None:
        from alignforge.llm import Budget

        figures = summary.figures
        budget = Budget(self.max_cost) if self.max_cost is not None else None
        llm = resolve_llm(self.model, cache=cache, options=self.llm_options, budget=budget)
        tracker = Tracker(target=figures["rows"], done=summary.resumed, passed=summary.resumed)
        judge = Judge(
            llm, max_tokens=self.max_tokens, retries=self.retries, on_usage=tracker.recorder(llm.name)
        )
        paths = side_paths(self.out)
        with (
            JsonlWriter(paths.out) as out_w,
            JsonlWriter(paths.failures) as fail_w,
            progress_bar(tracker, "judge", enabled=self.progress, count="done") as update,
        ):
            for start in range(0, len(todo), self.batch_size):
                if budget is not None and budget.stopped:
                    figures["budget_reached"] = True
                    break
                chunk = todo[start : start + self.batch_size]
                keys, items, refs = score_items(chunk, kind)
                results = judge.score_many(items, references=refs)
                verified = verify_rows(chunk, kind)
                pairs = judge.pairwise_many(pair_items(items)) if self.pairwise and kind is Kind.DPO else []
                for k, (ln, r) in enumerate(chunk):
                    mine = results[k * len(keys) : (k + 1) * len(keys)]
                    errors = [m.error for m in mine if m.status is JudgeStatus.ERROR]
                    if errors:
                        fail_w.write({"source_line": ln, "error": errors[0]})
                        summary.failed += 1
                        continue
                    row = dict(r)
                    meta = dict(row.get("metadata") or {})
                    for key, res in zip(keys, mine, strict=True):
                        set_score(meta, key, res, judge.name)
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
                    for side, ok in verified[k].items():  # correctness: the verifier's, not the judge's
                        meta["verified" if side == "response" else f"{side}_verified"] = ok
                    meta["source_line"] = ln
                    row["metadata"] = meta
                    out_w.write(row)
                    summary.written += 1
                    finished.add(str(ln))
                    tracker.done += 1
                    tracker.passed += int(all(m.ok for m in mine))
                update()
        tracker.fill(summary)
        compact_failures(paths.failures, finished, id_field="source_line")


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
) -> StageSummary:
    """Judge every row of ``input_file`` into ``output_file`` through the stage contract.

    A finished run with the same input, model and settings is reused (nothing is sent); a killed or
    incomplete one resumes at its row. ``dry_run`` estimates the requests and cost and writes nothing.
    """
    stage = JudgeStage(
        input_file,
        output_file,
        model=model,
        pairwise=pairwise,
        max_tokens=max_tokens,
        retries=retries,
        llm_options=llm_options,
        batch_size=batch_size,
        max_cost=max_cost,
        cache=cache,
        progress=progress,
        dry_run=dry_run,
    )
    return run_stage(stage, reuse=not dry_run, record=not dry_run)


def _tally(path: Path, keys: tuple[str, ...], lines: set[int], *, pairwise: bool) -> dict[str, Any]:
    """``scored``, ``parse_failed``, ``disagreements`` and ``mean`` (per score key) over every judged row
    in ``path`` whose input line is in ``lines``: the rows of earlier runs as well as this one's, so a
    resumed run reports the same figures as one that was never cut."""
    scored = parse_failed = disagreements = 0
    sums: dict[str, list[float]] = {k: [] for k in keys}
    seen: set[Any] = set()
    for _, row in iter_jsonl(path) if path.exists() and path.stat().st_size else ():
        meta = row.get("metadata") or {}
        ln = meta.get("source_line")
        if ln not in lines or ln in seen:
            continue
        seen.add(ln)
        status = meta.get("judge_status") or {}
        for key in keys:
            score = meta.get(key)
            if status.get(key) == JudgeStatus.OK and isinstance(score, int | float):
                scored += 1
                sums[key].append(float(score))
            else:
                parse_failed += 1
        if pairwise:
            disagreements += int((meta.get("pairwise") or {}).get("status") == JudgeStatus.DISAGREE)
    return {
        "scored": scored,
        "parse_failed": parse_failed,
        "disagreements": disagreements,
        "mean": {k: sum(v) / len(v) for k, v in sums.items() if v},
    }


def _done_lines(path: Path, *, repair: bool = True) -> dict[Any, bytes]:
    """``metadata.source_line`` of the rows already judged, each with the key of the text it was judged
    from (:func:`_text_key`); a dry run repairs nothing: it skips a torn line."""
    if not path.exists():
        return {}
    if repair:
        repair_tail(path)
    if path.stat().st_size == 0:
        return {}
    rows = iter_jsonl(path, on_error="raise" if repair else "skip")
    return {(row.get("metadata") or {}).get("source_line"): _text_key(row) for _, row in rows}


def _text_key(row: dict[str, Any]) -> bytes:
    """What a judgement was made from: the row less its metadata and top-level scores (which the judge
    writes or removes), as canonical JSON."""
    kept = {k: v for k, v in row.items() if k != "metadata" and k != "score" and not k.endswith("_score")}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)
