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

The parts live in private modules beside this one: the manifest checks in ``_dashboard_manifest``,
escaping, formatting, links, CSS and CSP in ``_dashboard_html``, the SVG charts in ``_dashboard_svg``
and the page's sections in ``_dashboard_sections``. Their public names are importable from here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from alignforge.errors import AlignforgeError
from alignforge.workflow._dashboard_html import _CSS, _duration, _e, _when
from alignforge.workflow._dashboard_html import CSP as CSP
from alignforge.workflow._dashboard_html import safe_href as safe_href
from alignforge.workflow._dashboard_manifest import DECISIONS as DECISIONS
from alignforge.workflow._dashboard_manifest import OPS as OPS
from alignforge.workflow._dashboard_manifest import STATUSES, check_manifest
from alignforge.workflow._dashboard_sections import ROUND_METRICS as ROUND_METRICS
from alignforge.workflow._dashboard_sections import (
    _decision,
    _evaluation,
    _pass_at_k,
    _rounds,
    _stage_figures,
    _timeline,
)
from alignforge.workflow._dashboard_svg import bar_chart_se as bar_chart_se
from alignforge.workflow._dashboard_svg import line_chart as line_chart

__all__ = ["MANIFEST", "load_manifest", "render_dashboard", "write_dashboard"]

MANIFEST = "manifest.json"


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
    return check_manifest(path, body)


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
