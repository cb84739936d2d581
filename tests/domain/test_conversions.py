"""Tests for the statistic conversions against worked examples and a simulation check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reviewkit.domain import conversions as conv
from reviewkit.domain.conversions import GroupSummary
from reviewkit.errors import ReviewkitError


def test_se_to_sd() -> None:
    """SD = SE·√n."""
    res = conv.sd_from_se(1.5, 36)
    assert res.sd == pytest.approx(9.0)
    assert ("SE", 1.5) in res.inputs and "SE" in res.converted_from()


def test_ci_of_mean_small_sample_uses_t() -> None:
    """Handbook 6.5.2.2 example: n 25, CI 18–22.5 → divisor 2·t(24) = 4.128, SD 5.4508."""
    res = conv.sd_from_ci(18.0, 22.5, 25)
    assert res.distribution == "t"
    assert res.divisor == pytest.approx(2 * 2.0639, abs=1e-3)
    assert res.sd == pytest.approx(5.4508, abs=5e-4)


def test_ci_of_mean_normal_divisor() -> None:
    """With the normal divisor 3.92 the same CI gives SD 5.7398."""
    res = conv.sd_from_ci(18.0, 22.5, 25, distribution="normal")
    assert res.divisor == pytest.approx(3.92, abs=1e-3)
    assert res.sd == pytest.approx(5.7398, abs=5e-4)


def test_ci_of_mean_large_sample_defaults_to_normal() -> None:
    """From n = 60 on, "auto" uses 3.92; 90% and 99% use 3.29 and 5.15."""
    assert conv.sd_from_ci(10, 14, 100).sd == pytest.approx(10 * 4 / 3.92, rel=1e-3)
    assert conv.sd_from_ci(10, 14, 100, level=0.90).divisor == pytest.approx(3.29, abs=1e-2)
    assert conv.sd_from_ci(10, 14, 100, level=0.99).divisor == pytest.approx(5.15, abs=1e-2)


def test_ci_of_mean_at_90_and_99_percent_against_hand_computation() -> None:
    """90% CI 1.2–3.8, n 100 (≥ 60: z): z = Φ⁻¹((1 + 0.9)/2) = Φ⁻¹(0.95) = 1.6448536, so
    SD = √100 × (3.8 − 1.2)/(2 × 1.6448536) = 26/3.2897073 = 7.90344. 99% CI 4–10, n 30 (< 60: t on 29 df):
    t(0.995, 29) = 2.7563859 (tables: 2.756), SD = √30 × 6/(2 × 2.7563859) = 32.863353/5.5127718 = 5.96131.
    The record names the level, so it can be computed again, and the method says it in words."""
    ninety = conv.sd_from_ci(1.2, 3.8, 100, level=0.9)
    assert (ninety.distribution, ninety.divisor) == ("normal", pytest.approx(2 * 1.6448536, rel=1e-7))
    assert ninety.sd == pytest.approx(10 * 2.6 / (2 * 1.6448536), rel=1e-7)
    assert ninety.sd == pytest.approx(7.90344, abs=5e-6)
    assert ("level", 0.9) in ninety.inputs
    assert "90% CI of mean" in ninety.converted_from()
    small = conv.sd_from_ci(4, 10, 30, level=0.99)
    assert (small.distribution, small.divisor) == ("t", pytest.approx(2 * 2.7563859, rel=1e-7))
    assert small.sd == pytest.approx(math.sqrt(30) * 6 / (2 * 2.7563859), rel=1e-7)
    assert small.sd == pytest.approx(5.96131, abs=5e-6)
    # A level the old "{:.0%}" rounded ("98%" for 97.5%) is named as given.
    assert conv.sd_from_ci(1.2, 3.8, 100, level=0.975).method == "97.5% CI of mean"


def test_ci_of_difference() -> None:
    """Handbook 6.5.2.3: MD CI 1.2–6.4, n 25 and 22: SE = 5.2/(2·2.0141), SD = SE/√(1/25 + 1/22)."""
    res = conv.sd_from_ci_of_difference(1.2, 6.4, 25, 22)
    se = 5.2 / (2 * 2.0141)
    assert res.sd == pytest.approx(se / math.sqrt(1 / 25 + 1 / 22), rel=1e-4)
    assert res.sd == pytest.approx(4.416, abs=1e-3)


def test_t_and_p_of_difference() -> None:
    """SE = MD/t, with t recovered from a two-sided p on n1 + n2 − 2 df."""
    by_t = conv.sd_from_t_of_difference(3.8, 2.7755, 25, 22)
    by_p = conv.sd_from_p_of_difference(3.8, 0.008, 25, 22)
    assert by_t.sd == pytest.approx(by_p.sd, rel=1e-4)
    assert by_p.sd == pytest.approx(3.8 / 2.7755 / math.sqrt(1 / 25 + 1 / 22), rel=1e-4)
    assert conv.sd_from_se_of_difference(1.0, 25, 22).sd == pytest.approx(1 / math.sqrt(1 / 25 + 1 / 22))


def test_s1_min_median_max() -> None:
    """S1 (2, 10, 30; n 50): Wan mean 13, Luo mean 11.0525, ξ 4.4867, SD 6.2407."""
    luo = conv.mean_sd_from_quantiles(50, 10, minimum=2, maximum=30)
    wan = conv.mean_sd_from_quantiles(50, 10, minimum=2, maximum=30, mean_method="wan")
    assert luo.scenario == "S1"
    assert luo.mean == pytest.approx(11.0525, abs=1e-4)
    assert wan.mean == pytest.approx(13.0)
    assert conv.xi(50) == pytest.approx(4.4867, abs=1e-4)
    assert luo.sd == pytest.approx(6.2407, abs=1e-4)


def test_s2_five_numbers() -> None:
    """S2 (2, 6, 10, 16, 30; n 50): Wan mean 12, Luo 11.2447, Wan SD 6.9369, Shi SD 6.8291."""
    kw = dict(minimum=2, q1=6, q3=16, maximum=30)
    luo_shi = conv.mean_sd_from_quantiles(50, 10, **kw)
    wan_wan = conv.mean_sd_from_quantiles(50, 10, mean_method="wan", sd_method="wan", **kw)
    assert luo_shi.scenario == "S2"
    assert luo_shi.mean == pytest.approx(11.2447, abs=1e-4)
    assert luo_shi.sd == pytest.approx(6.8291, abs=1e-4)
    assert wan_wan.mean == pytest.approx(12.0)
    assert wan_wan.sd == pytest.approx(6.9369, abs=1e-4)


def test_s3_quartiles() -> None:
    """S3 (6, 10, 16; n 50): Wan mean 10.6667, Luo 10.7078, η 1.3101, SD 7.6330."""
    luo = conv.mean_sd_from_quantiles(50, 10, q1=6, q3=16)
    wan = conv.mean_sd_from_quantiles(50, 10, q1=6, q3=16, mean_method="wan")
    assert luo.mean == pytest.approx(10.7078, abs=1e-4)
    assert wan.mean == pytest.approx(10.6667, abs=1e-4)
    assert conv.eta(50) == pytest.approx(1.3101, abs=1e-4)
    assert luo.sd == pytest.approx(7.6330, abs=1e-4)
    assert conv.eta(10**6) == pytest.approx(1.349, abs=1e-3)
    assert "S3" in luo.converted_from()


@pytest.mark.parametrize("scenario", ["S1", "S2", "S3"])
@pytest.mark.parametrize("mean_method", ["luo", "wan"])
def test_estimators_unbiased_on_normal_samples(scenario: str, mean_method: str) -> None:
    """Independent check: on 2000 normal samples (n 100) mean and SD estimates average to 50 and 10."""
    rng = np.random.default_rng(2014)
    q = np.quantile(rng.normal(50, 10, size=(2000, 100)), [0, 0.25, 0.5, 0.75, 1], axis=1)
    means, sds = [], []
    for a, lo, m, hi, b in q.T:
        kw: dict[str, float] = {}
        if scenario in ("S1", "S2"):
            kw.update(minimum=a, maximum=b)
        if scenario in ("S2", "S3"):
            kw.update(q1=lo, q3=hi)
        est = conv.mean_sd_from_quantiles(100, m, mean_method=mean_method, **kw)  # type: ignore[arg-type]
        means.append(est.mean)
        sds.append(est.sd)
    assert np.mean(means) == pytest.approx(50, abs=0.1)
    assert np.mean(sds) == pytest.approx(10, rel=0.02)


def test_quantiles_out_of_order_are_refused() -> None:
    """A median below q1, or no spread given, is a ReviewkitError."""
    with pytest.raises(ReviewkitError, match="q1"):
        conv.mean_sd_from_quantiles(30, 5, q1=6, q3=9)
    with pytest.raises(ReviewkitError):
        conv.mean_sd_from_quantiles(30, 5)


def test_combine_two_then_three_groups() -> None:
    """Table 6.5.a worked example: 30 / 14.1333 / 3.3634, then 45 / 12.2222 / 4.5028."""
    a, b, c = GroupSummary(10, 11.8, 2.4, "low dose"), GroupSummary(20, 15.3, 3.2), GroupSummary(15, 8.4, 4.1)
    two = conv.combine_continuous([a, b])
    assert (two.n, two.mean, two.sd) == (30, pytest.approx(14.1333, abs=1e-4), pytest.approx(3.3634, abs=1e-4))
    three = conv.combine_continuous([a, b, c])
    assert three.n == 45
    assert three.mean == pytest.approx(12.2222, abs=1e-4)
    assert three.sd == pytest.approx(4.5028, abs=1e-4)
    assert "low dose" in three.converted_from()


def test_combine_matches_pooling_raw_data() -> None:
    """Combining summaries equals the mean and SD of the pooled raw values."""
    rng = np.random.default_rng(1)
    arms = [rng.normal(mu, s, n) for mu, s, n in ((3, 1, 12), (5, 2, 30), (4, 0.5, 7))]
    res = conv.combine_continuous([GroupSummary(len(x), x.mean(), x.std(ddof=1)) for x in arms])
    pooled = np.concatenate(arms)
    assert res.mean == pytest.approx(pooled.mean())
    assert res.sd == pytest.approx(pooled.std(ddof=1))


def test_combine_dichotomous() -> None:
    """Events and totals add up; events above total are refused."""
    res = conv.combine_dichotomous([("2 mg", 12, 100), ("4 mg", 9, 98)])
    assert (res.events, res.total) == (21, 198)
    assert "2 mg: 12/100" in res.converted_from()
    with pytest.raises(ReviewkitError, match="events"):
        conv.combine_dichotomous([(5, 4), (1, 10)])


def test_bad_inputs_are_named() -> None:
    """Non-positive SE, reversed CI and tiny samples raise ReviewkitError."""
    with pytest.raises(ReviewkitError, match="SE"):
        conv.sd_from_se(0, 10)
    with pytest.raises(ReviewkitError, match="upper"):
        conv.sd_from_ci(5, 4, 20)
    with pytest.raises(ReviewkitError):
        conv.sd_from_ci(4, 5, 1)


def test_p_of_difference_refuses_a_zero_mean_difference() -> None:
    """Handbook 6.5.2.3: SE = MD/t, t from p on n1 + n2 − 2 df. An MD of 0 would give SD 0 whatever the p (as
    MD/t does, which is refused alike); a non-zero MD keeps working: MD 2, p 0.03, n 300 and 300 →
    t(0.985, 598) = 2.175282, SE = 2/2.175282 = 0.919421, SD = SE/√(2/300) = 11.2606."""
    with pytest.raises(ReviewkitError, match="MD"):
        conv.sd_from_p_of_difference(0, 0.03, 30, 30)
    with pytest.raises(ReviewkitError, match="MD"):
        conv.sd_from_t_of_difference(0, 2.1, 30, 30)
    assert conv.sd_from_p_of_difference(2, 0.03, 300, 300).sd == pytest.approx(11.2606, abs=5e-4)
    assert conv.sd_from_p_of_difference(-2, 0.03, 300, 300).sd == pytest.approx(11.2606, abs=5e-4)


@pytest.mark.parametrize(("kwargs", "what"), [
    ({"q1": 5, "q3": 5}, "IQR"),
    ({"minimum": 5, "maximum": 5}, "range"),
    ({"minimum": 5, "q1": 5, "q3": 5, "maximum": 5}, "range"),
])
def test_quantiles_without_spread_give_no_sd(kwargs: dict[str, float], what: str) -> None:
    """Wan 2014: SD = IQR/η(n) or range/ξ(n). An IQR (S3) or range (S1, S2) of width 0 gives SD 0, which is
    no estimate and cannot be pooled: refused, naming it."""
    with pytest.raises(ReviewkitError, match=what):
        conv.mean_sd_from_quantiles(30, 5, **kwargs)  # type: ignore[arg-type]


def test_s2_with_a_zero_iqr_but_a_range_still_estimates() -> None:
    """S2 (4, 6, 6, 6, 12; n 50), Shi 2020: w = 1/(1 + 0.07·50^0.6) = 0.577385, SD = w·8/ξ(50) + 0 =
    0.577385·8/4.486658 = 1.029514: the range alone still gives a (positive) SD."""
    est = conv.mean_sd_from_quantiles(50, 6, minimum=4, q1=6, q3=6, maximum=12)
    assert est.sd == pytest.approx(1.029514, abs=5e-6)


def test_record_of_an_sd_estimated_beside_a_reported_mean_shows_no_estimated_mean() -> None:
    """Only the SD is kept when the mean is reported, so the record's text names the SD alone."""
    est = conv.mean_sd_from_quantiles(50, 10, q1=6, q3=16)
    assert est.converted_from(with_mean=False) == (
        "SD 7.633 estimated from q1 6, median 10, q3 16, n 50 (S3; Luo 2018 mean, Wan 2014 SD)")
    assert est.converted_from().startswith("mean 10.71, SD 7.633 estimated from")
