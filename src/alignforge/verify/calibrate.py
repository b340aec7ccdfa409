"""Verifier of the verifier: measured false-positive / false-negative rates and verifiability.

For each task the reference solution must pass; built-in known-wrong variants and
reward-hack probes must fail. Rates are reported by kind against the targets
(false positives < 5 %, 0 hacks passing; verifiability math >= 95 %, code >= 90 %).
Mutants of the reference (see ``_mutants``) are a kind of their own: the share the
tests kill measures the tests' strength and is no false-positive rate, since a mutant
may be equivalent to the reference or differ only where the tests never look.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from alignforge.verify._mutants import mutants as reference_mutants
from alignforge.verify.tasks import load_tasks

__all__ = [
    "calibrate",
    "assess_rlvr_verifiability",
    "Verifiability",
    "format_report",
    "code_probes",
    "math_probes",
    "SLOW_PROBES",
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
    "print_passed_ok": "print('passed')\n    print('OK')\n    print('All tests passed')\n    import os\n"
    "    os._exit(0)",
}
# Each runs until a limit stops it, so they run on the first few tasks only, with a short time limit.
_SLOW_HACKS = {
    "ignore_alarm_loop": "import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
    "    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n    while True:\n        pass",
    "fork_loop": "import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n"
    "            pass",
    "stdout_flood": "import sys\n    while True:\n        sys.stdout.write('passed\\nOK\\n' * 1000)",
    "unbounded_allocation": "x = []\n    while True:\n        x.append(bytes(1 << 26))",
}
# The reference solution behind a hack at import: it passes only if the sandbox lets the hack through.
_GUARDED = {
    "network_socket": "import socket as _s\n_c = _s.socket(_s.AF_INET, _s.SOCK_DGRAM)\n"
    "_c.connect(('127.0.0.1', 9))  # needs a route: none in a network namespace with no interface up\n",
}
_SLOW_GUARDED = {"sleep_past_timeout": "import time as _t\n_t.sleep(3600)\n"}
SLOW_PROBES = frozenset(_SLOW_HACKS) | frozenset(_SLOW_GUARDED)


def _full_def(entry: str, body: str) -> str:
    return f"def {entry}(*args, **kwargs):\n    {body}\n"


def code_probes(
    task: Mapping[str, Any], *, slow: bool = False, mutants: bool = True
) -> list[tuple[str, str, str]]:
    """(kind, name, full code) for the reference, its mutants, the wrong variants and the hack probes
    of one task; ``slow`` adds the probes in :data:`SLOW_PROBES`."""
    entry = task.get("entry_point")
    out: list[tuple[str, str, str]] = []
    if task.get("solution"):
        ref = task["solution"]
        if task.get("style") == "humaneval":
            ref = task["prompt"] + ref
        out.append(("reference", "reference", ref))
        if mutants:
            out += [("mutant", name, code) for name, code in reference_mutants(ref, entry)]
        guarded = {**_GUARDED, **(_SLOW_GUARDED if slow else {})}
        out += [("hack", name, head + ref) for name, head in guarded.items()]
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
        ("hack", "answer_then_boxed", f"The answer is {other}. So \\boxed{{{gold}}}"),
        (
            "hack",
            "hedged_list",
            f"#### {other}\nThe answer is {gold}."
            if task.get("source") == "gsm8k"
            else f"\\boxed{{{other}}} The answer is {gold}",
        ),
    ]
    return out


def _run_probes(
    task_map: dict[str, Any],
    ids: list[str],
    *,
    pool: Any,
    workers: int | None,
    timeout_s: float,
    slow_probes: int,
    short_timeout_s: float,
    mutants: bool,
) -> list[tuple[dict[str, Any], tuple[str, str, str]]]:
    """(verdict, (task_id, kind, probe name)) for every probe; the slow probes and the mutants with
    the short limit (a mutant that loops is killed by a time limit either way)."""
    from alignforge.verify.engine import verify_completions

    batches: dict[bool, tuple[list[dict[str, Any]], list[tuple[str, str, str]]]] = {
        False: ([], []),
        True: ([], []),
    }
    n_rows = 0
    for n, tid in enumerate(ids):
        t = task_map[tid]
        if t["domain"] == "code":
            probes = code_probes(t, slow=n < slow_probes, mutants=mutants)
        else:
            probes = math_probes(t)
        for kind, name, code in probes:
            rows, meta = batches[name in SLOW_PROBES or kind == "mutant"]
            rows.append(
                {"task_id": tid, "completion": code, "completion_style": "full", "sample_index": n_rows}
            )
            meta.append((tid, kind, name))
            n_rows += 1
    out: list[tuple[dict[str, Any], tuple[str, str, str]]] = []
    for short, (rows, meta) in batches.items():
        if rows:
            limit = min(timeout_s, short_timeout_s) if short else timeout_s
            verdicts = verify_completions(
                task_map, rows, pool=pool, workers=workers, timeout_s=limit, retry_timeouts=False
            )
            out += zip(verdicts, meta, strict=True)
    return out


def calibrate(
    tasks: str | os.PathLike[str] | Mapping[str, Any],
    *,
    limit: int | None = None,
    workers: int | None = None,
    timeout_s: float = 5.0,
    slow_probes: int = 2,
    short_timeout_s: float = 1.0,
    mutants: bool = True,
    pool: Any = None,
) -> dict[str, Any]:
    """Run every probe; report rates by kind and probe, verifiability by domain, and the targets.

    The probes that run until a limit stops them (:data:`SLOW_PROBES`) run on the first
    ``slow_probes`` tasks only; they and the mutants run with the ``short_timeout_s`` limit, the
    rest with ``timeout_s``. ``pool`` is a :class:`SandboxPool` to use (one with ``workers`` is
    made and closed otherwise).
    """
    from alignforge.verify._pool import SandboxPool

    task_map = load_tasks(tasks)
    ids = list(task_map)[:limit] if limit else list(task_map)
    own = pool is None and any(task_map[t]["domain"] == "code" for t in ids)
    if own:
        pool = SandboxPool(workers)
    try:
        results = _run_probes(
            task_map,
            ids,
            pool=pool,
            workers=workers,
            timeout_s=timeout_s,
            slow_probes=slow_probes,
            short_timeout_s=short_timeout_s,
            mutants=mutants,
        )
    finally:
        if own:
            pool.close()
    by_probe: dict[str, dict[str, Any]] = {}
    per_task: dict[str, bool] = {}
    fp_examples: list[dict[str, str]] = []
    survivors: list[dict[str, str]] = []
    for v, (tid, kind, name) in results:
        key = f"{kind}:{name}"
        p = by_probe.setdefault(key, {"kind": kind, "n": 0, "passed": 0, "statuses": {}})
        p["n"] += 1
        p["passed"] += v["passed"]
        p["statuses"][v["status"]] = p["statuses"].get(v["status"], 0) + 1
        if kind == "mutant":  # test-suite strength, not a verdict on the verifier
            if v["passed"] and len(survivors) < 20:
                survivors.append({"task_id": tid, "mutant": name})
            continue
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
    n_mut = sum(p["n"] for p in by_probe.values() if p["kind"] == "mutant")
    survived = sum(p["passed"] for p in by_probe.values() if p["kind"] == "mutant")
    mutant_report = {
        "n": n_mut,
        "killed": n_mut - survived,
        "kill_rate": (n_mut - survived) / n_mut if n_mut else 0.0,
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
        "mutants": mutant_report,
        "surviving_mutants": survivors,
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
    report = calibrate(tasks, limit=limit, workers=workers, slow_probes=0, mutants=False)
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
    m = r.get("mutants") or {}
    if m.get("n"):
        lines.append(
            f"mutants killed {m['killed']}/{m['n']} ({m['kill_rate']:.2%}); a surviving mutant points to "
            "weak tests (test-suite strength), not to a false positive"
        )
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
