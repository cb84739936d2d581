"""Tests a zero-cell study's risk difference as RevMan 5 computes it (Deeks & Higgins 2010 §1–2; R meta
metabin with MH.exact = FALSE): the difference from the counts as entered, the 0.5 added only for its
standard error and for the Mantel-Haenszel Greenland-Robins variance; metafor's escalc corrects both.

An exploratory check found the RevMan flavours took the difference from the corrected counts (a double
zero study's RD was not 0) and left the 0.5 out of the MH variance (so studies without events gave a
pooled SE of 0 and a test of nan)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reviewkit.pooling import meta_analysis

ROWS = [("A", 0, 20, 5, 20), ("B", 3, 30, 8, 30), ("C", 2, 25, 6, 25), ("D", 10, 50, 15, 50), ("E", 0, 15, 0, 30)]
NO_EVENTS = [("A", 0, 10, 0, 10), ("B", 0, 20, 0, 25)]


def rows(data: list[tuple[str, int, int, int, int]]) -> list[dict[str, object]]:
    return [dict(zip(("study", "events_treat", "n_treat", "events_ctrl", "n_ctrl"), r, strict=True)) for r in data]


def corrected(data: list[tuple[str, int, int, int, int]]) -> np.ndarray:
    """a, n1, c, n2 with 0.5 added to each cell of a study with a zero cell."""
    out = []
    for _, a, n1, c, n2 in data:
        add = 0.5 if 0 in (a, n1 - a, c, n2 - c) else 0.0
        out.append((a + add, n1 + 2 * add, c + add, n2 + 2 * add))
    return np.array(out, dtype=float)


@pytest.mark.parametrize("flavour", ["revman5", "cochrane2025"])
def test_the_revman_flavours_take_the_difference_from_the_counts_as_entered(flavour: str) -> None:
    result = meta_analysis(rows(ROWS), measure="RD", method="IV", model="fixed", flavour=flavour)
    raw = np.array([a / n1 - c / n2 for _, a, n1, c, n2 in ROWS])
    ca, cn1, cc, cn2 = corrected(ROWS).T
    var = (ca / cn1) * (1 - ca / cn1) / cn1 + (cc / cn2) * (1 - cc / cn2) / cn2
    np.testing.assert_allclose(result.effects.yi, raw, rtol=1e-12, atol=1e-15)
    assert result.effects.yi[4] == 0.0  # the double-zero study: no difference
    np.testing.assert_allclose(result.effects.vi, var, rtol=1e-12)
    assert result.estimate == pytest.approx(np.sum(raw / var) / np.sum(1 / var), rel=1e-12)


def test_metafor_takes_the_difference_from_the_corrected_counts() -> None:
    result = meta_analysis(rows(ROWS), measure="RD", method="IV", model="fixed", flavour="metafor")
    ca, cn1, cc, cn2 = corrected(ROWS).T
    np.testing.assert_allclose(result.effects.yi, ca / cn1 - cc / cn2, rtol=1e-12)


@pytest.mark.parametrize("data", [ROWS, NO_EVENTS])
def test_the_revman_mh_variance_takes_the_correction_and_the_estimate_does_not(
        data: list[tuple[str, int, int, int, int]]) -> None:
    """Greenland-Robins: Var = Σ(a b n2³ + c d n1³)/(n1 n2 N²) / (Σ n1 n2/N)², its sum over the corrected
    counts and its weights n1 n2/N over the counts as entered."""
    result = meta_analysis(rows(data), measure="RD", method="MH", model="fixed", flavour="revman5")
    a, n1, c, n2 = np.array([r[1:] for r in data], dtype=float).T
    w = n1 * n2 / (n1 + n2)
    ca, cn1, cc, cn2 = corrected(data).T
    cb, cd, cnn = cn1 - ca, cn2 - cc, cn1 + cn2
    j = np.sum((ca * cb * cn2**3 + cc * cd * cn1**3) / (cn1 * cn2 * cnn**2))
    assert result.estimate == pytest.approx(np.sum(w * (a / n1 - c / n2)) / w.sum(), abs=1e-15)
    assert result.se == pytest.approx(math.sqrt(j) / w.sum(), rel=1e-12)
    assert result.se > 0 and math.isfinite(result.p)


def test_a_pooled_se_of_zero_is_said_not_passed_as_precision() -> None:
    """metafor's Sato variance of an MH RD with no events anywhere is 0: the result says so."""
    result = meta_analysis(rows(NO_EVENTS), measure="RD", method="MH", model="fixed", flavour="metafor")
    assert result.se == 0
    assert any("standard error is 0" in w for w in result.warnings)


def test_no_test_is_worded_as_not_applicable_not_nan() -> None:
    """"Test for overall effect: Z = nan (P = nan)" beside the note that the test is undefined."""
    from reviewkit.pooling.wording import format_p, overall_effect_text

    result = meta_analysis(rows(NO_EVENTS), measure="RD", method="MH", model="fixed", flavour="metafor")
    assert overall_effect_text(result) == "Test for overall effect: Not applicable"
    assert format_p(result.p) == "P not applicable"
