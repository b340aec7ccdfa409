"""The dashboard's sections, each drawn from a validated manifest: the stage timeline with its gates,
the figures by stage, the rounds, the evaluation's suites, the RLVR pass@k table and the decision.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alignforge.workflow._dashboard_html import _STATUS_CLASS, _cost, _duration, _e, _link, _num
from alignforge.workflow._dashboard_svg import _timeline_bar, bar_chart_se, line_chart

ROUND_METRICS = ("margin", "kl", "accuracy", "win_rate", "retention")


def _gate_cells(gates: list[dict[str, Any]]) -> str:
    if not gates:
        return '<span class="sub">no gates</span>'
    rows = []
    for g in gates:
        flagged = not g["passed"] and g.get("on_fail") == "flag"
        verdict, cls = ("pass", "ok") if g["passed"] else (("flag", "warn") if flagged else ("FAIL", "bad"))
        bound = "" if g.get("bound") is None else f"{_e(g.get('op') or '')} {_num(g.get('bound'))}"
        rows.append(
            f'<tr class="gate" data-gate="{_e(g["name"])}" data-passed="{str(g["passed"]).lower()}">'
            f'<td><span class="status {cls}">{verdict}</span></td><td>{_e(g["name"])}</td>'
            f'<td class="num value">{_num(g.get("value"))}</td><td class="bound">{bound}</td>'
            f'<td class="sub">{_e(g.get("unit") or "")}</td></tr>'
        )
    return f'<table class="gates">{"".join(rows)}</table>'


def _timeline(run_dir: Path, manifest: dict[str, Any], base: str) -> str:
    stages = manifest["stages"]
    starts = [s["started"] for s in stages if s.get("started") is not None]
    now = float(manifest.get("updated") or time.time())
    ends = [
        s.get("finished") or s["started"] + (s.get("duration_s") or 0) for s in stages if s.get("started")
    ]
    origin = min(starts) if starts else 0.0
    span = max([*ends, now if any(s["status"] == "running" for s in stages) else 0.0, origin + 1e-6]) - origin
    rows = []
    for i, s in enumerate(stages):
        status = s["status"]
        links = []
        if s.get("report"):
            links.append(_link(run_dir, s["report"], "data report", base))
        for role, rel in sorted((s.get("outputs") or {}).items()):
            links.append(_link(run_dir, rel, role, base))
        error = f'<div class="err">{_e(s["error"])}</div>' if s.get("error") else ""
        title = s.get("title") or ""
        rows.append(
            f'<tr class="stage" data-stage="{_e(s["name"])}" data-status="{_e(status)}">'
            f'<td class="num">{i + 1}</td><td><b>{_e(s["name"])}</b><div class="sub">{_e(title)}</div>{error}</td>'
            f'<td><span class="status {_STATUS_CLASS[status]}">{_e(status)}</span></td>'
            f"<td>{_timeline_bar(s, origin, span or 1.0, now)}</td>"
            f'<td class="num">{_duration(s.get("duration_s"))}</td>'
            f'<td class="num">{_cost(s.get("cost_usd"))}</td>'
            f"<td>{_gate_cells(s.get('gates') or [])}</td><td>{'<br>'.join(links) or '—'}</td></tr>"
        )
    return (
        '<table id="timeline"><tr><th>#</th><th>stage</th><th>status</th><th>when</th><th>duration</th>'
        f"<th>cost</th><th>gates (value vs bound)</th><th>reports and outputs</th></tr>{''.join(rows)}</table>"
    )


def _stage_figures(manifest: dict[str, Any]) -> str:
    """Numeric figures per stage (one level into ``figures`` and its ``metrics``), as a table."""
    rows = []
    for s in manifest["stages"]:
        figures = s.get("figures") or {}
        flat = {**{k: v for k, v in figures.items() if k != "metrics"}, **(figures.get("metrics") or {})}
        numbers = {k: v for k, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        if numbers:
            cells = ", ".join(f"{_e(k)} = {_num(v)}" for k, v in sorted(numbers.items()))
            rows.append(f'<tr data-figures="{_e(s["name"])}"><td>{_e(s["name"])}</td><td>{cells}</td></tr>')
    if not rows:
        return ""
    return f"<h2>Figures by stage</h2><table><tr><th>stage</th><th>figures</th></tr>{''.join(rows)}</table>"


def _rounds(manifest: dict[str, Any]) -> str:
    rounds = manifest.get("rounds") or []
    if not rounds:
        return '<h2>Rounds</h2><p class="sub">no iterative rounds recorded</p>'
    xs = [f"round {r['round']}" for r in rounds]
    charts = []
    for metric in ROUND_METRICS:
        vs = [(r.get("metrics") or {}).get(metric) for r in rounds]
        if any(v is not None for v in vs):
            charts.append(
                f'<div class="chart">{line_chart(metric.replace("_", " "), xs, [(metric, vs)])}</div>'
            )
    rows = []
    for r in rounds:
        m = r.get("metrics") or {}
        cls = {"continue": "run", "stop": "ok", "rollback": "bad"}[r["decision"]]
        cells = "".join(f'<td class="num">{_num(m.get(k))}</td>' for k in ROUND_METRICS)
        rows.append(
            f'<tr class="round" data-round="{r["round"]}" data-decision="{_e(r["decision"])}"><td>{r["round"]}</td>'
            f"<td>{_e(r.get('checkpoint') or '')}</td>{cells}"
            f'<td><span class="status {cls}">{_e(r["decision"])}</span></td><td>{_e(r.get("reason") or "")}</td></tr>'
        )
    head = "".join(f"<th>{k.replace('_', ' ')}</th>" for k in ROUND_METRICS)
    return (
        f'<h2>Rounds</h2><div class="grid">{"".join(charts)}</div>'
        f'<table id="rounds"><tr><th>round</th><th>checkpoint</th>{head}<th>decision</th><th>reason</th></tr>'
        f"{''.join(rows)}</table>"
    )


def _evaluation(manifest: dict[str, Any]) -> str:
    evaluation = manifest.get("evaluation")
    if not evaluation:
        return '<h2>Evaluation</h2><p class="sub">not evaluated yet</p>'
    suites = evaluation.get("suites") or {}
    names = sorted(suites)
    parts = ["<h2>Evaluation</h2>"]
    if names:
        series = [
            (
                side,
                [
                    ((suites[n].get(side) or {}).get("score"), (suites[n].get(side) or {}).get("se"))
                    for n in names
                ],
            )
            for side in ("baseline", "tuned")
        ]
        parts.append(f'<div class="chart">{bar_chart_se("score per suite (±1 SE)", names, series)}</div>')
        rows = []
        for n in names:
            s = suites[n]
            base, tuned = s.get("baseline") or {}, s.get("tuned") or {}
            rows.append(
                f'<tr class="suite" data-suite="{_e(n)}"><td>{_e(n)}</td><td>{_e(tuned.get("metric") or base.get("metric") or "")}</td>'
                f'<td class="num">{_num(base.get("score"))} ± {_num(base.get("se"), 2)}</td>'
                f'<td class="num">{_num(tuned.get("score"))} ± {_num(tuned.get("se"), 2)}</td>'
                f'<td class="num">{_num(s.get("ratio"))}</td><td class="num">{_num(s.get("z"), 3)}</td>'
                f'<td class="num">{_num(s.get("p"), 3)}</td></tr>'
            )
        parts.append(
            '<table id="suites"><tr><th>suite</th><th>metric</th><th>baseline</th><th>tuned</th>'
            f"<th>retention</th><th>z</th><th>p</th></tr>{''.join(rows)}</table>"
        )
    facts = [f"retention: <b>{_num(evaluation.get('retention'))}</b>"]
    win = evaluation.get("win_rate") or {}
    if win:
        shown = ", ".join(
            f"{_e(k)} = {_num(v)}" for k, v in sorted(win.items()) if not isinstance(v, dict | list)
        )
        facts.append(f"win rate over the baseline: {shown}")
    parts.append("<ul>" + "".join(f"<li>{f}</li>" for f in facts) + "</ul>")
    return "".join(parts)


def _signed(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value:+.3f}"


def _pass_at_k(manifest: dict[str, Any]) -> str:
    """The RLVR workflow's table: rows = checkpoints, a column per pass@k with its delta vs the base,
    and a line chart with one line per k over the checkpoints."""
    table = manifest.get("pass_at_k")
    if not table:
        return ""
    keys = [f"pass@{k}" for k in table["k_values"]]
    rows = table["rows"]
    xs = [r["checkpoint"] for r in rows]
    series = [(key, [(r.get("pass_at_k") or {}).get(key) for r in rows]) for key in keys]
    chart = line_chart("pass@k per cycle", xs, series, width=max(340, 90 * len(xs) + 60))
    out = []
    for r in rows:
        values, deltas = r.get("pass_at_k") or {}, r.get("delta") or {}
        cells = "".join(
            f'<td class="num" data-k="{_e(key)}">{_num(values.get(key), 3)}'
            + (
                f' <span class="sub delta">({_signed(deltas.get(key))})</span>'
                if r["cycle"] != 0 and deltas.get(key) is not None
                else ""
            )
            + "</td>"
            for key in keys
        )
        out.append(
            f'<tr class="passk" data-checkpoint="{_e(r["checkpoint"])}" data-cycle="{r["cycle"]}">'
            f"<td>{_e(r['checkpoint'])}</td><td>{_e(r.get('model') or '')}</td>{cells}</tr>"
        )
        plus = r.get("plus")
        if plus:  # strengthened tasks: the same samples against original + new tests (HumanEval+ style)
            n = plus.get("n_tasks", "")
            out.append(
                _passk_sub_row("passk-plus", r, "", "+ new tests", f"{n} tasks strengthened", plus, keys)
            )
        parts = r.get("by_domain") or {}
        for domain, part in parts.items() if len(parts) > 1 else ():  # a mixed run: a sub-row per domain
            where = f' data-domain="{_e(domain)}"'
            out.append(
                _passk_sub_row(
                    "passk-domain", r, where, domain, f"{part.get('n_tasks', '')} tasks", part, keys
                )
            )
    head = "".join(f"<th>{_e(key)}</th>" for key in keys)
    return (
        '<h2>pass@k per cycle</h2><p class="sub">the benchmark on every checkpoint; '
        "in brackets: the change against the base model; a mixed run also shows each domain, and "
        "strengthened tasks their pass@k on original + new tests</p>"
        f'<div class="chart" id="passk-chart">{chart}</div>'
        f'<table id="passk"><tr><th>checkpoint</th><th>model</th>{head}</tr>{"".join(out)}</table>'
    )


def _passk_sub_row(
    cls: str, row: dict[str, Any], attrs: str, label: str, note: str, part: dict[str, Any], keys: list[str]
) -> str:
    """A sub-row under a checkpoint's row of the pass@k table: ``part["pass_at_k"]`` per k."""
    sub = part.get("pass_at_k") or {}
    cells = "".join(f'<td class="num" data-k="{_e(key)}">{_num(sub.get(key), 3)}</td>' for key in keys)
    return (
        f'<tr class="{cls} sub" data-checkpoint="{_e(row["checkpoint"])}"{attrs}>'
        f"<td>&nbsp;&nbsp;{_e(label)}</td><td>{_e(note)}</td>{cells}</tr>"
    )


