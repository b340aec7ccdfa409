"""``alignforge check``, ``alignforge gates``, ``alignforge split``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["COMMANDS"]


FILE = click.Path(dir_okay=False, path_type=Path)
DIR = click.Path(file_okay=False, path_type=Path)


@click.command()
@click.argument("data", type=FILE)
@click.option(
    "--kind",
    type=click.Choice(["sft", "dpo", "kto", "grpo", "rlvr"]),
    help="Record kind (detected when omitted).",
)
@click.option("--gates", "gates_path", type=FILE, help="Gates YAML (default: `gates init`).")
@click.option("--stage", help="Gates stage to apply (default: the kind's data stage, e.g. preference_data).")
@click.option("--json", "json_out", type=FILE, help="Write every figure as JSON.")
@click.option("--html", "html_out", type=FILE, help="Write a self-contained HTML report.")
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="skip: keep going past invalid lines, writing them with reasons to a side file.",
)
@click.option("--side-file", type=FILE, help="Where skipped lines go (default DATA.errors.jsonl).")
@click.option(
    "--keep-passing",
    type=FILE,
    help="Write only the rows that pass every row-level gate (the others, with their reasons, to OUT.dropped.jsonl).",
)
@click.option(
    "--failing-rows",
    type=DIR,
    help="Write each row-level gate's failing rows to DIR/<gate>.jsonl (line, gate, row).",
)
@click.option(
    "--against",
    default=None,
    help="Measure decontamination: scan the rows against these benchmarks (comma-separated names or "
    "JSONL paths), as `decontaminate` does. Overrides the gates file's `decontamination:` entry.",
)
@click.option(
    "--benchmark-dir",
    type=DIR,
    default=None,
    help="Benchmark files for --against (default: $ALIGNFORGE_BENCHMARK_DIR, else ~/.cache/alignforge/benchmarks).",
)
@click.option(
    "--decontam-report",
    type=FILE,
    help="A report from `alignforge decontaminate DATA --report R`; refused unless it records DATA's sha256.",
)
@click.option("--verdicts", type=FILE, help="RLVR: verdicts of reference solutions, for verifiability.")
@click.option(
    "--tokenizer",
    help="SFT: render every conversation through this tokenizer's chat template ('embedded' or a path).",
)
@click.option(
    "--score-scale",
    type=click.Choice(["0-10", "0-1"]),
    help="SFT: the scale of rows' score when a row does not say (default 0-10, the judge's).",
)
@click.option(
    "--review",
    is_flag=True,
    help="Add the manual review's figures (alignforge review DATA; gate review_disagreement <= 0.05).",
)
@click.option("--quiet", is_flag=True, help="Print only the verdict line.")
def check(data, gates_path, stage, quiet, **opts):
    """Measure a dataset and hold it to quality gates. Exit 0: all pass; 1: a gate fails; 2: invalid input.

    \b
    Examples:
      alignforge check pairs.jsonl
      alignforge check pairs.jsonl --gates gates.yaml --html report.html --json metrics.json
      alignforge check pairs.jsonl --on-error skip --keep-passing clean.jsonl
      alignforge check pairs.jsonl --failing-rows failing/      # failing/chosen_score.jsonl, ...
      alignforge check pairs.jsonl --against gsm8k,humaneval,mbpp,math500,truthfulqa

    The file is read once: the figures, the gates' verdicts and the --keep-passing / --failing-rows
    files all come from the same pass. The decontamination gate reads a measured figure only:
    --against (or a `decontamination:` entry in the gates file) scans the rows; --decontam-report
    takes a report bound to this file. Rows' own `contaminated` flags are shown as
    decontamination_claimed and gate nothing.
    """
    from alignforge.quality.check_stage import CheckStage, run_check
    from alignforge.quality.gates import load_gates

    if opts["against"] and opts["decontam_report"]:
        raise click.UsageError(
            "give --against (scan the file) or --decontam-report (a report for it), not both"
        )
    if (
        opts["benchmark_dir"] is not None
        and not opts["against"]
        and "decontamination" not in load_gates(gates_path)
    ):
        raise click.UsageError(
            "--benchmark-dir is where --against finds benchmarks: add --against (or a decontamination: entry)"
        )
    summary, result = run_check(CheckStage(data, gates=gates_path, gates_stage=stage, **opts))
    if quiet:
        click.echo(f"{'PASS' if result.passed else 'FAIL'} {data}: {len(result.failed_gates)} gate(s) failed")
    else:
        from alignforge.quality.report import print_report

        print_report(result)
    if opts["keep_passing"] or opts["failing_rows"]:
        click.echo("\n".join(summary.lines()))
    sys.exit(0 if result.passed else 1)


@click.group()
def gates():
    """Quality gate files.

    \b
    Example:
      alignforge gates init > gates.yaml
    """


@gates.command("init")
def gates_init():
    """Print the default gates (the seeds' thresholds, with units and scales) as commented YAML.

    It ends with a commented `decontamination:` entry naming the benchmarks found in the benchmark
    folder; uncommented, it makes `check` measure decontamination on every file.
    """
    from alignforge.curate import available_benchmarks, default_benchmark_dir
    from alignforge.quality.gates import gates_init_yaml

    click.echo(gates_init_yaml(available_benchmarks(), str(default_benchmark_dir())), nl=False)


@gates.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def gates_validate(path):
    """Check a gates file: unknown stages, keys and bounds are errors.

    \b
    Example:
      alignforge gates validate gates.yaml
    """
    from alignforge.quality.gates import load_gates

    cfg = load_gates(path)
    stages = [s for s in cfg if s not in ("version", "decontamination")]
    click.echo(f"{path}: valid ({len(stages)} stages: {', '.join(stages)})")


@click.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Default: DATA's folder.",
)
@click.option(
    "--validation",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="Validation share (0.1 = 90/10, 0.2 = 80/20).",
)
@click.option("--seed", type=int, default=0, show_default=True)
def split(data, out_dir, validation, seed):
    """Split by prompt into train and validation files, so no prompt crosses the split.

    \b
    Example:
      alignforge split pairs.jsonl --validation 0.2      # pairs_train.jsonl, pairs_val.jsonl
    """
    from alignforge.quality.split import SplitStage
    from alignforge.stages import run_stage

    summary = run_stage(SplitStage(data, out_dir or data.parent, validation=validation, seed=seed))
    click.echo("\n".join(summary.lines()))


COMMANDS = [check, gates, split]
