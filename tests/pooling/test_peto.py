"""Tests that a Peto analysis shows each study's Peto odds ratio, (O − E)/V with SE 1/√V."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from reviewkit.pooling import binary_effects, meta_analysis, pool

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"

#: The tester's three trials (pool-report item 1): A has no events in the experimental arm.
ROWS = [
    {"study": "A", "events_treat": 0, "n_treat": 50, "events_ctrl": 5, "n_ctrl": 50},
    {"study": "B", "events_treat": 3, "n_treat": 40, "events_ctrl": 6, "n_ctrl": 42},
    {"study": "C", "events_treat": 10, "n_treat": 100, "events_ctrl": 12, "n_ctrl": 98},
]
Z = stats.norm.ppf(0.975)


def _peto(a: float, n1: float, c: float, n2: float) -> tuple[float, float]:
    """Yusuf et al. (1985): O = a, E = n1·(a + c)/N, V = n1·n2·(a + c)·(b + d)/(N²·(N − 1))."""
    b, d = n1 - a, n2 - c
    n = n1 + n2
    o, e = a, n1 * (a + c) / n
    v = n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))
    return (o - e) / v, 1 / v


def _hand(row: dict[str, object], add: float = 0.0) -> tuple[float, float]:
    a, n1, c, n2 = (float(row[k]) for k in ("events_treat", "n_treat", "events_ctrl", "n_ctrl"))  # type: ignore[arg-type]
    return _peto(a + add, n1 + 2 * add, c + add, n2 + 2 * add)


def test_revman5_peto_rows_are_peto_odds_ratios() -> None:
    """Each study row, the JSON yi/vi and the CI are the Peto ones: A 0.124 [0.021, 0.745], B 0.504, C 0.798."""
    res = meta_analysis(ROWS, measure="OR", method="Peto", model="fixed", flavour="revman5")
    rows = res.study_rows()
    for row, got in zip(ROWS, rows, strict=True):
        y, v = _hand(row)
        assert got["yi"] == pytest.approx(y, rel=1e-12) and got["vi"] == pytest.approx(v, rel=1e-12)
        assert got["effect"] == pytest.approx(math.exp(y), rel=1e-12)
        assert got["ci_lower"] == pytest.approx(math.exp(y - Z * math.sqrt(v)), rel=1e-12)
        assert got["ci_upper"] == pytest.approx(math.exp(y + Z * math.sqrt(v)), rel=1e-12)
    # the tester's hand-computed figures, to the digits given
    assert [round(r["effect"], 3) for r in rows] == [0.124, 0.504, 0.798]
    assert (round(rows[0]["ci_lower"], 3), round(rows[0]["ci_upper"], 3)) == (0.021, 0.745)
    d = res.to_dict()
    assert d["yi"] == pytest.approx([_hand(r)[0] for r in ROWS], rel=1e-12)
    assert d["vi"] == pytest.approx([_hand(r)[1] for r in ROWS], rel=1e-12)


def test_peto_pooled_estimate_is_the_inverse_variance_mean_of_the_rows() -> None:
    """The pooled Peto log OR Σ(O−E)/ΣV is the 1/v-weighted mean of the rows shown, with their weights."""
    res = meta_analysis(ROWS, measure="OR", method="Peto", model="fixed", flavour="revman5")
    d = res.to_dict()
    w = [1 / v for v in d["vi"]]
    assert res.estimate == pytest.approx(sum(wi * y for wi, y in zip(w, d["yi"], strict=True)) / sum(w), rel=1e-12)
    assert list(res.weights_percent) == pytest.approx([100 * wi / sum(w) for wi in w], rel=1e-12)
    assert res.effect == pytest.approx(0.5409, abs=5e-5)  # the pooled Peto OR, as before


def test_metafor_flavour_adds_half_to_a_zero_cell_study_row_only() -> None:
    """metafor's rma.peto rows come from escalc("PETO"), 0.5 added to a zero-cell study; the pooled estimate is not."""
    metafor = meta_analysis(ROWS, measure="OR", method="Peto", model="fixed", flavour="metafor")
    revman = meta_analysis(ROWS, measure="OR", method="Peto", model="fixed", flavour="revman5")
    assert metafor.to_dict()["yi"] == pytest.approx([_hand(ROWS[0], 0.5)[0], _hand(ROWS[1])[0], _hand(ROWS[2])[0]],
                                                     rel=1e-12)
    assert metafor.estimate == revman.estimate


def test_peto_study_without_events_stays_out() -> None:
    """A study with no events in either arm has V = 0: "not estimable", not pooled."""
    rows = [*ROWS, {"study": "D", "events_treat": 0, "n_treat": 30, "events_ctrl": 0, "n_ctrl": 30}]
    res = meta_analysis(rows, measure="OR", method="Peto", model="fixed", flavour="revman5")
    assert res.k == 3 and res.studies == ("A", "B", "C")
    assert res.study_rows()[3]["effect"] is None
    assert [e.study for e in res.effects.excluded] == ["D"]


def test_bcg_peto_rows_pool_to_the_reference_estimate() -> None:
    """dat.bcg (no zero cells): the rows shown pool, by inverse variance, to metafor's rma.peto estimate."""
    case = json.loads((FIXTURES / "bcg_PETO_fixed.json").read_text(encoding="utf-8"))
    eff = binary_effects([r["study"] for r in case["input"]["studies"]],
                         *([r[k] for r in case["input"]["studies"]]
                           for k in ("events_treat", "n_treat", "events_ctrl", "n_ctrl")), measure="OR")
    res = pool(eff, method="Peto", model="fixed", flavour="metafor")
    d = res.to_dict()
    w = [1 / v for v in d["vi"]]
    pooled = sum(wi * y for wi, y in zip(w, d["yi"], strict=True)) / sum(w)
    assert pooled == pytest.approx(case["expected"]["estimate"], rel=1e-9)
    assert d["yi"][0] == pytest.approx(_hand(case["input"]["studies"][0])[0], rel=1e-12)


def test_forest_plot_draws_the_peto_rows(tmp_path: Path) -> None:
    """The forest plot's study A reads 0.12 [0.02, 0.74] (Peto), not the 0.5-corrected 0.08 [0.00, 1.52]."""
    from reviewkit.render.forest import forest_plot

    res = meta_analysis(ROWS, measure="OR", method="Peto", model="fixed", flavour="revman5")
    y, v = _hand(ROWS[0])
    text = (f"{math.exp(y):.2f} [{math.exp(y - Z * math.sqrt(v)):.2f}, "
            f"{math.exp(y + Z * math.sqrt(v)):.2f}]")
    svg = forest_plot(res, tmp_path / "peto.svg").read_text(encoding="utf-8")
    assert text == "0.12 [0.02, 0.74]" and text in svg
    assert "0.08 [0.00, 1.52]" not in svg
