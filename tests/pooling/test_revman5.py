"""Reproduces RevMan 5's stored results (Fleiss 1993) and the RevMan worked examples on dat.bcg."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from reviewkit.pooling import binary_effects, continuous_effects, meta_analysis, pool

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: RevMan 5 stores 8-9 significant digits in its analysis export...
TOL_REVMAN = 1e-7
#: ...and p-values to 8 decimals, from its own chi² routine, which agrees with scipy to ~1e-7.
TOL_P = 1e-7
#: The worked examples in the design notes are given to 4 decimals.
TOL_4DP = 5e-5


def _revman_rows() -> list[dict[str, str]]:
    with (FIXTURES / "meta" / "Fleiss1993_CR.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _outcome(number: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    rows = [r for r in _revman_rows() if r["Outcome Number"] == number]
    return rows[0], rows[1:]


def _bcg() -> list[dict[str, Any]]:
    case = json.loads((FIXTURES / "metafor" / "bcg_RR_DL.json").read_text(encoding="utf-8"))
    return case["input"]["studies"]


def test_fleiss1993_mh_fixed_or_matches_revman5() -> None:
    """Aspirin after MI: MH fixed OR 0.8969 [0.8405, 0.9570], Chi² 9.946 (df 6), I² 39.67%, Z 3.288."""
    pooled, studies = _outcome("1")
    rows = [{"study": r["Name"], "events_treat": r["Events 1"], "n_treat": r["Total 1"],
             "events_ctrl": r["Events 2"], "n_ctrl": r["Total 2"]} for r in studies]
    res = meta_analysis(rows, measure="OR", method="MH", model="fixed", flavour="revman5")
    assert res.effect == pytest.approx(float(pooled["Effect Estimate"]), rel=TOL_REVMAN)
    assert res.effect_ci[0] == pytest.approx(float(pooled["CI Start"]), rel=TOL_REVMAN)
    assert res.effect_ci[1] == pytest.approx(float(pooled["CI End"]), rel=TOL_REVMAN)
    assert float(res.Q) == pytest.approx(float(pooled["Q"]), rel=TOL_REVMAN)
    assert res.Q_df == int(pooled["df"]) == 6
    assert res.Q_p == pytest.approx(float(pooled["P(Q)"]), abs=TOL_P)
    assert float(res.I2) == pytest.approx(float(pooled["I²(Q)"]), rel=TOL_REVMAN)
    assert abs(res.statistic) == pytest.approx(float(pooled["Z"]), rel=TOL_REVMAN)
    assert res.p == pytest.approx(float(pooled["P(Z)"]), abs=TOL_P)
    for got, row in zip(res.weights_percent, studies, strict=True):
        assert got == pytest.approx(float(row["Weight"]), rel=TOL_REVMAN)
    for got, row in zip(res.study_rows(), studies, strict=True):
        assert got["effect"] == pytest.approx(float(row["Effect Estimate"]), rel=TOL_REVMAN)
        assert got["ci_lower"] == pytest.approx(float(row["CI Start"]), rel=TOL_REVMAN)


def test_fleiss1993_iv_fixed_md_matches_revman5() -> None:
    """Mental health treatment: IV fixed MD −0.7094 [−1.2585, −0.1603], Chi² 5.66 (df 4), I² 29.33%."""
    pooled, studies = _outcome("2")
    res = continuous_effects(
        [r["Name"] for r in studies], *([float(r[c]) for r in studies] for c in
                                        ("Mean 1", "SD 1", "Total 1", "Mean 2", "SD 2", "Total 2")),
        measure="MD")
    out = pool(res, method="IV", model="fixed", flavour="revman5")
    assert out.estimate == pytest.approx(float(pooled["Effect Estimate"]), rel=TOL_REVMAN)
    assert out.ci_lower == pytest.approx(float(pooled["CI Start"]), rel=TOL_REVMAN)
    assert out.ci_upper == pytest.approx(float(pooled["CI End"]), rel=TOL_REVMAN)
    assert float(out.Q) == pytest.approx(float(pooled["Q"]), rel=TOL_REVMAN)
    assert float(out.I2) == pytest.approx(float(pooled["I²(Q)"]), rel=TOL_REVMAN)
    assert out.Q_p == pytest.approx(float(pooled["P(Q)"]), abs=TOL_P)
    assert out.p == pytest.approx(float(pooled["P(Z)"]), abs=TOL_P)
    assert abs(out.statistic) == pytest.approx(float(pooled["Z"]), rel=TOL_REVMAN)
    for got, row in zip(out.weights_percent, studies, strict=True):
        assert got == pytest.approx(float(row["Weight"]), rel=TOL_REVMAN)


#: The exact normal quantile z(0.975); RevMan 5's documentation and the Handbook print it as 1.96.
Z975 = 1.959963984540054


def _limits(row: dict[str, str], ratio: bool) -> tuple[float, float, float]:
    """A row's estimate and CI limits on the analysis scale (logs for the odds ratios)."""
    values = (float(row["Effect Estimate"]), float(row["CI Start"]), float(row["CI End"]))
    return (math.log(values[0]), math.log(values[1]), math.log(values[2])) if ratio else values


