"""Tests the tau² estimators' defining equations, the Q-profile CI and the zeroin root finder."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from reviewkit.pooling.estimators import (
    cross_weights,
    estimate_tau2,
    q_generalised,
    tau2_dl,
    tau2_ml,
    tau2_qprofile_ci,
    tau2_qprofile_interval,
    tau2_reml,
)
from reviewkit.pooling.rootfind import zeroin

#: dat.bcg log risk ratios (metafor escalc), the usual first worked example.
YI = np.array([-0.889311333920205, -1.58538865720143, -1.34807314829969, -1.44155119002131,
               -0.217547322211296, -0.786115585818864, -1.62089822359839, 0.0119523335238405,
               -0.469417648738149, -1.37134480347278, -0.339358828338391, 0.445913400571379,
               -0.0173139482168798])
VI = np.array([0.325584765003961, 0.194581121398144, 0.415367965367965, 0.0200100319022476,
               0.0512101721696309, 0.00690561845590876, 0.223017247572315, 0.00396157929781773,
               0.056434210463249, 0.0730247936130289, 0.0124122139715597, 0.532505845200153,
               0.0714046596839863])


def test_dl_matches_published_value() -> None:
    """DerSimonian-Laird τ² on dat.bcg is 0.3088 (Viechtbauer 2010)."""
    assert tau2_dl(YI, VI) == pytest.approx(0.308760262862376, rel=1e-12)


def test_exact_reml_solves_the_score_equation() -> None:
    """The exact REML τ² makes the REML score Σw²r² − tr(P) zero (0.3132 on dat.bcg)."""
    t = estimate_tau2(YI, VI, "REML")
    w = 1 / (VI + t)
    mu = np.sum(w * YI) / np.sum(w)
    score = np.sum(w**2 * (YI - mu) ** 2) - (np.sum(w) - np.sum(w**2) / np.sum(w))
    assert abs(score) < 1e-9
    assert t == pytest.approx(0.3132, abs=5e-5)


def test_exact_pm_and_eb_solve_q_equals_df() -> None:
    """Paule-Mandel (and empirical Bayes, the same root) make Q_gen(τ²) = k − 1."""
    for est in ("PM", "EB"):
        t = estimate_tau2(YI, VI, est)
        assert q_generalised(t, YI, VI) == pytest.approx(len(YI) - 1, abs=1e-9)


def test_estimators_truncate_at_zero() -> None:
    """Homogeneous data give τ² = 0 for every estimator."""
    yi = np.array([0.1, 0.1, 0.1, 0.1])
    vi = np.array([0.1, 0.2, 0.3, 0.4])
    for est in ("DL", "REML", "PM", "ML", "HE", "SJ", "EB"):
        for solver in ("exact", "metafor"):
            assert estimate_tau2(yi, vi, est, solver) == 0.0


def test_qprofile_bounds_solve_the_chi2_equations() -> None:
    """The exact Q-profile bounds make Q_gen equal the χ²(12) 97.5% and 2.5% quantiles."""
    lo, hi = tau2_qprofile_ci(YI, VI)
    assert q_generalised(lo, YI, VI) == pytest.approx(stats.chi2.ppf(0.975, 12), abs=1e-9)
    assert q_generalised(hi, YI, VI) == pytest.approx(stats.chi2.ppf(0.025, 12), abs=1e-9)


def test_zeroin_finds_a_root_within_tolerance() -> None:
    """Brent's zeroin finds √2 on [0, 2] to within its tolerance."""
    root = zeroin(lambda x: x * x - 2, 0.0, 2.0, tol=1e-12)
    assert root == pytest.approx(math.sqrt(2), abs=1e-12)


def test_zeroin_refuses_an_unbracketed_interval() -> None:
    """Same signs at both ends cannot bracket a root."""
    with pytest.raises(ValueError):
        zeroin(lambda x: x * x + 1, 0.0, 2.0)


#: Two studies whose Q-profile upper limit lies beyond metafor's tau2.max = 100 (pool-report item 3).
K2_YI = np.array([-0.2175, -0.7861])
K2_VI = np.array([0.0512, 0.0069])


def _k2_exact_upper() -> float:
    """The τ² where Q_gen(τ²) = χ²₁(0.025), solved here with scipy on a wide bracket."""
    return float(optimize.brentq(lambda t: q_generalised(t, K2_YI, K2_VI) - stats.chi2.ppf(0.025, 1),
                                 0.0, 1e6, xtol=1e-12, rtol=1e-14))


def test_exact_qprofile_finds_an_upper_limit_beyond_100() -> None:
    """The exact solver widens its bracket to the root (164.5754), and flags nothing."""
    exact = _k2_exact_upper()
    assert exact == pytest.approx(164.5754, abs=5e-5)
    ci = tau2_qprofile_interval(K2_YI, K2_VI)
    assert ci.upper == pytest.approx(exact, rel=1e-10)
    assert not ci.upper_beyond and not ci.lower_beyond and ci.search_max is None


