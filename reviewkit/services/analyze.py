"""Provides the protocol's analyses run on the review's consensus extraction: comparisons, pooling, plots."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    Arm,
    MetaResult,
    SubgroupResult,
    effects_from_rows,
    multiarm_comparisons,
    pool,
    resolve_settings,
    subgroup_analysis,
)
from reviewkit.pooling.analysis import BINARY_MEASURES
from reviewkit.protocol import Analysis
from reviewkit.services.analyze_included import review_inclusion, warn_not_included
from reviewkit.services.analyze_plots import draw_plots, rob_by_study
from reviewkit.services.analyze_sensitivity import (
    JSON_KEYS,
    Sensitivity,
    run_sensitivity,
    sensitivity_dict,
)
from reviewkit.services.project import Review
from reviewkit.wording import noun

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
    #: The arm's intervention as extracted ("placebo", "baricitinib"); what an analysis's control names.
    intervention: str = ""
    #: What an analysis pooling the arm warns of its numbers (an SD derived from a CI of an assumed level).
    warning: str = ""


@dataclass(frozen=True)
class StudyInput:
    """A study's arms for one outcome and timepoint, with its study-level fields (e.g. tcs)."""

    study: str
    arms: tuple[ArmInput, ...]
    fields: dict[str, Any] = field(default_factory=dict)
    #: The study's id in the review (None for input not read from one): whether the review includes it.
    study_id: int | None = None


@dataclass(frozen=True)
class AnalysisOutput:
    """One planned analysis, computed: the pooled result, subgroups, sensitivity, what went in."""

    analysis: Analysis
    multiarm: str
    result: MetaResult
    rows: tuple[dict[str, Any], ...]
    subgroups: dict[str, SubgroupResult] = field(default_factory=dict)
    #: The planned sensitivity analyses that ran, by protocol name ("leave-one-out", "egger"...).
    sensitivity: dict[str, Sensitivity] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    plots: tuple[Path, ...] = ()
    #: Per subgroup variable: the multi-arm handling its comparisons used, notes and warnings.
    subgroup_info: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def leave_one_out(self) -> Sensitivity | None:
        """The leave-one-out refits, when planned and run."""
        return self.sensitivity.get("leave-one-out")

    @property
    def participants(self) -> float:
        """The people in the pooled comparisons, each arm once: a multi-arm trial's control group counts its
        real size once however many comparisons hold it (naive rows each hold it whole, split rows a share
        each; summing the rows, as the forest plot's Total does, counted it once per comparison)."""
        def study(row: dict[str, Any]) -> str:
            return str(row.get("source_study", row["study"]))

        pooled = [self.rows[i] for i in self.result.positions]
        controls: dict[str, list[float]] = {}
        for row in self.rows:  # every comparison, pooled or not: a split control's shares add up to it
            controls.setdefault(study(row), []).append(float(row["n_ctrl"]))
        whole = max if self.multiarm == "naive" else sum
        return sum(float(r["n_treat"]) for r in pooled) + sum(whole(controls[s]) for s in {study(r) for r in pooled})

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
            # the test's own warnings (why it is not given) first, then those of the comparisons
            out["subgroups"] = {name: {**sub.to_dict(), **(info := self.subgroup_info.get(name, {})),
                                       "warnings": [*sub.warnings, *info.get("warnings", [])]}
                                for name, sub in self.subgroups.items()}
        for name, found in self.sensitivity.items():
            out[JSON_KEYS[name]] = sensitivity_dict(found)
        if self.plots:
            out["plots"] = [str(p) for p in self.plots]
        return out


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def _is_control(arm: ArmInput, control: str) -> bool:
    """Whether the arm is the analysis's comparator: its intervention is `control` (case and spacing aside),
    or, for an arm extracted without one, its label is. The whole text, never a part of it: matching a
    part made a "Bari 4 mg + placebo-matched" arm a second control, and a label ignored that a "Vehicle"
    arm was given placebo. A blank control matches nothing (the protocol check refuses it)."""
    named = arm.intervention if arm.intervention.strip() else arm.label
    return bool(control.strip()) and _normalised(named) == _normalised(control)


