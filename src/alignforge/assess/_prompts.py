"""Prompts for the seven steps: short, each with a worked example whose format the parser reads.

Small local models (SmolLM2-135M) copy the example's shape far more reliably than they
follow an instruction, so every step shows one; the parsers reject an answer that copies
the example's content (see ``EXAMPLES``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LEVELS",
    "EXAMPLES",
    "categories_messages",
    "catalog_messages",
    "challenge_messages",
    "requirements_messages",
    "implementation_messages",
    "judge_rubric",
    "challenge_text",
    "spans_messages",
    "details_messages",
    "retry_message",
]

Messages = list[dict[str, str]]
LEVELS = ("Beginner", "Intermediate", "Advanced")


def _chat(system: str, shots: list[tuple[str, str]], final: str) -> Messages:
    msgs = [{"role": "system", "content": system}]
    for user, answer in shots:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return [*msgs, {"role": "user", "content": final}]


def _items(shots: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(line.split(" ", 1)[1] for _, answer in shots for line in answer.splitlines())


def _labelled(shots: list[tuple[str, str]], *labels: str) -> tuple[str, ...]:
    return tuple(
        line.split(":", 1)[1].strip()
        for _, answer in shots
        for line in answer.splitlines()
        if line.split(":", 1)[0] in labels
    )


_CAT_SHOTS = [
    (
        "Topic: Python unit testing\nLevel: Beginner",
        "1. Writing a first test with assert\n2. Running tests with pytest",
    ),
    (
        "Topic: SQL databases\nLevel: Advanced",
        "1. Reading query plans of slow joins\n2. Choosing isolation levels",
    ),
]


def categories_messages(topic: str, level: str) -> Messages:
    system = (
        "You list subtopics of a topic for one difficulty level. Reply with a numbered list of short items."
    )
    return _chat(system, _CAT_SHOTS, f"Topic: {topic}\nLevel: {level}")


_CATALOG_SHOTS = [
    (
        "Topic: Python unit testing",
        "1. Comparing floats with == - Impact: flaky tests - Likelihood: high\n"
        "2. Sharing state between tests - Impact: order-dependent failures - Likelihood: medium\n"
        "3. Mocking the code under test - Impact: tests that cannot fail - Likelihood: low",
    ),
    (
        "Topic: SQL databases",
        "1. Building queries by string concatenation - Impact: SQL injection - Likelihood: medium\n"
        "2. Missing an index on a join key - Impact: slow queries - Likelihood: high\n"
        "3. Reading without a transaction - Impact: inconsistent results - Likelihood: low",
    ),
]


def catalog_messages(topic: str) -> Messages:
    system = (
        "You list mistakes weak engineers make on a topic. Reply with a numbered list: "
        "'<mistake> - Impact: <what goes wrong> - Likelihood: <high, medium or low>' "
        "(how likely a weak engineer makes it)."
    )
    return _chat(system, _CATALOG_SHOTS, f"Topic: {topic}")


_CHALLENGE_SHOT = """\
Title: Retry-safe payment webhook handler
Task: Implement a handler that processes payment webhooks exactly once.
Requirements:
1. Verify the webhook signature first
2. Ignore an event id seen before
Success criteria: Replaying an event charges the customer once.
Context: A shop gets duplicate webhooks when its server is slow."""


def challenge_messages(topic: str, focus: list[str]) -> Messages:
    system = (
        "You write one realistic implementation challenge on a topic. Do not give hints or name mistakes. "
        "Reply with: Title, Task, Requirements (numbered), Success criteria, Context."
    )
    final = f"Topic: {topic}\nFocus: {focus[0] if focus else topic}"
    return _chat(system, [("Topic: web backends\nFocus: idempotency", _CHALLENGE_SHOT)], final)


_REQ_SHOTS = [
    (
        "Task: Implement a handler that processes payment webhooks exactly once.",
        "1. Verify the webhook signature first\n2. Ignore an event id seen before",
    ),
    (
        "Task: Write a function that merges two sorted lists.",
        "1. Run in linear time\n2. Keep equal items stable",
    ),
]


def requirements_messages(task: str) -> Messages:
    system = "You list the requirements an implementation of a task must meet. Reply with a numbered list."
    return _chat(system, _REQ_SHOTS, f"Task: {task}")


def challenge_text(ch: dict[str, Any]) -> str:
    """The challenge as the implementing models and the judge see it."""
    parts = [f"{ch['title']}\n\nTask: {ch['task']}"]
    if ch.get("context"):
        parts.append(f"Context: {ch['context']}")
    parts.append("Requirements:\n" + "\n".join(f"{i}. {r}" for i, r in enumerate(ch["requirements"], 1)))
    if ch.get("success_criteria"):
        parts.append(f"Success criteria: {ch['success_criteria']}")
    return "\n\n".join(parts)


def implementation_messages(challenge: str) -> Messages:
    system = (
        "You are a software engineer. Implement the challenge in Python. Reply with one ```python code block."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": challenge}]


def judge_rubric(topic: str, catalog: list[dict[str, Any]]) -> str:
    """The judge's 0-10 rubric for one implementation, naming the known error patterns."""
    errors = "\n".join(f"  * {e['error']}" for e in catalog)
    return (
        f"The RESPONSE is an implementation for a challenge on {topic}.\n"
        "- 9-10: correct and complete, avoids every known mistake.\n"
        "- 6-8: mostly correct, one minor mistake or gap.\n"
        "- 3-5: several mistakes or missing requirements.\n"
        "- 0-2: wrong, not code, or unrelated.\n"
        f"Known mistakes:\n{errors}"
    )


