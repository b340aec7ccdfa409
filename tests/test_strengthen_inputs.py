"""Test strengthening, the pure parts: wider mutation, the relaxed contract, inputs from the task's text,
and the syntactic rules that (with a differential run) call a surviving mutant equivalent."""

from __future__ import annotations

import math
import random
import sys
from typing import Any

import pytest

from alignforge.verify._contract import infer_contract, loosened
from alignforge.verify._equivalence import equivalence_rule
from alignforge.verify._inputs_constants import harvest_constants
from alignforge.verify._inputs_mutation import (
    Input,
    extract_doc_inputs,
    input_key,
    mutate_inputs,
)
from alignforge.verify._mutants import mutants
from alignforge.verify._plus_inputs import reseeded


def _values(seeds: list[Input], pos: int = 0) -> list[Any]:
    return [args[pos] for args, _ in mutate_inputs(seeds, random.Random(0), limit=200)]


def test_mutation_reaches_boundaries_signs_cases_repeats_and_larger_sizes() -> None:
    ints = _values([((5,), {}), ((7,), {})])
    assert {0, 1, -1, 2, -5, -6, 501} <= set(ints)
    strs = _values([(("hello",), {}), (("abc",), {})])
    assert {"HELLO", "Hello", "", "h", "aaa", "hellohellohellohello", "ehllo"} <= set(strs)
    assert any(s != s.lower() and s != s.upper() for s in strs)  # one letter's case flipped
    lists = _values([(([3, 1, 2],), {}), (([4, 5],), {})])
    assert [-3, -1, -2] in lists and [3, 2, 1] in lists and [1, 2, 3] in lists  # signs, sorted both ways
    assert [1, 1, 1] in lists or [3, 3, 3] in lists or [2, 2, 2] in lists  # repeated elements
    assert any(len(v) == 12 for v in lists) and [] in lists and any(len(v) == 1 for v in lists)


_SEASON = '''def month_season(month, days):
    """Northern seasons: 'March' from the 20th is spring."""
    if month in ('January', 'February', 'March'):
        season = 'winter'
    else:
        season = 'autumn'
    if month == 'March' and days > 19:
        season = 'spring'
    return season
'''


def test_the_reference_s_constants_are_harvested_with_both_sides_of_each_bound() -> None:
    got = harvest_constants(_SEASON)
    assert got.strs == ("January", "February", "March", "winter", "autumn", "spring")  # no docstring
    assert got.ints == (18, 19, 20) and got.floats == () and got.sentinels == ()
    code = (
        "import sys\nfrom sys import maxsize\nimport math\n"
        "def f(a):\n    d = 10 ** 20\n    e = -sys.maxsize - 1\n    g = float('-inf')\n"
        "    m = math.inf\n    k = -maxsize\n    mod = 10 ** 9 + 7\n    return -3.5\n"
    )
    got = harvest_constants(code)
    assert got.sentinels == (-math.inf, -sys.maxsize - 1, -sys.maxsize, 10**20, math.inf)
    assert not got.is_sentinel(10**9 + 7) and got.is_sentinel(10**20) and not got.is_sentinel(True)
    assert not got.is_sentinel(1e20)  # a float answer is no int sentinel
    assert got.floats == (-3.5,) and {0, 1, 2, 6, 7, 8, 9, 10, 11, 19, 20, 21} == set(got.ints)
    assert harvest_constants("def f(:") == harvest_constants("")


@pytest.mark.parametrize(
    "code,sentinels",
    [
        ("def f(n):\n    return n & 0xFFFFFFFF\n", ()),  # an operand, not a value of its own
        ("def f(n):\n    return n * 6.022e23\n", ()),
        ("def f(n):\n    maxsize = 10\n    m = -maxsize\n    return m\n", ()),  # not sys's
        ("def f(xs):\n    if not xs:\n        return float('inf')\n    return min(xs)\n", (math.inf,)),
        ("from math import inf as INF\ndef f(xs):\n    best = (INF, None)\n    return best\n", (math.inf,)),
        ("def f(xs):\n    lo = float('+Inf')\n    return lo\n", (math.inf,)),
    ],
)
def test_a_sentinel_is_a_large_value_stored_or_returned_whole(code: str, sentinels: tuple[Any, ...]) -> None:
    assert harvest_constants(code).sentinels == sentinels


