"""Provides the `meta` command: a meta-analysis of a CSV of studies, as a table, JSON or a plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from reviewkit.cli.common import check_suffix, output_file, run_guarded
from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    ESTIMATORS,
    FLAVOURS,
    MEASURES,
    METHODS,
    MODELS,
    MetaResult,
    SensitivityResult,
    SubgroupResult,
    cumulative,
    egger_test,
    get_flavour,
    leave_one_out,
    pool,
    resolve_settings,
    subgroup_analysis,
    trim_and_fill,
)
from reviewkit.pooling.effects import BINARY_MEASURES
from reviewkit.pooling.flavours import DEFAULT_FLAVOUR
from reviewkit.pooling.wording import hksj_label, prediction_interval_method
from reviewkit.services.analyze_sensitivity import funnel_effects
from reviewkit.services.meta_input import study_effects
from reviewkit.wording import counted

ANALYSES = ("leave-one-out", "cumulative", "egger", "trimfill")


def run_meta(path: Path, measure: str, method: str | None, model: str | None, tau2: str | None,
             hksj: bool | None, flavour: str, subgroup: str | None, analysis: str | None,
             level: float, scale: str = "difference", prediction_interval: bool | None = None,
             hksj_adhoc: bool = False) -> tuple[Any, MetaResult, tuple[str, ...]]:
    """Compute the requested analysis; returns it, the main pooled result (for plots) and notes on
    how the file was read (services.meta_input reads and checks it)."""
    if subgroup and analysis:
        raise ReviewkitError("use either --subgroup or --analysis, not both")
    settings = resolve_settings(measure, method=method, model=model, tau2=tau2, hksj=hksj,
                                flavour=flavour, level=level, prediction_interval=prediction_interval,
                                hksj_adhoc=hksj_adhoc)
    effects, notes = study_effects(path, measure, subgroup=subgroup, scale=scale,
                                   smd_variance=settings.flavour.smd_variance,
                                   rd_estimate=settings.flavour.rd_estimate)
    kwargs = settings.pool_kwargs()
    main: MetaResult = pool(effects, **kwargs)
    out: Any = main
    if subgroup:
        out = subgroup_analysis(effects, **kwargs)
    elif analysis == "leave-one-out":
        out = leave_one_out(effects, **kwargs)
    elif analysis == "cumulative":
        out = cumulative(effects, **kwargs)
    elif analysis == "egger":
        out = egger_test(funnel_effects(effects, main))
    elif analysis == "trimfill":
        out = trim_and_fill(funnel_effects(effects, main), **kwargs)
    return out, main, notes


#: From here on a number is printed in exponent form: a double holds ~16 significant digits, so
#: "{:.4f}" of 1e20 would print digits that are rounding noise (and a row 100 characters wide).
_FIXED_LIMIT = 1e12


def _fmt(x: float | None, digits: int = 4) -> str:
    # NaN is an undefined number (the t test of an HKSJ SE of 0): NA, as None, never "nan"
    if x is None or math.isnan(x):
        return "NA"
    return f"{x:.{digits}e}" if abs(x) >= _FIXED_LIMIT else f"{x:.{digits}f}"


def _p(p: float | None) -> str:
    return "NA" if p is None or math.isnan(p) else f"{p:.4g}"


def _pct(x: float | None) -> str:
    """I² as every line of meta's text prints it: one decimal and a percent sign."""
    return "NA" if x is None else f"{x:.1f}%"


def _studies(k: int) -> str:
    return counted(k, "study", "studies")


def _settings_line(result: MetaResult) -> str:
    hk = hksj_label(result.hksj, result.hksj_adhoc)
    return (f"{result.measure} ({result.method}, {result.model}"
            f"{', ' + str(result.estimator) if result.estimator else ''}{', ' + hk if hk else ''}; "
            f"flavour {result.flavour})")


