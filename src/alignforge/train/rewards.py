"""Reward functions for GRPO and the pass/fail test of RAFT, by name, in TRL's reward-function shape.

Every function takes ``(prompts, completions, **columns)`` and returns one float in [0, 1] per
completion; dataset columns (``answer``, ``tests``, ``entry_point``, ``task_id``) arrive as keyword
lists. Names: ``math`` (equivalence with ``answer``), ``code_tests`` (the task's tests in the
sandbox), ``exact_match`` (the last number or boxed value equals ``answer``), ``judge`` (the LLM judge,
optional), or ``package.module:function`` for your own.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from alignforge.errors import ConfigError
from alignforge.records import text_of

__all__ = ["RewardFunc", "completion_text", "exact_match_reward", "math_reward", "resolve_rewards"]

RewardFunc = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """TRL hands standard completions as strings and conversational ones as message lists."""
    return completion if isinstance(completion, str) else text_of(completion)


_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _final_answer(text: str) -> str | None:
    boxed = _BOXED.findall(text)
    if boxed:
        return boxed[-1].strip()
    numbers = _NUMBER.findall(text.replace(",", ""))
    return numbers[-1] if numbers else None


def exact_match_reward(
    prompts: list[Any], completions: list[Any], answer: list[Any], **_: Any
) -> list[float]:
    """1.0 when the completion's final answer (last ``\\boxed{}`` or last number) equals ``answer``."""
    out = []
    for completion, gold in zip(completions, answer, strict=True):
        got = _final_answer(completion_text(completion))
        out.append(1.0 if got is not None and got == str(gold).strip() else 0.0)
    return out


def _verify_math() -> tuple[Callable[[str, str], bool], str]:
    """The verification engine's math check (answer extraction, then math-verify equivalence)."""
    from alignforge.verify import verify_math

    def check(completion: str, gold: str) -> bool:
        return bool(verify_math(completion, gold).passed)

    return check, "alignforge.verify.verify_math"


def math_reward(prompts: list[Any], completions: list[Any], answer: list[Any], **_: Any) -> list[float]:
    """1.0 when the completion is mathematically equivalent to ``answer`` (math-verify rules)."""
    check, _impl = _verify_math()
    return [
        1.0 if check(completion_text(c), str(a)) else 0.0 for c, a in zip(completions, answer, strict=True)
    ]


def code_tests_reward(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
    """The verification engine's reward for each completion against its task's tests (sandboxed)."""
    from alignforge.verify import verify_completions

    keys = [k for k in ("task_id", "prompt", "tests", "entry_point") if k in columns or k == "prompt"]
    tasks = []
    for i, prompt in enumerate(prompts):
        task: dict[str, Any] = {k: columns[k][i] for k in keys if k != "prompt"}
        task.setdefault("task_id", f"task-{i}")
        task["prompt"] = columns["prompt"][i] if "prompt" in columns else completion_text(prompt)
        tasks.append(task)
    texts = [completion_text(c) for c in completions]
    verdicts = list(verify_completions(tasks, texts))
    return [float(v["reward"] if isinstance(v, dict) else v.reward) for v in verdicts]


def _judge_reward() -> RewardFunc:
    try:
        module = importlib.import_module("alignforge.judge")
    except ImportError:
        raise ConfigError(
            "reward 'judge' needs alignforge.judge (the judge package), not installed here"
        ) from None
    func = getattr(module, "judge_reward", None)
    if func is None:
        raise ConfigError("reward 'judge': alignforge.judge has no judge_reward(prompts, completions, **kw)")
    return func


_BUILTIN: dict[str, Callable[[], RewardFunc]] = {
    "math": lambda: math_reward,
    "exact_match": lambda: exact_match_reward,
    "code_tests": lambda: code_tests_reward,
    "judge": _judge_reward,
}


def resolve_rewards(names: list[str]) -> list[RewardFunc]:
    """Reward functions for ``rewards.functions``; unknown names and bad imports fail with one line."""
    out = []
    for name in names:
        if name in _BUILTIN:
            func = _BUILTIN[name]()
        elif ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                func = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"rewards.functions: cannot load {name!r} ({exc})") from None
        else:
            raise ConfigError(
                f"rewards.functions: unknown reward {name!r} (built in: {', '.join(_BUILTIN)}; or module:function)"
            )
        if name == "code_tests":
            try:
                importlib.import_module("alignforge.verify").verify_completions  # noqa: B018
            except (ImportError, AttributeError):
                raise ConfigError(
                    "reward 'code_tests' needs alignforge.verify.verify_completions (the verify branch), "
                    "not installed here"
                ) from None
        func.__name__ = getattr(func, "__name__", name)
        out.append(func)
    return out


def implementation(name: str) -> str:
    """Which code decides the reward ``name`` (for the run card)."""
    if name == "math":
        return _verify_math()[1]
    return {
        "code_tests": "alignforge.verify.verify_completions",
        "exact_match": "alignforge.train.rewards",
    }.get(name, name)
