"""The 7-step strong-vs-weak assessment pipeline (``alignforge assess``).

    from alignforge.assess import run_assessment
    result = run_assessment("LLM post-training with DPO", out="assess_out",
                            strong_model="openai:gpt-4o", weak_model="openai:gpt-4o-mini")
    print(result.success_rate, result.differentiated)

Steps: 1 difficulty categories, 2 error catalog, 3 a strategic implementation challenge
(no hints), 4 the strong model's implementation, 5 the weak model's, 6 the judge scores
both on 0-10 (differentiated when strong - weak >= ``min_differentiation``; steps 3-6 are
retried up to ``attempts`` times), 7 a student assessment built from the error spans the
judge finds in the weak implementation. Every run also writes ``assessment.html``
(:func:`write_page`: the seven steps, with clickable error spans). See docs/assess.md.
"""

from alignforge.assess._attempts import STEP_FILES
from alignforge.assess._parse import (
    LIKELIHOODS,
    SEVERITIES,
    Span,
    Unparsable,
    parse_catalog,
    parse_challenge,
    parse_details,
    parse_implementation,
    parse_items,
    parse_spans,
)
from alignforge.assess._runfiles import load_run
from alignforge.assess._steps import StepFailed
from alignforge.assess.page import render_page, write_page
from alignforge.assess.pipeline import run_assessment
from alignforge.assess.results import AssessmentResult, AttemptResult

__all__ = [
    "run_assessment",
    "render_page",
    "write_page",
    "load_run",
    "AssessmentResult",
    "AttemptResult",
    "StepFailed",
    "STEP_FILES",
    "Unparsable",
    "Span",
    "parse_items",
    "parse_catalog",
    "parse_challenge",
    "parse_implementation",
    "parse_spans",
    "parse_details",
    "LIKELIHOODS",
    "SEVERITIES",
]
