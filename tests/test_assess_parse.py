"""The step parsers on answers shaped like real model output: tolerant of noise, strict about content."""

from __future__ import annotations

import pytest

from alignforge.assess import (
    Unparsable,
    parse_catalog,
    parse_challenge,
    parse_details,
    parse_implementation,
    parse_items,
    parse_spans,
)


def test_items_from_numbered_bulleted_or_json_lists() -> None:
    assert parse_items("Here you go:\n1. Preference pairs\n2) Reference **models**\n- KL penalty tuning") == [
        "Preference pairs",
        "Reference models",
        "KL penalty tuning",
    ]
    assert parse_items('```json\n["DPO loss basics", "Beta tuning"]\n```') == [
        "DPO loss basics",
        "Beta tuning",
    ]


def test_items_drop_repetition_loops_short_items_and_a_cut_last_item() -> None:
    looped = (
        "1. Using DPO to train\n2. Training a new model\n3. Training a new model\n4. DPO\n5. Training a new"
    )
    assert parse_items(looped, truncated=True) == ["Using DPO to train", "Training a new model"]
    assert parse_items(looped, truncated=False) == [
        "Using DPO to train",
        "Training a new model",
        "Training a new",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Sure! DPO is a method for aligning models.",
        "1. DPO\n2. DPO",
        "1. Same item here\n2. same item here",
    ],
)
def test_items_need_enough_distinct_content(text: str) -> None:
    with pytest.raises(Unparsable, match="at least 2 distinct items"):
        parse_items(text)


def test_items_copied_from_the_example_are_rejected() -> None:
    with pytest.raises(Unparsable, match="copied the worked example"):
        parse_items(
            "1. Running tests with pytest\n2. Something else here", examples=("Running tests with pytest",)
        )


def test_catalog_splits_the_impact_and_the_likelihood_and_needs_two_mistakes() -> None:
    got = parse_catalog(
        "1. Using raw logits instead of log probs - Impact: no learning - Likelihood: high\n"
        "2. **Not freezing the reference model** (impact: drift) (likelihood: Medium)\n"
        "3. Forgetting to scale by beta - Likelihood: low."
    )
    assert got == [
        {"error": "Using raw logits instead of log probs", "impact": "no learning", "likelihood": "high"},
        {"error": "Not freezing the reference model", "impact": "drift", "likelihood": "medium"},
        {"error": "Forgetting to scale by beta", "impact": None, "likelihood": "low"},
    ]
    with pytest.raises(Unparsable):
        parse_catalog(
            "1. Using raw logits instead of log probs - Likelihood: high\n"
            "2. Using raw logits instead of log probs - Likelihood: low\n3. Oops - Likelihood: low"
        )


@pytest.mark.parametrize(
    ("line2", "why"),
    [
        (
            "2. Not freezing the reference model - Impact: drift",
            r"needs 'Likelihood: high\|medium\|low' \(none given\)",
        ),
        ("2. Not freezing the reference model - Likelihood: 70%", r"\(got '70%'\)"),
        ("2. Not freezing the reference model - Likelihood: very high", r"\(got 'very'\)"),
    ],
)
def test_catalog_without_a_valid_likelihood_is_unparsable_not_defaulted(line2: str, why: str) -> None:
    with pytest.raises(Unparsable, match=why):
        parse_catalog(f"1. Using raw logits instead of log probs - Likelihood: high\n{line2}")


def test_catalog_item_cut_by_max_tokens_is_left_out_not_rejected() -> None:
    text = (
        "1. Using raw logits instead of log probs - Likelihood: high\n"
        "2. Not freezing the reference model - Likelihood: low\n3. Forgetting the beta scal"
    )
    assert [e["error"] for e in parse_catalog(text, truncated=True)][-1] == "Not freezing the reference model"
    with pytest.raises(Unparsable, match="Likelihood"):
        parse_catalog(text, truncated=False)


def test_challenge_from_labelled_lines_or_json() -> None:
    text = (
        "**Title:** Support-reply DPO\n**Task:** Implement a DPO loss for support replies now.\n"
        "Requirements:\n1. Use policy and reference log probabilities\n- Make beta a parameter here\n"
        "Success criteria: loss goes down"
    )
    ch = parse_challenge(text)
    assert ch["title"] == "Support-reply DPO" and ch["context"] is None
    assert ch["requirements"] == ["Use policy and reference log probabilities", "Make beta a parameter here"]
    js = parse_challenge(
        '{"title": "T1", "question_text": "Implement the DPO loss for a batch of pairs", '
        '"requirements": ["Use log probabilities only", "Freeze the reference model"]}'
    )
    assert js["task"].startswith("Implement") and len(js["requirements"]) == 2


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Title: X\nTask: Implement the DPO loss for a batch.", "Requirements"),
        ("Title: X\nTask: Do it.\nRequirements:\n1. Use log probabilities\n2. Freeze the reference", "Task"),
        (
            "Task: Implement the DPO loss for a batch.\nRequirements:\n1. Use log probs here\n2. Freeze ref model",
            "Title",
        ),
        (
            "Title: X\nTask: Implement the DPO loss for a batch.\nRequirements:\n1. Use log probabilities",
            "requirements",
        ),
    ],
)
def test_challenge_missing_content_is_unparsable(text: str, why: str) -> None:
    with pytest.raises(Unparsable, match=why):
        parse_challenge(text)


