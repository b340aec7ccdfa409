"""A single self-contained HTML page: summary, gate table, and inline SVG plots (no scripts, no network)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from alignforge.quality.report import KEY_FIGURES, fmt

if TYPE_CHECKING:
    from alignforge.quality.check import CheckResult

__all__ = ["render_html", "bar_chart"]

CHOSEN, REJECTED, TARGET, NEUTRAL = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666} .cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:20px} .verdict{font-size:18px;font-weight:700;padding:8px 14px;border-radius:8px;display:inline-block}
.ok{background:#e8f5e9;color:#1b5e20} .bad{background:#ffebee;color:#b71c1c} .warn{background:#fff8e1;color:#8d6e00}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#fafafa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px} .chart{border:1px solid #eee;border-radius:8px;padding:8px}
.legend span{display:inline-block;margin-right:12px} .sw{display:inline-block;width:10px;height:10px;margin-right:4px}
"""


def bar_chart(
    categories: list[str],
    series: list[tuple[str, list[float], str]],
    *,
    title: str,
    y_label: str = "",
    markers: list[tuple[float, str]] | None = None,
    width: int = 520,
    height: int = 240,
) -> str:
    """Grouped vertical bars as inline SVG; ``markers`` are (category position, label) dashed lines."""
    left, right, top, bottom = 44, 10, 28, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, vals, _ in series for v in vals] + [1e-9])
    n = max(1, len(categories))
    group_w = plot_w / n
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="10" y="{top + plot_h / 2}" font-size="10" transform="rotate(-90 10 {top + plot_h / 2})">{escape(y_label)}</text>',
    ]
    for frac in (0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end">{fmt(peak * frac)}</text>')
    for s, (name, values, color) in enumerate(series):
        for i, v in enumerate(values):
            h = plot_h * v / peak
            x = left + i * group_w + group_w * 0.1 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}" '
                f'opacity="0.85"><title>{escape(name)} {escape(categories[i])}: {fmt(v)}</title></rect>'
            )
    step = max(1, n // 12)
    for i, cat in enumerate(categories):
        if i % step == 0:
            x = left + (i + 0.5) * group_w
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 12}" font-size="9" text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {top + plot_h + 12})">{escape(cat)}</text>'
            )
    for pos, label in markers or []:
        x = left + pos * group_w
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#333" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 3:.1f}" y="{top + 10}" font-size="10">{escape(label)}</text>')
    legend_y = height - 8
    x = left
    for name, _, color in series:
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}" font-size="11">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 18
    parts.append("</svg>")
    return "".join(parts)


def _hist(figs: dict[str, Any], name: str) -> tuple[list[str], list[float]] | None:
    h = (figs.get("histograms") or {}).get(name)
    if not h or not sum(h["counts"]):
        return None
    return [f"{b:g}" for b in h["bins"]], [float(c) for c in h["counts"]]


def _mix_chart(figs: dict[str, Any], mix: str, target: str, title: str) -> str | None:
    actual, goal = figs.get(mix) or {}, figs.get(target) or {}
    if not actual:
        return None
    cats = list(dict.fromkeys(list(goal) + list(actual)))
    return bar_chart(
        cats,
        [("actual", [actual.get(c, 0.0) for c in cats], NEUTRAL), ("target", [goal.get(c, 0.0) for c in cats], TARGET)],
        title=title, y_label="share",
    )


