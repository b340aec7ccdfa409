"""The ``verify`` stage: a completions file and a task file in, one verdict per completion out, resumable.

Verdicts are appended in input order, one atomic line each. A rerun reads the verdicts already
written (a partial last line left by a killed run is cut), checks that they line up with the
completions file, and verifies only the rest: a finished verdict is never run again. The summary
counts the statuses of this run's verdicts and, with ``ks``, gives pass@k over the whole file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.stages import Stage, StageSummary, run_stage

__all__ = ["VerifyStage", "verify_file", "sandbox_pool"]


def sandbox_pool(task_map: Mapping[str, Any], workers: int | None, isolation: str = "process") -> Any:
    """The sandbox pool when any task runs code (None otherwise).

    When the sandbox could not get every isolation it asks for, it says so on stderr in one line
    (``warning: sandbox isolation fell back: ...``): a weaker sandbox is never used silently.
    """
    if not any(t["domain"] == "code" for t in task_map.values()):
        return None
    from alignforge.verify import SandboxPool

    pool = SandboxPool(workers, isolation=isolation)
    if pool.fallback:
        print(f"warning: {pool.fallback}", file=sys.stderr, flush=True)
    return pool


def _pass_at_k_line(overall: Mapping[str, Any], ks: Sequence[int]) -> str:
    """``pass@1 0.5833  pass@5 n/a`` from :func:`~alignforge.verify.pass_at_k_table`'s ``overall``."""
    return "  ".join(
        f"pass@{k} {overall[f'pass@{k}']:.4f}" if overall[f"pass@{k}"] is not None else f"pass@{k} n/a"
        for k in ks
    )


@dataclass
class VerifyStage(Stage):
    """Verify ``completions`` (``{task_id, completion, sample_index?, completion_style?}`` rows) against
    ``tasks`` into ``out``. ``workers``, ``cache`` (a SQLite verdict cache), ``fresh`` (start over),
    ``executor`` (``local``, or ``ray``: :class:`~alignforge.verify.distributed.RayVerifier`) and
    ``ray_address`` do not change the verdicts and stay out of the fingerprint."""

    tasks: str | os.PathLike[str]
    completions: str | os.PathLike[str]
    out: str | os.PathLike[str]
    timeout_s: float = 5.0
    memory_mb: int = 1024
    partial: bool = False
    isolation: str = "process"
    retry_timeouts: bool = True
    ks: tuple[int, ...] = ()
    workers: int | None = None
    cache: str | os.PathLike[str] | None = None
    fresh: bool = False
    plus: bool = False
    executor: str = "local"
    ray_address: str | None = None

    name = "verify"
    # Finished verdicts are kept by (task_id, sample_index): verdicts of other completions, tasks or
    # limits are refused rather than kept; the ks only re-count pass@k over the whole file.
    resumes_by_key = True
    resume_may_change = frozenset({"ks"})
    fresh_option = "--fresh"

    def starts_over(self) -> bool:
        return self.fresh

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"tasks": self.tasks, "completions": self.completions}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": self.out}

    def params(self) -> dict[str, Any]:
        return {
            "timeout_s": self.timeout_s,
            "memory_mb": self.memory_mb,
            "partial": self.partial,
            "isolation": self.isolation,
            "retry_timeouts": self.retry_timeouts,
            "ks": sorted(self.ks),
            "plus": self.plus,
        }

    def execute(self) -> StageSummary:
        from alignforge.io import DataError, JsonlWriter
        from alignforge.verify.engine import VerdictCache, verify_completions
        from alignforge.verify.passk import pass_at_k_table
        from alignforge.verify.tasks import load_tasks

        if self.executor not in ("local", "ray"):
            raise DataError("--executor", None, f"unknown executor '{self.executor}': use local or ray")
        out = Path(self.out)
        task_map = load_tasks(_with_plus_tests(self.tasks) if self.plus else self.tasks)
        if self.fresh:
            out.unlink(missing_ok=True)
        done = _finished(out)
        summary = StageSummary(self.name, resumed=len(done), outputs={"out": str(out)})
        verdicts = [{"task_id": v["task_id"], "passed": v["passed"]} for v in done]
        statuses: dict[str, int] = {}
        hits = 0
        rows = _rows(Path(self.completions), task_map, done, out)
        limits: dict[str, Any] = {
            "timeout_s": self.timeout_s,
            "partial": self.partial,
            "memory_mb": self.memory_mb,
        }
        ray_verifier: Any = None
        pool = None
        if self.executor == "ray":
            from alignforge.verify.distributed import RayVerifier

            ray_verifier = RayVerifier(
                workers=self.workers, isolation=self.isolation, cache=self.cache, address=self.ray_address
            )
            results = ray_verifier.map(task_map, rows, retry_timeouts=self.retry_timeouts, **limits)
        else:
            pool = sandbox_pool(task_map, self.workers, self.isolation)
            results = verify_completions(
                task_map,
                rows,
                cache=VerdictCache(self.cache),
                pool=pool,
                workers=self.workers,
                retry_timeouts=self.retry_timeouts,
                **limits,
            )
        try:
            with JsonlWriter(out) as writer:
                for v in results:
                    writer.write(v)
                    summary.written += 1
                    statuses[str(v["status"])] = statuses.get(str(v["status"]), 0) + 1
                    hits += bool(v.get("cache_hit"))
                    verdicts.append({"task_id": v["task_id"], "passed": v["passed"]})
        finally:
            if pool is not None:
                pool.close()
            if ray_verifier is not None:
                ray_verifier.close()
        summary.figures = {
            "statuses": dict(sorted(statuses.items())),
            "cache_hits": hits,
            "verdicts": len(verdicts),
            "passed": sum(v["passed"] for v in verdicts),
        }
        summary.notes.append(
            "   statuses: "
            + (", ".join(f"{k} {n}" for k, n in sorted(statuses.items())) or "none")
            + f"; cache hits {hits}"
        )
        if self.ks:
            ks = sorted(self.ks)
            overall = pass_at_k_table(verdicts, ks)["overall"]
            summary.figures["pass_at_k"] = overall
            summary.notes.append("   " + _pass_at_k_line(overall, ks))
        return summary


