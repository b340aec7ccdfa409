"""RLVR tasks with verifiable rewards: procedural math with exact answers, code with sandbox-checked tests.

No LLM is needed. Every task is checked before it is written: a math answer must pass the
math verifier when stated plainly, a code task's reference solution must pass all of its
3-5 tests in the sandbox. Tasks that fail go to ``<out>.dropped.jsonl`` with the reason.

Tasks are checked and written a chunk at a time, in the order they are made; a rerun keeps the
rows already written that are still what this run would write (the same tasks, in the same order)
and checks only the rest, so a killed run resumes at its row.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

from alignforge.errors import ConfigError
from alignforge.generate._code_tasks import CODE_FAMILIES, make_code_task
from alignforge.generate._math_tasks import INSTRUCTION, MATH_GENERATORS, format_number
from alignforge.generate._stage import GeneratorStage, run_generator
from alignforge.io import DataError, JsonlWriter, iter_jsonl, write_jsonl
from alignforge.stages import StageSummary, add_drop_reason, drop_reasons_of, short_hash, side_paths

__all__ = ["generate_rlvr_data", "RLVRStage", "VERIFICATION_TYPES"]

VERIFICATION_TYPES = {"math": ("math", "exact"), "code": ("tests", "code", "mbpp")}


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


def _check(rows: list[dict[str, Any]], domain: str, timeout_s: float) -> dict[str, tuple[str, Any]]:
    """task_id -> (why the task is not verifiable, the detail); missing: it is."""
    bad: dict[str, tuple[str, Any]] = {}
    if domain == "math":
        from alignforge.verify import verify_math

        for r in rows:
            v = verify_math(f"The answer is {r['answer']}.", r["answer"])
            if not v.passed:
                bad[r["task_id"]] = ("answer_not_verifiable", v.detail)
        return bad
    for r in rows:
        if not 3 <= len(r["tests"]) <= 5:
            bad[r["task_id"]] = ("tests_not_3_to_5", len(r["tests"]))
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
                bad[verdict["task_id"]] = ("reference_failed_tests", verdict["status"])
    return bad


# Tasks checked (and written) at a time: a math check is a parse, a code check a sandbox run.
CHUNK = {"math": 256, "code": 16}


def _as_made(row: dict[str, Any]) -> dict[str, Any]:
    """A written row as it was made, before the check marked it (``reference_passed``, drop reasons)."""
    meta = {k: v for k, v in row.get("metadata", {}).items() if k not in ("reference_passed", "drop_reasons")}
    return {**row, "metadata": meta}


@dataclass
class RLVRStage(GeneratorStage):
    """``generate rlvr`` as a stage: the parameters of :func:`generate_rlvr_data`, one ``execute()``."""

    name = "generate.rlvr"

    input_file: str | os.PathLike[str] | None
    output_file: str | os.PathLike[str]
    domain: str = "math"
    verification_type: str | None = None
    n: int = 100
    seed: int = 0
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.domain not in VERIFICATION_TYPES:
            raise ConfigError(f"RLVR domain must be one of {sorted(VERIFICATION_TYPES)}, got {self.domain!r}")
        vtype = self.verification_type or VERIFICATION_TYPES[self.domain][0]
        if vtype not in VERIFICATION_TYPES[self.domain]:
            raise ConfigError(
                f"verification type {vtype!r} does not fit domain {self.domain!r}: use one of "
                f"{VERIFICATION_TYPES[self.domain]}"
            )
        self.verification_type = vtype

    def params(self) -> dict[str, Any]:
        p = super().params()
        if self.input_file is not None:  # the specs say how many tasks and from which seed
            del p["n"], p["seed"]
        return p

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"specs": self.input_file}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        paths = side_paths(self.output_file)  # no LLM, no failures file
        return {"out": paths.out, "dropped": paths.dropped}

    def execute(self) -> StageSummary:
        assert self.verification_type is not None
        paths = side_paths(self.output_file)
        make = _math_rows if self.domain == "math" else _code_rows
        rows: list[dict[str, Any]] = []
        for spec in _specs(self.input_file, self.domain, self.n, self.seed):
            rows.extend(make(spec, self.verification_type, self.input_file))
        summary = self.summary(by_source={})
        bad: dict[str, tuple[str, Any]] = {}
        start = self._resume(rows, bad)
        summary.resumed = start
        seen = {r["task_id"] for r in rows[:start]}
        size = CHUNK[self.domain]
        with JsonlWriter(paths.out) as out_w, JsonlWriter(paths.dropped) as drop_w:
            for lo in range(start, len(rows), size):
                chunk = rows[lo : lo + size]
                bad.update(_check([r for r in chunk if r["task_id"] not in bad], self.domain, self.timeout_s))
                for r in chunk:
                    tid = r["task_id"]
                    reason = bad.get(tid) or (("duplicate_task", {"task_id": tid}) if tid in seen else None)
                    seen.add(tid)
                    if reason:
                        drop_w.write(add_drop_reason(r, *reason))
                        summary.drop(reason[0])
                        continue
                    r["metadata"]["reference_passed"] = True
                    out_w.write(r)
                    summary.written += 1
        for r in rows:
            if r["metadata"].get("reference_passed"):
                src = r["metadata"].get("generator") or r["metadata"].get("family") or "input"
                summary.by_source[src] = summary.by_source.get(src, 0) + 1
        counts = ", ".join(f"{k}={v}" for k, v in sorted(summary.by_source.items()))
        summary.notes = [f"   tasks in {paths.out.name}: {sum(summary.by_source.values())} ({counts})"]
        return summary

    def _resume(self, rows: list[dict[str, Any]], bad: dict[str, tuple[str, Any]]) -> int:
        """How many of ``rows`` are already written as this run would write them (in order, across the
        two files); anything after that is cut, so the run continues from there. Fills ``bad`` with
        the verdicts of the dropped ones, so a later duplicate of a task gets its task's reason."""
        paths = side_paths(self.output_file)
        written = [
            [row for _, row in iter_jsonl(p)] if p.exists() and p.stat().st_size else []
            for p in (paths.out, paths.dropped)
        ]
        pos = [0, 0]
        k = 0
        for k, row in enumerate(rows):  # noqa: B007 (k: how many matched when the loop stops)
            for side in (0, 1):
                have = written[side]
                if pos[side] < len(have) and _as_made(have[pos[side]]) == row:
                    reasons = drop_reasons_of(have[pos[side]])
                    if side == 0:
                        row["metadata"]["reference_passed"] = True
                    elif reasons and reasons[0]["reason"] != "duplicate_task":
                        bad.setdefault(row["task_id"], (reasons[0]["reason"], reasons[0]["detail"]))
                    pos[side] += 1
                    break
            else:
                break
        else:
            k = len(rows)
        for side, p in enumerate((paths.out, paths.dropped)):
            if pos[side] < len(written[side]):  # rows this run would not write here: start over from k
                write_jsonl(p, written[side][: pos[side]])
        return k


def generate_rlvr_data(
    input_file: str | os.PathLike[str] | None,
    output_file: str | os.PathLike[str],
    domain: str = "math",
    verification_type: str | None = None,
    *,
    n: int = 100,
    seed: int = 0,
    timeout_s: float = 5.0,
) -> StageSummary:
    """Write verifiable RLVR tasks for ``domain`` (``math`` or ``code``) to ``output_file``.

    ``input_file`` may hold generator specs (``{"generator": "percent", "count": 20, "seed": 1}`` for
    math, ``{"family": "caesar", "count": 5}`` for code), ready tasks to check (math: ``prompt`` +
    ``answer``; code: ``prompt``, ``tests``, ``entry_point``, ``reference_solution``), or be ``None``
    for ``n`` tasks spread evenly over the built-in generators. Returns the stage's
    :class:`~alignforge.stages.StageSummary` (path-like for the tasks file; figure ``by_source``).
    """
    return run_generator(RLVRStage(**locals()), dry_run=False)