def test_only_a_table_s_or_a_comparison_s_ints_are_of_scale() -> None:
    """``int_to_roman``'s table and ``n > 1000`` name inputs the reference handles; ``maxi = -100000`` is a
    stand-in for minus infinity (below it the reference is wrong), ``mod = 10 ** 9 + 7`` a modulus."""
    roman = "def f(num):\n    val = [1000, 900, 500]\n    return val\n"
    assert {999, 1000, 1001, 900, 500} <= set(harvest_constants(roman).scale)
    assert 1000 in harvest_constants("def f(n):\n    return n > 1000\n").scale
    start = (
        "def f(xs):\n    maxi = -100000\n    a, b, c = 0, 0, 7000\n    mod = 10 ** 9 + 7\n    return maxi\n"
    )
    got = harvest_constants(start)
    assert got.scale == () and -100000 in got.ints and 7000 in got.ints
    # found by review: a start value tested later, a tuple of start values, a modulus compared with
    later = (
        "def f(xs):\n    maxi = -100000\n    if maxi == -100000:\n        return None\n"
        "    best = [-100000, -100000, -100000]\n    top: tuple = (-100000, 0, 7)\n"
        "    if xs[0] >= 1000000007:\n        return 1\n    return best\n"
    )
    assert harvest_constants(later).scale == ()


def test_the_reference_s_constants_reach_a_branch_no_step_from_the_tests_inputs_makes() -> None:
    """``month == 'March' and days > 19``: the tests' own inputs (January 4, October 28) never make
    'March' nor 20; with the reference's constants among the steps, March 20 is one chain away."""
    seeds: list[Input] = [(("January", 4), {}), (("October", 28), {})]
    plain = mutate_inputs(seeds, random.Random(0), limit=300)
    seeded = mutate_inputs(seeds, random.Random(0), limit=300, constants=harvest_constants(_SEASON))
    assert not any(a[0] == "March" for a, _ in plain)
    assert (("March", 20), {}) in seeded or (("March", 19), {}) in seeded
    assert any(a[0] == "January" + "spring" for a, _ in seeded)  # a constant appended to a string


_PASSWORD = """
import re
def pass_validity(p):
    if len(p) < 6 or len(p) > 12:
        return False
    return all(re.search(k, p) for k in ('[a-z]', '[0-9]', '[A-Z]', '[$#@]'))
"""


def test_a_string_is_cut_to_the_lengths_the_reference_compares_with() -> None:
    """MBPP 822: ``len(p) < 7`` for ``< 6`` survives unless a valid password of exactly six characters is
    tried. No one-step mutation of 'Password@10' made one (a random chain sometimes did); cut to six
    with its head and tail kept, it is 'Pas@10', one step away, in every run."""
    seeds: list[Input] = [(("Password@10",), {})]
    for seed in range(3):
        got = {
            a[0]
            for a, _ in mutate_inputs(
                seeds, random.Random(seed), limit=0, constants=harvest_constants(_PASSWORD)
            )
        }
        assert "Pas@10" in got and "Pass@10" in got  # 6 and 7 characters, the two sides of the bound
    plain = {a[0] for a, _ in mutate_inputs(seeds, random.Random(0), limit=0)}
    assert "Pas@10" not in plain


_ANGLES = """
def is_triangleexists(a, b, c):
    if a != 0 and b != 0 and c != 0 and (a + b + c == 180):
        return a + b >= c or b + c >= a or a + c >= b
    return False
"""


def test_an_argument_is_solved_for_a_sum_the_reference_compares_with() -> None:
    """MBPP 850: ``a != 1`` for ``a != 0`` survives unless some angles sum to exactly 180 with a == 1;
    no random step makes a sum land on 180. The reference compares a + b + c with 180, so one angle is
    solved for it, after another is set to one of the reference's ints: (1, 60, 119)."""
    consts = harvest_constants(_ANGLES)
    assert consts.sums == ((((0, 1), (1, 1), (2, 1)), 180),)
    assert harvest_constants("def f(a, b):\n    return a - b > 3 or a + a == 4 or a + 1 == 2\n").sums == (
        (((0, 1), (1, -1)), 3),
    )
    seeds: list[Input] = [((50, 60, 70), {}), ((90, 45, 45), {}), ((150, 30, 70), {})]
    for seed in range(3):
        got = [a for a, _ in mutate_inputs(seeds, random.Random(seed), limit=0, constants=consts)]
        assert any(a[0] == 1 and sum(a) == 180 for a in got)
    plain = [a for a, _ in mutate_inputs(seeds, random.Random(0), limit=300)]
    assert not any(a[0] == 1 and sum(a) == 180 for a in plain)


