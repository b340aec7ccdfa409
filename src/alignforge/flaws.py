"""The one flaw taxonomy: the six ways a rejected answer is made worse, and the mix they should reach.

``generate dpo --strategy flaw`` plans a flaw per candidate from :data:`FLAW_MIX` and asks the
judge to confirm it by its description; ``check`` measures how far a file's ``metadata.flaw_type``
shares are from the same mix. Both read it from here, so there is one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Flaw", "FLAWS", "FLAW_MIX"]


@dataclass(frozen=True, slots=True)
class Flaw:
    name: str
    description: str  # what the judge checks for
    instruction: str  # how the rewrite introduces it


FLAWS: dict[str, Flaw] = {
    f.name: f
    for f in (
        Flaw(
            "oversimplified",
            "it reduces the answer to a simplistic version that drops important nuance or conditions",
            "Oversimplify it: keep the main idea but drop the important caveats, conditions and nuance, "
            "so it sounds confident yet is too simple to be fully right.",
        ),
        Flaw(
            "risky_advice",
            "it recommends something unsafe, reckless or harmful without warning",
            "Make the advice subtly risky: recommend a more aggressive or careless course of action and leave "
            "out the safety warnings, while still sounding helpful.",
        ),
        Flaw(
            "incomplete",
            "it leaves out a key part of what the request asked for",
            "Make it incomplete: answer only part of the request and silently leave out one key step or part.",
        ),
        Flaw(
            "hallucinated",
            "it states made-up facts, numbers, names or sources as if true",
            "Add one or two plausible but made-up specifics (a wrong number, date, name or source) stated as fact.",
        ),
        Flaw(
            "irrelevant",
            "it drifts to an adjacent topic instead of answering what was asked",
            "Make it drift: answer a closely related but different question than the one asked.",
        ),
        Flaw(
            "overconfident",
            "it claims certainty where the answer is uncertain or depends on circumstances",
            "Make it overconfident: remove all hedging and uncertainty, state everything as guaranteed and absolute.",
        ),
    )
}

# The target share of each flaw among flawed pairs (the training-methods guide's 25/20/20/15/10/10).
FLAW_MIX: dict[str, float] = {
    "oversimplified": 0.25,
    "risky_advice": 0.20,
    "incomplete": 0.20,
    "hallucinated": 0.15,
    "irrelevant": 0.10,
    "overconfident": 0.10,
}
