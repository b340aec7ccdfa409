"""Rebuild examples/assess/run: a finished `alignforge assess` run whose model answers are SCRIPTED.

    python examples/assess/make_example.py      # from the repository root; needs the dev install

Every answer below is text written by hand for this example, served by the test suite's
loopback OpenAI-compatible server (tests/_assess_helpers.py). Everything else is real: the
`alignforge assess` CLI, the openai backend over HTTP, the SQLite cache, the strict parsers,
the step files and the page. No model was run; see README.md for why.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from _assess_helpers import ScriptedServer  # noqa: E402

OUT = Path(__file__).resolve().parent / "run"
TOPIC = "LLM post-training with DPO"

CATEGORIES = {
    "Beginner": "1. What DPO optimizes compared with RLHF\n2. Reading a preference pair: prompt, chosen, rejected",
    "Intermediate": "1. Implementing the DPO loss from log probabilities\n2. Tuning beta and the learning rate",
    "Advanced": "1. Reference-model drift and KL control\n2. Length bias in preference data",
}
CATALOG = (
    "1. Using softmax probabilities instead of sequence log probabilities - "
    "Impact: the loss optimizes the wrong quantity - Likelihood: high\n"
    "2. Letting gradients flow into the reference model - Impact: the anchor moves and training drifts - "
    "Likelihood: medium\n"
    "3. Dividing by beta instead of scaling the log-ratio margin - Impact: preferences are over-fitted - "
    "Likelihood: medium\n"
    "4. Averaging token log probabilities without the padding mask - Impact: padding tokens bias the loss - "
    "Likelihood: low"
)
CHALLENGE = (
    "Title: DPO loss for customer-service replies\n"
    "Task: Implement the DPO loss for a batch of chosen and rejected support answers.\n"
    "Context: A shop collected 50,000 pairs where human agents picked the better reply.\n"
    "Requirements:\n"
    "1. Take policy and reference logits for chosen and rejected answers\n"
    "2. Make beta configurable for the strength of the preference\n"
    "3. Ignore padding tokens given by an attention mask\n"
    "Success criteria: The loss falls and the chosen answers gain log probability over the rejected ones."
)
STRONG = """```python
import torch
import torch.nn.functional as F


def sequence_logps(logits, labels, mask):
    logps = torch.log_softmax(logits, dim=-1)
    token_logps = logps.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return (token_logps * mask).sum(-1)


def dpo_loss(policy, reference, batch, beta=0.1):
    pol_c = sequence_logps(policy(batch["chosen"]), batch["chosen"], batch["chosen_mask"])
    pol_r = sequence_logps(policy(batch["rejected"]), batch["rejected"], batch["rejected_mask"])
    with torch.no_grad():
        ref_c = sequence_logps(reference(batch["chosen"]), batch["chosen"], batch["chosen_mask"])
        ref_r = sequence_logps(reference(batch["rejected"]), batch["rejected"], batch["rejected_mask"])
    logits = (pol_c - ref_c) - (pol_r - ref_r)
    return -F.logsigmoid(beta * logits).mean()
```"""
WEAK = """```python
import torch


def dpo_loss(policy, reference, batch, beta=0.1):
    chosen_probs = torch.softmax(policy(batch["chosen"]), dim=-1)
    rejected_probs = torch.softmax(policy(batch["rejected"]), dim=-1)
    ref_chosen = torch.softmax(reference(batch["chosen"]), dim=-1)
    ref_rejected = torch.softmax(reference(batch["rejected"]), dim=-1)
    chosen_score = (chosen_probs - ref_chosen).mean()
    rejected_score = (rejected_probs - ref_rejected).mean()
    return -(chosen_score - rejected_score) / beta
```"""
SPANS = (
    'Line: chosen_probs = torch.softmax(policy(batch["chosen"]), dim=-1)\n'
    "Problem: A softmax over the vocabulary is not the log probability of the chosen answer.\n"
    'Line: ref_chosen = torch.softmax(reference(batch["chosen"]), dim=-1)\n'
    "Problem: The reference model runs with gradients on, so the backward pass reaches it.\n"
    "Line: return -(chosen_score - rejected_score) / beta\n"
    "Problem: Beta divides a difference of probabilities instead of scaling the log-ratio in logsigmoid."
)
DETAILS = {
    'chosen_probs = torch.softmax(policy(batch["chosen"]), dim=-1)': (
        "Fix: pol_c = sequence_logps(policy(batch['chosen']), batch['chosen'], batch['chosen_mask'])\n"
        "Concept: Sequence log probabilities\n"
        "Severity: critical\n"
        "Learning: DPO compares log-probability ratios of whole answers, never raw softmax outputs.\n"
        "Minutes: 6"
    ),
    'ref_chosen = torch.softmax(reference(batch["chosen"]), dim=-1)': (
        "Fix: with torch.no_grad(): ref_c = sequence_logps(reference(batch['chosen']), ...)\n"
        "Concept: A frozen reference model\n"
        "Severity: major\n"
        "Learning: The reference model is a fixed anchor: compute it without gradients.\n"
        "Minutes: 4"
    ),
    "return -(chosen_score - rejected_score) / beta": (
        "Fix: return -F.logsigmoid(beta * ((pol_c - ref_c) - (pol_r - ref_r))).mean()\n"
        "Concept: The beta temperature in the DPO loss\n"
        "Severity: major\n"
        "Learning: Beta scales the log-ratio margin inside logsigmoid; it does not divide the loss.\n"
        "Minutes: 5"
    ),
}


class ExampleServer(ScriptedServer):
    """The scripted answers above, chosen by what each request is about (requests may arrive in any order)."""

    def answer(self, req: dict[str, Any]) -> str:
        system, last = req["messages"][0]["content"], req["messages"][-1]["content"]
        if "list subtopics" in system:
            return CATEGORIES[last.rsplit("Level: ", 1)[1].strip()]
        if "list mistakes" in system:
            return CATALOG
        if "implementation challenge" in system:
            return CHALLENGE
        if "software engineer" in system:
            return STRONG if req["model"] == "strong" else WEAK
        if "strict, fair grader" in system:
            if "logsigmoid" in last.split("RESPONSE:", 1)[1]:
                return "Score: 9\nRationale: Correct sequence log-ratios, frozen reference, masked padding."
            return "Score: 2\nRationale: Softmax probabilities instead of log-ratios; the reference gets gradients."
        if "You review code" in system:
            return SPANS
        if "You explain one error" in system:
            return DETAILS[last.split("CODE LINE: ", 1)[1].split("\nPROBLEM:", 1)[0]]
        raise AssertionError(f"no scripted answer for {system[:60]!r}")


def main() -> None:
    from alignforge.cli import main as cli

    shutil.rmtree(OUT, ignore_errors=True)
    srv = ExampleServer().start()
    os.environ.update(OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="scripted")
    try:
        cli(
            ["assess", "--topic", TOPIC, "--out", str(OUT)]
            + [
                "--strong-model",
                "openai:strong",
                "--weak-model",
                "openai:weak",
                "--judge-model",
                "openai:judge",
            ]
        )
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        srv.stop()
        (OUT / "llm_cache.sqlite").unlink(missing_ok=True)  # the cache is not part of the example


if __name__ == "__main__":
    main()
