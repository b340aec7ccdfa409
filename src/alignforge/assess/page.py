"""``assessment.html``: a run's seven steps as one self-contained page with clickable error spans.

    from alignforge.assess import write_page
    write_page("assess_out")                      # -> assess_out/assessment.html
    write_page("assess_out", "/tmp/page.html")    # anywhere else

The page is rebuilt from the run's step files (checked field by field, see ``_runfiles``):
categories, the error catalogue with a likelihood per mistake, the challenge, both
implementations side by side, the judge's scores and rationales, and the student assessment:
the weak implementation with each error span numbered and focusable; a click (or Enter /
Space) opens its explanation, concept, severity, learning objective, fix and time estimate.

Safety: every piece of model or user text goes in through :func:`html.escape`; the one script
reads no data and only toggles ``hidden`` / ``aria-expanded``; a Content-Security-Policy
allows nothing but this page's own style and script (by hash), so no request leaves the page.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from pathlib import Path
from typing import Any

from alignforge.assess._runfiles import load_run

__all__ = ["render_page", "write_page"]

_CSS = """
:root { --ink:#1d2430; --muted:#5b6678; --line:#dde2ea; --bg:#f6f7f9; --card:#fff;
  --critical:#b42318; --critical-bg:#fde8e6; --major:#b54708; --major-bg:#fff1dc;
  --minor:#2e6da4; --minor-bg:#e6f0fa; --ok:#1a7f37; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1180px; margin:0 auto; padding:24px 20px 64px; }
h1 { font-size:1.7rem; margin:0 0 4px; } h2 { font-size:1.2rem; margin:0 0 12px; }
h3 { font-size:1rem; margin:0 0 8px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:18px 20px; margin:16px 0; }
.step-no { display:inline-block; min-width:1.7em; padding:0 .45em; margin-right:.4em; border-radius:999px;
  background:var(--ink); color:#fff; font-size:.85rem; text-align:center; }
.muted { color:var(--muted); } .small { font-size:.9rem; }
.badges { display:flex; flex-wrap:wrap; gap:8px; margin:10px 0 0; padding:0; list-style:none; }
.badge { display:inline-block; padding:2px 10px; border-radius:999px; border:1px solid var(--line);
  background:var(--bg); font-size:.88rem; }
.badge.yes { background:#e3f4e8; border-color:#a6dcb5; color:var(--ok); }
.badge.no { background:var(--critical-bg); border-color:#f4b4ae; color:var(--bad); }
.cols { display:grid; grid-template-columns:repeat(auto-fit,minmax(240px,1fr)); gap:16px; }
.pair { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.pair > *, .cols > * { min-width:0; }
@media (max-width:900px) { .pair { grid-template-columns:1fr; } }
table { border-collapse:collapse; width:100%; font-size:.95rem; }
th, td { text-align:left; vertical-align:top; padding:6px 8px; border-bottom:1px solid var(--line); }
th { color:var(--muted); font-weight:600; }
pre, code { font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace; }
pre { margin:0; padding:12px 14px; background:#0f1720; color:#e6edf3; border-radius:8px;
  overflow:auto; font-size:.88rem; line-height:1.6; }
pre.code { counter-reset:ln; }
pre.code .ln { counter-increment:ln; }
pre.code .ln::before { content:counter(ln); display:inline-block; width:2.2em; margin-right:1em;
  color:#6e7b8b; text-align:right; user-select:none; }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:.82rem; font-weight:600; }
.pill.lk-high, .pill.sev-critical { background:var(--critical-bg); color:var(--critical); }
.pill.lk-medium, .pill.sev-major { background:var(--major-bg); color:var(--major); }
.pill.lk-low, .pill.sev-minor { background:var(--minor-bg); color:var(--minor); }
.score { font-size:1.6rem; font-weight:700; }
.error-span { position:relative; cursor:pointer; border-radius:3px; padding:1px 2px;
  outline-offset:2px; color:#fff; }
.error-span::before { content:attr(data-error-id); display:inline-block; min-width:1.35em; margin-right:4px;
  padding:0 4px; border-radius:999px; font-size:.75rem; font-weight:700; text-align:center; color:#0f1720; }
.error-span.err-critical { background:rgba(240,68,56,.32); box-shadow:inset 0 -2px 0 #f04438; }
.error-span.err-critical::before { background:#f97066; }
.error-span.err-major { background:rgba(247,144,9,.30); box-shadow:inset 0 -2px 0 #f79009; }
.error-span.err-major::before { background:#fdb022; }
.error-span.err-minor { background:rgba(83,177,253,.28); box-shadow:inset 0 -2px 0 #53b1fd; }
.error-span.err-minor::before { background:#84caff; }
.error-span:hover, .error-span[aria-expanded="true"] { filter:brightness(1.25); }
.error-span:focus-visible { outline:2px solid #fff; }
.explain { margin-top:12px; border:1px solid var(--line); border-left:6px solid var(--muted);
  border-radius:8px; padding:12px 16px; background:#fcfcfd; }
.explain.explain-critical { border-left-color:var(--critical); }
.explain.explain-major { border-left-color:var(--major); }
.explain.explain-minor { border-left-color:var(--minor); }
.explain dl { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; margin:8px 0 0; }
.explain dt { color:var(--muted); font-weight:600; } .explain dd { margin:0; }
.explain pre { font-size:.85rem; }
details summary { cursor:pointer; color:var(--muted); margin-top:8px; }
ul, ol { margin:.3em 0; padding-left:1.4em; }
"""

_JS = """
(function () {
  "use strict";
  var spans = Array.prototype.slice.call(document.querySelectorAll(".error-span"));
  var panels = Array.prototype.slice.call(document.querySelectorAll(".explain"));
  panels.forEach(function (p) { p.hidden = true; });
  function toggle(span) {
    var open = span.getAttribute("aria-expanded") !== "true";
    spans.forEach(function (s) { s.setAttribute("aria-expanded", "false"); });
    panels.forEach(function (p) { p.hidden = true; });
    if (open) {
      span.setAttribute("aria-expanded", "true");
      document.getElementById(span.getAttribute("aria-controls")).hidden = false;
    }
  }
  spans.forEach(function (s) {
    s.addEventListener("click", function () { toggle(s); });
    s.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(s); }
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    var open = spans.filter(function (s) { return s.getAttribute("aria-expanded") === "true"; })[0];
    if (open) { toggle(open); open.focus(); }
  });
})();
"""


def _hash(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


CSP = (
    f"default-src 'none'; style-src '{_hash(_CSS)}'; script-src '{_hash(_JS)}'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _section(n: str, title: str, body: str, *, sid: str) -> str:
    return (
        f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">'
        f'<span class="step-no">{n}</span>{_e(title)}</h2>{body}</section>'
    )


def _missing(what: str) -> str:
    return f'<p class="muted">Not in this run: {_e(what)}.</p>'


def _code(code: str) -> str:
    lines = "\n".join(f'<span class="ln">{_e(line)}</span>' for line in code.splitlines())
    return f'<pre class="code"><code>{lines}</code></pre>'


def _header(summary: dict[str, Any], steps: dict[int, dict[str, Any]]) -> str:
    s = summary
    diff = "yes" if s["differentiated"] else "no"
    gap = ""
    if 6 in steps:
        j = steps[6]
        g = round(j["strong_score"] - j["weak_score"], 3)
        sign = "≥" if g >= s["min_differentiation"] else "<"
        gap = f" (strong {j['strong_score']:g} − weak {j['weak_score']:g} = {g:g} {sign} {s['min_differentiation']:g})"
    models = s["models"]
    badges = [
        f'<li class="badge {diff}">Differentiated: {diff}{_e(gap)}</li>',
        f'<li class="badge">Success rate: {_e(s["success_rate"])}</li>',
        f'<li class="badge">Steps completed: {len(steps)}/7</li>',
    ]
    return (
        f"<header><h1>Assessment: {_e(s['topic'])}</h1>"
        f'<p class="muted">Strong model <code>{_e(models["strong"])}</code> · weak model '
        f"<code>{_e(models['weak'])}</code> · judge <code>{_e(models['judge'])}</code></p>"
        f'<ul class="badges">{"".join(badges)}</ul></header>'
    )


def _attempts(summary: dict[str, Any]) -> str:
    def num(v: float | None) -> str:
        return "" if v is None else f"{v:g}"

    rows = "".join(
        f"<tr><td>{a['attempt']}</td><td>{_e(a['status'].replace('_', ' '))}</td>"
        f"<td>{num(a['strong_score'])}</td><td>{num(a['weak_score'])}</td><td>{num(a['gap'])}</td>"
        f"<td>{_e(a['error'] or '')}</td></tr>"
        for a in summary["attempts"]
    )
    return (
        '<section id="attempts" aria-labelledby="attempts-h"><h2 id="attempts-h">Attempts (steps 3-6)</h2>'
        "<table><thead><tr><th>attempt</th><th>status</th><th>strong</th><th>weak</th><th>gap</th>"
        f"<th>note</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _categories(step: dict[str, Any] | None) -> str:
    if step is None:
        return _missing("difficulty categories")
    cols = "".join(
        f"<div><h3>{_e(level)}</h3><ul>{''.join(f'<li>{_e(i)}</li>' for i in items)}</ul></div>"
        for level, items in step["categories"].items()
    )
    return f'<div class="cols">{cols}</div>'


def _catalog(step: dict[str, Any] | None) -> str:
    if step is None:
        return _missing("error catalogue")
    rows = "".join(
        f"<tr><td>{k}</td><td>{_e(e['error'])}</td><td>{_e(e['impact'] or '—')}</td>"
        f'<td><span class="pill lk-{e["likelihood"]}">{_e(e["likelihood"])}</span></td></tr>'
        for k, e in enumerate(step["errors"], 1)
    )
    return (
        '<table id="catalog"><thead><tr><th>#</th><th>mistake</th><th>impact</th>'
        f"<th>likelihood</th></tr></thead><tbody>{rows}</tbody></table>"
        '<p class="small muted">Likelihood: how likely a weak implementation is to make the mistake '
        "(high, medium or low), as the judge model estimated it.</p>"
    )


def _challenge(step: dict[str, Any] | None) -> str:
    if step is None:
        return _missing("challenge")
    c = step["challenge"]
    parts = [f"<h3>{_e(c['title'])}</h3>", f"<p><strong>Task:</strong> {_e(c['task'])}</p>"]
    if c["context"]:
        parts.append(f"<p><strong>Context:</strong> {_e(c['context'])}</p>")
    reqs = "".join(f"<li>{_e(r)}</li>" for r in c["requirements"])
    parts.append(f"<p><strong>Requirements:</strong></p><ol>{reqs}</ol>")
    if c["success_criteria"]:
        parts.append(f"<p><strong>Success criteria:</strong> {_e(c['success_criteria'])}</p>")
    return "".join(parts)


def _implementations(steps: dict[int, dict[str, Any]]) -> str:
    cols = []
    for n, tier in ((4, "strong"), (5, "weak")):
        step = steps.get(n)
        score = steps[6][f"{tier}_score"] if 6 in steps else None
        head = (
            f"<h3>Step {n}: {tier} model" + (f" <code>{_e(step['model'])}</code>" if step else "") + "</h3>"
        )
        if score is not None:
            head += f'<p class="muted small">Judge score: {score:g}/10</p>'
        body = (
            _missing(f"{tier} implementation")
            if step is None
            else _code(step["code"])
            + f"<details><summary>Full answer</summary><pre>{_e(step['text'])}</pre></details>"
        )
        cols.append(f'<div class="impl" id="impl-{tier}">{head}{body}</div>')
    return f'<div class="pair">{"".join(cols)}</div>'


def _judge(step: dict[str, Any] | None, summary: dict[str, Any]) -> str:
    if step is None:
        return _missing("judge scores")
    cols = "".join(
        f'<div><h3>{tier.capitalize()}</h3><p class="score">{step[f"{tier}_score"]:g}<span class="muted">/10'
        f"</span></p><p>{_e(step[f'{tier}_rationale'] or '(no rationale given)')}</p></div>"
        for tier in ("strong", "weak")
    )
    return (
        f'<div class="pair">{cols}</div><p class="small muted">Judge <code>{_e(step["model"])}</code>, '
        f"0-10 rubric naming the step 2 mistakes; differentiated when strong − weak ≥ "
        f"{summary['min_differentiation']:g}.</p>"
    )


def _marked_code(code: str, errors: list[dict[str, Any]]) -> str:
    """The weak code, escaped, with each error span a focusable, numbered button."""
    by_line: dict[int, list[dict[str, Any]]] = {}
    for e in errors:
        by_line.setdefault(e["line"], []).append(e)
    out = []
    for no, line in enumerate(code.splitlines(), 1):
        parts, pos = [], 0
        for e in sorted(by_line.get(no, []), key=lambda x: x["start"]):
            k = _e(e["id"])
            parts += [
                _e(line[pos : e["start"]]),
                f'<span class="error-span err-{e["severity"]}" id="span-{k}" data-error-id="{k}" '
                f'tabindex="0" role="button" aria-expanded="false" aria-controls="explain-{k}" '
                f'aria-label="Error {k} ({e["severity"]}), line {no}">{_e(line[e["start"] : e["end"]])}</span>',
            ]
            pos = e["end"]
        parts.append(_e(line[pos:]))
        out.append(f'<span class="ln">{"".join(parts)}</span>')
    return '<pre class="code" id="assessment-code"><code>' + "\n".join(out) + "</code></pre>"


def _panel(e: dict[str, Any]) -> str:
    k = _e(e["id"])
    quote = (
        f"<dt>Reviewer quoted</dt><dd><code>{_e(e['quote'])}</code></dd>"
        if e["quote"] and e["quote"] != e["span"]
        else ""
    )
    return (
        f'<div class="explain explain-{e["severity"]}" id="explain-{k}" role="region" aria-labelledby="explain-{k}-h">'
        f'<h3 id="explain-{k}-h">Error {k} <span class="pill sev-{e["severity"]}">{_e(e["severity"])}</span> '
        f'<span class="muted small">line {e["line"]}: <code>{_e(e["span"])}</code></span></h3><dl>'
        f'<dt>Explanation</dt><dd class="explanation">{_e(e["description"])}</dd>'
        f'<dt>Concept</dt><dd class="concept">{_e(e["concept"])}</dd>'
        f'<dt>Severity</dt><dd class="severity">{_e(e["severity"])}</dd>'
        f'<dt>Learning objective</dt><dd class="learning">{_e(e["learning_value"])}</dd>'
        f'<dt>Fix</dt><dd class="fix"><pre>{_e(e["fix"])}</pre></dd>'
        f'<dt>Time</dt><dd class="minutes">about {e["minutes"]} min</dd>{quote}</dl></div>'
    )


def _assessment(steps: dict[int, dict[str, Any]], summary: dict[str, Any]) -> str:
    a = steps.get(7)
    if a is None:
        return _missing(f"student assessment ({summary['step7'] or 'step 7 did not run'})")
    n = len(a["errors"])
    return (
        f"<h3>{_e(a['title'])}</h3>"
        f"<p><strong>Learning objective:</strong> {_e(a['learning_objective'])}</p>"
        f"<p><strong>Scenario:</strong> {_e(a['scenario'])}</p>"
        f'<p class="muted small">{n} error span{"s" if n != 1 else ""} · about {a["estimated_minutes"]} '
        "minutes. Click a highlighted span (or Tab to it and press Enter) to see what is wrong with it; "
        "Escape closes it.</p>"
        + _marked_code(steps[5]["code"], a["errors"])
        + "".join(_panel(e) for e in a["errors"])
    )


def render_page(run_dir: str | Path) -> str:
    """The page for the run in ``run_dir`` (raises ``ConfigError`` naming a damaged file and field)."""
    run = load_run(run_dir)
    summary, steps = run["summary"], run["steps"]
    body = "".join(
        [
            _header(summary, steps),
            _section("1", "Difficulty categories", _categories(steps.get(1)), sid="step1"),
            _section("2", "Error catalogue", _catalog(steps.get(2)), sid="step2"),
            _section("3", "Challenge", _challenge(steps.get(3)), sid="step3"),
            _section("4–5", "Implementations, side by side", _implementations(steps), sid="step45"),
            _section("6", "Judge", _judge(steps.get(6), summary), sid="step6"),
            _section("7", "Student assessment", _assessment(steps, summary), sid="step7"),
            _attempts(summary),
            f'<footer class="muted small">{_e(run["run"]["pipeline"])} · rendered from the run\'s step files '
            "(<code>alignforge assess report RUN_DIR</code> renders it again)</footer>",
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Assessment: {_e(summary['topic'])}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main><script>{_JS}</script></body></html>\n"
    )


def write_page(run_dir: str | Path, html_path: str | Path | None = None) -> Path:
    """Render the run in ``run_dir`` to ``html_path`` (default ``run_dir/assessment.html``), atomically."""
    path = Path(html_path) if html_path is not None else Path(run_dir) / "assessment.html"
    page = render_page(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
