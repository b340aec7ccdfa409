"""Judging: rubric scores on 0-10 with a rationale, flaw confirmation, pairwise preference in both orders.

A judge answer that does not follow the format is re-asked once, then recorded as
``parse_failed`` with no score: a number is never guessed from free text. Every outcome is a
:class:`JudgeStatus`. The ``judge`` stage (:class:`JudgeStage`, :func:`judge_file`) scores a whole
file through the stage contract.
"""

from alignforge.judge._ask import JudgeStatus
from alignforge.judge._parse import ParsedScore, parse_choice, parse_score, parse_yes_no_fields
from alignforge.judge._prompts import RUBRIC
from alignforge.judge.rubric import FlawCheck, Judge, JudgeResult, PairwiseResult, judge_response
from alignforge.judge.stage import JudgeStage, judge_file

__all__ = [
    "Judge",
    "JudgeResult",
    "JudgeStatus",
    "FlawCheck",
    "PairwiseResult",
    "judge_response",
    "judge_file",
    "JudgeStage",
    "ParsedScore",
    "parse_score",
    "parse_choice",
    "parse_yes_no_fields",
    "RUBRIC",
]
