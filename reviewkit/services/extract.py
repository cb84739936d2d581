"""Provides data extraction: studies and their reports, arms and values per extractor, validated as entered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewkit.domain.extraction import (
    FieldSpec,
    FieldType,
    Problem,
    parse_field,
    validate_continuous,
    validate_dichotomous,
)
from reviewkit.domain.records import find_nct_ids
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import FormField, Outcome, Protocol
from reviewkit.services.common import acting_reviewer
from reviewkit.services.extract_access import check_consensus_writer
from reviewkit.services.project import Review
from reviewkit.services.status import included_studies
from reviewkit.services.studies import link_in_session, study_with_nct
from reviewkit.services.study_labels import check_label_free
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope
from reviewkit.store.studies import NctTaken

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ArmRow, ExtractionValueRow, ReviewerRow

DICHOTOMOUS_FIELDS = ("events", "total")
CONTINUOUS_FIELDS = ("mean", "sd", "se", "ci_lower", "ci_upper", "median", "q1", "q3", "min", "max", "n")
#: Every outcome statistic, in the order the export and the form show them.
STAT_FIELDS = DICHOTOMOUS_FIELDS + CONTINUOUS_FIELDS
_COUNTS = {"events", "total", "n"}
_KWARG = {"min": "minimum", "max": "maximum"}  # validate_continuous's spelling
ORIGINS = ("manual", "ctgov", "import")


@dataclass(frozen=True)
class StudyView:
    """A study: its label, NCT id and how many reports are linked to it."""

    id: int
    label: str
    nct_id: str | None
    reports: int = 0
    #: Whether a report of the study is included at full text (the others are listed after, marked).
    included: bool = True


@dataclass(frozen=True)
class ArmView:
    """An arm as one extractor (or the consensus) recorded it; `fields` are the protocol's arm fields."""

    study_id: int
    label: str
    intervention: str
    dose: str
    co_intervention: str
    n_randomised: int | None
    fields: dict[str, str]
    extractor: str
    consensus: bool


@dataclass(frozen=True)
class ValueView:
    """One current value: a study field (arm and outcome empty) or an outcome statistic of an arm."""

    study_id: int
    arm: str
    outcome: str
    timepoint: str
    field: str
    value: str | None
    unit: str | None
    converted_from: dict[str, Any]
    origin: str
    extractor: str
    consensus: bool


@dataclass(frozen=True)
class StudyForm:
    """One extractor's (or the consensus) current extraction of a study."""

    study: StudyView
    extractor: str
    consensus: bool
    arms: tuple[ArmView, ...]
    values: tuple[ValueView, ...] = field(default=())

    def study_fields(self) -> dict[str, str | None]:
        """Study-level field → value."""
        return {v.field: v.value for v in self.values if not v.arm and not v.outcome}

    def stats(self, arm: str, outcome: str, timepoint: str) -> dict[str, str | None]:
        """Statistic → value of one arm at one outcome and timepoint."""
        return {v.field: v.value for v in self.values
                if (v.arm, v.outcome, v.timepoint) == (arm, outcome, timepoint)}


# --- pure checks (the TUI calls these as values are typed) ------------------------------------

def spec_of(form_field: FormField) -> FieldSpec:
    """The domain spec of a protocol form field."""
    return FieldSpec(form_field.name, FieldType.parse(form_field.type), form_field.required,
                     tuple(form_field.choices), form_field.unit)


def _stat_spec(name: str) -> FieldSpec:
    if name in _COUNTS:
        return FieldSpec(name, FieldType.INTEGER, minimum=0)
    return FieldSpec(name, FieldType.NUMBER)


