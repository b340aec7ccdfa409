"""The ``alignforge`` command line: one module per command group, discovered at start-up.

Each module in this package that defines ``COMMANDS`` (a list of click commands or
groups) contributes them. Modules must stay light at import time: heavy libraries
load inside the command functions.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import click

from alignforge import __version__

__all__ = ["main", "cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="alignforge")
@click.option("--debug", is_flag=True, envvar="ALIGNFORGE_DEBUG", help="Show tracebacks for known errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Post-training data you can trust: generate, judge, verify, curate, gate and train.

    \b
    Example:
      alignforge gates init > gates.yaml
      alignforge check pairs.jsonl --gates gates.yaml --html report.html --json metrics.json
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    pkg = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: known errors print one line (tracebacks with --debug) and exit 2; a bug exits 3."""
    from alignforge._deps import MissingDependency
    from alignforge.errors import AlignforgeError
    from alignforge.io import DataError

    rv: object = None
    debug = "--debug" in (argv if argv is not None else sys.argv) or bool(os.environ.get("ALIGNFORGE_DEBUG"))
    try:
        rv = cli.main(args=argv, prog_name="alignforge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except (DataError, AlignforgeError, MissingDependency) as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        click.echo("interrupted: finished work is saved; run the same command again to resume", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug, not bad input or a failed gate: its own exit code, so CI can tell
        if debug:
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
        )
        sys.exit(3)
    if isinstance(rv, int):
        sys.exit(rv)
