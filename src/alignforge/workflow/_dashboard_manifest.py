"""The dashboard's manifest checks: the shape of ``RUN_DIR/manifest.json`` (interface B of the workflow).

:func:`check_manifest` raises :class:`~alignforge.errors.AlignforgeError` naming the file and the
dotted field; :func:`alignforge.workflow.dashboard.load_manifest` reads the file and calls it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alignforge.errors import AlignforgeError

STATUSES = ("pending", "running", "finished", "failed", "skipped")
DECISIONS = ("continue", "stop", "rollback")
OPS = (">=", "<=", "<", ">", "==")


class _Check:
    """Type checks that name the manifest file and the dotted field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, expected: str, got: Any) -> AlignforgeError:
        shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
        return AlignforgeError(f"{self.path}: field '{field}': expected {expected}, got {shown}")

    def get(self, body: dict[str, Any], key: str, field: str, kind: str, *, required: bool = False) -> Any:
        if key not in body:
            if required:
                raise AlignforgeError(f"{self.path}: field '{field}{key}': missing")
            return None
        value = body[key]
        if value is None and not required:
            return None
        ok = {
            "str": isinstance(value, str),
            "num": isinstance(value, int | float) and not isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list),
            "dict": isinstance(value, dict),
        }[kind]
        if not ok:
            raise self.fail(f"{field}{key}", _KIND_WORDS[kind], value)
        return value

    def choice(self, body: dict[str, Any], key: str, field: str, choices: tuple[str, ...]) -> str:
        value = self.get(body, key, field, "str", required=True)
        if value not in choices:
            raise self.fail(f"{field}{key}", "one of " + " | ".join(choices), value)
        return str(value)


_KIND_WORDS = {
    "str": "a string",
    "num": "a number",
    "int": "an integer",
    "bool": "true or false",
    "list": "a list",
    "dict": "a mapping",
}


def check_manifest(path: Path, body: Any) -> dict[str, Any]:
    """Validate a parsed manifest read from ``path``; returns it, else raises naming the field."""
    check = _Check(path)
    if not isinstance(body, dict):
        raise check.fail("(top level)", "a mapping", body)
    check.get(body, "workflow", "", "str", required=True)
    for key in ("file",):
        check.get(body, key, "", "str")
    for key in ("created", "updated"):
        check.get(body, key, "", "num")
    for i, stage in enumerate(check.get(body, "stages", "", "list", required=True)):
        _check_stage(check, stage, f"stages[{i}].")
    for i, rnd in enumerate(check.get(body, "rounds", "", "list") or []):
        _check_round(check, rnd, f"rounds[{i}].")
    evaluation = check.get(body, "evaluation", "", "dict")
    if evaluation is not None:
        _check_evaluation(check, evaluation)
    passk = check.get(body, "pass_at_k", "", "dict")
    if passk is not None:
        _check_pass_at_k(check, passk)
    decision = check.get(body, "decision", "", "dict")
    if decision is not None:
        check.get(decision, "deploy", "decision.", "bool", required=True)
        failed = check.get(decision, "failed", "decision.", "list") or []
        for j, name in enumerate(failed):
            if not isinstance(name, str):
                raise check.fail(f"decision.failed[{j}]", "a string", name)
        check.get(decision, "reason", "decision.", "str")
    return body


def _check_stage(check: _Check, stage: Any, field: str) -> None:
    if not isinstance(stage, dict):
        raise check.fail(field.rstrip("."), "a mapping", stage)
    check.get(stage, "name", field, "str", required=True)
    check.choice(stage, "status", field, STATUSES)
    for key in ("title", "fingerprint", "report", "error"):
        check.get(stage, key, field, "str")
    for key in ("started", "finished", "duration_s", "cost_usd"):
        check.get(stage, key, field, "num")
    for role, rel in (check.get(stage, "outputs", field, "dict") or {}).items():
        if not isinstance(rel, str):
            raise check.fail(f"{field}outputs.{role}", "a path (string)", rel)
    check.get(stage, "figures", field, "dict")
    for j, gate in enumerate(check.get(stage, "gates", field, "list") or []):
        _check_gate(check, gate, f"{field}gates[{j}].")


def _check_gate(check: _Check, gate: Any, field: str) -> None:
    if not isinstance(gate, dict):
        raise check.fail(field.rstrip("."), "a gate mapping", gate)
    check.get(gate, "name", field, "str", required=True)
    check.get(gate, "passed", field, "bool", required=True)
    check.get(gate, "value", field, "num")
    check.get(gate, "bound", field, "num")
    for key in ("figure", "unit"):
        check.get(gate, key, field, "str")
    if gate.get("op") is not None:
        check.choice(gate, "op", field, OPS)
    if gate.get("on_fail") is not None:
        check.choice(gate, "on_fail", field, ("stop", "flag"))


def _check_round(check: _Check, rnd: Any, field: str) -> None:
    if not isinstance(rnd, dict):
        raise check.fail(field.rstrip("."), "a mapping", rnd)
    check.get(rnd, "round", field, "int", required=True)
    check.choice(rnd, "decision", field, DECISIONS)
    for key in ("checkpoint", "reason"):
        check.get(rnd, key, field, "str")
    for key, value in (check.get(rnd, "metrics", field, "dict") or {}).items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise check.fail(f"{field}metrics.{key}", "a number or null", value)


def _check_evaluation(check: _Check, evaluation: dict[str, Any]) -> None:
    for name, suite in (check.get(evaluation, "suites", "evaluation.", "dict") or {}).items():
        field = f"evaluation.suites.{name}."
        if not isinstance(suite, dict):
            raise check.fail(field.rstrip("."), "a mapping", suite)
        for side in ("baseline", "tuned"):
            part = check.get(suite, side, field, "dict")
            if part is not None:
                for key in ("score", "se", "n"):
                    check.get(part, key, f"{field}{side}.", "num")
        for key in ("ratio", "z", "p"):
            check.get(suite, key, field, "num")
    check.get(evaluation, "retention", "evaluation.", "num")
    check.get(evaluation, "win_rate", "evaluation.", "dict")


def _check_pass_at_k(check: _Check, table: dict[str, Any]) -> None:
    for j, k in enumerate(check.get(table, "k_values", "pass_at_k.", "list", required=True)):
        if isinstance(k, bool) or not isinstance(k, int):
            raise check.fail(f"pass_at_k.k_values[{j}]", "an integer", k)
    for i, row in enumerate(check.get(table, "rows", "pass_at_k.", "list", required=True)):
        field = f"pass_at_k.rows[{i}]."
        if not isinstance(row, dict):
            raise check.fail(field.rstrip("."), "a mapping", row)
        check.get(row, "checkpoint", field, "str", required=True)
        check.get(row, "cycle", field, "int", required=True)
        check.get(row, "model", field, "str")
        for part in ("pass_at_k", "delta"):
            for key, value in (check.get(row, part, field, "dict") or {}).items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise check.fail(f"{field}{part}.{key}", "a number or null", value)
        subs = {f"by_domain.{d}": v for d, v in (check.get(row, "by_domain", field, "dict") or {}).items()}
        if (plus := check.get(row, "plus", field, "dict")) is not None:
            subs["plus"] = plus
        for name, sub in subs.items():
            where = f"{field}{name}"
            if not isinstance(sub, dict):
                raise check.fail(where, "a mapping", sub)
            check.get(sub, "n_tasks", f"{where}.", "int")
            for key, value in (check.get(sub, "pass_at_k", f"{where}.", "dict") or {}).items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise check.fail(f"{where}.pass_at_k.{key}", "a number or null", value)
