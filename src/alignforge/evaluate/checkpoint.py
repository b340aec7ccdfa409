"""Score a checkpoint on RLVR tasks (the ``evaluate.checkpoint`` stage): sample n completions per task,
verify them in the sandbox, report pass@k.

Outputs in the folder: ``report.json`` (the main output; its stage record is ``report.json.stage.json``),
``samples.jsonl``, ``verdicts.jsonl`` and ``samples.failures.jsonl`` (generations that failed, each a
failed sample with an empty completion). A finished run with the same tasks, model and settings is
reused; a killed one repeats no finished generation (each is in the folder's request cache).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.io import JsonlWriter, write_jsonl
from alignforge.stages import Stage, StageSummary, run_stage, side_paths

__all__ = ["CheckpointScoring", "score_checkpoint", "sample_prompt"]
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
) -> StageSummary:
    """Write ``samples.jsonl``, ``verdicts.jsonl`` and ``report.json`` under ``out_dir``; the summary's
    figures are the report (``summary.scores``, ``summary.overall``, ``summary.statuses``, ...).

    ``model`` is any backend spec (``local``, ``local:/path/to/checkpoint``, ``openai:...``).
    Each sample has its own seed, so the request cache keeps samples apart and a rerun repeats
    no finished generation. ``timeout_s`` bounds each sample's test run in the sandbox.
    """
    stage = CheckpointScoring(
        model,
        Path(tasks),
        Path(out_dir),
        n=n,
        ks=tuple(ks),
        temperature=temperature,
        max_tokens=max_tokens,
        limit=limit,
        workers=workers,
        cache=cache,
        timeout_s=timeout_s,
    )
    return run_stage(stage)


@dataclass
class CheckpointScoring(Stage):
    """pass@k of one checkpoint on a task file; see the module docstring."""

    model: str
    tasks: Path
    out_dir: Path
    n: int = 10
    ks: tuple[int, ...] = (1, 5, 10)
    temperature: float = 0.8
    max_tokens: int = 384
    limit: int | None = None
    workers: int | None = field(default=None, compare=False)  # speed only: not a parameter
    cache: str | os.PathLike[str] | None = field(default=None, compare=False)
    timeout_s: float = 5.0

    name = "evaluate.checkpoint"

    def __post_init__(self) -> None:
        if max(self.ks) > self.n:
            raise ValueError(
                f"pass@{max(self.ks)} needs at least {max(self.ks)} samples per task (n={self.n})"
            )

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"tasks": self.tasks, "model": _model_dir(self.model)}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        out = Path(self.out_dir)
        samples = side_paths(out / "samples.jsonl")
        return {
            "out": out / "report.json",
            "samples": samples.out,
            "failures": samples.failures,
            "verdicts": out / "verdicts.jsonl",
        }

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n": self.n,
            "ks": list(self.ks),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "limit": self.limit,
            "timeout_s": self.timeout_s,
        }

    def execute(self) -> StageSummary:
        from alignforge.llm import ChatRequest, ChatResponse, get_llm
        from alignforge.verify import load_tasks, pass_at_k_table, verify_completions

        n, ks, paths = self.n, list(self.ks), self.outputs()
        out = Path(self.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        task_map = load_tasks(self.tasks)
        chosen = list(task_map.values())[: self.limit] if self.limit else list(task_map.values())
        llm = get_llm(self.model, cache=self.cache or str(out / "requests.sqlite"))
        requests = [
            ChatRequest.chat(
                sample_prompt(t), temperature=self.temperature, max_tokens=self.max_tokens, seed=i
            )
            for t in chosen
            for i in range(n)
        ]
        results = llm.generate(requests)
        samples, failures = [], []
        for j, res in enumerate(results):
            task, index = chosen[j // n], j % n
            text = res.text if isinstance(res, ChatResponse) else ""
            if not isinstance(
                res, ChatResponse
            ):  # a failed generation is a failed sample, counted, never skipped
                failures.append({"task_id": task["task_id"], "sample_index": index, "error": str(res)})
            samples.append(
                {
                    "task_id": task["task_id"],
                    "sample_index": index,
                    "completion": text,
                    "completion_style": "full",
                    "model": self.model,
                    "temperature": self.temperature,
                }
            )
        write_jsonl(paths["samples"], samples)
        write_jsonl(paths["failures"], failures)
        with JsonlWriter(paths["verdicts"], append=False) as w:
            verdicts = []
            for v in verify_completions(
                {t["task_id"]: t for t in chosen}, samples, workers=self.workers, timeout_s=self.timeout_s
            ):
                w.write(v)
                verdicts.append(v)
        table = pass_at_k_table(verdicts, ks)
        stem = Path(self.tasks).name.removesuffix(".jsonl").removesuffix("_full")
        plus = _plus_scores(chosen, samples, verdicts, ks, workers=self.workers, timeout_s=self.timeout_s)
        report = {
            "model": self.model,
            "tasks": str(self.tasks),
            "n_tasks": len(chosen),
            "samples_per_task": n,
            "temperature": self.temperature,
            "failed_generations": len(failures),
            "overall": table["overall"],
            "scores": {f"{stem}/pass@{k}": table["overall"][f"pass@{k}"] for k in ks},
            "statuses": _count(str(v["status"]) for v in verdicts),  # plain strings: JSON keys
        }
        if plus is not None:  # tasks strengthened (plus_tests): pass@k on original + new tests too
            report["plus"] = plus  # not in "scores": retention reads every score there as a benchmark
        Path(paths["out"]).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        notes = [f"   {name:32s} " + _shown(v) for name, v in report["scores"].items()]
        if plus is not None:
            notes += [
                f"   {stem + '+/pass@' + str(k):32s} " + _shown(plus["overall"].get(f"pass@{k}")) for k in ks
            ]
        notes.append(f"   statuses {report['statuses']}")
        return StageSummary(
            self.name,
            written=len(verdicts),
            failed=len(failures),
            outputs={k: str(v) for k, v in paths.items()},
            figures=report,
            notes=notes,
        )


def _plus_scores(
    chosen: list[dict[str, Any]],
    samples: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    ks: list[int],
    *,
    workers: int | None,
    timeout_s: float,
) -> dict[str, Any] | None:
    """pass@k with each strengthened task's ``plus_tests`` after its own (HumanEval+ to HumanEval), over
    the same tasks; None when no task carries any. Only the samples that pass the original tests are run
    again (the others fail the longer suite too); a task with no new tests keeps its verdicts."""
    from alignforge.verify import pass_at_k_table, plus_task, verify_completions
    from alignforge.verify.tasks import normalize_task

    plus_map = {t["task_id"]: normalize_task(plus_task(t)) for t in chosen if t.get("plus_tests")}
    if not plus_map:
        return None
    passed = {(v["task_id"], v.get("sample_index")) for v in verdicts if v["passed"]}
    again = [s for s in samples if s["task_id"] in plus_map and (s["task_id"], s["sample_index"]) in passed]
    rerun = {
        (v["task_id"], v.get("sample_index")): v
        for v in verify_completions(plus_map, again, workers=workers, timeout_s=timeout_s)
    }
    merged = [rerun.get((v["task_id"], v.get("sample_index")), v) for v in verdicts]
    table = pass_at_k_table(merged, ks)
    return {
        "overall": table["overall"],
        "n_tasks_strengthened": len(plus_map),
        "samples_failing_only_new_tests": sum(
            v["passed"] and not m["passed"] for v, m in zip(verdicts, merged, strict=True)
        ),
    }


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _model_dir(spec: str) -> str | None:
    """The checkpoint folder a ``local`` spec loads (its weights are an input), else None."""
    backend, _, rest = spec.partition(":")
    if backend != "local":
        return None
    if not rest or rest.split(":")[0] == "embedded":
        from alignforge.models import embedded_checkpoint

        return str(embedded_checkpoint())
    return rest if Path(rest).is_dir() else None


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
