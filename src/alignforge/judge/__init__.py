"""Judging: rubric scores on 0-10 with a rationale, flaw confirmation, pairwise preference in both orders.

A judge answer that does not follow the format is re-asked once, then recorded as
``parse_failed`` with no score: a number is never guessed from free text.
"""

from alignforge.judge._parse import ParsedScore, parse_choice, parse_score, parse_yes_no_fields
from alignforge.judge.files import JudgeFileSummary, judge_file
from alignforge.judge.rubric import FlawCheck, Judge, JudgeResult, PairwiseResult, judge_response

__all__ = [
    "Judge",
    "JudgeResult",
    "FlawCheck",
    "PairwiseResult",
    "judge_response",
    "judge_file",
    "JudgeFileSummary",
    "ParsedScore",
    "parse_score",
    "parse_choice",
    "parse_yes_no_fields",
]
