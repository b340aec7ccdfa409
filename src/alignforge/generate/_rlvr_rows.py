"""How ``generate rlvr`` makes and checks the rows of each domain: specs, row builders, reference checks.

Math rows come from the procedural generators, code rows from the code families (reference run in
the sandbox), finance and general rows from their template families (reference answer graded by the
task's own verifier, :func:`alignforge.verify.grade_task`). A ready-made task in an input file is
validated here, so a bad one is a :class:`~alignforge.io.DataError` naming its line and field.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

from alignforge.generate._code_tasks import CODE_FAMILIES, make_code_task
from alignforge.generate._finance_tasks import FINANCE_FAMILIES, make_finance_task
from alignforge.generate._general_tasks import GENERAL_FAMILIES, make_general_task
from alignforge.generate._math_tasks import INSTRUCTION, MATH_GENERATORS, format_number
from alignforge.io import DataError, iter_jsonl
from alignforge.records import FieldError
from alignforge.stages import short_hash

__all__ = ["VERIFICATION_TYPES", "CHUNK", "specs", "make_rows", "check", "chunks"]

# The verification types each domain's tasks may carry; the first is the default. A general task
# carries its own (short_answer or choice); naming one keeps only the families of that type.
VERIFICATION_TYPES = {
    "math": ("math", "exact"),
    "code": ("tests", "code", "mbpp"),
    "finance": ("finance",),
    "general": ("short_answer", "choice"),
}


def _general_type(family: str) -> str:
    return "choice" if family.startswith("mc_") else "short_answer"


def _families(domain: str, vtype: str | None) -> list[str]:
    if domain == "math":
        return sorted(MATH_GENERATORS)
    if domain == "code":
        return sorted(CODE_FAMILIES)
    if domain == "finance":
        return sorted(FINANCE_FAMILIES)
    return sorted(f for f in GENERAL_FAMILIES if vtype is None or _general_type(f) == vtype)


def specs(
    input_file: str | os.PathLike[str] | None, domain: str, vtype: str | None, n: int, seed: int
) -> list[dict[str, Any]]:
    """Generator specs and given tasks from the input file, or ``n`` tasks spread over every generator."""
    if input_file is not None:
        rows = []
        for line, row in iter_jsonl(input_file):
            if not isinstance(row, dict):
                raise DataError(input_file, line, "expected a JSON object")
            rows.append({**row, "_line": line})
        return rows
    names = _families(domain, vtype)
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


def _given_answer_task(domain: str, spec: dict[str, Any], vtype: str | None, path: Any) -> dict[str, Any]:
    """A ready-made finance or general task from the input file, its verifier spec read as the verifier
    will read it (a bad spec is a :class:`DataError` naming the line and the field)."""
    from alignforge.verify import FinanceSpec, GeneralSpec

    line = spec["_line"]
    task = {k: v for k, v in spec.items() if k != "_line"}
    if not isinstance(task["prompt"], str) or not task["prompt"].strip():
        raise DataError(path, line, "field 'prompt': expected a non-empty string", field="prompt")
    try:
        if domain == "finance":
            FinanceSpec.from_task(task)
            row_type = "finance"
        else:
            row_type = "choice" if GeneralSpec.from_task(task).match == "choice" else "short_answer"
    except FieldError as exc:
        raise DataError(path, line, str(exc), field=exc.field) from None
    if vtype is not None and row_type != vtype:
        raise DataError(
            path,
            line,
            f"field 'metadata.verifier.match': a {row_type} task, but the verification type asked for is {vtype!r}",
            field="metadata.verifier.match",
        )
    meta = task.get("metadata") or {}
    verifier = meta.get("verifier") if isinstance(meta, dict) else None
    row: dict[str, Any] = {
        "task_id": str(task.get("task_id") or f"{domain}/{short_hash(task['prompt'])}"),
        "prompt": task["prompt"],
        "answer": str(task["answer"]),
        "domain": domain,
        "verification_type": row_type,
        "metadata": {"source": "input", **({"verifier": verifier} if verifier is not None else {})},
    }
    if task.get("choices"):
        row["choices"] = list(task["choices"])
    return row


_ANSWER_MAKERS: dict[str, Callable[[str, random.Random], Any]] = {
    "finance": make_finance_task,
    "general": make_general_task,
}


def _answer_rows(domain: str, spec: dict[str, Any], vtype: str | None, path: Any) -> list[dict[str, Any]]:
    """Finance or general rows: a given task, or ``count`` tasks of a ``family`` (distinct prompts)."""
    if "prompt" in spec:
        return [_given_answer_task(domain, spec, vtype, path)]
    fam = spec.get("family")
    allowed = _families(domain, vtype)
    if fam not in allowed:
        raise DataError(
            path, spec.get("_line"), f"field 'family': expected one of {allowed}, got {fam!r}", field="family"
        )
    rng = random.Random(f"{fam}:{spec.get('seed', 0)}")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    want = int(spec.get("count", 1))
    for _ in range(want * 5):  # small parameter spaces repeat; draw again rather than write a duplicate
        if len(rows) >= want:
            break
        row = _ANSWER_MAKERS[domain](fam, rng).to_row(spec.get("seed", 0))
        if row["prompt"] in seen:
            continue
        seen.add(row["prompt"])
        rows.append(row)
    return rows


def _finance_rows(spec: dict[str, Any], vtype: str | None, path: Any) -> list[dict[str, Any]]:
    return _answer_rows("finance", spec, vtype, path)


def _general_rows(spec: dict[str, Any], vtype: str | None, path: Any) -> list[dict[str, Any]]:
    return _answer_rows("general", spec, vtype, path)


_MAKE: dict[str, Callable[[dict[str, Any], Any, Any], list[dict[str, Any]]]] = {
    "math": _math_rows,
    "code": _code_rows,
    "finance": _finance_rows,
    "general": _general_rows,
}


def _check_math(rows: list[dict[str, Any]], timeout_s: float) -> dict[str, tuple[str, Any]]:
    from alignforge.verify import verify_math

    bad: dict[str, tuple[str, Any]] = {}
    for r in rows:
        v = verify_math(f"The answer is {r['answer']}.", r["answer"])
        if not v.passed:
            bad[r["task_id"]] = ("answer_not_verifiable", v.detail)
    return bad


def _check_answers(rows: list[dict[str, Any]], timeout_s: float) -> dict[str, tuple[str, Any]]:
    """Finance and general: the reference, stated plainly, must pass the task's own verifier."""
    from alignforge.verify import grade_task

    bad: dict[str, tuple[str, Any]] = {}
    for r in rows:
        try:
            v = grade_task(r, f"The answer is {r['answer']}.")
        except FieldError as exc:  # a spec the verifier cannot read: the task is not verifiable
            bad[r["task_id"]] = ("answer_not_verifiable", str(exc))
            continue
        if not v.passed:
            bad[r["task_id"]] = ("answer_not_verifiable", v.detail)
    return bad


