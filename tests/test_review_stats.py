"""Review statistics against hand-computed values, and the report's figures on a real stored review."""

from __future__ import annotations

import pytest
from _cli import run_cli
from _review_helpers import dpo_rows, write_rows

from alignforge.errors import AlignforgeError
from alignforge.review import open_review, review_figures, review_report
from alignforge.review.stats import Stratum, cohen_kappa, needed_sample, stratified, wilson


def test_wilson_matches_published_intervals():
    lo, hi = wilson(1, 4)
    assert (round(lo, 4), round(hi, 4)) == (0.0456, 0.6994)
    lo, hi = wilson(0, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.0, 0.2775)
    lo, hi = wilson(10, 200)
    assert (round(lo, 4), round(hi, 4)) == (0.0274, 0.0896)  # centre 0.05848, half-width 0.03110
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_needed_sample_for_three_points_at_five_percent_is_203():
    # 1.96^2 * 0.05 * 0.95 / 0.03^2 = 202.7
    assert needed_sample(0.05, 0.03) == 203
    assert needed_sample(0.5, 0.05) == 385  # the textbook worst case


def test_stratified_weights_by_population_and_keeps_uncertainty_of_a_clean_stratum():
    # 900 rows: 1 of 10 disagree; 100 rows: 3 of 5 -> 0.9*0.1 + 0.1*0.6 = 0.15
    # variance: 0.81*(3/14)(11/14)/10 + 0.01*(5/9)(4/9)/5 = 0.0141316 -> half-width 1.96*0.118877 = 0.2330
    out = stratified([Stratum(900, 1, 10), Stratum(100, 3, 5)])
    assert out["value"] == pytest.approx(0.15)
    assert out["high"] == pytest.approx(0.3830, abs=1e-4)
    assert out["low"] == 0.0
    assert out["covered"] == 1.0
    # a stratum with no decided verdict is left out and the covered share says so
    out = stratified([Stratum(900, 0, 9), Stratum(100, 0, 0)])
    assert out["value"] == 0.0 and out["covered"] == pytest.approx(0.9)
    assert out["high"] > 0.05  # 0 of 9 is not proof of 0 %
    assert stratified([Stratum(10, 0, 0)])["value"] is None


def test_cohen_kappa_textbook_example_and_undefined_cases():
    # 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: po 0.7, pe 0.5*0.6 + 0.5*0.4 = 0.5 -> kappa 0.4
    pairs = [(True, True)] * 20 + [(True, False)] * 5 + [(False, True)] * 10 + [(False, False)] * 15
    k = cohen_kappa(pairs)
    assert k.value == pytest.approx(0.4) and k.raw_agreement == pytest.approx(0.7)
    assert (k.prevalence_a, k.prevalence_b) == (0.5, 0.6)
    same = cohen_kappa([(True, True)] * 30)
    assert same.value is None and "same label" in same.why_undefined and same.raw_agreement == 1.0
    assert cohen_kappa([]).value is None


def _review(tmp_path, rows, fraction, **kw):
    data = write_rows(tmp_path / "pairs.jsonl", rows)
    store = open_review(data, fraction, **kw)
    return data, store


def test_overall_is_weighted_by_share_of_the_whole_file_not_of_the_sample(tmp_path):
    # 990 rows of A get 10 items, 10 rows of B get 1 (at least one per stratum): B is 1 % of the
    # file but 9 % of the sample. All A agree, B's one item disagrees: 1 % of the file, not 1/11.
    data, store = _review(
        tmp_path, dpo_rows(990, strategy="A") + dpo_rows(10, strategy="B", start=990), 0.01, by=["strategy"]
    )
    ids = store.items()
    assert sorted(s for _, s, _ in ids).count("strategy=B") == 1 and len(ids) == 11
    for item_id, stratum, _ in ids:
        store.record("alice", item_id, verdict="disagree" if stratum == "strategy=B" else "agree")
    store.close()
    rep = review_report(data)
    assert rep["overall"]["disagreement"] == pytest.approx(0.01)
    assert rep["overall"]["raw_disagreement"] == pytest.approx(1 / 11)
    assert rep["passed"] is True  # 1 % <= 5 %; the raw 9 % would have failed
    b = next(s for s in rep["strata"] if s["stratum"] == "strategy=B")
    assert (b["population"], b["sampled"], b["disagree"], b["disagreement"]) == (10, 1, 1, 1.0)
    lo, hi = b["ci95"]
    assert (round(lo, 4), round(hi, 4)) == (0.2065, 1.0)  # Wilson 1 of 1
    assert "203" in rep["sample_size_note"]
    # DPO: the judge always says "chosen better", so kappa against it cannot mean anything
    mk = rep["kappa"]["machine"]
    assert (
        mk["kappa"] is None
        and "chosen better" in mk["why_not"]
        and mk["raw_agreement"] == pytest.approx(10 / 11)
    )
    figures = review_figures(data)
    assert figures["review_disagreement"] == pytest.approx(0.01) and figures["review_decided"] == 11


