"""``alignforge generate dpo|sft|kto|grpo|rlvr``: parse options, call :mod:`alignforge.generate`, print."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = ["COMMANDS", "backend_options", "exit_if_nothing_made"]

_Opt = Callable[[Callable[..., Any]], Callable[..., Any]]


def _apply(opts: list[_Opt]) -> _Opt:
    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(opts):
            f = opt(f)
        return f

    return deco


def _kv(flag: str, dest: str, help: str) -> _Opt:
    return click.option(flag, dest, multiple=True, metavar="KEY=VALUE", help=help)


def _off(flag: str, dest: str, help: str) -> _Opt:
    """``--no-x`` that sets ``dest`` to False (True when not given)."""
    return click.option(
        flag, dest, is_flag=True, flag_value=False, default=True, show_default=False, help=help
    )


_FILE = click.Path(dir_okay=False)
_STRATEGIES = ["flaw", "strong-weak", "reference", "temperature", "best-of-n"]
_OUT = click.option("--out", "output_file", required=True, type=_FILE)

# Options every LLM-backed generator shares.
_LLM_OPTIONS = _apply(
    [
        click.option("--model", default="local", help="LLM: local, openai:<model>, anthropic:<model>."),
        _kv(
            "--option",
            "llm_options",
            "Backend option for --model, repeatable; values are YAML "
            "(--option base_url=http://127.0.0.1:8000/v1 --option price=[2.5,10] --option concurrency=8).",
        ),
        click.option("--judge-model", default=None, help="Judge LLM (default: --model)."),
        _kv("--judge-option", "judge_options", "Backend option for --judge-model, repeatable."),
        click.option("--max-tokens", default=256, type=click.IntRange(8)),
        click.option("--judge-max-tokens", default=96, type=click.IntRange(8)),
        click.option("--batch-size", default=8, type=click.IntRange(1)),
        click.option("--max-cost", type=click.FloatRange(0), help="Stop before spending more (USD)."),
        click.option("--cache", default="auto", help="SQLite request cache ('auto': beside --out; 'none')."),
        click.option("--dry-run", is_flag=True, help="Print the requests and cost estimate; call nothing."),
        _off("--no-progress", "progress", "No progress bar."),
    ]
)


def backend_options(items: tuple[str, ...], flag: str) -> dict[str, Any] | None:
    """``--option KEY=VALUE`` pairs as a dict (values read as YAML); the backend refuses unknown keys."""
    from alignforge.llm import parse_cli_options

    return parse_cli_options(items, flag=flag) or None


_KV_FLAGS = {"llm_options": "--option", "judge_options": "--judge-option", "weak_options": "--weak-option"}


def _llm_args(kw: dict[str, Any]) -> dict[str, Any]:
    """The library's keyword arguments from the shared options: backend options as dicts, no cache."""
    for dest, flag in _KV_FLAGS.items():
        if dest in kw:
            kw[dest] = backend_options(kw[dest], flag)
    if kw.get("cache") == "none":
        kw["cache"] = None
    return kw


def _print(summary: Any) -> None:
    for line in summary.lines():
        click.echo(line)
    exit_if_nothing_made(summary)


def exit_if_nothing_made(summary: Any) -> None:
    """Exit 4 when rows failed and the run made nothing (no request answered, or no row written or
    dropped). Some rows failed beside rows written is a normal run: exit 0, the next run retries them."""
    if summary.failed and not (summary.requests and summary.written + summary.dropped):
        what = "every request failed" if not summary.requests else "every row it tried failed"
        click.echo(
            f"error: {summary.stage}: nothing was made, {what} ({summary.failed} rows; the errors are "
            f"in {summary.outputs.get('failures')}); fix the cause and run the same command again",
            err=True,
        )
        raise SystemExit(4)


@click.group("generate", context_settings={"show_default": True})
def generate_group() -> None:
    """Generate SFT, DPO, KTO, GRPO and RLVR data (resumable: rerun the same command after a kill).

    \b
    Example:
      alignforge generate dpo --prompts examples/prompts.jsonl --out pairs.jsonl --n 20 --strategy flaw
      alignforge generate rlvr --domain math --n 100 --out math_tasks.jsonl
    """


