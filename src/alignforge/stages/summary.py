"""The one summary every stage's ``run()`` returns: rows written / dropped / failed, why, what it cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["StageSummary", "usage_lines", "reason_text"]


def usage_lines(models: dict[str, dict[str, Any]]) -> list[str]:
    """One line per model: requests (cache hits), tokens sent, cost."""
    return [
        f"model {name}: {u['requests']} requests ({u['cached']} from cache), {u['prompt_tokens']:,} prompt + "
        f"{u['completion_tokens']:,} completion tokens, cost ${u['cost_usd']:.4f}"
        for name, u in models.items()
    ]


def reason_text(reasons: dict[str, int]) -> str:
    """``a=3, b=1``, most frequent first."""
    return ", ".join(f"{k}={v}" for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class StageSummary:
    """What one stage run did.

    ``outputs`` maps a role (``out``, ``dropped``, ``failures``, ``report``, ...) to a path; ``out`` is the
    main output, and the summary is path-like for it (``os.fspath(summary)``), so it can be passed
    where a file is read, as in the seeds' ``validate_dpo_pairs(generate_dpo_pairs(...))``.
    ``figures`` holds what is particular to the stage (a DPO run's target and flaw counts, a judge's
    parse failures, ...); they read as attributes too (``summary.passed``). ``notes`` are the stage's
    own summary lines, printed after the common ones. ``reused`` is True when a finished run with the
    same fingerprint was recognised and nothing ran. ``written_to`` (output role -> rows) is for a
    stage that writes its rows to more than one file: the summary line then says how many went where.
    """

    stage: str
    written: int = 0
    dropped: int = 0
    failed: int = 0
    resumed: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    requests: int = 0
    cached: int = 0
    duration_s: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    estimate: dict[str, Any] | None = None
    fingerprint: str = ""
    reused: bool = False
    written_to: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        figures = self.__dict__.get("figures")
        if figures is not None and name in figures:
            return figures[name]
        raise AttributeError(f"{type(self).__name__} of {self.__dict__.get('stage')!r} has no {name!r}")

    @property
    def reasons(self) -> dict[str, int]:
        """Alias of ``drop_reasons``."""
        return self.drop_reasons

    @property
    def output(self) -> Path:
        """The main output (``outputs["out"]``); after a dry run it may not exist yet."""
        return Path(self.outputs["out"])

    def __fspath__(self) -> str:
        return self.outputs["out"]

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` rows dropped for ``reason``."""
        self.dropped += n
        self.drop_reasons[reason] = self.drop_reasons.get(reason, 0) + n

    def common_lines(self) -> list[str]:
        """The lines every stage prints: rows, side files, drop reasons, cost, per-model usage."""
        o = self.outputs
        side = []
        if "dropped" in o:
            side.append(f"dropped {self.dropped} ({o['dropped']})")
        elif self.dropped:
            side.append(f"dropped {self.dropped}")
        if "failures" in o:
            side.append(f"failed {self.failed} ({o['failures']})")
        elif self.failed:
            side.append(f"failed {self.failed}")
        if self.written_to:
            where = ", ".join(f"{n} to {o.get(role, role)}" for role, n in self.written_to.items())
            where = f" ({where})"
        else:
            where = f" to {o['out']}" if "out" in o else ""
        lines = [f"{self.stage}: written {self.written}{where}" + (", " + ", ".join(side) if side else "")]
        if self.reused:
            lines.append(
                f"   reused: a finished run with the same inputs and parameters ({self.fingerprint[:12]})"
            )
        if self.resumed:
            lines.append(f"   resumed: {self.resumed} rows were already done and were skipped")
        if self.drop_reasons:
            lines.append("   drop reasons: " + reason_text(self.drop_reasons))
        if self.requests or self.cost_usd:
            lines.append(f"   requests {self.requests} ({self.cached} from cache), cost ${self.cost_usd:.4f}")
            lines.extend("   " + line for line in usage_lines(self.models))
        return lines

    def lines(self) -> list[str]:
        """Common lines then the stage's own; a dry run shows only its estimate (in ``notes``)."""
        if self.estimate is not None:
            return list(self.notes)
        return [*self.common_lines(), *self.notes]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageSummary:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
