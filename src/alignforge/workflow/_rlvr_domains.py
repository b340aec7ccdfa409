"""The domains of an RLVR workflow's tasks, known before anything runs, and the RAFT reward they call for.

RAFT samples the training tasks and its validation tasks (``data.validation``, by default the
benchmark's); its reward must grade every domain among them. Without a reward named, one domain keeps
its own (``code_tests``, ``math``) and several get ``verified`` (each sample graded by its task's
domain, as ``alignforge verify`` grades it); a single-domain reward named for several is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alignforge.workflow.schema import Doc, Key

__all__ = ["check_reward", "default_reward", "raft_domains"]

# The rewards that grade one domain only, and the domain (verified grades each row by its own).
_ONE_DOMAIN = {"math": "math", "exact_match": "math", "code_tests": "code"}
# A prepared split's domain, by the dataset its name starts with (mbpp_train, humaneval_validation, ...).
_SPLIT_DOMAIN = {"humaneval": "code", "mbpp": "code", "gsm8k": "math", "math500": "math"}


def raft_domains(doc: Doc, sources: dict[str, Path], source: Callable[[Key], Path]) -> set[str]:
    """The domains of the tasks RAFT samples: ``data.prompts`` and ``data.validation`` (or, without
    one, ``benchmark.prompts``). ``source(key)`` is the task file a key names."""
    found = _domains(doc, ("data", "prompts"), sources, ("data", "tests"), source)
    if doc.get(("data", "validation")) is None:
        return found | _domains(doc, ("benchmark", "prompts"), sources, ("benchmark", "tests"), source)
    return found | _domains(doc, ("data", "validation"), sources, ("data", "tests"), source)


def default_reward(domains: set[str]) -> str:
    """code_tests when every task is code, math when every one is math (or none is known), else
    verified: each sample graded by its task's domain (a mix; finance; general)."""
    if domains == {"code"}:
        return "code_tests"
    return "math" if domains <= {"math"} else "verified"


def check_reward(doc: Doc, reward: str, domains: set[str]) -> None:
    """A single-domain reward (the first function decides what passes) on tasks of another domain, or
    of several, would grade them with the wrong verifier: refused, naming the key that chose it."""
    own = _ONE_DOMAIN.get(reward)
    if own is None or not domains or domains == {own}:
        return
    at: Key = ("verifier", "type") if doc.get(("verifier", "type")) is not None else ("train", "rewards")
    fitting = default_reward(domains)
    raise doc.error(
        at,
        f"the {reward} reward grades {own} tasks only, but RAFT's tasks hold {', '.join(sorted(domains))}: "
        f"use {fitting}"
        + (" (each sample graded by its task's domain)" if fitting == "verified" else "")
        + ", or remove it for that default",
    )


def _domains(
    doc: Doc, at: Key, sources: dict[str, Path], tests: Key, source: Callable[[Key], Path]
) -> set[str]:
    """The domains of the tasks named at ``at`` (a source or a list of them): a prepared split by its
    dataset, ``generated`` by ``generate.domain`` / ``generate.mix``, a task file by its rows' own
    domains (joined with the tests file at ``tests``: code)."""
    value = doc.get(at)
    keys: list[Key] = [(*at, i) for i in range(len(value))] if isinstance(value, list) else [at]
    found: set[str] = set()
    for key in keys:
        name = doc.get(key)
        if not isinstance(name, str):
            continue  # the tasks step has named the bad value already
        split = name.split("_")[0]
        if name == "generated" and name in sources:
            mix = doc.get(("generate", "mix"))
            if mix is None:
                found.add(str(doc.get(("generate", "domain")) or "math"))
            else:
                from alignforge.generate.mix import parse_mix

                found |= {d for d, share in parse_mix(str(mix), option="generate.mix").items() if share}
        elif name in sources and split in _SPLIT_DOMAIN:
            found.add(_SPLIT_DOMAIN[split])
        elif doc.get(tests) is not None:
            found.add("code")
        else:
            found |= _file_domains(source(key))
    return found


def _file_domains(path: Path) -> set[str]:
    """The domains of a task file's rows, as the verify engine reads them (one streaming pass)."""
    from alignforge.io import iter_jsonl
    from alignforge.verify.tasks import task_domain

    return {task_domain(row) for _, row in iter_jsonl(path) if isinstance(row, dict)}
