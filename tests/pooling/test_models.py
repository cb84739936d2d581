"""Tests pooling edge cases and settings: one study, no events, flavours, solvers, JSON safety."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    binary_effects,
    generic_effects,
    meta_analysis,
    pool,
    resolve_settings,
)
from reviewkit.pooling.estimators import q_generalised, typical_variance

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _bcg_rows() -> list[dict[str, object]]:
    return json.loads((FIXTURES / "bcg_RR_DL.json").read_text(encoding="utf-8"))["input"]["studies"]


def test_single_study_gives_its_own_estimate_and_no_heterogeneity() -> None:
    """k = 1: the pooled estimate is the study's; τ² = 0; Q, I², H² and the PI are None, never NaN."""
    eff = generic_effects(["only"], [0.3], vi=[0.04])
    res = pool(eff, model="random", estimator="REML", hksj=True, flavour="cochrane2025")
    assert res.estimate == pytest.approx(0.3)
    assert res.se == pytest.approx(0.2)
    assert res.tau2 == 0.0
    assert res.Q is None and res.I2 is None and res.H2 is None and res.Q_p is None
    assert res.pi_lower is None and res.pi_upper is None
    assert not res.hksj and res.warnings  # HKSJ needs k ≥ 2: reported, z used
    text = json.dumps(res.to_dict(), allow_nan=False)
    assert "NaN" not in text


def test_all_studies_without_events_is_an_error() -> None:
    """When every study has no events in either arm, RR cannot be pooled: a clear error."""
    eff = binary_effects(["a", "b"], [0, 0], [10, 12], [0, 0], [11, 12], measure="RR")
    with pytest.raises(ReviewkitError, match="no study can be pooled for RR"):
        pool(eff, method="MH", model="fixed")


def test_peto_is_fixed_effect_only() -> None:
    """The Peto method with a random-effects model is refused, naming the fix."""
    eff = binary_effects(["a", "b"], [1, 2], [10, 12], [3, 4], [11, 12], measure="OR")
    with pytest.raises(ReviewkitError, match="fixed-effect only"):
        pool(eff, method="Peto", model="random", estimator="DL")


def test_mh_needs_binary_data() -> None:
    """Mantel-Haenszel on generic estimates is refused."""
    with pytest.raises(ReviewkitError, match="method MH needs binary data"):
        pool(generic_effects(["a", "b"], [0.1, 0.2], vi=[0.1, 0.1]), method="MH", model="fixed")


def test_cochrane2025_defaults() -> None:
    """A new analysis follows Cochrane's current advice: random, REML, HKSJ, t(k−2) prediction interval."""
    s = resolve_settings("RR")
    assert (s.model, s.method, s.estimator, s.hksj, s.flavour.name) == ("random", "IV", "REML", True, "cochrane2025")
    res = meta_analysis(_bcg_rows(), measure="RR")
    assert res.test_df == 12
    assert res.pi_method == "t(k-2)"
    # Worked example (meta-analysis.md §12): HKSJ on REML CI [−1.1084, −0.3206], p = 0.0019
    assert res.ci_lower == pytest.approx(-1.1084, abs=5e-5)
    assert res.ci_upper == pytest.approx(-0.3206, abs=5e-5)
    assert res.p == pytest.approx(0.0019, abs=5e-5)


def test_revman5_defaults_are_mh_dl() -> None:
    """RevMan 5's defaults for dichotomous data: M-H, random effects, DL."""
    s = resolve_settings("OR", flavour="revman5")
    assert (s.method, s.model, s.estimator, s.hksj) == ("MH", "random", "DL", False)


def test_exact_and_metafor_solvers_agree_closely() -> None:
    """Solving REML exactly differs from metafor's 1e-5 stopping rule only in the 5th digit."""
    rows = _bcg_rows()
    exact = meta_analysis(rows, measure="RD", model="random", tau2="REML", hksj=False, flavour="cochrane2025")
    metafor = meta_analysis(rows, measure="RD", model="random", tau2="REML", flavour="metafor")
    assert exact.tau2 == pytest.approx(metafor.tau2, rel=1e-3)
    assert exact.tau2 != metafor.tau2


def test_prediction_interval_needs_three_studies_under_t_k_minus_2() -> None:
    """With k = 2 a t(k−2) prediction interval has 0 df: reported as None."""
    eff = generic_effects(["a", "b"], [0.1, 0.5], vi=[0.01, 0.02])
    res = pool(eff, model="random", estimator="DL", flavour="cochrane2025")
    assert res.pi_lower is None and res.pi_method == "t(k-2)"


def test_back_transformed_effect_and_conf_int() -> None:
    """effect/effect_ci exponentiate ratio measures; conf_int() recomputes at another level."""
    res = meta_analysis(_bcg_rows(), measure="RR", model="random", tau2="DL", hksj=False, flavour="metafor")
    assert res.effect == pytest.approx(math.exp(res.estimate))
    lo, hi = res.conf_int(0.95)
    assert lo == pytest.approx(res.ci_lower) and hi == pytest.approx(res.ci_upper)
    lo90, hi90 = res.conf_int(0.90)
    assert lo < lo90 < hi90 < hi
    d = res.to_dict()
    assert d["effect_ci_lower"] == pytest.approx(math.exp(d["ci_lower"]))


