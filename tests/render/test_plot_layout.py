"""Tests what a reader of the plot files sees: no text over other text or cut off at the figure's edge (many
studies, long labels, subgroups, a long method header, every measure), CIs past the axis ending in arrows,
and the numbers drawn in each row equal to those `meta --json` prints."""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.pooling import cumulative, effects_from_rows, leave_one_out, pool, subgroup_analysis
from reviewkit.render.axis import effect_ticks
from reviewkit.render.forest import ci_parts, forest_plot
from reviewkit.render.funnel import RATIO_TICKS, funnel_plot
from reviewkit.render.sensitivity_plot import sensitivity_plot
from tests.render.svg_text import outside, overlaps, row_of, svg_texts

LONG = "Simpson 2020a (BREEZE-AD1, JAIN study group, 4 mg vs placebo)"
CAPS = "WIDE MULTICENTRE TRIAL WWW (BREEZE-AD1, JAIN STUDY GROUP, 4 MG)"


def _binary(k: int = 42) -> list[dict[str, Any]]:
    """k studies in three subgroups (one of a single study): long labels, an RR of exactly 1, one study
    without events (not estimable), one tiny and one huge study, CIs from narrow to very wide."""
    rows: list[dict[str, Any]] = []
    for i in range(k - 1):
        n1, n2 = 40 + (i * 37) % 260, 30 + (i * 53) % 270
        rows.append({"study": f"Study {2000 + i}", "events_treat": 1 + (i * 7) % (n1 // 3),
                     "n_treat": n1, "events_ctrl": 1 + (i * 11) % (n2 // 3), "n_ctrl": n2,
                     "subgroup": "A" if i < 20 else "B"})
    rows[1].update(study=LONG)
    rows[2].update(study=CAPS)
    rows[3].update(study="Equal 2001", events_treat=10, n_treat=100, events_ctrl=10, n_ctrl=100)
    rows[4].update(study="Zero 2002", events_treat=0, n_treat=50, events_ctrl=0, n_ctrl=50)
    rows[5].update(study="Tiny 2003", events_treat=1, n_treat=4, events_ctrl=0, n_ctrl=4)
    rows[6].update(study="Huge 2004", events_treat=3000, n_treat=20000, events_ctrl=3300, n_ctrl=20000)
    rows.append({"study": "Lonely 2019 (the only study of its subgroup)", "events_treat": 5, "n_treat": 40,
                 "events_ctrl": 9, "n_ctrl": 40, "subgroup": "C"})
    return rows


def _continuous() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"study": f"Trial {i}", "mean_treat": 10 + (i % 5), "sd_treat": 2 + i % 7, "n_treat": 10 + 17 * i,
         "mean_ctrl": 12 - (i % 3), "sd_ctrl": 3 + i % 5, "n_ctrl": 15 + 13 * i, "subgroup": "xyz"[i % 3]}
        for i in range(12)]
    rows[2]["study"] = CAPS
    rows.append({"study": "Wide 2011", "mean_treat": 5, "sd_treat": 40, "n_treat": 4, "mean_ctrl": -30,
                 "sd_ctrl": 40, "n_ctrl": 4, "subgroup": "y"})
    return rows


def _generic_ratio() -> list[dict[str, Any]]:
    """Log ratios, one CI past the widest ratio axis (0.001 to 1000) and one nearly as wide."""
    return [{"study": s, "yi": math.log(y), "vi": v} for s, y, v in
            (("A 2001", 1.0, 0.125), ("B 2002", 0.8, 0.02), ("C 2003", 2.5, 7.9), ("D 2004", 0.002, 2.3),
             ("E 2005", 1.5, 0.013), (CAPS, 1.2, 0.05))]


def _assert_readable(svg: str) -> None:
    assert overlaps(svg) == []
    assert outside(svg) == []


