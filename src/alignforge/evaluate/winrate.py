"""Win rate against a baseline: from a judgments file (``win_rate``, with a Wilson interval), or end to
end as the ``evaluate.winrate`` stage (answers from both models on held-out prompts, the pairwise
judge in both orders, alpaca_eval's 1 / 1.5 / 2 encoding, the standard error and a length-controlled
win rate beside it)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.io import iter_jsonl
from alignforge.stages import Stage, StageSummary, side_paths

__all__ = ["PREFERENCE", "WinRateStage", "lc_win_rate", "preference_of", "win_rate", "winrate_stats"]

_OUTCOMES = {"tuned": 1.0, "baseline": 0.0, "tie": 0.5}


def win_rate(path: str | os.PathLike[str], *, z: float = 1.96) -> dict[str, Any]:
    """Rows ``{"winner": "tuned" | "baseline" | "tie", ...}``; ties count half. Judgments whose two
    orders disagree (``"agreement": false``) count as ties, since the judge could not decide."""
    wins = ties = losses = disagreements = 0
    for line, row in iter_jsonl(path):
        winner = row.get("winner") if isinstance(row, dict) else None
        if winner not in _OUTCOMES:
            raise AlignforgeError(
                f"{path}:{line}: field 'winner': expected tuned, baseline or tie, got {winner!r}"
            )
        if row.get("agreement") is False:
            disagreements += 1
            winner = "tie"
        wins += winner == "tuned"
        ties += winner == "tie"
        losses += winner == "baseline"
    n = wins + ties + losses
    rate = (wins + 0.5 * ties) / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {
        "win_rate": rate,
        "ci95": [max(0.0, centre - half), min(1.0, centre + half)],
        "judgments": n,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "order_disagreements": disagreements,
        "unit": "share of pairwise wins against the baseline, ties half, 0-1 (gate: evaluation.win_rate)",
    }


# --- the evaluate.winrate stage: generate, judge in both orders, score ---------------------------

# alpaca_eval's preference encoding: 1 = the baseline's answer preferred, 2 = the tuned model's, 1.5 a tie.
PREFERENCE = {"baseline": 1.0, "tie": 1.5, "tuned": 2.0}


def preference_of(result: Any) -> tuple[str, float] | None:
    """(winner, preference) of a :class:`~alignforge.judge.PairwiseResult` judged as (prompt, tuned,
    baseline): ``a`` is the tuned answer. Two orders that disagree are a tie; a verdict that failed
    (parse_failed, error) is None, counted as a failure and never as a tie."""
    from alignforge.judge import JudgeStatus

    if result.status is JudgeStatus.DISAGREE:
        return "tie", PREFERENCE["tie"]
    if result.status is not JudgeStatus.OK:
        return None
    winner = {"a": "tuned", "b": "baseline", "tie": "tie"}[result.winner]
    return winner, PREFERENCE[winner]


def winrate_stats(preferences: Sequence[float]) -> dict[str, Any]:
    """Win rate = mean(preference - 1) and its standard error (sample standard deviation / sqrt(n), as
    alpaca_eval's); None for n < 2."""
    n = len(preferences)
    if n == 0:
        raise AlignforgeError("no judged pair: the win rate is undefined")
    vals = [p - 1.0 for p in preferences]
    mean = sum(vals) / n
    se = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1) / n) if n > 1 else None
    return {
        "win_rate": mean,
        "se": se,
        "wins": sum(p == PREFERENCE["tuned"] for p in preferences),
        "losses": sum(p == PREFERENCE["baseline"] for p in preferences),
        "ties": sum(p == PREFERENCE["tie"] for p in preferences),
        "n": n,
    }


def lc_win_rate(
    preferences: Sequence[float], len_tuned: Sequence[int], len_baseline: Sequence[int], *, l2: float = 1.0
) -> float:
    """Length-controlled win rate (AlpacaEval 2's idea): fit P(tuned preferred) = sigmoid(a + b * x)
    with x = tanh(length difference / its standard deviation), by Newton's method on the logistic
    loss (ties count as 0.5; ``l2`` shrinks b), and report sigmoid(a): the win rate the fit predicts
    when both answers are equally long."""
    import numpy as np

    y = np.asarray(preferences, dtype=float) - 1.0
    d = np.asarray(len_tuned, dtype=float) - np.asarray(len_baseline, dtype=float)
    if len(y) == 0 or len(y) != len(d):
        raise AlignforgeError("lc_win_rate: preferences and lengths must be non-empty and of one length")
    sd = float(d.std())
    x = np.tanh(d / sd) if sd > 0 else np.zeros_like(d)
    design = np.column_stack([np.ones_like(x), x])
    penalty = np.diag([1e-6, l2])
    w = np.zeros(2)
    for _ in range(200):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (y - p) - penalty @ w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w = w + step
        if float(np.abs(step).max()) < 1e-10:
            break
    return float(1.0 / (1.0 + math.exp(-float(w[0]))))


def _local_dir(spec: str) -> str | None:
    from alignforge.evaluate.checkpoint import _model_dir

    return _model_dir(spec)