def test_fixed_model_reports_q_based_i2() -> None:
    """A fixed-effect model has τ² = 0, I² = (Q − df)/Q and no prediction interval."""
    res = meta_analysis(_bcg_rows(), measure="RR", method="IV", model="fixed", flavour="metafor")
    assert res.tau2 == 0.0
    assert float(res.I2) == pytest.approx(100 * (res.Q - 12) / res.Q)
    assert res.pi_lower is None


def test_unknown_settings_are_refused() -> None:
    """Unknown measure, estimator or flavour names raise errors listing the valid ones."""
    with pytest.raises(ReviewkitError, match="unknown measure"):
        resolve_settings("HR")
    with pytest.raises(ReviewkitError, match="unknown flavour"):
        resolve_settings("RR", flavour="stata")
    with pytest.raises(ReviewkitError, match="unknown tau² estimator"):
        meta_analysis(_bcg_rows(), measure="RR", model="random", tau2="XX")


def test_mh_zero_cell_correction_follows_the_flavour() -> None:
    """RevMan adds 0.5 to zero-cell studies in the MH sums too; metafor's rma.mh uses the raw counts."""
    eff = binary_effects(["a", "b"], [0, 6], [20, 25], [4, 9], [21, 24], measure="OR")
    revman = pool(eff, method="MH", model="fixed", flavour="revman5")
    metafor = pool(eff, method="MH", model="fixed", flavour="metafor")
    # raw: R = Σ a d / N, S = Σ b c / N
    r_raw = 0 * 17 / 41 + 6 * 15 / 49
    s_raw = 20 * 4 / 41 + 19 * 9 / 49
    assert metafor.estimate == pytest.approx(math.log(r_raw / s_raw))
    r_cor = 0.5 * 17.5 / 43 + 6 * 15 / 49  # N grows by 2 (0.5 in each of 4 cells)
    s_cor = 20.5 * 4.5 / 43 + 19 * 9 / 49
    assert revman.estimate == pytest.approx(math.log(r_cor / s_cor))


def test_duplicate_study_labels_keep_their_own_weights() -> None:
    """Two experiments with the same label (raudenbush1985 has two "Pellegrini & Hicks 1972") keep their own rows."""
    case = json.loads((FIXTURES / "raudenbush1985_GIV_DL.json").read_text(encoding="utf-8"))
    res = meta_analysis(case["input"]["studies"], measure="generic", model="random", tau2="DL", flavour="metafor")
    rows = [r for r in res.study_rows() if r["study"] == "Pellegrini & Hicks 1972"]
    assert len(rows) == 2
    assert [r["weight_percent"] for r in rows] == pytest.approx(case["expected"]["weights_percent"][3:5], rel=1e-9)


def test_cumulative_order_and_subset_origin() -> None:
    """cumulative(order=...) adds studies in that order; subsets remember each study's input position."""
    from reviewkit.pooling import cumulative, effects_from_rows

    eff = effects_from_rows(_bcg_rows(), "RR")
    res = cumulative(eff, order=[12, 11, 10], model="fixed", estimator=None)
    assert res.labels == ("Comstock et al 1976", "Comstock & Webster 1969", "Comstock et al 1974")
    assert res.results[0].estimate == pytest.approx(float(eff.yi[12]))
    assert res.results[0].I2 is None  # one study: heterogeneity undefined...
    assert res.to_dict()["I2"][0] == 0.0  # ...but listed as 0, as metafor's cumul() does
    assert eff.subset(np.array([i in (3, 7) for i in range(13)])).origin == (3, 7)


def _k2() -> list[dict[str, object]]:
    return [{"study": "A", "yi": -0.2175, "vi": 0.0512}, {"study": "B", "yi": -0.7861, "vi": 0.0069}]


@pytest.mark.parametrize("flavour", ["metafor", "revman5"])
def test_tau2_ci_cut_at_tau2_max_is_flagged_and_warned(flavour: str) -> None:
    """metafor's number (100) is kept, but the result says the limit lies beyond it, for τ² and I²."""
    res = meta_analysis(_k2(), measure="generic", tau2="DL", flavour=flavour)
    assert res.tau2_ci_upper == 100.0 and res.tau2_ci_upper_beyond and not res.tau2_ci_lower_beyond
    s2 = typical_variance(np.array([0.0512, 0.0069]))
    assert res.I2_ci_upper == pytest.approx(100 * 100 / (100 + s2), rel=1e-12)
    assert any("beyond the search bound 100" in w and ">100" in w for w in res.warnings)
    d = res.to_dict()
    assert d["tau2_ci_upper_beyond"] is True and d["tau2_ci_lower_beyond"] is False