def test_huge_ints_and_long_sums_never_crash_the_steps() -> None:
    """Found by review: a bound of 2**16384, a hex literal or a seed past Python's 4300-digit limit for
    decimal text made ``repr`` raise in the inputs' keys, and a sum of 1500 terms overflowed the stack.
    Such values are never generated (their text is over the length cap), yet nothing raises."""
    huge = "def f(a, b):\n    if a + b == 18446744073709551616**128 * 18446744073709551616**128:\n        return 1\n"
    hexa = "def f(a, b):\n    if a + b == 0x" + "f" * 4000 + ":\n        return 1\n"
    long = "def f(a, b):\n    if a + " + " + ".join(["b"] * 1500) + " == 5:\n        return 1\n"
    for code in (huge, hexa, long):
        got = mutate_inputs([((1, 2), {})], random.Random(0), limit=20, constants=harvest_constants(code))
        assert got and all(len(input_key(i)) <= 1000 for i in got)
    seeds: list[Input] = [((int("f" * 4000, 16), 1), {})]
    assert input_key(seeds[0]).startswith("~((0xfff")
    assert all(len(input_key(i)) <= 1000 for i in mutate_inputs(seeds, random.Random(0), limit=20))


def test_a_reference_constant_is_exempt_from_the_magnitude_rule_only() -> None:
    """``int_to_roman``'s tests stop at 50; its ``val = [1000, ...]`` makes 1000 an input it handles.
    The exemption is for the constants and their neighbours, and for magnitude only."""
    seeds: list[Input] = [((1,), {}), ((50,), {}), ((4,), {})]
    plain = infer_contract(seeds, "Convert an integer into a roman numeral.")
    marked = infer_contract(seeds, "Convert an integer into a roman numeral.", marks=(999, 1000, 1001))
    assert plain.violation(((1000,), {})) is not None and marked.violation(((1000,), {})) is None
    assert (marked.violation(((5000,), {})) or "").startswith("range")
    counted = infer_contract(seeds, "Count the digits of a natural number.", marks=(-2, -1, 0))
    assert (counted.violation(((-2,), {})) or "").startswith("range")  # the sign rule still holds


def test_a_tuple_keeps_its_length_only_where_every_observed_one_has_the_same() -> None:
    pairs = infer_contract([(((1, 2),), {}), (((3, 4),), {}), (((5, 6),), {})])
    assert (pairs.violation((((1,),), {})) or "").startswith("length")
    seqs = infer_contract([(((5, 6, 7, 3, 5, 6),), {}), (((1, 2, 3),), {}), (((3, 2, 1, 4, 5),), {})])
    assert seqs.violation((((5,),), {})) is None and seqs.violation((((5, 6),), {})) is None
    shorter = _values([(((5, 6, 7),), {})])
    assert (5,) in shorter and (5, 6) in shorter


def test_contract_relaxed_where_the_text_does_not_ask_for_a_rule() -> None:
    seeds: list[Input] = [(([1.0, 2.0, 3.0],), {}), (([4.5, 5.0, 6.0],), {}), (([1.5, 2.5],), {})]
    strict = infer_contract(seeds)  # without the text: every rule the observed inputs share
    assert strict.violation((([-1.0, 2.0],), {})).startswith("range")  # type: ignore[union-attr]
    assert strict.violation((([3.0, 1.0],), {})).startswith("sorted")  # type: ignore[union-attr]
    assert strict.violation((([],), {})).startswith("empty")  # type: ignore[union-attr]
    loose = infer_contract(seeds, "Return the two numbers closest to each other.")
    assert loose.violation((([-1.0, 2.0],), {})) is None
    assert loose.violation((([3.0, 1.0],), {})) is None
    assert loose.violation((([],), {})) is None
    assert loose.violation((([1.0] * 13,), {})).startswith("length")  # type: ignore[union-attr]
    assert loose.violation(((["a"],), {})).startswith("type")  # type: ignore[union-attr]
    kept = infer_contract(seeds, "Given a non-empty sorted list of positive numbers, ...")
    assert kept.violation((([-1.0, 2.0],), {})).startswith("range")  # type: ignore[union-attr]
    assert kept.violation((([],), {})).startswith("empty")  # type: ignore[union-attr]
    assert kept.violation((([3.0, 1.0],), {})).startswith("sorted")  # type: ignore[union-attr]