def heterogeneity_line(result: MetaResult) -> str:
    """Q, I² and (random effects only: a fixed-effect model has no tau²) tau²; one study has no Q."""
    if result.Q is None:
        return f"heterogeneity: Q not defined ({_studies(result.k)})"
    line = (f"heterogeneity: Q = {_fmt(result.Q)} (df {result.Q_df}, "
            f"p = {_p(result.Q_p)}), I2 = {_pct(result.I2)}")
    if result.model != "random":
        return line
    line += f", tau2 = {_fmt(result.tau2)}"
    if result.tau2_ci_lower is not None and result.tau2_ci_upper is not None:
        # ">100": the limit lies beyond the search bound (metafor's tau2.max), which stands in for it
        lo = (">" if result.tau2_ci_lower_beyond else "") + _fmt(result.tau2_ci_lower)
        hi = (">" if result.tau2_ci_upper_beyond else "") + _fmt(result.tau2_ci_upper)
        line += f" [{lo}, {hi}]"
    return line


def format_table(result: MetaResult) -> str:
    """Per-study rows, the pooled line and heterogeneity, on the natural scale."""
    lines = [_settings_line(result),
             f"{'study':<28} {'effect':>10} {'lower':>10} {'upper':>10} {'weight%':>8}"]
    for row in result.study_rows():
        if row["effect"] is None:
            lines.append(f"{row['study'][:28]:<28} {'not estimable':>10}")
            continue
        lines.append(f"{row['study'][:28]:<28} {_fmt(row['effect']):>10} {_fmt(row['ci_lower']):>10} "
                     f"{_fmt(row['ci_upper']):>10} {_fmt(row['weight_percent'], 2):>8}")
    lo, hi = result.effect_ci
    lines.append(f"{'pooled (' + _studies(result.k) + ')':<28} {_fmt(result.effect):>10} {_fmt(lo):>10} {_fmt(hi):>10} {'100.00':>8}")
    stat = f"t({result.test_df})" if result.test_df else "z"
    lines.append(f"test: {stat} = {_fmt(result.statistic)}, p = {_p(result.p)}")
    lines.append(heterogeneity_line(result))
    pl, pu = result.effect_pi
    if pl is not None and result.show_prediction_interval:  # as the forest plot: shown when the analysis shows it
        lines.append(f"prediction interval ({prediction_interval_method(result)}): {_fmt(pl)} to {_fmt(pu)}")
    for e in result.effects.excluded:
        lines.append(f"left out: {e.study} ({e.reason})")
    lines.extend(f"note: {n}" for n in result.notes)
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def format_sensitivity(out: SensitivityResult, main: MetaResult) -> str:
    """One line per refit: the study omitted (or added), the pooled effect with its CI on the natural
    scale, p, I² and (random effects) tau²; then the refits' warnings, each with its step."""
    key = "omitted" if out.kind == "leave-one-out" else "added"
    random = main.model == "random"
    lines = [f"{out.kind}: {_settings_line(main)}",
             f"{key:<28} {'k':>4} {'effect':>10} {'lower':>10} {'upper':>10} {'p':>10} {'I2':>7}"
             + (f" {'tau2':>10}" if random else "")]
    i2 = out.to_dict()["I2"]  # as the JSON gives it (0 for cumulative's one-study step, as metafor)
    for label, step, step_i2 in zip(out.labels, out.results, i2, strict=True):
        lo, hi = step.effect_ci
        lines.append(f"{label[:28]:<28} {step.k:>4} {_fmt(step.effect):>10} {_fmt(lo):>10} {_fmt(hi):>10} "
                     f"{_p(step.p):>10} {_pct(step_i2):>7}" + (f" {_fmt(step.tau2):>10}" if random else ""))
    lines.extend(f"warning ({key} {label}): {w}" for label, step in zip(out.labels, out.results, strict=True)
                 for w in step.warnings)
    return "\n".join(lines)


