"""RLVR finance and general domains: the verifiers on tables of model outputs, the generators' references,
the probes' false-positive rate per domain, and the --mix planner."""

from __future__ import annotations

import json
import random

import pytest

from alignforge.errors import ConfigError
from alignforge.generate._finance_tasks import FINANCE_FAMILIES, make_finance_task
from alignforge.generate._general_tasks import GENERAL_FAMILIES, make_general_task
from alignforge.generate._math_tasks import MATH_GENERATORS, format_number
from alignforge.generate.mix import SEED_MIX, parse_mix, plan_mix
from alignforge.io import DataError
from alignforge.records import FieldError, VerdictStatus
from alignforge.verify import finance, general
from alignforge.verify._domain_probes import finance_probes, general_probes, measure_false_positives
from alignforge.verify.finance import FinanceSpec, parse_amounts, verify_finance
from alignforge.verify.general import GeneralSpec, normalize_answer, verify_general

USD2 = {"answer_kind": "amount", "unit": "USD", "decimals": 2}
PCT2 = {"answer_kind": "percent", "unit": "%", "decimals": 2}

# (completion, reference answer, spec, passes)
FINANCE_TABLE = [
    ("Interest = 10,700 × 0.025 × 5 = 1,337.50.\nThe answer is $1,337.50.", "$1,337.50", USD2, True),
    ("FV = 35800(1.02)^36 = 73027.97\n\n**Final Answer:** $73,027.97", "$73,027.97", USD2, True),
    ("The future value is \\boxed{\\$73{,}027.97}.", "$73,027.97", USD2, True),
    ("So the monthly payment is $2,862.59.", "$2,862.59", USD2, True),
    ("The answer is 2862.59 dollars.", "$2,862.59", USD2, True),
    ("The answer is USD 2,862.59.", "$2,862.59", USD2, True),
    ("The answer is $2,862.5937.", "$2,862.59", USD2, True),  # more precise than asked, within half a cent
    ("The NPV is negative.\nThe answer is -$1,204.18.", "-$1,204.18", USD2, True),
    ("The answer is ($1,204.18).", "-$1,204.18", USD2, True),  # accounting negative
    ("The answer is $-1,204.18.", "-$1,204.18", USD2, True),
    (
        "Revenue / price = 1200 units.\nThe answer is 1.2k.",
        "1,200",
        {"answer_kind": "number", "decimals": 0},
        True,
    ),
    (
        "The answer is $1.2 million.",
        "$1,200,000",
        {"answer_kind": "amount", "unit": "USD", "decimals": 0},
        True,
    ),
    ("The answer is $3.4M", "$3,400,000", {"answer_kind": "amount", "unit": "USD", "decimals": 0}, True),
    ("The CAGR over the 5 years is 12.30%.\nThe answer is 12.30%.", "12.30%", PCT2, True),
    ("The answer is 12.3 percent.", "12.30%", PCT2, True),
    ("The answer is $12.3\\%$.", "12.30%", PCT2, True),
    ("The answer is 12.3.", "12.30%", PCT2, True),  # a bare number on a percent task: percentage points
    ("The answer is 0.123.", "12.30%", {**PCT2, "accept_fraction": True}, True),
    (
        "Current ratio = 301000/310000 = 0.97.\nThe answer is 0.97x.",
        "0.97",
        {"answer_kind": "ratio", "decimals": 2},
        True,
    ),
    ("The answer is 1.25:1", "1.25", {"answer_kind": "ratio", "decimals": 2}, True),
    ("Within 0.01%: the answer is $93,380.", "$93,382.95", {**USD2, "rel_tol": 1e-4}, True),
    ("The answer is $1,157.63 after 3 years.", "$1,157.63", USD2, True),  # "3 years" is context
    # wrong
    ("The answer is $1,337.49.", "$1,337.50", USD2, False),  # off by a cent
    ("The answer is $1,337.", "$1,337.50", USD2, False),  # rounded to dollars
    ("The answer is $1,204.18.", "-$1,204.18", USD2, False),  # wrong sign
    ("The answer is 0.123.", "12.30%", PCT2, False),  # the fraction where the task did not allow it
    (
        "The answer is 0.123%.",
        "12.30%",
        {**PCT2, "accept_fraction": True},
        False,
    ),  # percent/fraction confusion
    ("The answer is 12.30%.", "$12.30", USD2, False),  # a percentage for an amount
    ("The answer is €1,337.50.", "$1,337.50", USD2, False),  # wrong currency
    ("The answer is $1,337.50 or $1,340.00.", "$1,337.50", USD2, False),  # several numbers
    ("The answer is between $1,300 and $1,400.", "$1,337.50", USD2, False),
    ("The answer is $.", "$1,337.50", USD2, False),
    ("The answer is $1,340.00.\nFinal answer: $1,337.50", "$1,337.50", USD2, False),  # two final answers
    ("#### 1,340\nThe answer is $1,337.50.", "$1,337.50", USD2, False),
    ("The answer is 1.234,50 €", "1234.50", {"answer_kind": "amount", "unit": "EUR", "decimals": 2}, False),
    ("I cannot compute this without more data.", "$1,337.50", USD2, False),
    ("The answer is $93,300.", "$93,382.95", {**USD2, "rel_tol": 1e-4}, False),  # outside 0.01%
    ("The answer is 97%.", "0.97", {"answer_kind": "ratio", "decimals": 2}, False),
    ("The answer is 1.2k.", "1,250", {"answer_kind": "number", "decimals": 0}, False),
    ("The answer is 12.30% (0.123).", "12.30%", {**PCT2, "accept_fraction": True}, False),
]


