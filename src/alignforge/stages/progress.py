"""Counting a stage's work as it runs: rows, passes, drops and per-model requests, tokens and cost,
shown on a progress bar and turned into the stage's summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alignforge.llm.base import ChatResponse
from alignforge.stages.summary import StageSummary

__all__ = ["Tracker", "ModelUsage", "progress_bar"]


@dataclass
class ModelUsage:
    """One model's answered requests in a run; tokens and cost count only what was sent (a cache hit is free)."""

    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


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
        return sum((u.cost_usd for u in self.models.values()), 0.0)

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

    def fill(self, summary: StageSummary) -> StageSummary:
        """Copy the request counts, cost and per-model usage into ``summary`` (returned)."""
        summary.requests, summary.cached = self.requests, self.cached
        summary.cost_usd = self.cost_usd
        summary.models = self.models_dict()
        return summary


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
