"""Terminal report: a figures table and a gates table a person reads at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignforge.quality.check import CheckResult
    from alignforge.quality.gates import GateResult

__all__ = ["print_report", "print_gates", "fmt", "KEY_FIGURES"]

KEY_FIGURES = {
    "dpo": [
        "total_pairs",
        "unique_prompts",
        "scored_pairs",
        "avg_chosen",
        "avg_rejected",
        "avg_gap",
        "share_chosen_ge_min",
        "share_rejected_le_max",
        "share_gap_ge_min",
        "share_meeting_all",
        "identical_pairs",
        "duplicate_pairs",
        "conflicting_prompts",
        "length_ratio",
        "share_chosen_longer",
        "flaw_mix_max_deviation",
        "decontamination",
    ],
    "sft": [
        "rows",
        "messages_valid_share",
        "invalid_conversations",
        "render_failures",
        "avg_conversation_chars",
        "score_coverage",
        "share_score_ge_min",
        "score_scale_warning",
        "decontamination",
    ],
    "kto": ["rows", "positive_share", "avg_completion_chars", "decontamination"],
    "grpo": ["rows", "prompt_only_share", "reward_spec_share", "decontamination"],
    "rlvr": [
        "tasks",
        "avg_tests_per_task",
        "share_tests_in_range",
        "entry_point_named_share",
        "entry_point_hidden_tasks",
        "duplicate_task_ids",
        "domain_mix_max_deviation",
        "verifiability",
        "decontamination",
    ],
}
_STYLE = {"pass": "green", "fail": "bold red", "flag": "yellow", "not measured": "bold red"}
_ICON = {"pass": "PASS", "fail": "FAIL", "flag": "FLAG", "not measured": "MISSING"}


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def print_gates(results: list[GateResult], *, title: str = "Quality gates", console: Any = None) -> None:
    from rich.table import Table

    console = console or _console()
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in ("", "gate", "value", "bound", "unit / rows"):
        table.add_column(col)
    for g in results:
        detail = g.unit
        if g.level == "row" and g.rows_failing:
            lines = ", ".join(map(str, (g.first_lines or [])[:8]))
            detail = f"{g.rows_failing:,} rows fail; first lines {lines}"
        elif g.note:
            detail = f"{g.unit} ({g.note})" if g.unit else g.note
        name = f"{g.name} (per row)" if g.level == "row" else g.name
        table.add_row(
            f"[{_STYLE[g.status]}]{_ICON[g.status]}[/]",
            name,
            fmt(g.value),
            g.bound,
            detail,
        )
    console.print(table)


def print_report(result: CheckResult, *, console: Any = None) -> None:
    from rich.table import Table

    console = console or _console()
    figs = result.figures
    console.print(
        f"[bold]{result.path}[/]  kind [cyan]{result.kind}[/] ({result.shape})  "
        f"rows {fmt(figs.get('rows'))}  stage [cyan]{result.stage}[/]"
    )
    if result.read.skipped:
        reasons = "; ".join(
            f"{n}× {r}" for r, n in sorted(result.read.reasons.items(), key=lambda kv: -kv[1])[:5]
        )
        console.print(
            f"[yellow]{result.read.skipped:,} invalid lines skipped[/] ({reasons}) -> {result.read.side_file}"
        )
    from rich.markup import escape

    for warning in figs.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    table = Table(title="Figures", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name in KEY_FIGURES.get(result.kind, []):
        if name in figs:
            table.add_row(name, fmt(figs[name]))
    for mix_name, target_name in (("flaw_mix", "flaw_mix_target"), ("domain_mix", "domain_mix_target")):
        if figs.get(mix_name):
            target = figs.get(target_name, {})
            parts = [f"{k} {v:.0%} (target {target.get(k, 0):.0%})" for k, v in figs[mix_name].items()]
            table.add_row(mix_name, "; ".join(parts))
    if figs.get("verifiability_by_domain"):
        target = figs.get("verifiability_target_by_domain") or {}
        parts = [
            f"{k} {v:.0%}" + (f" (target {target[k]:.0%})" if k in target else " (no target)")
            for k, v in figs["verifiability_by_domain"].items()
        ]
        table.add_row("verifiability_by_domain", "; ".join(parts))
    if figs.get("strategy_mix"):
        table.add_row("strategy_mix", "; ".join(f"{k} {v:.0%}" for k, v in figs["strategy_mix"].items()))
    for bench, info in (figs.get("per_benchmark") or {}).items():
        table.add_row(
            f"overlap {bench}", f"{info.get('overlapped_items', 0)} items ({info.get('share', 0):.1%})"
        )
    console.print(table)
    print_gates(result.gates, console=console)
    failed = result.failed_gates
    if failed:
        console.print(f"[bold red]{len(failed)} gate(s) failed[/]: " + ", ".join(g.name for g in failed))
    else:
        console.print("[bold green]all gates pass[/]")
