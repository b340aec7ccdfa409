"""The dashboard's HTML pieces: the page's CSS and its Content-Security-Policy, escaping, number and
time formatting, and links that stay inside the run directory.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any

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


def _style_hash(css: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


CSP = (
    f"default-src 'none'; style-src '{_style_hash(_CSS)}'; img-src 'none'; script-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


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
