"""Stdio strengthening on real tasks: HumanEval's simple-signature tasks as stdio programs.

Every HumanEval task whose test calls take only ints, words-only strings and flat lists of ints is
rewritten as a program that reads one argument per line from stdin and prints ``repr`` of the
answer; its stdio cases are the original calls with the canonical solution's answers. Both forms are
strengthened with the same options and their mutant kill rates compared. The mutants differ: a
function-call task is mutated inside its entry point, a stdio program (no entry point) at the first
site of each operator in the whole program, a helper function or the reading lines included.

    PYTHONPATH=src python bench/strengthen_stdio.py --workers 2 [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path
from typing import Any

_BENCH = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "humaneval" / "HumanEval.jsonl.gz"


def _kind(v: Any) -> str | None:
    if type(v) is int:
        return "int"
    if type(v) is str and v and v == " ".join(v.split()) and "\n" not in v:
        return "str"
    if type(v) is list and all(type(x) is int for x in v):
        return "ints"
    return None


_READ = {"int": "int({0})", "str": "{0}", "ints": "[int(t) for t in {0}.split()]"}


def _program(row: dict[str, Any], kinds: list[str]) -> str:
    reads = ", ".join(_READ[k].format(f"lines[{i}]") for i, k in enumerate(kinds))
    return (
        row["prompt"]
        + row["canonical_solution"]
        + "\n\nimport sys\n\n"
        + "lines = sys.stdin.read().split('\\n')\n"  # every rendered line ends with a newline
        + f"print(repr({row['entry_point']}({reads})))\n"
    )


def _line(v: Any) -> str:
    return " ".join(map(str, v)) if isinstance(v, list) else str(v)


def stdio_rows(limit: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(HumanEval rows as they are, the same tasks as stdio rows), for the tasks that convert."""
    from alignforge.verify._inputs_mutation import extract_inputs
    from alignforge.verify.tasks import normalize_task

    plain, stdio = [], []
    with gzip.open(_BENCH, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    for row in rows:
        task = normalize_task(row)
        inputs = extract_inputs(task, row["entry_point"])
        if not inputs or any(kw for _, kw in inputs):
            continue
        kinds = [_kind(a) for a in inputs[0][0]]
        if None in kinds or any([_kind(a) for a in args] != kinds for args, _ in inputs):
            continue
        ns: dict[str, Any] = {}
        exec(row["prompt"] + row["canonical_solution"], ns)  # the dataset's own reference: trusted
        cases = [
            {"input": "".join(_line(a) + "\n" for a in args), "output": repr(ns[row["entry_point"]](*args))}
            for args, _ in inputs
        ]
        plain.append(row)
        stdio.append(
            {
                "task_id": row["task_id"],
                "prompt": row["prompt"],
                "solution": _program(row, kinds),
                "tests": cases,
            }
        )
        if limit and len(plain) >= limit:
            break
    return plain, stdio


def main() -> None:
    from alignforge.verify.strengthen import format_totals, strengthen_tasks

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    plain, stdio = stdio_rows(args.limit)
    report: dict[str, Any] = {"tasks": len(plain)}
    for name, rows in (("function calls", plain), ("stdio", stdio)):
        t0 = time.perf_counter()
        _, reps = strengthen_tasks(rows, workers=args.workers, seed=0)
        report[name] = {
            "seconds": round(time.perf_counter() - t0, 1),
            "mutants": sum(r.mutants for r in reps),
            "killed_before": sum(r.killed_before for r in reps),
            "killed_after": sum(r.killed_after for r in reps),
            "strengthened": sum(r.status == "strengthened" for r in reps),
            "references_failing": sum(r.reference_passes is False for r in reps),
            "skipped": sorted({r.status for r in reps if r.status != "strengthened"}),
        }
        print(f"== {name}: {len(rows)} tasks, {report[name]['seconds']} s")
        for line in format_totals(reps):
            print("   " + line)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
