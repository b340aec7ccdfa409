"""Steps 3-6, attempt by attempt, until the judge's scores separate the strong model from the weak one.

Each attempt lives in ``out/attempts/<k>/``. An attempt whose step got no parsable answer
after its retries is recorded as failed (``failed.json``) and the next attempt starts;
a failed request (network, budget) stops the run with nothing recorded for that step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alignforge.assess import _steps
from alignforge.assess._prompts import judge_rubric
from alignforge.assess._report import load_or_run, read_json, write_json
from alignforge.assess._steps import Role, Settings, StepFailed
from alignforge.assess.results import AssessmentResult, AttemptResult

__all__ = ["STEP_FILES", "header", "run_attempts"]

STEP_FILES = {
    1: "step1_categories.json",
    2: "step2_error_catalog.json",
    3: "step3_challenge.json",
    4: "step4_strong_implementation.json",
    5: "step5_weak_implementation.json",
    6: "step6_differentiation.json",
    7: "step7_assessment.json",
}
_NAMES = {
    1: "categories",
    2: "error catalog",
    3: "challenge",
    4: "strong implementation",
    5: "weak implementation",
    6: "differentiation",
    7: "student assessment",
}


def header(n: int, role: Role, attempt: int | None = None) -> dict[str, Any]:
    h: dict[str, Any] = {"step": n, "name": _NAMES[n], "model": role.spec}
    if attempt is not None:
        h["attempt"] = attempt
    return h


def _judge(
    role: Role, s: Settings, ch: dict[str, Any], catalog: list[Any], impl: dict[str, Any], k: int
) -> dict:
    from alignforge.judge import Judge

    judge = Judge(
        role.llm,
        rubric=judge_rubric(s.topic, catalog),
        max_tokens=s.tokens("judge"),
        retries=s.retries,
        model=role.spec,
    )
    res = judge.score_many([(ch["text"], impl["strong"]["text"]), (ch["text"], impl["weak"]["text"])])
    for tier, r in zip(("strong", "weak"), res, strict=True):
        if r.status == "error":
            raise StepFailed(
                f"step 6 (judge), attempt {k}: {role.spec} request failed: {r.error}", kind="llm"
            )
        if r.score is None:
            raise StepFailed(
                f"step 6 (judge), attempt {k}: {role.spec} gave no parsable score for the {tier} "
                f"implementation in {r.attempts} tries ({r.status})",
                kind="parse",
            )
    return {
        "strong_score": res[0].score,
        "weak_score": res[1].score,
        "strong_rationale": res[0].rationale,
        "weak_rationale": res[1].rationale,
        "judge_tries": [r.attempts for r in res],
    }


def _one(roles: dict[str, Role], s: Settings, cats: Any, catalog: Any, k: int, d: Any, say: Any) -> dict:
    """Steps 3-6 of attempt ``k`` (each kept when a previous run finished it); step 6's scores."""
    j = roles["judge"]
    ch = load_or_run(
        d / STEP_FILES[3],
        lambda: _steps.step_challenge(j, s, cats, catalog, k),
        header=header(3, j, k),
        echo=say,
    )
    impl: dict[str, Any] = {}
    for n, tier in ((4, "strong"), (5, "weak")):
        r = roles[tier]

        def make(r: Role = r, tier: str = tier) -> dict[str, Any]:
            return _steps.step_implementation(r, s, ch["text"], k, tier=tier)

        impl[tier] = load_or_run(d / STEP_FILES[n], make, header=header(n, r, k), echo=say)
    return load_or_run(
        d / STEP_FILES[6], lambda: _judge(j, s, ch, catalog, impl, k), header=header(6, j, k), echo=say
    )


def run_attempts(
    result: AssessmentResult,
    roles: dict[str, Role],
    s: Settings,
    cats: Any,
    catalog: Any,
    say: Callable[[str], None],
) -> int | None:
    """Attempts until one differentiates; the chosen one (differentiated, else the last completed) or None."""
    chosen = None
    for k in range(1, result.max_attempts + 1):
        d = result.out / "attempts" / str(k)
        if (d / "failed.json").exists():
            result.attempts.append(AttemptResult(k, "failed", error=read_json(d / "failed.json")["error"]))
            say(f"attempt {k}: failed before, kept ({d / 'failed.json'})")
            continue
        try:
            j6 = _one(roles, s, cats, catalog, k, d, say)
        except StepFailed as exc:
            if exc.kind != "parse":
                raise
            write_json(d / "failed.json", {"attempt": k, "error": str(exc)})
            result.attempts.append(AttemptResult(k, "failed", error=str(exc)))
            say(f"attempt {k}: failed: {exc}")
            continue
        a = AttemptResult(k, "not_differentiated", j6["strong_score"], j6["weak_score"])
        if a.gap is not None and a.gap >= result.min_differentiation:
            a.status = "differentiated"
        result.attempts.append(a)
        chosen = k
        say(f"attempt {k}: strong {a.strong_score:g} - weak {a.weak_score:g} = {a.gap:g}: {a.status}")
        if a.status == "differentiated":
            break
    return chosen