def test_metafor_qprofile_reports_tau2_max_and_flags_it() -> None:
    """As metafor confint(): the upper limit beyond tau2.max = 100 is given as 100 and marked (">100")."""
    ci = tau2_qprofile_interval(K2_YI, K2_VI, solver="metafor", tau2=tau2_dl(K2_YI, K2_VI))
    assert ci.upper == 100.0 and ci.upper_beyond and ci.search_max == 100.0
    assert not ci.lower_beyond and 0 < ci.lower < 100
    assert tau2_qprofile_ci(K2_YI, K2_VI, solver="metafor") == (ci.lower, 100.0)
    # bcg's limits lie well inside the range: nothing is flagged
    assert not tau2_qprofile_interval(YI, VI, solver="metafor", tau2=tau2_dl(YI, VI)).upper_beyond


# --- REML and ML take the highest peak of the likelihood -------------------------------------------------

#: Within-study variances four orders of magnitude apart give the likelihood of τ² two peaks; the root
#: of the score nearest the DL start (τ² ≈ 0.011) is the lower one (found by an exploratory check).
TWO_PEAKS = (np.array([-0.2004, -6.5455, -0.049, 2.0632]),
             np.array([0.0004515674178552008, 2.509592532519027, 0.0027178306895579867, 7.170748325881868]))
#: The ML score is negative at 0 and yet rises to an interior maximum (τ² = 0 was returned).
INTERIOR_AFTER_NEGATIVE_START = (np.array([0.1, 5.0, 0.3, 0.2]), np.array([1e-6, 10.0, 1e-3, 100.0]))


def _log_lik(t: float, yi: np.ndarray, vi: np.ndarray, restricted: bool) -> float:
    """The (restricted) log-likelihood written out independently of the estimator's own."""
    w = 1 / (vi + t)
    mu = np.sum(w * yi) / np.sum(w)
    ll = -0.5 * np.sum(np.log(vi + t)) - 0.5 * np.sum(w * (yi - mu) ** 2)
    return float(ll - 0.5 * np.log(np.sum(w)) if restricted else ll)


#: One study's variance 1e-12, the other's 1e6: the scan's grid once cancelled every digit of the score
#: and handed brentq a bracket of one sign (a traceback from `reviewkit meta`).
VARIANCES_18_DECADES_APART = (np.array([-0.5386928958466366, -2.516759710820513]), np.array([1e-12, 1e6]))


@pytest.mark.parametrize("data", [TWO_PEAKS, INTERIOR_AFTER_NEGATIVE_START, VARIANCES_18_DECADES_APART])
@pytest.mark.parametrize("restricted", [True, False])
def test_reml_and_ml_return_the_highest_peak_of_the_likelihood(
        data: tuple[np.ndarray, np.ndarray], restricted: bool) -> None:
    """No point of a fine grid over τ² ∈ [0, 1000] has a higher likelihood than the estimate."""
    yi, vi = data
    estimate = (tau2_reml if restricted else tau2_ml)(yi, vi)
    grid = np.concatenate(([0.0], np.geomspace(1e-9, 1e3, 20001)))
    best = max(_log_lik(t, yi, vi, restricted) for t in grid)
    assert _log_lik(estimate, yi, vi, restricted) >= best - 1e-9



@pytest.mark.parametrize("kind", ["REML", "ML"])
def test_metafor_scoring_refuses_an_overflowing_step_instead_of_looping(kind: str) -> None:
    """Estimates ~1e90 apart make the weights underflow and the Fisher-scoring step -inf, which the
    step-halving loop never brought above 0 (it hung): now refused in words."""
    from reviewkit.errors import ReviewkitError
    from reviewkit.pooling.estimators import _metafor_scoring

    yi = np.array([1e90, -0.5e90, 2e90, 0.0])
    vi = np.array([1.0, 2.0, 0.5, 1.0])
    with pytest.raises(ReviewkitError, match=f"the {kind} estimate of tau² cannot be computed"):
        _metafor_scoring(yi, vi, kind)


def test_dl_keeps_its_denominator_when_one_weight_dwarfs_the_others() -> None:
    """Σw − Σw²/Σw taken by subtraction cancelled every digit when one variance was 1e-60 beside 1e60:
    DL divided by 0 (tau² inf, numpy warnings). The denominator is (Σw)² − Σw² over Σw, which for two
    studies is 2·w₁w₂/(w₁ + w₂): here 2e-60, and Q − df is then measured against it."""
    vi = np.array([1e-60, 1e60, 0.04])
    w = 1 / vi
    assert cross_weights(w) == pytest.approx(2 * (w[0] * w[1] + w[0] * w[2] + w[1] * w[2]), rel=1e-12)
    tau2 = tau2_dl(np.array([0.1, 0.5, 0.3]), vi)
    assert math.isfinite(tau2) and tau2 == 0.0  # Q (about 1, from the third study alone) is below its df (2)
    # ordinary weights: the same number as the textbook subtraction, to rounding
    ordinary = np.array([0.0512, 0.0069, 0.031, 0.12])
    wo = 1 / ordinary
    assert cross_weights(wo) == pytest.approx(np.sum(wo) ** 2 - np.sum(wo**2), rel=1e-13)
