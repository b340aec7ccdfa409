import pytest

from alignforge.judge import parse_choice, parse_score, parse_yes_no_fields

VALID = [
    ("Score: 7\nRationale: fine.", 7.0, "fine."),
    ("score: 10", 10.0, ""),
    ("**Score:** 8/10\n**Rationale:** mostly right", 8.0, "mostly right"),
    ("Some preamble.\nScore: 6.5\nRationale: ok", 6.5, "ok"),
    ('{"score": 4, "rationale": "wrong number"}', 4.0, "wrong number"),
    ('```json\n{"score": 0, "rationale": "bad"}\n```', 0.0, "bad"),
]

INVALID = [
    "",
    "I would give this an 8.",
    "Score: eight",
    "Score: 11",
    "Score: 7\nScore: 3",  # two scores: ambiguous
    "Score: 7 because it is good",  # trailing text on the score line is not the format
    "Score: -2",
    '{"score": "7"}',
    '{"score": true}',
    "The score is 9/10",
    "Score: 7\nActually, Score: 2",
]


@pytest.mark.parametrize(("text", "score", "rationale"), VALID)
def test_parse_score_accepts_the_format(text, score, rationale):
    parsed = parse_score(text)
    assert parsed is not None
    assert parsed.score == score
    assert parsed.rationale == rationale


@pytest.mark.parametrize("text", INVALID)
def test_parse_score_refuses_anything_else(text):
    assert parse_score(text) is None


def test_parse_choice_and_yes_no():
    assert parse_choice("Winner: A\nRationale: x", "Winner", ("a", "b", "tie")) == "a"
    assert parse_choice("Winner: tie", "Winner", ("a", "b", "tie")) == "tie"
    assert parse_choice("Winner: A\nWinner: B", "Winner", ("a", "b", "tie")) is None
    assert parse_choice("A is better", "Winner", ("a", "b", "tie")) is None
    assert parse_yes_no_fields("Flaw: yes\nFluent: no", ("Flaw", "Fluent")) == {"Flaw": True, "Fluent": False}
    assert parse_yes_no_fields("Flaw: yes", ("Flaw", "Fluent")) is None
    assert parse_yes_no_fields("Flaw: maybe\nFluent: yes", ("Flaw", "Fluent")) is None
