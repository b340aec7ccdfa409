"""SFT data: inputs from a taxonomy (or a prompts file), one strong answer each, kept if the judge says >= 0.80.

The judge scores on 0-10; ``min_score`` is on 0-1 (the training-methods guide's 0.80), so a row
needs a score of at least ``10 * min_score``. Rows below it, and rows whose score did not parse,
go to ``<out>.dropped.jsonl`` with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from alignforge.errors import ConfigError
from alignforge.generate import templates
from alignforge.generate._inputs import load_prompts
from alignforge.generate._scored import Job, Scored, answer_and_score, job_request
from alignforge.generate._stage import GeneratorStage, cache_for, run_generator
from alignforge.generate._strategies import answer_request, complete
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
    estimate_lines,
    progress_bar,
    side_paths,
    stand_in,
)

__all__ = ["generate_sft_data", "SFTStage", "load_taxonomy"]

_INPUT_MAX_TOKENS = 96  # a taxonomy leaf's written user input


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


@dataclass
class SFTStage(GeneratorStage):
    """``generate sft`` as a stage: the parameters of :func:`generate_sft_data`, one ``execute()``."""

    name = "generate.sft"
    #: A rerun skips the rows already made (by prompt id): other inputs or parameters are refused by
    #: run_stage, except these (a larger limit, budget or batch goes on where the last run stopped).
    resumes_by_key: ClassVar[bool] = True
    resume_may_change: ClassVar[frozenset[str]] = frozenset({"limit", "max_cost", "batch_size"})

    output_file: str | os.PathLike[str]
    taxonomy: str | os.PathLike[str] | None = None
    prompts: str | os.PathLike[str] | None = None
    model: str | LLM = "local"
    judge_model: str | LLM | None = None
    min_score: float = 0.80
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
        if (self.taxonomy is None) == (self.prompts is None):
            raise ConfigError("give exactly one of taxonomy (a YAML file) or prompts (a JSONL file)")
        if not 0 <= self.min_score <= 1:
            raise ConfigError(f"min_score is on 0-1 (0.80 keeps judge scores >= 8/10), got {self.min_score}")
        if self.judge_options and self.judge_model is None:
            raise ConfigError("judge options (--judge-option) need a judge model (--judge-model)")

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"taxonomy": self.taxonomy, "prompts": self.prompts}

    def execute(self) -> StageSummary:
        paths = side_paths(self.output_file)
        summary = self.summary(inputs=0)
        cache_path = cache_for(paths.out, self.cache)
        done = done_ids(paths.out, paths.dropped, key="item_id", repair=not self.dry_run)
        system = None
        leaves: list[tuple[str, str, str, int]] = []
        input_convs: list[tuple[list[dict[str, str]], int]] = []  # per leaf to do: (conversation, seed)
        jobs: list[Job] = []
        if self.taxonomy is not None:
            tax = load_taxonomy(self.taxonomy)
            system = tax.get("system")
            all_leaves = _leaves(tax)[: self.limit]
            leaves = [
                leaf for leaf in all_leaves if leaf[0] not in done
            ]  # a finished leaf asks nothing again
            inputs, summary.resumed = len(all_leaves), len(all_leaves) - len(leaves)
            domain = str(tax.get("domain", "general"))
            input_convs = [(templates.sft_input_messages(domain, t, task), k) for _, t, task, k in leaves]
        else:
            for item in load_prompts(self.prompts, limit=self.limit):  # type: ignore[arg-type]
                jobs.append(Job(item.id, item.messages(), item.text, meta={"source": f"prompts:{item.id}"}))
            inputs = len(jobs)
            jobs = [j for j in jobs if j.item_id not in done]
            summary.resumed = inputs - len(jobs)
        summary.figures["inputs"] = inputs
        sys_msg = [{"role": "system", "content": system or templates.ANSWER_SYSTEM}]
        for j in jobs:
            j.messages = sys_msg + [m for m in j.messages if m["role"] != "system"]
        if self.dry_run:
            e = summary.estimate = _estimate(
                input_convs,
                jobs,
                system=sys_msg,
                taxonomy=self.taxonomy is not None,
                cache=cache_path,
                models={
                    "model": (self.model, self.llm_options),
                    "judge": (self.judge_model, self.judge_options),
                },
                max_tokens=self.max_tokens,
                judge_max_tokens=self.judge_max_tokens,
            )
            head = (
                f"dry run: generate sft{' (taxonomy)' if e['taxonomy'] else ''}: {e['inputs']} inputs, "
                f"{e['planned']} LLM requests ({e['requests']} to send, {e['cached']} answered from the cache"
                f"{f'; {summary.resumed} inputs done before' if summary.resumed else ''}), "
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
        tracker = Tracker(target=inputs, done=summary.resumed)
        judge = Judge(jllm, max_tokens=self.judge_max_tokens, on_usage=tracker.recorder(jllm.name))
        finished = set(done)
        stopped = False
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
            with progress_bar(tracker, "sft", enabled=self.progress, count="done") as update:
                for start in range(0, len(jobs), self.batch_size):
                    if budget is not None and budget.stopped:
                        stopped = True
                        break
                    batch = jobs[start : start + self.batch_size]
                    for s in answer_and_score(llm, judge, tracker, batch, max_tokens=self.max_tokens):
                        if s.error:
                            fail_w.write({"item_id": s.job.item_id, "error": s.error})
                            summary.failed += 1
                            continue
                        row, reason, detail = self._row(s, system)
                        tracker.done += 1
                        finished.add(s.job.item_id)
                        if reason:
                            drop_w.write(add_drop_reason(row, reason, detail))
                            summary.drop(reason)
                        else:
                            tracker.passed += 1
                            out_w.write(row)
                            summary.written += 1
                    update()
        finally:
            for w in (out_w, drop_w, fail_w):
                w.close()
        tracker.fill(summary)
        summary.figures["complete"] = not stopped
        summary.notes = [
            f"   {summary.written} SFT rows kept of {inputs} inputs ({summary.resumed} done before)"
        ]
        compact_failures(paths.failures, finished, id_field="item_id")
        return summary

    def _row(self, s: Scored, system: str | None) -> tuple[dict[str, Any], str | None, Any]:
        """The ``messages`` row of a scored answer, and why it is dropped (None: kept) with the detail."""
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
        row = {"messages": [*msgs, {"role": "assistant", "content": s.response}], "metadata": meta}
        if jr is None or not jr.ok:
            return row, "judge_parse_failed", {"status": jr.status if jr else "parse_failed"}
        if (jr.score or 0) < 10 * self.min_score:
            return row, "score_below_min", {"score": jr.score, "min": round(10 * self.min_score, 4)}
        return row, None, None


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
) -> StageSummary:
    """Write ``messages`` rows (system?, user, assistant) with ``metadata.score`` (0-10) to ``output_file``.

    ``llm_options`` / ``judge_options``: backend options for ``model`` / ``judge_model`` given as specs.
    ``dry_run`` calls nothing and returns the estimate for the inputs not done yet. Returns the stage's
    :class:`~alignforge.stages.StageSummary` (figure ``inputs``: inputs in all, done before or now).
    """
    return run_generator(SFTStage(**locals()), dry_run=dry_run)


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
