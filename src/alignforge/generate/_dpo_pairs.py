"""One DPO candidate as a pair: its pair gates, its scoring by the judge and the verifiers, its row.

:class:`Thresholds` and :func:`pair_gate_reasons` say whether a scored candidate is a good pair;
``_score`` has the judge (and the flaw check) score a batch and the verifiers decide correctness where
the prompt carries an answer or tests; ``_row`` writes the candidate as a row with its drop reasons.
Used by :mod:`alignforge.generate.dpo`, which re-exports the public names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from alignforge.generate._strategies import Candidate, GenContext
from alignforge.generate.flaws import FLAWS
from alignforge.stages import add_drop_reason

__all__ = ["Thresholds", "pair_gate_reasons"]


@dataclass(frozen=True)
class Thresholds:
    chosen: float = 9.0
    rejected: float = 6.0
    gap: float = 3.0


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def pair_gate_reasons(c: Candidate, th: Thresholds, *, strategy: str, confirm_flaws: bool) -> list[str]:
    """Why this scored candidate is not a good pair (empty list: it passes)."""
    reasons: list[str] = []
    if _norm(c.chosen or "") == _norm(c.rejected or ""):
        reasons.append("identical")
    cj, rj = c.chosen_judge, c.rejected_judge
    for side, j in (("chosen", cj), ("rejected", rj)):
        if j is None or not j.ok:
            reasons.append(f"{side}_judge_{'parse_failed' if j is None else j.status}")
    if cj is not None and cj.score is not None and cj.score < th.chosen:
        reasons.append("chosen_score_below_threshold")
    if rj is not None and rj.score is not None and rj.score > th.rejected:
        reasons.append("rejected_score_above_threshold")
    if cj and rj and cj.score is not None and rj.score is not None and cj.score - rj.score < th.gap:
        reasons.append("gap_below_threshold")
    if c.extra.get("chosen_verified") is False:
        reasons.append("chosen_failed_verification")
    if strategy == "flaw" and confirm_flaws:
        fc = c.extra.get("flaw_check")
        if fc is None or fc["status"] != "ok":
            reasons.append("flaw_check_parse_failed")
        else:
            if not fc["flaw_present"]:
                reasons.append("flaw_not_confirmed")
            if not fc["fluent"]:
                reasons.append("rejected_not_fluent")
    return reasons


def _score(cands: list[Candidate], ctx: GenContext, *, strategy: str, confirm_flaws: bool) -> None:
    todo = [c for c in cands if c.error is None and c.chosen_judge is None]
    items = [(c.item.text, c.chosen or "") for c in todo] + [(c.item.text, c.rejected or "") for c in todo]
    refs = [c.item.answer for c in todo] * 2
    results = ctx.judge.score_many(items, references=refs) if items else []
    for k, c in enumerate(todo):
        c.chosen_judge, c.rejected_judge = results[k], results[len(todo) + k]
    live = [c for c in cands if c.error is None]
    if strategy == "flaw" and confirm_flaws and live:
        checks = ctx.judge.check_flaws(
            [(c.item.text, c.rejected or "", c.flaw or "", FLAWS[c.flaw or ""].description) for c in live]
        )
        for c, fc in zip(live, checks, strict=True):
            c.extra["flaw_check"] = {
                "status": fc.status,
                "flaw_present": fc.flaw_present,
                "fluent": fc.fluent,
                "rationale": fc.rationale,
            }
    _verify(live)
    for c in live:
        for j in (c.chosen_judge, c.rejected_judge):
            if j is not None and j.status == "error":
                c.error = f"judge: {j.error}"


def _verify(live: list[Candidate]) -> None:
    """Math answers and code tests decide correctness (recorded as chosen/rejected_verified)."""
    from alignforge.verify import code_correct_many, code_task, math_correct

    jobs: list[tuple[Candidate, str, dict[str, Any]]] = []
    for c in live:
        if "chosen_verified" in c.extra:
            continue
        if c.item.answer is not None:
            c.extra["chosen_verified"] = math_correct(c.chosen or "", c.item.answer)
            c.extra["rejected_verified"] = math_correct(c.rejected or "", c.item.answer)
        elif (task := code_task(c.item.id, c.item.text, c.item.meta)) is not None:
            jobs += [(c, "chosen", task), (c, "rejected", task)]
    verdicts = code_correct_many([(task, getattr(c, side) or "") for c, side, task in jobs])
    for (c, side, _), v in zip(jobs, verdicts, strict=True):
        c.extra[f"{side}_verified"] = v["passed"]
        c.extra[f"{side}_verdict"] = v["status"]


def _detail(c: Candidate, th: Thresholds, reason: str) -> Any:
    """What exactly failed, for ``metadata.drop_reasons``: the scores against the threshold, the verdict."""
    cj, rj = c.chosen_judge, c.rejected_judge
    cs, rs = (cj.score if cj else None), (rj.score if rj else None)
    if reason == "chosen_score_below_threshold":
        return {"score": cs, "threshold": th.chosen}
    if reason == "rejected_score_above_threshold":
        return {"score": rs, "threshold": th.rejected}
    if reason == "gap_below_threshold":
        return {"gap": round(cs - rs, 4) if cs is not None and rs is not None else None, "threshold": th.gap}
    if reason.endswith("_judge_parse_failed") or reason.startswith(("chosen_judge_", "rejected_judge_")):
        j = cj if reason.startswith("chosen") else rj
        return {"status": j.status if j else "parse_failed"}
    if reason == "chosen_failed_verification":
        return {"verdict": c.extra.get("chosen_verdict", "failed")}
    if reason in ("flaw_not_confirmed", "rejected_not_fluent", "flaw_check_parse_failed"):
        fc = c.extra.get("flaw_check") or {}
        return {"flaw": c.flaw, "rationale": fc.get("rationale", "")}
    return None


def _row(
    c: Candidate, th: Thresholds, *, strategy: str, judge_name: str, reasons: list[str]
) -> dict[str, Any]:
    conv = isinstance(c.item.prompt, list)

    def shape(text: str | None) -> Any:
        return [{"role": "assistant", "content": text or ""}] if conv else (text or "")

    cj, rj = c.chosen_judge, c.rejected_judge
    meta: dict[str, Any] = {"candidate_id": c.cid, "prompt_id": c.item.id, "strategy": strategy}
    if c.flaw:
        meta["flaw_type"] = c.flaw
    if cj is not None and cj.score is not None:
        meta["chosen_score"] = cj.score
    if rj is not None and rj.score is not None:
        meta["rejected_score"] = rj.score
    meta["judge_status"] = {"chosen": cj.status if cj else None, "rejected": rj.status if rj else None}
    meta["rationale"] = {"chosen": cj.rationale if cj else "", "rejected": rj.rationale if rj else ""}
    meta["models"] = {"chosen": c.chosen_model, "rejected": c.rejected_model, "judge": judge_name}
    meta["gates_passed"] = not reasons
    meta.update(c.extra)
    row = {
        "prompt": c.item.prompt,
        "chosen": shape(c.chosen),
        "rejected": shape(c.rejected),
        "metadata": meta,
    }
    for r in reasons:
        add_drop_reason(row, r, _detail(c, th, r))
    return row
