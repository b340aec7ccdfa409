"""Run many requests into a JSONL file that survives being killed: resume repeats nothing, loses nothing.

Each job has a stable ``id``. Rows are appended as results arrive (one atomic write
per line); on start, ids already in the output file are skipped and a partial last
line left by a killed run is cut. With a :class:`CachedLLM` (``cache=``), calls that
finished but whose rows were not yet written are answered from SQLite for free, so
a rerun pays for nothing twice. Failed requests go to a side file with their error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError
from alignforge.llm.budget import Budget, BudgetedLLM

__all__ = ["Job", "Drop", "RunStats", "run_requests", "default_row", "failed_path", "compact_failed"]


@dataclass(frozen=True, slots=True)
class Job:
    """One request to run; ``id`` names its output row (stable across reruns), ``data`` is yours."""

    id: str
    request: ChatRequest
    data: Any = None


@dataclass(frozen=True, slots=True)
class Drop:
    """Return this from ``make_row`` to drop a result; the reason is counted and logged."""

    reason: str


@dataclass
class RunStats:
    total: int = 0  # jobs seen
    resumed: int = 0  # skipped: their row was already in the output
    written: int = 0
    dropped: int = 0
    failed: int = 0
    not_run_budget: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
    failed_file: str | None = None

    @property
    def finished(self) -> int:
        return self.written + self.dropped + self.failed

    @property
    def pass_rate(self) -> float:
        return self.written / self.finished if self.finished else 0.0


def default_row(job: Job, resp: ChatResponse) -> dict[str, Any]:
    return {"id": job.id, "response": resp.text, "model": resp.model, "finish_reason": resp.finish_reason}


def failed_path(out: str | os.PathLike[str]) -> Path:
    """``pairs.jsonl`` -> ``pairs.failed.jsonl``."""
    p = Path(out)
    return p.with_name(
        p.name[: -len(".jsonl")] + ".failed.jsonl" if p.name.endswith(".jsonl") else p.name + ".failed"
    )


def run_requests(
    llm: LLM,
    jobs: Iterable[Job],
    *,
    out: str | os.PathLike[str],
    make_row: Callable[[Job, ChatResponse], dict[str, Any] | Drop] = default_row,
    id_field: str = "id",
    failed: str | os.PathLike[str] | None = None,
    max_cost: float | Budget | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = False,
    chunk_size: int = 2048,
    fsync: bool = False,
    total: int | None = None,
) -> RunStats:
    """Run ``jobs`` through ``llm`` and append one row per success to ``out``; return the counts.

    ``make_row(job, response)`` builds the row (``row[id_field]`` is set to ``job.id``)
    or returns :class:`Drop`. ``cache`` wraps ``llm`` in a :class:`CachedLLM`;
    ``max_cost`` (USD, or a :class:`Budget` shared by several stages) caps spending: jobs that no longer fit are not sent and are
    counted in ``not_run_budget``. Errors go to ``failed`` (default ``<out>.failed.jsonl``)
    as ``{"id", "error", "kind", "attempts", "key"}``; rerun to retry them.
    """
    from alignforge.io import JsonlWriter, iter_jsonl, repair_tail

    if cache is not None:
        from alignforge.llm.cache import CachedLLM

        llm = CachedLLM(llm, cache)
    if max_cost is not None:
        llm = BudgetedLLM(llm, max_cost)
    out = Path(out)
    side_path = Path(failed) if failed is not None else failed_path(out)
    stats = RunStats(failed_file=str(side_path))
    done: set[str] = set()
    if out.exists() and out.stat().st_size:
        repair_tail(out)
        if out.stat().st_size:
            for lineno, row in iter_jsonl(out):
                if not isinstance(row, dict) or id_field not in row:
                    raise ConfigError(
                        f"{out}:{lineno}: existing output row has no {id_field!r}; cannot resume"
                    )
                done.add(str(row[id_field]))
    if total is None and hasattr(jobs, "__len__"):
        total = len(jobs)  # type: ignore[arg-type]
    bar = _Progress(total, enabled=progress)
    seen: set[str] = set()
    with (
        JsonlWriter(out, append=True, fsync=fsync) as writer,
        JsonlWriter(side_path, append=True) as side,
    ):
        it: Iterator[Job] = iter(jobs)
        while True:
            chunk: list[Job] = []
            for job in islice(it, chunk_size):
                stats.total += 1
                if job.id in seen:
                    raise ConfigError(f"duplicate job id {job.id!r}: ids must be unique for a run to resume")
                seen.add(job.id)
                if job.id in done:
                    stats.resumed += 1
                    bar.advance(stats, resumed=True)
                else:
                    chunk.append(job)
            if not chunk:
                break

            def on_result(i: int, res: ChatResponse | LLMError, chunk: list[Job] = chunk) -> None:
                job = chunk[i]
                if isinstance(res, LLMError):
                    if res.kind == "budget":
                        stats.not_run_budget += 1
                    else:
                        stats.failed += 1
                        stats.error_kinds[res.kind] = stats.error_kinds.get(res.kind, 0) + 1
                        side.write(
                            {
                                "id": job.id,
                                "error": res.message,
                                "kind": res.kind,
                                "attempts": res.attempts,
                                "key": job.request.key(),
                            }
                        )
                else:
                    stats.cached += res.cached
                    stats.prompt_tokens += res.usage.prompt_tokens
                    stats.completion_tokens += res.usage.completion_tokens
                    stats.cost_usd += res.usage.cost_usd
                    row = make_row(job, res)
                    if isinstance(row, Drop):
                        stats.dropped += 1
                        stats.drop_reasons[row.reason] = stats.drop_reasons.get(row.reason, 0) + 1
                        side.write(
                            {
                                "id": job.id,
                                "error": row.reason,
                                "kind": "dropped",
                                "attempts": 1,
                                "key": job.request.key(),
                            }
                        )
                    else:
                        row[id_field] = job.id
                        writer.write(row)
                        done.add(job.id)
                        stats.written += 1
                bar.advance(stats)

            results = llm.generate([j.request for j in chunk], on_result=on_result)
            if len(results) != len(chunk):
                raise RuntimeError(
                    f"backend {llm.name} returned {len(results)} results for {len(chunk)} requests"
                )
    bar.close()
    stats.failed_file = compact_failed(side_path, done)
    return stats


def compact_failed(path: str | os.PathLike[str], done: Container[str], *, id_field: str = "id") -> str | None:
    """Keep the last entry per ``row[id_field]`` that is not ``in done``; remove the file when none is left.

    A side file of failures only grows while a run goes (one line per failed attempt); compacting it at
    the end leaves one line per request that is still failing. Returns the path, or None when removed.
    """
    from alignforge.io import iter_jsonl, write_jsonl

    path = Path(path)
    last: dict[str, Any] = {}
    if path.exists() and path.stat().st_size:
        for _, row in iter_jsonl(path, on_error="skip"):
            if isinstance(row, dict) and str(row.get(id_field)) not in done:
                last[str(row.get(id_field))] = row
    if not last:
        path.unlink(missing_ok=True)
        return None
    write_jsonl(path, last.values())
    return str(path)


class _Progress:
    """A rich progress bar on stderr: rows done, pass rate, cost (no-op when disabled)."""

    def __init__(self, total: int | None, *, enabled: bool) -> None:
        self._p: Any = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(
            TextColumn("[bold]generate"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pass {task.fields[rate]}  ${task.fields[cost]}  failed {task.fields[failed]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._task = self._p.add_task("generate", total=total, rate="-", cost="0.0000", failed=0)
        self._p.start()

    def advance(self, stats: RunStats, *, resumed: bool = False) -> None:
        if self._p is None:
            return
        rate = f"{stats.pass_rate:.0%}" if stats.finished else "-"
        self._p.update(self._task, advance=1, rate=rate, cost=f"{stats.cost_usd:.4f}", failed=stats.failed)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
