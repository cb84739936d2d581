"""Tests RevMan-style forest plots: files in each format, and the labels written into the SVG."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import effects_from_rows, meta_analysis, pool, subgroup_analysis
from reviewkit.pooling.wording import heterogeneity_text
from reviewkit.render.forest import forest_plot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _studies(name: str) -> list[dict[str, object]]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["input"]["studies"]


def test_binary_forest_svg_has_revman_text(tmp_path: Path) -> None:
    """A binary forest SVG keeps its text: study labels, counts, weights, Favours labels, heterogeneity."""
    res = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="revman5")
    out = forest_plot(res, tmp_path / "forest.svg")
    svg = out.read_text(encoding="utf-8")
    assert "Aronson 1948" in svg and "Comstock et al 1976" in svg
    assert "13598" in svg  # Hart & Sutherland's experimental total
    assert f"{res.weights_percent[0]:.1f}%" in svg
    assert "Favours [experimental]" in svg and "Favours [control]" in svg
    assert "Heterogeneity: Tau² = 0.31; Chi² = 152.57, df = 12 (P &lt; 0.00001); I² = 92%" in svg
    assert "Test for overall effect: Z = 3.99" in svg
    assert "Risk Ratio" in svg and "M-H, Random, 95% CI" in svg
    assert "0.49 [0.34, 0.70]" in svg


def test_continuous_forest_shows_means_and_sds(tmp_path: Path) -> None:
    """A continuous forest plot lists mean, SD and N per arm and uses a linear axis."""
    res = meta_analysis(_studies("normand1999_MD_DL"), measure="MD", flavour="revman5")
    svg = forest_plot(res, tmp_path / "md.svg").read_text(encoding="utf-8")
    for text in ("Edinburgh", "Mean", "SD", "Mean Difference", "IV, Random, 95% CI", "Favours [control]"):
        assert text in svg


def test_subgroup_forest_has_subtotals_and_difference_test(tmp_path: Path) -> None:
    """Subgrouped plots show each subgroup, its subtotal and heterogeneity, and the test for differences."""
    eff = effects_from_rows(_studies("bcg_RR_DL_subgroups"), "RR", use_subgroups=True)
    sg = subgroup_analysis(eff, method="IV", model="random", estimator="DL", flavour="metafor")
    svg = forest_plot(sg, tmp_path / "sg.svg", labels=("BCG", "no vaccine")).read_text(encoding="utf-8")
    for text in ("random", "alternate", "systematic", "Subtotal (95% CI)", "Total (95% CI)",
                 "Test for subgroup differences: Chi² = 1.54, df = 2 (P = 0.46)", "Favours [BCG]"):
        assert text in svg
    assert svg.count("Heterogeneity:") == 4


def test_png_and_pdf_are_written(tmp_path: Path) -> None:
    """The suffix chooses the format: PNG and PDF files start with their magic bytes."""
    res = meta_analysis(_studies("hine1989_RD_DL"), measure="RD", flavour="revman5")
    assert forest_plot(res, tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert forest_plot(res, tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def _marks(svg: str) -> set[str]:
    """The one-character texts of an SVG drawn with text kept as text (the judgement symbols)."""
    import re

    return {m for m in re.findall(r">\s*(.)\s*</text>", svg)}


@pytest.mark.parametrize(("tool", "judgements", "symbols"), [
    ("rob2", ("low", "some_concerns", "high", "no_information"), {"+", "−", "×", "?"}),
    ("rob1", ("low", "unclear", "high", "no_information"), {"+", "?", "×", "–"}),
])
def test_rob_columns_mark_judgements_as_the_traffic_light_plot_does(
        tmp_path: Path, tool: str, judgements: tuple[str, ...], symbols: set[str]) -> None:
    """A study's RoB reads the same in the forest plot and the traffic-light plot: the same colour and
    symbol per judgement (before, the forest drew RoB 2's "some concerns" as "?", the traffic light as "−")."""
    from reviewkit.domain.rob_common import RobRow, RobTable
    from reviewkit.render.rob import COLOURS, traffic_light_plot

    res = meta_analysis(_studies("hine1989_RR_DL"), measure="RR", flavour="revman5")
    low, middle, high, missing = judgements
    rob = {"1": {"D1": low, "D2": high}, "2": {"D1": middle, "D2": missing}}
    forest = forest_plot(res, tmp_path / "rob.svg", extra_columns=rob, extra_tool=tool).read_text(encoding="utf-8")
    if tool == "rob2":
        from reviewkit.domain.rob2 import ROB2_LEVELS as levels
        from reviewkit.domain.rob2 import ROB2_MISSING as absent
    else:
        from reviewkit.domain.rob1 import ROB1_LEVELS as levels  # type: ignore[assignment]
        from reviewkit.domain.rob1 import ROB1_MISSING as absent
    table = RobTable(tool, ("D1", "D2"), ("one", "two"), levels,
                     (RobRow("1", (low, high), low, None), RobRow("2", (middle, None), high, None)), absent)
    light = traffic_light_plot(table, tmp_path / "light.svg").read_text(encoding="utf-8")
    for code in judgements:
        assert COLOURS[code].lower() in forest.lower() and COLOURS[code].lower() in light.lower()
    assert symbols <= _marks(forest) and symbols <= _marks(light)


def test_unsupported_suffix_is_refused(tmp_path: Path) -> None:
    """Only .svg, .png and .pdf are written."""
    res = meta_analysis(_studies("hine1989_RR_DL"), measure="RR")
    with pytest.raises(ReviewkitError, match="use a .svg, .png or .pdf"):
        forest_plot(res, tmp_path / "f.gif")


def test_single_study_heterogeneity_not_applicable() -> None:
    """With one study the heterogeneity line says 'Not applicable', never NaN."""
    eff = effects_from_rows([{"study": "a", "yi": 0.1, "vi": 0.02}], "generic")
    assert heterogeneity_text(pool(eff, model="fixed", estimator=None)) == "Heterogeneity: Not applicable"


def test_rob_columns_have_a_legend_of_domains_and_judgements(tmp_path: Path) -> None:
    """Below the plot, each RoB column is named (D1 → the tool's domain) and each judgement's mark explained."""
    res = meta_analysis(_studies("hine1989_RR_DL"), measure="RR", flavour="revman5")
    rob = {"1": {"D1": "low", "D2": "high"}, "2": {"D1": "some_concerns", "D2": "low"}}
    names = {"D1": "Bias arising from the randomization process", "D2": "Bias due to missing outcome data"}
    svg = forest_plot(res, tmp_path / "rob.svg", extra_columns=rob, extra_names=names).read_text(encoding="utf-8")
    assert "D1: Bias arising from the randomization process" in svg
    assert "D2: Bias due to missing outcome data" in svg
    for label in ("Low risk", "Some concerns", "High risk"):
        assert label in svg
    assert "Unclear risk" not in svg  # RoB 2's middle level only, as drawn
    plain = forest_plot(res, tmp_path / "plain.svg").read_text(encoding="utf-8")
    assert "Low risk" not in plain  # no RoB columns, no legend


def test_notes_are_printed_under_the_total(tmp_path: Path) -> None:
    """A note (e.g. how a shared control was counted) sits under the Total line, before its heterogeneity."""
    res = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="revman5")
    note = "Naive multi-arm comparisons count a shared control group once per comparison."
    svg = forest_plot(res, tmp_path / "n.svg", notes=[note]).read_text(encoding="utf-8")
    assert svg.index("Total (95% CI)") < svg.index("Total events") < svg.index(note) < svg.index("Heterogeneity:")


