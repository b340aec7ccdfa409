"""Planning flaws for ``generate dpo --strategy flaw``: parse a mix, and a deterministic sampler that hits it.

The categories and the target mix are the one flaw taxonomy in :mod:`alignforge.flaws` (``check``
measures files against the same mix).

Candidate ``k`` always gets the same flaw (smooth weighted round-robin over the mix), so a
resumed run asks for exactly the same rewrites and the request cache answers them.
"""

from __future__ import annotations

from collections.abc import Mapping

from alignforge.errors import ConfigError
from alignforge.flaws import FLAW_MIX, FLAWS, Flaw

__all__ = ["Flaw", "FLAWS", "DEFAULT_MIX", "parse_mix", "flaw_sequence", "flaw_for", "mix_report"]


DEFAULT_MIX = FLAW_MIX  # the target mix, under the name generate has always exported


def parse_mix(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """``"oversimplified=0.5,incomplete=0.5"`` or a mapping -> a normalized mix over known flaws."""
    if spec is None:
        return dict(DEFAULT_MIX)
    if isinstance(spec, str):
        raw: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise ConfigError(f"flaw mix: expected name=weight, got {part!r}")
            try:
                raw[name.strip()] = float(value)
            except ValueError:
                raise ConfigError(
                    f"flaw mix: weight of {name.strip()!r} is not a number: {value!r}"
                ) from None
    else:
        raw = {str(k): float(v) for k, v in spec.items()}
    unknown = sorted(set(raw) - set(FLAWS))
    if unknown:
        raise ConfigError(f"flaw mix: unknown flaw(s) {unknown}; known: {sorted(FLAWS)}")
    if any(v < 0 for v in raw.values()) or sum(raw.values()) <= 0:
        raise ConfigError("flaw mix: weights must be >= 0 and sum to more than 0")
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items() if v > 0}


def flaw_sequence(mix: Mapping[str, float], n: int) -> list[str]:
    """The first ``n`` flaws of the deterministic schedule; every prefix is as close to ``mix`` as counts allow."""
    names = sorted(mix)
    current = dict.fromkeys(names, 0.0)
    out = []
    for _ in range(n):
        for k in names:
            current[k] += mix[k]
        pick = max(names, key=lambda k: (current[k], mix[k]))
        current[pick] -= 1.0
        out.append(pick)
    return out


def flaw_for(mix: Mapping[str, float], index: int) -> str:
    return flaw_sequence(mix, index + 1)[-1]


def mix_report(counts: Mapping[str, int], mix: Mapping[str, float]) -> list[tuple[str, int, float, float]]:
    """``(flaw, count, share, target)`` rows for the summary."""
    total = sum(counts.values()) or 1
    return [
        (k, counts.get(k, 0), counts.get(k, 0) / total, mix.get(k, 0.0))
        for k in sorted(set(mix) | set(counts))
    ]
