"""``generate dpo --dry-run``: the candidates left after a resume, and the requests they would send."""

from __future__ import annotations

import os
from typing import Any

from alignforge.generate._strategies import Candidate, GenContext, plan_requests
from alignforge.judge.rubric import Judge
from alignforge.llm.base import LLM
from alignforge.stages import DryRun, Tracker, cost_text, estimate_lines

__all__ = ["estimate_dpo", "estimate_lines_dpo"]


def estimate_dpo(
    queue: list[Candidate],
    done: dict[str, int],
    passed: set[str],
    *,
    target: int,
    max_candidates: int | None,
    rpc: int,
    cache: str | os.PathLike[str] | None,
    strategy: str,
    confirm_flaws: bool,
    models: dict[str, tuple[str | LLM | None, dict[str, Any] | None]],
    judge_max_tokens: int,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The DPO dry run: candidates not written whose prompt has no passing pair yet, and their requests.

    Expected: the next ``target - passed`` of them (each passes); worst case: every one left.
    """
    left = [c for c in queue if c.cid not in done and c.item.id not in passed]
    room = len(left) if max_candidates is None else max(0, min(len(left), max_candidates - len(done)))
    need = min(max(target - len(passed), 0), room)
    with DryRun(cache) as dry:
        llm, jllm = dry.model_and_judge(models)
        weak_model, weak_options = models["weak"]
        weak = dry.role("weak", weak_model, weak_options) if weak_model is not None else None
        judge = Judge(jllm, max_tokens=judge_max_tokens)
        ctx = GenContext(llm=llm, judge=judge, tracker=Tracker(0), weak_llm=weak, **params)
        known, dependent = plan_requests(strategy, left[:need], ctx, confirm_flaws=confirm_flaws)
        for role, req in known:
            dry.add(role, [req])
        for role, req in dependent:
            dry.add(role, [req], dependent=True)
        est = dry.result()
    return {
        **est,
        "candidates": need,
        "resumed": len(done),
        "passed": len(passed),
        "requests_per_candidate": rpc,
        "max_candidates": room,
        "max_requests": room * rpc,
    }


def estimate_lines_dpo(e: dict[str, Any]) -> list[str]:
    """The dry run's summary lines: candidates and requests left, each role's estimate, what is done."""
    head = (
        f"dry run: {e['candidates']} candidates to try, {e['planned']} LLM requests ({e['requests']} to "
        f"send, {e['cached']} answered from the cache; worst case {e['max_requests']} for "
        f"{e['max_candidates']} candidates), estimated cost {cost_text(e['cost_usd'])}"
    )
    done = (
        [f"   resumed: {e['resumed']} candidates ({e['passed']} passing pairs) are already written"]
        if e["resumed"]
        else []
    )
    return estimate_lines(head, e) + done
