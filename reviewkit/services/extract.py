"""Provides data extraction: studies and their reports, arms and values per extractor, validated as entered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reviewkit.domain.extraction import FieldSpec, FieldType, Problem, parse_field
from reviewkit.domain.names import name_too_long
from reviewkit.domain.records import find_nct_ids
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import Protocol
from reviewkit.services.common import acting_reviewer
from reviewkit.services.extract_access import (
    check_consensus_writer,
    check_editable,
    check_new_extractor,
    extractors_by_study,
    study_extractors,
)
from reviewkit.services.extract_checks import CONTINUOUS_FIELDS as CONTINUOUS_FIELDS
from reviewkit.services.extract_checks import DICHOTOMOUS_FIELDS as DICHOTOMOUS_FIELDS
from reviewkit.services.extract_checks import ORIGINS as ORIGINS
from reviewkit.services.extract_checks import STAT_FIELDS as STAT_FIELDS
from reviewkit.services.extract_checks import canonical as canonical
from reviewkit.services.extract_checks import check_value as check_value
from reviewkit.services.extract_checks import close_labels, label_key, stale_by
from reviewkit.services.extract_checks import number as number
from reviewkit.services.extract_checks import outcome_of as outcome_of
from reviewkit.services.extract_checks import spec_of as spec_of
from reviewkit.services.extract_status import StudyView as StudyView
from reviewkit.services.extract_status import study_view
from reviewkit.services.project import Review
from reviewkit.services.status import included_studies
from reviewkit.services.studies import check_report_record, link_in_session, study_with_nct
from reviewkit.services.study_labels import check_label_free
from reviewkit.store import extraction as store
from reviewkit.store.db import retry_conflicts, session_scope
from reviewkit.store.studies import NctTaken

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ArmRow, ExtractionValueRow, ReviewerRow


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
    #: What writing it cleared: converted values computed from its earlier value (value_in).
    cleared: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyForm:
    """One extractor's (or the consensus) current extraction of a study."""

    study: StudyView
    extractor: str
    consensus: bool
    arms: tuple[ArmView, ...]
    values: tuple[ValueView, ...] = field(default=())
    #: (arm, outcome, timepoint) → the CI level its SD was last converted at, kept after the SD is cleared:
    #: the TUI asks that level again rather than 95% when the corrected CI is converted.
    ci_levels: dict[tuple[str, str, str], float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether this is the extractor's own extraction and it is finished (locked)."""
        return not self.consensus and self.study.mine_finished

    def study_fields(self) -> dict[str, str | None]:
        """Study-level field → value."""
        return {v.field: v.value for v in self.values if not v.arm and not v.outcome}

    def stats(self, arm: str, outcome: str, timepoint: str) -> dict[str, str | None]:
        """Statistic → value of one arm at one outcome and timepoint."""
        return {v.field: v.value for v in self.values
                if (v.arm, v.outcome, v.timepoint) == (arm, outcome, timepoint)}


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


#: The most participants an arm may have: PostgreSQL's integer column holds no more (SQLite took a mistyped
#: 3000000000 that PostgreSQL refused with a traceback), and no trial comes near it.
MAX_N_RANDOMISED = 2**31 - 1


def arm_in(session: Session, protocol: Protocol, who: ReviewerRow, study_id: int, label: str, *,
           intervention: str | None = None, dose: str | None = None, co_intervention: str | None = None,
           n_randomised: int | str | None = None, fields: Mapping[str, Any] | None = None,
           consensus: bool = False, removed: bool = False, by: ReviewerRow | None = None) -> ArmRow:
    """Validate and write an arm in `who`'s extraction within a session (unchanged arms write nothing);
    `by`: the reviewer writing it when not `who` (a lead importing a table), audited as the actor.

    Only what is given changes: an attribute left None keeps the arm's current value (a new arm's is
    empty) and "" clears it; `fields` holds the arm fields to change (a value "" or None clears one),
    the arm's other fields keep theirs. Every caller (the CLI, the TUI, the import, the consensus,
    the registry's prefill) means this.
    """
    label = label.strip()
    if not label:
        raise ReviewkitError("an arm needs a label")
    previous = store.current_arms(session, [study_id]).get((study_id, author(who, consensus)), {}).get(label)
    problems: list[Problem] = []
    n_value = previous.n_randomised if previous is not None else None
    if n_randomised is not None:
        n_text = canonical(n_randomised) if not isinstance(n_randomised, str) else n_randomised
        parsed_n = parse_field(FieldSpec("n_randomised", FieldType.INTEGER, minimum=1, maximum=MAX_N_RANDOMISED),
                               n_text)
        problems += parsed_n.problems
        n_value = parsed_n.value  # type: ignore[assignment]
    specs = {f.name: spec_of(f) for f in protocol.extraction.arm_fields}
    typed: dict[str, Any] = dict(previous.fields) if previous is not None else {}
    for name, raw in (fields or {}).items():
        if name not in specs:
            problems.append(Problem(name, f"not an arm field of the form (arm fields: {', '.join(specs) or 'none'})"))
            continue
        parsed = parse_field(specs[name], raw if raw is None or isinstance(raw, str) else canonical(raw))
        problems += parsed.problems
        if parsed.value is not None:
            typed[name] = canonical(parsed.value)
        else:
            typed.pop(name, None)
    _raise(problems, f"arm '{label}': ")
    if consensus:
        check_consensus_writer(session, who, study_id, protocol.extraction.extractors_per_study)
    if removed:
        typed["_removed"] = True

    def given(value: str | None, current: str) -> str:
        return (current if value is None else value).strip()

    values = {"study_id": study_id, "label": label,
              "intervention": given(intervention, previous.intervention if previous is not None else ""),
              "dose": given(dose, previous.dose if previous is not None else ""),
              "co_intervention": given(co_intervention, previous.co_intervention if previous is not None else ""),
              "n_randomised": n_value, "fields": typed}
    if previous is not None and store.arm_dict(previous) == {**values, "consensus": consensus}:
        return previous
    if not consensus:
        check_own_write(session, protocol, who, study_id)
    return store.add_arm(session, previous=previous, actor=who, consensus=consensus, values=values, by=by)


def check_own_write(session: Session, protocol: Protocol, who: ReviewerRow, study_id: int) -> None:
    """A change to `who`'s own extraction: refused once it is finished, or when it would start a study's
    extra extraction (extract_access)."""
    required = protocol.extraction.extractors_per_study
    check_editable(session, who, study_id, required)
    check_new_extractor(session, who, study_id, required)


def check_arm(session: Session, who: ReviewerRow, study_id: int, arm: str, *, consensus: bool = False) -> None:
    """Refuse an arm `who`'s extraction (or the consensus) of the study does not have, naming the close
    arm labels: the same but for case, spaces or punctuation ('placebo' for 'Placebo'), else a near-miss
    (extract_checks.close_labels), else the arms it has."""
    arms = store.current_arms(session, [study_id]).get((study_id, author(who, consensus)), {})
    if arm in arms:
        return
    labels = list(arms)
    close = [a for a in labels if label_key(a) == label_key(arm)] or close_labels(arm, labels)
    if close:
        hint = "did you mean " + " or ".join(f"'{a}'" for a in close) + "? If not, add the arm first"
    elif labels:
        hint = "its arms: " + ", ".join(f"'{a}'" for a in labels) + "; or add the arm first"
    else:
        hint = "add the arm first"
    raise ReviewkitError(f"study {study_id} has no arm '{arm}' in "
                         f"{'the consensus' if consensus else who.name + chr(39) + 's extraction'}", hint=hint)


def value_in(session: Session, protocol: Protocol, who: ReviewerRow, study_id: int, name: str,
             text: str | None, *, arm: str = "", outcome: str = "", timepoint: str = "",
             origin: str = "manual", converted_from: Mapping[str, Any] | None = None,
             consensus: bool = False, others: Mapping[str, str | None] | None = None,
             by: ReviewerRow | None = None, cleared: list[str] | None = None) -> ExtractionValueRow:
    """Validate and write one value in `who`'s extraction within a session (an unchanged value writes
    nothing); `by` as for arm_in.

    `others` replaces the arm's stored statistics as the values to check against (an import
    checks a row's statistics together, as they will stand once the row is in). A converted value of
    the arm computed from another value of this statistic (an SD from SE 0.4, and SE is now 0.8 or
    cleared) no longer holds: it is cleared too (a new row, audited), and `cleared` gets a line saying so.
    """
    if origin not in ORIGINS:
        raise ReviewkitError(f"unknown origin '{origin}' (use {', '.join(ORIGINS)})")
    if consensus:  # every path to the consensus comes through here or arm_in: one check for all
        check_consensus_writer(session, who, study_id, protocol.extraction.extractors_per_study)
    if outcome:
        _, timepoint = outcome_of(protocol, outcome, timepoint)
    mine = store.current_values(session, [study_id]).get((study_id, author(who, consensus)), {})
    if arm:
        check_arm(session, who, study_id, arm, consensus=consensus)
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
    if not consensus:
        check_own_write(session, protocol, who, study_id)
    row = store.add_value(session, previous=previous, actor=who, consensus=consensus, study_id=study_id,
                          key=key, value=stored, unit=unit, converted_from=source, origin=origin, by=by)
    for k, other in mine.items():
        if (outcome and k[:3] == key[:3] and k[3] != name and other.value is not None
                and stale_by(other.converted_from, name, stored)):
            store.add_value(session, previous=other, actor=who, consensus=consensus, study_id=study_id, key=k,
                            value=None, unit=other.unit, converted_from=None, origin=f"cleared: {name} changed",
                            by=by)
            if cleared is not None:
                cleared.append(f"{k[3]} (converted from {name}) cleared: convert again")
    return row


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

@retry_conflicts
def create_study(review: Review, actor: str | None, label: str, *, nct_id: str | None = None,
                 record_ids: Sequence[int] = ()) -> StudyView:
    """Create a study and link report records to it (a record may report several studies).

    Refused when another study has the NCT id: a second study of one trial would split its data.
    """
    label = label.strip()
    if not label:
        raise ReviewkitError("a study needs a label", hint="e.g. BREEZE-AD1")
    if (long := name_too_long(label, "the study's label")) is not None:
        raise ReviewkitError(long, hint="name a study by its trial's acronym or registry id")
    if nct_id:
        found = find_nct_ids(nct_id)
        if len(found) != 1:
            raise ReviewkitError(f"'{nct_id}' is not an NCT id", hint="e.g. NCT03334396")
        nct_id = found[0]
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, actor)
        check_label_free(session, label)
        for rid in record_ids:  # before the study is made, so a refusal names no study id that never was
            check_report_record(session, rid)
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


