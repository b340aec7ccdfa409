"""A loopback OpenAI-compatible server (the real /v1/chat/completions protocol) with scripted answers.

It reuses ``FakeServer`` from ``_llm_helpers`` (HTTP/1.1 keep-alive, JSON shapes, error shapes)
and answers by pipeline step, recognised from the system prompt. ``queue[step]`` holds answers
to give first (one per request, in order); ``"HTTP400"`` there answers with a 400 error,
``"SLOW:<text>"`` answers ``<text>`` after ``slow_s`` seconds.
By default: the ``strong`` model writes a correct DPO loss, the ``weak`` model a wrong one,
and the judge scores code that uses ``logsigmoid`` 9, anything else 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

STRONG_CODE = """```python
import torch.nn.functional as F

def dpo_loss(pol_chosen, pol_rejected, ref_chosen, ref_rejected, beta=0.1):
    logits = (pol_chosen - ref_chosen) - (pol_rejected - ref_rejected)
    return -F.logsigmoid(beta * logits).mean()
```"""

WEAK_CODE = """```python
import torch

def dpo_loss(chosen_logits, rejected_logits, beta=0.1):
    chosen_probs = torch.softmax(chosen_logits, dim=-1)
    rejected_probs = torch.softmax(rejected_logits, dim=-1)
    return -(chosen_probs - rejected_probs).mean() / beta
```"""

DEFAULTS = {
    "categories": "1. What DPO optimizes and why\n2. Preference pairs: chosen and rejected\n3. What DPO optimizes and why",
    "catalog": (
        "1. Using raw logits instead of log probabilities - Impact: the loss learns nothing useful - Likelihood: high\n"
        "2. Letting gradients flow into the reference model - Impact: unstable training - Likelihood: medium\n"
        "3. Forgetting the beta scaling of the log-ratio - Impact: over-optimization - Likelihood: low"
    ),
    "challenge": (
        "**Title:** DPO for customer-service replies\n"
        "Task: Implement the DPO loss for a batch of preference pairs of support answers.\n"
        "Context: A shop collected 50,000 chosen/rejected answer pairs.\n"
        "Requirements:\n1. Compute the loss from policy and reference log probabilities\n"
        "2. Make beta configurable for the preference strength\n"
        "Success criteria: The loss falls and chosen answers gain probability."
    ),
    "requirements": "1. Compute the loss from log probabilities\n2. Keep the reference model frozen",
    "judge": None,  # computed from the response
    "spans": (
        "Line: chosen_probs = torch.softmax(chosen_logits, dim=-1)\n"
        "Problem: DPO needs log probabilities of sequences, not a softmax over logits.\n"
        "Line: loss = made_up_line()\nProblem: This line is not in the code at all."
    ),
    "details": (
        "Fix: chosen_logps = torch.log_softmax(chosen_logits, dim=-1)\n"
        "Concept: Log probabilities in the DPO loss\n"
        "Severity: critical\n"
        "Learning: DPO compares sequence log-probability ratios, never raw probabilities.\n"
        "Minutes: 4"
    ),
}


def step_of(req: dict[str, Any]) -> str:
    system = req["messages"][0]["content"] if req["messages"][0]["role"] == "system" else ""
    for marker, step in (
        ("list subtopics", "categories"),
        ("list mistakes", "catalog"),
        ("implementation challenge", "challenge"),
        ("requirements an implementation", "requirements"),
        ("software engineer", "implementation"),
        ("strict, fair grader", "judge"),
        ("You review code", "spans"),
        ("You explain one error", "details"),
    ):
        if marker in system:
            return step
    raise AssertionError(f"unknown step for system prompt {system[:60]!r}")


class ScriptedServer(FakeServer):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.queue: dict[str, list[str]] = defaultdict(list)
        self.calls: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []

    def stop(self) -> None:
        if self._loop is not None:  # cancel handlers still sleeping (SLOW:) so the loop stops clean

            async def cancel() -> None:
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

            asyncio.run_coroutine_threadsafe(cancel(), self._loop).result(5)
        super().stop()

    def answer(self, req: dict[str, Any]) -> str:
        step = step_of(req)
        self.calls[step] += 1
        key = f"{step}:{req['model']}" if self.queue.get(f"{step}:{req['model']}") else step
        if self.queue.get(key):
            return self.queue[key].pop(0)
        if step == "implementation":
            return STRONG_CODE if req["model"] != "weak" else WEAK_CODE
        if step == "judge":
            response = req["messages"][-1]["content"].split("RESPONSE:", 1)[1]
            return (
                "Score: 9\nRationale: Correct log-ratio loss."
                if "logsigmoid" in response
                else ("Score: 2\nRationale: Uses softmax probabilities, not log-ratios.")
            )
        return DEFAULTS[step]

    async def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        if method != "POST" or path != "/v1/chat/completions":
            return await super()._handle(method, path, headers, body)
        req = json.loads(body)
        self.requests.append(req)
        text = self.answer(req)
        if text == "HTTP400":
            return self._error(False, 400, "scripted bad request")
        if text.startswith(
            "SLOW:"
        ):  # answer after slow_s (a request still in flight when a test kills the run)
            await asyncio.sleep(self.slow_s)
            text = text.removeprefix("SLOW:")
        return 200, {}, self._reply(False, req, text)