def test_unsure_is_counted_but_not_in_the_rate(tmp_path):
    data, store = _review(
        tmp_path, dpo_rows(900, strategy="A") + dpo_rows(100, strategy="B", start=900), 0.01, by=["strategy"]
    )
    a_items = [i for i, s, _ in store.items() if s == "strategy=A"]
    (b_item,) = [i for i, s, _ in store.items() if s == "strategy=B"]
    for n, item in enumerate(a_items):  # A: 1 disagree, 2 agree, 6 unsure -> 1/3
        store.record("alice", item, verdict="disagree" if n == 0 else "agree" if n < 3 else "unsure")
    store.record("alice", b_item, verdict="agree")
    store.close()
    rep = review_report(data)
    assert rep["verdicts"] == {"agree": 3, "disagree": 1, "unsure": 6, "split": 0, "unreviewed": 0}
    assert rep["overall"]["disagreement"] == pytest.approx(0.9 / 3)  # 0.9 * 1/3 + 0.1 * 0
    assert rep["overall"]["raw_disagreement"] == pytest.approx(1 / 4)
    assert rep["passed"] is False


def test_kappa_against_a_label_that_varies_and_between_two_reviewers(tmp_path):
    rows = [
        {"prompt": f"p{i}", "completion": f"c{i}", "label": lab, "metadata": {"score": 9.0 if lab else 2.0}}
        for i, lab in enumerate([True, True, False, False])
    ]
    data = write_rows(tmp_path / "kto.jsonl", rows)
    store = open_review(data, 1.0)
    assert len(store.items()) == 4
    t_items = [i for i, _, p in store.items() if p]
    f_items = [i for i, _, p in store.items() if not p]
    # machine/reviewer: (T,T) (T,F) (F,F) (F,F): po 0.75, pe 0.5*0.25 + 0.5*0.75 = 0.5 -> kappa 0.5
    store.record("alice", t_items[0], verdict="agree")
    store.record("alice", t_items[1], verdict="disagree")
    store.record("alice", f_items[0], verdict="agree")
    store.record("alice", f_items[1], verdict="agree")
    # bob: agree, disagree, disagree, disagree on the same items -> alice vs bob pairs
    # (T,T) (F,F) (T,F) (T,F): po 0.5, pa 0.75, pb 0.25, pe 0.375 -> kappa 0.2
    store.record("bob", t_items[0], verdict="agree")
    store.record("bob", t_items[1], verdict="disagree")
    store.record("bob", f_items[0], verdict="disagree")
    store.record("bob", f_items[1], verdict="disagree")
    store.close()
    alice = review_report(data, reviewer="alice")
    mk = alice["kappa"]["machine"]
    assert mk["kappa"] == pytest.approx(0.5) and mk["raw_agreement"] == pytest.approx(0.75)
    assert (mk["prevalence_machine"], mk["prevalence_reviewer"]) == (0.5, 0.25)
    both = review_report(data)
    (rk,) = both["kappa"]["reviewers"]
    assert rk["reviewers"] == ["alice", "bob"] and rk["n"] == 4
    assert rk["kappa"] == pytest.approx(0.2) and rk["raw_agreement"] == pytest.approx(0.5)
    # per item, the majority of the two: agree, disagree, split, split
    assert both["verdicts"] == {"agree": 1, "disagree": 1, "unsure": 0, "split": 2, "unreviewed": 0}


def test_report_cli_text_json_and_gate_exit_codes(tmp_path, capsys):
    data, store = _review(tmp_path, dpo_rows(20), 1.0)
    for item_id, _, _ in store.items():
        store.record("alice", item_id, verdict="agree")
    store.close()
    r = run_cli(capsys, "review", "report", data)
    assert r.code == 0, r.err
    assert "disagreement with the judge: 0.0%" in r.out and "PASS" in r.out and "kappa not shown" in r.out
    r = run_cli(capsys, "review", "report", data, "--json")
    import orjson

    rep = orjson.loads(r.out)
    assert rep["verdicts"]["agree"] == 20 and rep["gate"]["review_disagreement"]["passed"] is True
    store = open_review(data, None)
    for item_id, _, _ in store.items()[:2]:
        store.record("bob", item_id, verdict="disagree")
    store.close()
    r = run_cli(capsys, "review", "report", data, "--reviewer", "bob")
    assert r.code == 1 and "FAIL" in r.out


def test_report_without_review_or_after_data_changed_is_a_clear_error(tmp_path, capsys):
    data = write_rows(tmp_path / "pairs.jsonl", dpo_rows(5))
    r = run_cli(capsys, "review", "report", data)
    assert r.code == 2 and "no review yet" in r.err and "--sample 0.05" in r.err
    with pytest.raises(AlignforgeError, match="no review yet"):
        review_figures(data)
    open_review(data, 1.0).close()
    write_rows(data, dpo_rows(6))
    r = run_cli(capsys, "review", "report", data)
    assert r.code == 2 and "changed since its review sample was drawn" in r.err
