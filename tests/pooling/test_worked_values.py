"""Tests the worked values of the meta-analysis reference (meta-analysis.md §12, dat.bcg log RR) that other
tests leave out: the t(k−2) prediction interval, with and without HKSJ; the fixed-effect subgroup test; and
metafor's Mantel-Haenszel risk difference, whose Q leaves out studies without events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reviewkit.pooling import (
    binary_effects,
    effects_from_rows,
    meta_analysis,
    pool,
    subgroup_analysis,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _bcg_rows() -> list[dict[str, object]]:
    return json.loads((FIXTURES / "bcg_RR_DL.json").read_text(encoding="utf-8"))["input"]["studies"]


@pytest.mark.parametrize("hksj", [False, True])
@pytest.mark.parametrize(("tau2", "lower", "upper"), [("REML", -2.0084, 0.5793), ("DL", -1.9988, 0.5706)])
def test_the_t_k_minus_2_prediction_interval_is_the_published_one_with_or_without_hksj(
        hksj: bool, tau2: str, lower: float, upper: float) -> None:
    """θ ± t₁₁·√(τ² + SE²) with SE = 1/√Σw* (Higgins et al. 2009): REML [−2.0084, 0.5793], DL [−1.9988, 0.5706].
    HKSJ widens the summary's CI, not the prediction interval: Cochrane's defaults (REML + HKSJ) give the
    same interval as REML alone, not one built from the Hartung-Knapp SE."""
    res = meta_analysis(_bcg_rows(), measure="RR", model="random", tau2=tau2, hksj=hksj, flavour="cochrane2025")
    assert res.pi_method == "t(k-2)"
    assert res.pi_lower == pytest.approx(lower, abs=5e-5)
    assert res.pi_upper == pytest.approx(upper, abs=5e-5)


def test_metafor_s_prediction_interval_under_knha_uses_the_hartung_knapp_se_with_k_minus_1_df() -> None:
    """metafor's predict() after test="knha": the Hartung-Knapp SE (0.1808 on REML) with t(k−1), so its
    interval is wider than the plain SE's with t(12) would be."""
    res = meta_analysis(_bcg_rows(), measure="RR", model="random", tau2="REML", hksj=True, flavour="metafor")
    assert res.pi_method == "t(k-1)" and res.se == pytest.approx(0.1808, abs=5e-5)
    from scipy import stats
    half = stats.t.ppf(0.975, 12) * np.sqrt(res.se**2 + res.tau2)
    assert res.pi_lower == pytest.approx(res.estimate - half, rel=1e-12)


def test_fixed_effect_subgroup_difference_is_q_total_minus_the_within_subgroup_qs() -> None:
    """Subgroups by allocation, FE IV: random −0.2945 (0.0546), alternate −0.7186 (0.0780), systematic
    −0.4133 (0.0953); Q_between 19.8654 on 2 df, which is 152.2330 − ΣQ_within exactly."""
    effects = effects_from_rows(_bcg_rows(), "RR", use_subgroups=True)
    sub = subgroup_analysis(effects, method="IV", model="fixed", flavour="metafor")
    got = {n: (r.estimate, r.se, r.Q) for n, r in zip(sub.names, sub.results, strict=True)}
    for name, (est, se, q) in {"random": (-0.2945, 0.0546, 110.2133), "alternate": (-0.7186, 0.0780, 5.5625),
                               "systematic": (-0.4133, 0.0953, 16.5919)}.items():
        assert got[name] == pytest.approx((est, se, q), abs=5e-5)
    assert sub.Q_between == pytest.approx(19.8654, abs=5e-5) and sub.Q_between_df == 2
    assert sub.Q_between == pytest.approx(sub.overall.Q - sum(r.Q for r in sub.results), rel=1e-10)
    assert sub.I2_between == pytest.approx(89.9, abs=0.05)


# A study (the fourth) without events in either arm, pooled as a Mantel-Haenszel risk difference.
A, N1 = [0, 3, 10, 0, 7, 2, 5], [20, 30, 50, 15, 40, 25, 60]
C, N2 = [2, 0, 12, 0, 9, 5, 4], [22, 28, 49, 16, 41, 24, 30]


def test_metafor_s_mh_risk_difference_leaves_a_double_zero_out_of_q_but_not_out_of_the_estimate() -> None:
    """metafor rma.mh (drop00): the double zero's outcome is NA, so Q sums over the other six (df 5), while the
    MH estimate −0.0371828 (SE 0.0318152, Sato) still weighs its table; RevMan 5 keeps it in Q (df 6). The
    estimate equals Σ(a·n2 − c·n1)/N over Σ n1·n2/N of all seven tables, computed here from the counts."""
    labels = [f"s{i}" for i in range(7)]
    effects = binary_effects(labels, A, N1, C, N2, measure="RD", rd_estimate="metafor")
    res = pool(effects, method="MH", model="fixed", flavour="metafor")
    a, n1, c, n2 = (np.array(x, dtype=float) for x in (A, N1, C, N2))
    nn = n1 + n2
    mh = np.sum((a * n2 - c * n1) / nn) / np.sum(n1 * n2 / nn)
    assert res.estimate == pytest.approx(mh, rel=1e-12) and res.estimate == pytest.approx(-0.0371828, abs=5e-8)
    assert res.se == pytest.approx(0.0318152, abs=5e-8)
    yi, vi = np.array(effects.yi), np.array(effects.vi)
    kept = np.arange(7) != 3
    q, i2 = res.Q, res.I2
    assert q is not None and q == pytest.approx(float(np.sum((yi[kept] - mh) ** 2 / vi[kept])), rel=1e-12)
    assert res.Q_df == 5 and q == pytest.approx(5.94744, abs=5e-6)
    assert i2 == pytest.approx(100 * (q - 5) / q, rel=1e-12)
    assert any("left out of Q" in w for w in res.warnings)
    revman = pool(binary_effects(labels, A, N1, C, N2, measure="RD"), method="MH", model="fixed", flavour="revman5")
    assert revman.Q_df == 6 and not any("left out of Q" in w for w in revman.warnings)


def test_identical_estimates_under_cochrane2025_warn_of_a_zero_width_ci_but_not_of_the_prediction_interval() -> None:
    """Every study at 0.2: HKSJ's SE is 0, so the CI is [0.2, 0.2] and said to be uninformative; the t(k−2)
    prediction interval, built from the plain SE, keeps its width and is not said to have none."""
    from reviewkit.pooling import generic_effects

    res = pool(generic_effects(["a", "b", "c", "d"], [0.2] * 4, vi=[0.1, 0.15, 0.2, 0.12]), hksj=True,
               flavour="cochrane2025")
    assert res.ci_lower == res.ci_upper == pytest.approx(0.2)
    assert res.pi_lower is not None and res.pi_upper is not None and res.pi_upper - res.pi_lower > 1
    (note,) = [w for w in res.warnings if "zero width" in w]
    assert "the confidence interval has zero width" in note and "prediction" not in note