def test_tau2_ci_upper_limit_is_exact_without_a_cap() -> None:
    """cochrane2025 solves exactly: the upper limit is the root of Q_gen = χ²₁(0.025), no flag, no warning."""
    res = meta_analysis(_k2(), measure="generic", tau2="DL", flavour="cochrane2025")
    yi, vi = np.array([-0.2175, -0.7861]), np.array([0.0512, 0.0069])
    root = optimize.brentq(lambda t: q_generalised(t, yi, vi) - stats.chi2.ppf(0.025, 1), 0.0, 1e6, xtol=1e-12)
    assert res.tau2_ci_upper == pytest.approx(root, rel=1e-9)
    # no tau² warning; the one note is that cochrane2025's t(k − 2) prediction interval needs 3 studies
    assert not res.tau2_ci_upper_beyond and res.warnings == (
        "the prediction interval is not estimable with 2 studies (t with k − 2 df needs at least 3)",)


IDENTICAL = [{"study": s, "events_treat": 10, "n_treat": 100, "events_ctrl": 20, "n_ctrl": 100} for s in "ABC"]


def test_identical_studies_under_hksj_warn_of_a_zero_width_interval() -> None:
    """All estimates equal: the HK SE is 0, the CI has zero width, t is undefined; the numbers stay, a warning says so."""
    res = meta_analysis(IDENTICAL, measure="RR")  # cochrane2025: REML + HKSJ
    assert res.hksj and res.se == 0.0 and res.ci_lower == res.ci_upper == pytest.approx(math.log(0.5))
    assert math.isnan(res.statistic) and math.isnan(res.p)
    assert any("Hartung-Knapp standard error is 0" in w and "not informative" in w for w in res.warnings)
    # metafor (test="knha") gives the same numbers: they are not changed, only flagged
    knha = meta_analysis(IDENTICAL, measure="RR", tau2="REML", hksj=True, flavour="metafor")
    assert knha.se == 0.0 and knha.ci_lower == knha.ci_upper
    assert any("Hartung-Knapp standard error is 0" in w for w in knha.warnings)
    # without HKSJ, or with differing estimates, there is nothing to warn about
    assert meta_analysis(IDENTICAL, measure="RR", hksj=False).warnings == ()
    assert meta_analysis(_bcg_rows(), measure="RR").warnings == ()


# 0.3 − 0.1, 0.5 − 0.3 and 0.7 − 0.5 are all 0.2, but not in floating point: the HK SE is noise, not 0
NOISY_SAME = [{"study": s, "mean_treat": t, "sd_treat": 1, "n_treat": n, "mean_ctrl": c, "sd_ctrl": 1, "n_ctrl": n}
              for s, t, c, n in (("A", 0.3, 0.1, 50), ("B", 0.5, 0.3, 60), ("C", 0.7, 0.5, 40))]


def test_studies_equal_up_to_float_noise_under_hksj_read_as_identical() -> None:
    """MDs that differ only by float noise get what exactly equal ones get: the warning, an undefined t
    and p (not t = 8.6e15, p = 1e-32), and the same zero-width interval."""
    assert np.ptp([r["mean_treat"] - r["mean_ctrl"] for r in NOISY_SAME]) > 0  # the noise is there
    exact = [{**r, "mean_treat": 0.45, "mean_ctrl": 0.25} for r in NOISY_SAME]
    noisy, same = meta_analysis(NOISY_SAME, measure="MD"), meta_analysis(exact, measure="MD")
    for res in (noisy, same):
        assert res.hksj and res.se == 0.0 and res.ci_lower == res.ci_upper
        assert math.isnan(res.statistic) and math.isnan(res.p)
        assert any("Hartung-Knapp standard error is 0" in w for w in res.warnings)
    assert noisy.estimate == pytest.approx(0.2) and same.estimate == pytest.approx(0.2)
    data = json.loads(json.dumps(noisy.to_dict(), allow_nan=False))
    assert data["z"] is None and data["p"] is None
    # a real difference, however small against the SEs, is no float noise: no warning, a t test
    apart = meta_analysis([{**r, "mean_treat": r["mean_treat"] + 1e-6 * i} for i, r in enumerate(NOISY_SAME)],
                          measure="MD")
    assert apart.se > 0 and math.isfinite(apart.p) and apart.warnings == ()


def test_one_dominant_study_under_hksj_is_not_called_identical() -> None:
    """Estimates that differ only where the weight is negligible: the HK SE is tiny but real (kept, as
    √(Σw(y − μ)²/(k − 1)/Σw) gives it), and the note says why rather than that the estimates are the same."""
    yi, vi = [0.1, 0.5, 0.9], [1e-30, 1e30, 1e30]
    res = pool(generic_effects(["a", "b", "c"], yi, vi=vi), model="random", estimator="DL", hksj=True)
    w = 1 / np.array(vi)  # DL's τ² is 0 here: Q is far below its df
    hk = math.sqrt(float(np.sum(w * (np.array(yi) - 0.1) ** 2)) / 2 / float(np.sum(w)))
    assert res.tau2 == 0.0 and res.se == pytest.approx(hk, rel=1e-9) and res.se > 0
    assert math.isfinite(res.statistic)
    assert not any("same estimate" in w for w in res.warnings)
    assert any("carry almost no weight" in w and "--hksj-adhoc" in w for w in res.warnings), res.warnings
    assert pool(generic_effects(["a", "b", "c"], yi, vi=vi), model="random", estimator="DL").warnings == ()
