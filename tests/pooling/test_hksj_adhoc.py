"""Tests the ad hoc ("modified") Hartung-Knapp-Sidik-Jonkman adjustment, max(1, q) (Röver, Knapp & Friede
2015, BMC Med Res Methodol 15:99; R meta's adhoc.hakn.ci = "se"; meta-analysis.md §6), against
numbers worked by hand: the SE is √(max(1, q)/Σw*) with t(k − 1), q = Σw*(θ_i − θ)²/(k − 1)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    cumulative,
    generic_effects,
    leave_one_out,
    meta_analysis,
    pool,
    pool_many,
    resolve_settings,
    subgroup_analysis,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"

#: t(2) two-sided 95% quantile, from a printed table (Student's t, 2 df, 0.975): 4.303.
T2 = 4.302653

#: Three close estimates, within-study variances 1/100, 1/50, 1/66.67: w = 100, 50, 200/3 (τ² = 0, as
#: Q = 0.0138 < k − 1), so Σw = 650/3, θ = (10 + 6 + 22/3)/Σw = 7/65 and Q = 0.0138, q = Q/2 = 0.0069 < 1.
CLOSE_YI, CLOSE_VI = [0.10, 0.12, 0.11], [0.01, 0.02, 0.015]


def _bcg_rows() -> list[dict[str, object]]:
    return json.loads((FIXTURES / "bcg_RR_DL.json").read_text(encoding="utf-8"))["input"]["studies"]


def test_bcg_reml_q_above_one_gives_plain_hksj() -> None:
    """dat.bcg, REML: q = 1.0113 > 1, so max(1, q) = q and the ad hoc interval is HKSJ's, SE 0.1808,
    CI [−1.1084, −0.3206] (meta-analysis.md §12)."""
    plain = meta_analysis(_bcg_rows(), measure="RR")  # cochrane2025: REML + HKSJ
    adhoc = meta_analysis(_bcg_rows(), measure="RR", hksj_adhoc=True)
    w = 1 / (np.asarray(adhoc.effects.vi) + adhoc.tau2)
    q = float(np.sum(w * (np.asarray(adhoc.effects.yi) - adhoc.estimate) ** 2)) / (adhoc.k - 1)
    assert q == pytest.approx(1.0113, abs=5e-5)
    assert adhoc.hksj and adhoc.hksj_adhoc and not plain.hksj_adhoc
    assert adhoc.se == pytest.approx(0.1808, abs=5e-5) and adhoc.se == plain.se
    assert (adhoc.ci_lower, adhoc.ci_upper) == (plain.ci_lower, plain.ci_upper)
    assert adhoc.ci_lower == pytest.approx(-1.1084, abs=5e-5) and adhoc.ci_upper == pytest.approx(-0.3206, abs=5e-5)
    assert adhoc.test_df == 12 and adhoc.warnings == ()
    data = adhoc.to_dict()
    assert data["hksj"] is True and data["hksj_adhoc"] is True
    assert plain.to_dict()["hksj_adhoc"] is False


@pytest.mark.parametrize(("estimator", "flavour"), [("DL", "metafor"), ("REML", "cochrane2025")])
def test_q_below_one_takes_the_plain_se_with_t(estimator: str, flavour: str) -> None:
    """q = 0.0069 < 1: plain HKSJ's SE √(q/Σw) = 0.0057 would make the interval 12 times narrower than the
    plain SE's; the ad hoc one is 1/√Σw = √(3/650) = 0.0679 with t(2): [7/65 ∓ 4.3027·0.0679] = [−0.1846, 0.4000]."""
    effects = generic_effects(["a", "b", "c"], CLOSE_YI, vi=CLOSE_VI)
    res = pool(effects, estimator=estimator, hksj=True, hksj_adhoc=True, flavour=flavour)
    plain = pool(effects, estimator=estimator, hksj=True, flavour=flavour)
    sum_w, est = 650 / 3, 7 / 65
    q = (100 * (0.10 - est) ** 2 + 50 * (0.12 - est) ** 2 + 200 / 3 * (0.11 - est) ** 2) / 2
    assert q == pytest.approx(0.006923, abs=5e-7) and res.tau2 == 0.0
    assert res.estimate == pytest.approx(est, rel=1e-12)
    assert res.se == pytest.approx(math.sqrt(1 / sum_w), rel=1e-12) and res.se == pytest.approx(0.067937, abs=5e-7)
    assert plain.se == pytest.approx(math.sqrt(q / sum_w), rel=1e-9)
    assert res.ci_lower == pytest.approx(est - T2 * math.sqrt(3 / 650), abs=1e-6)
    assert res.ci_upper == pytest.approx(est + T2 * math.sqrt(3 / 650), abs=1e-6)
    assert (round(res.ci_lower, 4), round(res.ci_upper, 4)) == (-0.1846, 0.4)
    assert res.test_df == 2 and res.statistic == pytest.approx(est / math.sqrt(3 / 650), rel=1e-12)
    assert plain.ci_upper - plain.ci_lower < res.ci_upper - res.ci_lower
    assert res.hksj_adhoc and res.warnings == ()


