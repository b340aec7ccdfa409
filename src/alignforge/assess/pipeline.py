"""``run_assessment``: the 7-step strong-vs-weak assessment, resumable step by step.

1 categories, 2 error catalog, 3 challenge (no hints), 4 strong implementation, 5 weak
implementation, 6 judge scores both (0-10): differentiated when strong - weak >= the
threshold, else steps 3-6 are tried again (up to ``attempts``), 7 a student assessment
from the weak implementation's real error spans. The judge model writes steps 1-3 and 7.
Every step is a JSON file in ``out``; a rerun keeps finished steps, and every LLM call
goes through a SQLite cache in ``out`` so a killed run repeats no finished request.
Each run ends by writing ``assessment.json``, ``report.md`` and ``assessment.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignforge.assess import _steps
from alignforge.assess._attempts import STEP_FILES, header, run_attempts
from alignforge.assess._report import (
    PIPELINE,
    check_manifest,
    load_or_run,
    read_json,
    render_report,
    write_json,
)
from alignforge.assess._steps import Role, Settings
from alignforge.assess.page import write_page
from alignforge.assess.results import AssessmentResult
from alignforge.errors import ConfigError
from alignforge.llm.base import LLM

__all__ = ["run_assessment"]


def _roles(specs: dict[str, str | LLM], cache: Path) -> tuple[dict[str, Role], dict[Any, Any]]:
    """One cached backend per distinct spec (the local model loads once), shared by the roles using it."""
    from alignforge.llm import CachedLLM, get_llm

    made: dict[Any, Any] = {}
    roles = {}
    for role, spec in specs.items():
        key = spec if isinstance(spec, str) else id(spec)
        if key not in made:
            made[key] = get_llm(spec, cache=cache) if isinstance(spec, str) else CachedLLM(spec, cache)
        name = spec if isinstance(spec, str) else str(getattr(spec, "name", type(spec).__name__))
        roles[role] = Role(name, made[key])
    return roles, made


def run_assessment(
    topic: str,
    *,
    out: str | Path,
    model: str | LLM = "local",
    strong_model: str | LLM | None = None,
    weak_model: str | LLM | None = None,
    judge_model: str | LLM | None = None,
    attempts: int = 3,
    min_differentiation: float = 6.0,
    max_tokens: int | None = None,
    retries: int = 2,
    echo: Callable[[str], None] | None = None,
) -> AssessmentResult:
    """Run (or resume) the pipeline in ``out``; returns the result, differentiated or not (the caller gates)."""
    topic = " ".join((topic or "").split())
    if not topic or len(topic) > 300:
        raise ConfigError("--topic must be non-empty text of at most 300 characters")
    if attempts < 1 or retries < 0 or not 0 <= min_differentiation <= 10:
        raise ConfigError("need attempts >= 1, retries >= 0 and 0 <= min_differentiation <= 10")
    if max_tokens is not None and max_tokens < 8:
        raise ConfigError(f"max_tokens must be >= 8, got {max_tokens}")
    say = echo or (lambda _line: None)
    outp = Path(out)
    specs = {"strong": strong_model or model, "weak": weak_model or model, "judge": judge_model or model}
    outp.mkdir(parents=True, exist_ok=True)
    roles, backends = _roles(specs, outp / "llm_cache.sqlite")
    models = {r: roles[r].spec for r in specs}
    s = Settings(topic, retries=retries, max_tokens=max_tokens)
    result = AssessmentResult(topic, outp, models, float(min_differentiation), attempts)
    steps: dict[str, dict[str, Any]] = {}
    try:
        check_manifest(
            outp,
            {
                "pipeline": PIPELINE,
                "topic": topic,
                "models": models,
                "max_tokens": max_tokens,
                "retries": retries,
            },
        )
        if models["strong"] == models["weak"]:
            say(f"note: strong and weak are the same model ({models['strong']}); expect no differentiation")
        j = roles["judge"]
        steps["1"] = load_or_run(
            outp / STEP_FILES[1], lambda: _steps.step_categories(j, s), header=header(1, j), echo=say
        )
        cats = steps["1"]["categories"]
        steps["2"] = load_or_run(
            outp / STEP_FILES[2], lambda: _steps.step_catalog(j, s), header=header(2, j), echo=say
        )
        catalog = steps["2"]["errors"]
        chosen = run_attempts(result, roles, s, cats, catalog, say)
        if chosen is not None:
            for n in (3, 4, 5, 6):
                data = read_json(outp / "attempts" / str(chosen) / STEP_FILES[n])
                if n == 6:  # re-decided with this run's threshold
                    gap = round(data["strong_score"] - data["weak_score"], 3)
                    data.update(
                        min_differentiation=result.min_differentiation,
                        differentiated=gap >= result.min_differentiation,
                    )
                write_json(outp / STEP_FILES[n], data)
                steps[str(n)] = data
        best = next((a for a in result.attempts if a.status == "differentiated"), None)
        p7 = outp / STEP_FILES[7]
        if p7.exists() and (best is None or read_json(p7).get("attempt") != best.attempt):
            p7.unlink()  # built from an attempt that is not the chosen one (the threshold changed)
        if best is not None:
            weak = steps["5"]["code"]
            steps["7"] = load_or_run(
                p7,
                lambda: _steps.step_spans(j, s, steps["3"]["challenge"], weak),
                header={**header(7, j), "attempt": best.attempt},
                echo=say,
            )
            result.assessment = steps["7"]
    finally:
        result.requests_sent = sum(b.stats.misses for b in backends.values())
        result.cache_hits = sum(b.stats.hits for b in backends.values())
        for key, b in backends.items():
            # Backends built here are closed; a caller's LLM object stays open (only our cache closes).
            if isinstance(key, str):
                b.close()
            else:
                b.cache.close()
    summary = _summary(result, steps)
    write_json(outp / "assessment.json", summary)
    (outp / "report.md").write_text(render_report(summary, steps), encoding="utf-8")
    write_page(outp)
    return result


def _summary(result: AssessmentResult, steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "pipeline": PIPELINE,
        "topic": result.topic,
        "models": result.models,
        "min_differentiation": result.min_differentiation,
        "differentiated": result.differentiated,
        "success_rate": result.success_rate,
        "attempts_max": result.max_attempts,
        "attempts": [
            {
                "attempt": a.attempt,
                "status": a.status,
                "strong_score": a.strong_score,
                "weak_score": a.weak_score,
                "gap": a.gap,
                "error": a.error,
            }
            for a in result.attempts
        ],
        "steps_completed": len(steps),
        "files": {n: STEP_FILES[int(n)] for n in sorted(steps)},
        "step7": None if "7" in steps else "skipped: no attempt differentiated",
        "student_assessment": None
        if result.assessment is None
        else {"total_errors": result.assessment["total_errors"], "file": STEP_FILES[7]},
        "requests": {"sent": result.requests_sent, "cache_hits": result.cache_hits},
    }
