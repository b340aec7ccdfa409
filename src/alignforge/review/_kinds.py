"""Per kind of file: the strata, what the machine said about a row, what "agree" means, what to show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from alignforge.records import text_of

__all__ = ["KINDS", "AGREE_MEANS", "BY_DEFAULT", "stratum_of", "build_item", "SFT_PASS_SCORE"]

KINDS = ("dpo", "kto", "sft", "verdict", "decontam")

AGREE_MEANS = {
    "dpo": "a: the chosen answer is better than the rejected one (the judge's preference)",
    "kto": "a: the completion deserves its label (desirable / undesirable)",
    "sft": "a: the completion deserves its score band (acceptable at judge score >= 8.0 of 10, else not)",
    "verdict": "a: the verifier's passed / failed is right for this completion",
    "decontam": "a: the match is real contamination (the training text copies the benchmark item)",
}

BY_DEFAULT: dict[str, tuple[str, ...]] = {
    "dpo": ("strategy", "flaw_type", "band", "domain"),
    "kto": ("label", "band", "domain"),
    "sft": ("band", "domain"),
    "verdict": ("status", "domain"),
    "decontam": ("benchmark", "method"),
}

SFT_PASS_SCORE = 8.0  # the sft_data row gate: 0.80 on a 0-1 scale, 8.0 on the judge's 0-10
_MAX_TEXT = 100_000


def _meta(row: dict[str, Any], key: str) -> Any:
    meta = row.get("metadata")
    if isinstance(meta, dict) and meta.get(key) is not None:
        return meta[key]
    return row.get(key)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _band(kind: str, row: dict[str, Any]) -> str:
    if kind == "dpo":
        c, r = _num(_meta(row, "chosen_score")), _num(_meta(row, "rejected_score"))
        if c is None or r is None:
            return "unscored"
        gap = c - r
        return "gap<3" if gap < 3 else "gap 3-5" if gap < 5 else "gap>=5"
    score = _num(_meta(row, "score"))
    if score is None:
        return "unscored"
    return "<6" if score < 6 else "6-8" if score < SFT_PASS_SCORE else ">=8"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text[:60]


def stratum_of(
    kind: str, row: dict[str, Any], fields: Sequence[str], *, tasks: dict[str, Any] | None = None
) -> dict[str, str]:
    """The row's value for each stratification field that it has (``band`` is computed).

    A verdict row lacking a field (``domain``, usually) takes it from its task, when ``tasks`` are given.
    """
    out: dict[str, str] = {}
    for name in fields:
        if name == "band" and kind in ("dpo", "kto", "sft"):
            out[name] = _band(kind, row)
        elif kind == "decontam" and name in ("benchmark", "method", "field"):
            out[name] = _value(row["contamination"][0].get(name, "-"))
        elif kind == "kto" and name == "label":
            out[name] = "desirable" if row["label"] else "undesirable"
        else:
            value = _meta(row, name)
            if value is None and tasks and kind == "verdict":
                value = _meta(tasks.get(str(row["task_id"])) or {}, name)
            if value is not None:
                out[name] = _value(value)
    return out


def _text(value: Any) -> str:
    """Plain text; a conversation shows each turn as 'role: content'."""
    if isinstance(value, list):
        text = "\n\n".join(
            f"{m.get('role', '?')}: {m.get('content', '')}" if isinstance(m, dict) else str(m) for m in value
        )
    else:
        text = text_of(value)
    if len(text) > _MAX_TEXT:
        text = f"{text[:_MAX_TEXT]}\n[... {len(text) - _MAX_TEXT:,} more characters not shown]"
    return text


def _score(row: dict[str, Any], key: str) -> str:
    v = _num(_meta(row, key))
    return "no score" if v is None else f"judge {v:g}/10"


def build_item(
    kind: str, row: dict[str, Any], *, extra: dict[str, Any], benches: dict[str, dict[str, str]]
) -> tuple[str, bool, list[dict[str, str]]]:
    """(machine label, whether it is the positive label, fields to show as ``{label, text}``)."""
    f: list[dict[str, str]] = []
    if kind == "dpo":
        f.append({"label": "Prompt", "text": _text(row["prompt"])})
        f.append({"label": f"Chosen ({_score(row, 'chosen_score')})", "text": _text(row["chosen"])})
        f.append({"label": f"Rejected ({_score(row, 'rejected_score')})", "text": _text(row["rejected"])})
        for key in ("strategy", "flaw_type", "rationale", "judge_rationale"):
            if _meta(row, key) is not None:
                f.append({"label": key.replace("_", " ").capitalize(), "text": _text(str(_meta(row, key)))})
        return "chosen better", True, f
    if kind in ("kto", "sft"):
        if "messages" in row:
            f.append({"label": "Conversation", "text": _text(row["messages"])})
        else:
            f.append({"label": "Prompt", "text": _text(row["prompt"])})
            f.append({"label": "Completion", "text": _text(row["completion"])})
        f.append({"label": "Score", "text": _score(row, "score")})
        if kind == "kto":
            positive = bool(row["label"])
            return ("desirable" if positive else "undesirable"), positive, f
        score = _num(_meta(row, "score"))
        positive = score is None or score >= SFT_PASS_SCORE
        label = "kept, unscored" if score is None else ("acceptable" if positive else "not acceptable")
        return label, positive, f
    if kind == "verdict":
        tid = str(row["task_id"])
        task = extra.get("tasks", {}).get(tid)
        idx = int(row.get("sample_index") or 0)
        completion = extra.get("completions", {}).get((tid, idx))
        f.append({"label": "Task", "text": tid if task is None else f"{tid}\n\n{_text(task.get('prompt'))}"})
        if completion is not None:
            f.append({"label": f"Completion (sample {idx})", "text": _text(completion)})
        else:
            f.append({"label": "Completion", "text": "(not loaded: pass --completions to show it)"})
        status = str(row["status"])
        f.append({"label": "Verdict", "text": f"{status}, reward {row.get('reward', '-')}"})
        failing = [t for t in row.get("tests") or [] if isinstance(t, dict) and t.get("outcome") != "passed"]
        if failing:
            t = failing[0]
            f.append(
                {
                    "label": f"Failing test ({len(failing)} of {len(row.get('tests') or [])})",
                    "text": _text(
                        f"{t.get('name', '?')}: {t.get('outcome', '?')}\n{t.get('detail', '')}".strip()
                    ),
                }
            )
        if row.get("detail"):
            f.append({"label": "Detail", "text": _text(str(row["detail"]))})
        return ("passed" if row["passed"] else "failed"), bool(row["passed"]), f
    # decontam: one removed training row with every match it carries
    f.append({"label": "Training row", "text": f"row {row.get('row', '?')}, line {row.get('line', '?')}"})
    for i, m in enumerate(row["contamination"], 1):
        head = f"Match {i}: {m.get('benchmark')} item {m.get('item_id')} ({m.get('method', '?')}"
        for key in ("coverage", "similarity"):
            if key in m:
                head += f", {key} {m[key]}"
        f.append({"label": f"{head}) - training span", "text": _text(str(m.get("span", "")))})
        bench_text = benches.get(str(m.get("benchmark")), {}).get(str(m.get("item_id")))
        f.append(
            {
                "label": f"Match {i}: benchmark item text",
                "text": "(the benchmark has no such item id)" if bench_text is None else _text(bench_text),
            }
        )
    return "contaminated", True, f
