"""``alignforge review report``: how often people disagree with the judge / verifier / decontaminator.

Per stratum: disagreement = disagree / (agree + disagree) with a Wilson 95 % interval; "unsure" is
left out of the rate but counted. The overall figure weights each stratum's rate by its share of
the whole file (not of the sample). With several reviewers an item's verdict is the majority of
their agree / disagree votes (a tie is counted apart as "split"). Kappa is shown only beside raw
agreement and prevalence, and not at all where it cannot mean anything.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

from alignforge.review._kinds import AGREE_MEANS
from alignforge.review.stats import Stratum, cohen_kappa, needed_sample, stratified, wilson
from alignforge.review.store import ReviewStore

__all__ = ["review_report", "review_figures", "format_report", "MAX_DISAGREEMENT", "NEEDED"]

MAX_DISAGREEMENT = 0.05  # the seed: "adjust the generator if disagreement > 5 %"
NEEDED = needed_sample(0.05, 0.03)  # 203: ±3 points at ~5 % disagreement
_MACHINE = {
    "dpo": "judge",
    "kto": "label",
    "sft": "judge",
    "verdict": "verifier",
    "decontam": "decontaminator",
}


def _consensus(votes: list[str]) -> str:
    c = Counter(votes)
    if c["agree"] > c["disagree"]:
        return "agree"
    if c["disagree"] > c["agree"]:
        return "disagree"
    return "split" if c["agree"] else "unsure"


def _rate(agree: int, disagree: int) -> dict[str, Any]:
    n = agree + disagree
    ci = wilson(disagree, n)
    return {
        "decided": n,
        "disagreement": disagree / n if n else None,
        "ci95": list(ci) if ci else None,
        "below_needed": n < NEEDED,
    }


def review_report(
    data: str | os.PathLike[str],
    *,
    reviewer: str | None = None,
    max_disagreement: float = MAX_DISAGREEMENT,
) -> dict[str, Any]:
    """Every figure of the review of ``data`` (its ``DATA.review.sqlite``), as a JSON-ready dict."""
    store = ReviewStore(data)
    try:
        if not store.has_sample:
            from alignforge.errors import AlignforgeError

            raise AlignforgeError(
                f"{store.path}: holds no sample: run `alignforge review {data} --sample 0.05`"
            )
        store.check_data()
        return _build(store, reviewer=reviewer, max_disagreement=max_disagreement)
    finally:
        store.close()


def _build(store: ReviewStore, *, reviewer: str | None, max_disagreement: float) -> dict[str, Any]:
    kind = store.meta["kind"]
    items = store.items()
    strata_info = store.strata()
    votes: dict[str, dict[str, str]] = defaultdict(dict)  # item -> reviewer -> verdict
    notes = 0
    reviewers: Counter[str] = Counter()
    for who, item_id, verdict, note in store.verdicts(reviewer):
        notes += bool(note)
        if verdict is not None:
            votes[item_id][who] = verdict
            reviewers[who] += 1
    per: dict[str, Counter[str]] = {k: Counter() for k in strata_info}
    machine_pairs: list[tuple[bool, bool]] = []
    totals: Counter[str] = Counter()
    for item_id, stratum, positive in items:
        v = _consensus(list(votes[item_id].values())) if item_id in votes else "unreviewed"
        per[stratum][v] += 1
        totals[v] += 1
        if v in ("agree", "disagree"):
            machine_pairs.append((positive, positive if v == "agree" else not positive))
    strata = []
    for key, info in sorted(strata_info.items(), key=lambda kv: -kv[1]["population"]):
        c = per[key]
        strata.append(
            {
                "stratum": key,
                "fields": info["fields"],
                "population": info["population"],
                "share_of_file": info["population"] / store.meta["rows"],
                "sampled": info["sampled"],
                **{v: c[v] for v in ("agree", "disagree", "unsure", "split", "unreviewed")},
                **_rate(c["agree"], c["disagree"]),
            }
        )
    by_field: dict[str, list[dict[str, Any]]] = {}
    for name in store.meta["by"]:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for s in strata:
            value = s["fields"].get(name, "-")
            for v in ("population", "sampled", "agree", "disagree", "unsure", "split"):
                groups[value][v] += s[v]
        if len(groups) > 1 or "-" not in groups:
            by_field[name] = [
                {"value": value, **dict(c), **_rate(c["agree"], c["disagree"])}
                for value, c in sorted(groups.items(), key=lambda kv: -kv[1]["population"])
            ]
    overall = stratified([Stratum(s["population"], s["disagree"], s["decided"]) for s in strata])
    decided = totals["agree"] + totals["disagree"]
    value = overall["value"]
    gate_passed = value is not None and value <= max_disagreement
    return {
        "data": store.meta["data"],
        "sha256": store.meta["sha256"],
        "kind": kind,
        "agree_means": AGREE_MEANS[kind],
        "machine": _MACHINE[kind],
        "rows_in_file": store.meta["rows"],
        "sample": {
            "items": len(items),
            "fraction_asked": store.meta["fraction"],
            "fraction_drawn": len(items) / store.meta["rows"],
            "seed": store.meta["seed"],
            "by": store.meta["by"],
            "strata": len(strata),
        },
        "reviewers": dict(sorted(reviewers.items())),
        "only_reviewer": reviewer,
        "verdicts": {v: totals[v] for v in ("agree", "disagree", "unsure", "split", "unreviewed")},
        "notes": notes,
        "overall": {
            "disagreement": value,
            "ci95": None if value is None else [overall["low"], overall["high"]],
            "weighting": "each stratum's share of the whole file",
            "covered_share_of_file": overall["covered"],
            "decided": decided,
            "raw_disagreement": totals["disagree"] / decided if decided else None,
        },
        "needed_per_stratum": NEEDED,
        "sample_size_note": _size_note(decided, strata),
        "strata": strata,
        "by_field": by_field,
        "kappa": {"machine": _machine_kappa(kind, machine_pairs), "reviewers": _reviewer_kappas(votes)},
        "gate": {
            "review_disagreement": {
                "value": value,
                "max": max_disagreement,
                "passed": gate_passed,
                "note": None
                if value is not None
                else "not measured (no agree/disagree verdict yet): fails closed",
            }
        },
        "passed": gate_passed,
    }


def _size_note(decided: int, strata: list[dict[str, Any]]) -> str | None:
    short = sum(1 for s in strata if s["decided"] < NEEDED)
    if not short and decided >= NEEDED:
        return None
    return (
        f"±3 points at ~5 % disagreement needs about {NEEDED} decided items (z²·p(1-p)/e²); "
        f"{decided} overall, and {short} of {len(strata)} strata have fewer: their intervals are wider"
    )


def _machine_kappa(kind: str, pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Kappa between the machine's label and the reviewer's label (the machine's if agree, else the other)."""
    k = cohen_kappa(pairs)
    out: dict[str, Any] = {
        "n": k.n,
        "raw_agreement": k.raw_agreement,
        "prevalence_machine": k.prevalence_a,
        "prevalence_reviewer": k.prevalence_b,
        "kappa": k.value,
        "why_not": k.why_undefined,
    }
    if k.n and k.prevalence_a in (0.0, 1.0):
        out["kappa"] = None
        out["why_not"] = (
            f"the {_MACHINE[kind]} gives every reviewed item the same label"
            + (" ('chosen better')" if kind == "dpo" else " ('contaminated')" if kind == "decontam" else "")
            + ": chance agreement equals the agreement itself, so kappa is 0 or undefined whatever the "
            "reviewer says; read the raw agreement"
        )
    return out


