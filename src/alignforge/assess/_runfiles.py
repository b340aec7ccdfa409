"""Read a finished (or stopped) run's files for the page, checking every field the page shows.

A damaged or hand-edited file is a :class:`~alignforge.errors.ConfigError` naming the file and
the field (``step7_assessment.json: errors[2].severity: must be one of critical, major, minor,
got 'high'``); a value is never guessed. A step file the summary lists must be there; a step
the run never reached is simply absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alignforge.assess._attempts import STEP_FILES
from alignforge.assess._parse import LIKELIHOODS, MAX_MINUTES, SEVERITIES
from alignforge.assess._report import PIPELINE, read_json
from alignforge.errors import ConfigError

__all__ = ["load_run"]

_LEVELS = ("Beginner", "Intermediate", "Advanced")


class _Doc:
    """One JSON file and a path into it, so every error names the file and the field."""

    def __init__(self, path: Path, data: Any, where: str = "") -> None:
        self.path, self.data, self.where = path, data, where

    def fail(self, why: str) -> ConfigError:
        field = f" {self.where}:" if self.where else ""
        return ConfigError(f"{self.path}:{field} {why}")

    def at(self, key: str | int) -> _Doc:
        if isinstance(key, int):
            sub = f"{self.where}[{key}]"
            items = self.data if isinstance(self.data, list) else []
            return _Doc(self.path, items[key], sub)
        if not isinstance(self.data, dict):
            raise self.fail("must be a JSON object")
        if key not in self.data:
            raise _Doc(self.path, None, f"{self.where}.{key}".lstrip(".")).fail("missing")
        return _Doc(self.path, self.data[key], f"{self.where}.{key}".lstrip("."))

    def text(self, key: str, *, optional: bool = False) -> str | None:
        """Non-empty text; with ``optional``, a missing, null or empty value is ``None``."""
        if optional:
            if not isinstance(self.data, dict):
                raise self.fail("must be a JSON object")
            if self.data.get(key) in (None, ""):
                return None
        d = self.at(key)
        if not isinstance(d.data, str) or not d.data.strip():
            raise d.fail(f"must be non-empty text, got {d.data!r}")
        return d.data

    def flag(self, key: str) -> bool:
        d = self.at(key)
        if not isinstance(d.data, bool):
            raise d.fail(f"must be true or false, got {d.data!r}")
        return d.data

    def number(self, key: str, lo: float, hi: float, *, whole: bool = False) -> float:
        d = self.at(key)
        v = d.data
        ok = isinstance(v, int) if whole else isinstance(v, int | float)
        if isinstance(v, bool) or not ok or not lo <= v <= hi:
            kind = "a whole number" if whole else "a number"
            raise d.fail(f"must be {kind} from {lo:g} to {hi:g}, got {v!r}")
        return float(v)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        d = self.at(key)
        if d.data not in allowed:
            raise d.fail(f"must be one of {', '.join(allowed)}, got {d.data!r}")
        return str(d.data)

    def items(self, key: str, *, min_items: int = 1) -> list[_Doc]:
        d = self.at(key)
        if not isinstance(d.data, list) or len(d.data) < min_items:
            raise d.fail(f"must be a list of at least {min_items} items")
        return [d.at(i) for i in range(len(d.data))]

    def texts(self, key: str, *, min_items: int = 1) -> list[str]:
        out = []
        for d in self.items(key, min_items=min_items):
            if not isinstance(d.data, str) or not d.data.strip():
                raise d.fail(f"must be non-empty text, got {d.data!r}")
            out.append(d.data)
        return out


def _doc(path: Path) -> _Doc:
    return _Doc(path, read_json(path))


def _summary(d: _Doc) -> dict[str, Any]:
    models, files = d.at("models"), d.at("files")
    if not isinstance(files.data, dict):
        raise files.fail("must be a JSON object")
    attempts = []
    for a in d.items("attempts", min_items=0):
        status = a.choice("status", ("differentiated", "not_differentiated", "failed"))
        scores = {}
        for k in ("strong_score", "weak_score", "gap"):
            scores[k] = None if a.at(k).data is None else a.number(k, -10, 10)
        attempts.append(
            {"attempt": int(a.number("attempt", 1, 1000, whole=True)), "status": status, **scores}
            | {"error": a.text("error", optional=True)}
        )
    return {
        "topic": d.text("topic"),
        "models": {r: models.text(r) for r in ("strong", "weak", "judge")},
        "success_rate": d.text("success_rate"),
        "differentiated": d.flag("differentiated"),
        "min_differentiation": d.number("min_differentiation", 0, 10),
        "attempts": attempts,
        "step7": d.text("step7", optional=True),
        "files": {k: files.text(k) for k in files.data},
    }


def _step(n: int, d: _Doc, steps: dict[int, dict[str, Any]]) -> dict[str, Any]:
    head = {"model": d.text("model")}
    if n == 1:
        cats = d.at("categories")
        return head | {"categories": {lv: cats.texts(lv) for lv in _LEVELS}}
    if n == 2:
        errors = [
            {
                "error": e.text("error"),
                "impact": e.text("impact", optional=True),
                "likelihood": e.choice("likelihood", LIKELIHOODS),
            }
            for e in d.items("errors", min_items=1)
        ]
        return head | {"errors": errors}
    if n == 3:
        c = d.at("challenge")
        challenge = {k: c.text(k) for k in ("title", "task")}
        challenge |= {k: c.text(k, optional=True) for k in ("context", "success_criteria")}
        return head | {"challenge": challenge | {"requirements": c.texts("requirements")}}
    if n in (4, 5):
        return head | {"code": d.text("code"), "text": d.text("text")}
    if n == 6:
        out = head | {k: d.number(k, 0, 10) for k in ("strong_score", "weak_score")}
        return out | {k: d.text(k, optional=True) or "" for k in ("strong_rationale", "weak_rationale")}
    return head | _assessment(d, steps)


def _assessment(d: _Doc, steps: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if 5 not in steps:
        raise d.fail(f"step 7 marks up the weak implementation, but {STEP_FILES[5]} is missing")
    code_lines = steps[5]["code"].splitlines()
    errors: list[dict[str, Any]] = []
    for e in d.items("errors", min_items=1):
        eid = e.text("id")
        if not str(eid).isdigit() or any(x["id"] == eid for x in errors):
            raise e.at("id").fail(f"must be a number unique in the file, got {eid!r}")
        line = int(e.number("line", 1, max(1, len(code_lines)), whole=True))
        start = int(e.number("start", 0, 10**6, whole=True))
        end = int(e.number("end", start + 1, 10**6, whole=True))
        span = e.text("span")
        if code_lines[line - 1][start:end] != span:
            raise e.fail(
                f"span {span!r} is not at line {line}, characters {start}-{end} of the weak implementation"
            )
        errors.append(
            {
                "id": eid,
                "line": line,
                "start": start,
                "end": end,
                "span": span,
                "quote": e.text("quote", optional=True),
                "description": e.text("description"),
                "fix": e.text("fix"),
                "concept": e.text("concept"),
                "severity": e.choice("severity", SEVERITIES),
                "learning_value": e.text("learning_value"),
                "minutes": int(e.number("minutes", 1, MAX_MINUTES, whole=True)),
            }
        )
    spans = sorted((x["line"], x["start"], x["end"]) for x in errors)
    for (l1, _, e1), (l2, s2, _) in zip(spans, spans[1:], strict=False):
        if l1 == l2 and s2 < e1:
            raise d.fail(f"errors: two spans overlap on line {l1}")
    return {
        "title": d.text("title"),
        "learning_objective": d.text("learning_objective"),
        "scenario": d.text("scenario"),
        "errors": errors,
        "estimated_minutes": int(d.number("estimated_minutes", 1, 10**6, whole=True)),
    }


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """``{"run": manifest, "summary": ..., "steps": {n: fields}}`` of the run in ``run_dir``, checked."""
    root = Path(run_dir)
    if not (root / "run.json").is_file():
        raise ConfigError(f"{root}: no run.json here; not a folder written by `alignforge assess`")
    manifest = _doc(root / "run.json")
    pipeline = manifest.text("pipeline")
    if pipeline != PIPELINE:
        raise manifest.at("pipeline").fail(
            f"this page reads {PIPELINE} runs, got {pipeline!r}: rerun `alignforge assess` in a new folder"
        )
    if not (root / "assessment.json").is_file():
        raise ConfigError(f"{root / 'assessment.json'}: missing; the run never finished a pass: rerun it")
    summary = _summary(_doc(root / "assessment.json"))
    listed = summary.pop("files")
    steps: dict[int, dict[str, Any]] = {}
    for n, name in STEP_FILES.items():
        path = root / name
        if not path.is_file():
            if str(n) in listed:
                raise ConfigError(f"{path}: missing, but assessment.json lists it")
            continue
        steps[n] = _step(n, _doc(path), steps)
    return {"run": manifest.data, "summary": summary, "steps": steps}