def test_implementation_takes_the_code_block_even_when_cut_off() -> None:
    got = parse_implementation("Here is my code:\n```python\nimport torch\ndef loss(x):\n    return x")
    assert got["code"] == "import torch\ndef loss(x):\n    return x"
    assert parse_implementation("def f(x):\n    return x")["code"] == "def f(x):\n    return x"
    for bad in ("", "```python\n```", "ok"):
        with pytest.raises(Unparsable):
            parse_implementation(bad)
    with pytest.raises(Unparsable, match="repeated the task"):
        parse_implementation(
            "Implement the DPO loss for a batch of pairs.",
            task="Implement the DPO loss for a batch of pairs.",
        )


CODE = "import torch\n\ndef loss(a, b):\n    p = torch.softmax(a, dim=-1)\n    return -(p - b).mean()"


def test_spans_must_quote_the_code_and_say_why() -> None:
    text = (
        "1. Line: `p = torch.softmax(a, dim=-1)`\nProblem: Softmax probabilities instead of log-ratios.\n"
        "2. Line: loss = something_else()\nProblem: This line is invented by the reviewer.\n"
        "3. Line: return -(p - b).mean()\nProblem: bad"
    )
    kept, dropped = parse_spans(text, code=CODE)
    assert [(s.text, s.line, s.start) for s in kept] == [("p = torch.softmax(a, dim=-1)", 4, 4)]
    assert [d["reason"].split(" ")[0] for d in dropped] == ["quote", "no"]
    with pytest.raises(Unparsable, match="no error span copied"):
        parse_spans("The code looks fine to me.", code=CODE)
    with pytest.raises(Unparsable, match="not on a line of the weak implementation"):
        parse_spans("Line: t = item.price\nProblem: It overwrites the total.", code=CODE)


def test_a_slightly_misquoted_line_maps_to_the_real_code() -> None:
    code = 'def create_dpo_based_llm(dpo_list):\n    return [{"name": "Demon"}]'
    # Real SmolLM2-135M output: the quote adds an assignment that is not in the code.
    kept, _ = parse_spans(
        "Line: dpo_list = create_dpo_based_llm(dpo_list)\nProblem: It creates a list of DPO-based LLM.",
        code=code,
    )
    assert [(s.text, s.line, s.start, s.end) for s in kept] == [("create_dpo_based_llm(dpo_list)", 1, 4, 34)]
    assert kept[0].quote == "dpo_list = create_dpo_based_llm(dpo_list)"
    with pytest.raises(Unparsable):  # sharing a few characters is not enough
        parse_spans("Line: x = build(dpo)\nProblem: It builds the wrong thing here.", code=code)


DETAILS = (
    "Fix: p = torch.log_softmax(a, dim=-1)\n"
    "Concept: Log probabilities\n"
    "**Severity:** Major\n"
    "Learning: Losses over probabilities belong in log space.\n"
    "Minutes: 5 minutes"
)


def test_details_every_field_parsed_strictly() -> None:
    assert parse_details(DETAILS, span="p = torch.softmax(a, dim=-1)") == {
        "fix": "p = torch.log_softmax(a, dim=-1)",
        "concept": "Log probabilities",
        "severity": "major",
        "learning_value": "Losses over probabilities belong in log space",
        "minutes": 5,
    }
    # A fix over several lines (a code block) is kept whole; a looping model's second answer is ignored.
    multi = DETAILS.replace(
        "Fix: p = torch.log_softmax(a, dim=-1)", "Fix:\n```python\np = a.log_softmax(-1)\nq = p.sum()\n```"
    )
    assert (
        parse_details(multi + "\nFix: something else entirely")["fix"] == "p = a.log_softmax(-1)\nq = p.sum()"
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("Severity: Major", ""), r"missing 'Severity:'"),
        (("Minutes: 5 minutes", ""), r"missing 'Minutes:'"),
        (("Concept: Log probabilities\n", ""), r"missing 'Concept:'"),
        (("Major", "high"), r"one of critical, major, minor, got 'high'"),
        (("5 minutes", "15-20 minutes"), r"whole number of minutes from 1 to 240, got '15-20 minutes'"),
        (("5 minutes", "0"), "from 1 to 240"),
        (("5 minutes", "about five"), "whole number"),
        (("Losses over probabilities belong in log space.", "Log space"), "'Learning:' needs 3\\+ words"),
        (("p = torch.log_softmax(a, dim=-1)", "p = torch.softmax(a, dim=-1)"), "repeats the wrong code"),
        (("Concept: Log probabilities", "Concept: Query parameters"), "copied the worked example"),
        (("Concept: Log probabilities", "Concept: <concept>"), "copied the format's placeholder '<concept>'"),
    ],
)
def test_details_missing_or_invalid_field_is_unparsable(change: tuple[str, str], why: str) -> None:
    from alignforge.assess._prompts import EXAMPLES

    text = DETAILS.replace("**Severity:** Major", "Severity: Major").replace(*change)
    with pytest.raises(Unparsable, match=why):
        parse_details(text, span="p = torch.softmax(a, dim=-1)", examples=EXAMPLES["details"])


def test_details_value_cut_by_max_tokens_is_not_used() -> None:
    cut = DETAILS.replace("Minutes: 5 minutes", "Minutes: 1")
    assert parse_details(cut)["minutes"] == 1
    with pytest.raises(Unparsable, match="missing 'Minutes:'"):
        parse_details(cut, truncated=True)  # "1" may have been "15": not used, so re-asked
