"""A scripted backend that speaks the real ``LLM`` protocol, for parser and plumbing tests only.

Integration tests use the real local model (``get_llm("local")``); this object answers from a
rule so a test can say exactly which answers a judge or generator sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alignforge.llm.base import ChatRequest, ChatResponse, LLMError, Usage
from alignforge.llm.pricing import Price


class Killed(RuntimeError):
    """Raised by ScriptedLLM after ``die_after`` calls: a stand-in for the process being killed."""


class ScriptedLLM:
    def __init__(
        self,
        rule: Callable[[ChatRequest], str | LLMError],
        *,
        name: str = "scripted",
        cost: float = 0.0,
        die_after: int | None = None,
    ) -> None:
        self.rule = rule
        self.name = name
        self.cost = cost
        self.die_after = die_after
        self.calls: list[ChatRequest] = []
        self.price = Price(
            cost * 1e6 / 40, cost * 1e6 / 40
        )  # worst case = about ``cost`` for a short request

    def generate(self, requests: Sequence[ChatRequest], *, on_result=None) -> list[ChatResponse | LLMError]:
        out: list[ChatResponse | LLMError] = []
        for i, req in enumerate(requests):
            if self.die_after is not None and len(self.calls) >= self.die_after:
                raise Killed("killed")
            self.calls.append(req)
            ans = self.rule(req)
            res = (
                ans
                if isinstance(ans, LLMError)
                else ChatResponse(ans, self.name, usage=Usage(10, 10, self.cost))
            )
            if on_result:
                on_result(i, res)
            out.append(res)
        return out


def last_user(req: ChatRequest) -> str:
    return [m.content for m in req.messages if m.role == "user"][-1]


def judge_kind(req: ChatRequest) -> str | None:
    """score / flaw / pairwise for a judge request, else None."""
    system = req.messages[0].content if req.messages and req.messages[0].role == "system" else ""
    if "You rate an assistant's RESPONSE" in system:
        return "score"
    if "for one named FLAW" in system:
        return "flaw"
    if "You compare two assistant answers" in system:
        return "pairwise"
    return None


def judged_item(req: ChatRequest) -> str:
    """The real item of a judge request (the last user turn in the item format, not a retry reminder)."""
    return [
        m.content for m in req.messages if m.role == "user" and m.content.startswith(("REQUEST:", "FLAW:"))
    ][-1]


def dpo_rule(req: ChatRequest) -> str:
    """Good answers score 9, rewritten (flawed) ones 3; the flaw check confirms; the rest answers a prompt."""
    kind = judge_kind(req)
    if kind == "score":
        body = judged_item(req).split("RESPONSE:", 1)[1]
        return "Score: 3\nRationale: flawed." if "FLAWED" in body else "Score: 9\nRationale: solid."
    if kind == "flaw":
        return "Flaw: yes\nFluent: yes\nRationale: it shows it."
    if kind == "pairwise":
        a = judged_item(req).split("ANSWER A:", 1)[1].split("ANSWER B:", 1)[0]
        return "Winner: B\nRationale: x" if "FLAWED" in a else "Winner: A\nRationale: x"
    user = last_user(req)
    if "Here is a question and an answer." in user:
        return "Here is the rewritten answer:\nFLAWED answer that sounds fine."
    return f"A careful answer to: {user[:40]} (t={req.temperature}, seed={req.seed})"


def http_rule(rule: Callable[[ChatRequest], str | LLMError]) -> Callable[[dict, int], str | int]:
    """``rule`` as a ``FakeServer(reply=...)``: the request body read back into a ChatRequest; an LLMError is a 503."""

    def reply(body: dict, attempt: int) -> str | int:
        req = ChatRequest.chat(
            body["messages"], temperature=body.get("temperature", 1.0), seed=body.get("seed")
        )
        ans = rule(req)
        return 503 if isinstance(ans, LLMError) else ans

    return reply


def write_prompts(path, n: int, **extra) -> None:
    import json

    with open(path, "w") as fh:
        for i in range(n):
            fh.write(
                json.dumps({"id": f"p{i}", "prompt": f"Question number {i}: why is the sky blue?", **extra})
                + "\n"
            )