def test_case_relaxed_unless_the_text_names_a_case() -> None:
    seeds: list[Input] = [(("hello",), {}), (("world",), {}), (("abcdef",), {})]
    assert infer_contract(seeds, "Rotate the alphabet.").violation((("HeLLo",), {})) is None
    why = infer_contract(seeds, "Given a lowercase string, rotate it.").violation((("HeLLo",), {}))
    assert why is not None and why.startswith("alphabet")
    assert infer_contract(seeds, "Rotate.").violation((("he1lo",), {})).startswith("alphabet")  # type: ignore[union-attr]
    assert loosened("the n-th number") == {"zero", "case", "empty", "sorted"}  # n-th: no negative n
    assert loosened("the n-th positive number") == {"case", "empty", "sorted"}


def test_zero_allowed_where_only_negatives_are_ruled_out() -> None:
    seeds: list[Input] = [((3,), {}), ((5,), {}), ((8,), {})]
    nth = infer_contract(seeds, "Find the n-th octagonal number.")
    assert nth.violation(((0,), {})) is None
    assert nth.violation(((-1,), {})).startswith("range")  # type: ignore[union-attr]
    pos = infer_contract(seeds, "Find the n-th octagonal number for a positive n.")
    assert pos.violation(((0,), {})).startswith("range")  # type: ignore[union-attr]


def test_inputs_of_the_examples_in_the_text() -> None:
    doc = """def f(xs, k=1):
    \"\"\" Sum it.
    >>> f([1, 2], k=3)
    6
    f("a)b", 2) returns 'x'
    f(undefined_name) ➞ 1
    g(5) == 5
    \"\"\"
"""
    assert extract_doc_inputs(doc, "f") == [(([1, 2],), {"k": 3}), (("a)b", 2), {})]
    assert extract_doc_inputs("no examples", "f") == []


RULE_CASES = [
    # (reference, operator, rule or None)
    ("def f(a, b):\n    return (a + b) % 2 == 0\n", "swap_add_sub", "parity"),
    ("def f(a, b):\n    return (a + b + 1) % 2\n", "swap_add_sub", "parity"),
    ("def f(a, b):\n    return (a + b) % 3\n", "swap_add_sub", None),  # mod 3: a+b and a-b differ
    ("def f(a, b):\n    return (a + b) // 2\n", "swap_add_sub", None),
    (
        "def f(xs):\n    n = 0\n    for x in xs:\n        if x % 2:\n            n += 1\n"
        "    if n == 0:\n        return 0\n    return 1\n",
        "swap_add_sub",
        "sign_blind_counter",
    ),
    (  # read by parity and by abs: the sign cannot show
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 2\n    return (n % 2, abs(n))\n",
        "swap_add_sub",
        "sign_blind_counter",
    ),
    (  # the counter's value is returned: +1 and -1 differ
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return n\n",
        "swap_add_sub",
        None,
    ),
    (  # it moves both ways: swapping one step changes when it is 0
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n        if x:\n            n -= 1\n"
        "    return n == 0\n",
        "swap_add_sub",
        None,
    ),
    (  # compared with 1, not 0
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return n != 1\n",
        "swap_add_sub",
        None,
    ),
    (  # starts at 1
        "def f(xs):\n    n = 1\n    for x in xs:\n        n += 1\n    return n == 0\n",
        "swap_add_sub",
        None,
    ),
    ("def f(a, b):\n    return (a + b) % 2\n", "off_by_one", None),  # rules are per operator
]


@pytest.mark.parametrize("reference,operator,rule", RULE_CASES)
def test_equivalence_rules_are_narrow(reference: str, operator: str, rule: str | None) -> None:
    assert operator in dict(mutants(reference, "f"))
    assert equivalence_rule(reference, "f", operator) == rule


def test_the_rules_prove_exactly_the_equivalent_mutants_they_claim() -> None:
    """Where a rule says equivalent, no input tells the mutant apart (here exhaustively on small ints)."""
    for reference, operator, rule in RULE_CASES:
        ns_ref: dict[str, Any] = {}
        ns_mut: dict[str, Any] = {}
        exec(reference, ns_ref)
        exec(dict(mutants(reference, "f"))[operator], ns_mut)
        if "xs" in reference:
            calls = [((list(range(-k, k + 1)) + [0] * z,), {}) for k in range(4) for z in range(3)]
            calls += [(([k, 0, 1],), {}) for k in range(-3, 4)] + [
                (([k] * z,), {}) for k in (1, 2) for z in (1, 3)
            ]
        else:
            calls = [((a, b), {}) for a in range(-6, 7) for b in range(-6, 7)]
        same = all(ns_ref["f"](*a, **k) == ns_mut["f"](*a, **k) for a, k in calls)
        if rule:
            assert same, reference
        else:
            assert not same or operator == "off_by_one", reference