def _reviewer_kappas(votes: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    names = sorted({who for v in votes.values() for who in v})
    out = []
    for a, b in combinations(names, 2):
        pairs = [
            (v[a] == "agree", v[b] == "agree")
            for v in votes.values()
            if v.get(a) in ("agree", "disagree") and v.get(b) in ("agree", "disagree")
        ]
        if not pairs:
            continue
        k = cohen_kappa(pairs)
        out.append(
            {
                "reviewers": [a, b],
                "n": k.n,
                "raw_agreement": k.raw_agreement,
                "prevalence_agree": [k.prevalence_a, k.prevalence_b],
                "kappa": k.value,
                "why_not": k.why_undefined,
            }
        )
    return out


def review_figures(data_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Figures for ``check``'s gates: ``review_disagreement`` (None when not measured) and the full report.

    Raises :class:`~alignforge.errors.AlignforgeError` when ``data_path`` has no review or changed since.
    """
    rep = review_report(data_path)
    return {
        "review_disagreement": rep["overall"]["disagreement"],
        "review_decided": rep["overall"]["decided"],
        "review_covered_share": rep["overall"]["covered_share_of_file"],
        "review": rep,
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def format_report(rep: dict[str, Any]) -> str:
    """The report as plain text for the terminal."""
    s, v, o = rep["sample"], rep["verdicts"], rep["overall"]
    lines = [
        f"review of {rep['data']} ({rep['kind']}, {rep['rows_in_file']:,} rows): {s['items']} items sampled "
        f"({_pct(s['fraction_drawn'])} drawn, {_pct(s['fraction_asked'])} asked; {s['strata']} strata by "
        f"{', '.join(s['by'])}; seed {s['seed']})",
        f"agree means: {rep['agree_means']}",
        f"reviewers: {', '.join(f'{k} ({n})' for k, n in rep['reviewers'].items()) or 'none yet'}",
        f"verdicts: {v['agree']} agree, {v['disagree']} disagree, {v['unsure']} unsure (not in the rate), "
        f"{v['split']} split between reviewers, {v['unreviewed']} not reviewed; {rep['notes']} notes",
        "",
        f"disagreement with the {rep['machine']}: {_pct(o['disagreement'])} {_ci(o['ci95'])} "
        f"(weighted by each stratum's share of the file; {_pct(o['covered_share_of_file'])} of the file covered; "
        f"raw {_pct(o['raw_disagreement'])} of {o['decided']})",
    ]
    if rep["sample_size_note"]:
        lines.append(f"sample size: {rep['sample_size_note']}")
    mk = rep["kappa"]["machine"]
    lines.append(
        f"agreement with the {rep['machine']}: raw {_pct(mk['raw_agreement'])} of {mk['n']}, prevalence "
        f"(machine positive) {_pct(mk['prevalence_machine'])}, (reviewer positive) {_pct(mk['prevalence_reviewer'])}; "
        + (f"kappa {mk['kappa']:.3f}" if mk["kappa"] is not None else f"kappa not shown: {mk['why_not']}")
    )
    for rk in rep["kappa"]["reviewers"]:
        a, b = rk["reviewers"]
        kap = f"kappa {rk['kappa']:.3f}" if rk["kappa"] is not None else f"kappa not shown: {rk['why_not']}"
        lines.append(
            f"reviewers {a} vs {b}: {rk['n']} items both decided, raw agreement {_pct(rk['raw_agreement'])}, "
            f"prevalence of 'agree' {_pct(rk['prevalence_agree'][0])} / {_pct(rk['prevalence_agree'][1])}; {kap}"
        )
    lines += [
        "",
        f"{'stratum':<48} {'rows':>8} {'sample':>6} {'a':>4} {'d':>4} {'u':>4} {'disagree':>9}  95% CI",
    ]
    for st in rep["strata"]:
        flag = f" (n<{NEEDED})" if st["below_needed"] and st["decided"] else ""
        lines.append(
            f"{st['stratum'][:48]:<48} {st['population']:>8,} {st['sampled']:>6} {st['agree']:>4} "
            f"{st['disagree']:>4} {st['unsure']:>4} {_pct(st['disagreement']):>9}  {_ci(st['ci95'])}{flag}"
        )
    g = rep["gate"]["review_disagreement"]
    lines += [
        "",
        f"gate review_disagreement <= {g['max']}: "
        + ("PASS" if g["passed"] else "FAIL")
        + (f" ({_pct(g['value'])})" if g["value"] is not None else f" ({g['note']})"),
    ]
    return "\n".join(lines)
