"""Input prompts for the generators: a JSONL of prompts, an SFT file, or plain text lines."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from alignforge.io import DataError, iter_jsonl
from alignforge.records import text_of

__all__ = ["PromptItem", "load_prompts"]


@dataclass(slots=True)
class PromptItem:
    """One input: ``prompt`` as given (string or messages), its text, and what the row adds."""

    id: str
    prompt: str | list[dict[str, Any]]
    text: str
    response: str | None = None  # an existing answer (SFT input): the flaw strategy uses it as chosen
    reference: str | None = None  # domain reference for the with/without-reference strategy
    answer: str | None = None  # exact answer: the math verifier decides correctness
    meta: dict[str, Any] = field(default_factory=dict)

    def messages(self) -> list[dict[str, str]]:
        if isinstance(self.prompt, str):
            return [{"role": "user", "content": self.prompt}]
        return [{"role": m["role"], "content": m["content"]} for m in self.prompt]


def _split_messages(msgs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    if msgs and msgs[-1].get("role") == "assistant":
        return msgs[:-1], msgs[-1].get("content")
    return msgs, None


def load_prompts(path: str | os.PathLike[str], *, limit: int | None = None) -> list[PromptItem]:
    """Rows with ``prompt`` (string or messages) or ``messages``; ``completion`` / a last assistant turn is kept.

    Optional fields: ``id``, ``reference``, ``answer``, ``system`` and anything else (kept in ``meta``).
    A row with neither ``prompt`` nor ``messages`` is an error naming the line.
    """
    items: list[PromptItem] = []
    seen: set[str] = set()
    from alignforge.stages import short_hash

    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(path, lineno, f"expected a JSON object, got {type(row).__name__}")
        response = None
        if "messages" in row:
            msgs = row["messages"]
            if not isinstance(msgs, list) or not msgs:
                raise DataError(
                    path, lineno, "field 'messages': expected a non-empty list of messages", field="messages"
                )
            prompt, response = _split_messages(msgs)
            if not prompt:
                raise DataError(
                    path, lineno, "field 'messages': no user turn before the answer", field="messages"
                )
        elif "prompt" in row:
            prompt = row["prompt"]
            if isinstance(prompt, list):
                prompt, response = _split_messages(prompt)
            comp = row.get("completion") or row.get("response")
            if comp is not None:
                response = text_of(comp)
        else:
            raise DataError(path, lineno, "field 'prompt': is missing (or give 'messages')", field="prompt")
        if isinstance(prompt, str) and not prompt.strip():
            raise DataError(path, lineno, "field 'prompt': is an empty string", field="prompt")
        if not isinstance(prompt, str | list):
            raise DataError(
                path,
                lineno,
                f"field 'prompt': expected a string or messages, got {type(prompt).__name__}",
                field="prompt",
            )
        if isinstance(prompt, str) and row.get("system"):
            prompt = [{"role": "system", "content": str(row["system"])}, {"role": "user", "content": prompt}]
        text = (
            text_of([m for m in prompt if m.get("role") != "system"]) if isinstance(prompt, list) else prompt
        )
        pid = str(row.get("id") or row.get("task_id") or short_hash(text))
        if pid in seen:
            pid = f"{pid}-{lineno}"
        seen.add(pid)
        answer = row.get("answer")
        known = {
            "id",
            "task_id",
            "prompt",
            "messages",
            "completion",
            "response",
            "reference",
            "answer",
            "system",
        }
        items.append(
            PromptItem(
                id=pid,
                prompt=prompt,
                text=text,
                response=response or None,
                reference=row.get("reference") or None,
                answer=None if answer is None else str(answer),
                meta={k: v for k, v in row.items() if k not in known},
            )
        )
        if limit is not None and len(items) >= limit:
            break
    return items