def verify_file(
    tasks: str | os.PathLike[str],
    completions: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    timeout_s: float = 5.0,
    memory_mb: int = 1024,
    partial: bool = False,
    isolation: str = "process",
    retry_timeouts: bool = True,
    cache: str | os.PathLike[str] | None = None,
    ks: Sequence[int] = (),
    fresh: bool = False,
    plus: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
) -> StageSummary:
    """Verify a completions file into ``out`` through the stage contract (see :class:`VerifyStage`).

    A finished run with the same inputs and parameters is reused; a killed one resumes at its row;
    ``fresh=True`` starts over. ``plus`` scores against each task's tests followed by its
    ``plus_tests`` (``alignforge strengthen``): what HumanEval+ is to HumanEval. ``executor="ray"``
    verifies on Ray (one sandbox pool per node, one shared verdict cache; ``ray_address`` or
    ``RAY_ADDRESS``, else a local Ray) with the same verdicts.
    """
    stage = VerifyStage(
        tasks,
        completions,
        out,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        partial=partial,
        isolation=isolation,
        retry_timeouts=retry_timeouts,
        ks=tuple(ks),
        workers=workers,
        cache=cache,
        fresh=fresh,
        plus=plus,
        executor=executor,
        ray_address=ray_address,
    )
    return run_stage(stage, reuse=not fresh)


def _with_plus_tests(tasks: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The task rows with their ``plus_tests`` appended to their tests (rows without them unchanged);
    a file whose tasks carry no ``plus_tests`` at all is an error, not a silent base-only score."""
    from alignforge.errors import AlignforgeError
    from alignforge.io import DataError, iter_jsonl
    from alignforge.verify._plus_tests import plus_task

    rows = list(iter_jsonl(tasks))
    if not any(isinstance(r, dict) and r.get("plus_tests") for _, r in rows):
        raise AlignforgeError(f"{tasks}: no task has plus_tests (make them with `alignforge strengthen`)")
    merged = []
    for line, r in rows:
        if isinstance(r, dict):
            _check_plus_tests(tasks, line, r.get("plus_tests"))
            try:
                r = plus_task(r)
            except ValueError as exc:  # plus_tests of the other shape than the row's tests
                raise DataError(tasks, line, str(exc)) from None
        merged.append(r)
    return merged


def _check_plus_tests(tasks: str | os.PathLike[str], line: int, plus: Any) -> None:
    """A task row's ``plus_tests`` parse as Python on their own, so an error names them and their line
    in the file, not a line of the merged tests."""
    import ast

    from alignforge.io import DataError

    items = [plus] if isinstance(plus, str) else plus if isinstance(plus, list) else None
    if plus is None:
        return
    if items is None or not all(isinstance(t, str) for t in items):
        raise DataError(tasks, line, "field 'plus_tests': a string or a list of strings is expected")
    for k, text in enumerate(items):
        where = "plus_tests" if isinstance(plus, str) else f"plus_tests[{k}]"
        try:
            ast.parse(text)
        except SyntaxError as exc:
            raise DataError(
                tasks, line, f"field {where!r}: does not parse as Python ({exc.msg}, line {exc.lineno})"
            ) from None


def _finished(out: Path) -> list[dict[str, Any]]:
    """``task_id`` / ``sample_index`` / ``passed`` of the verdicts an earlier (possibly killed) run
    wrote, partial last line removed."""
    from alignforge.io import iter_jsonl, repair_tail

    if not out.is_file() or out.stat().st_size == 0:
        return []
    repair_tail(out)
    keep = ("task_id", "sample_index", "passed")
    return [{k: row.get(k) for k in keep} for _, row in iter_jsonl(out)]


def _rows(
    path: Path, task_map: Mapping[str, Any], done: list[dict[str, Any]], out: Path
) -> Iterator[dict[str, Any]]:
    """Completion rows with sample indices filled in; the first ``len(done)`` (already verdicted) are
    checked against their verdicts and skipped."""
    from alignforge.io import DataError, iter_jsonl

    counters: dict[str, int] = {}
    for n, (line, row) in enumerate(iter_jsonl(path)):
        if not isinstance(row, dict) or not isinstance(row.get("completion"), str) or "task_id" not in row:
            raise DataError(
                path, line, "field 'completion': expected an object with task_id and a string completion"
            )
        tid = str(row["task_id"])
        if tid not in task_map:
            raise DataError(path, line, f"field 'task_id': unknown task {tid!r} (not in the --tasks file)")
        idx = row.get("sample_index")
        if idx is None:
            idx = counters.get(tid, 0)
        elif not isinstance(idx, int) or isinstance(idx, bool):
            raise DataError(path, line, "field 'sample_index': expected an integer")
        counters[tid] = max(counters.get(tid, 0), idx + 1)
        if n < len(done):
            if str(done[n].get("task_id")) != tid or done[n].get("sample_index") != idx:
                raise DataError(out, n + 1, f"does not match {path}:{line}; run again with --fresh")
            continue
        yield {**row, "task_id": tid, "sample_index": idx}
