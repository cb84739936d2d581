"""Tests Egger's test against the classic Egger regression, trim-and-fill properties and funnel data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    EffectSizes,
    effects_from_rows,
    egger_test,
    funnel_data,
    generic_effects,
    pool,
    trim_and_fill,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _bcg():
    case = json.loads((FIXTURES / "bcg_RR_DL.json").read_text(encoding="utf-8"))
    return effects_from_rows(case["input"]["studies"], "RR")


def test_egger_equals_classic_regression_on_precision() -> None:
    """The WLS slope on SE equals the classic Egger intercept (y/SE on 1/SE): −2.1120, SE 1.5072, t −1.4013."""
    eff = _bcg()
    res = egger_test(eff)
    assert res.slope == pytest.approx(-2.1120, abs=5e-5)
    assert res.slope_se == pytest.approx(1.5072, abs=5e-5)
    assert res.t == pytest.approx(-1.4013, abs=5e-5)
    assert res.df == 11
    assert res.p == pytest.approx(0.1887, abs=5e-5)
    # classic form, by ordinary least squares
    se = np.sqrt(eff.vi)
    x = np.column_stack([np.ones(13), 1 / se])
    beta = np.linalg.lstsq(x, eff.yi / se, rcond=None)[0]
    assert beta[0] == pytest.approx(res.slope, rel=1e-10)


def test_egger_needs_three_studies() -> None:
    """With fewer than 3 studies the regression has no residual df: an error."""
    with pytest.raises(ReviewkitError, match="at least 3 studies"):
        egger_test(generic_effects(["a", "b"], [0.1, 0.2], vi=[0.1, 0.2]))


def test_trim_and_fill_symmetric_data_adds_nothing() -> None:
    """A symmetric funnel needs no imputed studies: k0 = 0 and the estimate is unchanged."""
    yi = [-0.2, 0.2, -0.1, 0.1, 0.0]
    vi = [0.04, 0.04, 0.01, 0.01, 0.02]
    eff = generic_effects(list("abcde"), yi, vi=vi)
    tf = trim_and_fill(eff, model="fixed", estimator=None)
    assert tf.k0 == 0
    assert tf.result.estimate == pytest.approx(pool(eff, model="fixed", estimator=None).estimate)


def test_trim_and_fill_mirrors_around_the_trimmed_estimate() -> None:
    """Imputed studies keep their partners' variances and lie on the side the funnel is missing."""
    tf = trim_and_fill(_bcg(), model="fixed", estimator=None)
    assert tf.side == "right" and tf.k0 == len(tf.filled_yi) == 4
    assert min(tf.filled_yi) > tf.result.estimate - 1  # filled on the right of the funnel


def test_funnel_data_has_one_point_per_study() -> None:
    """Funnel data carry each study's estimate and SE and the pooled centre."""
    res = pool(_bcg(), model="fixed", estimator=None)
    data = funnel_data(res)
    assert len(data.yi) == len(data.sei) == 13
    assert data.centre == res.estimate
    assert data.sei[0] == pytest.approx(np.sqrt(res.effects.vi[0]))


def test_egger_and_trim_and_fill_warn_below_ten_studies() -> None:
    """Handbook §13.3.5.4: asymmetry methods only with ≥ 10 studies. Fewer: the numbers, plus a warning."""
    few = effects_from_rows([
        {"study": "A", "events_treat": 0, "n_treat": 50, "events_ctrl": 5, "n_ctrl": 50},
        {"study": "B", "events_treat": 3, "n_treat": 40, "events_ctrl": 6, "n_ctrl": 42},
        {"study": "C", "events_treat": 10, "n_treat": 100, "events_ctrl": 12, "n_ctrl": 98},
    ], "RR")
    egger = egger_test(few)
    assert egger.k == 3 and egger.df == 1 and np.isfinite(egger.t)
    assert len(egger.warnings) == 1 and "at least 10 studies" in egger.warnings[0]
    assert egger.to_dict()["warnings"] == list(egger.warnings)
    tf = trim_and_fill(few, model="fixed", estimator=None)
    assert any("at least 10 studies" in w for w in tf.warnings)
    assert tf.to_dict()["warnings"] == list(tf.warnings)
    # dat.bcg has 13 studies: no warning
    assert egger_test(_bcg()).warnings == ()
    assert trim_and_fill(_bcg(), model="fixed", estimator=None).warnings == ()


SAME_RR = [{"study": s, "events_treat": 10, "n_treat": 100, "events_ctrl": 20, "n_ctrl": 100} for s in "ABC"]


@pytest.mark.parametrize("effects", [
    effects_from_rows(SAME_RR, "RR"),  # identical rows: XᵀWX exactly singular (numpy's LinAlgError)
    generic_effects(["A", "B", "C", "D"], [0.1, 0.3, 0.5, 0.2], se=[0.2] * 4),  # nearly: nan and a RuntimeWarning
], ids=["identical", "equal-se"])
def test_egger_and_trim_and_fill_refuse_standard_errors_that_do_not_vary(effects: EffectSizes) -> None:
    """Both regress the estimates on their SEs: with one SE for all there is no slope, said in words."""
    with np.errstate(all="raise"):  # no numpy warning on the way to the refusal
        with pytest.raises(ReviewkitError, match="Egger's test needs studies whose standard errors differ"):
            egger_test(effects)
        with pytest.raises(ReviewkitError, match="trim-and-fill needs studies whose standard errors differ"):
            trim_and_fill(effects, model="fixed", estimator=None)
    # told which side, trim-and-fill needs no regression and runs
    assert trim_and_fill(effects, side="left", model="fixed", estimator=None).k0 >= 0


def test_ten_comparisons_from_fewer_studies_still_warn() -> None:
    """The Handbook's 10 counts studies: 13 comparisons from 5 trials get the caution, naming both."""
    egger = egger_test(_bcg(), studies=5)
    assert len(egger.warnings) == 1 and "13 comparisons from 5 studies" in egger.warnings[0]
    tf = trim_and_fill(_bcg(), model="fixed", estimator=None, studies=5)
    assert any("13 comparisons from 5 studies" in w for w in tf.warnings)
    assert egger_test(_bcg(), studies=13).warnings == ()


def test_trimfill_of_generic_ratios_is_shown_as_a_ratio() -> None:
    """Hazard ratios entered as generic ratio data (logs, `meta --scale ratio`): the filled-in analysis is on the
    log scale like its input, so its effect and CI are exp() of its estimate and limits, as for RR (the BCG log
    risk ratios as generic ratio data give the RR analysis's trim-and-fill exactly, effect included)."""
    bcg = _bcg()
    inc = np.asarray(bcg.included)
    yi, vi = np.asarray(bcg.yi)[inc], np.asarray(bcg.vi)[inc]
    as_ratio = generic_effects([f"s{i}" for i in range(yi.size)], yi, vi=vi, ratio=True)
    settings = {"model": "random", "estimator": "DL", "flavour": "metafor"}
    got, want = trim_and_fill(as_ratio, **settings), trim_and_fill(bcg, **settings)
    assert got.k0 == want.k0 and got.result.estimate == pytest.approx(want.result.estimate, rel=1e-12)
    assert got.result.effect == pytest.approx(np.exp(got.result.estimate), rel=1e-12)
    assert got.to_dict()["effect_ci_lower"] == pytest.approx(np.exp(got.result.ci_lower), rel=1e-12)
    assert got.to_dict()["effect"] == pytest.approx(want.to_dict()["effect"], rel=1e-12)
