"""Inputs an LLM proposes for test strengthening (off unless an LLM is given).

One request per task: the task's text, a few of its tests' calls, and a request for more calls with
the edge cases the task allows. The answer is read as calls of the function with literal arguments
(anything else in it is ignored); the inputs then go where mutated ones go, checked against the task's
contract and run by the reference, so a wrong or out-of-contract proposal costs nothing but a drop.
"""

from __future__ import annotations

from typing import Any

from alignforge.verify._inputs_mutation import Input, extract_doc_inputs, extract_inputs

__all__ = ["propose_inputs", "request_for"]

_MAX_DOC = 2000


def _call(entry: str, inp: Input) -> str:
    args, kwargs = inp
    return f"{entry}({', '.join([repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"


def request_for(task: dict[str, Any], entry: str, seeds: list[Input], n: int) -> Any:
    """The chat request that asks for ``n`` more inputs of ``entry``."""
    from alignforge.llm.base import ChatRequest

    doc = str(task.get("prompt") or task.get("text") or "")[:_MAX_DOC]
    calls = "\n".join(_call(entry, s) for s in seeds[:5])
    return ChatRequest.chat(
        f"{doc}\n\nThe function is `{entry}`. Its tests call it like this:\n{calls}\n\n"
        f"Write {n} more calls of {entry} with new arguments, above all the edge cases the task allows: "
        "boundary values (0, 1, -1, empty, one element), negative numbers, other letter cases, repeated "
        "or unsorted elements, larger sizes. One call per line, Python literals only, no explanations.",
        system="You write test inputs for Python functions.",
        temperature=0.0,
    )


def propose_inputs(llm: Any, works: list[Any], *, n: int = 10) -> dict[str, list[Input] | str]:
    """Per task id, the inputs ``llm`` proposes (at most ``n``), or the error that stopped its request."""
    from alignforge.llm.base import LLMError

    asked = []
    for w in works:
        seeds = extract_inputs(w.task, w.entry)
        if seeds:
            asked.append((w, request_for(w.task, w.entry, seeds, n)))
    out: dict[str, list[Input] | str] = {}
    for (w, _), res in zip(asked, llm.generate([r for _, r in asked]), strict=True):
        tid = w.task["task_id"]
        out[tid] = (
            f"{res.kind}: {res.message}"[:200]
            if isinstance(res, LLMError)
            else (extract_doc_inputs(res.text, w.entry)[:n])
        )
    return out