def canonical(value: Any) -> str | None:
    """How a typed value is stored as text: yes/no, ISO dates, numbers without trailing zeros."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def number(text: str | None) -> float | None:
    """A stored statistic as a float (None when empty)."""
    return None if text in (None, "") else float(text)


def outcome_of(protocol: Protocol, name: str, timepoint: str) -> tuple[Outcome, str]:
    """The protocol outcome and its timepoint ("" means its only timepoint); unknown ones are refused."""
    outcome = protocol.outcome(name)
    if outcome is None:
        known = ", ".join(o.name for o in protocol.extraction.outcomes)
        raise ReviewkitError(f"unknown outcome '{name}'", hint=f"the protocol's outcomes: {known}")
    if not timepoint and len(outcome.timepoints) == 1:
        timepoint = outcome.timepoints[0]
    if timepoint not in outcome.timepoints:
        raise ReviewkitError(f"outcome '{name}' has no timepoint '{timepoint}'",
                             hint="use " + ", ".join(outcome.timepoints))
    return outcome, timepoint


def check_value(protocol: Protocol, name: str, text: str | None, *, arm: str = "", outcome: str = "",
                timepoint: str = "", current: Mapping[str, str | None] | None = None
                ) -> tuple[str | None, str | None, list[Problem]]:
    """Validate one entry: (canonical text, unit, problems). `current` holds the arm's other statistics.

    Study fields follow the protocol's form; statistics must suit the outcome's type and agree with
    the values already entered (events ≤ total, SD > 0, a CI containing its mean …).
    """
    if not outcome:
        if arm:
            return None, None, [Problem(name, "an arm's values belong to an outcome: give the outcome")]
        spec = next((spec_of(f) for f in protocol.extraction.fields if f.name == name), None)
        if spec is None:
            known = ", ".join(f.name for f in protocol.extraction.fields)
            return None, None, [Problem(name, f"not a field of the extraction form (fields: {known})")]
        parsed = parse_field(spec, text)
        return canonical(parsed.value), spec.unit, list(parsed.problems)
    found, _ = outcome_of(protocol, outcome, timepoint)
    allowed = DICHOTOMOUS_FIELDS if found.type == "dichotomous" else CONTINUOUS_FIELDS
    if name not in allowed:
        return None, None, [Problem(name, f"not a statistic of a {found.type} outcome (use {', '.join(allowed)})")]
    if not arm:
        return None, None, [Problem(name, "an outcome statistic belongs to an arm: give the arm")]
    parsed = parse_field(_stat_spec(name), text)
    if parsed.problems:
        return None, None, list(parsed.problems)
    merged = {k: number(v) for k, v in (current or {}).items() if k in allowed}
    merged[name] = None if parsed.value is None else float(parsed.value)  # type: ignore[arg-type]
    if found.type == "dichotomous":
        problems = validate_dichotomous(merged.get("events"), merged.get("total"))  # type: ignore[arg-type]
    else:
        problems = validate_continuous(**{_KWARG.get(k, k): v for k, v in merged.items()})  # type: ignore[arg-type]
    unit = found.unit if name not in _COUNTS else None
    return canonical(parsed.value), unit, problems


def _raise(problems: Sequence[Problem], where: str) -> None:
    if problems:
        raise ReviewkitError("; ".join(f"{where}{p.field}: {p.reason}" for p in problems))


# --- sessions ----------------------------------------------------------------------------------

def reviewer(session: Session, name: str | None) -> ReviewerRow:
    """The acting reviewer's row; any reviewer of the protocol may extract."""
    return acting_reviewer(session, name)


def study_row(session: Session, study_id: int) -> Any:
    """The study row, or an error naming the id."""
    row = store.study(session, study_id)
    if row is None:
        raise ReviewkitError(f"no study {study_id}", hint="list them with `reviewkit extract studies`")
    return row


def author(who: ReviewerRow, consensus: bool) -> store.Author:
    """The current-value key of what `who` writes."""
    return (True, None) if consensus else (False, who.id)


def arm_in(session: Session, protocol: Protocol, who: ReviewerRow, study_id: int, label: str, *,
           intervention: str = "", dose: str = "", co_intervention: str = "",
           n_randomised: int | str | None = None, fields: Mapping[str, Any] | None = None,
           consensus: bool = False, removed: bool = False, by: ReviewerRow | None = None) -> ArmRow:
    """Validate and write an arm in `who`'s extraction within a session (unchanged arms write nothing);
    `by`: the reviewer writing it when not `who` (a lead importing a table), audited as the actor."""
    label = label.strip()
    if not label:
        raise ReviewkitError("an arm needs a label")
    n_text = canonical(n_randomised) if not isinstance(n_randomised, str) else n_randomised
    parsed_n = parse_field(FieldSpec("n_randomised", FieldType.INTEGER, minimum=1), n_text)
    specs = {f.name: spec_of(f) for f in protocol.extraction.arm_fields}
    problems = list(parsed_n.problems)
    typed: dict[str, Any] = {}
    for name, raw in (fields or {}).items():
        if name not in specs:
            problems.append(Problem(name, f"not an arm field of the form (arm fields: {', '.join(specs) or 'none'})"))
            continue
        parsed = parse_field(specs[name], raw if raw is None or isinstance(raw, str) else canonical(raw))
        problems += parsed.problems
        if parsed.value is not None:
            typed[name] = canonical(parsed.value)
    _raise(problems, f"arm '{label}': ")
    if consensus:
        check_consensus_writer(session, who, study_id, protocol.extraction.extractors_per_study)
    if removed:
        typed["_removed"] = True
    previous = store.current_arms(session, [study_id]).get((study_id, author(who, consensus)), {}).get(label)
    values = {"study_id": study_id, "label": label, "intervention": intervention.strip(), "dose": dose.strip(),
              "co_intervention": co_intervention.strip(), "n_randomised": parsed_n.value, "fields": typed}
    if previous is not None and store.arm_dict(previous) == {**values, "consensus": consensus}:
        return previous
    return store.add_arm(session, previous=previous, actor=who, consensus=consensus, values=values, by=by)


