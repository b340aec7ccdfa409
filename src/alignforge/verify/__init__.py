"""Verification for RLVR rewards: a sandbox reward hacks cannot fool, code and math verifiers, pass@k.

Untrusted code runs in a limited child process (own uid, no network, read-only
filesystem, private tmpfs); the tests run in a trusted worker and call the
candidate's functions remotely, getting back only rebuilt builtin values, so an
object with a custom ``__eq__``, an exit code or printed output never decides a pass.
"""

from alignforge.verify.calibrate import assess_rlvr_verifiability, calibrate
from alignforge.verify.code import CodeVerifier, HumanEvalVerifier, MBPPVerifier, RLVRPytestVerifier
from alignforge.verify.engine import VerdictCache, verify_completions
from alignforge.verify.math import (
    MathVerdict,
    extract_answer,
    verify_choice,
    verify_exact,
    verify_math,
)
from alignforge.verify.passk import pass_at_k, pass_at_k_table
from alignforge.verify.prepare import prepare_dataset
from alignforge.verify.tasks import load_tasks

__all__ = [
    "CodeVerifier",
    "HumanEvalVerifier",
    "MBPPVerifier",
    "MathVerdict",
    "RLVRPytestVerifier",
    "VerdictCache",
    "assess_rlvr_verifiability",
    "calibrate",
    "extract_answer",
    "load_tasks",
    "pass_at_k",
    "pass_at_k_table",
    "prepare_dataset",
    "verify_choice",
    "verify_completions",
    "verify_exact",
    "verify_math",
]
