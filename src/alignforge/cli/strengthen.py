"""``alignforge strengthen``: new tests per code task (``plus_tests``), chosen to kill surviving mutants."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]


@click.command("strengthen")
@click.argument("tasks", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Strengthened tasks (JSONL).")
@click.option(
    "--max-tests", default=10, show_default=True, type=click.IntRange(1), help="New tests per task, at most."
)
@click.option(
    "--extra",
    default=3,
    show_default=True,
    type=click.IntRange(0),
    help="Tests beyond the set cover, at most.",
)
@click.option(
    "--candidates", default=100, show_default=True, type=click.IntRange(1), help="Inputs tried per task."
)
@click.option(
    "--rounds",
    default=3,
    show_default=True,
    type=click.IntRange(1),
    help="Rounds of mutation, at most (another only while an original-test survivor is killed by no input).",
)
@click.option(
    "--llm",
    "llm_spec",
    help="Also ask this LLM for inputs (off by default): local, openai:<model>, anthropic:<model>.",
)
@click.option(
    "--cache",
    default="auto",
    show_default=True,
    help="SQLite request cache of --llm ('auto': beside --out; 'none').",
)
@click.option("--workers", type=click.IntRange(1), help="Sandbox workers.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the input mutation.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Per-task report (JSON).")
@click.option("--quiet", is_flag=True, help="Only the totals, not one line per task.")
def strengthen_cmd(
    tasks: str,
    out: str,
    max_tests: int,
    extra: int,
    candidates: int,
    rounds: int,
    llm_spec: str | None,
    cache: str,
    workers: int | None,
    seed: int,
    report_path: str | None,
    quiet: bool,
) -> None:
    """Add tests to each HumanEval- or MBPP-style task, in a field of their own (``plus_tests``).

    Inputs are mutated from the tests' own, kept only when they meet the contract inferred from
    those and the reference answers them the same way twice (two hash secrets, CPU-time limits);
    the reference's answers become the expected values, and set cover keeps the few tests that kill
    the mutants the original tests let survive. Prints the mutant kill rate before and after, raw and
    over the mutants not shown equivalent (same answers on a differential input set and a syntactic
    rule), and why each survivor survives.

    \b
    Example:
      alignforge strengthen data/rlvr/humaneval_full.jsonl --out humaneval_plus.jsonl --workers 2
      alignforge strengthen mbpp.jsonl --out mbpp_plus.jsonl --llm openai:gpt-4o-mini
    """
    import json
    from pathlib import Path

    from alignforge.io import write_jsonl
    from alignforge.verify.strengthen import format_totals, strengthen_tasks

    if report_path:  # as --out does; before the run, so a folder that cannot be made loses no work
        try:
            Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.BadParameter(f"cannot make its folder: {exc}", param_hint="--report") from None
    llm = None
    if llm_spec:
        from alignforge.llm import resolve_llm

        cache_path = f"{Path(out).with_suffix('')}.cache.sqlite" if cache == "auto" else cache
        llm = resolve_llm(llm_spec, cache=None if cache == "none" else cache_path)

    rows, reports = strengthen_tasks(
        tasks,
        max_tests=max_tests,
        extra=extra,
        candidates=candidates,
        rounds=rounds,
        seed=seed,
        workers=workers,
        llm=llm,
    )
    write_jsonl(out, rows)
    if not quiet:
        for r in reports:
            click.echo(r.line())
    for line in format_totals(reports):
        click.echo(line)
    click.echo(f"wrote {len(rows)} tasks to {out} (new tests in 'plus_tests')")
    if report_path:
        Path(report_path).write_text(json.dumps([r.as_dict() for r in reports], indent=1) + "\n")


COMMANDS = [strengthen_cmd]
