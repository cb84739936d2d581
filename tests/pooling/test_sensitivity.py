"""Tests leave-one-out and cumulative analyses: each step is the model refitted on that subset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reviewkit.pooling import cumulative, effects_from_rows, leave_one_out, pool

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"
FIELDS = ("k", "estimate", "se", "ci_lower", "ci_upper", "statistic", "p", "Q", "I2", "tau2",
          "tau2_ci_lower", "tau2_ci_upper", "pi_lower", "pi_upper", "warnings")


def _bcg():
    case = json.loads((FIXTURES / "bcg_RR_DL.json").read_text(encoding="utf-8"))
    return effects_from_rows(case["input"]["studies"], "RR", smd_variance="revman5")


@pytest.mark.parametrize("settings", [
    {"model": "random", "estimator": "REML", "hksj": True, "flavour": "cochrane2025"},
    {"model": "random", "estimator": "DL", "flavour": "metafor"},
    {"method": "MH", "model": "fixed", "estimator": None, "flavour": "revman5"},
])
def test_each_step_equals_pooling_that_subset(settings: dict[str, object]) -> None:
    """Every leave-one-out and cumulative step carries exactly the numbers of pool() on its subset."""
    eff = _bcg()
    loo = leave_one_out(eff, **settings)
    for i, step in enumerate(loo.results):
        mask = np.ones(13, dtype=bool)
        mask[i] = False
        ref = pool(eff.subset(mask), **settings)
        assert [getattr(step, f) for f in FIELDS] == [getattr(ref, f) for f in FIELDS]
        assert step.effect == ref.effect and step.effect_ci == ref.effect_ci
    cum = cumulative(eff, **settings)
    for n, step in enumerate(cum.results, start=1):
        ref = pool(eff.subset(np.arange(13) < n), **settings)
        assert step.estimate == ref.estimate and step.se == ref.se and step.tau2 == ref.tau2


def test_cumulative_first_step_lists_i2_as_zero() -> None:
    """metafor's cumul() gives I² = 0 for the one-study first step; to_dict() does the same (Q stays None)."""
    d = cumulative(_bcg(), model="random", estimator="DL", flavour="metafor").to_dict()
    assert d["I2"][0] == 0.0 and d["tau2"][0] == 0.0 and d["Q"][0] is None
    assert d["I2"][1] is not None
