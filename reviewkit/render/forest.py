"""Provides RevMan-style forest plots (SVG, PNG, PDF) drawn from a pooled or subgrouped result."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

from reviewkit.pooling.effects import BinaryArms, ContinuousArms  # noqa: E402
from reviewkit.pooling.results import MetaResult  # noqa: E402
from reviewkit.pooling.subgroups import SubgroupResult  # noqa: E402
from reviewkit.pooling.wording import (  # noqa: E402
    format_effect,
    format_number,
    format_p,
    heterogeneity_text,
    hksj_label,
    overall_effect_text,
    prediction_interval_text,
)
from reviewkit.render.axis import effect_ticks  # noqa: E402
from reviewkit.render.forest_style import (  # noqa: E402
    MEASURE_NAMES,
    METHOD_NAMES,
    RC,
    fit_text,
    save_figure,
    text_width,
    wrap_text,
)

ROW_IN = 0.18  # row height, inches
GAP = 0.15  # inches between two columns' widest texts
LABEL_MAX = 4.5  # inches: a longer study label loses its middle to an ellipsis (forest_style.fit_text)
PLOT_W = 2.6  # inches: the intervals' axes, wider only when its header or Favours labels need it
_LABELLED = ("header", "study", "subtotal")  # the rows whose label stands in the label column


def judgement_marks(used: Collection[str], tool: str | None = None) -> dict[str, tuple[str, str, str]]:
    """Colour, symbol and label of each judgement the RoB columns may show: the traffic-light plot's
    (render/rob.py, the domain's levels), so a study reads the same in both figures. The tool
    ("rob1"/"rob2"; when not given, told by the middle level drawn: "unclear" is RoB 1's) decides
    the mark of a domain not judged."""
    from reviewkit.domain.rob1 import ROB1_LEVELS, ROB1_MISSING
    from reviewkit.domain.rob2 import ROB2_LEVELS, ROB2_MISSING
    from reviewkit.render.rob import COLOURS

    missing = ROB1_MISSING if (tool or ("rob1" if "unclear" in used else "rob2")) == "rob1" else ROB2_MISSING
    return {lvl.code: (COLOURS[lvl.code], lvl.symbol, lvl.label) for lvl in (*ROB1_LEVELS, *ROB2_LEVELS, missing)}


@dataclass
class _Row:
    kind: str  # header, study, subtotal, text, blank
    label: str
    cells: list[str] = field(default_factory=list)
    weight: float | None = None
    effect: tuple[float, float, float] | None = None  # estimate, lower, upper (natural scale)
    bold: bool = False
    #: A summary row's prediction interval (natural scale), drawn through its diamond when the analysis shows it.
    pi: tuple[float, float] | None = None


def _columns(result: MetaResult) -> tuple[list[str], list[str]]:
    """Group headers and column headers of the data columns."""
    if isinstance(result.effects.arms, BinaryArms):
        return ["Experimental", "Control"], ["Events", "Total", "Events", "Total"]
    if isinstance(result.effects.arms, ContinuousArms):
        return ["Experimental", "Control"], ["Mean", "SD", "Total", "Mean", "SD", "Total"]
    # RevMan heads a generic ratio's columns "log[…]": the number is the log, not the ratio a CSV's "estimate" gave
    return [], ["log[Effect]" if result.is_ratio else "Estimate", "SE"]


def _cells(result: MetaResult, i: int) -> list[str]:
    arms = result.effects.arms
    if isinstance(arms, BinaryArms):
        return [format_number(v) for v in (arms.events_treat[i], arms.n_treat[i], arms.events_ctrl[i], arms.n_ctrl[i])]
    if isinstance(arms, ContinuousArms):
        return [format_number(v) for v in (arms.mean_treat[i], arms.sd_treat[i], arms.n_treat[i],
                                            arms.mean_ctrl[i], arms.sd_ctrl[i], arms.n_ctrl[i])]
    y, v = result.effects.yi[i], result.effects.vi[i]
    return [f"{y:.4f}", f"{math.sqrt(v):.4f}"] if math.isfinite(y) else ["", ""]


def _totals(result: MetaResult) -> tuple[list[str], str | None]:
    """Subtotal cells (participants per arm) and RevMan's "Total events" line for binary data."""
    arms = result.effects.arms
    keep = result.positions
    if isinstance(arms, BinaryArms):
        n1 = sum(arms.n_treat[i] for i in keep)
        n2 = sum(arms.n_ctrl[i] for i in keep)
        e1 = sum(arms.events_treat[i] for i in keep)
        e2 = sum(arms.events_ctrl[i] for i in keep)
        return ["", format_number(n1), "", format_number(n2)], f"{format_number(e1)}|{format_number(e2)}"
    if isinstance(arms, ContinuousArms):
        n1 = sum(arms.n_treat[i] for i in keep)
        n2 = sum(arms.n_ctrl[i] for i in keep)
        return ["", "", format_number(n1), "", "", format_number(n2)], None
    return ["", ""], None


def _study_rows(result: MetaResult, weights: Mapping[int, float]) -> list[_Row]:
    """One row per input study; weights are keyed by the study's position in the original input."""
    rows = []
    origin = result.effects.origin
    for i, row in enumerate(result.study_rows()):
        eff = None
        if row["effect"] is not None:
            eff = (row["effect"], row["ci_lower"], row["ci_upper"])
        rows.append(_Row("study", row["study"], _cells(result, i), weights.get(origin[i]), eff))
    return rows


def _summary_rows(result: MetaResult, label: str, weight: float | None) -> list[_Row]:
    cells, events = _totals(result)
    lo, hi = result.effect_ci
    pi_lo, pi_hi = result.effect_pi
    drawn = (pi_lo, pi_hi) if pi_lo is not None and pi_hi is not None and prediction_interval_text(result) else None
    rows = [_Row("subtotal", f"{label} ({result.level * 100:g}% CI)", cells, weight, (result.effect, lo, hi), bold=True,
                 pi=drawn)]
    if events is not None:
        e1, e2 = events.split("|")
        rows.append(_Row("text", "Total events", [e1, "", e2, ""]))
    rows.append(_Row("text", heterogeneity_text(result)))
    rows.append(_Row("text", overall_effect_text(result)))
    if (pi := prediction_interval_text(result)) is not None:
        rows.append(_Row("text", pi))
    return rows


def _layout(result: MetaResult | SubgroupResult) -> tuple[MetaResult, list[_Row]]:
    overall = result.overall if isinstance(result, SubgroupResult) else result
    # RevMan shows each study's weight in the overall analysis, also inside subgroups
    origin = overall.effects.origin
    weights = {origin[p]: w for p, w in zip(overall.positions, overall.weights_percent, strict=True)}
    rows: list[_Row] = []
    if isinstance(result, SubgroupResult):
        for name, sub in zip(result.names, result.results, strict=True):
            rows.append(_Row("header", name, bold=True))
            rows.extend(_study_rows(sub, weights))
            sub_weight = sum(weights.get(sub.effects.origin[p], 0.0) for p in sub.positions)
            rows.extend(_summary_rows(sub, "Subtotal", sub_weight))
            rows.append(_Row("blank", ""))
    else:
        rows.extend(_study_rows(result, weights))
        rows.append(_Row("blank", ""))
    rows.extend(_summary_rows(overall, "Total", 100.0))
    if isinstance(result, SubgroupResult) and result.Q_between is not None:
        rows.append(_Row("text", f"Test for subgroup differences: Chi² = {result.Q_between:.2f}, "
                                 f"df = {result.Q_between_df} ({format_p(result.Q_between_p)}), "
                                 f"I² = {result.I2_between:.1f}%"))
    elif isinstance(result, SubgroupResult) and result.warnings:
        # several subgroups, yet no test (a subgroup's SE of 0): said, as RevMan words a missing test
        rows.append(_Row("text", "Test for subgroup differences: Not applicable"))
    return overall, rows


def _x_ticks(overall: MetaResult, rows: list[_Row]) -> list[float]:
    """Tick marks of the effect axis; the first and last are the limits."""
    return effect_ticks((b for r in rows if r.effect for b in r.effect[1:]), overall.is_ratio)


def forest_plot(
    result: MetaResult | SubgroupResult, path: str | Path, *,
    labels: tuple[str, str] = ("experimental", "control"),
    extra_columns: Mapping[str, Mapping[str, str]] | None = None, title: str | None = None,
    extra_names: Mapping[str, str] | None = None, extra_tool: str | None = None, notes: Sequence[str] = (),
) -> Path:
    """Draw a RevMan 5-style forest plot of result and save it (format by suffix: .svg, .png, .pdf).

    extra_columns maps a study label to {column: judgement} (e.g. RoB 2 domains to "low",
    "some_concerns", "high"); each column is drawn as coloured dots right of the plot, with a
    legend below it: each column's name from extra_names (D1 → the tool's domain) and the
    judgements' colours and symbols. notes are printed under the Total (e.g. how a shared control
    group was counted).
    """
    overall, rows = _layout(result)
    if notes:
        at = max(j for j, r in enumerate(rows) if r.kind == "subtotal") + 1  # just under the Total
        if at < len(rows) and rows[at].label == "Total events":
            at += 1
        rows[at:at] = [_Row("text", note) for note in notes]
    groups, headers = _columns(overall)
    # Each column is as wide as its widest text (measured), so nothing runs into its neighbour:
    # before, positions were fixed or guessed per character and a long header ("IV, Random (HKSJ ad
    # hoc, max(1, q)), 95% CI") ran over "Weight" and the plot's header.
    x = 0.05 + GAP + max([text_width("Study or Subgroup", bold=True),  # a wider gap after the labels
                          *(min(LABEL_MAX, text_width(r.label, bold=r.bold)) for r in rows if r.kind in _LABELLED)])
    widths = [max([text_width(h, bold=True), *(text_width(r.cells[j], bold=r.bold) for r in rows if len(r.cells) > j)])
              for j, h in enumerate(headers)]
    if groups:  # an arm's header ("Experimental") spans its columns: widen them when it is wider
        half = len(widths) // 2
        for part, group in ((slice(0, half), groups[0]), (slice(half, None), groups[1])):
            short = text_width(group, bold=True) - (sum(widths[part]) + GAP * (half - 1))
            widths[part] = [w + max(0.0, short) / half for w in widths[part]]
    xs = []
    for w in widths:
        xs.append(x + GAP + w / 2)
        x += GAP + w
    weight_w = max(text_width("Weight", bold=True), text_width("100.0%", bold=True))
    x_weight = x + GAP + weight_w / 2
    x += GAP + weight_w
    name, sub = _header_text(overall)
    text_w = max([text_width(name, bold=True), text_width(sub, bold=True),
                  *(text_width(format_effect(*r.effect), bold=r.bold) for r in rows if r.effect),
                  text_width("Not estimable")])
    x_text = x + 2 * GAP + text_w / 2
    x_plot0 = x + 4 * GAP + text_w
    favours = max(text_width(f"Favours [{side}]") for side in labels)
    plot_w = max(PLOT_W, text_width(sub, bold=True) + GAP, 2 * favours + 2 * GAP)
    # A line under the table (a note, the heterogeneity) ends before the plot, broken at spaces where longer,
    # so it never runs through the intervals' axes.
    rows = _wrapped(rows, x_plot0 - GAP - 0.05)
    extra_keys = list(dict.fromkeys(k for d in (extra_columns or {}).values() for k in d))
    width = x_plot0 + plot_w + 0.3 + 0.25 * len(extra_keys) + 0.2
    legend = _legend_lines(extra_keys, extra_names)
    n = len(rows) + 3 + (len(legend) + 3 if extra_keys else 0)
    ticks = _x_ticks(overall, rows)
    with plt.rc_context(RC):
        fig, text_ax, plot_ax = row_page(width, n, len(rows), x_plot0, plot_w)
        _draw_header(text_ax, (name, sub), groups, headers, xs, x_weight, x_text, (x_plot0, plot_w), title)
        _draw_rows(text_ax, plot_ax, rows, xs, x_weight, x_text, (ticks[0], ticks[-1]))
        _draw_axis(plot_ax, overall, rows, labels)
        if extra_keys:
            marks = judgement_marks({v for d in (extra_columns or {}).values() for v in d.values()}, extra_tool)
            _draw_extra(text_ax, rows, extra_columns or {}, extra_keys, x_plot0 + plot_w + 0.4, marks)
            _draw_legend(text_ax, legend, extra_columns or {}, len(rows) + 5.5, marks, extra_tool)
        out = save_figure(fig, path)
        plt.close(fig)
    return out


def _wrapped(rows: list[_Row], room: float) -> list[_Row]:
    """rows with each line of text alone on its row broken into rows no wider than room (inches)."""
    out: list[_Row] = []
    for row in rows:
        if row.kind == "text" and not row.cells:
            out.extend(_Row("text", line, bold=row.bold) for line in wrap_text(row.label, room, bold=row.bold))
        else:
            out.append(row)
    return out


def row_page(width: float, n: int, n_rows: int, x_plot0: float, plot_w: float) -> tuple[Figure, Axes, Axes]:
    """A figure of `n` text lines (inches: ROW_IN each) with an axes for the intervals beside them.

    The interval axes' y range is the text rows' range, so each square or CI sits on its row's
    line; the sensitivity plot draws its refits on the same page.
    """
    fig = plt.figure(figsize=(width, (n + 2) * ROW_IN))
    text_ax = fig.add_axes((0, 0, 1, 1))
    text_ax.set_xlim(0, width)
    text_ax.set_ylim(n + 1.5, -1.5)
    text_ax.axis("off")
    y_top, y_bottom = 1.5, n_rows + 2.5
    f0, f1 = (n + 1.5 - y_bottom) / (n + 3), (n + 1.5 - y_top) / (n + 3)
    plot_ax = fig.add_axes((x_plot0 / width, f0, plot_w / width, f1 - f0))
    plot_ax.set_ylim(y_bottom, y_top)
    return fig, text_ax, plot_ax


def _header_text(overall: MetaResult) -> tuple[str, str]:
    """The effect columns' two header lines: "Risk Ratio" and "M-H, Random, 95% CI" (with the HKSJ adjustment)."""
    name = MEASURE_NAMES.get(overall.measure, overall.measure)
    how = f"{METHOD_NAMES.get(overall.method, overall.method)}, {overall.model.capitalize()}"
    if (hk := hksj_label(overall.hksj, overall.hksj_adhoc)) is not None:
        how += f" ({hk})"
    return name, f"{how}, {overall.level * 100:g}% CI"


def _draw_header(ax: Axes, effect_header: tuple[str, str], groups: list[str], headers: list[str], xs: list[float],
                 x_weight: float, x_text: float, plot: tuple[float, float], title: str | None) -> None:
    if title:
        ax.text(0.05, -1.2, title, fontweight="bold", va="center")
    if groups:
        half = len(xs) // 2
        ax.text(sum(xs[:half]) / half, -0.5, groups[0], ha="center", fontweight="bold", va="center")
        ax.text(sum(xs[half:]) / half, -0.5, groups[1], ha="center", fontweight="bold", va="center")
    ax.text(0.05, 0.5, "Study or Subgroup", fontweight="bold", va="center")
    for x, h in zip(xs, headers, strict=True):
        ax.text(x, 0.5, h, ha="center", fontweight="bold", va="center")
    ax.text(x_weight, 0.5, "Weight", ha="center", fontweight="bold", va="center")
    draw_effect_header(ax, effect_header, x_text, plot)


def draw_effect_header(ax: Axes, effect_header: tuple[str, str], x_text: float, plot: tuple[float, float]) -> None:
    """The effect's two-line header ("Risk Ratio" / "M-H, Random, 95% CI") over its text column and over the
    plot, and the rule under the headers; the forest and the leave-one-out/cumulative plots share it."""
    name, sub = effect_header
    x_plot0, plot_w = plot
    for x in (x_text, x_plot0 + plot_w / 2):
        ax.text(x, -0.5, name, ha="center", fontweight="bold", va="center")
        ax.text(x, 0.5, sub, ha="center", fontweight="bold", va="center")
    ax.plot([0.05, x_plot0 + plot_w], [1.0, 1.0], color="black", lw=0.6)


def _draw_rows(ax: Axes, plot_ax: Axes, rows: list[_Row], xs: list[float], x_weight: float, x_text: float,
               limits: tuple[float, float]) -> None:
    weights = [r.weight for r in rows if r.kind == "study" and r.weight]
    wmax = max(weights, default=1.0)
    for j, row in enumerate(rows):
        y = j + 2
        style: dict[str, Any] = {"fontweight": "bold"} if row.bold else {}
        if row.kind in _LABELLED:  # the label column's (a text row runs on under the columns: no cells there)
            ax.text(0.05, y, fit_text(row.label, LABEL_MAX, bold=row.bold), va="center", **style)
        elif row.kind == "text":
            ax.text(0.05, y, row.label, va="center", **style)
        for x, c in zip(xs, row.cells, strict=False):
            ax.text(x, y, c, ha="center", va="center", **style)
        if row.weight is not None:
            ax.text(x_weight, y, f"{row.weight:.1f}%", ha="center", va="center", **style)
        if row.kind in ("study", "subtotal"):
            eff = row.effect
            ax.text(x_text, y, format_effect(*(eff if eff else (None, None, None))), ha="center", va="center", **style)
        if row.effect is None:
            continue
        est, lo, hi = row.effect
        if row.kind == "study":
            size = 2.5 + 6.5 * math.sqrt((row.weight or 0.0) / wmax)  # square area ∝ weight
            draw_ci(plot_ax, y, row.effect, size, limits)
        else:
            if row.pi is not None:
                draw_prediction_interval(plot_ax, y, (est, *row.pi), limits)
            plot_ax.add_patch(Polygon([(lo, y), (est, y - 0.35), (hi, y), (est, y + 0.35)],
                                      closed=True, color="black", zorder=3, gid=f"summary-diamond-{y}"))


def draw_prediction_interval(ax: Axes, y: float, interval: tuple[float, float, float],
                             limits: tuple[float, float]) -> None:
    """The prediction interval through its summary diamond, as metafor's forest(addpred = TRUE) draws it: a
    dotted line between short end bars, under the diamond; beyond the axis it ends in an arrow, as a
    study's CI does. Drawn, the spread of true effects reads at a glance beside the CI the diamond shows
    (before, only the text line under the Total gave it). In an SVG its parts have the ids
    "prediction-interval-ROW" (the line) and "prediction-interval-ROW-lower"/"-upper" (bar or arrow)."""
    line, left, right, _ = ci_parts(interval, limits)
    gid = f"prediction-interval-{y}"
    if line is not None:
        ax.plot(line, [y, y], color="black", lw=0.8, ls=(0, (1, 1.5)), clip_on=True, zorder=2, gid=gid)
    for side, x, beyond, edge, marker in (("lower", interval[1], left, limits[0], "<"),
                                          ("upper", interval[2], right, limits[1], ">")):
        if beyond:
            ax.plot([edge], [y], marker=marker, color="black", markersize=4, clip_on=False, gid=f"{gid}-{side}")
        else:
            ax.plot([x, x], [y - 0.2, y + 0.2], color="black", lw=0.8, clip_on=True, zorder=2, gid=f"{gid}-{side}")


def ci_parts(effect: tuple[float, float, float], limits: tuple[float, float]
             ) -> tuple[tuple[float, float] | None, bool, bool, bool]:
    """What of a CI the axis shows: the line's ends within the limits (None when none of it is), an arrow
    at the left and at the right edge (the CI goes on beyond it, as RevMan marks it), and whether the square
    (the estimate) is within the axis."""
    est, lo, hi = effect
    left, right = limits
    a, b = max(lo, left), min(hi, right)
    return ((a, b) if a < b else None), lo < left, hi > right, left <= est <= right


def draw_ci(ax: Axes, y: float, effect: tuple[float, float, float], size: float, limits: tuple[float, float]) -> None:
    """A study's CI and square on row y; a CI beyond the axis ends in an arrow at its edge (before, the line
    just stopped there, reading as a CI that ends at the axis's limit)."""
    line, left, right, square = ci_parts(effect, limits)
    if line is not None:
        ax.plot(line, [y, y], color="black", lw=0.8, clip_on=True)
    for x, shown, marker in ((limits[0], left, "<"), (limits[1], right, ">")):
        if shown:
            ax.plot([x], [y], marker=marker, color="black", markersize=4, clip_on=False)
    if square:
        ax.plot([effect[0]], [y], marker="s", color="#1f3a93", markersize=size, clip_on=True)


def _draw_axis(ax: Axes, overall: MetaResult, rows: list[_Row], labels: tuple[str, str]) -> None:
    ticks = _x_ticks(overall, rows)
    null = 1.0 if overall.is_ratio else 0.0
    if overall.is_ratio:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlim(ticks[0], ticks[-1])
    ax.axvline(null, color="black", lw=0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.patch.set_alpha(0)
    ax.annotate(f"Favours [{labels[0]}]", xy=(0.25, 0), xycoords="axes fraction", xytext=(0, -22),
                textcoords="offset points", ha="center", va="top")
    ax.annotate(f"Favours [{labels[1]}]", xy=(0.75, 0), xycoords="axes fraction", xytext=(0, -22),
                textcoords="offset points", ha="center", va="top")


def _draw_extra(ax: Axes, rows: list[_Row], extra: Mapping[str, Mapping[str, str]], keys: list[str], x0: float,
                marks: Mapping[str, tuple[str, str, str]]) -> None:
    for c, key in enumerate(keys):
        # Short keys (D1…) sit level; longer ones ("overall") stand upright so columns stay narrow.
        ax.text(x0 + 0.25 * c, 0.5, key.capitalize() if len(key) > 2 else key, ha="center",
                va="bottom" if len(key) > 2 else "center", fontweight="bold", rotation=90 if len(key) > 2 else 0)
    for j, row in enumerate(rows):
        if row.kind != "study" or row.label not in extra:
            continue
        for c, key in enumerate(keys):
            value = extra[row.label].get(key)
            if value is None:
                continue
            colour, sign, _ = marks.get(value, ("#9e9e9e", " ", ""))
            _mark(ax, x0 + 0.25 * c, j + 2, colour, sign)


def _mark(ax: Axes, x: float, y: float, colour: str, sign: str) -> None:
    ax.plot([x], [y], marker="o", markersize=10, color=colour, markeredgecolor="#333333", markeredgewidth=0.5)
    ax.text(x, y, sign, ha="center", va="center", color="black", fontweight="bold")


def _legend_lines(keys: list[str], names: Mapping[str, str] | None) -> list[str]:
    """The extra columns' names ("D1: Random sequence generation (selection bias)"), those known."""
    return [f"{key.capitalize() if len(key) > 2 else key}: {names[key]}" for key in keys if names and key in names]


def _draw_legend(ax: Axes, lines: list[str], extra: Mapping[str, Mapping[str, str]], y: float,
                 marks: Mapping[str, tuple[str, str, str]], tool: str | None) -> None:
    """Below the plot: what each extra column is, then each judgement's colour and symbol."""
    ax.text(0.05, y, "Risk of bias", fontweight="bold", va="center")
    for i, line in enumerate(lines):
        ax.text(0.05, y + 1 + i, line, va="center")
    used = {v for judgements in extra.values() for v in judgements.values()}
    # The middle level is "some concerns" in RoB 2 and "unclear" in RoB 1: the tool's, else whichever is drawn.
    middle = ({"rob1": ["unclear"], "rob2": ["some_concerns"]}.get(tool or "")
              or [c for c in ("some_concerns", "unclear") if c in used] or ["some_concerns"])
    codes = ["low", *middle, "high", *(["no_information"] if "no_information" in used else [])]
    x, key_y = 0.15, y + 1 + len(lines)
    for code in codes:
        colour, sign, label = marks[code]
        _mark(ax, x, key_y, colour, sign)
        ax.text(x + 0.15, key_y, label, va="center")
        x += 0.3 + text_width(label)
