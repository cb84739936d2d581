"""Tests the text forest's layout: numbers to lines of characters, on a log axis for ratios and a linear one
otherwise, with the line of no effect and arrows where an interval runs past the axis."""

from __future__ import annotations

import math

from rich.cells import cell_len

from reviewkit.tui.widgets.text_forest import (
    CLIPPED_LEFT,
    CLIPPED_RIGHT,
    NULL_CROSSED,
    NULL_LINE,
    POOLED_MARK,
    STUDY_MARK,
    ForestAxis,
    ForestRow,
    choose_axis,
    forest_lines,
    plot_cells,
)

WIDTH = 41
RATIO_AXIS = ForestAxis(0.1, 10.0, True, (0.1, 1, 10))


def test_a_ratio_axis_is_logarithmic_with_the_line_of_no_effect_at_1() -> None:
    """On a 0.1–10 ratio axis 1 sits in the middle and 0.5 and 2 sit equally far either side of it (a linear
    axis would put 1 near the left edge and 0.5 and 2 at unequal distances)."""
    axis = choose_axis([ForestRow("A", 2.0, 1.2, 6.0)], ratio=True)
    assert axis.log and axis.null == 1.0 and axis.lower < 1 < axis.upper
    middle = (WIDTH - 1) // 2
    assert RATIO_AXIS.column(1.0, WIDTH) == middle
    assert middle - RATIO_AXIS.column(0.5, WIDTH) == RATIO_AXIS.column(2.0, WIDTH) - middle
    cells = plot_cells(ForestRow("A", 2.0, 1.5, 3.0), RATIO_AXIS, WIDTH)
    assert cells[middle] == NULL_LINE
    assert cells.index(STUDY_MARK) == RATIO_AXIS.column(2.0, WIDTH)


def test_the_axis_labels_stand_over_their_columns() -> None:
    """The header names the axis's values, "1" right above the line of no effect."""
    lines = forest_lines([ForestRow("Trial", 2.0, 1.5, 3.0, 100.0)], measure="RR", ratio=True, width=80,
                         axis=RATIO_AXIS)
    header, row = lines
    assert header.startswith("Study") and "RR" in header and "95% CI" in header and "Weight" in header
    null_at = row.index(NULL_LINE)
    assert header[null_at] == "1"
    assert row.startswith("Trial") and "2.00" in row and "1.50 to 3.00" in row and "100.0%" in row


def test_a_ci_crossing_the_line_of_no_effect_is_drawn_across_it() -> None:
    """An RR of 0.9 (0.5 to 1.6) crosses 1: its line runs on both sides of the line of no effect."""
    cells = plot_cells(ForestRow("A", 0.9, 0.5, 1.6), RATIO_AXIS, WIDTH)
    null = RATIO_AXIS.column(1.0, WIDTH)
    assert cells[null] == NULL_CROSSED
    assert cells[null - 2] == "─" and cells[null + 2] == "─"
    assert cells.index(STUDY_MARK) < null  # 0.9: left of 1


def test_a_ci_reaching_the_null_column_without_crossing_stops_beside_it() -> None:
    """1.02 to 3 does not include 1, even when 1.02 falls in 1's column: the line of no effect stays whole."""
    cells = plot_cells(ForestRow("A", 2.0, 1.02, 3.0), RATIO_AXIS, WIDTH)
    null = RATIO_AXIS.column(1.0, WIDTH)
    assert RATIO_AXIS.column(1.02, WIDTH) == null
    assert cells[null] == NULL_LINE and cells[null + 1] == "─"