@pytest.mark.parametrize("completion,answer,spec,passes", FINANCE_TABLE)
def test_finance_verifier_table(completion, answer, spec, passes):
    v = verify_finance(completion, FinanceSpec(answer=answer, **spec))
    assert v.passed is passes, v
    assert v.status is (VerdictStatus.PASSED if passes else VerdictStatus.FAILED)


def test_finance_table_is_big_enough_and_balanced():
    assert len(FINANCE_TABLE) >= 25
    assert sum(r[3] for r in FINANCE_TABLE) >= 10 and sum(not r[3] for r in FINANCE_TABLE) >= 10


def test_finance_parse_reads_the_forms_people_write():
    [a] = parse_amounts("($1,234.50)")
    assert a.value == -1234.5 and a.currency == "USD"
    [k] = parse_amounts("1.2k")
    assert k.value == 1200
    [p] = parse_amounts("12.5 per cent")
    assert p.percent and p.value == 12.5
    years, rate = parse_amounts("a 5-year CAGR of 7.18%")
    assert years.unit == "year" and rate.percent
    assert parse_amounts("1.234,50") == []  # a decimal comma is refused, not misread


def test_finance_spec_errors_name_the_field():
    with pytest.raises(FieldError) as e:
        FinanceSpec.from_task({"answer": "$1", "metadata": {"verifier": {"type": "finance", "rel_tol": -1}}})
    assert e.value.field == "metadata.verifier.rel_tol"
    with pytest.raises(FieldError) as e:
        FinanceSpec.from_task({"answer": "$1", "metadata": {"verifier": {"answer_kind": "money"}}})
    assert e.value.field == "metadata.verifier.answer_kind"
    with pytest.raises(FieldError) as e:
        FinanceSpec.from_task({"answer": "$1 or $2", "metadata": {"verifier": {"type": "finance"}}})
    assert e.value.field == "answer"
    with pytest.raises(FieldError) as e:
        FinanceSpec.from_task({"answer": "$1", "metadata": {"verifier": {"type": "finance", "tolerance": 1}}})
    assert e.value.field == "metadata.verifier.tolerance"
    bad = {"answer": "$1", "domain": "finance", "metadata": {"verifier": {"decimals": "two"}}}
    out = finance.grade_in_process(bad, "The answer is $1.")
    assert out["status"] == VerdictStatus.ERROR and not out["passed"]
    assert "metadata.verifier.decimals" in out["tests"][0]["detail"]


def test_finance_tolerance_rounds_the_reference_to_its_decimals():
    spec = FinanceSpec(answer="1234.5049", answer_kind="amount", unit="USD", decimals=2)
    assert spec.gold == pytest.approx(1234.50) and spec.tolerance == pytest.approx(0.005)
    assert verify_finance("The answer is $1,234.50", spec).passed
    assert not verify_finance("The answer is $1,234.51", spec).passed