@pytest.mark.parametrize(("p", "text"), [(3e-6, "P < 0.00001"), (3e-5, "P < 0.0001"), (0.00034, "P = 0.0003"),
                                         (0.0061, "P = 0.006"), (0.134, "P = 0.13")])
def test_p_values_print_as_revman_prints_them(p: float, text: str) -> None:
    """Between 0.00001 and 0.0001 four decimals printed "P = 0.0000", a p-value of zero; RevMan says < 0.0001."""
    from reviewkit.pooling.wording import format_p

    assert format_p(p) == text


def _pi_line(svg: str) -> str | None:
    """The forest's prediction-interval line, as its SVG text holds it."""
    start = svg.find("Prediction interval")
    return None if start < 0 else svg[start:svg.index("<", start)].strip()


@pytest.mark.parametrize(("flavour", "method"), [("metafor", "z"), ("cochrane2025", "t, 11 df")])
def test_the_prediction_interval_names_how_it_was_formed(flavour: str, method: str, tmp_path: Path) -> None:
    """The line says z or t with its degrees of freedom (13 BCG trials: t(k−2) = 11 df under cochrane2025),
    the bounds being the result's own."""
    res = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour=flavour)
    lo, hi = res.effect_pi
    assert lo is not None and hi is not None
    svg = forest_plot(res, tmp_path / "pi.svg").read_text(encoding="utf-8")
    assert _pi_line(svg) == f"Prediction interval ({method}): [{lo:.2f}, {hi:.2f}]"


