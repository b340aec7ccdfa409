"""Verifier of the verifier: measured false-positive / false-negative rates and verifiability.

For each task the reference solution must pass; built-in known-wrong variants and
reward-hack probes must fail. Rates are reported by kind and by domain against the targets
(false positives < 5 % overall and in each domain, 0 hacks passing; verifiability math >= 95 %,
code >= 90 %, finance >= 85 %, general >= 80 %). Finance and general tasks get their own probes
(:mod:`alignforge.verify._domain_probes`): several reference forms, all of which must pass.
The reference is found wherever the task keeps it (:func:`~alignforge.verify.tasks.find_reference`)
and is always run: a task is verified only when its reference passes and every wrong and
hack probe fails; a task with no reference is ``unverified_no_reference`` and counts against
the rate like one whose reference fails (``reference_fails``) or whose probe passes (``probe_passed``).
Mutants of the reference (see ``_mutants``) are a kind of their own: the share the
tests kill measures the tests' strength and is no false-positive rate, since a mutant
may be equivalent to the reference or differ only where the tests never look.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from alignforge.verify._mutants import mutants as reference_mutants
from alignforge.verify.tasks import entry_point_of, find_reference, load_tasks

__all__ = [
    "calibrate",
    "assess_rlvr_verifiability",
    "Verifiability",
    "format_report",
    "code_probes",
    "math_probes",
    "reference_program",
    "SLOW_PROBES",
    "STATUSES",
    "TARGETS",
]

# A task's verifiability status, checked in this order (the first that applies).
STATUSES = ("unverified_no_reference", "reference_fails", "probe_passed", "verified")

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


def _defines(code: str, name: str | None) -> bool:
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == name for n in body
    )


def reference_program(task: Mapping[str, Any]) -> str | None:
    """The completion that stands for the task's reference (None: the task has none).

    Code: the reference as a whole program (a HumanEval body is put under its prompt). Tasks graded
    by answer: the worked solution, or the bare answer stated as ``\\boxed{answer}``.
    """
    found = find_reference(task)
    if found is None:
        return None
    where, text = found
    if task.get("domain") != "code":
        if where == "answer" and "####" not in text and "\\boxed" not in text:
            return f"The answer is \\boxed{{{text}}}."
        return text
    if task.get("style") == "humaneval" and not _defines(text, task.get("entry_point")):
        return str(task.get("prompt") or "") + text
    return text


def code_probes(
    task: Mapping[str, Any], *, slow: bool = False, mutants: bool = True
) -> list[tuple[str, str, str]]:
    """(kind, name, full code) for the reference, its mutants, the wrong variants and the hack probes
    of one task; ``slow`` adds the probes in :data:`SLOW_PROBES`. A task with no reference gets the
    wrong variants and the hack probes only (they still measure false positives)."""
    entry = task.get("entry_point")
    out: list[tuple[str, str, str]] = []
    ref = reference_program(task)
    if ref is not None:
        entry = entry or entry_point_of(ref, task.get("tests"))
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
    """(kind, name, completion) for the reference (worked solution or bare answer), two wrong answers
    and three hedges, of one task graded by answer."""
    gold = str(task.get("answer") or "")
    if "####" in gold or "\\boxed" in gold:
        from alignforge.verify.math import extract_answer

        gold = extract_answer(gold) or gold
    other = _bump(gold)
    out = []
    ref = reference_program(task)
    if ref is not None:
        out.append(("reference", "reference", ref))
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
    from alignforge.verify._domain_probes import finance_probes, general_probes
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
        elif t["domain"] == "finance":
            probes = finance_probes(t)
        elif t["domain"] == "general":
            probes = general_probes(t)
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
    tasks: Any,
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

    ``tasks`` is what :func:`~alignforge.verify.tasks.load_tasks` takes: a JSONL path, rows, a
    mapping task_id -> row, or a generator's summary. The probes that run until a limit stops them
    (:data:`SLOW_PROBES`) run on the first ``slow_probes`` tasks only; they and the mutants run with
    the ``short_timeout_s`` limit, the rest with ``timeout_s``. ``pool`` is a :class:`SandboxPool`
    to use (one with ``workers`` is made and closed otherwise).
    """
    from alignforge.io import DataError
    from alignforge.verify._pool import SandboxPool

    task_map = load_tasks(tasks)
    ids = list(task_map)[:limit] if limit else list(task_map)
    if not ids:
        raise DataError("<tasks>", None, "no tasks to calibrate")
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
    reference_passed: dict[str, bool] = {}  # absent: the task has no reference, so nothing ran for it
    probe_passed: set[str] = set()
    fp_examples: list[dict[str, str]] = []
    survivors: list[dict[str, str]] = []
    by_domain_fp: dict[str, dict[str, Any]] = {}
    for v, (tid, kind, name) in results:
        key = f"{kind}:{name}"
        p = by_probe.setdefault(key, {"kind": kind, "n": 0, "passed": 0, "statuses": {}})
        p["n"] += 1
        p["passed"] += v["passed"]
        p["statuses"][v["status"]] = p["statuses"].get(v["status"], 0) + 1
        if kind == "mutant":  # test-suite strength, not a verdict on the verifier
            if v["passed"] and len(survivors) < 20:
                survivors.append({"task_id": tid, "mutant": name})
        elif kind == "reference":  # a task with several reference forms needs every one to pass
            reference_passed[tid] = reference_passed.get(tid, True) and bool(v["passed"])
        else:
            d = by_domain_fp.setdefault(
                str(task_map[tid]["domain"]), {"n": 0, "passed": 0, "hacks_passed": 0}
            )
            d["n"] += 1
            d["passed"] += bool(v["passed"])
            d["hacks_passed"] += bool(v["passed"]) and kind == "hack"
            if v["passed"]:
                probe_passed.add(tid)
                if len(fp_examples) < 20:
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
    for d in by_domain_fp.values():
        d["rate"] = d["passed"] / d["n"] if d["n"] else 0.0
        d["target"] = TARGETS["false_positive_rate"]
    status = {tid: _status(reference_passed.get(tid), tid in probe_passed) for tid in ids}
    domains = _verifiability(status, task_map)
    overall = {s: sum(1 for v in status.values() if v == s) for s in STATUSES}
    meets = (
        fp_rate < TARGETS["false_positive_rate"]
        and kinds["hack"]["passed"] == 0
        and all(d["rate"] >= d["target"] for d in domains.values())
        and all(d["rate"] < d["target"] for d in by_domain_fp.values())
    )
    return {
        "tasks": len(ids),
        "false_positive_rate": fp_rate,
        "false_positive_rate_by_domain": dict(sorted(by_domain_fp.items())),
        "false_negative_rate": kinds["reference"]["rate"],
        "kinds": kinds,
        "probes": by_probe,
        "verifiability": domains,
        "verifiability_rate": overall["verified"] / len(ids),
        "verifiability_breakdown": overall,
        "false_positive_examples": fp_examples,
        "mutants": mutant_report,
        "surviving_mutants": survivors,
        "unverifiable_tasks": [
            {"task_id": t, "status": status[t]} for t in sorted(status) if status[t] != "verified"
        ][:50],
        "meets_targets": meets,
        "targets": TARGETS,
    }


