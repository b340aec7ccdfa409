"""RAFT's prompt format: a chat model is asked as the benchmark asks it, and graded on the task's own prompt.

``raft.prompt_format: chat`` turns each task's prompt into ``evaluate.checkpoint``'s instruction (one
user message, rendered by the chat template when sampling); the verifiers read ``task_prompt``, the
prompt as written, so a code body still completes the task's signature. The RLVR workflow sets it
unless its ``raft:`` section says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignforge.errors import ConfigError
from alignforge.evaluate.checkpoint import sample_prompt
from alignforge.train._rollout import chat_prompts, task_columns
from alignforge.train.config import load_config
from alignforge.train.rewards import code_tests_reward, math_reward

CODE = {
    "task_id": "add",
    "prompt": 'def add(a, b):\n    """Return a + b."""\n',
    "tests": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"],
    "entry_point": "add",
}
MATH = {"task_id": "sum", "prompt": "What is 2 + 3?", "answer": "5"}


def test_chat_prompts_ask_as_the_benchmark_asks_and_keep_the_task_prompt() -> None:
    chat = [{"role": "user", "content": "already a conversation"}]
    rows = chat_prompts([CODE, MATH, {**MATH, "task_id": "c", "prompt": chat}])
    code, math, conversational = rows
    assert code["prompt"] == [{"role": "user", "content": sample_prompt({**CODE, "domain": "code"})}]
    assert "whole function in one ```python block" in code["prompt"][0]["content"]
    assert math["prompt"][0]["content"] == sample_prompt({**MATH, "domain": "math"})
    assert "The answer is" in math["prompt"][0]["content"]
    assert code["task_prompt"] == CODE["prompt"] and math["task_prompt"] == MATH["prompt"]
    assert conversational["prompt"] == chat and "task_prompt" not in conversational
    assert CODE["prompt"].startswith("def add")  # the input rows are not changed


def test_the_verifiers_read_the_task_prompt_not_the_instruction() -> None:
    rows = chat_prompts([CODE, CODE, CODE, MATH, MATH])
    completions = [
        "```python\ndef add(a, b):\n    return a + b\n```",  # as the instruction asks
        "    return a + b\n",  # a body: it completes the task's own prompt, not the instruction
        "```python\ndef add(a, b):\n    return a - b\n```",
        "2 + 3 = 5. The answer is 5",
        "The answer is 6",
    ]
    cols = task_columns(rows)
    assert cols["task_prompt"][0] == CODE["prompt"] and isinstance(cols["prompt"][0], list)
    prompts = cols.pop("prompt")
    code = code_tests_reward(prompts[:3], completions[:3], **{k: v[:3] for k, v in cols.items()})
    assert code == [1.0, 1.0, 0.0]
    assert math_reward(prompts[3:], completions[3:], answer=cols["answer"][3:]) == [1.0, 0.0]


def _raft_config(tmp_path: Path, raft: dict) -> ConfigError | object:
    data = tmp_path / "tasks.jsonl"
    data.write_text(json.dumps(MATH) + "\n")
    cfg = tmp_path / "raft.yaml"
    cfg.write_text(
        json.dumps({"model": {"base_model": "x"}, "data": {"train_file": str(data)}, "raft": raft})
    )
    return load_config(cfg, stage="raft")


def test_the_config_takes_raw_or_chat_and_defaults_to_raw(tmp_path: Path) -> None:
    assert _raft_config(tmp_path, {}).raft["prompt_format"] == "raw"  # type: ignore[attr-defined]
    assert _raft_config(tmp_path, {"prompt_format": "chat"}).raft["prompt_format"] == "chat"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="prompt_format"):
        _raft_config(tmp_path, {"prompt_format": "markdown"})


def _workflow(tmp_path: Path, raft: str) -> object:
    from alignforge.workflow import load_workflow

    (tmp_path / "tasks.jsonl").write_text(json.dumps(MATH) + "\n")
    wf = tmp_path / "rlvr.yaml"
    wf.write_text(
        "workflow: rlvr\nmodel: embedded\nprepare: {datasets: []}\ndata: {prompts: tasks.jsonl}\n"
        f"raft: {raft}\nbenchmark: {{prompts: tasks.jsonl, samples_per_problem: 2, k_values: [1]}}\n"
    )
    step = next(s for s in load_workflow(wf, tmp_path / "run").steps if s.name == "raft.train")
    return step.stage.config.raft["prompt_format"]  # type: ignore[attr-defined]


def test_the_rlvr_workflow_asks_in_chat_form_unless_told(tmp_path: Path) -> None:
    assert _workflow(tmp_path, "{cycles: 1}") == "chat"
    assert _workflow(tmp_path, "{cycles: 1, prompt_format: raw}") == "raw"
