"""The run dashboard: one self-contained HTML page drawn from ``RUN_DIR/manifest.json``.

The page shows the stage timeline (status, duration, cost, each gate's value against its bound),
the metrics across rounds (margin, KL, accuracy, win rate, retention) and across the evaluation's
suites, the RLVR workflow's pass@k per RAFT cycle (a table with deltas against the base model and a
line per k over the cycles), the deployment decision with every failed gate named, and links to each
stage's data report.

It is a static page: inline CSS allowed by its hash in a Content-Security-Policy meta tag, inline SVG
charts, no script, no network. Everything read from the manifest (stage names, errors, file names,
model output quoted in a reason) is data and is escaped. A link is made only for a relative path that
stays inside the run directory; anything else (``javascript:``, ``https://``, ``/abs``, ``../x``) is
shown as text with the reason it is not linked.

:func:`load_manifest` validates the manifest's shape (interface B of the workflow) and raises
:class:`~alignforge.errors.AlignforgeError` naming the file and the field.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import time
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any

from alignforge.errors import AlignforgeError

__all__ = ["MANIFEST", "load_manifest", "render_dashboard", "write_dashboard"]

MANIFEST = "manifest.json"
STATUSES = ("pending", "running", "finished", "failed", "skipped")
DECISIONS = ("continue", "stop", "rollback")
OPS = (">=", "<=", "<", ">", "==")
ROUND_METRICS = ("margin", "kl", "accuracy", "win_rate", "retention")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666} .verdict{font-size:18px;font-weight:700;padding:8px 14px;border-radius:8px;display:inline-block}
.ok{background:#e8f5e9;color:#1b5e20} .bad{background:#ffebee;color:#b71c1c} .warn{background:#fff8e1;color:#8d6e00}
.run{background:#e3f2fd;color:#0d47a1} .idle{background:#f5f5f5;color:#555}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#fafafa} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.gates td,table.gates th{border:0;padding:1px 6px;font-size:12px} td.bound,td.value{white-space:nowrap}
#timeline{font-size:13px} #timeline td{overflow-wrap:anywhere}
.status{font-weight:600;border-radius:6px;padding:1px 8px;white-space:nowrap}
.err{white-space:pre-wrap;color:#b71c1c;font-family:ui-monospace,monospace;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.chart{border:1px solid #eee;border-radius:8px;padding:6px}
.note{color:#8d6e00;font-size:12px} ul{margin:4px 0}
"""
_STATUS_CLASS = {"finished": "ok", "failed": "bad", "running": "run", "pending": "idle", "skipped": "warn"}
_STATUS_COLOUR = {
    "finished": "#2e7d32",
    "failed": "#c62828",
    "running": "#1565c0",
    "pending": "#9e9e9e",
    "skipped": "#f9a825",
}
_SERIES = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")


