"""``alignforge review``: the manual review page, and ``alignforge review report``."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

__all__ = ["COMMANDS"]


class _ReviewGroup(click.Group):
    """``review DATA ...`` serves the page; ``review report DATA`` is the subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ReviewGroup)
def review():
    """Review a sample of a data file by hand (the seeds' 5-10 %) and measure agreement with the machine.

    \b
    Examples:
      alignforge review pairs.jsonl --sample 0.05            # prints http://127.0.0.1:8765/?token=...
      alignforge review pairs.jsonl --reviewer bob           # a second reviewer, same sample
      alignforge review report pairs.jsonl --json
    """


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without passwd)
        return "reviewer"


@review.command("serve")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--sample",
    "fraction",
    type=click.FloatRange(0, 1, min_open=True),
    help="Share of the file to review, e.g. 0.05 (needed the first time; later runs continue the stored sample).",
)
@click.option("--seed", type=int, help="Sampling seed (default 0).")
@click.option(
    "--by", help="Stratify by these comma-separated fields (default per kind, e.g. strategy,flaw_type,band)."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind; anything but loopback warns."
)
@click.option("--reviewer", default=_default_reviewer, help="Your name (default: the login name).")
@click.option("--tasks", type=click.Path(exists=True, dir_okay=False), help="Verdict files: the task JSONL.")
@click.option(
    "--completions",
    type=click.Path(exists=True, dir_okay=False),
    help="Verdict files: the completions JSONL.",
)
@click.option(
    "--benchmark-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Decontamination reports: where the benchmarks lie (for the benchmark side of each match).",
)
def serve(data, fraction, seed, by, port, host, reviewer, tasks, completions, benchmark_dir):
    """Serve the review page for DATA (DPO / KTO / SFT / verdict JSONL, or a decontamination report .json).

    \b
    Keys: a agree, d disagree, u unsure (each moves on), n note, arrows move.
    Verdicts go to DATA.review.sqlite as they are given; rerun the command to continue.
    \b
    Example:
      alignforge review pairs.jsonl --sample 0.05 --port 8765 --reviewer alice
    """
    from alignforge.review.server import REVIEWER_RE, is_loopback, make_server
    from alignforge.review.store import open_review

    if not REVIEWER_RE.match(reviewer):
        raise click.BadParameter("1-64 letters, digits, space, _ . @ -", param_hint="--reviewer")
    fields = [f.strip() for f in by.split(",") if f.strip()] if by else None
    store = open_review(
        data,
        fraction,
        seed=seed,
        by=fields,
        tasks=tasks,
        completions=completions,
        benchmark_dir=benchmark_dir,
    )
    try:
        if not is_loopback(host):
            click.echo(
                f"warning: serving on {host}: anyone who can reach this port and learns the token can read "
                "the data and record verdicts",
                err=True,
            )
        server = make_server(store, host=host, port=port, reviewer=reviewer)
        done, nxt = store.progress(reviewer)
        total = store.size()
        meta = store.meta
        click.echo(
            f"review of {data}: {total} items ({meta['kind']}, {100 * total / meta['rows']:.1f}% of "
            f"{meta['rows']:,} rows, seed {meta['seed']}); {reviewer} has reviewed {done}"
        )
        if total > 1.5 * meta["fraction"] * meta["rows"] + 1:
            click.echo(
                f"note: more than the {100 * meta['fraction']:g}% asked, because every stratum gets at least one "
                "item; stratify by fewer fields (--by) for a smaller sample",
                err=True,
            )
        click.echo(f"verdicts are saved to {store.path} as they are given; Ctrl-C stops")
        click.echo(f"open {server.url}", nl=True)
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped; every verdict given is saved", err=True)
        finally:
            server.server_close()
    finally:
        store.close()


@review.command("report")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON instead of the table.")
@click.option("--reviewer", help="Only this reviewer's verdicts (default: all, by majority per item).")
@click.option(
    "--max-disagreement",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="The gate review_disagreement <= this.",
)
def report(data, as_json, reviewer, max_disagreement):
    """Disagreement with the judge / verifier / decontaminator per stratum. Exit 0: gate passes; 1: it fails.

    \b
    Example:
      alignforge review report pairs.jsonl
      alignforge review report pairs.jsonl --json > review.json
    """
    import orjson

    from alignforge.review.report import format_report, review_report

    rep = review_report(data, reviewer=reviewer, max_disagreement=max_disagreement)
    click.echo(orjson.dumps(rep, option=orjson.OPT_INDENT_2).decode() if as_json else format_report(rep))
    sys.exit(0 if rep["passed"] else 1)


COMMANDS = [review]