def test_reseeded_tests_change_only_the_seeds() -> None:
    tests = "def check(candidate):\n    rng = random.Random(42)\n    random.seed(7)\n    r = Random( 3 )\n"
    assert reseeded(tests, 5) == (
        "def check(candidate):\n    rng = random.Random(5)\n    random.seed(5)\n    r = Random( 5 )\n"
    )
    assert reseeded("def check(candidate):\n    x = my.Random(4)\n    assert candidate(1) == 2\n", 5) is None


def test_calls_of_the_programs_own_class_are_built_inputs() -> None:
    """``Pair(5, 24)`` in a test is an input where the program defines ``Pair`` (at its top level), in a
    list too; a call of anything else, a keyword argument of the class or a non-literal argument still
    leaves the call out. Its ``repr`` is the call again, and mutation keeps the number of arguments."""
    from alignforge.verify._inputs_mutation import Built, _steps, defined_classes, extract_inputs, is_literal
    from alignforge.verify.tasks import normalize_task

    program = "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n\ndef f(xs, n):\n    return n\n"
    assert defined_classes(program) == {"Pair"} and defined_classes("def Pair(): pass") == frozenset()
    task = normalize_task(
        {
            "task_id": 1,
            "text": "chains",
            "code": program,
            "test_list": [
                "assert f([Pair(5, 24), Pair(15, 25)], 2) == 2",
                "assert f([[Pair(1, 2)]], 1) == 1",
                "assert f([Other(1, 2)], 1) == 1",
                "assert f([Pair(a=1, b=2)], 1) == 1",
                "assert f([Pair(x, 2)], 1) == 1",
            ],
        }
    )
    got = extract_inputs(task, "f", defined_classes(program))
    assert got == [
        (([Built("Pair", (5, 24)), Built("Pair", (15, 25))], 2), {}),
        (([[Built("Pair", (1, 2))]], 1), {}),
    ]
    assert extract_inputs(task, "f") == []  # without the classes: no literal call, as before
    assert repr(got[0][0][0]) == "[Pair(5, 24), Pair(15, 25)]" and is_literal(got[0][0][0])
    steps = _steps(Built("Pair", (5, 24)), random.Random(0))
    assert steps and all(type(s) is Built and s.cls == "Pair" and len(s.args) == 2 for s in steps)
    assert Built("Pair", (6, 24)) in steps or Built("Pair", (5, 25)) in steps


def test_the_contract_keeps_a_built_inputs_class_and_its_arguments_shape() -> None:
    from alignforge.verify._inputs_mutation import Built

    seeds: list[Input] = [
        (([Built("Pair", (5, 24)), Built("Pair", (15, 25))], 2), {}),
        (([Built("Pair", (1, 2))], 1), {}),
        (([Built("Pair", (3, 4)), Built("Pair", (5, 6)), Built("Pair", (7, 8))], 3), {}),
    ]
    c = infer_contract(seeds, "Find the longest chain of pairs.")
    assert c.violation((([Built("Pair", (2, 9))], 1), {})) is None
    assert (c.violation((([Built("Other", (2, 9))], 1), {})) or "").startswith("type")
    assert (c.violation((([Built("Pair", ("a", 9))], 1), {})) or "").startswith("type")
    assert (c.violation((([Built("Pair", (2, 9))], 5), {})) or "").startswith("relation")  # n == len(arr)


@pytest.mark.parametrize(
    "r0,why",
    [
        ({"error": "the answer could not be sent back"}, "output_too_large"),
        ({"raised": "ValueError"}, "raises"),
        ({"timeout": True, "retried": True}, "timeout"),
        ({"error": "not run: too many timeouts"}, "not_run_after_timeouts"),
        ({"error": "died"}, "harness_error"),
        ({"ok": 3, "retried": True}, None),
    ],
)
def test_an_input_is_dropped_for_what_its_oracle_run_says(r0: dict[str, Any], why: str | None) -> None:
    """An answer the sandbox could not encode (an int past 4,300 digits) is too large for a test, not a
    raise of the reference; a call run again after starving keeps its answer."""
    from alignforge.verify._oracle import unsent
    from alignforge.verify._plus_inputs import _judge

    assert _judge(r0, {"ok": 3}, 1.0) == why
    assert unsent(r0) is (why == "output_too_large")
