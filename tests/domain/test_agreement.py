"""Tests Cohen's kappa, its CI and percentage agreement against hand and published figures."""

from __future__ import annotations

import math

import pytest

from reviewkit.domain.agreement import cohen_kappa, kappa_from_table


def _pairs(table: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    return [pair for pair, count in table.items() for _ in range(count)]


def test_hand_computed_binary_example() -> None:
    """A 2x2 screening example worked by hand gives kappa 7/12 (0.583) and 80% agreement.

    Rater A (rows) x rater B (columns), 50 records:
                 B include  B exclude
    A include        15          5      (20)
    A exclude         5         25      (30)
                    (20)       (30)
    p_o = (15 + 25) / 50 = 0.80
    p_e = 0.4 * 0.4 + 0.6 * 0.6 = 0.52
    kappa = (0.80 - 0.52) / (1 - 0.52) = 0.28 / 0.48 = 0.58333...
    """
    result = cohen_kappa(_pairs({("include", "include"): 15, ("include", "exclude"): 5,
                                 ("exclude", "include"): 5, ("exclude", "exclude"): 25}))
    assert result.n == 50
    assert result.percent_agreement == pytest.approx(0.80)
    assert result.expected_agreement == pytest.approx(0.52)
    assert result.kappa == pytest.approx(0.28 / 0.48)
    assert result.table == ((15, 5), (5, 25))
    assert result.kappa_ci_lower < result.kappa < result.kappa_ci_upper


def test_published_stata_kapci_example() -> None:
    """Reproduces kappa, SE and 95% CI that Stata's kap/kapci printed for a 1,932-record 2x2 table.

    Statalist, Dec 2009 ("st: kappa agreement standard errors", msg00320): table
    [[1395, 118], [261, 158]] gives kappa = .3411969, kapci analytic SE = .0262914 with
    CI .2896668 to .3927271 (Fleiss, Cohen & Everitt 1969 non-null SE, as Reichenheim 2004,
    Stata Journal 4:421, implements) and kap's SE = .0220367 (the SE under kappa = 0).
    """
    result = kappa_from_table([[1395, 118], [261, 158]])
    assert result.kappa == pytest.approx(0.3411969207847029, abs=1e-12)
    assert result.kappa_se == pytest.approx(0.0262913719660408, abs=1e-9)
    assert result.kappa_ci_lower == pytest.approx(0.2896667786271169, abs=1e-8)
    assert result.kappa_ci_upper == pytest.approx(0.3927270629422889, abs=1e-8)
    assert result.kappa_se_null == pytest.approx(0.0220367175735475, abs=1e-9)
    assert result.percent_agreement == pytest.approx(0.8038302277432712)
    assert result.expected_agreement == pytest.approx(0.7022330671398995)


def test_maybe_collapses_into_include_by_default() -> None:
    """A 'maybe' counts as 'include' by default, so include/maybe pairs agree."""
    pairs = [("include", "maybe"), ("maybe", "include"), ("exclude", "exclude"),
             ("exclude", "maybe")]
    result = cohen_kappa(pairs)
    assert result.categories == ("include", "exclude")
    assert result.table == ((2, 0), (1, 1))
    assert result.percent_agreement == pytest.approx(0.75)


def test_maybe_as_its_own_category() -> None:
    """With collapse_maybe=False a 3x3 table is built and include/maybe is a disagreement.

    Pairs: (include, include) x3, (maybe, maybe) x2, (exclude, exclude) x3, (include, maybe) x2.
    p_o = 8/10; row totals A: include 5, exclude 3, maybe 2; columns B: include 3, exclude 3,
    maybe 4; p_e = (5*3 + 3*3 + 2*4) / 100 = 0.32; kappa = (0.8 - 0.32) / 0.68 = 0.70588...
    """
    pairs = ([("include", "include")] * 3 + [("maybe", "maybe")] * 2
             + [("exclude", "exclude")] * 3 + [("include", "maybe")] * 2)
    result = cohen_kappa(pairs, collapse_maybe=False)
    assert result.categories == ("include", "exclude", "maybe")
    assert result.table == ((3, 0, 2), (0, 3, 0), (0, 0, 2))
    assert result.kappa == pytest.approx(0.48 / 0.68)
    collapsed = cohen_kappa(pairs)
    assert collapsed.kappa == pytest.approx(1.0)


def test_all_agree_on_one_category_is_undefined_not_nan() -> None:
    """When both raters exclude everything, kappa is None with a reason, never NaN."""
    result = cohen_kappa([("exclude", "exclude")] * 12)
    assert result.kappa is None
    assert result.kappa_ci_lower is None and result.kappa_ci_upper is None
    assert result.percent_agreement == 1.0
    assert "exclude" in result.reason
    assert result.n == 12


def test_no_pairs() -> None:
    """No paired decisions: n = 0 and nothing is computed."""
    result = cohen_kappa([])
    assert result.n == 0 and result.kappa is None and result.percent_agreement is None
    assert result.reason


def test_perfect_agreement_on_two_categories() -> None:
    """Perfect agreement over both categories gives kappa 1; its SE is 0, so the CI is not estimable
    (None), not the zero-width "1.0 to 1.0" it was."""
    result = cohen_kappa([("include", "include")] * 4 + [("exclude", "exclude")] * 6)
    assert result.kappa == pytest.approx(1.0)
    assert result.kappa_se == 0.0
    assert result.kappa_ci_lower is None and result.kappa_ci_upper is None


@pytest.mark.parametrize(
    ("table", "kappa"),
    [
        ([[5, 3], [0, 0]], 0.0),  # rater A included everything; B split
        ([[5, 0], [2, 0]], 0.0),  # rater B included everything (the SE came out 2e-8 by rounding)
        ([[0, 5], [5, 0]], -1.0),  # complete disagreement
        ([[2, 0, 0], [0, 3, 0], [0, 0, 1]], 1.0),  # perfect on three categories (SE 1e-8 by rounding)
    ],
)
def test_a_degenerate_se_gives_no_ci_but_keeps_kappa(table: list[list[int]], kappa: float) -> None:
    """Where the large-sample SE is 0 the CI is None (not estimable), never a zero-width interval."""
    result = kappa_from_table(table)
    assert result.kappa == pytest.approx(kappa)
    assert result.kappa_se == 0.0
    assert result.kappa_ci_lower is None and result.kappa_ci_upper is None
    assert result.reason == ""


def test_ci_is_clipped_to_minus_one_one() -> None:
    """Strong disagreement (kappa -0.8, SE 0.186) gives a CI clipped at -1."""
    result = kappa_from_table([[0, 5], [4, 1]])
    assert result.kappa == pytest.approx(-0.8)
    assert result.kappa_ci_lower == -1.0
    assert -1.0 <= result.kappa_ci_lower <= result.kappa_ci_upper <= 1.0  # type: ignore[operator]
    assert not any(math.isnan(x) for x in (result.kappa, result.kappa_ci_lower))  # type: ignore[arg-type]


def test_unknown_decision_is_rejected() -> None:
    """A decision other than include/exclude/maybe raises ValueError naming it."""
    with pytest.raises(ValueError, match="perhaps"):
        cohen_kappa([("include", "perhaps")])


@pytest.mark.parametrize(
    ("table", "kappa"),
    [
        # A full-text pair where rater B included all 30 reports: p_o = p_e = 6/30, so kappa is 0 by
        # algebra; in proportions it came out -6.9e-17, which the CLI printed as "-0.000".
        ([[6, 0, 0], [23, 0, 0], [1, 0, 0]], 0.0),
        # Perfect agreement over three categories: p_o = 1, so kappa is 1; it came out 0.9999999999999998.
        ([[1, 0, 0], [0, 4, 0], [0, 0, 1]], 1.0),
    ],
)
def test_kappa_is_exact_where_it_is_a_whole_number(table: list[list[int]], kappa: float) -> None:
    """Kappa of 0 or 1 is exactly that, not rounding noise either side (JSON prints the float as is)."""
    result = kappa_from_table(table)
    assert result.kappa == kappa
    assert math.copysign(1.0, result.kappa) == 1.0  # type: ignore[arg-type]  # not -0.0 either
    assert f"{result.kappa:.3f}" == f"{kappa:.3f}"


def test_three_category_se_is_the_large_sample_one() -> None:
    """A 3x3 table (the full-text path: include, exclude, maybe), 100 records:
    [[75, 1, 4], [5, 4, 1], [0, 0, 10]]. p_o = 89/100, p_e = .80*.80 + .10*.05 + .10*.15 = 33/50, kappa = 23/34.

    Its large-sample (delta-method) variance, worked in exact fractions from the gradient of kappa in the
    cell proportions, dk/dp_ij = ([i = j] - (1 - kappa)(p_.i + p_j.)) / (1 - p_e), is
    (sum p_ij g_ij^2 - (sum p_ij g_ij)^2) / n = 256971/33408400: SE 0.0877030, where Cohen's (1960)
    simpler sqrt(p_o (1 - p_o) / n) / (1 - p_e) gives 0.0920264.
    """
    result = kappa_from_table([[75, 1, 4], [5, 4, 1], [0, 0, 10]])
    assert result.kappa == pytest.approx(23 / 34, abs=1e-15)
    assert result.kappa_se == pytest.approx(math.sqrt(256971 / 33408400), abs=1e-12)
    assert result.kappa_ci_lower == pytest.approx(23 / 34 - 1.959963984540054 * math.sqrt(256971 / 33408400))