@pytest.mark.parametrize(("measure", "settings"), [
    ("RR", {"flavour": "revman5", "method": "MH"}),
    ("OR", {"flavour": "cochrane2025", "hksj_adhoc": True}),  # the widest header: "IV, Random (HKSJ ad hoc, …"
    ("RD", {"flavour": "metafor", "hksj": True, "prediction_interval": True}),
    ("MD", {"flavour": "cochrane2025"}),
    ("SMD", {"flavour": "revman5", "model": "fixed"}),
    ("generic", {"flavour": "cochrane2025", "hksj_adhoc": True}),
])
def test_forest_text_never_overlaps_nor_leaves_the_figure(measure: str, settings: dict[str, Any],
                                                           tmp_path: Path) -> None:
    """Every text has room, whatever the measure, model and header: before, "IV, Random (HKSJ ad hoc,
    max(1, q)), 95% CI" ran over "Weight" and over the plot's own header, and a label in capitals ran into
    the first number."""
    rows = (_binary() if measure in ("RR", "OR", "RD") else _continuous() if measure in ("MD", "SMD")
            else _generic_ratio())
    from reviewkit.pooling import meta_analysis

    scale = {"generic_scale": "ratio"} if measure == "generic" else {}
    res = meta_analysis(rows, measure=measure, **scale, **settings)
    svg = forest_plot(res, tmp_path / "f.svg").read_text(encoding="utf-8")
    _assert_readable(svg)
    if settings.get("hksj_adhoc"):
        assert "IV, Random (HKSJ ad hoc, max(1, q)), 95% CI" in svg


def test_subgroups_with_a_single_study_group_and_notes_have_room(tmp_path: Path) -> None:
    """Three subgroups, one of a single study, a note longer than the table: all readable; the note is broken
    into lines that end before the plot (it ran through the line of no effect), and none of it is lost."""
    effects = effects_from_rows(_binary(), "RR", use_subgroups=True)
    sub = subgroup_analysis(effects, method="IV", model="random", estimator="REML", flavour="cochrane2025",
                            hksj_adhoc=True)
    note = ("Naive multi-arm comparisons count a shared control group once per comparison: the control total "
            "of 20842 is 8421 participants, so the control arm's participants are counted several times over.")
    svg = forest_plot(sub, tmp_path / "sg.svg", notes=[note]).read_text(encoding="utf-8")
    _assert_readable(svg)
    texts = svg_texts(svg)
    plot_left = min(t.box[0] for t in texts if t.text.startswith("Favours ["))
    left = [t for t in texts if t.x < 11]  # the label column's texts, and the lines under the table
    assert note in " ".join(t.text for t in left) and note not in svg  # whole, on more than one line
    assert all(t.box[2] < plot_left for t in left)
    assert "Heterogeneity: Not applicable" in svg and "Subtotal (95% CI)" in svg


def test_a_label_wider_than_the_label_column_keeps_its_start_and_end(tmp_path: Path) -> None:
    """A very long label loses its middle to an ellipsis, keeping the author and year and the arm suffix
    that tells a multi-arm study's rows apart; the figure does not grow without bound."""
    label = "Smith 2019 " + "(a very long description of the trial's population and setting) " * 4 + "(Dose 4 mg)"
    rows = [{"study": label, "yi": 0.1, "vi": 0.04}, {"study": "b", "yi": 0.3, "vi": 0.02}]
    svg = forest_plot(pool(effects_from_rows(rows, "generic")), tmp_path / "l.svg").read_text(encoding="utf-8")
    _assert_readable(svg)
    shown = next(t.text for t in svg_texts(svg) if "…" in t.text)
    assert shown.startswith("Smith 2019 (a very long") and shown.endswith("(Dose 4 mg)")


@pytest.mark.parametrize("kind", ["leave-one-out", "cumulative"])
def test_sensitivity_plots_have_room_for_the_ad_hoc_header_and_long_labels(kind: str, tmp_path: Path) -> None:
    """The refits' plot shares the forest's header: "Tau²" and the plot's header were overrun by it."""
    effects = effects_from_rows(_binary(), "RR")
    settings: dict[str, Any] = {"method": "IV", "model": "random", "estimator": "REML", "hksj": True,
                                "hksj_adhoc": True}
    refits = (leave_one_out if kind == "leave-one-out" else cumulative)(effects, **settings)
    svg = sensitivity_plot(refits, pool(effects, **settings), tmp_path / "s.svg").read_text(encoding="utf-8")
    _assert_readable(svg)
    assert "IV, Random (HKSJ ad hoc, max(1, q)), 95% CI" in svg


@pytest.mark.parametrize(("effect", "parts"), [
    ((2.0, 1.5, 3.0), ((1.5, 3.0), False, False, True)),
    ((0.002, 0.0001, 0.04), ((0.001, 0.04), True, False, True)),  # runs on past the left edge
    ((2.5, 0.01, 5000.0), ((0.01, 1000.0), False, True, True)),
    ((1e-5, 1e-7, 1e-4), (None, True, False, False)),  # wholly beyond: an arrow only, no square
])
def test_a_ci_past_the_axis_ends_in_an_arrow(effect: tuple[float, float, float],
                                             parts: tuple[Any, bool, bool, bool]) -> None:
    """As RevMan (and the TUI's text forest) mark it: the line stops at the edge with an arrow there; before,
    the line just stopped, reading as a CI that ends at the axis's limit."""
    assert ci_parts(effect, (0.001, 1000.0)) == parts