def _rows(studies: list[dict[str, str]], ratio: bool) -> list[dict[str, str]]:
    if ratio:
        return [{"study": r["Name"], "events_treat": r["Events 1"], "n_treat": r["Total 1"],
                 "events_ctrl": r["Events 2"], "n_ctrl": r["Total 2"]} for r in studies]
    return [{"study": r["Name"], "mean_treat": r["Mean 1"], "sd_treat": r["SD 1"], "n_treat": r["Total 1"],
             "mean_ctrl": r["Mean 2"], "sd_ctrl": r["SD 2"], "n_ctrl": r["Total 2"]} for r in studies]


@pytest.mark.parametrize(("number", "measure", "method"), [("1", "OR", "MH"), ("2", "MD", "IV")])
def test_revman5_intervals_use_the_exact_normal_quantile(number: str, measure: str, method: str) -> None:
    """RevMan 5 forms its 95% CIs with z = 1.959963984…, not the 1.96 its documentation prints.

    Its own export says so: every study's CI half-width over its SE is that z to the 8 digits
    stored, 1.8e-5 away from 1.96 (Fleiss1993.rm5, the file behind the CSV, gives it to 1e-15).
    reviewkit's revman5 flavour reproduces both limits of every study's and of the pooled CI to
    1e-7; with 1.96 the limits would be up to 9e-5 off.
    """
    pooled, studies = _outcome(number)
    ratio = measure == "OR"
    for row in studies:
        _, lo, hi = _limits(row, ratio)
        assert (hi - lo) / (2 * float(row["SE"])) == pytest.approx(Z975, rel=1e-6), row["Name"]
    res = meta_analysis(_rows(studies, ratio), measure=measure, method=method, model="fixed", flavour="revman5")
    for got, row in zip(res.study_rows(), studies, strict=True):
        assert got["ci_lower"] == pytest.approx(float(row["CI Start"]), rel=TOL_REVMAN), row["Name"]
        assert got["ci_upper"] == pytest.approx(float(row["CI End"]), rel=TOL_REVMAN), row["Name"]
    assert res.effect_ci == pytest.approx((float(pooled["CI Start"]), float(pooled["CI End"])), rel=TOL_REVMAN)


@pytest.mark.parametrize(("measure", "q_mh"), [("RR", 152.5676), ("OR", 163.9426), ("RD", 386.7759)])
def test_bcg_q_is_centred_on_the_mh_estimate(measure: str, q_mh: float) -> None:
    """RevMan centres Q on the MH estimate with IV weights (meta-analysis.md §12)."""
    res = meta_analysis(_bcg(), measure=measure, method="MH", model="fixed", flavour="revman5")
    assert float(res.Q) == pytest.approx(q_mh, abs=TOL_4DP)


def test_bcg_mh_rd_greenland_robins_variance() -> None:
    """RevMan 5 and Stata metan use the Greenland-Robins RD variance: z ≈ −11.557 on dat.bcg."""
    res = meta_analysis(_bcg(), measure="RD", method="MH", model="fixed", flavour="revman5")
    assert res.statistic == pytest.approx(-11.557, abs=5e-4)
    metafor = meta_analysis(_bcg(), measure="RD", method="MH", model="fixed", flavour="metafor")
    assert metafor.statistic == pytest.approx(-11.4708, abs=5e-5)  # Sato-Greenland-Robins


def test_bcg_revman5_mh_random_rr() -> None:
    """RevMan's "M-H, Random" RR on dat.bcg: τ² 0.3095, μ −0.7142, SE 0.1789, RR 0.4896."""
    res = meta_analysis(_bcg(), measure="RR", method="MH", model="random", flavour="revman5")
    assert res.tau2 == pytest.approx(0.3095, abs=TOL_4DP)
    assert res.estimate == pytest.approx(-0.7142, abs=TOL_4DP)
    assert res.se == pytest.approx(0.1789, abs=TOL_4DP)
    assert res.effect == pytest.approx(0.4896, abs=TOL_4DP)
    assert float(res.I2) == pytest.approx(92.13, abs=5e-3)


def test_bcg_peto_q() -> None:
    """Peto OR on dat.bcg: ln OR −0.4744, Q_Peto 167.7302 (meta-analysis.md §12)."""
    res = meta_analysis(_bcg(), measure="OR", method="Peto", model="fixed", flavour="revman5")
    assert res.estimate == pytest.approx(-0.4744, abs=TOL_4DP)
    assert float(res.Q) == pytest.approx(167.7302, abs=TOL_4DP)


def test_revman_smd_worked_example() -> None:
    """RevMan's Hedges g: (10, 2, 25) vs (8, 2.5, 25) gives g 0.8696, SE 0.2970 (metafor's SE 0.2959)."""
    args = (["s"], [10.0], [2.0], [25.0], [8.0], [2.5], [25.0])
    revman = continuous_effects(*args, measure="SMD", smd_variance="revman5")
    assert revman.yi[0] == pytest.approx(0.8696, abs=TOL_4DP)
    assert revman.vi[0] ** 0.5 == pytest.approx(0.2970, abs=TOL_4DP)
    metafor = continuous_effects(*args, measure="SMD", smd_variance="metafor")
    assert metafor.vi[0] ** 0.5 == pytest.approx(0.2959, abs=TOL_4DP)


def test_binary_zero_cell_correction_matches_revman() -> None:
    """A zero cell adds 0.5 to all four cells of that study only (RevMan, metafor to='only0')."""
    eff = binary_effects(["a", "b"], [0, 5], [10, 10], [3, 4], [10, 10], measure="OR")
    assert list(eff.corrected) == [True, False]
    assert eff.vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
