"""``--dry-run``: what a run would still send, per role, each role priced with its own model.

Requests that the input alone decides (a first answer, a judge call on a given answer) are built
exactly as the run builds them and looked up in the request cache by
:func:`alignforge.llm.estimate_requests`; requests that embed an answer not yet known are stood in for
by one with an answer of ``max_tokens`` tokens and counted as to send. Rows already written are left
out by the caller (resume), so a rerun of a finished command estimates nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from alignforge.llm.base import LLM, ChatRequest
from alignforge.llm.budget import CostEstimate, estimate_requests

__all__ = ["DryRun", "cost_text", "estimate_lines", "stand_in"]


def stand_in(tokens: int) -> str:
    """Text of about ``tokens`` tokens (the estimate's 3 characters a token): an answer not known yet."""
    return "x" * (3 * tokens)


class DryRun:
    """Collects ``(role, request)`` pairs and estimates them; opens no file that does not exist.

    A context manager: the LLMs it built for pricing are closed on leaving.
    """

    def __init__(self, cache: str | os.PathLike[str] | None) -> None:
        self.cache = cache
        self._llms: dict[str, LLM] = {}
        self._known: dict[str, list[ChatRequest]] = {}
        self._dependent: dict[str, list[ChatRequest]] = {}
        self._opened: list[LLM] = []

    def role(self, role: str, model: str | LLM, options: dict[str, Any] | None = None) -> LLM:
        """Price ``role``'s requests with ``model`` (a spec, built but never called, or an LLM object)."""
        if isinstance(model, str):
            from alignforge.llm import llm_for_estimate

            llm = llm_for_estimate(model, cache=self.cache, **(options or {}))
            self._opened.append(llm)
        else:
            llm = model
        self._llms[role] = llm
        return llm

    def model_and_judge(
        self, models: dict[str, tuple[str | LLM | None, dict[str, Any] | None]]
    ) -> tuple[LLM, LLM]:
        """Roles ``model`` and ``judge`` from ``{"model": (spec, options), "judge": (spec or None, options)}``;
        without a judge model the judge is the model, as in a run."""
        llm = self.role("model", models["model"][0] or "local", models["model"][1])
        judge_model, judge_options = models["judge"]
        if judge_model is None:
            self._llms["judge"] = llm
            return llm, llm
        return llm, self.role("judge", judge_model, judge_options)

    def __enter__(self) -> DryRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, role: str, requests: Sequence[ChatRequest], *, dependent: bool = False) -> None:
        into = self._dependent if dependent else self._known
        into.setdefault(role, []).extend(requests)

    def result(self) -> dict[str, Any]:
        """``{"requests": to send, "cached", "planned" (both), "dependent", "cost_usd" (None: a role is
        unpriced), "roles": {...}}``."""
        roles: dict[str, dict[str, Any]] = {}
        for role, llm in self._llms.items():
            known = estimate_requests(llm, self._known.get(role, []))
            dep_reqs = self._dependent.get(role, [])
            dep = estimate_requests(llm, dep_reqs)  # a stand-in (an answer of x's) is never in the cache
            both = CostEstimate(
                llm.name,
                known.requests + dep.requests,
                known.cached,
                known.prompt_tokens + dep.prompt_tokens,
                known.max_completion_tokens + dep.max_completion_tokens,
                None
                if known.max_cost_usd is None or dep.max_cost_usd is None
                else known.max_cost_usd + dep.max_cost_usd,
            )
            roles[role] = {
                "model": both.model,
                "requests": both.requests,
                "cached": both.cached,
                "dependent": len(dep_reqs),
                "prompt_tokens": both.prompt_tokens,
                "max_completion_tokens": both.max_completion_tokens,
                "cost_usd": both.max_cost_usd,
                "text": str(both),
            }
        costs = [r["cost_usd"] for r in roles.values() if r["requests"]]
        requests, cached = (
            sum(r["requests"] for r in roles.values()),
            sum(r["cached"] for r in roles.values()),
        )
        return {
            "requests": requests,
            "cached": cached,
            "planned": requests + cached,
            "dependent": sum(r["dependent"] for r in roles.values()),
            "cost_usd": None if any(c is None for c in costs) else sum(costs),
            "roles": roles,
        }

    def close(self) -> None:
        for llm in self._opened:
            close = getattr(llm, "close", None)
            if close is not None:
                close()


def cost_text(cost: float | None) -> str:
    return "unknown (no price for a model: pass --option price=[in,out])" if cost is None else f"${cost:.4f}"


def estimate_lines(head: str, est: dict[str, Any]) -> list[str]:
    """``head`` then one line per role (``CostEstimate`` text) and a note on the dependent requests."""
    out = [head]
    for role, r in est["roles"].items():
        if r["requests"] or r["cached"]:
            out.append(f"   {role} {r['text']}")
    if est["dependent"]:
        out.append(
            f"   ({est['dependent']} of the requests embed an answer not known yet: counted as to send, "
            "with an answer of --max-tokens)"
        )
    return out