def test_a_study_past_the_axis_is_drawn_with_an_arrow(tmp_path: Path) -> None:
    """In the file: one arrowhead for the one CI past the 0.001–1000 axis (D 2004: 0.002 [0.00, 0.04])."""
    res = pool(effects_from_rows(_generic_ratio(), "generic", generic_scale="ratio"), model="random", estimator="DL")
    svg = forest_plot(res, tmp_path / "a.svg").read_text(encoding="utf-8")
    assert row_of(svg, "D 2004")[:3] == ["D 2004", f"{math.log(0.002):.4f}", f"{math.sqrt(2.3):.4f}"]
    assert "log[Effect]" in svg  # the column holds the log ratio, not the ratio
    # matplotlib writes a marker once as a path definition and places it with <use>: "<" is a triangle
    # pointing left, drawn at the axis's left end.
    arrows = re.findall(r'<path id="(m[0-9a-f]+)" d="M -[\d.]+ -?0 \nL [\d.]+ [\d.]+ \nL [\d.]+ -[\d.]+ \nz', svg)
    assert len(arrows) == 1 and svg.count(f'xlink:href="#{arrows[0]}"') == 1


@pytest.mark.parametrize(("widest", "ticks"), [
    (0.61, [-1, -0.5, 0, 0.5, 1]), (3.64, [-4, -2, 0, 2, 4]), (35.0, [-40, -20, 0, 20, 40]),
    (90.44, [-100, -50, 0, 50, 100]), (0.021, [-0.04, -0.02, 0, 0.02, 0.04]), (6.5, [-10, -5, 0, 5, 10]),
])
def test_a_difference_axis_steps_as_revman_s_scales(widest: float, ticks: list[float]) -> None:
    """Out to 1, 2, 4 or 5 times a power of ten: an RD out to 0.61 was labelled -0.7 -0.35 0 0.35 0.7."""
    assert effect_ticks([-widest / 2, widest], ratio=False) == pytest.approx(ticks)


def _run_meta(tmp_path: Path, rows: list[dict[str, Any]], *args: str) -> tuple[dict[str, Any], str]:
    path = tmp_path / "studies.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot = tmp_path / "forest.svg"
    runner = CliRunner()
    numbers = runner.invoke(cli, ["meta", str(path), *args, "--json"], catch_exceptions=False)
    assert numbers.exit_code == 0, numbers.output
    drawn = runner.invoke(cli, ["meta", str(path), *args, "--plot", str(plot)], catch_exceptions=False)
    assert drawn.exit_code == 0, drawn.output
    return json.loads(numbers.stdout), plot.read_text(encoding="utf-8")


def _effect(text: str) -> tuple[float, float, float]:
    """ "0.36 [0.17, 0.75]" as numbers."""
    match = re.fullmatch(r"(-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]", text)
    assert match is not None, text
    est, lo, hi = (float(v) for v in match.groups())
    return est, lo, hi


@pytest.mark.parametrize("args", [["--measure", "RR", "--flavour", "revman5"],
                                  ["--measure", "OR", "--hksj-adhoc"]])