def format_output(out: Any, main: MetaResult | None = None) -> str:
    """A readable rendering of any analysis result (`main`, the analysis of all studies, heads a
    sensitivity analysis's table)."""
    if isinstance(out, MetaResult):
        return format_table(out)
    if isinstance(out, SubgroupResult):
        parts = [f"== subgroup {n} ==\n{format_table(r)}" for n, r in zip(out.names, out.results, strict=True)]
        parts.append(f"== overall ==\n{format_table(out.overall)}")
        if out.Q_between is not None:
            parts.append(f"test for subgroup differences: Q = {_fmt(out.Q_between)}, df = {out.Q_between_df}, "
                         f"p = {_p(out.Q_between_p)}, I2 = {_pct(out.I2_between)}")
        elif not out.warnings:
            parts.append(f"test for subgroup differences: not applicable ({len(out.names)} subgroup)")
        parts.extend(f"warning: {w}" for w in out.warnings)
        return "\n\n".join(parts)
    if isinstance(out, SensitivityResult) and main is not None:
        return format_sensitivity(out, main)
    data = out.to_dict()
    lines = [f"{k}: {v}" for k, v in data.items() if not isinstance(v, list)]
    lines.extend(f"warning: {w}" for w in data.get("warnings") or getattr(out, "warnings", ()))
    return "\n".join(lines)


#: The figure formats the plots are written in.
PLOT_SUFFIXES = (".svg", ".png", ".pdf")


def _plot(out: Any, main: MetaResult, plot: Path) -> None:
    from reviewkit.render.forest import forest_plot  # matplotlib only when a plot is asked for
    from reviewkit.render.funnel import funnel_plot
    from reviewkit.render.sensitivity_plot import sensitivity_plot

    if isinstance(out, SubgroupResult):
        forest_plot(out, plot)
    elif isinstance(out, SensitivityResult):
        sensitivity_plot(out, main, plot)
    elif isinstance(out, MetaResult):
        forest_plot(main, plot)
    else:
        funnel_plot(main, plot, trimfill=out if hasattr(out, "k0") else None)


@click.command("meta", short_help="Meta-analyse the studies in a CSV file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--measure", type=click.Choice(MEASURES), required=True, help="Effect measure.")
@click.option("--method", type=click.Choice(METHODS), default=None, help="Pooling method (default: the flavour's).")
@click.option("--model", type=click.Choice(MODELS), default=None,
              help="fixed or random (default: the flavour's, random in each).")
@click.option("--tau2", type=click.Choice(ESTIMATORS), default=None, help="tau² estimator (default: the flavour's).")
@click.option("--hksj/--no-hksj", default=None, help="Hartung-Knapp-Sidik-Jonkman CI (default: the flavour's).")
@click.option("--hksj-adhoc", "hksj_adhoc", is_flag=True, default=False,
              help="The ad hoc HKSJ, max(1, q) (Röver et al. 2015; R meta's adhoc.hakn.ci = \"se\"): the CI is never "
                   "narrower than the plain SE's with t(k-1). Needs HKSJ (--hksj, or cochrane2025's default).")
@click.option("--flavour", type=click.Choice(list(FLAVOURS)), default=DEFAULT_FLAVOUR, show_default=True,
              help="Conventions: RevMan 5, metafor, or Cochrane's current recommendation.")
@click.option("--prediction-interval/--no-prediction-interval", "prediction_interval", default=None,
              help="Show the prediction interval in the text and plot (default: the flavour's; revman5 shows "
                   "none). The JSON has it either way.")
@click.option("--subgroup", "subgroup", default=None, metavar="COLUMN", help="Column holding subgroup labels.")
@click.option("--analysis", type=click.Choice(ANALYSES), default=None, help="A sensitivity or small-study analysis.")
@click.option("--level", type=float, default=0.95, show_default=True,
              help="Confidence level of the intervals computed, between 0 and 1 (generic data's ci_lower and "
                   "ci_upper are read as 95% CIs whatever it is).")
@click.option("--scale", type=click.Choice(["difference", "ratio"]), default="difference", show_default=True,
              help="Generic data: ratio means yi are logs (estimate/CI are ratios), shown exponentiated.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON (log scale for ratios, plus effect*).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a forest plot (of the refits for leave-one-out/cumulative; funnel plot for "
                   "egger/trimfill): .svg, .png or .pdf.")
