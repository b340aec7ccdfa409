"""``alignforge benchmarks``: the benchmark folder that decontamination reads by default."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS"]


@click.group()
def benchmarks() -> None:
    """The benchmark folder: $ALIGNFORGE_BENCHMARK_DIR, else ~/.cache/alignforge/benchmarks.

    `check --against`, `decontaminate`, `calculate_decontamination` and `validate_dpo_pairs`
    read benchmark files from there when no --benchmark-dir is given.

    \b
    Example:
      alignforge benchmarks import ../shared/benchmarks
      alignforge benchmarks list
    """


@benchmarks.command("import")
@click.argument("source", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--to",
    "dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Target folder (default: the benchmark folder above).",
)
def import_cmd(source: Path, dest: Path | None) -> None:
    """Copy the known benchmark files from SOURCE (laid out as SOURCE/<benchmark>/<file>).

    Every file is loaded first; nothing is copied unless all load. Each lands by an atomic rename.

    \b
    Example:
      alignforge benchmarks import ../shared/benchmarks
    """
    from alignforge.curate import import_benchmarks, resolve_benchmark_dir

    done = import_benchmarks(source, dest=dest)
    for d in done:
        click.echo(f"{d['benchmark']:<11} {d['file']:<28} {d['items']:>6,} items -> {d['path']}")
    names = sorted({d["benchmark"] for d in done})
    click.echo(f"imported {len(done)} files ({', '.join(names)}) into {resolve_benchmark_dir(dest)}")


@benchmarks.command("list")
@click.option(
    "--benchmark-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to look in (default: the benchmark folder above).",
)
def list_cmd(benchmark_dir: Path | None) -> None:
    """Show each known benchmark and where it would be read from.

    \b
    Example:
      alignforge benchmarks list
    """
    import os

    from alignforge.curate import benchmark_table, resolve_benchmark_dir

    root = resolve_benchmark_dir(benchmark_dir)
    origin = (
        "--benchmark-dir"
        if benchmark_dir is not None
        else "ALIGNFORGE_BENCHMARK_DIR"
        if os.environ.get("ALIGNFORGE_BENCHMARK_DIR")
        else "default cache"
    )
    click.echo(f"benchmark folder: {root} ({origin})")
    default_set = []
    for row in benchmark_table(benchmark_dir):
        mark = "*" if row["default"] else " "
        where = row["where"] or f"missing (looked for {root / row['benchmark'] / row['files'][0]})"
        click.echo(f"{mark} {row['benchmark']:<11} {where}")
        if row["default"] and row["in_folder"]:
            default_set.append(row["benchmark"])
    click.echo(
        "* = in the default set. Scanned by default (validate_dpo_pairs, enforce_gates): "
        + (", ".join(default_set) or "none: run `alignforge benchmarks import DIR`")
    )


COMMANDS = [benchmarks]
