"""``alignforge assess``: the 7-step strong-vs-weak assessment pipeline."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]


@click.command("assess")
@click.option("--topic", required=True, help="What the assessment is about.")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the step files."
)
@click.option(
    "--model",
    default="local",
    show_default=True,
    help="Default for all three roles (local, openai:<m>, ...).",
)
@click.option("--strong-model", default=None, help="Strong-tier model (step 4); default --model.")
@click.option("--weak-model", default=None, help="Weak-tier model (step 5); default --model.")
@click.option("--judge-model", default=None, help="Writes steps 1-3, judges step 6, builds step 7.")
@click.option(
    "--attempts", default=3, show_default=True, type=click.IntRange(1, 20), help="Tries of steps 3-6."
)
@click.option(
    "--min-differentiation",
    default=6.0,
    show_default=True,
    type=click.FloatRange(0, 10),
    help="Judge score gap (strong - weak, 0-10 scale) that counts as differentiated.",
)
@click.option("--max-tokens", default=None, type=click.IntRange(8), help="Cap on every step's answer length.")
@click.option(
    "--retries",
    default=2,
    show_default=True,
    type=click.IntRange(0, 5),
    help="Re-asks of an unparsable answer.",
)
def assess(
    topic: str,
    out: str,
    model: str,
    strong_model: str | None,
    weak_model: str | None,
    judge_model: str | None,
    attempts: int,
    min_differentiation: float,
    max_tokens: int | None,
    retries: int,
) -> None:
    """Build an assessment that separates a strong model from a weak one.

    Each step writes a JSON file in --out (step1_categories.json ... step7_assessment.json),
    then assessment.json and report.md; rerunning skips finished steps and answers
    finished requests from --out/llm_cache.sqlite. Exit 0: differentiated; 1: no attempt
    differentiated or a step got no usable answer; 2: invalid input.

    \b
    Example:
      alignforge assess --topic "LLM post-training with DPO" --out assess_out/
      alignforge assess --topic "LLM post-training with DPO" --out assess_out/ \\
          --strong-model openai:gpt-4o --weak-model openai:gpt-4o-mini --judge-model openai:gpt-4o
    """
    from alignforge.assess import run_assessment
    from alignforge.errors import GateFailure

    result = run_assessment(
        topic,
        out=out,
        model=model,
        strong_model=strong_model,
        weak_model=weak_model,
        judge_model=judge_model,
        attempts=attempts,
        min_differentiation=min_differentiation,
        max_tokens=max_tokens,
        retries=retries,
        echo=lambda line: click.echo(line, err=True),
    )
    for line in result.lines():
        click.echo(line)
    if not result.differentiated:
        raise GateFailure(
            f"no attempt differentiated the models (Success Rate: {result.success_rate}; "
            f"needed strong - weak >= {min_differentiation:g})"
        )


COMMANDS = [assess]
