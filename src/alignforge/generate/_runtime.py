"""Plumbing every generator shares: the LLM, the cost tracker, the progress bar, resume state, side files."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.io import JsonlWriter, iter_jsonl, repair_tail
from alignforge.llm.base import LLM, ChatResponse

__all__ = [
    "Tracker",
    "ModelUsage",
    "resolve_llm",
    "resolve_llms",
    "progress_bar",
    "side_paths",
    "done_ids",
    "short_hash",
    "usage_lines",
    "SidePaths",
]


def short_hash(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]


def resolve_llm(
    model: str | LLM,
    *,
    cache: str | os.PathLike[str] | None,
    options: dict[str, Any] | None = None,
    budget: Any = None,
) -> LLM:
    """An ``LLM`` from a spec (``local``, ``openai:gpt-4o``, ...) behind the SQLite request cache, or one given as is.

    With ``budget`` (an ``alignforge.llm.Budget`` shared by every model of the run) no call is sent
    whose worst-case cost no longer fits; it ends as ``LLMError("budget")`` instead.
    """
    if isinstance(model, str):
        from alignforge.llm import get_llm

        model = get_llm(model, cache=cache, **(options or {}))
    elif options:
        raise ConfigError(
            f"backend options {sorted(options)} were given for an LLM object ({model.name}); "
            "they apply to a model spec such as 'openai:gpt-4o'"
        )
    if budget is not None:
        from alignforge.llm import BudgetedLLM

        model = BudgetedLLM(model, budget)
    return model


@dataclass
class ModelUsage:
    """One model's answered requests in a run; tokens and cost count only what was sent (a cache hit is free)."""

    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


def resolve_llms(
    model: str | LLM,
    options: dict[str, Any] | None,
    *,
    judge: tuple[str | LLM | None, dict[str, Any] | None],
    weak: tuple[str | LLM | None, dict[str, Any] | None] = (None, None),
    cache: str | os.PathLike[str] | None,
    max_cost: float | None,
) -> tuple[LLM, LLM, LLM | None, Any]:
    """(the run's LLM, its judge, the weak model, the budget they share).

    ``judge`` and ``weak`` are ``(spec, options)``; the judge is the run's LLM itself when no judge
    model is named, the weak model None. The budget (``max_cost`` USD) is None without a cap.
    """
    from alignforge.llm import Budget

    budget = Budget(max_cost) if max_cost is not None else None
    llm = resolve_llm(model, cache=cache, options=options, budget=budget)
    jllm = resolve_llm(judge[0], cache=cache, options=judge[1], budget=budget) if judge[0] else llm
    wllm = resolve_llm(weak[0], cache=cache, options=weak[1], budget=budget) if weak[0] else None
    return llm, jllm, wllm, budget