def _style_hash(css: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


CSP = (
    f"default-src 'none'; style-src '{_style_hash(_CSS)}'; img-src 'none'; script-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


# ----------------------------------------------------------------------------- the manifest


class _Check:
    """Type checks that name the manifest file and the dotted field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, expected: str, got: Any) -> AlignforgeError:
        shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
        return AlignforgeError(f"{self.path}: field '{field}': expected {expected}, got {shown}")

    def get(self, body: dict[str, Any], key: str, field: str, kind: str, *, required: bool = False) -> Any:
        if key not in body:
            if required:
                raise AlignforgeError(f"{self.path}: field '{field}{key}': missing")
            return None
        value = body[key]
        if value is None and not required:
            return None
        ok = {
            "str": isinstance(value, str),
            "num": isinstance(value, int | float) and not isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list),
            "dict": isinstance(value, dict),
        }[kind]
        if not ok:
            raise self.fail(f"{field}{key}", _KIND_WORDS[kind], value)
        return value

    def choice(self, body: dict[str, Any], key: str, field: str, choices: tuple[str, ...]) -> str:
        value = self.get(body, key, field, "str", required=True)
        if value not in choices:
            raise self.fail(f"{field}{key}", "one of " + " | ".join(choices), value)
        return str(value)


_KIND_WORDS = {
    "str": "a string",
    "num": "a number",
    "int": "an integer",
    "bool": "true or false",
    "list": "a list",
    "dict": "a mapping",
}


def load_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate ``RUN_DIR/manifest.json``; errors name the file and the field."""
    path = Path(run_dir) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AlignforgeError(
            f"{path}: manifest not found (is {run_dir} a workflow run directory?)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AlignforgeError(f"{path}: cannot read the manifest ({exc})") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlignforgeError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    check = _Check(path)
    if not isinstance(body, dict):
        raise check.fail("(top level)", "a mapping", body)
    check.get(body, "workflow", "", "str", required=True)
    for key in ("file",):
        check.get(body, key, "", "str")
    for key in ("created", "updated"):
        check.get(body, key, "", "num")
    for i, stage in enumerate(check.get(body, "stages", "", "list", required=True)):
        _check_stage(check, stage, f"stages[{i}].")
    for i, rnd in enumerate(check.get(body, "rounds", "", "list") or []):
        _check_round(check, rnd, f"rounds[{i}].")
    evaluation = check.get(body, "evaluation", "", "dict")
    if evaluation is not None:
        _check_evaluation(check, evaluation)
    passk = check.get(body, "pass_at_k", "", "dict")
    if passk is not None:
        _check_pass_at_k(check, passk)
    decision = check.get(body, "decision", "", "dict")
    if decision is not None:
        check.get(decision, "deploy", "decision.", "bool", required=True)
        failed = check.get(decision, "failed", "decision.", "list") or []
        for j, name in enumerate(failed):
            if not isinstance(name, str):
                raise check.fail(f"decision.failed[{j}]", "a string", name)
        check.get(decision, "reason", "decision.", "str")
    return body


def _check_stage(check: _Check, stage: Any, field: str) -> None:
    if not isinstance(stage, dict):
        raise check.fail(field.rstrip("."), "a mapping", stage)
    check.get(stage, "name", field, "str", required=True)
    check.choice(stage, "status", field, STATUSES)
    for key in ("title", "fingerprint", "report", "error"):
        check.get(stage, key, field, "str")
    for key in ("started", "finished", "duration_s", "cost_usd"):
        check.get(stage, key, field, "num")
    for role, rel in (check.get(stage, "outputs", field, "dict") or {}).items():
        if not isinstance(rel, str):
            raise check.fail(f"{field}outputs.{role}", "a path (string)", rel)
    check.get(stage, "figures", field, "dict")
    for j, gate in enumerate(check.get(stage, "gates", field, "list") or []):
        _check_gate(check, gate, f"{field}gates[{j}].")


def _check_gate(check: _Check, gate: Any, field: str) -> None:
    if not isinstance(gate, dict):
        raise check.fail(field.rstrip("."), "a gate mapping", gate)
    check.get(gate, "name", field, "str", required=True)
    check.get(gate, "passed", field, "bool", required=True)
    check.get(gate, "value", field, "num")
    check.get(gate, "bound", field, "num")
    for key in ("figure", "unit"):
        check.get(gate, key, field, "str")
    if gate.get("op") is not None:
        check.choice(gate, "op", field, OPS)
    if gate.get("on_fail") is not None:
        check.choice(gate, "on_fail", field, ("stop", "flag"))


def _check_round(check: _Check, rnd: Any, field: str) -> None:
    if not isinstance(rnd, dict):
        raise check.fail(field.rstrip("."), "a mapping", rnd)
    check.get(rnd, "round", field, "int", required=True)
    check.choice(rnd, "decision", field, DECISIONS)
    for key in ("checkpoint", "reason"):
        check.get(rnd, key, field, "str")
    for key, value in (check.get(rnd, "metrics", field, "dict") or {}).items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise check.fail(f"{field}metrics.{key}", "a number or null", value)


def _check_evaluation(check: _Check, evaluation: dict[str, Any]) -> None:
    for name, suite in (check.get(evaluation, "suites", "evaluation.", "dict") or {}).items():
        field = f"evaluation.suites.{name}."
        if not isinstance(suite, dict):
            raise check.fail(field.rstrip("."), "a mapping", suite)
        for side in ("baseline", "tuned"):
            part = check.get(suite, side, field, "dict")
            if part is not None:
                for key in ("score", "se", "n"):
                    check.get(part, key, f"{field}{side}.", "num")
        for key in ("ratio", "z", "p"):
            check.get(suite, key, field, "num")
    check.get(evaluation, "retention", "evaluation.", "num")
    check.get(evaluation, "win_rate", "evaluation.", "dict")


def _check_pass_at_k(check: _Check, table: dict[str, Any]) -> None:
    for j, k in enumerate(check.get(table, "k_values", "pass_at_k.", "list", required=True)):
        if isinstance(k, bool) or not isinstance(k, int):
            raise check.fail(f"pass_at_k.k_values[{j}]", "an integer", k)
    for i, row in enumerate(check.get(table, "rows", "pass_at_k.", "list", required=True)):
        field = f"pass_at_k.rows[{i}]."
        if not isinstance(row, dict):
            raise check.fail(field.rstrip("."), "a mapping", row)
        check.get(row, "checkpoint", field, "str", required=True)
        check.get(row, "cycle", field, "int", required=True)
        check.get(row, "model", field, "str")
        for part in ("pass_at_k", "delta"):
            for key, value in (check.get(row, part, field, "dict") or {}).items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise check.fail(f"{field}{part}.{key}", "a number or null", value)
        subs = {f"by_domain.{d}": v for d, v in (check.get(row, "by_domain", field, "dict") or {}).items()}
        if (plus := check.get(row, "plus", field, "dict")) is not None:
            subs["plus"] = plus
        for name, sub in subs.items():
            where = f"{field}{name}"
            if not isinstance(sub, dict):
                raise check.fail(where, "a mapping", sub)
            check.get(sub, "n_tasks", f"{where}.", "int")
            for key, value in (check.get(sub, "pass_at_k", f"{where}.", "dict") or {}).items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise check.fail(f"{where}.pass_at_k.{key}", "a number or null", value)


# ----------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}g}"
    return _e(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _cost(usd: float | None) -> str:
    return "—" if usd is None else f"${usd:.4f}"


def _when(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def safe_href(run_dir: Path, rel: str, base: str = "") -> tuple[str | None, str]:
    """``(href, why_not)``: an href for a relative path inside the run directory, else the reason.

    ``base`` is the run directory as seen from the page (``""`` when the page is in it)."""
    if not rel or "\\" in rel or any(ord(c) < 32 for c in rel):
        return None, "not a plain relative path"
    if ":" in rel.split("/", 1)[0] or rel.startswith("/"):
        return None, "not a relative path inside the run directory"
    parts = PurePosixPath(rel).parts
    if ".." in parts:
        return None, "leaves the run directory"
    from urllib.parse import quote

    href = quote(base + rel, safe="/")
    return href, "" if (run_dir / rel).exists() else "missing"


def _link(run_dir: Path, rel: str, label: str, base: str) -> str:
    href, why = safe_href(run_dir, rel, base)
    if href is None:
        return f'<span class="note">{_e(label)}: {_e(rel)} (not linked: {_e(why)})</span>'
    missing = ' <span class="note">(missing)</span>' if why == "missing" else ""
    return f'<a href="{_e(href)}">{_e(label)}</a>{missing}'


# ----------------------------------------------------------------------------- charts


def line_chart(
    title: str,
    xs: list[str],
    series: list[tuple[str, list[float | None]]],
    *,
    width: int = 340,
    height: int = 190,
) -> str:
    """Lines over categorical x positions (None leaves a gap); the y axis spans the data and 0."""
    left, right, top, bottom = 46, 10, 24, 40
    pw, ph = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    lo, hi = (min(values + [0.0]), max(values + [0.0])) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        hi = lo + 1.0
    n = max(1, len(xs))

    def px(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    def py(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(title)}"><text x="{left}" y="15" font-size="12" font-weight="600">{_e(title)}</text>',
        f'<line x1="{left}" y1="{py(0):.1f}" x2="{left + pw}" y2="{py(0):.1f}" stroke="#bbb"/>',
    ]
    for v in (lo, hi):
        parts.append(
            f'<text x="{left - 4}" y="{py(v) + 3:.1f}" font-size="9" text-anchor="end">{_num(v, 3)}</text>'
        )
    for i, x in enumerate(xs):
        parts.append(
            f'<text x="{px(i):.1f}" y="{top + ph + 14}" font-size="9" text-anchor="middle">{_e(x)}</text>'
        )
    for s, (name, vs) in enumerate(series):
        colour = _SERIES[s % len(_SERIES)]
        points = [(px(i), py(v), v) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for cx, cy, v in points:
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"><title>{_e(name)}: {_num(v)}</title></circle>'
            )
        parts.append(
            f'<rect x="{left + s * 90}" y="{height - 12}" width="9" height="9" fill="{colour}"/>'
            f'<text x="{left + s * 90 + 12}" y="{height - 4}" font-size="10">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart_se(
    title: str,
    categories: list[str],
    series: list[tuple[str, list[tuple[float | None, float | None]]]],
    *,
    width: int = 560,
    height: int = 220,
) -> str:
    """Grouped bars of (value, standard error) with ±1 SE whiskers; the y axis spans 0 to the top whisker."""
    left, right, top, bottom = 46, 10, 24, 46
    pw, ph = width - left - right, height - top - bottom
    tops = [v + (se or 0.0) for _, vs in series for v, se in vs if v is not None]
    peak = max(tops + [1e-9])
    n, k = max(1, len(categories)), max(1, len(series))
    group = pw / n
    bar = group * 0.8 / k
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(title)}"><text x="{left}" y="15" font-size="12" font-weight="600">{_e(title)}</text>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 3}" font-size="9" text-anchor="end">{_num(peak, 3)}</text>',
    ]
    for s, (name, vs) in enumerate(series):
        colour = _SERIES[s % len(_SERIES)]
        for i, (v, se) in enumerate(vs):
            if v is None:
                continue
            h = ph * max(v, 0.0) / peak
            x = left + i * group + group * 0.1 + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + ph - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}" '
                f'opacity="0.85"><title>{_e(name)} {_e(categories[i])}: {_num(v)} ± {_num(se)}</title></rect>'
            )
            if se:
                cx = x + bar / 2
                y1, y2 = top + ph * (1 - (v - se) / peak), top + ph * (1 - (v + se) / peak)
                parts.append(f'<line x1="{cx:.1f}" y1="{y1:.1f}" x2="{cx:.1f}" y2="{y2:.1f}" stroke="#222"/>')
    for i, cat in enumerate(categories):
        parts.append(
            f'<text x="{left + (i + 0.5) * group:.1f}" y="{top + ph + 13}" font-size="10" '
            f'text-anchor="middle">{_e(cat)}</text>'
        )
    for s, (name, _) in enumerate(series):
        colour = _SERIES[s % len(_SERIES)]
        parts.append(
            f'<rect x="{left + s * 90}" y="{height - 12}" width="9" height="9" fill="{colour}"/>'
            f'<text x="{left + s * 90 + 12}" y="{height - 4}" font-size="10">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _timeline_bar(stage: dict[str, Any], origin: float, span: float, now: float) -> str:
    """A Gantt bar: where the stage ran within the whole run."""
    width, height = 150, 14
    colour = _STATUS_COLOUR[stage["status"]]
    started = stage.get("started")
    if started is None:
        return f'<svg width="{width}" height="{height}"><rect x="0" y="5" width="{width}" height="4" fill="#eee"/></svg>'
    end = stage.get("finished") or (started + (stage.get("duration_s") or 0.0))
    if stage["status"] == "running":
        end = max(end, now)
    x = width * (started - origin) / span
    w = max(2.0, width * (end - started) / span)
    return (
        f'<svg width="{width}" height="{height}"><rect x="0" y="5" width="{width}" height="4" fill="#eee"/>'
        f'<rect class="bar" x="{x:.1f}" y="0" width="{min(w, width - x):.1f}" height="{height}" rx="3" '
        f'fill="{colour}"/></svg>'
    )


# ----------------------------------------------------------------------------- sections


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


def render_dashboard(run_dir: str | os.PathLike[str], *, link_base: str = "") -> str:
    """The run's dashboard as one self-contained HTML page (see the module docstring).

    ``link_base`` is the run directory's path as seen from where the page will be opened (``""``:
    the page lives in the run directory); :func:`write_dashboard` works it out."""
    run_dir = Path(run_dir)
    if link_base and not link_base.endswith("/"):
        link_base += "/"
    manifest = load_manifest(run_dir)
    stages = manifest["stages"]
    counts = {status: sum(s["status"] == status for s in stages) for status in STATUSES}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    cost = sum(s.get("cost_usd") or 0.0 for s in stages)
    duration = sum(s.get("duration_s") or 0.0 for s in stages)
    title = f"alignforge workflow {manifest['workflow']}: {run_dir.name}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<div class="sub">file {_e(manifest.get("file") or "—")} · created {_when(manifest.get("created"))} · '
        f"updated {_when(manifest.get('updated'))} · {_e(summary)} · {_duration(duration)} · ${cost:.4f}</div>",
        "<h2>Decision</h2>",
        _decision(manifest),
        "<h2>Stages</h2>",
        _timeline(run_dir, manifest, link_base),
        _pass_at_k(manifest),
        *(
            (_rounds(manifest), _evaluation(manifest))
            if manifest["workflow"] != "rlvr" or manifest.get("rounds") or manifest.get("evaluation")
            else ()
        ),
        _stage_figures(manifest),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def write_dashboard(run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Render and write the dashboard (default ``RUN_DIR/dashboard.html``) atomically; returns its path."""
    path = Path(out) if out is not None else Path(run_dir) / "dashboard.html"
    base = Path(os.path.relpath(Path(run_dir).resolve(), path.parent.resolve())).as_posix()
    page = render_dashboard(run_dir, link_base="" if base == "." else base)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
