"""The RLVR domain mix: parse ``--mix 40/30/20/10`` and plan how many tasks of each domain make ``n``.

The shares are math/code/finance/general in that order, whole percentages summing to 100 (the seed's
mix is 40/30/20/10). The plan rounds by largest remainder, so the counts always sum to ``n`` and
each is within one task of its exact share; ties go to the domain listed first.
"""

from __future__ import annotations

import re

from alignforge.errors import ConfigError

__all__ = ["MIX_DOMAINS", "SEED_MIX", "parse_mix", "plan_mix"]

MIX_DOMAINS = ("math", "code", "finance", "general")
SEED_MIX = {"math": 40, "code": 30, "finance": 20, "general": 10}


def parse_mix(text: str, *, option: str = "--mix") -> dict[str, int]:
    """``"40/30/20/10"`` -> ``{"math": 40, "code": 30, "finance": 20, "general": 10}``.

    Raises :class:`ConfigError` naming ``option`` and what is wrong: not four parts, a part that is not
    a whole number, a negative share, or shares that do not sum to 100.
    """
    parts = [p.strip().rstrip("%").strip() for p in str(text).split("/")]
    shape = "four whole percentages for math/code/finance/general that sum to 100, like 40/30/20/10"
    if len(parts) != len(MIX_DOMAINS):
        raise ConfigError(f"{option} {text!r}: expected {shape}; got {len(parts)} part(s)")
    shares: dict[str, int] = {}
    for domain, part in zip(MIX_DOMAINS, parts, strict=True):
        if not re.fullmatch(r"\d+", part):
            raise ConfigError(
                f"{option} {text!r}: the {domain} share {part!r} is not a whole number >= 0 ({shape})"
            )
        shares[domain] = int(part)
    total = sum(shares.values())
    if total != 100:
        raise ConfigError(f"{option} {text!r}: the shares sum to {total}, not 100 ({shape})")
    return shares


def plan_mix(n: int, mix: dict[str, int] | str | None = None) -> dict[str, int]:
    """How many of ``n`` tasks each domain gets under ``mix`` (shares or a ``--mix`` string; the seed's by
    default): floors of the exact shares, then one more to the largest remainders until they sum to ``n``."""
    shares = parse_mix(mix) if isinstance(mix, str) else dict(SEED_MIX if mix is None else mix)
    if set(shares) != set(MIX_DOMAINS) or sum(shares.values()) != 100 or min(shares.values()) < 0:
        raise ConfigError(f"mix {shares!r}: expected shares for {'/'.join(MIX_DOMAINS)} summing to 100")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"n: expected a whole number of tasks >= 0, got {n!r}")
    exact = {d: n * shares[d] for d in MIX_DOMAINS}  # in hundredths of a task
    counts = {d: exact[d] // 100 for d in MIX_DOMAINS}
    left = n - sum(counts.values())
    order = sorted(MIX_DOMAINS, key=lambda d: (-(exact[d] % 100), MIX_DOMAINS.index(d)))
    for d in order[:left]:
        counts[d] += 1
    return counts