def meta(file: Path, measure: str, method: str | None, model: str | None, tau2: str | None,
         hksj: bool | None, hksj_adhoc: bool, flavour: str, prediction_interval: bool | None, subgroup: str | None,
         analysis: str | None, level: float, scale: str, as_json: bool, plot: Path | None) -> None:
    """Meta-analyse the studies in FILE (CSV with a 'study' column and the measure's columns).

    Binary: events_treat, n_treat, events_ctrl, n_ctrl. Continuous: mean_treat, sd_treat, n_treat,
    mean_ctrl, sd_ctrl, n_ctrl. Generic: yi and vi, yi and se, or estimate, ci_lower, ci_upper.
    Column names may be in any case; a semicolon- or tab-separated file is read as such.
    """
    fl = get_flavour(flavour)
    fixed = (model or fl.default_model) == "fixed"
    # Options that cannot go together are refused before the file is read, as usage errors naming the
    # options: pooling would refuse them too, but only after the file's own errors, and without the names.
    if not 0 < level < 1:  # also NaN
        raise click.UsageError(f"--level must lie between 0 and 1, exclusive (got {level:g}; a 95% level is 0.95)")
    if method in ("MH", "Peto") and measure not in BINARY_MEASURES:
        raise click.UsageError(f"--method {method} needs binary data (RR, OR or RD), not --measure {measure}: "
                               "use --method IV")
    if method == "Peto" and measure != "OR":
        raise click.UsageError(f"--method Peto estimates an odds ratio: use --measure OR, not {measure}")
    if method == "Peto" and not fixed:
        raise click.UsageError("--method Peto is fixed-effect only (as in RevMan): add --model fixed")
    # tau² and the Hartung-Knapp adjustment belong to a random-effects model: a fixed-effect one
    # would silently ignore them
    if tau2 is not None and fixed:
        raise click.UsageError(f"--tau2 {tau2} applies to random-effects models only: drop --tau2, "
                               "or use --model random")
    if hksj and fixed:
        raise click.UsageError("--hksj applies to random-effects models only: drop --hksj, or use --model random")
    if hksj_adhoc and fixed:
        raise click.UsageError("--hksj-adhoc modifies the Hartung-Knapp adjustment of random-effects models only: "
                               "drop --hksj-adhoc, or use --model random")
    # HKSJ as resolve_settings() fills it in: asked for, else the flavour's default (cochrane2025's is on)
    if hksj_adhoc and not (fl.default_hksj if hksj is None else hksj):
        off = "--no-hksj turns it off" if hksj is False else f"flavour {flavour} does not use it by default"
        raise click.UsageError(f"--hksj-adhoc modifies HKSJ, which is off ({off}): add --hksj, or drop --hksj-adhoc")
    if prediction_interval and fixed:
        raise click.UsageError("--prediction-interval applies to random-effects models only (a fixed-effect model "
                               "has none): drop --prediction-interval, or use --model random")

    def body() -> None:
        if plot is not None:  # a wrong name is refused before the work, not after
            check_suffix(plot, PLOT_SUFFIXES, "meta --plot")
        out, main, notes = run_meta(file, measure, method, model, tau2, hksj, flavour, subgroup, analysis,
                                    level, scale, prediction_interval, hksj_adhoc)
        # The text is made before the plot is written: should making it fail, no plot is left behind
        # for an analysis that reported only an error.
        if as_json:
            # Notes go into the JSON, not to stderr: scripts read the two streams as one.
            data = {**out.to_dict(), **({"notes": list(notes)} if notes else {})}
            # allow_nan=False: the output never carries NaN (undefined numbers are null)
            text = json.dumps(data, indent=2, allow_nan=False)
        else:
            text = format_output(out, main)
        if plot is not None:
            with output_file(plot, PLOT_SUFFIXES, "meta --plot") as temp:
                _plot(out, main, temp)
        if not as_json:
            for note in notes:
                click.echo(f"note: {note}", err=True)
        click.echo(text)
        if plot is not None and not as_json:
            click.echo(f"plot written to {plot}")

    run_guarded(body)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(meta)
