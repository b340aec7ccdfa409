"""What a run returns: per-attempt judge scores and the outcome (``success_rate`` as the seed reports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AttemptResult", "AssessmentResult"]


@dataclass(slots=True)
class AttemptResult:
    attempt: int
    status: str  # "differentiated" | "not_differentiated" | "failed"
    strong_score: float | None = None
    weak_score: float | None = None
    error: str | None = None

    @property
    def gap(self) -> float | None:
        if self.strong_score is None or self.weak_score is None:
            return None
        return round(self.strong_score - self.weak_score, 3)


@dataclass(slots=True)
class AssessmentResult:
    topic: str
    out: Path
    models: dict[str, str]
    min_differentiation: float
    max_attempts: int
    attempts: list[AttemptResult] = field(default_factory=list)
    assessment: dict[str, Any] | None = None
    requests_sent: int = 0
    cache_hits: int = 0

    @property
    def differentiated(self) -> bool:
        return any(a.status == "differentiated" for a in self.attempts)

    @property
    def success_rate(self) -> str:
        n = len(self.attempts)
        k = sum(a.status == "differentiated" for a in self.attempts)
        return f"{round(100 * k / n) if n else 0}% ({k}/{n} attempts)"

    def lines(self) -> list[str]:
        out = [f"topic: {self.topic}", f"Success Rate: {self.success_rate}"]
        for a in self.attempts:
            if a.status == "failed":
                out.append(f"attempt {a.attempt}: failed: {a.error}")
            else:
                out.append(
                    f"attempt {a.attempt}: strong {a.strong_score:g} - weak {a.weak_score:g} = {a.gap:g} "
                    f"({'>=' if a.status == 'differentiated' else '<'} {self.min_differentiation:g}): {a.status}"
                )
        if self.assessment is not None:
            n, minutes = self.assessment["total_errors"], self.assessment["estimated_minutes"]
            out.append(f"student assessment: {n} error spans, about {minutes} minutes")
        out.append(f"requests sent: {self.requests_sent}, answered from the cache: {self.cache_hits}")
        out.append(f"wrote {self.out}/assessment.json, {self.out}/report.md and {self.out}/assessment.html")
        return out
