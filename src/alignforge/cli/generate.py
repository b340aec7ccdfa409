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
        click.option(
            "--option",
            "options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Backend option for --model, repeatable; values are YAML "
            "(--option base_url=http://127.0.0.1:8000/v1 --option price=[2.5,10] --option concurrency=8).",
        ),
        click.option("--judge-model", default=None, help="Judge LLM (default: --model)."),
        click.option(
            "--judge-option",
            "judge_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Backend option for --judge-model, repeatable.",
        ),
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


def backend_options(items: tuple[str, ...], flag: str) -> dict[str, Any] | None:
    """``--option KEY=VALUE`` pairs as a dict (values read as YAML); the backend refuses unknown keys."""
    from alignforge.llm import parse_cli_options

    return parse_cli_options(items, flag=flag) or None


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
@click.option(
    "--weak-option",
    "weak_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Backend option for --weak-model, repeatable.",
)
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
    weak_options: tuple[str, ...],
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
    options: tuple[str, ...],
    judge_model: str | None,
    judge_options: tuple[str, ...],
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
      alignforge generate dpo --prompts prompts.jsonl --out pairs.jsonl --model openai:my-model \\
          --option base_url=http://127.0.0.1:8000/v1 --option price=[0,0] --max-cost 1
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
        llm_options=backend_options(options, "--option"),
        weak_options=backend_options(weak_options, "--weak-option"),
        judge_options=backend_options(judge_options, "--judge-option"),
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


@generate_group.command("sft")
@click.option("--taxonomy", type=click.Path(dir_okay=False), help="YAML taxonomy: domain, topics, tasks.")
@click.option("--prompts", type=click.Path(dir_okay=False), help="Or a JSONL of prompts to answer.")
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--min-score",
    default=0.80,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Keep rows whose judge score / 10 is at least this (0-1 scale).",
)
@click.option("--limit", type=click.IntRange(1), help="Use only the first N inputs.")
@_common
def sft_cmd(
    taxonomy: str | None,
    prompts: str | None,
    output: str,
    min_score: float,
    limit: int | None,
    model: str,
    options: tuple[str, ...],
    judge_model: str | None,
    judge_options: tuple[str, ...],
    max_tokens: int,
    judge_max_tokens: int,
    batch_size: int,
    max_cost: float | None,
    cache: str,
    dry_run: bool,
    no_progress: bool,
) -> None:
    """SFT rows: inputs from a taxonomy (or prompts), one strong answer each, judge filter >= 0.80.

    \b
    Example:
      alignforge generate sft --taxonomy examples/taxonomy.yaml --out sft.jsonl --model openai:gpt-4o
    """
    from alignforge.generate import generate_sft_data

    if (taxonomy is None) == (prompts is None):
        raise click.UsageError("give exactly one of --taxonomy or --prompts")
    _print(
        generate_sft_data(
            output,
            taxonomy=taxonomy,
            prompts=prompts,
            model=model,
            judge_model=judge_model,
            llm_options=backend_options(options, "--option"),
            judge_options=backend_options(judge_options, "--judge-option"),
            dry_run=dry_run,
            min_score=min_score,
            max_tokens=max_tokens,
            judge_max_tokens=judge_max_tokens,
            batch_size=batch_size,
            max_cost=max_cost,
            cache=None if cache == "none" else cache,
            limit=limit,
            progress=not no_progress,
        )
    )


@generate_group.command("kto")
@click.option("--prompts", "input_file", required=True, type=click.Path(dir_okay=False))
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--threshold", default=7.0, show_default=True, type=float, help="label = judge score (0-10) >= this."
)
@click.option(
    "--per-prompt", default=2, show_default=True, type=click.IntRange(1), help="Answers per prompt."
)
@click.option(
    "--positive-share", default="0.60-0.70", show_default=True, help="Band the positive share is held in."
)
@click.option("--limit", type=click.IntRange(1), help="Use only the first N prompts.")
@_common
def kto_cmd(
    input_file: str,
    output: str,
    threshold: float,
    per_prompt: int,
    positive_share: str,
    limit: int | None,
    model: str,
    options: tuple[str, ...],
    judge_model: str | None,
    judge_options: tuple[str, ...],
    max_tokens: int,
    judge_max_tokens: int,
    batch_size: int,
    max_cost: float | None,
    cache: str,
    dry_run: bool,
    no_progress: bool,
) -> None:
    """KTO rows labelled by the rubric, positive share held at 60-70 %.

    \b
    Example:
      alignforge generate kto --prompts examples/prompts.jsonl --out kto.jsonl --per-prompt 2
    """
    from alignforge.generate import generate_kto_data

    try:
        lo, hi = (float(x) for x in positive_share.split("-"))
    except ValueError:
        raise click.BadParameter("expected LOW-HIGH, e.g. 0.60-0.70", param_hint="--positive-share") from None
    _print(
        generate_kto_data(
            input_file,
            output,
            model=model,
            judge_model=judge_model,
            llm_options=backend_options(options, "--option"),
            judge_options=backend_options(judge_options, "--judge-option"),
            dry_run=dry_run,
            threshold=threshold,
            per_prompt=per_prompt,
            min_positive=lo,
            max_positive=hi,
            max_tokens=max_tokens,
            judge_max_tokens=judge_max_tokens,
            batch_size=batch_size,
            max_cost=max_cost,
            cache=None if cache == "none" else cache,
            limit=limit,
            progress=not no_progress,
        )
    )


@generate_group.command("grpo")
@click.option(
    "--prompts",
    "input_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Prompts, RLVR tasks or SFT rows.",
)
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--reward",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "math", "tests", "judge"]),
    help="Reward spec to attach (auto: tests if the row has tests, math if it has an answer, else judge).",
)
def grpo_cmd(input_file: str, output: str, reward: str) -> None:
    """GRPO prompt-only rows carrying the spec of their reward (no LLM needed).

    \b
    Example:
      alignforge generate grpo --prompts math_tasks.jsonl --out grpo.jsonl
    """
    from alignforge.generate import generate_grpo_data

    _print(generate_grpo_data(input_file, output, reward=reward))


@generate_group.command("rlvr")
@click.option("--domain", required=True, type=click.Choice(["math", "code"]))
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False),
    help="Generator specs or tasks to check (default: built-in generators).",
)
@click.option("--verification-type", default=None, help="math: math|exact; code: tests (default by domain).")
@click.option("--n", default=100, show_default=True, type=click.IntRange(1), help="Tasks without --input.")
@click.option("--seed", default=0, show_default=True, type=int)
def rlvr_cmd(
    domain: str, output: str, input_file: str | None, verification_type: str | None, n: int, seed: int
) -> None:
    """RLVR tasks: procedural math with exact answers, or code tasks whose reference passes 3-5 tests in the sandbox.

    \b
    Example:
      alignforge generate rlvr --domain math --n 200 --out math_tasks.jsonl
      alignforge generate rlvr --domain code --n 50 --out code_tasks.jsonl
    """
    from alignforge.generate import generate_rlvr_data

    _print(generate_rlvr_data(input_file, output, domain, verification_type, n=n, seed=seed))


COMMANDS = [generate_group]
