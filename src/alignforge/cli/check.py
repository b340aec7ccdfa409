"""``alignforge check``, ``alignforge gates``, ``alignforge split``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["COMMANDS"]


@click.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["sft", "dpo", "kto", "grpo", "rlvr"]),
    help="Record kind (detected when omitted).",
)
@click.option(
    "--gates",
    "gates_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gates YAML (default: `gates init`).",
)
@click.option("--stage", help="Gates stage to apply (default: the kind's data stage, e.g. preference_data).")
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write every figure as JSON."
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML report.",
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="skip: keep going past invalid lines, writing them with reasons to a side file.",
)
@click.option(
    "--side-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where skipped lines go (default DATA.errors.jsonl).",
)
@click.option(
    "--keep-passing",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write only the rows that pass every row-level gate.",
)
@click.option(
    "--failing-rows",
    type=click.Path(file_okay=False, path_type=Path),
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
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Benchmark files for --against (default: $ALIGNFORGE_BENCHMARK_DIR, else ~/.cache/alignforge/benchmarks).",
)
@click.option(
    "--decontam-report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A report from `alignforge decontaminate DATA --report R`; refused unless it records DATA's sha256.",
)
@click.option(
    "--verdicts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="RLVR: verdicts of reference solutions, for verifiability.",
)
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
def check(
    data,
    kind,
    gates_path,
    stage,
    json_out,
    html_out,
    on_error,
    side_file,
    keep_passing,
    failing_rows,
    against,
    benchmark_dir,
    decontam_report,
    verdicts,
    tokenizer,
    score_scale,
    review,
    quiet,
):
    """Measure a dataset and hold it to quality gates. Exit 0: all pass; 1: a gate fails; 2: invalid input.

    \b
    Examples:
      alignforge check pairs.jsonl
      alignforge check pairs.jsonl --gates gates.yaml --html report.html --json metrics.json
      alignforge check pairs.jsonl --on-error skip --keep-passing clean.jsonl
      alignforge check pairs.jsonl --failing-rows failing/      # failing/chosen_score.jsonl, ...
      alignforge check pairs.jsonl --against gsm8k,humaneval,mbpp,math500,truthfulqa

    The decontamination gate reads a measured figure only: --against (or a `decontamination:`
    entry in the gates file) scans the rows; --decontam-report takes a report bound to this file.
    Rows' own `contaminated` flags are shown as decontamination_claimed and gate nothing.
    """
    import orjson

    from alignforge.quality import check_file
    from alignforge.quality import keep_passing as write_passing
    from alignforge.quality.gates import load_gates, row_rules

    tok = None
    if tokenizer:
        from alignforge._deps import require

        transformers = require("transformers", extra="local")
        if tokenizer == "embedded":
            from alignforge.models import embedded_checkpoint

            tokenizer = str(embedded_checkpoint())
        tok = transformers.AutoTokenizer.from_pretrained(tokenizer)
    gates = load_gates(gates_path)
    if against and decontam_report:
        raise click.UsageError(
            "give --against (scan the file) or --decontam-report (a report for it), not both"
        )
    if benchmark_dir is not None and not against and "decontamination" not in gates:
        raise click.UsageError(
            "--benchmark-dir is where --against finds benchmarks: add --against (or a decontamination: entry)"
        )
    result = check_file(
        data,
        kind=kind,
        gates=gates,
        stage=stage,
        on_error=on_error,
        side_file=side_file,
        decontam_report=decontam_report,
        against=against,
        benchmark_dir=benchmark_dir,
        verdicts=verdicts,
        tokenizer=tok,
        score_scale=score_scale,
        review=review,
    )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_bytes(
            orjson.dumps(
                result.as_dict(),
                option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
            )
        )
    if html_out:
        from alignforge.quality.html import render_html

        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render_html(result), encoding="utf-8")
    if quiet:
        click.echo(f"{'PASS' if result.passed else 'FAIL'} {data}: {len(result.failed_gates)} gate(s) failed")
    else:
        from alignforge.quality.report import print_report

        print_report(result)
    if keep_passing or failing_rows:
        from alignforge.quality.check import compute_figures

        rules = row_rules(gates, result.stage)
        _, _, acc = compute_figures(data, kind=result.kind, rules=rules, on_error="skip")
        try:
            kept, dropped = write_passing(
                data,
                keep_passing,
                kind=result.kind,
                rules=rules,
                excluded_by=acc.excluded_by,
                failing_dir=failing_rows,
            )
        finally:
            acc.cleanup()
        if keep_passing:
            click.echo(
                f"kept {kept:,} rows passing every row-level gate -> {keep_passing} ({dropped:,} dropped)"
            )
        if failing_rows:
            click.echo(f"{dropped:,} rows failing a row-level gate -> {failing_rows}/<gate>.jsonl")
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
    from alignforge.curate.benchmarks import available_benchmarks, default_benchmark_dir
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
    from alignforge.quality import split_file

    info = split_file(data, out_dir or data.parent, validation=validation, seed=seed)
    click.echo(
        f"train {info['train']:,} rows -> {info['train_file']}\nvalidation {info['validation']:,} rows -> {info['validation_file']}"
    )


COMMANDS = [check, gates, split]