def _check_code(rows: list[dict[str, Any]], timeout_s: float) -> dict[str, tuple[str, Any]]:
    bad: dict[str, tuple[str, Any]] = {}
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


_CHECKS = {"math": _check_math, "code": _check_code, "finance": _check_answers, "general": _check_answers}


def check(rows: list[dict[str, Any]], timeout_s: float) -> dict[str, tuple[str, Any]]:
    """task_id -> (why the task is not verifiable, the detail); missing: it is."""
    bad: dict[str, tuple[str, Any]] = {}
    for domain in dict.fromkeys(r["domain"] for r in rows):
        bad.update(_CHECKS[domain]([r for r in rows if r["domain"] == domain], timeout_s))
    return bad


# Tasks checked (and written) at a time: an answer check is a parse, a code check a sandbox run.
CHUNK = {"math": 256, "code": 16, "finance": 256, "general": 256}


def chunks(rows: list[dict[str, Any]], start: int) -> list[list[dict[str, Any]]]:
    """``rows[start:]`` cut into runs of one domain, each at most that domain's :data:`CHUNK`."""
    out: list[list[dict[str, Any]]] = []
    for r in rows[start:]:
        last = out[-1] if out else None
        if last is None or last[0]["domain"] != r["domain"] or len(last) >= CHUNK[r["domain"]]:
            out.append([r])
        else:
            last.append(r)
    return out


def make_rows(domain: str, spec: dict[str, Any], vtype: str | None, path: Any) -> list[dict[str, Any]]:
    """The rows one spec (a generator spec or a ready-made task) gives for ``domain``."""
    return _MAKE[domain](spec, vtype, path)