def _arm_names(arms: tuple[ArmInput, ...] | list[ArmInput]) -> str:
    """The arms as a message names them: label, and the intervention the control is matched against."""
    return ", ".join(f"'{a.label}'" + (f" (intervention '{a.intervention.strip()}')" if a.intervention.strip()
                                       else " (no intervention: its label is matched)") for a in arms)


def _control_problem(study: StudyInput, analysis: Analysis, controls: list[ArmInput]) -> str:
    """Why a study has no single control arm, naming its arms (those with the outcome's data: the only
    ones it holds) and what each was matched by."""
    control = analysis.control
    if not controls:
        return (f"{study.study}: left out, no arm with {analysis.outcome} data is the control '{control}' "
                f"(arms: {_arm_names(study.arms)}); control matches an arm's intervention, or its label when "
                "the intervention is blank")
    return (f"{study.study}: left out, {len(controls)} arms match control '{control}': {_arm_names(controls)}; "
            "an analysis takes one control arm per study: give an arm that is not the comparator its own "
            "intervention, or enter control groups that are one comparator as one arm")


def _pool_arm(arm: ArmInput, binary: bool) -> Arm | None:
    """The pooling Arm, or None when the outcome's numbers for it are missing."""
    if arm.n is None:
        return None
    if binary:
        return None if arm.events is None else Arm(arm.label, arm.n, events=arm.events)
    if arm.mean is None or arm.sd is None:
        return None
    return Arm(arm.label, arm.n, mean=arm.mean, sd=arm.sd)


def _study_arms(study: StudyInput, analysis: Analysis, binary: bool
                ) -> tuple[Arm, list[tuple[ArmInput, Arm]], list[str]] | str:
    """The study's control and its experimental arms with data (and the names of those without),
    or why the study is left out."""
    controls = [a for a in study.arms if _is_control(a, analysis.control)]
    if len(controls) != 1:
        return _control_problem(study, analysis, controls)
    control = _pool_arm(controls[0], binary)
    experimental = [(a, _pool_arm(a, binary)) for a in study.arms if a is not controls[0]]
    usable = [(a, p) for a, p in experimental if p is not None]
    if control is None or not usable:
        return f"{study.study}: left out, no {analysis.outcome} data for the control or any experimental arm"
    return control, usable, [a.label for a, p in experimental if p is None]


def _arm_groups(study: StudyInput, usable: list[tuple[ArmInput, Arm]], subgroup: str | None
                ) -> tuple[bool, dict[Any, list[tuple[ArmInput, Arm]]]]:
    """Whether the subgroup variable is an arm field in this study, and its arms grouped by its value."""
    arm_level = subgroup is not None and subgroup not in study.fields
    groups: dict[Any, list[tuple[ArmInput, Arm]]] = {}
    for a, p in usable:
        groups.setdefault(a.fields.get(subgroup) if arm_level and subgroup else None, []).append((a, p))
    return arm_level, groups


def shared_controls(studies: list[StudyInput], analysis: Analysis, subgroup: str) -> list[str]:
    """The studies whose experimental arms `subgroup` (an arm field, e.g. dose) puts in different
    subgroups, so that their one control group is compared in several subgroups."""
    binary = analysis.measure in BINARY_MEASURES
    out = []
    for study in studies:
        arms = _study_arms(study, analysis, binary)
        if not isinstance(arms, str) and len(_arm_groups(study, arms[1], subgroup)[1]) > 1:
            out.append(study.study)
    return out


