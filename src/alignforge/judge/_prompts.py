"""The judge's prompts. Every answer format here is the one ``_parse`` reads strictly."""

from __future__ import annotations

__all__ = [
    "RUBRIC",
    "SYSTEM",
    "score_prompt",
    "SCORE_RETRY",
    "pairwise_prompt",
    "PAIR_RETRY",
    "flaw_prompt",
    "FLAW_RETRY",
]

SYSTEM = "You are a strict, fair grader of assistant answers. You follow the requested output format exactly."

RUBRIC = """\
- 9-10: correct, complete for the request, clear, safe; nothing important missing.
- 7-8: good, with a minor gap, imprecision or verbosity.
- 4-6: partly wrong, oversimplified, incomplete, overconfident, risky or partly off-topic.
- 0-3: wrong, harmful, irrelevant, made-up facts, or incoherent."""

_SCORE = """\
Rate the RESPONSE to the REQUEST on a 0-10 scale with this rubric:
{rubric}
{reference}
REQUEST:
{prompt}

RESPONSE:
{response}

Reply in exactly this format and nothing else:
Score: <integer 0-10>
Rationale: <one sentence>"""

SCORE_RETRY = (
    "Your reply did not follow the format. Reply with exactly two lines:\n"
    "Score: <integer 0-10>\nRationale: <one sentence>"
)


def score_prompt(prompt: str, response: str, *, rubric: str = RUBRIC, reference: str | None = None) -> str:
    ref = f"\nA REFERENCE ANSWER (correct) is:\n{reference}\n" if reference else ""
    return _SCORE.format(rubric=rubric, reference=ref, prompt=prompt, response=response)


_PAIR = """\
Two assistant answers to the same REQUEST follow. Which one is better overall (correct, complete, clear, safe)?

REQUEST:
{prompt}

ANSWER A:
{a}

ANSWER B:
{b}

Reply in exactly this format and nothing else:
Winner: <A or B or tie>
Rationale: <one sentence>"""

PAIR_RETRY = "Your reply did not follow the format. Reply with exactly:\nWinner: <A or B or tie>\nRationale: <one sentence>"


def pairwise_prompt(prompt: str, a: str, b: str) -> str:
    return _PAIR.format(prompt=prompt, a=a, b=b)


_FLAW = """\
An assistant answered a REQUEST. Check the RESPONSE for one specific flaw: {flaw_name} ({flaw_description}).
Also check that it is fluent and plausible: well-formed sentences a reader could believe, not garbage.

REQUEST:
{prompt}

RESPONSE:
{response}

Reply in exactly this format and nothing else:
Flaw: <yes or no>
Fluent: <yes or no>
Rationale: <one sentence>"""

FLAW_RETRY = (
    "Your reply did not follow the format. Reply with exactly:\nFlaw: <yes or no>\nFluent: <yes or no>\n"
    "Rationale: <one sentence>"
)


def flaw_prompt(prompt: str, response: str, *, flaw_name: str, flaw_description: str) -> str:
    return _FLAW.format(
        prompt=prompt, response=response, flaw_name=flaw_name, flaw_description=flaw_description
    )