def _charts(result: CheckResult) -> list[str]:
    figs = result.figures
    charts: list[str] = []
    th = figs.get("thresholds", {})
    if result.kind == "dpo":
        c, r = _hist(figs, "chosen_score"), _hist(figs, "rejected_score")
        if c and r:
            markers = [(th.get("rejected_max", 6) / 0.5 + 1, "rejected ≤"), (th.get("chosen_min", 9) / 0.5, "chosen ≥")]
            charts.append(bar_chart(c[0], [("chosen", c[1], CHOSEN), ("rejected", r[1], REJECTED)],
                                    title="Judge scores (0–10): chosen vs rejected", y_label="pairs", markers=markers))
        g = _hist(figs, "score_gap")
        if g:
            charts.append(bar_chart(g[0], [("gap", g[1], NEUTRAL)], title="Score gap (chosen − rejected, 0–10 scale)",
                                    y_label="pairs", markers=[(th.get("gap_min", 3) + 10, "gap ≥")]))
        mix = _mix_chart(figs, "flaw_mix", "flaw_mix_target", "Flaw types: actual vs target mix")
        if mix:
            charts.append(mix)
        if figs.get("avg_chosen_chars") is not None:
            ratio = figs.get("length_ratio")
            charts.append(bar_chart(
                ["mean chars"], [("chosen", [figs["avg_chosen_chars"]], CHOSEN),
                                 ("rejected", [figs["avg_rejected_chars"]], REJECTED)],
                title=f"Length bias: chosen/rejected = {fmt(ratio)}; chosen longer in {fmt(figs.get('share_chosen_longer'))}",
                y_label="characters",
            ))
        if figs.get("strategy_mix"):
            sm = figs["strategy_mix"]
            charts.append(bar_chart(list(sm), [("share", list(sm.values()), NEUTRAL)], title="Pair strategies", y_label="share"))
    if result.kind == "rlvr":
        mix = _mix_chart(figs, "domain_mix", "domain_mix_target", "Domains: actual vs target mix")
        if mix:
            charts.append(mix)
        hist = figs.get("tests_per_task_histogram") or {}
        if hist:
            charts.append(bar_chart([str(k) for k in hist], [("tasks", [float(v) for v in hist.values()], NEUTRAL)],
                                    title="Tests per task (target 3–5)", y_label="tasks"))
    if result.kind == "kto" and figs.get("label_counts"):
        lc = figs["label_counts"]
        charts.append(bar_chart(["desirable", "undesirable"], [("rows", [lc["true"], lc["false"]], NEUTRAL)],
                                title=f"Labels: positive share {fmt(figs.get('positive_share'))} (target 0.60–0.70)"))
    for key in ("conversation_chars_log2_histogram", "completion_chars_log2_histogram"):
        h = figs.get(key)
        if h and sum(h["counts"]):
            last = max(i for i, c in enumerate(h["counts"]) if c)
            charts.append(bar_chart([f"<{b * 2 or 1}" for b in h["bins"][: last + 1]],
                                    [("rows", [float(c) for c in h["counts"][: last + 1]], NEUTRAL)],
                                    title="Lengths (characters, power-of-two bins)", y_label="rows"))
    return charts


def _gate_rows(result: CheckResult) -> str:
    rows = []
    for g in result.gates:
        cls = {"pass": "ok", "flag": "warn"}.get(g.status, "bad")
        detail = escape(g.unit)
        if g.level == "row" and g.rows_failing:
            detail = f"{g.rows_failing:,} rows fail; first lines {escape(', '.join(map(str, g.first_lines or [])))}"
        elif g.note:
            detail += f" <i>({escape(g.note)})</i>"
        name = escape(g.name) + (" <span class=sub>(per row)</span>" if g.level == "row" else "")
        rows.append(
            f'<tr class="gate {cls}" data-status="{escape(g.status)}"><td>{escape(g.status.upper())}</td><td>{name}</td>'
            f'<td class=num>{escape(fmt(g.value))}</td><td>{escape(g.bound)}</td><td>{detail}</td></tr>'
        )
    return "".join(rows)


def render_html(result: CheckResult) -> str:
    figs = result.figures
    failed = result.failed_gates
    verdict = (
        '<span class="verdict ok">All gates pass</span>' if not failed
        else f'<span class="verdict bad">{len(failed)} of {len(result.gates)} gates fail</span>'
    )
    cards = "".join(
        f'<div class=card><span class=sub>{escape(n)}</span><b>{escape(fmt(figs.get(n)))}</b></div>'
        for n in KEY_FIGURES.get(result.kind, [])[:6]
    )
    invalid = ""
    if result.read.skipped:
        reasons = "".join(f"<li>{n:,} × {escape(r)}</li>" for r, n in result.read.reasons.items())
        invalid = f"<h2>Invalid lines skipped: {result.read.skipped:,}</h2><ul>{reasons}</ul><p class=sub>Written with their reasons to {escape(str(result.read.side_file))}</p>"
    charts = "".join(f'<div class=chart>{svg}</div>' for svg in _charts(result))
    figure_rows = "".join(
        f"<tr><td>{escape(k)}</td><td class=num>{escape(fmt(v))}</td></tr>"
        for k, v in figs.items() if not isinstance(v, dict | list)
    )
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>alignforge check: {escape(result.path)}</title><style>{_CSS}</style></head><body>
<h1>alignforge check</h1><div class=sub>{escape(result.path)} · kind <b>{escape(result.kind)}</b> ({escape(result.shape)}) · stage <b>{escape(result.stage)}</b></div>
<div class=cards>{verdict}</div><div class=cards>{cards}</div>
<h2>Quality gates</h2>
<table id="gate-table"><thead><tr><th>status</th><th>gate</th><th>value</th><th>bound</th><th>unit / failing rows</th></tr></thead>
<tbody>{_gate_rows(result)}</tbody></table>
{invalid}
<h2>Plots</h2><div class=grid>{charts or '<p class=sub>No plottable figures (no judge scores or mixes in this file).</p>'}</div>
<h2>All figures</h2><table id="figure-table">{figure_rows}</table>
</body></html>"""
