"""The seeds' spellings and split keys, mapped onto alignforge's config (see :mod:`.config`).

``model.name`` and ``data.prompts`` (002) are other names for ``model.base_model`` and
``data.train_file``; the DPO template's ``max_prompt_length`` / ``max_response_length`` become a prompt
cut that alignforge makes itself plus TRL's ``max_length``; 002's ``verifier`` section becomes the
reward function and its timeout. Each translation returns one line for the user.
"""

from __future__ import annotations

from typing import Any

from alignforge.errors import ConfigError

__all__ = ["KEY_ALIASES", "translate", "unalias"]

KEY_ALIASES = {"model": {"name": "base_model"}, "data": {"prompts": "train_file"}}
_GEN = frozenset({"grpo", "raft"})


def unalias(sections: dict[str, dict[str, Any]], source: str) -> dict[str, str]:
    """Rename the seeds' key spellings in place; returns canonical -> as written."""
    spelled = {}
    for name, aliases in KEY_ALIASES.items():
        body = sections.get(name, {})
        for alias, target in aliases.items():
            if alias not in body:
                continue
            if target in body:
                raise ConfigError(
                    f"{source}: {name}.{alias} and {name}.{target} are the same setting; keep one"
                )
            body[target] = body.pop(alias)
            spelled[f"{name}.{target}"] = f"{name}.{alias}"
    return spelled


def translate(cfg: dict[str, dict[str, Any]], given: set[str], stage: str, source: str) -> list[str]:
    """Map the seeds' keys that have no TRL field of their own; one note per translation."""
    notes: list[str] = []
    d = cfg["data"]
    prompt, response = d["max_prompt_length"], d["max_response_length"]
    if response is not None and prompt is None:
        raise ConfigError(
            f"{source}: data.max_response_length needs data.max_prompt_length (TRL's max_length is their "
            "sum), or set data.max_length alone"
        )
    for key, value in (("max_prompt_length", prompt), ("max_response_length", response)):
        if value is not None and value < 1:
            raise ConfigError(f"{source}: data.{key} must be >= 1, got {value}")
    if prompt is not None and response is not None:
        total = prompt + response
        if "data.max_length" in given and d["max_length"] != total:
            raise ConfigError(
                f"{source}: data.max_length {d['max_length']} contradicts data.max_prompt_length + "
                f"data.max_response_length = {total}; keep one of them"
            )
        d["max_length"] = total
        notes.append(
            f"data.max_prompt_length {prompt} + data.max_response_length {response}: alignforge cuts each "
            f"prompt to its last {prompt} tokens itself and sets TRL's max_length = {total} "
            "(TRL 1.16's DPOConfig has neither key)"
        )
    elif prompt is not None:
        if prompt >= d["max_length"]:
            raise ConfigError(
                f"{source}: data.max_prompt_length {prompt} leaves no room for the response within "
                f"data.max_length {d['max_length']}"
            )
        notes.append(
            f"data.max_prompt_length {prompt}: alignforge cuts each prompt to its last {prompt} tokens "
            f"itself (TRL 1.16's DPOConfig has no such key); TRL's max_length stays {d['max_length']}"
        )
    v, rw = cfg["verifier"], cfg["rewards"]
    if v["type"] is not None:
        name = "code_tests" if v["type"] == "rlvr_pytest" else v["type"]
        if "rewards.functions" in given and rw["functions"][:1] != [name]:
            raise ConfigError(
                f"{source}: verifier.type {v['type']} contradicts rewards.functions {rw['functions']}; keep one"
            )
        rw["functions"] = rw["functions"] if "rewards.functions" in given else [name]
        if v["type"] == "rlvr_pytest":
            notes.append(
                "verifier.type rlvr_pytest: each sample runs against its task's tests in alignforge's "
                "sandbox (the code_tests reward), not in a pytest process"
            )
    if v["timeout"] is not None:
        if "rewards.timeout_s" in given and rw["timeout_s"] != v["timeout"]:
            raise ConfigError(
                f"{source}: verifier.timeout {v['timeout']} contradicts rewards.timeout_s {rw['timeout_s']}"
            )
        rw["timeout_s"] = v["timeout"]
    if v["dataset_type"] is not None and stage in _GEN and "code_tests" not in rw["functions"]:
        raise ConfigError(
            f"{source}: verifier.dataset_type {v['dataset_type']} needs code tests as the reward "
            f"(verifier.type: rlvr_pytest), not {rw['functions']}"
        )
    return notes