def _decision(manifest: dict[str, Any]) -> str:
    decision = manifest.get("decision")
    failed_gates = [
        (s["name"], g["name"])
        for s in manifest["stages"]
        for g in s.get("gates") or []
        if not g["passed"] and g.get("on_fail") != "flag"
    ]
    if decision is None:
        where = next((s for s in manifest["stages"] if s["status"] in ("failed", "running")), None)
        state = f"stopped at {where['name']} ({where['status']})" if where else "no decision yet"
        return f'<div id="decision" class="verdict idle" data-deploy="none">{_e(state)}</div>'
    deploy = decision["deploy"]
    head = "DEPLOY" if deploy else "DO NOT DEPLOY"
    failed = decision.get("failed") or []
    items = "".join(f'<li class="failed-gate">{_e(name)}</li>' for name in failed)
    stage_items = "".join(f"<li>{_e(st)}: {_e(g)}</li>" for st, g in failed_gates)
    return (
        f'<div id="decision" class="verdict {"ok" if deploy else "bad"}" data-deploy="{str(deploy).lower()}">{head}</div>'
        f'<p id="reason">{_e(decision.get("reason") or "")}</p>'
        + (f"<p>failed gates:</p><ul>{items}</ul>" if items else "")
        + (f'<p class="sub">failed stage gates:</p><ul>{stage_items}</ul>' if stage_items else "")
    )