def test_a_ci_beyond_the_axis_is_clipped_with_an_arrow() -> None:
    """Past either end the line stops at the edge with an arrow; an interval wholly outside shows only the arrow."""
    right = plot_cells(ForestRow("A", 3.0, 1.5, 40.0), RATIO_AXIS, WIDTH)
    assert right[-1] == CLIPPED_RIGHT and STUDY_MARK in right
    left = plot_cells(ForestRow("B", 0.5, 0.01, 0.9), RATIO_AXIS, WIDTH)
    assert left[0] == CLIPPED_LEFT and STUDY_MARK in left
    beyond = plot_cells(ForestRow("C", 50.0, 20.0, 90.0), RATIO_AXIS, WIDTH)
    assert beyond.rstrip().endswith(CLIPPED_RIGHT) and STUDY_MARK not in beyond and "─" not in beyond
    assert len(right) == len(left) == len(beyond) == WIDTH


def test_the_chosen_ratio_axis_clips_only_beyond_its_widest_scale() -> None:
    """Like the forest plot file, the axis widens to hold every interval up to 0.001–1000, and clips beyond."""
    assert choose_axis([ForestRow("A", 2.0, 1.2, 4.0)], ratio=True).upper == 5
    assert choose_axis([ForestRow("A", 2.0, 0.05, 40.0)], ratio=True).upper == 100
    widest = choose_axis([ForestRow("A", 2.0, 1e-5, 5000.0)], ratio=True)
    assert widest.upper == 1000
    assert plot_cells(ForestRow("A", 2.0, 1e-5, 5000.0), widest, WIDTH)[-1] == CLIPPED_RIGHT


def test_a_difference_is_on_a_linear_axis_centred_on_0() -> None:
    """A mean difference: symmetric about 0, equal steps equally spaced, the line of no effect at 0."""
    axis = choose_axis([ForestRow("A", -3.0, -7.5, 1.5), ForestRow("B", 2.0, 0.5, 3.5)], ratio=False)
    assert not axis.log and axis.null == 0.0 and axis.lower == -axis.upper and axis.upper >= 7.5
    zero, two, four = (axis.column(v, WIDTH) for v in (0.0, 2.0, 4.0))
    assert zero == (WIDTH - 1) // 2 and two - zero == four - two
    cells = plot_cells(ForestRow("A", -3.0, -7.5, 1.5), axis, WIDTH)
    assert cells[zero] == NULL_CROSSED and cells.index(STUDY_MARK) < zero


def test_the_pooled_row_is_a_diamond_across_its_ci() -> None:
    """The pooled result fills its CI with the diamond mark, and no study marker."""
    cells = plot_cells(ForestRow("Total (95% CI)", 2.4, 1.97, 2.98, 100.0, pooled=True), RATIO_AXIS, WIDTH)
    start, end = RATIO_AXIS.column(1.97, WIDTH), RATIO_AXIS.column(2.98, WIDTH)
    assert set(cells[start:end + 1]) == {POOLED_MARK} and STUDY_MARK not in cells


def test_lines_fit_the_width_long_labels_end_in_an_ellipsis_and_a_left_out_study_is_not_estimable() -> None:
    """Every line fits the width; a long label is cut with "…"; a study without an estimate says so and has
    no bar."""
    rows = [ForestRow("BREEZE-AD1 (Baricitinib 1 mg) and a much longer label", 2.45, 1.18, 5.08, 8.2),
            ForestRow("Left out", None, None, None, None),
            ForestRow("Total (95% CI)", 2.42, 1.97, 2.98, 100.0, pooled=True)]
    for width in (60, 80, 120):
        lines = forest_lines(rows, measure="RR", ratio=True, width=width)
        assert all(cell_len(line) <= width for line in lines), width
        assert "…" in lines[1] and "Not estimable" in lines[2]
        assert not {STUDY_MARK, "─"} & set(lines[2])
    assert forest_lines([], measure="RR", ratio=True, width=80) == []
    assert math.isclose(choose_axis(rows, ratio=True).null, 1.0)


def test_a_row_whose_numbers_are_not_numbers_draws_as_not_estimable() -> None:
    """round(nan) raised inside render(): the screen would have crashed on such a row."""
    lines = forest_lines([ForestRow("A", math.nan, math.nan, math.nan)], measure="RD", ratio=False, width=70)
    assert any(line.startswith("A") for line in lines)