MC = ("Paris", "London", "Vitamin C", "all of the above")
SHORT_TABLE = [
    ("The answer is 21.", "21", (), True),
    ("twenty-one", "21", (), True),
    ("It is twenty one.", "21", (), True),
    ("The answer is 21 apples.", "21", ("apples",), True),
    ("Counting the letters: s-t-r-a-w-b-e-r-r-y.\nThe answer is three.", "3", ("times",), True),
    ("The answer is 3 times.", "3", ("times",), True),
    ("The answer is one hundred and five.", "105", (), True),
    ("**Answer:** Saturday", "Saturday", (), True),
    ("The answer is SATURDAY.", "Saturday", (), True),
    ("So the day is \\boxed{Saturday}", "Saturday", (), True),
    ("The answer is the Eiffel Tower!", "Eiffel Tower", (), True),
    ("The answer is 0.4", "2/5", (), True),
    ("The answer is 1,000.", "1000", (), True),
    ("The answer is negative five.", "-5", (), True),
    ("The answer is A.", "A", (), True),
    # wrong
    ("The answer is 22.", "21", (), False),
    ("The answer is 21 or 22.", "21", (), False),
    ("The answer is Friday.\nFinal answer: Saturday", "Saturday", (), False),
    ("\\boxed{Friday} \\boxed{Saturday}", "Saturday", (), False),
    ("The answer is Paris, France.", "Paris", (), False),
    ("", "Paris", (), False),
    ("The answer is Saturday and also Sunday.", "Saturday", (), False),
    ("The answer is 21 minutes.", "21", ("hours",), False),
    ("The answer is B.", "A", (), False),
]
CHOICE_TABLE = [
    ("The answer is B.", "B", True),
    ("B", "B", True),
    ("b", "B", True),
    ("(B) London", "B", True),
    ("London", "B", True),
    ("Answer: B) London", "B", True),
    ("\\boxed{B}", "B", True),
    ("I think the answer is B because Paris is in France.", "B", True),
    ("Answer: Vitamin C", "C", True),  # the C of the option text names no option C
    ("The answer is all of the above.", "D", True),  # an option here
    ("The answer is A or B.", "B", False),
    ("The answer is A, B.", "B", False),
    ("The answer is B and D.", "B", False),
    ("The answer is B) Paris.", "B", False),  # the right letter with another option's text
    ("The answer is A.\nThe answer is B.", "B", False),
    ("\\boxed{B} \\boxed{A}", "B", False),
    ("The answer is both.", "B", False),
    ("The answer is E.", "B", False),
    ("", "B", False),
    ("The answer is Paris / London / Vitamin C / all of the above.", "B", False),
    ("The answer is A.", "B", False),
    ("The answer is not A.", "A", False),  # a negated pick claims no option
    ("The answer is anything except London.", "B", False),
]


@pytest.mark.parametrize("completion,answer,units,passes", SHORT_TABLE)
def test_general_short_answer_table(completion, answer, units, passes):
    v = verify_general(completion, GeneralSpec(answer=answer, units=units))
    assert v.passed is passes, v


@pytest.mark.parametrize("completion,answer,passes", CHOICE_TABLE)
def test_general_choice_table(completion, answer, passes):
    v = verify_general(completion, GeneralSpec(answer=answer, match="choice", choices=MC))
    assert v.passed is passes, v


def test_all_of_the_above_is_refused_where_it_is_no_option():
    spec = GeneralSpec(answer="B", match="choice", choices=("Paris", "London", "Rome"))
    v = verify_general("The answer is all of the above.", spec)
    assert not v.passed and "several options" in v.detail


ABBREVIATION_TABLE = [
    # completion, the answer it states, reference, passes
    ("The answer is St. Louis.", "St. Louis", "St. Louis", True),
    ("I looked it up. The answer is Dr. Seuss. He wrote 60 books.", "Dr. Seuss", "Dr. Seuss", True),
    ("The answer is Mt. Everest. It is 8,849 m tall.", "Mt. Everest", "Mount Everest", False),
    ("The answer is Mt. Everest. It is 8,849 m tall.", "Mt. Everest", "Mt Everest", True),
    ("The answer is the U.S. Navy.", "the U.S. Navy", "US Navy", False),  # "u s navy" is not "us navy"
    ("The answer is the U.S. Navy.", "the U.S. Navy", "U.S. Navy", True),
    ("The answer is the U.S. It has 50 states.", "the U.S", "U.S.", True),  # "It" opens a new sentence
    ("The answer is table salt, e.g. NaCl. Done.", "table salt, e.g. NaCl", "table salt", False),
    ("The answer is Ft. Worth, i.e. the city.", "Ft. Worth, i.e. the city", "Fort Worth", False),
    ("The answer is St. Louis. The answer is Dr. Seuss.", "Dr. Seuss", "St. Louis", False),  # two answers
    ("The answer is 21. Then I checked it.", "21", "21", True),
    ("The answer is A. Because Paris is in France.", "A", "A", True),  # one letter is no abbreviation
]