@dataclass
class Tracker:
    """Counts for the progress bar and the summary: rows written, passes, cost, requests (also per model)."""

    target: int
    done: int = 0
    passed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    models: dict[str, ModelUsage] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(u.requests for u in self.models.values())

    @property
    def cached(self) -> int:
        return sum(u.cached for u in self.models.values())

    @property
    def cost_usd(self) -> float:
        return sum(u.cost_usd for u in self.models.values())

    def on_usage(self, resp: ChatResponse, model: str) -> None:
        """Count an answered request of the LLM named ``model`` (its ``name``: ``openai:gpt-4o``, ``local``)."""
        use = self.models.setdefault(model, ModelUsage())
        use.requests += 1
        if resp.cached:
            use.cached += 1
            return
        use.cost_usd += resp.usage.cost_usd
        use.prompt_tokens += resp.usage.prompt_tokens
        use.completion_tokens += resp.usage.completion_tokens

    def recorder(self, model: str) -> Callable[[ChatResponse], None]:
        """``on_usage`` bound to one model, for a :class:`~alignforge.judge.Judge`."""
        return lambda resp: self.on_usage(resp, model)

    def models_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dict(vars(use)) for name, use in sorted(self.models.items())}

    def drop(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    @property
    def pass_rate(self) -> float:
        return self.passed / self.done if self.done else 0.0


def usage_lines(models: dict[str, dict[str, Any]]) -> list[str]:
    """One summary line per model: requests (cache hits), tokens sent, cost."""
    return [
        f"model {name}: {u['requests']} requests ({u['cached']} from cache), {u['prompt_tokens']:,} prompt + "
        f"{u['completion_tokens']:,} completion tokens, cost ${u['cost_usd']:.4f}"
        for name, u in models.items()
    ]


@contextmanager
def progress_bar(
    tracker: Tracker, description: str, *, enabled: bool = True, count: str = "passed"
) -> Iterator[Any]:
    """A rich bar showing rows (``count``: passed or done), pass rate and cost; ``update()`` refreshes it."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    if not console.is_terminal:  # a log or a pipe: rich would draw nothing until the end
        yield _plain_progress(tracker, description, count)
        return
    cols = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        TextColumn("pass {task.fields[rate]}"),
        TextColumn("${task.fields[cost]}"),
        TextColumn("{task.fields[reqs]} req"),
        TimeElapsedColumn(),
    ]
    with Progress(*cols, console=console, transient=False) as prog:
        task = prog.add_task(description, total=tracker.target, rate="-", cost="0.0000", reqs=0)

        def update() -> None:
            prog.update(
                task,
                completed=tracker.passed if count == "passed" else tracker.done,
                rate=f"{tracker.pass_rate:.0%}" if tracker.done else "-",
                cost=f"{tracker.cost_usd:.4f}",
                reqs=tracker.requests,
            )

        update()
        yield update


def _plain_progress(tracker: Tracker, description: str, count: str) -> Any:
    """One line per update on stderr, for output that is not a terminal."""
    start = time.monotonic()

    def update() -> None:
        rate = f"{tracker.pass_rate:.0%}" if tracker.done else "-"
        rows = (
            f"{tracker.passed}/{tracker.target} passed of {tracker.done} tried"
            if count == "passed"
            else f"{tracker.done}/{tracker.target} rows ({tracker.passed} passed)"
        )
        print(
            f"   {description}: {rows}, pass rate {rate}, ${tracker.cost_usd:.4f}, "
            f"{tracker.requests} req, {time.monotonic() - start:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    return update


@dataclass(frozen=True)
class SidePaths:
    out: Path
    dropped: Path
    failures: Path

    def writers(self) -> tuple[JsonlWriter, JsonlWriter, JsonlWriter]:
        return JsonlWriter(self.out), JsonlWriter(self.dropped), JsonlWriter(self.failures)


def side_paths(output: str | os.PathLike[str]) -> SidePaths:
    """``out.jsonl`` -> ``out.dropped.jsonl`` (rows failing a gate, with reasons) and ``out.failures.jsonl`` (LLM errors)."""
    out = Path(output)
    if out.suffix != ".jsonl":
        raise ConfigError(f"{out}: generated data is written as JSONL; name the output *.jsonl")
    stem = out.with_suffix("")
    return SidePaths(out, Path(f"{stem}.dropped.jsonl"), Path(f"{stem}.failures.jsonl"))


def done_ids(*paths: Path, key: str = "candidate_id", repair: bool = True) -> dict[str, int]:
    """``metadata[key]`` of rows already written (resume): id -> how many files hold it.

    ``repair`` cuts a partial last line left by a killed run; without it (a dry run changes no file)
    such a line is skipped.
    """
    seen: dict[str, int] = {}
    for path in paths:
        if not path.exists():
            continue
        if repair:
            repair_tail(path)
        if path.stat().st_size == 0:
            continue
        for _, row in iter_jsonl(path, on_error="raise" if repair else "skip"):
            cid = (row.get("metadata") or {}).get(key) if isinstance(row, dict) else None
            if cid:
                seen[cid] = seen.get(cid, 0) + 1
    return seen