def test_the_numbers_drawn_in_each_row_are_the_json_numbers(args: list[str], tmp_path: Path) -> None:
    """Each study's counts, weight and effect with its CI, and the total's, as `meta --json` gives them, to
    the decimals shown; the study without events is "Not estimable" with no weight."""
    rows = _binary()
    found, svg = _run_meta(tmp_path, [{k: v for k, v in r.items() if k != "subgroup"} for r in rows], *args)
    z = 1.959963984540054
    for i, study in enumerate(found["studies"]):
        source = next(r for r in rows if r["study"] == study)
        label, *cells, weight, effect = row_of(svg, study)
        assert label == study
        assert cells == [str(source[c]) for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl")]
        assert abs(float(weight.removesuffix("%")) - found["weights_percent"][i]) <= 0.05 + 1e-9
        yi, se = found["yi"][i], math.sqrt(found["vi"][i])
        expected = (math.exp(yi), math.exp(yi - z * se), math.exp(yi + z * se))
        assert all(abs(d - e) <= 0.005 + 1e-9 for d, e in zip(_effect(effect), expected, strict=True))
    assert found["excluded"][0]["study"] == "Zero 2002"
    assert row_of(svg, "Zero 2002")[1:] == ["0", "50", "0", "50", "Not estimable"]
    total = row_of(svg, "Total (95% CI)")
    assert total[-2] == "100.0%"
    drawn = _effect(total[-1])
    for d, e in zip(drawn, (found["effect"], found["effect_ci_lower"], found["effect_ci_upper"]), strict=True):
        assert abs(d - e) <= 0.005 + 1e-9
    assert f"Chi² = {found['Q']:.2f}, df = {found['Q_df']} " in svg
    assert f"I² = {found['I2']:.0f}%" in svg


def _x_tick_labels(svg: str) -> list[str]:
    """The x axis's tick labels: the numbers centred on their tick (the SE axis's stand right of theirs)."""
    return [t.text for t in svg_texts(svg) if t.anchor == "middle" and re.fullmatch(r"[\d.]+", t.text)]


def test_a_funnel_over_many_decades_labels_only_powers_of_ten(tmp_path: Path) -> None:
    """Over 0.001 to 100 the 1-2-5 labels ran together ("0.010.020.05"); a generic ratio's SE axis is
    named "SE(log[Effect])", not after the program's code for it."""
    res = pool(effects_from_rows(_generic_ratio(), "generic", generic_scale="ratio"), model="fixed", estimator=None)
    svg = funnel_plot(res, tmp_path / "funnel.svg").read_text(encoding="utf-8")
    _assert_readable(svg)
    assert "SE(log[Effect])" in svg and "generic" not in svg
    ticks = _x_tick_labels(svg)
    assert len(ticks) >= 4 and all(math.log10(float(t)).is_integer() for t in ticks), ticks


def test_a_funnel_of_a_huge_se_on_a_ratio_scale_is_drawn_without_overflow(tmp_path: Path) -> None:
    """An SE of 1e25 is poolable; e^(1.96·1e25) overflowed (numpy's warning, then matplotlib's) and the
    0.001–1000 ticks crowded the middle of an axis hundreds of decades wide. The funnel is clipped where a
    float ends, and a few powers of ten label the axis apart."""
    from reviewkit.pooling import generic_effects

    effects = generic_effects(["a", "b", "c"], [0.1, 0.5, 0.9], se=[0.1, 0.2, 1e25], ratio=True)
    res = pool(effects, model="random", estimator="DL")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow is an error here, not a line in the terminal
        svg = funnel_plot(res, tmp_path / "funnel.svg").read_text(encoding="utf-8")
    _assert_readable(svg)
    ticks = [t.text for t in svg_texts(svg) if t.anchor == "middle" and re.fullmatch(r"1(e[+-]\d+)?", t.text)]
    assert "1" in ticks and len(ticks) >= 3, ticks


def test_a_funnel_of_many_studies_with_imputed_ones_is_readable(tmp_path: Path) -> None:
    """Many studies, imputed ones and a two-line title: readable, RevMan's 1-2-5 ticks where they have room, and
    the legend under the axis's name, where no point can be (loc="best" still covered points)."""
    from reviewkit.pooling import trim_and_fill

    effects = effects_from_rows([{k: v for k, v in r.items() if k != "subgroup"} for r in _binary()], "RR")
    res = pool(effects, model="fixed", estimator=None)
    svg = funnel_plot(res, tmp_path / "f.svg", trimfill=trim_and_fill(effects, model="fixed", estimator=None),
                      title="IGA 0/1\nEgger's test: t = 2.10, df = 40, p = 0.042").read_text(encoding="utf-8")
    _assert_readable(svg)
    assert set(_x_tick_labels(svg)) <= {f"{t:g}" for t in RATIO_TICKS}
    texts = {t.text: t for t in svg_texts(svg)}
    assert texts["Imputed (trim and fill)"].box[1] > texts["Risk Ratio"].box[3]


def test_a_dollar_sign_in_a_label_is_text_not_math(tmp_path: Path) -> None:
    """matplotlib reads text between two "$" as mathtext: "Jones $x^2$ trial" was drawn as Jones x² trial in
    math italics. A study label is drawn as typed."""
    rows = _binary(12)
    rows[0]["study"] = "Jones $x^2$ trial"
    rows[1]["study"] = "Smith $2020"
    _, svg = _run_meta(tmp_path, rows, "--measure", "RR")
    texts = [t.text for t in svg_texts(svg)]
    assert "Jones $x^2$ trial" in texts and "Smith $2020" in texts