@pytest.mark.parametrize("completion,stated,answer,passes", ABBREVIATION_TABLE)
def test_a_period_after_an_abbreviation_does_not_end_the_answer(completion, stated, answer, passes):
    """The text "The answer is St. Louis." was read as "St": the sentence ends at a period, not at one after
    St., Dr., Mt., Ft., U.S. or e.g."""
    assert general.extract_answer(completion) == stated
    assert verify_general(completion, GeneralSpec(answer=answer)).passed is passes


def test_general_tables_are_big_enough():
    assert len(SHORT_TABLE) + len(CHOICE_TABLE) >= 25 and len(CHOICE_TABLE) >= 20
    assert normalize_answer("The Twenty-One Pilots!") == "21 pilots"


def test_general_spec_errors_name_the_field():
    with pytest.raises(FieldError) as e:
        GeneralSpec.from_task({"answer": "E", "choices": ["x", "y"]})
    assert e.value.field == "answer"
    with pytest.raises(FieldError) as e:
        GeneralSpec.from_task({"answer": "x", "metadata": {"verifier": {"match": "fuzzy"}}})
    assert e.value.field == "metadata.verifier.match"
    out = general.grade_in_process({"answer": "A", "choices": ["only one"]}, "A")
    assert out["status"] == VerdictStatus.ERROR and "choices" in out["tests"][0]["detail"]


def _rows(families, make, per_family):
    rows, seen = [], set()
    for fam in families:
        rng = random.Random(f"{fam}:test")
        for _ in range(per_family):
            row = make(fam, rng).to_row()
            if row["task_id"] not in seen:
                seen.add(row["task_id"])
                rows.append(row)
    return rows


def test_every_finance_reference_verifies_against_its_own_spec():
    rows = _rows(FINANCE_FAMILIES, make_finance_task, 300)
    assert len(rows) >= 2500
    for row in rows:
        v = verify_finance(f"Step by step...\nThe answer is {row['answer']}.", FinanceSpec.from_task(row))
        assert v.passed, (row, v)
        spec = row["metadata"]["verifier"]
        assert spec["type"] == "finance" and {"rel_tol", "abs_tol", "unit", "decimals", "answer_kind"} <= set(
            spec
        )


def test_every_general_reference_verifies_against_its_own_spec():
    rows = _rows(GENERAL_FAMILIES, make_general_task, 250)
    assert len(rows) >= 2000
    for row in rows:
        v = verify_general(f"Let me think.\nThe answer is {row['answer']}.", GeneralSpec.from_task(row))
        assert v.passed, (row, v)
    mc = [r for r in rows if r.get("choices")]
    assert mc and all(r["answer"] in "ABCDE" and r["verification_type"] == "choice" for r in mc)


def test_generators_are_deterministic_per_seed():
    a = [make_finance_task("npv", random.Random(7)) for _ in range(3)]
    b = [make_finance_task("npv", random.Random(7)) for _ in range(3)]
    assert a == b
    assert make_general_task("mc_prime", random.Random(1)) == make_general_task("mc_prime", random.Random(1))


