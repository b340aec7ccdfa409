"""Verification for RLVR rewards: a sandbox reward hacks cannot fool, code and math verifiers, pass@k.

Untrusted code runs in a limited child process (own uid, no network, read-only
filesystem, private tmpfs); the tests run in a trusted worker and call the
candidate's functions remotely, getting back only rebuilt builtin values, so an
object with a custom ``__eq__``, an exit code or printed output never decides a pass.

Names load lazily: the sandbox's zygote imports submodules of this package and must
stay small, because every candidate process is a fork of it. No public name is also the
name of a submodule: importing ``alignforge.verify.<name>`` binds the module to the
package's attribute, which would then shadow the function (``calibrate`` lives in
``calibration.py`` for that reason).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CodeVerifier",
    "HumanEvalVerifier",
    "MBPPVerifier",
    "MathVerdict",
    "RLVRPytestVerifier",
    "VerdictCache",
    "Verifiability",
    "assess_rlvr_verifiability",
    "calibrate",
    "extract_answer",
    "find_reference",
    "load_tasks",
    "pass_at_k",
    "pass_at_k_table",
    "prepare_dataset",
    "verify_choice",
    "verify_completions",
    "verify_exact",
    "verify_math",
]

_WHERE = {
    "CodeVerifier": "code",
    "HumanEvalVerifier": "code",
    "MBPPVerifier": "code",
    "RLVRPytestVerifier": "code",
    "MathVerdict": "math",
    "extract_answer": "math",
    "verify_choice": "math",
    "verify_exact": "math",
    "verify_math": "math",
    "VerdictCache": "engine",
    "verify_completions": "engine",
    "Verifiability": "calibration",
    "assess_rlvr_verifiability": "calibration",
    "calibrate": "calibration",
    "find_reference": "tasks",
    "load_tasks": "tasks",
    "pass_at_k": "passk",
    "pass_at_k_table": "passk",
    "prepare_dataset": "prepare",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'alignforge.verify' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"alignforge.verify.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
