"""Provides extraction proposals from ClinicalTrials.gov posted results, stored only once an extractor confirms them."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract import ArmView, ValueView, canonical
from reviewkit.services.project import Review
from reviewkit.sources.ctgov_results import GroupValue, OutcomeResult, read_results
from reviewkit.store import extraction as store
from reviewkit.store.db import retry_conflicts, session_scope

#: Which statistics a posted dispersion fills (ctgov.md §6); other kinds are left for the extractor.
_DISPERSION = {
    "STANDARD_DEVIATION": (("sd", "spread"),),
    "STANDARD_ERROR": (("se", "spread"),),
    "CONFIDENCE_95": (("ci_lower", "lower"), ("ci_upper", "upper")),
    "INTER_QUARTILE_RANGE": (("q1", "lower"), ("q3", "upper")),
    "FULL_RANGE": (("min", "lower"), ("max", "upper")),
}


@dataclass(frozen=True)
class ArmProposal:
    """An arm as registered: its label, type and interventions."""

    label: str
    type: str
    intervention: str
    description: str = ""


@dataclass(frozen=True)
class GroupProposal:
    """One results group's values for a measure, and the arm it most likely is (by title)."""

    group_id: str
    title: str
    arm: str
    values: dict[str, str]
    converted_from: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasureProposal:
    """A posted outcome measure (one class and category of it), typed for extraction."""

    index: int
    kind: str
    type: str
    title: str
    time_frame: str
    param_type: str
    dispersion_type: str
    unit: str
    class_title: str
    category_title: str
    groups: tuple[GroupProposal, ...]

    @property
    def label(self) -> str:
        """The measure as a reviewer reads it in a list."""
        part = " / ".join(t for t in (self.class_title, self.category_title) if t)
        return f"{self.title}{f' [{part}]' if part else ''} ({self.time_frame}; {self.param_type.lower()})"


@dataclass(frozen=True)
class Prefill:
    """What a study's registry record offers: its arms and posted measures. Nothing here is stored."""

    study_id: int
    nct_id: str
    record_id: int
    arms: tuple[ArmProposal, ...]
    measures: tuple[MeasureProposal, ...]


def _guess_arm(title: str, labels: Sequence[str]) -> str:
    folded = {label.casefold(): label for label in labels}
    if title.casefold() in folded:
        return folded[title.casefold()]
    close = difflib.get_close_matches(title.casefold(), list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else title


def _group(measure: OutcomeResult, value: GroupValue, title: str, arm: str) -> GroupProposal | None:
    values: dict[str, str] = {}
    converted: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    if measure.kind == "dichotomous":
        if value.events is None or value.n is None:
            return None
        values = {"events": str(value.events), "total": str(value.n)}
        if value.events_derived:
            text = f"events {value.events} from {value.value:g}% of {value.n} (ClinicalTrials.gov, rounded)"
            converted["events"] = {"method": "percentage", "inputs": {"percent": value.value, "n": value.n},
                                   "reference": "ClinicalTrials.gov results", "text": text}
            notes.append(text)
    else:
        if value.value is None:
            return None
        values["median" if measure.param_type == "MEDIAN" else "mean"] = canonical(value.value) or ""
        if value.n is not None:
            values["n"] = str(value.n)
        for name, attr in _DISPERSION.get(measure.dispersion_type, ()):
            number = getattr(value, attr)
            if number is not None:
                values[name] = canonical(number) or ""
        if measure.dispersion_type and measure.dispersion_type not in _DISPERSION:
            notes.append(f"dispersion {measure.dispersion_type} not taken over")
        if measure.param_type not in ("MEAN", "MEDIAN"):
            notes.append(f"{measure.param_type.lower().replace('_', ' ')} (model-adjusted or transformed)")
    return GroupProposal(value.group_id, title, arm, values, converted, tuple(notes))


def _measures(outcomes: Sequence[OutcomeResult], labels: Sequence[str]) -> tuple[MeasureProposal, ...]:
    out: list[MeasureProposal] = []
    for measure in outcomes:
        if measure.kind == "other":
            continue
        titles = {g.id: g.title for g in measure.groups}
        for cls in measure.classes:
            for cat in cls.categories:
                groups = tuple(g for v in cat.values if (g := _group(
                    measure, v, titles.get(v.group_id, v.group_id),
                    _guess_arm(titles.get(v.group_id, v.group_id), labels))) is not None)
                if groups:
                    out.append(MeasureProposal(len(out), measure.kind, measure.type, measure.title,
                                               measure.time_frame, measure.param_type, measure.dispersion_type,
                                               measure.unit, cls.title, cat.title, groups))
    return tuple(out)


def registry_prefill(review: Review, study_id: int) -> Prefill | None:
    """Proposals from the study's registry record with posted results (a linked one, else by NCT id); None without."""
    with session_scope(review.engine) as session:
        study = extract.study_row(session, study_id)
        records = [r for r in store.reports_of(session, study_id) if r.kind == "registry"]
        if not records and study.nct_id:
            records = store.registry_records(session, study.nct_id)
        found = [(r.id, r.raw) for r in records]
    for record_id, raw in found:
        try:
            results = read_results(json.loads(raw))
        except (ValueError, TypeError, AttributeError):
            continue  # a registry record without the study JSON offers nothing
        arms = tuple(ArmProposal(a.label, a.type, ", ".join(a.interventions), a.description) for a in results.arms)
        measures = _measures(results.outcomes, [a.label for a in arms])
        if measures:
            return Prefill(study_id, results.nct_id, record_id, arms, measures)  # type: ignore[arg-type]
    return None


@retry_conflicts
def confirm_arms(review: Review, extractor: str | None, study_id: int, arms: Sequence[ArmProposal]) -> list[ArmView]:
    """Store the registry arms the extractor confirmed (label and interventions) as their arms."""
    with session_scope(review.engine, write=True) as session:
        who = extract.reviewer(session, extractor)
        extract.study_row(session, study_id)
        names = store.reviewers_by_id(session)
        return [extract.arm_view(extract.arm_in(session, review.protocol, who, study_id, a.label,
                                                intervention=a.intervention), names) for a in arms]


@retry_conflicts
def confirm_measure(review: Review, extractor: str | None, study_id: int, measure: MeasureProposal, *,
                    outcome: str, timepoint: str = "", arms: Mapping[str, str] | None = None) -> list[ValueView]:
    """Store a posted measure's values as the extractor's, for a protocol outcome (origin "ctgov").

    `arms` maps result group ids to the extractor's arm labels (default: each group's guessed
    arm; an empty label skips the group). Values are validated like typed ones; all or none land.
    """
    found, timepoint = extract.outcome_of(review.protocol, outcome, timepoint)
    if found.type != measure.kind:
        raise ReviewkitError(f"'{measure.title}' is {measure.kind}; outcome '{outcome}' is {found.type}")
    mapping = {g.group_id: g.arm for g in measure.groups} | dict(arms or {})
    with session_scope(review.engine, write=True) as session:
        who = extract.reviewer(session, extractor)
        extract.study_row(session, study_id)
        names = store.reviewers_by_id(session)
        stored: list[ValueView] = []
        for group in measure.groups:
            arm = mapping.get(group.group_id, "")
            if not arm:
                continue
            for name, value in group.values.items():
                row = extract.value_in(session, review.protocol, who, study_id, name, value, arm=arm,
                                       outcome=outcome, timepoint=timepoint, origin="ctgov",
                                       converted_from=group.converted_from.get(name), others=group.values)
                stored.append(extract.value_view(row, names))
        return stored
