"""``alignforge generate dpo|sft|kto|grpo|rlvr``: thin wrappers over :mod:`alignforge.generate`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = ["COMMANDS"]


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options every LLM-backed generator shares."""
    opts = [
        click.option(
            "--model",
            default="local",
            show_default=True,
            help="LLM: local, local:/path, openai:<model>, anthropic:<model>.",
        ),
        click.option("--judge-model", default=None, help="Judge LLM (default: --model)."),
        click.option("--max-tokens", default=256, show_default=True, type=click.IntRange(8)),
        click.option("--judge-max-tokens", default=96, show_default=True, type=click.IntRange(8)),
        click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1)),
        click.option(
            "--max-cost", type=click.FloatRange(0), help="Stop before spending more than this (USD)."
        ),
        click.option(
            "--cache",
            default="auto",
            show_default=True,
            help="SQLite request cache ('auto': beside --out; 'none' to disable).",
        ),
        click.option(
            "--dry-run", is_flag=True, help="Print the request count and cost estimate; call nothing."
        ),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _print(summary: Any) -> None:
    for line in summary.lines():
        click.echo(line)


@click.group("generate")
def generate_group() -> None:
    """Generate SFT, DPO, KTO, GRPO and RLVR data (resumable: rerun the same command after a kill).

    \b
    Example:
      alignforge generate dpo --prompts examples/prompts.jsonl --out pairs.jsonl --n 20 --strategy flaw
      alignforge generate rlvr --domain math --n 100 --out math_tasks.jsonl
    """


@generate_group.command("dpo")
@click.option(
    "--prompts",
    "input_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSONL with prompt (or messages; an SFT file's answers become the chosen side).",
)
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False))
@click.option("--n", type=click.IntRange(1), help="Pairs that must pass the gates (default: one per prompt).")
@click.option(
    "--strategy",
    default="flaw",
    show_default=True,
    type=click.Choice(["flaw", "strong-weak", "reference", "temperature", "best-of-n"]),
)
@click.option("--weak-model", default=None, help="strong-weak: the model for the rejected side.")
@click.option("--chosen-threshold", default=9.0, show_default=True, type=float)
@click.option("--rejected-threshold", default=6.0, show_default=True, type=float)
@click.option("--gap-threshold", default=3.0, show_default=True, type=float)
@click.option(
    "--flaw-mix",
    default=None,
    help="flaw: e.g. 'oversimplified=25,risky_advice=20,incomplete=20,hallucinated=15,irrelevant=10,overconfident=10'.",
)
@click.option(
    "--no-flaw-check", is_flag=True, help="flaw: skip the judge's confirmation of the planned flaw."
)
@click.option("--max-candidates", type=click.IntRange(1), help="Stop after this many candidates.")
@click.option("--max-rounds", default=3, show_default=True, type=click.IntRange(1), help="Tries per prompt.")
@click.option(
    "--best-of", default=4, show_default=True, type=click.IntRange(2), help="best-of-n: samples per prompt."
)
@click.option(
    "--keep-all", is_flag=True, help="Write scored pairs that fail the gates to --out too (marked)."
)
@_common
def dpo_cmd(
    input_file: str,
    output: str,
    n: int | None,
    strategy: str,
    weak_model: str | None,
    chosen_threshold: float,
    rejected_threshold: float,
    gap_threshold: float,
    flaw_mix: str | None,
    no_flaw_check: bool,
    max_candidates: int | None,
    max_rounds: int,
    best_of: int,
    keep_all: bool,
    model: str,
    judge_model: str | None,
    max_tokens: int,
    judge_max_tokens: int,
    batch_size: int,
    max_cost: float | None,
    cache: str,
    dry_run: bool,
    no_progress: bool,
) -> None:
    """DPO pairs in quota mode: generate until --n pairs pass the gates or a budget runs out.

    \b
    Example:
      alignforge generate dpo --prompts prompts.jsonl --out pairs.jsonl --n 1000 --strategy flaw --model local
      alignforge generate dpo --prompts prompts.jsonl --out pairs.jsonl --strategy strong-weak \\
          --model openai:gpt-4o --weak-model openai:gpt-4o-mini --max-cost 5
    """
    from alignforge.generate import generate_dpo_pairs

    summary = generate_dpo_pairs(
        input_file,
        output,
        n=n,
        strategy=strategy,
        model=model,
        weak_model=weak_model,
        judge_model=judge_model,
        chosen_threshold=chosen_threshold,
        rejected_threshold=rejected_threshold,
        gap_threshold=gap_threshold,
        flaw_mix=flaw_mix,
        confirm_flaws=not no_flaw_check,
        max_candidates=max_candidates,
        max_rounds=max_rounds,
        best_of=best_of,
        keep_all=keep_all,
        max_tokens=max_tokens,
        judge_max_tokens=judge_max_tokens,
        batch_size=batch_size,
        max_cost=max_cost,
        cache=None if cache == "none" else cache,
        progress=not no_progress,
        dry_run=dry_run,
    )
    _print(summary)


COMMANDS = [generate_group]