def test_metafor_prediction_interval_takes_the_ad_hoc_se() -> None:
    """metafor's predict() under test="adhoc" takes the summary's (ad hoc) SE with t(k − 1): τ² = 0 here, so
    the prediction interval is the CI."""
    res = pool(generic_effects(["a", "b", "c"], CLOSE_YI, vi=CLOSE_VI), estimator="DL", hksj=True,
               hksj_adhoc=True, flavour="metafor")
    assert res.pi_method == "t(k-1)"
    assert res.pi_lower == pytest.approx(res.ci_lower) and res.pi_upper == pytest.approx(res.ci_upper)


IDENTICAL = [{"study": s, "events_treat": 10, "n_treat": 100, "events_ctrl": 20, "n_ctrl": 100} for s in "ABC"]


def test_identical_estimates_give_a_real_interval_and_no_zero_width_warning() -> None:
    """Every log RR is log 0.5 with v = 1/10 − 1/100 + 1/20 − 1/100 = 0.13: q = 0, max(1, 0) = 1, so the SE
    is √(0.13/3) = 0.2082 and the CI log 0.5 ± 4.3027·0.2082 = [−1.5888, 0.2025], t = −3.33 on 2 df."""
    res = meta_analysis(IDENTICAL, measure="RR", hksj_adhoc=True)  # cochrane2025: REML + HKSJ
    se = math.sqrt(0.13 / 3)
    assert res.hksj_adhoc and res.tau2 == 0.0
    assert res.se == pytest.approx(se, rel=1e-12) and res.se > 0
    assert res.ci_lower == pytest.approx(math.log(0.5) - T2 * se, abs=1e-6)
    assert res.ci_upper == pytest.approx(math.log(0.5) + T2 * se, abs=1e-6)
    assert res.statistic == pytest.approx(math.log(0.5) / se) and 0.07 < res.p < 0.09
    assert not any("standard error is 0" in w for w in res.warnings)
    assert json.loads(json.dumps(res.to_dict(), allow_nan=False))["p"] is not None


def test_the_zero_width_warning_of_plain_hksj_names_the_ad_hoc_setting() -> None:
    """Plain HKSJ on identical estimates still warns of its zero-width interval, naming the setting that fixes it."""
    warning = next(w for w in meta_analysis(IDENTICAL, measure="RR").warnings if "standard error is 0" in w)
    assert "hksj_adhoc = true" in warning and "--hksj-adhoc" in warning and "max(1, q)" in warning