def _svg_xs(svg: str, gid: str) -> list[float]:
    """The x coordinates of the path drawn under an SVG id (matplotlib writes an artist's gid as its group's id)."""
    match = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]*)"', svg)
    assert match is not None, f"nothing drawn as {gid}"
    return [float(x) for x in re.findall(r"[ML] ([-\d.]+) [-\d.]+", match.group(1))]


def test_the_prediction_interval_is_drawn_through_the_diamond_at_its_bounds(tmp_path: Path) -> None:
    """metafor (13 BCG trials, RR): besides its text line, the interval is drawn on the Total's row, its end
    bars where [0.15, 1.55] falls on the log axis that places the diamond's ends at the CI [0.34, 0.70]."""
    res = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="metafor")
    (ci_lo, ci_hi), (pi_lo, pi_hi) = res.effect_ci, res.effect_pi
    assert pi_lo is not None and pi_hi is not None
    svg = forest_plot(res, tmp_path / "pi.svg").read_text(encoding="utf-8")
    (row,) = set(re.findall(r'id="summary-diamond-(\d+)"', svg))
    diamond = _svg_xs(svg, f"summary-diamond-{row}")
    left, right = min(diamond), max(diamond)

    def at(value: float) -> float:  # where the diamond's axis puts an effect
        return left + (right - left) * math.log(value / ci_lo) / math.log(ci_hi / ci_lo)

    (lower,) = set(_svg_xs(svg, f"prediction-interval-{row}-lower"))
    (upper,) = set(_svg_xs(svg, f"prediction-interval-{row}-upper"))
    assert (lower, upper) == pytest.approx((at(pi_lo), at(pi_hi)), abs=0.01)
    assert _svg_xs(svg, f"prediction-interval-{row}") == pytest.approx([lower, upper], abs=0.01)
    # Three trials under cochrane2025: t with 1 df gives [0.005, 13.05], beyond the axis's 0.01 on the left.
    # There the line stops at the axis's edge with an arrow (a marker, not a bar); the upper bar stands at 13.05.
    few = meta_analysis(_studies("bcg_RR_DL")[:3], measure="RR", flavour="cochrane2025")
    (ci_lo, ci_hi), (pi_lo, pi_hi) = few.effect_ci, few.effect_pi
    assert pi_lo is not None and pi_lo < 0.01 and pi_hi is not None
    svg = forest_plot(few, tmp_path / "pi3.svg").read_text(encoding="utf-8")
    (row,) = set(re.findall(r'id="summary-diamond-(\d+)"', svg))
    diamond = _svg_xs(svg, f"summary-diamond-{row}")
    left, right = min(diamond), max(diamond)  # at() now places effects on this plot's axis
    (upper,) = set(_svg_xs(svg, f"prediction-interval-{row}-upper"))
    assert upper == pytest.approx(at(pi_hi), abs=0.01)
    start, end = _svg_xs(svg, f"prediction-interval-{row}")
    assert at(pi_lo) < start < at(ci_lo) and end == pytest.approx(upper, abs=0.01)
    lower_group = re.search(rf'<g id="prediction-interval-{row}-lower">(.*?)</g>', svg, re.S)
    assert lower_group is not None and "<use" in lower_group.group(1)
    # Hidden (RevMan 5's own output), nothing is drawn.
    hidden = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="revman5")
    assert "prediction-interval" not in forest_plot(hidden, tmp_path / "rm5.svg").read_text(encoding="utf-8")


def test_a_z_prediction_interval_without_heterogeneity_says_tau2_is_0(tmp_path: Path) -> None:
    """With τ² = 0 a z prediction interval is the CI itself: the line says τ² = 0, so the two equal
    intervals read as what they are."""
    studies = [{"study": s, "yi": y, "vi": 0.04} for s, y in (("a", 0.10), ("b", 0.12), ("c", 0.11))]
    res = pool(effects_from_rows(studies, "generic"), model="random", estimator="DL", flavour="metafor")
    assert res.tau2 == 0 and res.effect_pi == pytest.approx(res.effect_ci)
    svg = forest_plot(res, tmp_path / "pi0.svg").read_text(encoding="utf-8")
    lo, hi = res.effect_ci
    assert _pi_line(svg) == f"Prediction interval (z, τ² = 0): [{lo:.2f}, {hi:.2f}]"