@generate_group.command("dpo")
@click.option("--prompts", "input_file", required=True, type=_FILE, help="Prompts JSONL, or an SFT file.")
@_OUT
@click.option("--n", type=click.IntRange(1), help="Pairs that must pass the gates (default: one per prompt).")
@click.option("--strategy", default="flaw", type=click.Choice(_STRATEGIES))
@click.option("--weak-model", default=None, help="strong-weak: the model for the rejected side.")
@_kv("--weak-option", "weak_options", "Backend option for --weak-model, repeatable.")
@click.option("--chosen-threshold", default=9.0, type=float)
@click.option("--rejected-threshold", default=6.0, type=float)
@click.option("--gap-threshold", default=3.0, type=float)
@click.option(
    "--flaw-mix",
    default=None,
    help="flaw: e.g. 'oversimplified=25,risky_advice=20,incomplete=20,hallucinated=15,irrelevant=10,overconfident=10'.",
)
@_off("--no-flaw-check", "confirm_flaws", "flaw: skip the judge's confirmation of the planned flaw.")
@click.option("--max-candidates", type=click.IntRange(1), help="Stop after this many candidates.")
@click.option("--max-rounds", default=3, type=click.IntRange(1), help="Tries per prompt.")
@click.option("--best-of", default=4, type=click.IntRange(2), help="best-of-n: samples per prompt.")
@click.option("--keep-all", is_flag=True, help="Write pairs that fail the gates to --out too (marked).")
@_LLM_OPTIONS
def dpo_cmd(**kw: Any) -> None:
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

    _print(generate_dpo_pairs(**_llm_args(kw)))


@generate_group.command("sft")
@click.option("--taxonomy", type=_FILE, help="YAML taxonomy: domain, topics, tasks.")
@click.option("--prompts", type=_FILE, help="Or a JSONL of prompts to answer.")
@_OUT
@click.option("--min-score", default=0.80, type=click.FloatRange(0, 1), help="Keep judge score / 10 >= this.")
@click.option("--limit", type=click.IntRange(1), help="Use only the first N inputs.")
@_LLM_OPTIONS
def sft_cmd(**kw: Any) -> None:
    """SFT rows: inputs from a taxonomy (or prompts), one strong answer each, judge filter >= 0.80.

    \b
    Example:
      alignforge generate sft --taxonomy examples/taxonomy.yaml --out sft.jsonl --model openai:gpt-4o
    """
    from alignforge.generate import generate_sft_data

    _print(generate_sft_data(**_llm_args(kw)))


@generate_group.command("kto")
@click.option("--prompts", "input_file", required=True, type=_FILE)
@_OUT
@click.option("--threshold", default=7.0, type=float, help="label = judge score (0-10) >= this.")
@click.option("--per-prompt", default=2, type=click.IntRange(1), help="Answers per prompt.")
@click.option("--positive-share", default="0.60-0.70", help="Band the positive share is held in.")
@click.option("--limit", type=click.IntRange(1), help="Use only the first N prompts.")
@_LLM_OPTIONS
def kto_cmd(positive_share: str, **kw: Any) -> None:
    """KTO rows labelled by the rubric, positive share held at 60-70 %.

    \b
    Example:
      alignforge generate kto --prompts examples/prompts.jsonl --out kto.jsonl --per-prompt 2
    """
    from alignforge.generate import generate_kto_data, parse_share_band

    lo, hi = parse_share_band(positive_share)
    _print(generate_kto_data(**_llm_args(kw), min_positive=lo, max_positive=hi))


@generate_group.command("grpo")
@click.option("--prompts", "input_file", required=True, type=_FILE, help="Prompts, RLVR tasks or SFT rows.")
@_OUT
@click.option(
    "--reward",
    default="auto",
    type=click.Choice(["auto", "math", "tests", "judge"]),
    help="Reward spec to attach (auto: tests if the row has tests, math if it has an answer, else judge).",
)
def grpo_cmd(input_file: str, output_file: str, reward: str) -> None:
    """GRPO prompt-only rows carrying the spec of their reward (no LLM needed).

    \b
    Example:
      alignforge generate grpo --prompts math_tasks.jsonl --out grpo.jsonl
    """
    from alignforge.generate import generate_grpo_data

    _print(generate_grpo_data(input_file, output_file, reward=reward))


@generate_group.command("rlvr")
@click.option("--domain", type=click.Choice(["math", "code", "finance", "general"]), help="[default: math]")
@click.option(
    "--mix", default=None, help="Instead of --domain: math/code/finance/general shares, e.g. 40/30/20/10."
)
@_OUT
@click.option(
    "--input", "input_file", type=_FILE, help="Generator specs or tasks to check (default: built-in)."
)
@click.option(
    "--verification-type",
    default=None,
    help="math: math|exact; code: tests; general: short_answer|choice (default by domain; general: both).",
)
@click.option("--n", default=100, type=click.IntRange(1), help="Tasks without --input.")
@click.option("--seed", default=0, type=int)
def rlvr_cmd(**kw: Any) -> None:
    """RLVR tasks whose reference is checked: math, code (3-5 tests in the sandbox), finance, general.

    \b
    Example:
      alignforge generate rlvr --domain math --n 200 --out math_tasks.jsonl
      alignforge generate rlvr --domain finance --n 50 --out finance_tasks.jsonl
      alignforge generate rlvr --mix 40/30/20/10 --n 1000 --out rlvr_tasks.jsonl
    """
    from alignforge.generate import generate_rlvr_data

    _print(generate_rlvr_data(**kw))


COMMANDS = [generate_group]
