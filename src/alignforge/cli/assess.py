"""``alignforge assess``: the 7-step strong-vs-weak assessment pipeline; ``assess report``: its page.

``assess`` itself runs the pipeline (``alignforge assess --topic ...``, as it always has) and
also has one subcommand, ``report``, chosen when it is the first argument. ``assess`` takes
no positional arguments, so ``report`` there can mean nothing else.
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["COMMANDS"]

_SUB = "alignforge.cli.assess:sub"


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--html",
    "html_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write the page (default: RUN_DIR/assessment.html).",
)
def report(run_dir: str, html_path: str | None) -> None:
    """Render assessment.html again from a run's step files.

    No model is asked anything. The page holds the seven steps: categories, the error catalogue with likelihoods, the
    challenge, both implementations side by side, the judge's scores and rationales, and
    the student assessment, whose error spans open their explanation when clicked. A
    damaged step file is an error naming the file and the field (exit 2).

    \b
    Example:
      alignforge assess report assess_out/ --html assessment.html
    """
    from alignforge.assess import write_page

    click.echo(f"wrote {write_page(run_dir, html_path)}")


class _AssessCommand(click.Command):
    """``assess`` runs the pipeline; ``assess report ...`` hands the rest of the line to ``report``."""

    subcommands = {"report": report}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.subcommands:
            ctx.meta[_SUB] = (args[0], args[1:])
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        if _SUB not in ctx.meta:
            return super().invoke(ctx)
        name, rest = ctx.meta.pop(_SUB)
        cmd = self.subcommands[name]
        with cmd.make_context(name, rest, parent=ctx) as sub:
            return cmd.invoke(sub)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(
                [(f"{n} RUN_DIR", c.get_short_help_str(70)) for n, c in self.subcommands.items()]
            )
        super().format_epilog(ctx, formatter)


@click.command("assess", cls=_AssessCommand)
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
    then assessment.json, report.md and assessment.html (the seven steps as one page with
    clickable error spans; `alignforge assess report RUN_DIR` renders it again); rerunning skips finished steps and answers
    finished requests from --out/llm_cache.sqlite. Exit 0: differentiated; 1: no attempt
    differentiated or a step got no usable answer; 2: invalid input.

    \b
    Example:
      alignforge assess --topic "LLM post-training with DPO" --out assess_out/
      alignforge assess --topic "LLM post-training with DPO" --out assess_out/ \\
          --strong-model openai:gpt-4o --weak-model openai:gpt-4o-mini --judge-model openai:gpt-4o
      alignforge assess report assess_out/ --html assessment.html
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
