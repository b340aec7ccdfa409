"""What the judge stage asks about each row, and what it writes back onto it."""

from __future__ import annotations

from typing import Any

from alignforge.judge.rubric import JudgeResult
from alignforge.records import Kind, text_of

__all__ = ["score_items", "pair_items", "set_score", "verify_rows"]


def score_items(
    chunk: list[tuple[int, dict[str, Any]]], kind: Kind
) -> tuple[tuple[str, ...], list[tuple[str, str]], list[str | None]]:
    """The score keys of ``kind`` and, per row and key, the ``(prompt, response)`` to judge and its reference."""
    keys = ("chosen_score", "rejected_score") if kind is Kind.DPO else ("score",)
    items: list[tuple[str, str]] = []
    refs: list[str | None] = []
    for _, r in chunk:
        answer = r.get("answer", (r.get("metadata") or {}).get("answer"))
        refs += [None if answer is None else str(answer)] * len(keys)
        prompt = r["prompt"] if "prompt" in r else r["messages"][:-1]
        for key in keys:
            field_name = key.removesuffix("_score") if kind is Kind.DPO else None
            resp = (
                r[field_name]
                if field_name
                else (r["completion"] if "completion" in r else r["messages"][-1:])
            )
            items.append((text_of(prompt), text_of(resp)))
    return keys, items, refs


def pair_items(items: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """``(prompt, chosen, rejected)`` per DPO row from its two score items."""
    return [(items[2 * k][0], items[2 * k][1], items[2 * k + 1][1]) for k in range(len(items) // 2)]


def set_score(meta: dict[str, Any], key: str, res: JudgeResult, judge_name: str) -> None:
    """``meta[key]`` = the score (only when it parsed), ``judge_status[key]``, ``rationale[key]``."""
    meta.pop(key, None)
    if res.ok:
        meta[key] = res.score
    status = meta.setdefault("judge_status", {})
    if isinstance(status, dict):
        status[key] = res.status
    rat = meta.setdefault("rationale", {})
    if isinstance(rat, dict):
        rat[key] = res.rationale
    meta["judge_model"] = judge_name


def verify_rows(chunk: list[tuple[int, dict[str, Any]]], kind: Kind) -> list[dict[str, bool]]:
    """Per row, ``{side: passed}`` from the math verifier (an ``answer``) or the sandbox (``tests``)."""
    from alignforge.verify.answers import code_correct_many, code_task, math_correct

    out: list[dict[str, bool]] = [{} for _ in chunk]
    jobs: list[tuple[int, str, dict[str, Any], str]] = []
    for k, (ln, r) in enumerate(chunk):
        spec = {**(r.get("metadata") or {}), **r}
        prompt = text_of(r["prompt"] if "prompt" in r else r["messages"][:-1])
        sides = (
            {"chosen": r["chosen"], "rejected": r["rejected"]}
            if kind is Kind.DPO
            else {"response": r["completion"] if "completion" in r else r["messages"][-1:]}
        )
        task = code_task(str(spec.get("task_id", f"line{ln}")), prompt, spec)
        for side, resp in sides.items():
            if spec.get("answer") is not None and task is None:
                out[k][side] = math_correct(text_of(resp), str(spec["answer"]))
            elif task is not None:
                jobs.append((k, side, task, text_of(resp)))
    for (k, side, _, _), v in zip(jobs, code_correct_many([(t, c) for _, _, t, c in jobs]), strict=True):
        out[k][side] = bool(v["passed"])
    return out
