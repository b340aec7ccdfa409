"""The dashboard's charts as inline SVG: lines over categories, bars with ±1 SE whiskers, and a
stage's Gantt bar in the timeline. Every label is escaped.
"""

from __future__ import annotations

from typing import Any

from alignforge.workflow._dashboard_html import _e, _num

_STATUS_COLOUR = {
    "finished": "#2e7d32",
    "failed": "#c62828",
    "running": "#1565c0",
    "pending": "#9e9e9e",
    "skipped": "#f9a825",
}
_SERIES = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")


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
