"""Tests for the robvis-style traffic-light and summary plots."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import RobTable, judgement_shares
from reviewkit.errors import ReviewkitError
from reviewkit.render.rob import COLOURS, summary_figure, summary_plot, traffic_light_plot

BASE = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
        "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}


def rob2_table(weights: list[float] | None = None) -> RobTable:
    """Three studies: all low, D1 high, D5 some concerns."""
    assessments = [
        rob2.assess(BASE, study="Keystone 2015"),
        rob2.assess({**BASE, "1.2": "N"}, study="Genovese 2016"),
        rob2.assess({**BASE, "5.1": "NI"}, study="Dougados 2017"),
    ]
    return rob2.rob2_table(assessments, weights)


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_traffic_light_writes_each_format(tmp_path: Path, suffix: str) -> None:
    """The traffic-light plot writes a non-empty file in the format its suffix names."""
    out = traffic_light_plot(rob2_table(), tmp_path / f"tl{suffix}")
    assert out.exists() and out.stat().st_size > 1000


def test_traffic_light_svg_keeps_labels_as_text(tmp_path: Path) -> None:
    """SVG text holds study labels, domain keys, domain names, symbols and legend labels."""
    svg = traffic_light_plot(rob2_table(), tmp_path / "tl.svg").read_text()
    for text in ("Keystone 2015", "Genovese 2016", "Dougados 2017", "D1", "D5", "Overall",
                 "Bias arising from the randomization process", "Low risk", "Some concerns",
                 "High risk", "×", "−", "+"):
        assert text in svg, text


def test_summary_plot_svg_and_weights(tmp_path: Path) -> None:
    """The summary plot names domains and uses weight percentages when weights are given."""
    table = rob2_table([50.0, 30.0, 20.0])
    svg = summary_plot(table, tmp_path / "sum.svg").read_text()
    assert "Bias in selection of the reported result" in svg and "Overall risk of bias" in svg
    assert "Percentage of weight" in svg
    shares = judgement_shares(table)
    assert shares["D1"] == {"low": 70.0, "some_concerns": 0.0, "high": 30.0}
    assert shares["overall"]["some_concerns"] == pytest.approx(20.0)
    unweighted = judgement_shares(table, weighted=False)
    assert unweighted["D1"]["high"] == pytest.approx(100 / 3)
    assert "Percentage of studies" in summary_plot(
        table, tmp_path / "sum2.svg", weighted=False).read_text()


def test_rob1_plots(tmp_path: Path) -> None:
    """RoB 1 tables plot with seven domains, Unclear risk and a '?' symbol."""
    a = rob1.assess_rob1({f"D{i}": j for i, j in zip(range(1, 8), [
        "low", "unclear", "high", "low", "low", "unclear", "low"], strict=True)}, study="Old 2008")
    table = rob1.rob1_table([a])
    svg = traffic_light_plot(table, tmp_path / "r1.svg").read_text()
    assert "Old 2008" in svg and "D7" in svg and "Unclear risk" in svg and "?" in svg
    assert "Allocation concealment (selection bias)" in svg
    assert summary_plot(table, tmp_path / "r1.png").exists()


def test_unknown_suffix_and_empty_table_are_refused(tmp_path: Path) -> None:
    """A .jpg path or no rows is a ReviewkitError."""
    with pytest.raises(ReviewkitError, match="jpg"):
        traffic_light_plot(rob2_table(), tmp_path / "x.jpg")
    with pytest.raises(ReviewkitError):
        summary_plot(rob2.rob2_table([]), tmp_path / "x.svg")


def bars(ax: Axes, table: RobTable) -> dict[str, dict[str, float]]:
    """A summary panel's bars as drawn: domain name → judgement (told by its colour) → share."""
    names = [t.get_text() for t in ax.get_yticklabels()]
    colour_of = {to_hex(COLOURS[lvl.code]): lvl.code for lvl in (*table.levels, table.missing)}
    out: dict[str, dict[str, float]] = {}
    for bar in ax.patches:
        assert isinstance(bar, Rectangle)
        row = names[round(bar.get_y() + bar.get_height() / 2)]
        code = colour_of[to_hex(bar.get_facecolor())]
        out.setdefault(row, {})[code] = out.get(row, {}).get(code, 0.0) + bar.get_width()
    return out


def per_outcome_table(weights: list[float] | None = None) -> RobTable:
    """Keystone 2015 assessed for two outcomes (IGA: all low; EASI-75: D1 high), Genovese 2016 for IGA
    only (D5 some concerns): three rows, two studies."""
    table = rob2.rob2_table([
        rob2.assess(BASE, study="Keystone 2015 (IGA)"),
        rob2.assess({**BASE, "1.2": "N"}, study="Keystone 2015 (EASI-75)"),
        rob2.assess({**BASE, "5.1": "NI"}, study="Genovese 2016 (IGA)"),
    ], weights)
    outcomes = ["IGA", "EASI-75", "IGA"]
    return dataclasses.replace(table, rows=tuple(dataclasses.replace(r, outcome=o)
                                                 for r, o in zip(table.rows, outcomes, strict=True)))


def test_summary_of_several_outcomes_has_a_panel_per_outcome() -> None:
    """A study assessed for two outcomes is counted once in each outcome's panel, never twice in one: the
    IGA panel holds 2 studies (Low 50%, Some concerns 50%), the EASI-75 panel 1 (High 100%)."""
    table = per_outcome_table()
    fig = summary_figure(table, weighted=False)
    axes = [ax for ax in fig.axes if ax.patches]
    assert [ax.get_title(loc="left") for ax in axes] == ["Outcome EASI-75 · 1 study", "Outcome IGA · 2 studies"]
    assert all(ax.get_xlabel() == "Percentage of studies" for ax in axes)
    easi, iga = (bars(ax, table)["Overall risk of bias"] for ax in axes)
    assert easi == {"high": pytest.approx(100.0)}
    assert iga == {"low": pytest.approx(50.0), "some_concerns": pytest.approx(50.0)}
    assert bars(axes[1], table)["Bias arising from the randomization process"] == {"low": pytest.approx(100.0)}


def test_weighted_summary_of_several_outcomes_weighs_within_each_outcome() -> None:
    """Each panel's shares are of its own rows' weights: IGA Keystone 60 and Genovese 40 give Low 60% and
    Some concerns 40%, whatever weight Keystone has in EASI-75."""
    table = per_outcome_table([60.0, 25.0, 40.0])
    fig = summary_figure(table)
    easi, iga = (ax for ax in fig.axes if ax.patches)
    assert iga.get_xlabel() == "Percentage of weight"
    assert bars(iga, table)["Overall risk of bias"] == {"low": pytest.approx(60.0),
                                                        "some_concerns": pytest.approx(40.0)}
    assert bars(easi, table)["Overall risk of bias"] == {"high": pytest.approx(100.0)}


def test_summary_of_one_outcome_is_one_panel_without_a_heading() -> None:
    """Rows of one outcome (or that name none) plot as before: one panel, shares of its studies."""
    table = rob2_table()
    (ax,) = (ax for ax in summary_figure(table).axes if ax.patches)
    assert ax.get_title(loc="left") == "" and ax.get_xlabel() == "Percentage of studies"
    assert bars(ax, table)["Overall risk of bias"]["low"] == pytest.approx(100 / 3)
