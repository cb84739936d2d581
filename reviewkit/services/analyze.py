"""Provides the protocol's analyses run on the review's consensus extraction: comparisons, pooling, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    Arm,
    MetaResult,
    SubgroupResult,
    effects_from_rows,
    leave_one_out,
    multiarm_comparisons,
    pool,
    resolve_settings,
    subgroup_analysis,
)
from reviewkit.pooling.analysis import BINARY_MEASURES
from reviewkit.protocol import Analysis
from reviewkit.services.project import Review

STRATEGIES = ("naive", "split", "combine")


@dataclass(frozen=True)
class ArmInput:
    """One arm of a study with the outcome's numbers (from the consensus extraction)."""

    label: str
    n: float | None
    events: float | None = None
    mean: float | None = None
    sd: float | None = None
    #: Arm-level fields from the form (e.g. dose_mg) for subgroups.
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyInput:
    """A study's arms for one outcome and timepoint, with its study-level fields (e.g. tcs)."""

    study: str
    arms: tuple[ArmInput, ...]
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisOutput:
    """One planned analysis, computed: the pooled result, subgroups, sensitivity, what went in."""

    analysis: Analysis
    multiarm: str
    result: MetaResult
    rows: tuple[dict[str, Any], ...]
    subgroups: dict[str, SubgroupResult] = field(default_factory=dict)
    leave_one_out: Any = None
    warnings: tuple[str, ...] = ()
    plots: tuple[Path, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `reviewkit analyze --json`: `reviewkit meta --json`'s keys, plus what produced them."""
        numbers = self.result.to_dict()
        out: dict[str, Any] = {
            "analysis": self.analysis.name, "outcome": self.analysis.outcome,
            "timepoint": self.analysis.timepoint, "multiarm": self.multiarm,
            **numbers,
            "comparisons": [dict(r) for r in self.rows],
            "warnings": [*numbers.get("warnings", []), *self.warnings],
        }
        if self.subgroups:
            out["subgroups"] = {name: sub.to_dict() for name, sub in self.subgroups.items()}
        if self.leave_one_out is not None:
            out["leave_one_out"] = self.leave_one_out.to_dict()
        if self.plots:
            out["plots"] = [str(p) for p in self.plots]
        return out


def _is_control(arm: ArmInput, control: str) -> bool:
    return control.lower() in arm.label.lower()


def _pool_arm(arm: ArmInput, binary: bool) -> Arm | None:
    """The pooling Arm, or None when the outcome's numbers for it are missing."""
    if arm.n is None:
        return None
    if binary:
        return None if arm.events is None else Arm(arm.label, arm.n, events=arm.events)
    if arm.mean is None or arm.sd is None:
        return None
    return Arm(arm.label, arm.n, mean=arm.mean, sd=arm.sd)


def comparison_rows(
    studies: list[StudyInput], analysis: Analysis, strategy: str, subgroup: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each study's experimental arms against its control, as rows `reviewkit meta` reads.

    With an arm-level subgroup variable (e.g. dose), arms are grouped by its value first and the
    strategy applies within each group — as RevMan's by-dose subgroups enter each dose against
    the control. A study-level variable (e.g. tcs) labels all of a study's rows.
    """
    if strategy not in STRATEGIES:
        raise ReviewkitError(f"unknown multi-arm strategy '{strategy}' (use {', '.join(STRATEGIES)})")
    binary = analysis.measure in BINARY_MEASURES
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for study in studies:
        controls = [a for a in study.arms if _is_control(a, analysis.control)]
        if len(controls) != 1:
            warnings.append(f"{study.study}: left out, needs exactly one '{analysis.control}' arm "
                            f"(found {len(controls)})")
            continue
        control = _pool_arm(controls[0], binary)
        experimental = [(a, _pool_arm(a, binary)) for a in study.arms if a is not controls[0]]
        missing = [a.label for a, p in experimental if p is None]
        usable = [(a, p) for a, p in experimental if p is not None]
        if control is None or not usable:
            warnings.append(f"{study.study}: left out, no {analysis.outcome} data for the control "
                            "or any experimental arm")
            continue
        if missing:
            warnings.append(f"{study.study}: arm(s) {', '.join(missing)} have no {analysis.outcome} data")
        groups: dict[Any, list[tuple[ArmInput, Arm]]] = {}
        arm_level = subgroup is not None and subgroup not in study.fields
        for a, p in usable:
            key = a.fields.get(subgroup) if arm_level and subgroup else None
            groups.setdefault(key, []).append((a, p))
        n_exp = len(usable)
        for key, members in groups.items():
            ctrl = control
            group_strategy = strategy
            if strategy == "split" and len(groups) > 1:
                # Share the control out over all the study's experimental arms, not just this group's.
                ctrl = Arm(control.name, control.n * len(members) / n_exp, mean=control.mean, sd=control.sd,
                           events=None if control.events is None else control.events * len(members) / n_exp)
                group_strategy = "combine" if len(members) > 1 else "naive"
            made = multiarm_comparisons(study.study, [p for _, p in members], ctrl, group_strategy)
            warnings.extend(made.warnings)
            for k, r in enumerate(made.rows):
                row = dict(r)
                if len(made.rows) > 1:  # one row per arm: name the arm (the control is the same)
                    row["study"] = f"{study.study} ({members[k][1].name})"
                elif len(usable) > 1 and len(members) < n_exp:
                    row["study"] = f"{study.study} ({' + '.join(p.name for _, p in members)})"
                if subgroup is not None:
                    value = study.fields.get(subgroup) if not arm_level else key
                    shown = f"{value:g}" if isinstance(value, float) else value
                    row["subgroup"] = f"{subgroup} = {shown}" if value is not None else f"{subgroup} unknown"
                rows.append(row)
    return rows, warnings


def run_analysis(
    studies: list[StudyInput], analysis: Analysis, strategy: str | None = None, *, plot_dir: Path | None = None,
    rob: dict[str, dict[str, str]] | None = None, higher_is_better: bool = True, plot_format: str = "svg",
) -> AnalysisOutput:
    """Pool one planned analysis (with its subgroups and sensitivity analyses) and draw its plots.

    `higher_is_better` (the outcome's direction in the protocol) puts "Favours [experimental]"
    on the side where the experimental arm does better, as RevMan asks the author to.
    """
    strategy = strategy or analysis.multiarm
    settings = resolve_settings(analysis.measure, method=analysis.method, model=analysis.model,
                                tau2=analysis.tau2, hksj=analysis.hksj, flavour=analysis.flavour)
    kwargs = settings.pool_kwargs()
    rows, warnings = comparison_rows(studies, analysis, strategy)
    if not rows:
        raise ReviewkitError(f"analysis '{analysis.name}': no study has data for {analysis.outcome}",
                             hint="; ".join(warnings) or "extract the outcome and record consensus first")
    effects = effects_from_rows(rows, analysis.measure, smd_variance=settings.flavour.smd_variance)
    result = pool(effects, **kwargs)
    subgroups: dict[str, SubgroupResult] = {}
    for variable in analysis.subgroups:
        sub_rows, sub_warnings = comparison_rows(studies, analysis, strategy, subgroup=variable)
        warnings.extend(w for w in sub_warnings if w not in warnings)
        sub_effects = effects_from_rows(sub_rows, analysis.measure, smd_variance=settings.flavour.smd_variance,
                                        use_subgroups=True)
        subgroups[variable] = subgroup_analysis(sub_effects, **kwargs)
    loo = leave_one_out(effects, **kwargs) if "leave-one-out" in analysis.sensitivity and len(rows) > 2 else None
    plots: list[Path] = []
    if plot_dir is not None:
        from reviewkit.render.forest import forest_plot

        slug = "-".join("".join(c if c.isalnum() else " " for c in analysis.name.lower()).split())
        sides = ("control", "experimental") if higher_is_better else ("experimental", "control")
        plots.append(forest_plot(result, plot_dir / f"forest-{slug}-{strategy}.{plot_format}", labels=sides,
                                 extra_columns=_rob_columns(rows, rob), title=analysis.name))
        for variable, sub in subgroups.items():
            plots.append(forest_plot(sub, plot_dir / f"forest-{slug}-{strategy}-by-{variable}.{plot_format}",
                                     labels=sides,
                                     title=f"{analysis.name}, by {variable}"))
    return AnalysisOutput(analysis, strategy, result, tuple(rows), subgroups, loo, tuple(dict.fromkeys(warnings)),
                          tuple(plots))


def _rob_columns(rows: list[dict[str, Any]], rob: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]] | None:
    """RoB judgements per comparison row label (a row "AD1 (4 mg vs placebo)" takes study AD1's)."""
    if not rob:
        return None
    out = {}
    for row in rows:
        label = str(row["study"])
        study = label.split(" (")[0]
        if study in rob:
            out[label] = rob[study]
    return out or None


@dataclass(frozen=True)
class SkippedAnalysis:
    """A planned analysis that could not run, and why (no data extracted yet, for instance)."""

    analysis: Analysis
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON of a skipped analysis."""
        return {"analysis": self.analysis.name, "outcome": self.analysis.outcome, "skipped": self.reason}


def analyze_review(
    review: Review, *, outcome: str | None = None, multiarm: str | None = None, plots: bool = True,
    plot_format: str = "svg",
) -> list[AnalysisOutput | SkippedAnalysis]:
    """Run the protocol's analyses (or those of one outcome) on the consensus extraction.

    `multiarm="all"` runs each analysis under every strategy, so they can be compared side by side.
    An analysis without data is reported as skipped; the others still run.
    """
    analyses = [a for a in review.protocol.analyses if outcome is None or a.outcome == outcome]
    if not analyses:
        raise ReviewkitError(f"the protocol plans no analysis{f' of {outcome}' if outcome else ''}",
                             where=str(review.protocol_path))
    rob = _rob_summary(review)
    out: list[AnalysisOutput | SkippedAnalysis] = []
    for analysis in analyses:
        studies = load_study_inputs(review, analysis)
        if not studies:
            out.append(SkippedAnalysis(analysis, f"no consensus data for {analysis.outcome} yet"))
            continue
        strategies = STRATEGIES if multiarm == "all" else (multiarm or analysis.multiarm,)
        for strategy in strategies:
            try:
                outcome_spec = review.protocol.outcome(analysis.outcome)
                out.append(run_analysis(studies, analysis, strategy,
                                        plot_dir=review.exports if plots else None, rob=rob,
                                        plot_format=plot_format,
                                        higher_is_better=outcome_spec.higher_is_better if outcome_spec else True))
            except ReviewkitError as exc:
                out.append(SkippedAnalysis(analysis, str(exc)))
    return out


def load_study_inputs(review: Review, analysis: Analysis) -> list[StudyInput]:
    """The consensus extraction of the analysis's outcome, as pooling input."""
    from reviewkit.services.extract_consensus import consensus_data

    binary = analysis.measure in BINARY_MEASURES
    out = []
    for study in consensus_data(review, analysis.outcome, analysis.timepoint):
        arms = tuple(
            # Dichotomous outcomes are counted out of the arm's total; continuous ones out of the
            # number analysed. Neither falls back to the number randomised: that would be a guess.
            ArmInput(label=a.label, n=_num(a.total if binary else a.n), events=_num(a.events),
                     mean=_num(a.mean), sd=_num(a.sd), fields=dict(a.fields))
            for a in study.arms
        )
        out.append(StudyInput(study=study.study, arms=arms, fields=dict(study.fields)))
    return out


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _rob_summary(review: Review) -> dict[str, dict[str, str]] | None:
    """Consensus RoB judgements per study label (for the forest plot's columns), when they exist."""
    from reviewkit.services.assess_view import rob_summary

    out: dict[str, dict[str, str]] = {}
    for row in rob_summary(review):
        # One column set per study: a study-level tool (RoB 1) or, for RoB 2, the first result assessed.
        out.setdefault(row.study, {k: v for k, v in row.judgements.items() if v})
    return out or None


#: Columns of the analyses CSV: what a results table in a paper shows.
RESULT_COLUMNS = ("analysis", "outcome", "timepoint", "multiarm", "measure", "method", "model",
                  "tau2_estimator", "flavour", "k", "effect", "effect_ci_lower", "effect_ci_upper", "p",
                  "Q", "Q_df", "Q_p", "I2", "tau2", "effect_pi_lower", "effect_pi_upper", "plots")


def write_results(outputs: list[AnalysisOutput | SkippedAnalysis], path: Path) -> int:
    """Write analysis results as JSON (everything) or CSV (one row per analysis); returns the count."""
    import csv
    import json

    if path.suffix.lower() == ".json":
        rows = [o.to_dict() for o in outputs]
        path.write_text(json.dumps(rows, indent=2, allow_nan=False), encoding="utf-8")
        return len(rows)
    rows = [o.to_dict() for o in outputs if isinstance(o, AnalysisOutput)]
    if path.suffix.lower() != ".csv":
        raise ReviewkitError(f"cannot write '{path.suffix}' files", where=str(path), hint="use .json or .csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(RESULT_COLUMNS)
        for row in rows:
            writer.writerow(["; ".join(row.get("plots", [])) if c == "plots" else
                             ("" if row.get(c) is None else row.get(c)) for c in RESULT_COLUMNS])
    return len(rows)
