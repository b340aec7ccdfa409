"""``alignforge judge``: rubric scores (0-10) for a DPO, SFT or KTO file."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]


@click.command("judge")
@click.argument("input_file", type=click.Path(dir_okay=False))
@click.option(
    "--out", "output", required=True, type=click.Path(dir_okay=False), help="Judged JSONL to write."
)
@click.option(
    "--model",
    default="local",
    show_default=True,
    help="Judge LLM: local, local:/path, openai:<m>, anthropic:<m>.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Backend option for --model, repeatable; values are YAML (--option price=[2.5,10]).",
)
@click.option("--pairwise", is_flag=True, help="DPO only: also ask which side is better, in both orders.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1))
@click.option(
    "--max-tokens", default=96, show_default=True, type=click.IntRange(8), help="Judge answer length."
)
@click.option("--max-cost", type=click.FloatRange(0), help="Stop before spending more than this (USD).")
@click.option(
    "--cache", default="auto", show_default=True, help="SQLite request cache ('auto': beside --out; 'none')."
)
@click.option("--dry-run", is_flag=True, help="Print the request count and cost estimate; call nothing.")
@click.option("--no-progress", is_flag=True)
def judge_cmd(
    input_file: str,
    output: str,
    model: str,
    options: tuple[str, ...],
    pairwise: bool,
    batch_size: int,
    max_tokens: int,
    max_cost: float | None,
    cache: str,
    dry_run: bool,
    no_progress: bool,
) -> None:
    """Score every row with the 0-10 rubric; unparsable answers are recorded as parse_failed, never guessed.

    \b
    Example:
      alignforge judge pairs.jsonl --out judged.jsonl --model anthropic:claude-sonnet-4-5
      alignforge judge pairs.jsonl --out judged.jsonl --model local --pairwise --dry-run
      alignforge judge pairs.jsonl --out judged.jsonl --model openai:my-judge \\
          --option base_url=http://127.0.0.1:8000/v1 --option price=[0,0] --max-cost 1
    """
    from alignforge.cli.generate import exit_if_nothing_made
    from alignforge.judge import judge_file
    from alignforge.llm import parse_cli_options

    summary = judge_file(
        input_file,
        output,
        model=model,
        llm_options=parse_cli_options(options, flag="--option") or None,
        pairwise=pairwise,
        batch_size=batch_size,
        max_tokens=max_tokens,
        max_cost=max_cost,
        cache=None if cache == "none" else cache,
        progress=not no_progress,
        dry_run=dry_run,
    )
    for line in summary.lines():
        click.echo(line)
    exit_if_nothing_made(summary)


COMMANDS = [judge_cmd]
