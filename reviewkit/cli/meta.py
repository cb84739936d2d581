"""Provides the `meta` command: a meta-analysis of a CSV of studies, as a table, JSON or a plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from reviewkit.cli.common import check_suffix, output_file, run_guarded
from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.pooling import (
    ESTIMATORS,
    FLAVOURS,
    MEASURES,
    METHODS,
    MODELS,
    MetaResult,
    SubgroupResult,
    cumulative,
    effects_from_rows,
    egger_test,
    leave_one_out,
    pool,
    resolve_settings,
    subgroup_analysis,
    trim_and_fill,
)
from reviewkit.pooling.flavours import DEFAULT_FLAVOUR

ANALYSES = ("leave-one-out", "cumulative", "egger", "trimfill")


def read_rows(path: Path, subgroup: str | None) -> list[dict[str, Any]]:
    """The CSV's rows as dicts; the subgroup column (if named) is copied to 'subgroup'."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [dict(r) for r in reader]
            columns = reader.fieldnames or []
    except UnicodeDecodeError as exc:
        raise ParseError("not a UTF-8 text file", file=str(path), offset=exc.start) from None
    except csv.Error as exc:
        raise ParseError(f"not a readable CSV ({exc})", file=str(path)) from None
    if not rows:
        raise ParseError("no study rows (the file is empty or has only a header)", file=str(path))
    if "study" not in columns:
        raise ParseError("column 'study' is missing", file=str(path),
                         hint=f"columns found: {', '.join(c for c in columns if c)}")
    if subgroup:
        if subgroup not in columns:
            raise ParseError(f"subgroup column '{subgroup}' is missing", file=str(path))
        for row in rows:
            row["subgroup"] = row[subgroup]
    return rows


def run_meta(path: Path, measure: str, method: str | None, model: str | None, tau2: str | None,
             hksj: bool | None, flavour: str, subgroup: str | None, analysis: str | None,
             level: float, scale: str = "difference") -> tuple[Any, MetaResult]:
    """Compute the requested analysis; returns it and the main pooled result (for plots)."""
    if subgroup and analysis:
        raise ReviewkitError("use either --subgroup or --analysis, not both")
    settings = resolve_settings(measure, method=method, model=model, tau2=tau2, hksj=hksj,
                                flavour=flavour, level=level)
    rows = read_rows(path, subgroup)
    try:
        effects = effects_from_rows(rows, measure, smd_variance=settings.flavour.smd_variance,
                                    use_subgroups=subgroup is not None, generic_scale=scale)
    except ReviewkitError as exc:
        raise ReviewkitError(exc.message, where=str(path), hint=exc.hint) from None
    kwargs = settings.pool_kwargs()
    main: MetaResult = pool(effects, **kwargs)
    if subgroup:
        return subgroup_analysis(effects, **kwargs), main
    if analysis == "leave-one-out":
        return leave_one_out(effects, **kwargs), main
    if analysis == "cumulative":
        return cumulative(effects, **kwargs), main
    if analysis == "egger":
        return egger_test(effects), main
    if analysis == "trimfill":
        return trim_and_fill(effects, **kwargs), main
    return main, main


def _fmt(x: float | None, digits: int = 4) -> str:
    return "NA" if x is None else f"{x:.{digits}f}"


def format_table(result: MetaResult) -> str:
    """Per-study rows, the pooled line and heterogeneity, on the natural scale."""
    lines = [f"{result.measure} ({result.method}, {result.model}"
             f"{', ' + str(result.estimator) if result.estimator else ''}{', HKSJ' if result.hksj else ''}; "
             f"flavour {result.flavour})",
             f"{'study':<28} {'effect':>10} {'lower':>10} {'upper':>10} {'weight%':>8}"]
    for row in result.study_rows():
        if row["effect"] is None:
            lines.append(f"{row['study'][:28]:<28} {'not estimable':>10}")
            continue
        lines.append(f"{row['study'][:28]:<28} {_fmt(row['effect']):>10} {_fmt(row['ci_lower']):>10} "
                     f"{_fmt(row['ci_upper']):>10} {_fmt(row['weight_percent'], 2):>8}")
    lo, hi = result.effect_ci
    lines.append(f"{'pooled (' + str(result.k) + ' studies)':<28} {_fmt(result.effect):>10} {_fmt(lo):>10} {_fmt(hi):>10} {'100.00':>8}")
    stat = f"t({result.test_df})" if result.test_df else "z"
    lines.append(f"test: {stat} = {_fmt(result.statistic)}, p = {result.p:.4g}")
    lines.append(f"heterogeneity: Q = {_fmt(result.Q)} (df {result.Q_df if result.Q_df is not None else 'NA'}, "
                 f"p = {'NA' if result.Q_p is None else format(result.Q_p, '.4g')}), I2 = {_fmt(result.I2, 1)}%, tau2 = {_fmt(result.tau2)}")
    pl, pu = result.effect_pi
    if pl is not None:
        lines.append(f"prediction interval: {_fmt(pl)} to {_fmt(pu)}")
    for e in result.effects.excluded:
        lines.append(f"left out: {e.study} ({e.reason})")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def format_output(out: Any) -> str:
    """A readable rendering of any analysis result."""
    if isinstance(out, MetaResult):
        return format_table(out)
    if isinstance(out, SubgroupResult):
        parts = [f"== subgroup {n} ==\n{format_table(r)}" for n, r in zip(out.names, out.results, strict=True)]
        parts.append(f"== overall ==\n{format_table(out.overall)}")
        parts.append(f"test for subgroup differences: Q = {_fmt(out.Q_between)}, df = {out.Q_between_df}, "
                     f"p = {_fmt(out.Q_between_p)}, I2 = {_fmt(out.I2_between, 1)}%")
        return "\n\n".join(parts)
    data = out.to_dict()
    if "omitted" in data or "added" in data:
        key = "omitted" if "omitted" in data else "added"
        lines = [f"{key:<28} {'effect':>10} {'estimate':>10} {'se':>10} {'I2':>6} {'tau2':>10}"]
        for i, label in enumerate(data[key]):
            lines.append(f"{label[:28]:<28} {_fmt(data['effect'][i]):>10} {_fmt(data['estimate'][i]):>10} "
                         f"{_fmt(data['se'][i]):>10} {_fmt(data['I2'][i], 1):>6} {_fmt(data['tau2'][i]):>10}")
        return "\n".join(lines)
    return "\n".join(f"{k}: {v}" for k, v in data.items() if not isinstance(v, list))


