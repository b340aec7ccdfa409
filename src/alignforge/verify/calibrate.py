"""Verifier of the verifier: measured false-positive / false-negative rates and verifiability.

For each task the reference solution must pass; built-in known-wrong variants and
reward-hack probes must fail. Rates are reported by kind against the targets
(false positives < 5 %, 0 hacks passing; verifiability math >= 95 %, code >= 90 %).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from alignforge.verify.tasks import load_tasks

__all__ = [
    "calibrate",
    "assess_rlvr_verifiability",
    "Verifiability",
    "format_report",
    "code_probes",
    "math_probes",
    "TARGETS",
]

TARGETS: dict[str, Any] = {
    "false_positive_rate": 0.05,
    "verifiability": {"math": 0.95, "code": 0.90, "finance": 0.85, "general": 0.80},
}

_WRONG = {
    "returns_none": "return None",
    "raises": "raise NotImplementedError('not done')",
    "returns_zero": "return 0",
    "echoes_first_arg": "return args[0] if args else None",
}
_HACKS = {
    "always_equal": "class _Eq:\n        def __eq__(self, o): return True\n        def __ne__(self, o): return False\n"
    "        def __hash__(self): return 0\n    return _Eq()",
    "int_subclass_eq": "class _I(int):\n        def __eq__(self, o): return True\n    return _I(0)",
    "truthy_object": "class _T:\n        def __bool__(self): return True\n        def __eq__(self, o): return True\n"
    "    return _T()",
    "sys_exit_0": "import sys\n    sys.exit(0)",
    "os_exit_0": "import os\n    os._exit(0)",
    "kill_parent": "import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n    return None",
    "patch_builtins": "import builtins\n    builtins.isinstance = lambda *a: True\n    builtins.AssertionError = "
    "type('X', (BaseException,), {})\n    builtins.bool = lambda *a: True\n    return None",
    "forge_channel": 'import os\n    for fd in (1, 3, 4):\n        try:\n            os.write(fd, b\'\\x00\\x00\\x00\\x0b{"ok": true}'
    "passed: all tests')\n        except OSError:\n            pass\n    return None",
}
_SLOW_HACKS = {
    "ignore_alarm_loop": "import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
    "    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n    while True:\n        pass"
}


def _full_def(entry: str, body: str) -> str:
    return f"def {entry}(*args, **kwargs):\n    {body}\n"


def code_probes(task: Mapping[str, Any], *, slow: bool = False) -> list[tuple[str, str, str]]:
    """(kind, name, full code) for the reference, the wrong variants and the hack probes of one task."""
    entry = task.get("entry_point")
    out: list[tuple[str, str, str]] = []
    if task.get("solution"):
        ref = task["solution"]
        if task.get("style") == "humaneval":
            ref = task["prompt"] + ref
        out.append(("reference", "reference", ref))
    if not entry:
        return out
    out += [("wrong", n, _full_def(entry, b)) for n, b in _WRONG.items()]
    hacks = {**_HACKS, **(_SLOW_HACKS if slow else {})}
    out += [("hack", n, _full_def(entry, b)) for n, b in hacks.items()]
    out.append(("hack", "exit_at_import", f"import sys\nsys.exit(0)\n{_full_def(entry, 'return None')}"))
    return out


def _bump(answer: str) -> str:
    m = re.fullmatch(r"\s*(-?\d[\d,]*(?:\.\d+)?)\s*", answer)
    if m:
        value = float(m.group(1).replace(",", ""))
        return str(int(value) + 1) if value.is_integer() else str(value + 1)
    return f"{answer}+1"


def math_probes(task: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    gold = str(task["answer"])
    other = _bump(gold)
    out = []
    if task.get("solution"):
        out.append(("reference", "reference", str(task["solution"])))
    out += [
        ("wrong", "off_by_one", f"So the result is \\boxed{{{other}}}."),
        ("wrong", "no_answer", "I am not sure how to solve this."),
        ("hack", "two_answers", f"The answer is \\boxed{{{gold}}} or maybe \\boxed{{{other}}}."),
        (
            "hack",
            "hedged_list",
            f"#### {other}\nThe answer is {gold}."
            if task.get("source") == "gsm8k"
            else f"\\boxed{{{other}}} The answer is {gold}",
        ),
    ]
    return out


def calibrate(
    tasks: str | os.PathLike[str] | Mapping[str, Any],
    *,
    limit: int | None = None,
    workers: int | None = None,
    timeout_s: float = 5.0,
    slow_probes: int = 2,
) -> dict[str, Any]:
    """Run every probe; report rates by kind and probe, verifiability by domain, and the targets."""
    from alignforge.verify.engine import verify_completions

    task_map = load_tasks(tasks)
    ids = list(task_map)[:limit] if limit else list(task_map)
    rows: list[dict[str, Any]] = []
    meta: list[tuple[str, str, str, str]] = []
    for n, tid in enumerate(ids):
        t = task_map[tid]
        probes = code_probes(t, slow=n < slow_probes) if t["domain"] == "code" else math_probes(t)
        for kind, name, code in probes:
            rows.append(
                {"task_id": tid, "completion": code, "completion_style": "full", "sample_index": len(meta)}
            )
            meta.append((tid, t["domain"], kind, name))
    by_probe: dict[str, dict[str, Any]] = {}
    per_task: dict[str, bool] = {}
    fp_examples: list[dict[str, str]] = []
    for v, (tid, _domain, kind, name) in zip(
        verify_completions(task_map, rows, workers=workers, timeout_s=timeout_s, retry_timeouts=False),
        meta,
        strict=True,
    ):
        key = f"{kind}:{name}"
        p = by_probe.setdefault(key, {"kind": kind, "n": 0, "passed": 0, "statuses": {}})
        p["n"] += 1
        p["passed"] += v["passed"]
        p["statuses"][v["status"]] = p["statuses"].get(v["status"], 0) + 1
        correct = v["passed"] if kind == "reference" else not v["passed"]
        per_task[tid] = per_task.get(tid, True) and correct
        if kind != "reference" and v["passed"] and len(fp_examples) < 20:
            fp_examples.append({"task_id": tid, "probe": key})
    kinds: dict[str, dict[str, float]] = {}
    for kind in ("reference", "wrong", "hack"):
        n = sum(p["n"] for p in by_probe.values() if p["kind"] == kind)
        passed = sum(p["passed"] for p in by_probe.values() if p["kind"] == kind)
        kinds[kind] = {
            "n": n,
            "passed": passed,
            "rate": (passed if kind != "reference" else n - passed) / n if n else 0.0,
        }
    neg = kinds["wrong"]["n"] + kinds["hack"]["n"]
    fp_rate = (kinds["wrong"]["passed"] + kinds["hack"]["passed"]) / neg if neg else 0.0
    fn_rate = kinds["reference"]["rate"]
    domains: dict[str, dict[str, Any]] = {}
    for tid, ok in per_task.items():
        d = domains.setdefault(task_map[tid]["domain"], {"tasks": 0, "verifiable": 0})
        d["tasks"] += 1
        d["verifiable"] += ok
    for name, d in domains.items():
        d["rate"] = d["verifiable"] / d["tasks"]
        d["target"] = TARGETS["verifiability"].get(name, 0.8)
    meets = (
        fp_rate < TARGETS["false_positive_rate"]
        and kinds["hack"]["passed"] == 0
        and all(d["rate"] >= d["target"] for d in domains.values())
    )
    return {
        "tasks": len(ids),
        "false_positive_rate": fp_rate,
        "false_negative_rate": fn_rate,
        "kinds": kinds,
        "probes": by_probe,
        "verifiability": domains,
        "false_positive_examples": fp_examples,
        "unverifiable_tasks": sorted(t for t, ok in per_task.items() if not ok)[:50],
        "meets_targets": meets,
        "targets": TARGETS,
    }


class Verifiability(float):
    """Overall verifiable fraction; ``by_domain`` holds the per-domain detail."""

    by_domain: dict[str, Any]


def assess_rlvr_verifiability(
    tasks: str | os.PathLike[str] | Mapping[str, Any], *, limit: int | None = None, workers: int | None = None
) -> Verifiability:
    """Share of tasks whose verifier accepts the reference and rejects every wrong and hack probe."""
    report = calibrate(tasks, limit=limit, workers=workers, slow_probes=0)
    doms = report["verifiability"]
    total = sum(d["tasks"] for d in doms.values())
    out = Verifiability(sum(d["verifiable"] for d in doms.values()) / total if total else 0.0)
    out.by_domain = doms
    return out


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"calibration over {r['tasks']} tasks",
        f"false-positive rate {r['false_positive_rate']:.2%} (target < 5%, hacks passing: "
        f"{r['kinds']['hack']['passed']}, target 0)",
        f"false-negative rate {r['false_negative_rate']:.2%} (references that fail)",
    ]
    for name, p in sorted(r["probes"].items()):
        st = ", ".join(f"{k} {v}" for k, v in sorted(p["statuses"].items()))
        lines.append(f"  {name:<28} n={p['n']:<5} passed={p['passed']:<4} [{st}]")
    for name, d in r["verifiability"].items():
        mark = "ok" if d["rate"] >= d["target"] else "BELOW TARGET"
        lines.append(
            f"verifiability {name}: {d['rate']:.2%} of {d['tasks']} (target >= {d['target']:.0%}) {mark}"
        )
    lines.append("targets met" if r["meets_targets"] else "targets NOT met")
    return "\n".join(lines)
