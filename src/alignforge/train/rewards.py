"""Reward functions for GRPO and the pass/fail test of RAFT, by name, in TRL's reward-function shape.

Every function takes ``(prompts, completions, **columns)`` and returns one float in [0, 1] per
completion; dataset columns (``answer``, ``tests``, ``entry_point``, ``task_id``) arrive as keyword
lists. Names: ``math`` (equivalence with ``answer``), ``code_tests`` (the task's tests in the
sandbox), ``exact_match`` (the last number or boxed value equals ``answer``), ``judge`` (the LLM judge,
optional), or ``package.module:function`` for your own.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

from alignforge.errors import ConfigError
from alignforge.records import text_of

__all__ = [
    "RewardFunc",
    "code_tests_reward",
    "completion_text",
    "exact_match_reward",
    "judge_reward",
    "math_reward",
    "resolve_rewards",
]

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


def _completion_style(text: str, entry_point: str | None) -> str:
    """``full`` when the completion defines the function itself (chat models), else ``body``."""
    if entry_point and re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", text, re.M):
        return "full"
    return "body"


def code_tests_reward(
    prompts: list[Any],
    completions: list[Any],
    *,
    timeout_s: float = 10.0,
    executor: str = "local",
    **columns: Any,
) -> list[float]:
    """The verification engine's reward for each completion against its task's tests (sandboxed).

    Tasks are keyed by ``task_id`` (or a hash of the prompt); one sandbox pool and one verdict
    cache serve every call of a run, so GRPO's repeated completions are answered from the cache.
    ``executor="ray"`` (``verifier.executor``) verifies on Ray instead: a sandbox pool on every
    node, one verdict cache shared by all (:class:`alignforge.verify.RayVerifier`).
    """
    import hashlib

    from alignforge.verify import verify_completions

    if "tests" not in columns:
        raise ConfigError("reward 'code_tests' needs a 'tests' column in the training data")
    tasks: dict[str, dict[str, Any]] = {}
    jobs = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        text = columns["prompt"][i] if "prompt" in columns else prompt
        text = text if isinstance(text, str) else text_of(text)
        ids = columns.get("task_id")
        tid = str(ids[i]) if ids and ids[i] is not None else hashlib.sha256(text.encode()).hexdigest()[:16]
        entry = (columns.get("entry_point") or [None] * len(prompts))[i]
        row: dict[str, Any] = {"prompt": text, "tests": columns["tests"][i], "domain": "code"}
        if entry:
            row["entry_point"] = entry
        for extra in ("test_setup_code", "test_imports"):
            if columns.get(extra):
                row[extra] = columns[extra][i]
        tasks.setdefault(tid, row)
        body = completion_text(completion)
        jobs.append({"task_id": tid, "completion": body, "completion_style": _completion_style(body, entry)})
    if executor == "ray":
        verifier = _ray_verifier()
        per_actor = -(-len(jobs) // verifier.actor_count)  # one batch per actor
        verdicts = verifier.map(tasks, jobs, timeout_s=timeout_s, batch_size=max(1, per_actor))
    else:
        pool, cache = _sandbox()
        verdicts = verify_completions(tasks, jobs, timeout_s=timeout_s, pool=pool, cache=cache)
    return [float(v["reward"]) for v in verdicts]


_SANDBOX: list[Any] = []
_RAY: list[Any] = []


def _ray_verifier() -> Any:
    """One Ray verifier per process and Ray session (a sandbox pool per node, one shared verdict
    cache), closed at exit."""
    if _RAY and not _RAY[0].connected:
        _RAY.clear()
    if not _RAY:
        import atexit

        from alignforge.verify import RayVerifier

        verifier = RayVerifier()
        atexit.register(verifier.close)
        _RAY.append(verifier)
    return _RAY[0]


def _sandbox() -> tuple[Any, Any]:
    """One warm sandbox pool and verdict cache per process, closed at exit."""
    if not _SANDBOX:
        import atexit

        from alignforge.verify import SandboxPool, VerdictCache

        pool = SandboxPool(None)
        atexit.register(pool.close)
        _SANDBOX.extend([pool, VerdictCache()])
    return _SANDBOX[0], _SANDBOX[1]


def judge_reward(
    prompts: list[Any], completions: list[Any], *, judge_model: str, max_tokens: int = 96, **_: Any
) -> list[float | None]:
    """The 0-10 rubric judge's score / 10. An answer that never parses is ``None`` (TRL skips it),
    never a made-up number."""
    from alignforge.judge import Judge
    from alignforge.llm import resolve_llm

    judge = _JUDGES.get(judge_model)
    if judge is None:
        judge = _JUDGES[judge_model] = Judge(resolve_llm(judge_model, cache=None), max_tokens=max_tokens)
    items = [
        (p if isinstance(p, str) else text_of(p), completion_text(c))
        for p, c in zip(prompts, completions, strict=True)
    ]
    return [r.score / 10.0 if r.ok and r.score is not None else None for r in judge.score_many(items)]


_JUDGES: dict[str, Any] = {}


_BUILTIN: dict[str, Callable[..., list[Any]]] = {
    "math": math_reward,
    "exact_match": exact_match_reward,
    "code_tests": code_tests_reward,
    "judge": judge_reward,
}


def resolve_rewards(
    names: list[str],
    *,
    timeout_s: float = 10.0,
    judge_model: str | None = None,
    executor: str = "local",
) -> list[RewardFunc]:
    """Reward functions for ``rewards.functions``; unknown names and bad imports fail with one line.

    ``timeout_s`` (``rewards.timeout_s``) bounds each sandboxed test run; ``judge_model``
    (``rewards.judge_model``) is the LLM the ``judge`` reward asks; ``executor``
    (``verifier.executor``: ``local`` or ``ray``) is where ``code_tests`` verifies.
    """
    if executor not in ("local", "ray"):
        raise ConfigError(f"verifier.executor: {executor!r} is not one of local, ray")
    if executor == "ray":
        if "code_tests" not in names:
            raise ConfigError(
                f"verifier.executor ray runs the code_tests reward on Ray; rewards.functions {names} "
                "has none (the other rewards run in this process): remove verifier.executor"
            )
        from alignforge._deps import require

        require("ray", extra="ray")
    out: list[RewardFunc] = []
    for name in names:
        func: Any
        if name == "code_tests":
            func = functools.partial(code_tests_reward, timeout_s=timeout_s, executor=executor)
        elif name == "judge":
            if not judge_model:
                raise ConfigError("reward 'judge' needs rewards.judge_model (e.g. local or openai:gpt-4o)")
            func = functools.partial(judge_reward, judge_model=judge_model)
        elif name in _BUILTIN:
            func = _BUILTIN[name]
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
        if isinstance(func, functools.partial):
            func.__name__ = name  # type: ignore[attr-defined]  # TRL logs rewards by __name__
        out.append(func)
    return out


def implementation(name: str) -> str:
    """Which code decides the reward ``name`` (for the run card)."""
    if name == "math":
        return _verify_math()[1]
    return {
        "code_tests": "alignforge.verify.verify_completions (sandbox)",
        "exact_match": "alignforge.train.rewards",
        "judge": "alignforge.judge.Judge (0-10 rubric / 10)",
    }.get(name, name)
