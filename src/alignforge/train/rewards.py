"""Reward functions for GRPO and the pass/fail test of RAFT, by name, in TRL's reward-function shape.

Every function takes ``(prompts, completions, **columns)`` and returns one float in [0, 1] per
completion; dataset columns (``answer``, ``tests``, ``entry_point``, ``task_id``, ``domain``, ...) arrive
as keyword lists. Names: ``math`` (equivalence with ``answer``), ``code_tests`` (the task's tests in the
sandbox), ``verified`` (each row graded by the verifier of its own ``domain``, as ``alignforge verify``
grades it: for a file that mixes math, code, finance and general tasks), ``exact_match`` (the last
number or boxed value equals ``answer``), ``judge`` (the LLM judge, optional), or
``package.module:function`` for your own.
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
    "DOMAINS",
    "check_task_domains",
    "RewardFunc",
    "code_tests_reward",
    "completion_text",
    "domain_reward",
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
    if "tests" not in columns:
        raise ConfigError("reward 'code_tests' needs a 'tests' column in the training data")
    tasks: dict[str, dict[str, Any]] = {}
    jobs = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        text = _task_prompt(i, prompt, columns)
        tid = _task_id(i, text, columns)
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
    return [float(v["reward"]) for v in _verdicts(tasks, jobs, timeout_s=timeout_s, executor=executor)]


def _verdicts(
    tasks: dict[str, dict[str, Any]], jobs: list[dict[str, Any]], *, timeout_s: float, executor: str
) -> Any:
    """The verify engine's verdicts for ``jobs``, in order: this process's warm sandbox pool and verdict
    cache, or the Ray verifier (``executor="ray"``)."""
    from alignforge.verify import verify_completions
    from alignforge.verify.tasks import load_tasks

    task_map = load_tasks(tasks)  # bad rows: DataError naming the task and the field
    if executor == "ray":
        verifier = _ray_verifier()
        per_actor = -(-len(jobs) // verifier.actor_count)  # one batch per actor
        return verifier.map(task_map, jobs, timeout_s=timeout_s, batch_size=max(1, per_actor))
    code = any(t["domain"] == "code" for t in task_map.values())
    pool, cache = _sandbox() if code else (None, _cache())
    return verify_completions(task_map, jobs, timeout_s=timeout_s, pool=pool, cache=cache)


# The domains the verify engine grades each with a verifier of its own (``alignforge verify``).
DOMAINS = ("math", "code", "finance", "general")

# Row fields the engine's graders read, copied into the task as given (``prompt`` and ``domain`` apart):
# code runs ``tests`` (+ setup / imports) on ``entry_point``; the others grade ``answer``, general
# multiple choice with ``choices``; finance and general read ``metadata.verifier`` (column ``verifier``).
_GRADED_FIELDS = (
    "answer",
    "tests",
    "entry_point",
    "test_setup_code",
    "test_imports",
    "choices",
    "verification",
)


def domain_reward(
    prompts: list[Any],
    completions: list[Any],
    *,
    timeout_s: float = 10.0,
    executor: str = "local",
    **columns: Any,
) -> list[float]:
    """1.0 when the verifier of the row's ``domain`` passes the completion, judged exactly as
    ``alignforge verify`` judges it (the engine's own dispatch: :func:`alignforge.verify.verify_completions`).

    Code runs the task's tests in the sandbox (a completion that defines ``entry_point`` runs as the
    whole program, otherwise as the body after the prompt); math is math-verify equivalence with
    ``answer``; finance and general use their spec, ``metadata.verifier`` (the ``verifier`` column:
    a dict, or its JSON text as the training rows carry it), with ``choices`` for multiple choice.
    A row without ``domain`` gets the engine's reading (tests: code; an answer: math; else general).
    A row whose ``domain`` is not one of :data:`DOMAINS`, or whose fields contradict it (tests on a
    non-code row), raises :class:`~alignforge.io.DataError` naming its task: never a 0.
    """
    from alignforge.io import DataError

    tasks: dict[str, dict[str, Any]] = {}
    jobs = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        row = _graded_row(i, prompt, columns)
        tid = row["task_id"]
        domain, problem = _domain_of(row)
        if problem:
            raise DataError(
                "<reward verified>",
                None,
                f"task {tid!r} (row {i + 1} of the batch): {problem}",
                field="domain",
            )
        row["domain"] = domain
        tasks.setdefault(tid, row)
        body = completion_text(completion)
        style = _completion_style(body, row.get("entry_point")) if domain == "code" else "full"
        jobs.append({"task_id": tid, "completion": body, "completion_style": style})
    return [float(v["reward"]) for v in _verdicts(tasks, jobs, timeout_s=timeout_s, executor=executor)]


def _task_prompt(i: int, prompt: Any, columns: dict[str, Any]) -> str:
    """Row ``i``'s task prompt as the verifiers read it: ``task_prompt`` where the policy was asked in
    chat form (``raft.prompt_format: chat``), else the prompt."""
    kept = columns.get("task_prompt")
    if kept and kept[i] is not None:
        return str(kept[i])
    text = columns["prompt"][i] if "prompt" in columns else prompt
    return text if isinstance(text, str) else text_of(text)


def check_task_domains(data: dict[str, Any]) -> None:
    """Before a run samples anything: every task of ``data.train_file`` and ``data.validation_file``
    has a domain the ``verified`` reward grades (its own, or the verify engine's reading of it), and no
    row says math, finance or general while carrying tests. A :class:`~alignforge.io.DataError` names
    the file, the line and the field (the reward would raise only after the first sampling)."""
    from alignforge.io import DataError, read_rows

    if data.get("tests"):  # the tasks take their tests from another file: code, every one
        return
    for path in (data.get("train_file"), data.get("validation_file")):
        if not path:
            continue
        for line, row in read_rows(path, None, allow_mixed=True):
            problem = _domain_of(row)[1]
            if problem:
                raise DataError(path, line, problem, field="domain")


def _domain_of(row: dict[str, Any]) -> tuple[str, str | None]:
    """The domain the ``verified`` reward grades ``row`` by (its own, or the verify engine's reading:
    tests make a code task, an answer a math one), and what is wrong with it, if anything."""
    from alignforge.verify.tasks import task_domain

    own = row.get("domain")
    domain = own if own is not None else task_domain(row)
    if domain not in DOMAINS:
        return domain, f"field 'domain': {domain!r} is not one of {', '.join(DOMAINS)}"
    if domain != "code" and (row.get("tests") or row.get("test_list")):
        return domain, (
            f"field 'domain': {domain!r}, but the row carries tests (alignforge verify would grade it as "
            "code): fix the domain or drop the tests"
        )
    return domain, None


def _task_id(i: int, text: str, columns: dict[str, Any]) -> str:
    """Row ``i``'s ``task_id``, or a hash of its task prompt where it has none."""
    import hashlib

    ids = columns.get("task_id")
    return str(ids[i]) if ids and ids[i] is not None else hashlib.sha256(text.encode()).hexdigest()[:16]


def _graded_row(i: int, prompt: Any, columns: dict[str, Any]) -> dict[str, Any]:
    """Row ``i`` of the reward's columns as a task for the verify engine."""
    import json

    text = _task_prompt(i, prompt, columns)
    tid = _task_id(i, text, columns)
    domains = columns.get("domain")
    row: dict[str, Any] = {"task_id": tid, "prompt": text, "domain": domains[i] if domains else None}
    for name in _GRADED_FIELDS:
        values = columns.get(name)
        if values is not None and values[i] is not None:
            row[name] = values[i]
    spec = columns["verifier"][i] if columns.get("verifier") else None
    meta = columns["metadata"][i] if columns.get("metadata") else None
    if spec is None and isinstance(meta, dict):
        spec = meta.get("verifier")
    if isinstance(spec, str):  # JSON text: the training rows carry it so (see _rollout.task_columns)
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            from alignforge.io import DataError

            raise DataError(
                "<reward verified>",
                None,
                f"task {tid!r}: field 'metadata.verifier': not JSON ({exc})",
                field="metadata.verifier",
            ) from None
    if spec is not None:
        row["metadata"] = {"verifier": spec}
    return row


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

        from alignforge.verify import SandboxPool

        pool = SandboxPool(None)
        atexit.register(pool.close)
        _SANDBOX.extend([pool, _cache()])
    return _SANDBOX[0], _SANDBOX[1]


_CACHE: list[Any] = []


def _cache() -> Any:
    """One verdict cache per process (the sandbox pool's too): a repeated completion is a lookup."""
    if not _CACHE:
        from alignforge.verify import VerdictCache

        _CACHE.append(VerdictCache())
    return _CACHE[0]


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
    "verified": domain_reward,
    "judge": judge_reward,
}


# The rewards the verify engine decides, in this process's sandbox pool or on Ray (verifier.executor).
_ON_RAY = {"code_tests", "verified"}


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
    (``verifier.executor``: ``local`` or ``ray``) is where ``code_tests`` and ``verified`` verify.
    """
    if executor not in ("local", "ray"):
        raise ConfigError(f"verifier.executor: {executor!r} is not one of local, ray")
    if executor == "ray":
        if not _ON_RAY & set(names):
            raise ConfigError(
                f"verifier.executor ray runs the code_tests reward and the verified reward on Ray; "
                f"rewards.functions {names} has neither (the other rewards run in this process): remove verifier.executor"
            )
        from alignforge._deps import require

        require("ray", extra="ray")
    out: list[RewardFunc] = []
    for name in names:
        func: Any
        if name in _ON_RAY:
            func = functools.partial(_BUILTIN[name], timeout_s=timeout_s, executor=executor)
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
        "verified": "alignforge.verify.verify_completions by the row's domain (code: sandbox; math, "
        "finance, general: their verifiers)",
        "exact_match": "alignforge.train.rewards",
        "judge": "alignforge.judge.Judge (0-10 rubric / 10)",
    }.get(name, name)
