"""RLVR tasks with verifiable rewards: procedural math with exact answers, code with sandbox-checked tests.

No LLM is needed. Every task is checked before it is written: a math answer must pass the
math verifier when stated plainly, a code task's reference solution must pass all of its
3-5 tests in the sandbox. Tasks that fail go to ``<out>.dropped.jsonl`` with the reason.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.generate._code_tasks import CODE_FAMILIES, make_code_task
from alignforge.generate._math_tasks import INSTRUCTION, MATH_GENERATORS, format_number
from alignforge.io import DataError, iter_jsonl, write_jsonl
from alignforge.stages import short_hash, side_paths

__all__ = ["generate_rlvr_data", "RLVRSummary", "VERIFICATION_TYPES"]

VERIFICATION_TYPES = {"math": ("math", "exact"), "code": ("tests", "code", "mbpp")}


@dataclass
class RLVRSummary:
    """What a run wrote. ``output`` is the tasks file; the summary is also a path-like object for it
    (``os.fspath(summary)``), so the seeds' ``assess_rlvr_verifiability(generate_rlvr_data(...))`` reads it."""

    written: int = 0
    dropped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def output(self) -> Path:
        """The tasks file (``outputs["out"]``)."""
        return Path(self.outputs["out"])

    def __fspath__(self) -> str:
        return self.outputs["out"]

    def lines(self) -> list[str]:
        out = [
            f"wrote {self.written} tasks to {self.outputs.get('out')} "
            f"({', '.join(f'{k}={v}' for k, v in sorted(self.by_source.items()))}); dropped {self.dropped}"
        ]
        if self.reasons:
            out.append("drop reasons: " + ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items())))
        return out