@pytest.mark.parametrize(("model", "hksj", "says"), [
    ("fixed", True, "HKSJ (and its ad hoc variant) applies to random-effects models only; ignored"),
    ("fixed", False, "modifies HKSJ, but a fixed-effect model has no HKSJ; ignored"),
    ("random", False, "modifies HKSJ, but HKSJ is off; ignored"),
])
def test_ad_hoc_without_hksj_is_ignored_with_a_note(model: str, hksj: bool, says: str) -> None:
    """In pool() the ad hoc variant without HKSJ has nothing to modify: ignored, and said, as HKSJ under a
    fixed-effect model is; the result says it was not used, and the SE is the z-based one."""
    effects = generic_effects(["a", "b", "c"], CLOSE_YI, vi=CLOSE_VI)
    res = pool(effects, model=model, estimator="DL" if model == "random" else None, hksj=hksj, hksj_adhoc=True)
    assert not res.hksj and not res.hksj_adhoc and res.test_df is None
    assert any(says in w for w in res.warnings), res.warnings


def test_settings_carry_it_to_subgroups_and_refits() -> None:
    """resolve_settings keeps it (no flavour turns it on); subgroups, leave-one-out and cumulative refits,
    given the settings' keyword arguments, all apply it: each refit of close estimates (q < 1, τ² = 0) has
    the plain SE 1/√Σw with t(k − 1)."""
    assert resolve_settings("MD").hksj_adhoc is False
    settings = resolve_settings("MD", tau2="DL", hksj_adhoc=True)
    assert settings.pool_kwargs()["hksj_adhoc"] is True
    yi, vi = [0.10, 0.12, 0.11, 0.13], [0.01, 0.02, 0.015, 0.012]
    effects = generic_effects(list("abcd"), yi, vi=vi, subgroups=["x", "x", "y", "y"])
    kwargs = settings.pool_kwargs()
    steps = leave_one_out(effects, **kwargs).results
    for omitted, step in enumerate(steps):
        w = np.array([1 / v for i, v in enumerate(vi) if i != omitted])
        assert step.tau2 == 0.0 and step.test_df == 2
        assert step.se == pytest.approx(math.sqrt(1 / w.sum()), rel=1e-12)
        assert step.ci_upper - step.estimate == pytest.approx(T2 * step.se, abs=1e-6)
    for step in cumulative(effects, **kwargs).results[1:]:
        assert step.se == pytest.approx(math.sqrt(1 / np.sum(1 / np.asarray(vi[: step.k]))), rel=1e-12)
    sub = subgroup_analysis(effects, **kwargs)
    assert all(r.hksj_adhoc for r in (*sub.results, sub.overall))
    assert sub.to_dict()["overall"]["hksj_adhoc"] is True


def test_pool_many_matches_pool_under_hksj_and_its_ad_hoc_variant() -> None:
    """The vectorised path gives each row's Hartung-Knapp SE as pool() does, plain and ad hoc (rows with
    q < 1 among them), with t on k − 1 df; the ad hoc variant without HKSJ is refused (a batch has no notes)."""
    rng = np.random.default_rng(2015)
    vi = rng.uniform(0.01, 0.2, size=(40, 6))
    yi = rng.normal(0.2, np.sqrt(vi + rng.choice([0.0, 0.1], size=(40, 1))))
    labels = [f"s{j}" for j in range(6)]
    at_plain_se = 0  # rows where q < 1 made the ad hoc SE the plain 1/√Σw*
    for adhoc in (False, True):
        out = pool_many(yi, vi, "DL", hksj=True, hksj_adhoc=adhoc)
        assert out.test_df == 5
        for i in range(len(yi)):
            one = pool(generic_effects(labels, yi[i], vi=vi[i]), estimator="DL", hksj=True, hksj_adhoc=adhoc)
            assert out.se[i] == pytest.approx(one.se, rel=1e-9)
            if adhoc and one.se == pytest.approx(math.sqrt(1 / np.sum(1 / (vi[i] + one.tau2))), rel=1e-12):
                at_plain_se += 1
    assert at_plain_se > 0  # the max(1, q) branch is exercised
    assert pool_many(yi, vi, "DL").test_df is None
    with pytest.raises(ReviewkitError, match="pass hksj=True"):
        pool_many(yi, vi, "DL", hksj_adhoc=True)