def comparison_rows(
    studies: list[StudyInput], analysis: Analysis, strategy: str, subgroup: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each study's experimental arms against its control, as rows `reviewkit meta` reads.

    With an arm-level subgroup variable (e.g. dose), arms are grouped by its value first and the
    strategy applies within each group — as RevMan's by-dose subgroups enter each dose against
    the control. Under split and combine a control shared by several groups is split by one rule,
    split's own: each experimental arm takes an equal share, so a group of two arms takes two shares
    (Handbook §23.3.4: combining arms cannot keep the doses apart);
    under naive each group gets the whole control, and the warning counts it once per arm.
    A study-level variable (e.g. tcs) labels all of a study's rows. Each row's `source_study`
    names the study it comes from.
    """
    if strategy not in STRATEGIES:
        raise ReviewkitError(f"unknown multi-arm strategy '{strategy}' (use {', '.join(STRATEGIES)})")
    binary = analysis.measure in BINARY_MEASURES
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for study in studies:
        arms = _study_arms(study, analysis, binary)
        if isinstance(arms, str):
            warnings.append(arms)
            continue
        control, usable, missing = arms
        if missing:
            warnings.append(f"{study.study}: {noun(len(missing), 'arm')} {', '.join(missing)} "
                            f"{'has' if len(missing) == 1 else 'have'} no {analysis.outcome} data")
        pooled = {control.name, *(p.name for _, p in usable)}  # an arm left out moves no result: no warning
        warnings.extend(a.warning for a in study.arms if a.warning and a.label in pooled)
        arm_level, groups = _arm_groups(study, usable, subgroup)
        n_exp = len(usable)
        if strategy == "naive" and len(groups) > 1:
            # the whole study's count, as the main analysis words it, not each group's
            warnings.extend(multiarm_comparisons(study.study, [p for _, p in usable], control, "naive").warnings)
        for key, members in groups.items():
            ctrl = control
            group_strategy = strategy
            if strategy != "naive" and len(groups) > 1:
                # Share the control out over all the study's experimental arms, not just this group's.
                ctrl = Arm(control.name, control.n * len(members) / n_exp, mean=control.mean, sd=control.sd,
                           events=None if control.events is None else control.events * len(members) / n_exp)
                group_strategy = "combine" if len(members) > 1 else "naive"
            made = multiarm_comparisons(study.study, [p for _, p in members], ctrl, group_strategy)
            if len(groups) == 1:
                warnings.extend(made.warnings)
            for k, r in enumerate(made.rows):
                row = dict(r)
                if len(made.rows) > 1:  # one row per arm: name the arm (the control is the same)
                    row["study"] = f"{study.study} ({members[k][1].name})"
                elif len(usable) > 1 and len(members) < n_exp:
                    row["study"] = f"{study.study} ({' + '.join(p.name for _, p in members)})"
                row["source_study"] = study.study
                if subgroup is not None:
                    value = study.fields.get(subgroup) if not arm_level else key
                    shown = f"{value:g}" if isinstance(value, float) else value
                    row["subgroup"] = f"{subgroup} = {shown}" if value is not None else f"{subgroup} unknown"
                rows.append(row)
    return rows, warnings


def run_analysis(
    studies: list[StudyInput], analysis: Analysis, strategy: str | None = None, *, plot_dir: Path | None = None,
    rob: dict[str, dict[str, str]] | None = None, higher_is_better: bool = True, plot_format: str = "svg",
    rob_tool: str | None = None,
) -> AnalysisOutput:
    """Pool one planned analysis (with its subgroups and sensitivity analyses) and draw its plots.

    `higher_is_better` (the outcome's direction in the protocol) puts "Favours [experimental]"
    on the side where the experimental arm does better, as RevMan asks the author to. `rob_tool`
    (rob1 or rob2) names the domains of the RoB columns in the forest plot's legend.
    """
    strategy = strategy or analysis.multiarm
    settings = resolve_settings(analysis.measure, method=analysis.method, model=analysis.model,
                                tau2=analysis.tau2, hksj=analysis.hksj, flavour=analysis.flavour,
                                prediction_interval=analysis.prediction_interval, hksj_adhoc=analysis.hksj_adhoc)
    kwargs = settings.pool_kwargs()
    rows, warnings = comparison_rows(studies, analysis, strategy)
    if not rows:
        raise ReviewkitError(f"analysis '{analysis.name}': no study has data for {analysis.outcome}",
                             hint="; ".join(warnings) or "extract the outcome and record consensus first")
    effects = effects_from_rows(rows, analysis.measure, smd_variance=settings.flavour.smd_variance,
                                rd_estimate=settings.flavour.rd_estimate)
    result = pool(effects, **kwargs)
    subgroups: dict[str, SubgroupResult] = {}
    info: dict[str, dict[str, Any]] = {}
    sub_rows_of: dict[str, list[dict[str, Any]]] = {}
    for variable in analysis.subgroups:
        sub_rows, sub_warnings = comparison_rows(studies, analysis, strategy, subgroup=variable)
        warnings.extend(w for w in sub_warnings if w not in warnings)
        sub_effects = effects_from_rows(sub_rows, analysis.measure, smd_variance=settings.flavour.smd_variance,
                                        use_subgroups=True, rd_estimate=settings.flavour.rd_estimate)
        subgroups[variable] = subgroup_analysis(sub_effects, **kwargs)
        sub_rows_of[variable] = sub_rows
        info[variable] = {"multiarm": strategy, "notes": [], "warnings": list(dict.fromkeys(sub_warnings))}
        if strategy == "combine" and shared_controls(studies, analysis, variable):
            # Combined arms cannot be told apart by dose, so such subgroups split the control instead.
            what = "doses" if "dose" in variable.lower() else "arms"
            info[variable].update(multiarm="split", notes=[
                f"subgroups by {variable} split each shared control group across its {what} "
                "(Handbook §23.3.4); the main analysis combines the arms"])
    sensitivity, sensitivity_warnings = run_sensitivity(analysis.sensitivity, effects, result, kwargs,
                                                        [str(r["source_study"]) for r in rows])
    warnings.extend(sensitivity_warnings)
    plots: list[Path] = []
    if plot_dir is not None:
        plots = draw_plots(analysis, strategy, result, rows, subgroups, sub_rows_of, info, sensitivity,
                           plot_dir, f".{plot_format}", rob=rob, rob_tool=rob_tool,
                           higher_is_better=higher_is_better)
    return AnalysisOutput(analysis, strategy, result, tuple(rows), subgroups, sensitivity,
                          tuple(dict.fromkeys(warnings)), tuple(plots), info)


@dataclass(frozen=True)
class SkippedAnalysis:
    """A planned analysis that could not run, and why (no data extracted yet, for instance)."""

    analysis: Analysis
    reason: str
    #: The multi-arm handling it was run with, when it failed while pooling.
    multiarm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of a skipped analysis: what was planned, and why it did not run."""
        a = self.analysis
        planned: dict[str, Any] = {"measure": a.measure, "method": a.method, "model": a.model,
                                   "tau2_estimator": a.tau2 if a.model != "fixed" else None, "hksj": a.hksj,
                                   "hksj_adhoc": a.hksj_adhoc, "flavour": a.flavour,
                                   "show_prediction_interval": a.prediction_interval}
        try:  # the settings it would have run with, flavour defaults filled in, as a run reports them
            s = resolve_settings(a.measure, method=a.method, model=a.model, tau2=a.tau2, hksj=a.hksj,
                                 flavour=a.flavour, prediction_interval=a.prediction_interval,
                                 hksj_adhoc=a.hksj_adhoc)
            # as pool() reports it: never shown under a fixed-effect model, which has no prediction interval
            # the ad hoc HKSJ likewise only where pool() would apply it: with HKSJ, under random effects
            planned.update(method=s.method, model=s.model, tau2_estimator=s.estimator, hksj=s.hksj,
                           hksj_adhoc=s.hksj_adhoc and s.hksj and s.model == "random",
                           level=s.level, show_prediction_interval=s.prediction_interval and s.model == "random")
        except ReviewkitError:
            pass
        return {"analysis": a.name, "outcome": a.outcome, "timepoint": a.timepoint,
                "multiarm": self.multiarm or a.multiarm, **planned, "skipped": self.reason}


def analyze_review(
    review: Review, *, outcome: str | None = None, multiarm: str | None = None, plots: bool = True,
    plot_format: str = "svg",
) -> list[AnalysisOutput | SkippedAnalysis]:
    """Run the protocol's analyses (or those of one outcome) on the consensus extraction.

    `multiarm="all"` runs each analysis under every strategy, so they can be compared side by side.
    An analysis without data, or that cannot be pooled, is reported as skipped with the reason
    and where to change it in review.toml; the others still run.
    """
    analyses = [(i, a) for i, a in enumerate(review.protocol.analyses) if outcome is None or a.outcome == outcome]
    if not analyses:
        raise ReviewkitError(f"the protocol plans no analysis{f' of {outcome}' if outcome else ''}",
                             where=str(review.protocol_path))
    inclusion = review_inclusion(review)
    out: list[AnalysisOutput | SkippedAnalysis] = []
    for index, analysis in analyses:
        if problems := review.protocol.analysis_problems.get(index):
            # Kept when the review opened (see load_protocol): `protocol check` gives the same words.
            out.append(SkippedAnalysis(analysis, "; ".join(problems)))
            continue
        spec = review.protocol.outcome(analysis.outcome)
        if analysis.timepoint is None and spec is not None and spec.timepoints:
            # Without one, the outcome's first timepoint is analysed (consensus_data): every output names it.
            analysis = analysis.model_copy(update={"timepoint": spec.timepoints[0]})
        try:
            studies = load_study_inputs(review, analysis)
        except ReviewkitError as exc:
            out.append(SkippedAnalysis(analysis, skip_reason(exc, index)))
            continue
        if not studies:
            out.append(SkippedAnalysis(analysis, _no_data_reason(review, analysis, index)))
            continue
        strategies = STRATEGIES if multiarm == "all" else (multiarm or analysis.multiarm,)
        outcome_spec = review.protocol.outcome(analysis.outcome)
        # RoB 2 judges a result: the forest plot shows each study's assessment of this outcome.
        rob = rob_by_study(review, analysis.outcome, analysis.timepoint)
        for strategy in strategies:
            try:
                done = run_analysis(studies, analysis, strategy, plot_dir=review.exports if plots else None, rob=rob,
                                    plot_format=plot_format, rob_tool=review.protocol.risk_of_bias.tool,
                                    higher_is_better=outcome_spec.higher_is_better if outcome_spec else True)
                out.append(warn_not_included(done, studies, inclusion))
            except ReviewkitError as exc:
                out.append(SkippedAnalysis(analysis, skip_reason(exc, index), strategy))
    return out


_FLAG = re.compile(r"\buse --([a-z][a-z0-9-]*) ([A-Za-z0-9.]+)")


def skip_reason(exc: ReviewkitError, index: int) -> str:
    """Why an analysis was skipped, its fix pointing at analyses[index] in review.toml.

    The pooling errors are worded for `reviewkit meta`, whose flags (`use --model fixed`) analyze
    does not have: it takes every setting from the protocol, so a flag becomes the key to set.
    """
    if not exc.hint:
        return str(exc)
    hint, flags = _FLAG.subn(lambda m: f'set {m.group(1).replace("-", "_")} = "{m.group(2)}"', exc.hint)
    hint = f"{hint} in analyses[{index}] of review.toml" if flags else f"{hint}: analyses[{index}] in review.toml"
    return str(ReviewkitError(exc.message, where=exc.where, hint=hint))


def _no_data_reason(review: Review, analysis: Analysis, index: int) -> str:
    """No consensus data for the analysis: at its timepoint only (naming those the data has), or at all."""
    from reviewkit.services.extract_analysis_data import consensus_data

    spec = review.protocol.outcome(analysis.outcome)
    if spec is None:
        return f"no consensus data for {analysis.outcome} yet"
    asked = analysis.timepoint or spec.timepoints[0]
    held = [tp for tp in spec.timepoints if tp != asked and consensus_data(review, analysis.outcome, tp)]
    if not held:
        return f"no consensus data for {analysis.outcome} yet"
    return (f"no consensus data for {analysis.outcome} at {asked}; the data has {', '.join(held)} "
            f"(timepoint of analyses[{index}] '{analysis.name}' in review.toml)")


def load_study_inputs(review: Review, analysis: Analysis) -> list[StudyInput]:
    """The consensus extraction of the analysis's outcome, as pooling input."""
    from reviewkit.services.extract_analysis_data import consensus_data

    binary = analysis.measure in BINARY_MEASURES
    out = []
    for study in consensus_data(review, analysis.outcome, analysis.timepoint):
        warnings = study.sd_warnings()
        arms = tuple(
            # Dichotomous outcomes are counted out of the arm's total; continuous ones out of the
            # number analysed. Neither falls back to the number randomised: that would be a guess.
            ArmInput(label=a.label, n=_num(a.total if binary else a.n), events=_num(a.events),
                     mean=_num(a.mean), sd=_num(a.sd), fields=dict(a.fields), intervention=a.intervention,
                     warning="" if binary else warnings.get(a.label, ""))
            for a in study.arms
        )
        out.append(StudyInput(study=study.study, arms=arms, fields=dict(study.fields), study_id=study.study_id))
    return out


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)