def test_revman5_draws_no_prediction_interval_but_keeps_its_numbers(tmp_path: Path) -> None:
    """RevMan 5 shows no prediction interval, so neither does the flavour that reproduces it; the JSON
    still has the interval and how it was formed."""
    res = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="revman5")
    svg = forest_plot(res, tmp_path / "rm5.svg").read_text(encoding="utf-8")
    assert _pi_line(svg) is None and "Total (95% CI)" in svg
    numbers = res.to_dict()
    assert numbers["pi_lower"] is not None and numbers["pi_method"] == "z"


@pytest.mark.parametrize(("hksj", "method"), [(False, "z"), (True, "t, 12 df")])
def test_revman5_draws_the_prediction_interval_when_the_analysis_asks_for_it(hksj: bool, method: str,
                                                                            tmp_path: Path) -> None:
    """prediction_interval=True under revman5: the line is drawn, named by how that flavour computes it (as
    metafor: z, or t with k − 1 df under HKSJ; 13 BCG trials), its numbers those the JSON always had."""
    shown = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="revman5", hksj=hksj, prediction_interval=True)
    hidden = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour="revman5", hksj=hksj)
    assert (shown.pi_lower, shown.pi_upper, shown.pi_method) == (hidden.pi_lower, hidden.pi_upper, hidden.pi_method)
    lo, hi = shown.effect_pi
    assert lo is not None and hi is not None
    svg = forest_plot(shown, tmp_path / "rm5-pi.svg").read_text(encoding="utf-8")
    assert _pi_line(svg) == f"Prediction interval ({method}): [{lo:.2f}, {hi:.2f}]"
    assert shown.to_dict()["show_prediction_interval"] is True
    assert hidden.to_dict()["show_prediction_interval"] is False


@pytest.mark.parametrize("flavour", ["metafor", "cochrane2025"])
def test_prediction_interval_false_hides_it_but_keeps_its_numbers(flavour: str, tmp_path: Path) -> None:
    """prediction_interval=False under a flavour that shows it: no line, in the subgroups' plot neither; the
    JSON keeps the interval and how it was formed, and says it is not shown."""
    res = meta_analysis(_studies("bcg_RR_DL"), measure="RR", flavour=flavour, prediction_interval=False)
    assert _pi_line(forest_plot(res, tmp_path / "no-pi.svg").read_text(encoding="utf-8")) is None
    numbers = res.to_dict()
    assert numbers["pi_lower"] is not None and numbers["pi_method"] is not None
    assert numbers["show_prediction_interval"] is False
    rows = [{**row, "subgroup": "early" if i < 6 else "late"} for i, row in enumerate(_studies("bcg_RR_DL"))]
    sub = subgroup_analysis(effects_from_rows(rows, "RR", use_subgroups=True), method="IV", model="random",
                            estimator="DL", flavour=flavour, prediction_interval=False)
    assert _pi_line(forest_plot(sub, tmp_path / "no-pi-sub.svg").read_text(encoding="utf-8")) is None


def test_a_fixed_effect_model_asked_for_a_prediction_interval_says_it_has_none() -> None:
    """A fixed-effect model has no prediction interval: asked for one, pool() says so (as it does of HKSJ)
    rather than leave the line silently out; the flavour's default asks nothing and says nothing."""
    asked = meta_analysis(_studies("bcg_RR_DL"), measure="RR", model="fixed", flavour="metafor",
                          prediction_interval=True)
    assert asked.pi_lower is None and not asked.show_prediction_interval
    assert any("a fixed-effect model has none" in w for w in asked.warnings)
    default = meta_analysis(_studies("bcg_RR_DL"), measure="RR", model="fixed", flavour="metafor")
    assert not default.show_prediction_interval and not any("prediction" in w for w in default.warnings)


@pytest.mark.parametrize(("flavour", "k", "why"), [("cochrane2025", 2, "t with k − 2 df needs at least 3"),
                                                   ("metafor", 1, "it needs at least 2")])
def test_a_prediction_interval_asked_for_with_too_few_studies_is_said_to_be_not_estimable(
        flavour: str, k: int, why: str) -> None:
    """With 2 studies cochrane2025's t(k − 2) has no df (Higgins 2009), with 1 no interval exists: the line was
    left out without a word while the JSON said it was shown."""
    res = meta_analysis(_studies("bcg_RR_DL")[:k], measure="RR", flavour=flavour, prediction_interval=True)
    assert res.effect_pi == (None, None)
    study = "study" if k == 1 else "studies"
    assert f"the prediction interval is not estimable with {k} {study} ({why})" in res.warnings
    hidden = meta_analysis(_studies("bcg_RR_DL")[:k], measure="RR", flavour=flavour, prediction_interval=False)
    assert not any("prediction interval" in w for w in hidden.warnings)