def value_in(session: Session, protocol: Protocol, who: ReviewerRow, study_id: int, name: str,
             text: str | None, *, arm: str = "", outcome: str = "", timepoint: str = "",
             origin: str = "manual", converted_from: Mapping[str, Any] | None = None,
             consensus: bool = False, others: Mapping[str, str | None] | None = None,
             by: ReviewerRow | None = None) -> ExtractionValueRow:
    """Validate and write one value in `who`'s extraction within a session (an unchanged value writes
    nothing); `by` as for arm_in.

    `others` replaces the arm's stored statistics as the values to check against (an import
    checks a row's statistics together, as they will stand once the row is in).
    """
    if origin not in ORIGINS:
        raise ReviewkitError(f"unknown origin '{origin}' (use {', '.join(ORIGINS)})")
    if consensus:  # every path to the consensus comes through here or arm_in: one check for all
        check_consensus_writer(session, who, study_id, protocol.extraction.extractors_per_study)
    if outcome:
        _, timepoint = outcome_of(protocol, outcome, timepoint)
    mine = store.current_values(session, [study_id]).get((study_id, author(who, consensus)), {})
    if arm:
        arms = store.current_arms(session, [study_id]).get((study_id, author(who, consensus)), {})
        if arm not in arms:
            raise ReviewkitError(f"study {study_id} has no arm '{arm}' in "
                                 f"{'the consensus' if consensus else who.name + chr(39) + 's extraction'}",
                                 hint="add the arm first")
    current = {k[3]: row.value for k, row in mine.items() if k[:3] == (arm, outcome, timepoint)}
    if others is not None:
        current = dict(others)
    where = f"{outcome} {timepoint}, arm '{arm}', " if outcome else ""
    stored, unit, problems = check_value(protocol, name, text, arm=arm, outcome=outcome, timepoint=timepoint,
                                         current=current)
    _raise(problems, where)
    key = (arm, outcome, timepoint, name)
    previous = mine.get(key)
    source = dict(converted_from or {})
    if previous is not None and previous.value == stored and previous.converted_from == source:
        return previous
    return store.add_value(session, previous=previous, actor=who, consensus=consensus, study_id=study_id,
                           key=key, value=stored, unit=unit, converted_from=source, origin=origin, by=by)


def arm_view(row: ArmRow, names: Mapping[int, Any]) -> ArmView:
    """An arm row as a plain dataclass."""
    who = names.get(row.extractor_id) if row.extractor_id is not None else None
    return ArmView(row.study_id, row.label, row.intervention, row.dose, row.co_intervention, row.n_randomised,
                   {k: str(v) for k, v in row.fields.items() if not k.startswith("_")},
                   who.name if who else "", row.is_consensus)


def value_view(row: ExtractionValueRow, names: Mapping[int, Any]) -> ValueView:
    """A value row as a plain dataclass."""
    who = names.get(row.extractor_id) if row.extractor_id is not None else None
    return ValueView(row.study_id, row.arm, row.outcome, row.timepoint, row.field, row.value, row.unit,
                     dict(row.converted_from), row.origin, who.name if who else "", row.is_consensus)


# --- the service ---------------------------------------------------------------------------------

def create_study(review: Review, actor: str | None, label: str, *, nct_id: str | None = None,
                 record_ids: Sequence[int] = ()) -> StudyView:
    """Create a study and link report records to it (a record may report several studies).

    Refused when another study has the NCT id: a second study of one trial would split its data.
    """
    label = label.strip()
    if not label:
        raise ReviewkitError("a study needs a label", hint="e.g. BREEZE-AD1")
    if nct_id:
        found = find_nct_ids(nct_id)
        if len(found) != 1:
            raise ReviewkitError(f"'{nct_id}' is not an NCT id", hint="e.g. NCT03334396")
        nct_id = found[0]
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, actor)
        check_label_free(session, label)
        owner = study_with_nct(session, nct_id) if nct_id else None
        try:
            if owner is not None:
                raise NctTaken(str(nct_id), owner)
            row = store.add_study(session, label=label, nct_id=nct_id or None, actor=who.name)
        except NctTaken as taken:  # found above, or made meanwhile by another writer
            raise ReviewkitError(str(taken), hint=f"a trial is one study: use study {taken.owner.id}") from None
        assert row.id is not None
        for rid in record_ids:
            _link(session, row.id, rid, who.name)
        return StudyView(row.id, row.label, row.nct_id, len(set(record_ids)))