@retry_conflicts
def link_reports(review: Review, actor: str | None, study_id: int, record_ids: Sequence[int]) -> StudyView:
    """Link more report records to a study."""
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, actor)
        row = study_row(session, study_id)
        for rid in record_ids:
            _link(session, study_id, rid, who.name)
        return StudyView(row.id, row.label, row.nct_id, store.report_counts(session).get(study_id, 0))


def list_studies(review: Review, viewer: str | None = None) -> list[StudyView]:
    """Every study with its report count: those included at full text first, each oldest first; with a
    `viewer`, where each study's extraction stands for them (finished counts, theirs, the comparison)."""
    with session_scope(review.engine) as session:
        counts = store.report_counts(session)
        included = included_studies(session, review.protocol.screening.screeners_per_record)
        who = reviewer(session, viewer) if viewer is not None else None
        finished = store.finished_by_study(session)
        extractors = extractors_by_study(session) if who is not None else {}
        names = store.reviewers_by_id(session)
        views = [study_view(review, r, counts.get(r.id, 0), who, finished.get(r.id, set()),  # type: ignore[arg-type]
                            names, extractors=extractors.get(r.id, set()),  # type: ignore[arg-type]
                            included=r.id in included) for r in store.studies(session)]
    return sorted(views, key=lambda v: not v.included)  # stable: included first, each in study order


