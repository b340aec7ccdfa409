"""The judge's prompts. Every answer format here is the one ``_parse`` reads strictly.

Each prompt is a short chat with two worked examples before the real item: strong models
ignore them, and small local models copy the format from them instead of free-texting (on
SmolLM2-135M the format is followed on nearly every item with the examples, on almost none
without them).
"""

from __future__ import annotations

__all__ = [
    "RUBRIC",
    "score_messages",
    "SCORE_RETRY",
    "pairwise_messages",
    "PAIR_RETRY",
    "flaw_messages",
    "FLAW_RETRY",
]

Messages = list[dict[str, str]]

RUBRIC = """\
- 9-10: correct, complete for the request, clear, safe; nothing important missing.
- 7-8: good, with a minor gap, imprecision or verbosity.
- 4-6: partly wrong, oversimplified, incomplete, overconfident, risky or partly off-topic.
- 0-3: wrong, harmful, irrelevant, made-up facts, or incoherent."""

_SCORE_SYS = """\
You are a strict, fair grader. You rate an assistant's RESPONSE to a REQUEST from 0 to 10 with this rubric:
{rubric}
Reply with exactly two lines: 'Score: <integer 0-10>' and 'Rationale: <one sentence>'."""

_SCORE_SHOTS = [
    (
        "REQUEST: What is the capital of France?\nRESPONSE: The capital of France is Paris.",
        "Score: 10\nRationale: Correct, direct and complete.",
    ),
    (
        "REQUEST: How many legs does a spider have?\nRESPONSE: Spiders have six legs, like all insects.",
        "Score: 2\nRationale: Wrong: spiders have eight legs and are not insects.",
    ),
]

SCORE_RETRY = (
    "Your reply did not follow the format. Reply with exactly two lines:\n"
    "Score: <integer 0-10>\nRationale: <one sentence>"
)


def _chat(system: str, shots: list[tuple[str, str]], final: str) -> Messages:
    msgs: Messages = [{"role": "system", "content": system}]
    for user, assistant in shots:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    msgs.append({"role": "user", "content": final})
    return msgs


def score_messages(
    prompt: str, response: str, *, rubric: str = RUBRIC, reference: str | None = None
) -> Messages:
    ref = f"\nREFERENCE ANSWER (known correct): {reference}" if reference else ""
    final = f"REQUEST: {prompt}{ref}\nRESPONSE: {response}"
    return _chat(_SCORE_SYS.format(rubric=rubric), _SCORE_SHOTS, final)


_PAIR_SYS = """\
You compare two assistant answers, A and B, to the same REQUEST and say which is better overall \
(correct, complete, clear, safe).
Reply with exactly two lines: 'Winner: <A or B or tie>' and 'Rationale: <one sentence>'."""

_PAIR_SHOTS = [
    (
        "REQUEST: What is 2 + 2?\nANSWER A: 2 + 2 = 5.\nANSWER B: 2 + 2 = 4.",
        "Winner: B\nRationale: B is correct, A is wrong.",
    ),
    (
        "REQUEST: Name a primary color.\nANSWER A: Red is a primary color.\nANSWER B: Green grass is nice.",
        "Winner: A\nRationale: A answers the question, B does not.",
    ),
]

PAIR_RETRY = "Your reply did not follow the format. Reply with exactly:\nWinner: <A or B or tie>\nRationale: <one sentence>"


def pairwise_messages(prompt: str, a: str, b: str) -> Messages:
    return _chat(_PAIR_SYS, _PAIR_SHOTS, f"REQUEST: {prompt}\nANSWER A: {a}\nANSWER B: {b}")


_FLAW_SYS = """\
You check an assistant's RESPONSE to a REQUEST for one named FLAW, and whether the response is fluent and \
plausible (well-formed sentences a reader could believe, not garbage).
Reply with exactly three lines: 'Flaw: <yes or no>', 'Fluent: <yes or no>' and 'Rationale: <one sentence>'."""

_FLAW_SHOTS = [
    (
        "FLAW: hallucinated (it states made-up facts as if true)\nREQUEST: Who wrote Hamlet?\n"
        "RESPONSE: Hamlet was written by Charles Dickens in 1850.",
        "Flaw: yes\nFluent: yes\nRationale: The author and date are made up, but it reads naturally.",
    ),
    (
        "FLAW: incomplete (it leaves out a key part of the request)\nREQUEST: Name two primary colors.\n"
        "RESPONSE: red blue blue red the the",
        "Flaw: no\nFluent: no\nRationale: It lists both colors but is not a fluent sentence.",
    ),
]

FLAW_RETRY = (
    "Your reply did not follow the format. Reply with exactly:\nFlaw: <yes or no>\nFluent: <yes or no>\n"
    "Rationale: <one sentence>"
)


def flaw_messages(prompt: str, response: str, *, flaw_name: str, flaw_description: str) -> Messages:
    final = f"FLAW: {flaw_name} ({flaw_description})\nREQUEST: {prompt}\nRESPONSE: {response}"
    return _chat(_FLAW_SYS, _FLAW_SHOTS, final)