@dataclass
class WinRateStage(Stage):
    """Answers of ``model`` (tuned) and ``baseline`` on held-out prompts, judged pairwise in both orders.

    ``prompts`` is JSONL with ``prompt`` (and optionally ``id``); ``limit`` keeps the first N. Answers
    are greedy; every request goes through the folder's SQLite cache, so a killed run repeats no
    finished generation or judgment. Outputs: ``winrate.json`` (``win_rate``, ``se``, ``wins``,
    ``losses``, ``ties``, ``n``, ``lc_win_rate``, ``order_disagreements``), ``judgments.jsonl`` (one
    row per pair, readable by ``bench winrate``) and ``judgments.failures.jsonl`` (pairs with a failed
    generation or judgment, left out of ``n`` with the reason). ``judge_options`` (backend options such
    as ``base_url``) are not parameters: they say where the judge is, not what it is.
    """

    model: str
    baseline: str
    prompts: Path
    judge: str
    out_dir: Path
    max_new_tokens: int = 256
    limit: int | None = None
    judge_options: dict[str, Any] | None = field(default=None, compare=False)
    model_options: dict[str, Any] | None = field(default=None, compare=False)

    name = "evaluate.winrate"

    def __post_init__(self) -> None:
        self.out_dir, self.prompts = Path(self.out_dir), Path(self.prompts)
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"evaluate.winrate: limit must be >= 1 or null, got {self.limit}")

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {
            "prompts": self.prompts,
            "model": _local_dir(self.model),
            "baseline": _local_dir(self.baseline),
            "judge": _local_dir(self.judge),
        }

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        judged = side_paths(self.out_dir / "judgments.jsonl")
        return {"out": self.out_dir / "winrate.json", "judgments": judged.out, "failures": judged.failures}

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "baseline": self.baseline,
            "judge": self.judge,
            "max_new_tokens": self.max_new_tokens,
            "limit": self.limit,
        }

    def _read_prompts(self) -> list[tuple[str, str]]:
        from alignforge.io import DataError

        if not self.prompts.is_file():
            raise DataError(self.prompts, None, "file not found (held-out prompts)")
        rows: list[tuple[str, str]] = []
        for line, row in iter_jsonl(self.prompts):
            prompt = row.get("prompt") if isinstance(row, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                raise DataError(
                    self.prompts, line, "field 'prompt': expected a non-empty string", field="prompt"
                )
            rows.append((str(row.get("id", f"line{line}")), prompt))
            if self.limit and len(rows) >= self.limit:
                break
        if not rows:
            raise DataError(self.prompts, None, "no prompts in file")
        return rows

    def execute(self) -> StageSummary:
        from alignforge.io import write_jsonl
        from alignforge.judge import Judge
        from alignforge.llm import ChatRequest, ChatResponse, get_llm

        self.out_dir.mkdir(parents=True, exist_ok=True)
        paths = self.outputs()
        cache = str(self.out_dir / "requests.sqlite")
        prompts = self._read_prompts()
        answers = {}
        for role, spec in (("tuned", self.model), ("baseline", self.baseline)):
            llm = get_llm(spec, cache=cache, **(self.model_options or {}))
            reqs = [ChatRequest.chat(p, temperature=0.0, max_tokens=self.max_new_tokens) for _, p in prompts]
            answers[role] = llm.generate(reqs)
        rows, failures, items = [], [], []
        for k, (pid, prompt) in enumerate(prompts):
            t, b = answers["tuned"][k], answers["baseline"][k]
            bad = [
                f"{role}: {res}"
                for role, res in (("tuned", t), ("baseline", b))
                if not isinstance(res, ChatResponse)
            ]
            if bad:
                failures.append(
                    {"id": pid, "prompt": prompt, "error": "generation failed: " + "; ".join(bad)}
                )
                continue
            assert isinstance(t, ChatResponse) and isinstance(b, ChatResponse)
            items.append((pid, prompt, t.text, b.text))
        judge = Judge(get_llm(self.judge, cache=cache, **(self.judge_options or {})), max_tokens=96)
        verdicts = judge.pairwise_many([(p, t, b) for _, p, t, b in items]) if items else []
        prefs, len_t, len_b, disagreements = [], [], [], 0
        for (pid, prompt, t_text, b_text), v in zip(items, verdicts, strict=True):
            scored = preference_of(v)
            if scored is None:
                failures.append({"id": pid, "prompt": prompt, "error": f"judgment {v.status}: {v.rationale}"})
                continue
            winner, pref = scored
            disagreements += not v.agreement
            prefs.append(pref)
            len_t.append(len(t_text))
            len_b.append(len(b_text))
            rows.append(
                {
                    "id": pid,
                    "prompt": prompt,
                    "tuned": t_text,
                    "baseline": b_text,
                    "winner": winner,
                    "preference": pref,
                    "agreement": v.agreement,
                    "first": v.first,
                    "second": v.second,
                    "status": str(v.status),
                    "rationale": v.rationale,
                }
            )
        write_jsonl(paths["judgments"], rows)
        write_jsonl(paths["failures"], failures)
        stats = winrate_stats(prefs)
        report = {
            **stats,
            "lc_win_rate": lc_win_rate(prefs, len_t, len_b),
            "order_disagreements": disagreements,
            "failed": len(failures),
            "model": self.model,
            "baseline": self.baseline,
            "judge": self.judge,
            "encoding": "alpaca_eval preference: 1 baseline, 1.5 tie (or the two orders disagree), 2 tuned",
        }
        out = Path(paths["out"])
        out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        se = "n/a" if stats["se"] is None else f"{stats['se']:.3f}"
        notes = [
            f"   win rate {stats['win_rate']:.3f} ± {se} (LC {report['lc_win_rate']:.3f}) over {stats['n']} pairs: "
            f"{stats['wins']} wins, {stats['ties']} ties, {stats['losses']} losses; "
            f"{disagreements} order disagreements (ties)"
        ]
        return StageSummary(
            self.name,
            written=len(rows),
            failed=len(failures),
            outputs={k: str(v) for k, v in paths.items()},
            figures=report,
            notes=notes,
        )
