"""Retention with error bars: standard errors and the pooled two-proportion z-test against values
worked by hand, the worst-suite rule, and bad input."""

from __future__ import annotations

import pytest

from alignforge.errors import AlignforgeError
from alignforge.evaluate.retention import proportion_se, suite_retention, two_proportion_z


def test_standard_error_by_hand():
    # sqrt(0.6 * 0.4 / 50) = sqrt(0.0048)
    assert proportion_se(0.6, 50) == pytest.approx(0.0692820323, abs=1e-9)
    assert proportion_se(1.0, 7) == 0.0
    with pytest.raises(AlignforgeError):
        proportion_se(0.5, 0)


def test_two_proportion_z_by_hand():
    # equal n: pooled q = 0.55, var = 0.55 * 0.45 * (1/50 + 1/50) = 0.0099, z = -0.1 / 0.09949874
    z, p = two_proportion_z(0.6, 50, 0.5, 50)
    assert z == pytest.approx(-1.0050378153, abs=1e-9)
    assert p == pytest.approx(0.3148786413, abs=1e-9)
    # unequal n: q = (32 + 42) / 100 = 0.74, var = 0.74 * 0.26 * (1/40 + 1/60)
    z, p = two_proportion_z(0.8, 40, 0.7, 60)
    assert z == pytest.approx(-1.1168711866, abs=1e-9)
    assert p == pytest.approx(0.2640494060, abs=1e-9)
    # a gain has a positive z; both perfect: no difference at all
    assert two_proportion_z(0.5, 50, 0.6, 50)[0] == pytest.approx(1.0050378153, abs=1e-9)
    assert two_proportion_z(1.0, 10, 1.0, 20) == (0.0, 1.0)


def _suite(metric: str, score: float, n: int) -> dict:
    return {"metric": metric, "score": score, "se": proportion_se(score, n), "n": n}


def test_suite_retention_worst_suite_counts():
    base = {"gsm8k": _suite("accuracy", 0.6, 50), "arc_challenge": _suite("acc_norm", 0.4, 100)}
    tuned = {"gsm8k": _suite("accuracy", 0.5, 50), "arc_challenge": _suite("acc_norm", 0.42, 100)}
    r = suite_retention(base, tuned)
    assert r["worst_suite"] == "gsm8k"
    assert r["retention"] == pytest.approx(0.5 / 0.6)
    assert r["retention_mean"] == pytest.approx((0.5 / 0.6 + 0.42 / 0.4) / 2)
    g = r["suites"]["gsm8k"]
    assert g["z"] == pytest.approx(-1.0050378153, abs=1e-9) and g["p"] == pytest.approx(
        0.3148786413, abs=1e-9
    )
    assert g["baseline"] == {"metric": "accuracy", "score": 0.6, "se": pytest.approx(0.0692820323), "n": 50}
    assert g["tuned"]["score"] == 0.5 and g["ratio"] == pytest.approx(0.5 / 0.6)


def test_suite_retention_refuses_missing_or_mismatched_suites():
    base = {"gsm8k": _suite("accuracy", 0.6, 50), "mbpp": _suite("pass@1", 0.3, 20)}
    with pytest.raises(AlignforgeError, match="tuned suites lack mbpp"):
        suite_retention(base, {"gsm8k": _suite("accuracy", 0.6, 50)})
    with pytest.raises(AlignforgeError, match="baseline metric 'acc_norm' != tuned metric 'accuracy'"):
        suite_retention({"arc": _suite("acc_norm", 0.3, 5)}, {"arc": _suite("accuracy", 0.3, 5)})
    with pytest.raises(AlignforgeError, match="every baseline suite scored 0"):
        suite_retention({"arc": _suite("acc_norm", 0.0, 5)}, {"arc": _suite("acc_norm", 0.2, 5)})