_SPANS_SHOT_USER = """\
CHALLENGE: Sum the prices of a cart.
CODE:
def total(cart):
    t = 0
    for item in cart:
        t = item.price
    return t"""
_SPANS_SHOT = "Line: t = item.price\nProblem: It overwrites the total instead of adding to it."


def spans_messages(challenge: str, code: str) -> Messages:
    system = (
        "You review code. Copy each wrong line exactly after 'Line:' and explain it after 'Problem:'. "
        "List up to 3 lines."
    )
    return _chat(system, [(_SPANS_SHOT_USER, _SPANS_SHOT)], f"CHALLENGE: {challenge}\nCODE:\n{code}")


_DETAILS_SHOTS = [
    (
        "TOPIC: Python basics\nCODE LINE: t = item.price\nPROBLEM: It overwrites the total instead of adding to it.",
        "Severity: major\nMinutes: 3\nConcept: Running totals\nFix: t += item.price\n"
        "Learning: Add to a total, never replace it.",
    ),
    (
        'TOPIC: SQL databases\nCODE LINE: cur.execute("SELECT * FROM users WHERE name = \'" + name + "\'")\n'
        "PROBLEM: User input is pasted into the SQL text.",
        "Severity: critical\nMinutes: 5\nConcept: Query parameters\n"
        'Fix: cur.execute("SELECT * FROM users WHERE name = ?", (name,))\n'
        "Learning: Pass user input as parameters, not SQL text.",
    ),
]


def details_messages(topic: str, line: str, problem: str) -> Messages:
    """Step 7's teaching fields for one error span (see ``parse_details``)."""
    system = (
        "You explain one error in code to a student. Reply with Severity (critical, major or minor), "
        "Minutes (whole minutes a student needs to find and fix it), Concept, Fix and Learning "
        "(what the student learns, one short sentence)."
    )
    return _chat(system, _DETAILS_SHOTS, f"TOPIC: {topic}\nCODE LINE: {line}\nPROBLEM: {problem}")


EXAMPLES: dict[str, tuple[str, ...]] = {
    "categories": _items(_CAT_SHOTS),
    "catalog": _items(_CATALOG_SHOTS),
    "challenge": ("Retry-safe payment webhook handler",),
    "requirements": _items(_REQ_SHOTS),
    "details": _labelled(_DETAILS_SHOTS, "Fix", "Concept", "Learning"),
}


def retry_message(reason: str, fmt: str) -> str:
    """The re-ask after an answer that did not parse: the reason, then the format again."""
    return f"Your reply could not be used: {reason}. Reply again, in this format:\n{fmt}"
