"""Orders between two arguments that the task's examples happen to share: dropped from the contract where
the reference treats the two alike (:func:`_drop_symmetric_relations`, run by
:func:`alignforge.verify._plus_inputs.oracle_task`).
"""

from __future__ import annotations

import ast
import random
import re
from typing import TYPE_CHECKING, Any

from alignforge.verify._contract import Contract
from alignforge.verify._inputs_mutation import Input, mutate_inputs
from alignforge.verify._plus_tests import _same

if TYPE_CHECKING:
    from alignforge.verify._plus_inputs import Work

__all__: list[str] = []


_RANGE_NAME = re.compile(
    r"^(?:l|r)$|low|high|^lo|^hi|start|end|begin|left|right|first|last|min|max|from|^to$"
)
_RANGE_TEXT = re.compile(r"interval|\brange\b|\bbetween\b|\bfrom\b.*\bto\b", re.I)
_SYMMETRY_PROBES = 30  # generated inputs (within the contract) the swap is also checked on
_DIFFERING = 2  # inputs (observed and generated) where the two arguments differ, at least


def _drop_symmetric_relations(w: Work, oracle: Any, opts: dict[str, Any]) -> None:
    """An order between two int arguments that every observed input has (``a <= b`` in ``minimum(1, 2)``,
    ``minimum(-5, -4)``, ``minimum(0, 0)``) is a coincidence of the examples when the reference treats the
    two alike: swapped, every observed input, and every one of some inputs generated within the contract,
    gets the same answer. Such a relation is dropped, so ``minimum(2, 1)`` is tried. It stays where the
    evidence is thin (no observed input with the two apart, or fewer than two among the observed and
    generated ones: ``count_Squares(4, 3)``, ``(2, 2)``, ``(1, 1)`` have one, its generated inputs the
    rest), where the two name a range
    (``low``/``high``, ``start``/``end``, ``l``/``r``, ...: an interval is answered alike both ways by
    design, yet ``low > high`` is no input the task promises), and where the text speaks of an interval,
    a range or "between". (``binomial(5, 2)`` against ``binomial(2, 5)``: the order stays.)"""
    contract = w.contract
    if not isinstance(contract, Contract) or _RANGE_TEXT.search(
        str(w.task.get("prompt") or w.task.get("text") or "")
    ):
        return
    names = _param_names(w.ref, w.entry)
    orders = [
        (a, op, b)
        for a, op, b in contract.relations
        if op in ("<", "<=") and a.startswith("arg") and b.startswith("arg")
    ]
    pairs = sorted(
        {
            (i, j)
            for a, _, b in orders
            for i, j in [_pair(a, b)]
            if _apart(w.seeds, i, j) and not any(_RANGE_NAME.search(names.get(k, "")) for k in (i, j))
        }
    )
    if not pairs:
        return
    rng = random.Random(f"{opts['seed']}:{w.task['task_id']}:symmetry")
    probes = [
        i
        for i in mutate_inputs(w.seeds, rng, limit=0, constants=w.constants)
        if contract.violation(i) is None
    ]
    base = list(w.seeds) + probes[:_SYMMETRY_PROBES]
    pairs = [(i, j) for i, j in pairs if _apart(base, i, j) >= _DIFFERING]
    if not pairs:
        return
    inputs = list(base)
    for i, j in pairs:
        for args, kwargs in base:
            new = list(args)
            new[i], new[j] = new[j], new[i]
            inputs.append((tuple(new), kwargs))
    got = oracle.calls(w.runs(w.ref), w.entry, inputs, timeout_s=opts["timeout_s"])["runs"][0]
    n = len(base)
    alike = {
        pair
        for k, pair in enumerate(pairs)
        if all(
            "ok" in r and "ok" in s and _same(r["ok"], s["ok"])
            for r, s in zip(got[:n], got[n + k * n : n + (k + 1) * n], strict=True)
        )
    }
    contract.relations = [r for r in contract.relations if not (r in orders and _pair(r[0], r[2]) in alike)]


def _apart(inputs: list[Input], i: int, j: int) -> int:
    """How many of ``inputs`` have arguments i and j apart: a swap of equal ones shows nothing."""
    return sum(args[i] != args[j] for args, _ in inputs if len(args) > max(i, j))


def _pair(a: str, b: str) -> tuple[int, int]:
    return int(a[3:]), int(b[3:])


def _param_names(code: str, entry: str) -> dict[int, str]:
    """Position -> lower-cased name of the entry point's positional parameters (none for a stdio program)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry:
            params = [*node.args.posonlyargs, *node.args.args]
            return {k: a.arg.lower() for k, a in enumerate(params)}
    return {}
