"""Tests per-study effect sizes: zero cells, left-out studies, SMD conventions, generic input, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    binary_effects,
    continuous_effects,
    effects_from_rows,
    generic_effects,
)


def test_double_zero_study_left_out_of_ratio_measures() -> None:
    """A study without events in either arm is left out of RR/OR and reported as left out."""
    for measure in ("RR", "OR"):
        eff = binary_effects(["a", "b", "c"], [0, 2, 3], [10, 10, 12], [0, 4, 5], [10, 11, 12], measure=measure)
        assert list(eff.included) == [False, True, True]
        assert math.isnan(eff.yi[0])
        assert eff.excluded[0].study == "a"
        assert "no events" in eff.excluded[0].reason


def test_double_zero_study_kept_for_risk_difference() -> None:
    """For RD the double-zero study stays in with RD = 0 and a positive corrected variance."""
    eff = binary_effects(["a", "b"], [0, 2], [10, 10], [0, 4], [10, 11], measure="RD")
    assert list(eff.included) == [True, True]
    assert eff.yi[0] == 0.0
    # 0.5 added to every cell: p = 0.5/11 in both arms
    p = 0.5 / 11
    assert eff.vi[0] == pytest.approx(2 * p * (1 - p) / 11)


def test_rr_zero_cell_adds_one_to_each_total() -> None:
    """For RR the 0.5 added to both cells of an arm grows its total by 1 (R meta RR.Cochrane)."""
    eff = binary_effects(["a"], [0], [20], [4], [20], measure="RR")
    assert eff.yi[0] == pytest.approx(math.log((0.5 / 21) / (4.5 / 21)))
    assert eff.vi[0] == pytest.approx(1 / 0.5 - 1 / 21 + 1 / 4.5 - 1 / 21)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([-1], [10], [2], [10]), "'events_treat' is negative"),
        (([11], [10], [2], [10]), "'events_treat' (11) is greater than 'n_treat' (10)"),
        (([1], [10], [12], [10]), "'events_ctrl' (12) is greater than 'n_ctrl' (10)"),
        (([0], [0], [0], [10]), "'n_treat' is 0"),
    ],
)
def test_bad_counts_name_the_study_and_column(args: tuple[list[int], ...], message: str) -> None:
    """Negative counts, events above totals and empty arms raise an error naming study and column."""
    with pytest.raises(ReviewkitError) as err:
        binary_effects(["Trial X"], *args, measure="OR")
    assert "Trial X" in str(err.value)
    assert message in str(err.value)


def test_sd_must_be_positive() -> None:
    """An SD of 0 (or below) is refused with the study and column named."""
    with pytest.raises(ReviewkitError, match=r"study 'T2': column 'sd_ctrl' must be > 0"):
        continuous_effects(["T1", "T2"], [1, 1], [1, 1], [10, 10], [0, 0], [1, 0], [10, 10], measure="MD")


def test_missing_column_in_rows_is_named() -> None:
    """Rows without a needed column raise an error naming the column."""
    with pytest.raises(ReviewkitError, match="column 'n_ctrl' is missing"):
        effects_from_rows([{"study": "a", "events_treat": 1, "n_treat": 10, "events_ctrl": 2}], "RR")


def test_non_numeric_cell_is_named() -> None:
    """A cell that is not a number names the study and the column."""
    rows = [{"study": "a", "yi": "x", "vi": 0.1}]
    with pytest.raises(ReviewkitError, match=r"study 'a': column 'yi' is not a number"):
        effects_from_rows(rows, "generic")


def test_smd_metafor_uses_exact_hedges_correction() -> None:
    """metafor's g uses the exact gamma correction J(m), not 1 − 3/(4m − 1)."""
    eff = continuous_effects(["s"], [10.0], [2.0], [5.0], [8.0], [2.0], [5.0], measure="SMD")
    d = 1.0
    m = 8
    j_exact = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    assert eff.yi[0] == pytest.approx(j_exact * d, rel=1e-12)
    assert eff.yi[0] != pytest.approx((1 - 3 / (4 * m - 1)) * d, rel=1e-6)


def test_generic_from_ratio_ci() -> None:
    """An OR with its 95% CI becomes log OR with SE = (ln U − ln L)/(2·1.959964)."""
    eff = generic_effects(["s"], [2.0], ci_lower=[1.0], ci_upper=[4.0], ratio=True)
    assert eff.yi[0] == pytest.approx(math.log(2.0))
    assert math.sqrt(eff.vi[0]) == pytest.approx(math.log(4.0) / (2 * 1.959963984540054))


def test_generic_from_se() -> None:
    """(estimate, SE) input squares the SE into a variance."""
    eff = generic_effects(["a", "b"], [0.1, 0.2], se=[0.5, 0.25])
    np.testing.assert_allclose(eff.vi, [0.25, 0.0625])


def test_generic_ci_must_be_ordered() -> None:
    """A CI whose upper bound is not above its lower bound is refused."""
    with pytest.raises(ReviewkitError, match="'ci_upper' must exceed 'ci_lower'"):
        generic_effects(["s"], [0.0], ci_lower=[1.0], ci_upper=[0.5])