def _link(session: Session, study_id: int, record_id: int, actor: str) -> None:
    # One way to link a report, whichever command asks: `studies link` refuses a removed duplicate
    link_in_session(session, study_id, record_id, actor)


def link_reports(review: Review, actor: str | None, study_id: int, record_ids: Sequence[int]) -> StudyView:
    """Link more report records to a study."""
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, actor)
        row = study_row(session, study_id)
        for rid in record_ids:
            _link(session, study_id, rid, who.name)
        return StudyView(row.id, row.label, row.nct_id, store.report_counts(session).get(study_id, 0))


def list_studies(review: Review) -> list[StudyView]:
    """Every study with its report count: those included at full text first, each oldest first."""
    with session_scope(review.engine) as session:
        counts = store.report_counts(session)
        included = included_studies(session, review.protocol.screening.screeners_per_record)
        views = [StudyView(r.id, r.label, r.nct_id, counts.get(r.id, 0), r.id in included)  # type: ignore[arg-type]
                 for r in store.studies(session)]
    return sorted(views, key=lambda v: not v.included)  # stable: included first, each in study order


def set_arm(review: Review, extractor: str | None, study_id: int, label: str, *, intervention: str = "",
            dose: str = "", co_intervention: str = "", n_randomised: int | str | None = None,
            fields: Mapping[str, Any] | None = None, consensus: bool = False) -> ArmView:
    """Record (or change) an arm; arm fields are validated against the protocol's arm_fields."""
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, extractor)
        study_row(session, study_id)
        row = arm_in(session, review.protocol, who, study_id, label, intervention=intervention, dose=dose,
                     co_intervention=co_intervention, n_randomised=n_randomised, fields=fields,
                     consensus=consensus)
        return arm_view(row, store.reviewers_by_id(session))


def remove_arm(review: Review, extractor: str | None, study_id: int, label: str, *,
               consensus: bool = False) -> None:
    """Withdraw an arm (a new row marks it removed; its history and values stay)."""
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, extractor)
        if consensus:
            check_consensus_writer(session, who, study_id, review.protocol.extraction.extractors_per_study)
        arms = store.current_arms(session, [study_id]).get((study_id, author(who, consensus)), {})
        if label not in arms:
            raise ReviewkitError(f"study {study_id} has no arm '{label}' to remove")
        arm_in(session, review.protocol, who, study_id, label, consensus=consensus, removed=True)


def set_value(review: Review, extractor: str | None, study_id: int, field: str, value: str | float | None, *,
              arm: str = "", outcome: str = "", timepoint: str = "", consensus: bool = False) -> ValueView:
    """Record (or change, or clear with "") a study field or an arm's outcome statistic.

    Refused with the reason (a ReviewkitError naming the field) when the value does not fit
    the protocol's form or contradicts the arm's other values.
    """
    text = value if value is None or isinstance(value, str) else canonical(float(value))
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, extractor)
        study_row(session, study_id)
        row = value_in(session, review.protocol, who, study_id, field, text, arm=arm, outcome=outcome,
                       timepoint=timepoint, consensus=consensus)
        return value_view(row, store.reviewers_by_id(session))


def study_form(review: Review, extractor: str | None, study_id: int, *, consensus: bool = False) -> StudyForm:
    """The extractor's (or the consensus) current arms and values of a study."""
    with session_scope(review.engine) as session:
        who = reviewer(session, extractor)
        row = study_row(session, study_id)
        names = store.reviewers_by_id(session)
        key = (study_id, author(who, consensus))
        arms = store.current_arms(session, [study_id]).get(key, {})
        values = store.current_values(session, [study_id]).get(key, {})
        return StudyForm(
            StudyView(row.id, row.label, row.nct_id, store.report_counts(session).get(study_id, 0)),
            who.name, consensus, tuple(arm_view(a, names) for a in arms.values()),
            tuple(value_view(v, names) for v in values.values() if v.value is not None))