def _specs(input_file: str | os.PathLike[str] | None, domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Generator specs and given tasks from the input file, or ``n`` tasks spread over every generator."""
    if input_file is not None:
        rows = []
        for line, row in iter_jsonl(input_file):
            if not isinstance(row, dict):
                raise DataError(input_file, line, "expected a JSON object")
            rows.append({**row, "_line": line})
        return rows
    names = sorted(MATH_GENERATORS if domain == "math" else CODE_FAMILIES)
    counts = {k: n // len(names) + (1 if i < n % len(names) else 0) for i, k in enumerate(names)}
    key = "generator" if domain == "math" else "family"
    return [{key: k, "count": c, "seed": seed} for k, c in counts.items() if c]


def _math_rows(spec: dict[str, Any], vtype: str, path: Any) -> list[dict[str, Any]]:
    if "prompt" in spec:
        if "answer" not in spec:
            raise DataError(
                path, spec["_line"], "field 'answer': is missing (a math task needs its exact answer)"
            )
        tid = str(spec.get("task_id") or f"math/{short_hash(spec['prompt'])}")
        return [
            {
                "task_id": tid,
                "prompt": spec["prompt"],
                "answer": str(spec["answer"]),
                "domain": "math",
                "verification_type": vtype,
                "metadata": {"source": "input"},
            }
        ]
    gen = spec.get("generator")
    if gen not in MATH_GENERATORS:
        raise DataError(
            path,
            spec.get("_line"),
            f"field 'generator': expected one of {sorted(MATH_GENERATORS)}, got {gen!r}",
        )
    rng = random.Random(f"{gen}:{spec.get('seed', 0)}")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    want = int(spec.get("count", 1))
    for _ in range(want * 5):  # small parameter spaces repeat; draw again rather than write a duplicate
        if len(rows) >= want:
            break
        question, value = MATH_GENERATORS[gen](rng)
        answer = format_number(value)
        prompt = f"{question} {INSTRUCTION}"
        if prompt in seen:
            continue
        seen.add(prompt)
        rows.append(
            {
                "task_id": f"math/{gen}/{short_hash(prompt)}",
                "prompt": prompt,
                "answer": answer,
                "domain": "math",
                "verification_type": vtype,
                "metadata": {"generator": gen, "seed": spec.get("seed", 0)},
            }
        )
    return rows


def _code_rows(spec: dict[str, Any], vtype: str, path: Any) -> list[dict[str, Any]]:
    if "prompt" in spec:
        ref = spec.get("reference_solution") or spec.get("code") or spec.get("canonical_solution")
        if not ref or not spec.get("tests") or not spec.get("entry_point"):
            raise DataError(
                path,
                spec["_line"],
                "a code task needs prompt, tests, entry_point and reference_solution",
                field="tests",
            )
        tid = str(spec.get("task_id") or f"code/{short_hash(spec['prompt'])}")
        return [
            {
                "task_id": tid,
                "prompt": spec["prompt"],
                "entry_point": spec["entry_point"],
                "tests": list(spec["tests"]),
                "domain": "code",
                "verification_type": vtype,
                "metadata": {"source": "input", "reference_solution": ref},
            }
        ]
    fam = spec.get("family")
    if fam not in CODE_FAMILIES:
        raise DataError(
            path, spec.get("_line"), f"field 'family': expected one of {sorted(CODE_FAMILIES)}, got {fam!r}"
        )
    rng = random.Random(f"{fam}:{spec.get('seed', 0)}")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    want = int(spec.get("count", 1))
    for _ in range(want * 5):
        if len(rows) >= want:
            break
        t = make_code_task(fam, rng)
        prompt = f"{t.prompt}\nFor example:\n{t.tests[0]}"
        if prompt + repr(t.tests) in seen:
            continue
        seen.add(prompt + repr(t.tests))
        rows.append(
            {
                "task_id": f"code/{fam}/{short_hash(prompt, t.tests)}",
                "prompt": prompt,
                "entry_point": t.entry_point,
                "tests": t.tests,
                "domain": "code",
                "verification_type": vtype,
                "metadata": {"family": fam, "reference_solution": t.reference},
            }
        )
    return rows


def _check(rows: list[dict[str, Any]], domain: str, timeout_s: float) -> dict[str, str]:
    """task_id -> why the task is not verifiable (missing: it is)."""
    bad: dict[str, str] = {}
    if domain == "math":
        from alignforge.verify import verify_math

        for r in rows:
            v = verify_math(f"The answer is {r['answer']}.", r["answer"])
            if not v.passed:
                bad[r["task_id"]] = f"answer_not_verifiable: {v.detail}"
        return bad
    for r in rows:
        if not 3 <= len(r["tests"]) <= 5:
            bad[r["task_id"]] = f"tests_not_3_to_5: {len(r['tests'])}"
    todo = [r for r in rows if r["task_id"] not in bad]
    if todo:
        from alignforge.verify import verify_completions

        tasks = {r["task_id"]: {k: v for k, v in r.items() if k != "metadata"} for r in todo}
        comps = [
            {
                "task_id": r["task_id"],
                "completion": r["metadata"]["reference_solution"],
                "completion_style": "full",
            }
            for r in todo
        ]
        for verdict in verify_completions(tasks, comps, timeout_s=timeout_s):
            if not verdict["passed"]:
                bad[verdict["task_id"]] = f"reference_failed_tests: {verdict['status']}"
    return bad


def generate_rlvr_data(
    input_file: str | os.PathLike[str] | None,
    output_file: str | os.PathLike[str],
    domain: str = "math",
    verification_type: str | None = None,
    *,
    n: int = 100,
    seed: int = 0,
    timeout_s: float = 5.0,
) -> RLVRSummary:
    """Write verifiable RLVR tasks for ``domain`` (``math`` or ``code``) to ``output_file``.

    ``input_file`` may hold generator specs (``{"generator": "percent", "count": 20, "seed": 1}`` for
    math, ``{"family": "caesar", "count": 5}`` for code), ready tasks to check (math: ``prompt`` +
    ``answer``; code: ``prompt``, ``tests``, ``entry_point``, ``reference_solution``), or be ``None``
    for ``n`` tasks spread evenly over the built-in generators.
    """
    if domain not in VERIFICATION_TYPES:
        raise ConfigError(f"RLVR domain must be one of {sorted(VERIFICATION_TYPES)}, got {domain!r}")
    vtype = verification_type or VERIFICATION_TYPES[domain][0]
    if vtype not in VERIFICATION_TYPES[domain]:
        raise ConfigError(
            f"verification type {vtype!r} does not fit domain {domain!r}: use one of "
            f"{VERIFICATION_TYPES[domain]}"
        )
    paths = side_paths(output_file)
    make = _math_rows if domain == "math" else _code_rows
    rows: list[dict[str, Any]] = []
    for spec in _specs(input_file, domain, n, seed):
        rows.extend(make(spec, vtype, input_file))
    summary = RLVRSummary(outputs={k: str(v) for k, v in vars(paths).items()})
    seen: set[str] = set()
    bad = _check(rows, domain, timeout_s)
    kept, dropped = [], []
    for r in rows:
        reason = bad.get(r["task_id"]) or ("duplicate_task" if r["task_id"] in seen else None)
        seen.add(r["task_id"])
        if reason:
            dropped.append({**r, "metadata": {**r["metadata"], "drop_reason": reason}})
            key = reason.split(":", 1)[0]
            summary.reasons[key] = summary.reasons.get(key, 0) + 1
            continue
        r["metadata"]["reference_passed"] = True
        src = r["metadata"].get("generator") or r["metadata"].get("family") or "input"
        summary.by_source[src] = summary.by_source.get(src, 0) + 1
        kept.append(r)
    summary.written = write_jsonl(paths.out, kept)
    summary.dropped = len(dropped)
    if dropped:
        write_jsonl(paths.dropped, dropped)
    return summary
