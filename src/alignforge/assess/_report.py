"""Step files (atomic JSON), the run manifest, the summary ``assessment.json`` and ``report.md``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError

__all__ = ["write_json", "read_json", "load_or_run", "check_manifest", "render_report", "PIPELINE"]

PIPELINE = "alignforge-assess-v2"  # v2: step 2 likelihoods, step 7 teaching fields


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON atomically (temp file + rename): a killed run leaves the old file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); delete it to redo that step") from None


def load_or_run(
    path: Path, run: Callable[[], dict[str, Any]], *, header: dict[str, Any], echo: Callable[[str], None]
) -> dict[str, Any]:
    """The step stored at ``path`` when a previous run finished it, else ``run()`` saved there."""
    label = header["name"]
    if path.exists():
        echo(f"step {header['step']} ({label}): done before, kept ({path.name})")
        return dict(read_json(path))
    data = {**header, **run()}
    write_json(path, data)
    echo(f"step {header['step']} ({label}): done")
    return data


def check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Refuse to mix two different runs in one folder; the first run writes ``run.json``."""
    path = out / "run.json"
    if not path.exists():
        write_json(path, manifest)
        return
    old = read_json(path)
    for key, value in manifest.items():
        if old.get(key) != value:
            raise ConfigError(
                f"{path}: this folder holds a run with {key}={old.get(key)!r}, not {value!r}; "
                "use another --out (or delete the folder)"
            )


def _md_list(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items)


def render_report(summary: dict[str, Any], steps: dict[str, dict[str, Any]]) -> str:
    """A short human-readable report of the run (``report.md``)."""
    s = summary
    lines = [
        f"# Assessment: {s['topic']}",
        "",
        f"**Pipeline**: {s['pipeline']} | **Success Rate**: {s['success_rate']} | "
        f"**Differentiated**: {'yes' if s['differentiated'] else 'no'} "
        f"(strong - weak >= {s['min_differentiation']:g} on the judge's 0-10 scale)",
        "",
        f"Models: strong `{s['models']['strong']}`, weak `{s['models']['weak']}`, judge `{s['models']['judge']}`. "
        f"Steps completed: {s['steps_completed']}/7. "
        f"LLM requests sent: {s['requests']['sent']}, answered from the cache: {s['requests']['cache_hits']}.",
        "",
        "| attempt | status | strong | weak | gap | note |",
        "|---|---|---|---|---|---|",
    ]
    for a in s["attempts"]:
        fmt = lambda v: "" if v is None else f"{v:g}"  # noqa: E731
        lines.append(
            f"| {a['attempt']} | {a['status']} | {fmt(a['strong_score'])} | {fmt(a['weak_score'])} "
            f"| {fmt(a['gap'])} | {a.get('error') or ''} |"
        )
    if "1" in steps:
        lines += ["", "## Step 1: difficulty categories"]
        for level, items in steps["1"]["categories"].items():
            lines += ["", f"**{level}**", _md_list(items)]
    if "2" in steps:
        errs = [
            e["error"]
            + (f" (impact: {e['impact']})" if e.get("impact") else "")
            + f" — likelihood {e['likelihood']}"
            for e in steps["2"]["errors"]
        ]
        lines += ["", "## Step 2: error catalog", "", _md_list(errs)]
    if "3" in steps:
        lines += ["", f"## Step 3: challenge (attempt {steps['3']['attempt']})", "", steps["3"]["text"]]
    if "6" in steps:
        j = steps["6"]
        lines += [
            "",
            "## Step 6: judge",
            "",
            f"- strong: {j['strong_score']:g}/10 — {j['strong_rationale']}",
            f"- weak: {j['weak_score']:g}/10 — {j['weak_rationale']}",
        ]
    if "7" in steps:
        a = steps["7"]
        lines += [
            "",
            f"## Step 7: student assessment ({a['total_errors']} error spans, about {a['estimated_minutes']} minutes)",
            "",
        ]
        lines += [
            f"{e['id']}. line {e['line']}: `{e['span']}` — {e['severity']}, {e['concept']}: {e['description']} "
            f"Fix: `{e['fix']}`. Learning: {e['learning_value']} ({e['minutes']} min)"
            for e in a["errors"]
        ]
    elif s.get("step7"):
        lines += ["", f"Step 7: {s['step7']}"]
    return "\n".join(lines) + "\n"