@retry_conflicts
def set_arm(review: Review, extractor: str | None, study_id: int, label: str, *, intervention: str | None = None,
            dose: str | None = None, co_intervention: str | None = None, n_randomised: int | str | None = None,
            fields: Mapping[str, Any] | None = None, consensus: bool = False) -> ArmView:
    """Record (or change) an arm; arm fields are validated against the protocol's arm_fields. Only what
    is given changes (arm_in): None keeps the arm's current value, "" clears it."""
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, extractor)
        study_row(session, study_id)
        row = arm_in(session, review.protocol, who, study_id, label, intervention=intervention, dose=dose,
                     co_intervention=co_intervention, n_randomised=n_randomised, fields=fields,
                     consensus=consensus)
        return arm_view(row, store.reviewers_by_id(session))


@retry_conflicts
def remove_arm(review: Review, extractor: str | None, study_id: int, label: str, *,
               consensus: bool = False) -> int:
    """Withdraw an arm entered by mistake (a typo'd label, an arm a table import made, one the consensus
    should not hold): a new row marks it removed, and its values are cleared with it (new rows, audited;
    the history stays). Left behind, they would stay in the comparison as differences the consensus could
    never settle (it holds no value of an arm it does not have). Returns how many values were cleared."""
    label = label.strip()
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, extractor)
        study_row(session, study_id)
        if consensus:
            check_consensus_writer(session, who, study_id, review.protocol.extraction.extractors_per_study)
        key = (study_id, author(who, consensus))
        every = store.current_arms(session, [study_id])
        # The consensus may also leave out an arm only an extractor has (one of them named it otherwise, or
        # entered one the review does not take): marked removed, the consensus call no longer waits for it.
        extractors_arms = {a for (sid, (is_consensus, _)), rows in every.items() if not is_consensus for a in rows}
        if label not in every.get(key, {}) and not (consensus and label in extractors_arms):
            check_arm(session, who, study_id, label, consensus=consensus)  # names the close labels
        arm_in(session, review.protocol, who, study_id, label, consensus=consensus, removed=True)
        cleared = 0
        for k, row in store.current_values(session, [study_id]).get(key, {}).items():
            if k[0] == label and row.value is not None:
                store.add_value(session, previous=row, actor=who, consensus=consensus, study_id=study_id, key=k,
                                value=None, unit=row.unit, converted_from=None, origin="cleared: arm removed")
                cleared += 1
        return cleared


@retry_conflicts
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
        cleared: list[str] = []
        row = value_in(session, review.protocol, who, study_id, field, text, arm=arm, outcome=outcome,
                       timepoint=timepoint, consensus=consensus, cleared=cleared)
        return replace(value_view(row, store.reviewers_by_id(session)), cleared=tuple(cleared))


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
            study_view(review, row, store.report_counts(session).get(study_id, 0), who,
                       store.finished_extractors(session, study_id), names,
                       extractors=study_extractors(session, study_id)),
            who.name, consensus, tuple(arm_view(a, names) for a in arms.values()),
            tuple(value_view(v, names) for v in values.values() if v.value is not None),
            store.last_ci_levels(session, study_id, key[1]))