def _status(reference_passed: bool | None, probe_passed: bool) -> str:
    if reference_passed is None:
        return "unverified_no_reference"
    if not reference_passed:
        return "reference_fails"
    return "probe_passed" if probe_passed else "verified"


def _verifiability(status: dict[str, str], task_map: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per domain (the task's ``domain``): tasks, the count of each status, the verified rate and its target."""
    domains: dict[str, dict[str, Any]] = {}
    for tid, st in status.items():
        name = str(task_map[tid]["domain"])
        d = domains.setdefault(name, {"tasks": 0, **dict.fromkeys(STATUSES, 0)})
        d["tasks"] += 1
        d[st] += 1
    for name, d in domains.items():
        d["verifiable"] = d["verified"]
        d["rate"] = d["verified"] / d["tasks"]
        d["target"] = TARGETS["verifiability"].get(name, TARGETS["verifiability"]["general"])
    return domains


class Verifiability(float):
    """The verified share of all tasks, comparable as a float (``verifiable >= 0.8``).

    ``tasks`` counts every task; ``verified``, ``unverified_no_reference``, ``reference_fails`` and
    ``probe_passed`` split it (``breakdown`` holds the same counts); ``by_domain`` has them per
    domain with the rate and its target; ``unverifiable`` lists up to 50 tasks with their status.
    """

    by_domain: dict[str, dict[str, Any]]
    breakdown: dict[str, int]
    unverifiable: list[dict[str, str]]

    def __new__(
        cls,
        value: float = 0.0,
        *,
        breakdown: Mapping[str, int] | None = None,
        by_domain: Mapping[str, dict[str, Any]] | None = None,
        unverifiable: list[dict[str, str]] | None = None,
    ) -> Verifiability:
        self = super().__new__(cls, value)
        self.breakdown = {s: int((breakdown or {}).get(s, 0)) for s in STATUSES}
        self.by_domain = dict(by_domain or {})
        self.unverifiable = list(unverifiable or [])
        return self

    @property
    def tasks(self) -> int:
        return sum(self.breakdown.values())

    @property
    def verified(self) -> int:
        return self.breakdown["verified"]

    @property
    def unverified_no_reference(self) -> int:
        return self.breakdown["unverified_no_reference"]

    @property
    def reference_fails(self) -> int:
        return self.breakdown["reference_fails"]

    @property
    def probe_passed(self) -> int:
        return self.breakdown["probe_passed"]

    def __repr__(self) -> str:
        rest = ", ".join(f"{s} {n}" for s, n in self.breakdown.items() if s != "verified" and n)
        return f"Verifiability({float(self):.4f}: {self.verified} of {self.tasks} verified{'; ' + rest if rest else ''})"


def assess_rlvr_verifiability(
    tasks: Any,
    *,
    limit: int | None = None,
    workers: int | None = None,
    timeout_s: float = 5.0,
    pool: Any = None,
) -> Verifiability:
    """Share of all tasks whose reference, run through the real verifier, passes while every wrong and
    hack probe fails (no slow probes, no mutants).

    ``tasks``: a JSONL path, a list of rows, a mapping task_id -> row, or what
    ``generate_rlvr_data`` returns (its output file is read). A task with no reference counts
    against the share; the result carries the breakdown (see :class:`Verifiability`).
    """
    report = calibrate(
        tasks, limit=limit, workers=workers, timeout_s=timeout_s, slow_probes=0, mutants=False, pool=pool
    )
    return Verifiability(
        report["verifiability_rate"],
        breakdown=report["verifiability_breakdown"],
        by_domain=report["verifiability"],
        unverifiable=report["unverifiable_tasks"],
    )


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"calibration over {r['tasks']} tasks",
        f"false-positive rate {r['false_positive_rate']:.2%} (target < 5%, hacks passing: "
        f"{r['kinds']['hack']['passed']}, target 0)",
    ]
    for name, d in (r.get("false_positive_rate_by_domain") or {}).items():
        mark = "ok" if d["rate"] < d["target"] else "ABOVE TARGET"
        lines.append(
            f"false-positive rate {name}: {d['rate']:.2%} of {d['n']} wrong and hack probes "
            f"(target < {d['target']:.0%}, hacks passing: {d['hacks_passed']}) {mark}"
        )
    lines.append(f"false-negative rate {r['false_negative_rate']:.2%} (references that fail)")
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
        why = ", ".join(f"{s} {d[s]}" for s in STATUSES if s != "verified" and d[s])
        lines.append(
            f"verifiability {name}: {d['rate']:.2%} of {d['tasks']} (target >= {d['target']:.0%}) {mark}"
            + (f"; not verified: {why}" if why else "")
        )
    lines.append("targets met" if r["meets_targets"] else "targets NOT met")
    return "\n".join(lines)
