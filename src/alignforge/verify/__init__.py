"""Verification for RLVR rewards: a sandbox reward hacks cannot fool, code, math, finance and general
verifiers, pass@k, calibration (false positives per domain).

The stages: :class:`VerifyStage` (``verify_file``: completions in, verdicts out, resumable) and
:class:`PrepareStage` (``prepare_dataset``: a benchmark into RLVR task files). Verdict outcomes
are :class:`VerdictStatus` members (written as their strings).

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
    "FinanceSpec",
    "GeneralSpec",
    "HumanEvalVerifier",
    "MBPPVerifier",
    "MathVerdict",
    "RLVRPytestVerifier",
    "SandboxPool",
    "VerdictCache",
    "VerdictStatus",
    "Verifiability",
    "VerifyStage",
    "PrepareStage",
    "RayVerifier",
    "assess_rlvr_verifiability",
    "calibrate",
    "code_correct_many",
    "code_task",
    "extract_answer",
    "find_reference",
    "grade_task",
    "load_tasks",
    "measure_false_positives",
    "math_correct",
    "pass_at_k",
    "pass_at_k_table",
    "prepare_dataset",
    "sandbox_pool",
    "strengthen_tasks",
    "plus_task",
    "verify_choice",
    "verify_completions",
    "verify_exact",
    "verify_file",
    "verify_finance",
    "verify_general",
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
    "VerdictStatus": "math",  # alignforge.records.VerdictStatus, which math.py makes its verdicts with
    "SandboxPool": "_pool",
    "VerdictCache": "engine",
    "verify_completions": "engine",
    "RayVerifier": "distributed",
    "Verifiability": "calibration",
    "assess_rlvr_verifiability": "calibration",
    "calibrate": "calibration",
    "find_reference": "tasks",
    "load_tasks": "tasks",
    "pass_at_k": "passk",
    "pass_at_k_table": "passk",
    "prepare_dataset": "prepare",
    "PrepareStage": "prepare",
    "VerifyStage": "stage",
    "verify_file": "stage",
    "sandbox_pool": "stage",
    "strengthen_tasks": "strengthen",
    "plus_task": "_plus_tests",
    "code_correct_many": "answers",
    "code_task": "answers",
    "math_correct": "answers",
    "FinanceSpec": "finance",
    "verify_finance": "finance",
    "GeneralSpec": "general",
    "verify_general": "general",
    "grade_task": "_domain_probes",
    "measure_false_positives": "_domain_probes",
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