def test_false_positive_rate_per_domain_is_measured_and_below_target(tmp_path):
    rows = _rows(FINANCE_FAMILIES, make_finance_task, 40) + _rows(GENERAL_FAMILIES, make_general_task, 30)
    for gen in MATH_GENERATORS:
        rng = random.Random(gen)
        for i in range(10):
            question, value = MATH_GENERATORS[gen](rng)
            rows.append(
                {
                    "task_id": f"math/{gen}/{i}",
                    "prompt": question,
                    "answer": format_number(value),
                    "domain": "math",
                }
            )
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = measure_false_positives(path)
    assert set(report) == {"finance", "general", "math"}
    for domain, d in report.items():
        assert d["probes"] >= 5 * d["tasks"], domain
        assert d["false_positive_rate"] < 0.05, (domain, d["false_positive_examples"])
        assert d["references_failed"] == 0 and d["verifiability"] >= d["verifiability_target"], domain
    kinds = {k.split(":")[0] for k in report["finance"]["by_probe"]}
    assert kinds == {"reference", "wrong", "hack"}


def test_the_measure_catches_a_verifier_that_accepts_too_much(monkeypatch):
    """The measure is no rubber stamp: a grader that accepts the first number it sees shows up as false positives."""
    rows = _rows(["simple_interest"], make_finance_task, 20)

    def lenient(pred, spec):
        amounts = parse_amounts(pred)
        return bool(amounts) and abs(amounts[-1].value - spec.gold) <= 1, "lenient"

    monkeypatch.setattr(finance, "grade", lenient)
    report = measure_false_positives(rows)
    assert report["finance"]["false_positive_rate"] > 0.05 and report["finance"]["false_positive_examples"]


def test_probes_cover_the_issue_list():
    row = make_finance_task("percent_change", random.Random(3)).to_row()
    names = {n for _, n, _ in finance_probes(row)}
    assert {"off_by_rounding", "wrong_sign", "several_numbers", "unit_only", "two_final_answers"} <= names
    assert "fraction_with_percent_sign" in names
    mc = make_general_task("mc_weekday", random.Random(3)).to_row()
    names = {n for _, n, _ in general_probes(mc)}
    assert {"all_letters", "a_or_b", "right_letter_wrong_text", "empty", "all_of_the_above"} <= names


def test_measure_refuses_code_tasks_and_bad_specs():
    code = {"task_id": "c1", "prompt": "p", "tests": ["assert f(1) == 1"], "entry_point": "f"}
    with pytest.raises(DataError, match="sandbox"):
        measure_false_positives([code])
    bad = {
        "task_id": "f1",
        "answer": "$1",
        "domain": "finance",
        "metadata": {"verifier": {"answer_kind": "cash"}},
    }
    with pytest.raises(DataError, match="metadata.verifier.answer_kind"):
        measure_false_positives([bad])


@pytest.mark.parametrize(
    "n,mix,expected",
    [
        (100, "40/30/20/10", {"math": 40, "code": 30, "finance": 20, "general": 10}),
        (7, None, {"math": 3, "code": 2, "finance": 1, "general": 1}),
        (3, "34/33/33/0", {"math": 1, "code": 1, "finance": 1, "general": 0}),
        (1, "40/30/20/10", {"math": 1, "code": 0, "finance": 0, "general": 0}),
        (10, "25/25/25/25", {"math": 3, "code": 3, "finance": 2, "general": 2}),
        (0, "40/30/20/10", {"math": 0, "code": 0, "finance": 0, "general": 0}),
    ],
)
def test_plan_mix_largest_remainder(n, mix, expected):
    plan = plan_mix(n, mix)
    assert plan == expected and sum(plan.values()) == n


def test_plan_mix_sums_to_n_and_stays_within_one_of_the_share():
    for n in range(0, 300):
        plan = plan_mix(n, "37/29/21/13")
        assert sum(plan.values()) == n
        for d, share in zip(("math", "code", "finance", "general"), (37, 29, 21, 13), strict=True):
            assert abs(plan[d] - n * share / 100) < 1


@pytest.mark.parametrize(
    "text,says",
    [("40/30/20", "got 3 part"), ("40/30/20/20", "sum to 110"), ("a/30/20/50", "math share 'a'"),
     ("-10/60/20/30", "math share '-10'"), ("40.5/29.5/20/10", "not a whole number")],
)  # fmt: skip
def test_parse_mix_refuses_bad_input_with_a_clear_error(text, says):
    with pytest.raises(ConfigError, match=says) as e:
        parse_mix(text)
    assert "--mix" in str(e.value) and e.value.exit_code == 2


def test_parse_mix_reads_the_seed_mix():
    assert parse_mix("40/30/20/10") == SEED_MIX
    assert parse_mix("40%/30%/20%/10%") == SEED_MIX