#: The figure formats the plots are written in.
PLOT_SUFFIXES = (".svg", ".png", ".pdf")


def _plot(out: Any, main: MetaResult, plot: Path) -> None:
    from reviewkit.render.forest import forest_plot  # matplotlib only when a plot is asked for
    from reviewkit.render.funnel import funnel_plot

    if isinstance(out, SubgroupResult):
        forest_plot(out, plot)
    elif isinstance(out, MetaResult) or out.__class__.__name__ == "SensitivityResult":
        forest_plot(main, plot)
    else:
        funnel_plot(main, plot, trimfill=out if hasattr(out, "k0") else None)


@click.command("meta")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--measure", type=click.Choice(MEASURES), required=True, help="Effect measure.")
@click.option("--method", type=click.Choice(METHODS), default=None, help="Pooling method (default: the flavour's).")
@click.option("--model", type=click.Choice(MODELS), default=None, help="fixed or random (default: random).")
@click.option("--tau2", type=click.Choice(ESTIMATORS), default=None, help="tau² estimator (default: the flavour's).")
@click.option("--hksj/--no-hksj", default=None, help="Hartung-Knapp-Sidik-Jonkman CI (default: the flavour's).")
@click.option("--flavour", type=click.Choice(list(FLAVOURS)), default=DEFAULT_FLAVOUR, show_default=True,
              help="Conventions: RevMan 5, metafor, or Cochrane's current recommendation.")
@click.option("--subgroup", "subgroup", default=None, metavar="COLUMN", help="Column holding subgroup labels.")
@click.option("--analysis", type=click.Choice(ANALYSES), default=None, help="A sensitivity or small-study analysis.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--scale", type=click.Choice(["difference", "ratio"]), default="difference", show_default=True,
              help="Generic data: ratio means yi are logs (estimate/CI are ratios), shown exponentiated.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON (log scale for ratios, plus effect*).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a forest plot (funnel plot for egger/trimfill): .svg, .png or .pdf.")
def meta(file: Path, measure: str, method: str | None, model: str | None, tau2: str | None,
         hksj: bool | None, flavour: str, subgroup: str | None, analysis: str | None, level: float,
         scale: str, as_json: bool, plot: Path | None) -> None:
    """Meta-analyse the studies in FILE (CSV with a 'study' column and the measure's columns).

    Binary: events_treat, n_treat, events_ctrl, n_ctrl. Continuous: mean_treat, sd_treat, n_treat,
    mean_ctrl, sd_ctrl, n_ctrl. Generic: yi and vi, yi and se, or estimate, ci_lower, ci_upper.
    """

    def body() -> None:
        if plot is not None:  # a wrong name is refused before the work, not after
            check_suffix(plot, PLOT_SUFFIXES, "meta --plot")
        out, main = run_meta(file, measure, method, model, tau2, hksj, flavour, subgroup, analysis,
                             level, scale)
        if plot is not None:
            with output_file(plot, PLOT_SUFFIXES, "meta --plot") as temp:
                _plot(out, main, temp)
        if as_json:
            # allow_nan=False: the output never carries NaN (undefined numbers are null)
            click.echo(json.dumps(out.to_dict(), indent=2, allow_nan=False))
        else:
            click.echo(format_output(out))
            if plot is not None:
                click.echo(f"plot written to {plot}")

    run_guarded(body)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(meta)
