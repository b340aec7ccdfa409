"""The finance and general RLVR domains wired end to end through the CLI: generate (one domain or the
40/30/20/10 mix), verify (the engine routes each domain to its own verifier), calibrate (false
positives per domain, every reference form must pass) and check (verifiability per domain against the
seed's targets, the domain mix). Real files, the real verifiers, the real sandbox for the code share."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _cli import run_cli


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _generate(capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> list[dict[str, Any]]:
    res = run_cli(capsys, "generate", "rlvr", *args, "--out", out)
    assert res.code == 0, res.err
    return _rows(out)


def _verdicts(
    capsys: pytest.CaptureFixture[str], tmp: Path, tasks: Path, cases: list[tuple[str, str, bool]]
) -> list[tuple[str, bool, bool]]:
    """(completion, expected, got) for each (task_id, completion, expected), through ``alignforge verify``."""
    comps = _write(tmp / "completions.jsonl", [{"task_id": t, "completion": c} for t, c, _ in cases])
    out = tmp / "verdicts.jsonl"
    res = run_cli(capsys, "verify", "--tasks", tasks, "--completions", comps, "--out", out, "--fresh")
    assert res.code == 0, res.err
    verdicts = _rows(out)
    assert [v["task_id"] for v in verdicts] == [t for t, _, _ in cases]
    return [(c, want, v["passed"]) for (_, c, want), v in zip(cases, verdicts, strict=True)]


def _by_family(rows: list[dict[str, Any]], family: str) -> dict[str, Any]:
    return next(r for r in rows if r["metadata"]["generator"] == family)


def _plain(answer: str) -> str:
    return answer.replace("$", "").replace("%", "")


# --- generate + verify: finance ---------------------------------------------------------------------


def test_generate_finance_then_verify_the_forms_people_write(tmp_path, capsys):
    tasks = tmp_path / "f.jsonl"
    rows = _generate(capsys, tasks, "--domain", "finance", "--n", "20")
    assert len(rows) == 20
    assert {r["domain"] for r in rows} == {"finance"} and {r["verification_type"] for r in rows} == {
        "finance"
    }
    assert all(
        r["metadata"]["reference_passed"] and r["metadata"]["verifier"]["type"] == "finance" for r in rows
    )
    assert len({r["metadata"]["generator"] for r in rows}) == 10  # every family, two tasks each

    loan = _by_family(rows, "loan_payment")  # an amount in USD, to the cent
    amt, num = loan["answer"], _plain(loan["answer"])
    cents = f"{float(num.replace(',', '')) + 0.01:,.2f}"
    cagr = next(r for r in rows if r["metadata"]["generator"] == "cagr")  # a percentage, 2 decimals
    pct = _plain(cagr["answer"])
    frac = f"{float(pct) / 100:.4f}"
    cases = [
        (loan["task_id"], f"Using the annuity formula the payment works out.\nThe answer is {amt}.", True),
        (loan["task_id"], f"So the monthly payment is \\boxed{{\\${num.replace(',', '{,}')}}}", True),
        (loan["task_id"], f"Final answer: {num} dollars", True),
        (loan["task_id"], f"The answer is USD {num}.", True),
        (loan["task_id"], f"The answer is ${cents}.", False),  # a cent off
        (loan["task_id"], f"The answer is €{num}.", False),  # another currency
        (loan["task_id"], f"The answer is {amt} or ${cents}.", False),  # hedged
        (loan["task_id"], f"The answer is ${cents}.\nFinal answer: {amt}", False),  # two final answers
        (cagr["task_id"], f"The answer is {pct}%.", True),
        (cagr["task_id"], f"The CAGR is $ {pct}\\% $, so the answer is {pct} percent.", True),
        (cagr["task_id"], f"The answer is {frac}.", False),  # a fraction where a percentage is asked
        (cagr["task_id"], f"The answer is {frac}%.", False),  # the percent/fraction confusion
    ]
    got = _verdicts(capsys, tmp_path, tasks, cases)
    assert [(c, want) for c, want, _ in got] == [(c, passed) for c, _, passed in got]


# --- generate + verify: general ---------------------------------------------------------------------


def test_generate_general_then_verify_short_answers_and_multiple_choice(tmp_path, capsys):
    tasks = tmp_path / "g.jsonl"
    rows = _generate(capsys, tasks, "--domain", "general", "--n", "26")
    assert len(rows) == 26 and {r["domain"] for r in rows} == {"general"}
    types = Counter(r["verification_type"] for r in rows)  # each row carries its own type
    assert types == {"short_answer": 16, "choice": 10}
    assert all(("choices" in r) == (r["verification_type"] == "choice") for r in rows)

    rev = _by_family(rows, "reverse_word")
    mc = _by_family(rows, "mc_conversion")
    right = mc["answer"]
    labels = "ABCDEFGH"[: len(mc["choices"])]
    wrong = next(x for x in labels if x != right)
    text = mc["choices"][labels.index(right)]
    cases = [
        (rev["task_id"], f"Reversing the letters gives the word.\nThe answer is {rev['answer']}.", True),
        (rev["task_id"], f"\\boxed{{{rev['answer'].upper()}}}", True),
        (rev["task_id"], f"The answer is {rev['answer']}x.", False),
        (rev["task_id"], f"The answer is {rev['answer']} or {rev['answer']}x.", False),
        (mc["task_id"], f"The answer is {right}.", True),
        (mc["task_id"], f"Answer: ({right}) {text}", True),
        # the option's text alone: math's letter matcher (where a task with choices went before) finds no letter
        (mc["task_id"], f"The answer is {text}.", True),
        (mc["task_id"], f"The answer is {wrong}.", False),
        # two options: math's letter matcher read only the first letter after "answer is" and passed it
        (mc["task_id"], f"The answer is ({right}) or ({wrong}).", False),
        (mc["task_id"], "The answer is all of the above.", False),
    ]
    got = _verdicts(capsys, tmp_path, tasks, cases)
    assert [(c, want) for c, want, _ in got] == [(c, passed) for c, _, passed in got]


def test_general_verification_type_keeps_only_that_type(tmp_path, capsys):
    rows = _generate(
        capsys, tmp_path / "c.jsonl", "--domain", "general", "--verification-type", "choice", "--n", "7"
    )
    assert len(rows) == 7 and {r["verification_type"] for r in rows} == {"choice"}
    res = run_cli(capsys, "generate", "rlvr", "--domain", "finance", "--verification-type", "math", "--n", "2",
                  "--out", tmp_path / "x.jsonl")  # fmt: skip
    assert res.code == 2 and "does not fit domain 'finance'" in res.err


def test_verify_routes_general_multiple_choice_to_the_general_verifier(tmp_path, capsys):
    mc = {"task_id": "g1", "prompt": "Capital of the UK?\nA) Paris\nB) London\nC) Rome", "answer": "B",
          "choices": ["Paris", "London", "Rome"], "domain": "general"}  # fmt: skip
    cases = [
        ("g1", "The answer is London.", True),  # math's letter matcher found no letter here
        ("g1", "The answer is (B) or (C).", False),  # and read only the (B) here
        ("g1", "The answer is (B).", True),
    ]
    got = _verdicts(capsys, tmp_path, _write(tmp_path / "t.jsonl", [mc]), cases)
    assert [(c, want) for c, want, _ in got] == [(c, passed) for c, _, passed in got]


# --- ready-made tasks in --input --------------------------------------------------------------------


def test_input_tasks_are_checked_and_bad_specs_name_file_line_and_field(tmp_path, capsys):
    spec = {"type": "finance", "answer_kind": "amount", "unit": "USD", "decimals": 2}
    good = [
        {"prompt": "Pay $10.00 plus $2.50. Total?", "answer": "$12.50", "metadata": {"verifier": spec}},
        {"prompt": "Pay $10.00 plus $2.50, twice?", "answer": "12.5 units", "metadata": {"verifier": spec}},
        {"family": "npv", "count": 2, "seed": 3},
    ]
    out = tmp_path / "f.jsonl"
    rows = _generate(capsys, out, "--domain", "finance", "--input", _write(tmp_path / "in.jsonl", good))
    assert len(rows) == 3 and rows[0]["metadata"] == {
        "source": "input",
        "verifier": spec,
        "reference_passed": True,
    }
    [dropped] = _rows(tmp_path / "f.dropped.jsonl")  # "12.5 units" is no USD amount: not verifiable
    assert dropped["answer"] == "12.5 units"
    assert dropped["metadata"]["drop_reasons"][0]["reason"] == "answer_not_verifiable"

    bad = [
        good[0],
        {"prompt": "How much?", "answer": "$5", "metadata": {"verifier": {**spec, "decimals": -1}}},
    ]
    res = run_cli(capsys, "generate", "rlvr", "--domain", "finance", "--input",
                  _write(tmp_path / "bad.jsonl", bad), "--out", tmp_path / "b.jsonl")  # fmt: skip
    assert res.code == 2 and "bad.jsonl:2: field 'metadata.verifier.decimals'" in res.err

    choice = [{"prompt": "Pick one: A) x B) y", "answer": "C", "choices": ["x", "y"]}]
    res = run_cli(capsys, "generate", "rlvr", "--domain", "general", "--input",
                  _write(tmp_path / "c.jsonl", choice), "--out", tmp_path / "g.jsonl")  # fmt: skip
    assert res.code == 2 and "c.jsonl:1: field 'answer'" in res.err
    res = run_cli(capsys, "generate", "rlvr", "--domain", "general", "--input",
                  _write(tmp_path / "fam.jsonl", [{"family": "npv"}]), "--out", tmp_path / "g.jsonl")  # fmt: skip
    assert res.code == 2 and "fam.jsonl:1: field 'family'" in res.err


def test_verify_refuses_a_task_file_whose_finance_spec_is_bad(tmp_path, capsys):
    bad = {"task_id": "f1", "prompt": "?", "answer": "$5", "domain": "finance",
           "metadata": {"verifier": {"type": "finance", "answer_kind": "money"}}}  # fmt: skip
    tasks = _write(tmp_path / "t.jsonl", [bad])
    comps = _write(tmp_path / "c.jsonl", [{"task_id": "f1", "completion": "The answer is $5."}])
    res = run_cli(capsys, "verify", "--tasks", tasks, "--completions", comps, "--out", tmp_path / "v.jsonl")
    assert res.code == 2 and "t.jsonl:1: field 'metadata.verifier.answer_kind'" in res.err


def test_a_changed_tolerance_is_not_served_an_old_cached_verdict(tmp_path):
    from alignforge.verify import VerdictCache, verify_completions

    task = {"task_id": "f", "prompt": "?", "answer": "$100.00", "domain": "finance",
            "metadata": {"verifier": {"type": "finance", "answer_kind": "amount", "unit": "USD", "decimals": 2}}}  # fmt: skip
    loose = {**task, "metadata": {"verifier": {**task["metadata"]["verifier"], "rel_tol": 0.01}}}
    cache = VerdictCache(tmp_path / "v.sqlite")
    comp = [{"task_id": "f", "completion": "The answer is $100.50."}]
    [strict_v] = verify_completions({"f": task}, comp, cache=cache)
    [loose_v] = verify_completions({"f": loose}, comp, cache=cache)
    assert not strict_v["passed"] and loose_v["passed"] and not loose_v["cache_hit"]


# --- the mix --------------------------------------------------------------------------------------


def test_mix_writes_the_seed_mix_in_domain_order(tmp_path, capsys):
    out = tmp_path / "mix.jsonl"
    res = run_cli(capsys, "generate", "rlvr", "--mix", "40/30/20/10", "--n", "50", "--out", out)
    assert res.code == 0, res.err
    assert "math=20 of 20, code=15 of 15, finance=10 of 10, general=5 of 5" in res.out
    rows = _rows(out)
    domains = [r["domain"] for r in rows]
    assert Counter(domains) == {"math": 20, "code": 15, "finance": 10, "general": 5}
    assert domains == sorted(domains, key=["math", "code", "finance", "general"].index)
    assert (
        all(r["metadata"]["reference_passed"] for r in rows) and _rows(tmp_path / "mix.dropped.jsonl") == []
    )

    again = run_cli(capsys, "generate", "rlvr", "--mix", "40/30/20/10", "--n", "50", "--out", out)
    assert again.code == 0 and "resumed: 50 rows" in again.out and _rows(out) == rows


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--mix", "40/30/20"], "--mix '40/30/20': expected four whole percentages"),
        (["--mix", "40/30/20/20"], "the shares sum to 110, not 100"),
        (["--mix", "40/30/20/10", "--domain", "math"], "give a domain ('math') or a mix"),
        (["--mix", "40/30/20/10", "--verification-type", "exact"], "a mix plans the built-in generators"),
    ],
)
def test_mix_refuses_bad_input_with_exit_2(tmp_path, capsys, args, says):
    res = run_cli(capsys, "generate", "rlvr", *args, "--n", "10", "--out", tmp_path / "x.jsonl")
    assert res.code == 2 and says in res.err


# --- calibrate: false positives per domain ----------------------------------------------------------


def test_calibrate_reports_the_false_positive_rate_per_domain(tmp_path, capsys):
    _generate(capsys, tmp_path / "f.jsonl", "--domain", "finance", "--n", "10")
    _generate(capsys, tmp_path / "g.jsonl", "--domain", "general", "--n", "13")
    tasks = tmp_path / "fg.jsonl"
    tasks.write_text((tmp_path / "f.jsonl").read_text() + (tmp_path / "g.jsonl").read_text())
    res = run_cli(capsys, "verify", "calibrate", "--tasks", tasks, "--json", tmp_path / "r.json")
    assert res.code == 0, res.out + res.err
    report = json.loads((tmp_path / "r.json").read_text())
    fp = report["false_positive_rate_by_domain"]
    assert set(fp) == {"finance", "general"}
    assert fp["finance"]["n"] >= 10 * 12 and fp["general"]["n"] >= 13 * 6
    assert fp["finance"]["passed"] == fp["general"]["passed"] == 0
    assert report["verifiability"]["finance"]["rate"] == report["verifiability"]["general"]["rate"] == 1.0
    assert (
        "false-positive rate finance: 0.00% of" in res.out
        and "false-positive rate general: 0.00% of" in res.out
    )
    assert "hack:several_numbers" in report["probes"] and "hack:a_or_b" in report["probes"]


def test_calibrate_flags_a_domain_whose_verifier_accepts_a_wrong_answer(tmp_path, capsys):
    # No unit: the spec cannot tell dollars from euros, so the wrong-currency probe passes (1 of 15).
    loose = {"task_id": "f", "prompt": "?", "answer": "$12.50", "domain": "finance",
             "metadata": {"verifier": {"type": "finance", "answer_kind": "amount", "decimals": 2}}}  # fmt: skip
    math = {"task_id": "m", "prompt": "6 x 7?", "answer": "42", "domain": "math"}
    res = run_cli(capsys, "verify", "calibrate", "--tasks", _write(tmp_path / "t.jsonl", [loose, math]),
                  "--json", tmp_path / "r.json")  # fmt: skip
    report = json.loads((tmp_path / "r.json").read_text())
    assert (
        res.code == 1 and "false-positive rate finance: 6.67% of 15" in res.out and "ABOVE TARGET" in res.out
    )
    assert report["false_positive_rate_by_domain"]["math"]["passed"] == 0
    assert report["false_positive_examples"] == [{"task_id": "f", "probe": "wrong:wrong_currency"}]


def test_every_reference_form_must_pass(tmp_path):
    from alignforge.verify import calibrate

    # An answer of two sentences: "The answer is Yes. No." is read as "Yes" (the stated answer ends at
    # the first sentence); the bare and boxed forms pass. One failing form makes the task unverified.
    report = calibrate([{"task_id": "g", "prompt": "Which?", "answer": "Yes. No", "domain": "general"}])
    assert report["probes"]["reference:stated"]["passed"] == 0
    assert report["probes"]["reference:boxed"]["passed"] == 1
    assert report["verifiability_breakdown"]["reference_fails"] == 1
    # an abbreviation's period does not end the sentence: "The answer is St. Louis." is "St. Louis"
    report = calibrate(
        [{"task_id": "g", "prompt": "Which city?", "answer": "St. Louis", "domain": "general"}]
    )
    assert report["kinds"]["reference"]["passed"] == 3
    assert report["verifiability_breakdown"]["verified"] == 1


def test_an_exact_match_task_is_verified_by_its_own_reference_forms():
    from alignforge.verify import calibrate

    task = {"task_id": "g", "prompt": "Capital of France?", "answer": "Paris", "domain": "general",
            "metadata": {"verifier": {"type": "general", "match": "exact"}}}  # fmt: skip
    report = calibrate([task])  # case counts under exact match: no upper-cased reference form
    assert report["verifiability_breakdown"]["verified"] == 1 and report["kinds"]["reference"]["passed"] == 3


def test_the_targets_are_one_definition():
    from alignforge.verify._domain_probes import FP_TARGET, VERIFIABILITY_TARGET
    from alignforge.verify.calibration import TARGETS

    assert TARGETS["verifiability"] == VERIFIABILITY_TARGET and TARGETS["false_positive_rate"] == FP_TARGET


# --- check: per-domain verifiability and the mix -------------------------------------------------------


def test_check_reports_verifiability_per_domain_and_the_mix(tmp_path, capsys):
    tasks = tmp_path / "mix.jsonl"
    rows = _generate(capsys, tasks, "--mix", "40/30/20/10", "--n", "50")
    comps = []
    finance_wrong = 0
    for r in rows:
        if r["domain"] == "code":
            comps.append({"task_id": r["task_id"], "completion": r["metadata"]["reference_solution"],
                          "completion_style": "full"})  # fmt: skip
        elif r["domain"] == "finance" and finance_wrong < 2:  # 8 of 10: below finance's 85 %
            finance_wrong += 1
            comps.append({"task_id": r["task_id"], "completion": "The answer is $0.01 or 7%."})
        else:
            comps.append({"task_id": r["task_id"], "completion": f"The answer is {r['answer']}."})
    verdicts = tmp_path / "v.jsonl"
    res = run_cli(capsys, "verify", "--tasks", tasks, "--completions", _write(tmp_path / "c.jsonl", comps),
                  "--out", verdicts)  # fmt: skip
    assert res.code == 0, res.err
    gates = tmp_path / "gates.yaml"
    gates.write_text(
        "rlvr_data:\n"
        '  domain_mix_max_deviation: {max: 0.10, unit: "largest |share - target|, 0-1"}\n'
        '  verifiability_domains_below_target: {max: 0, unit: "domains below their target"}\n'
    )
    res = run_cli(
        capsys, "check", tasks, "--verdicts", verdicts, "--gates", gates, "--json", tmp_path / "r.json"
    )
    figs = json.loads((tmp_path / "r.json").read_text())["figures"]
    assert figs["domain_counts"] == {"math": 20, "code": 15, "finance": 10, "general": 5}
    assert figs["domain_mix"] == {"math": 0.4, "code": 0.3, "domain": 0.2, "general": 0.1}
    assert figs["domain_mix_max_deviation"] == 0.0
    assert figs["verifiability_by_domain"] == {"code": 1.0, "finance": 0.8, "general": 1.0, "math": 1.0}
    assert figs["verifiability_target_by_domain"] == {
        "code": 0.9,
        "finance": 0.85,
        "general": 0.8,
        "math": 0.95,
    }
    assert figs["verifiability_domains_below_target"] == 1
    shown = re.sub(r"[│┃\s]+", " ", res.out)  # the table's cells, however rich wraps them
    assert res.code == 1 and "finance 80% (target 85%)" in shown and "code 100% (target 90%)" in shown


def test_each_general_family_is_of_the_type_the_filter_assumes():
    import random

    from alignforge.generate import GENERAL_FAMILIES, make_general_task
    from alignforge.generate._rlvr_rows import _general_type

    for family in GENERAL_FAMILIES:
        row = make_general_task(family, random.Random(0)).to_row()
        assert row["verification_type"] == _general_type(family), family
