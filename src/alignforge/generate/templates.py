"""Prompts the generators send. Kept in one place so a reader sees exactly what each model is asked."""

from __future__ import annotations

__all__ = [
    "ANSWER_SYSTEM",
    "reference_messages",
    "flaw_rewrite_messages",
    "sft_input_messages",
    "clean_rewrite",
]

ANSWER_SYSTEM = (
    "You are a helpful, accurate assistant. Answer clearly and correctly, and mention important caveats."
)


def reference_messages(messages: list[dict[str, str]], reference: str) -> list[dict[str, str]]:
    """The request with a domain reference placed before it (strategy ``reference``: the chosen side)."""
    sys = f"{ANSWER_SYSTEM}\n\nUse this reference material where it helps:\n{reference}"
    return [{"role": "system", "content": sys}, *[m for m in messages if m["role"] != "system"]]


_REWRITE = """\
Here is a question and an answer.

QUESTION:
{prompt}

ANSWER:
{answer}

{instruction}
Keep the same length and style so it still reads as a fluent, plausible answer. Do not mention that anything \
was changed. Write only the new answer."""


def flaw_rewrite_messages(prompt: str, answer: str, instruction: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You rewrite answers exactly as instructed."},
        {"role": "user", "content": _REWRITE.format(prompt=prompt, answer=answer, instruction=instruction)},
    ]


def clean_rewrite(text: str) -> str:
    """Drop a lead-in line such as "Here is the rewritten answer:" that models add despite the instruction."""
    lines = text.strip().splitlines()
    if (
        len(lines) > 1
        and lines[0].rstrip().endswith(":")
        and any(w in lines[0].lower() for w in ("here", "rewrit", "new answer", "revised"))
    ):
        lines = lines[1:]
    out = "\n".join(lines).strip()
    for label in ("ANSWER:", "New answer:", "Answer:"):
        if out.startswith(label):
            out = out[len(label) :].strip()
    return out


_SFT_INPUT = """\
Write one realistic request a user might send to an AI assistant.
Domain: {domain}
Topic: {topic}
Kind of request: {task}
{hint}
Write only the request itself, in one to three sentences, with no preamble."""


def sft_input_messages(domain: str, topic: str, task: str, *, hint: str = "") -> list[dict[str, str]]:
    h = f"Detail to include: {hint}" if hint else ""
    return [{"role": "user", "content": _SFT_INPUT.format(domain=domain, topic=topic, task=task, hint=h)}]
