"""Provides dual extraction's comparison and consensus (the data pooling takes from it: extract_analysis_data)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, Literal

from reviewkit.domain.extraction import Missing, describe_missing
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.common import acting_reviewer
from reviewkit.services.extract_access import (
    check_consensus_writer,
    check_study_compare,
    extractors_by_study,
    may_compare,
)
from reviewkit.services.extract_checks import conversion_inputs
from reviewkit.services.extract_convert import convert_command
from reviewkit.services.extract_status import missing_fields
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import retry_conflicts, session_scope
from reviewkit.wording import noun

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ArmRow, ExtractionValueRow, ReviewerRow

Kind = Literal["study", "arm", "value"]
ARM_ATTRIBUTES = ("label", "intervention", "dose", "co_intervention", "n_randomised")


@dataclass(frozen=True)
class Difference:
    """One item of a study as each extractor has it (None: not entered), side by side."""

    kind: Kind
    arm: str
    outcome: str
    timepoint: str
    field: str
    values: dict[str, str | None]
    #: The consensus value recorded so far (None: none yet).
    consensus: str | None = None
    #: How each extractor's value was derived: its conversion record as one line (provenance), or None for a
    #: value entered as reported (and for one not entered). Only value rows carry conversions.
    provenance: dict[str, str | None] = dataclass_field(default_factory=dict)
    #: The item's arm was removed from the consensus (`extract remove-arm --consensus`): it needs no choice
    #: (record_consensus leaves it out), but a choice naming it brings the arm back.
    arm_removed: bool = False

    @property
    def key(self) -> str:
        """How a consensus choice names this item: study|tcs, arm|Placebo|dose, value|Placebo|easi75|week 16|events."""
        parts = {"study": (self.field,), "arm": (self.arm, self.field),
                 "value": (self.arm, self.outcome, self.timepoint, self.field)}[self.kind]
        return "|".join((self.kind, *parts))

    @property
    def agreed(self) -> bool:
        """Every extractor has the same value, derived the same way (provenance).

        An SD one extractor converted from a CI and another entered as reported (or converted from the CI at
        another level) agrees in its number only: they read the report differently, and the consensus keeps
        one row with one conversion record (or none), which the analysis reads (whether the SD was derived,
        at which CI level). Taking either silently would decide for the reviewers, and drop the other's
        record, so it differs like any other item and is settled by a choice: `--take` keeps that
        extractor's value with its record, `--value` stores one as reported. The consensus is checked the
        same way elsewhere: a converted value stands only with its record (extract.value_in, the import's
        record_problems, _check_conversions).
        """
        return len(set(self.values.values())) == 1 and len(set(self.provenance.values())) <= 1


@dataclass(frozen=True)
class Comparison:
    """A study's independent extractions compared: who extracted, and every item, agreed or not."""

    study_id: int
    extractors: tuple[str, ...]
    required: int
    items: tuple[Difference, ...]

    @property
    def differing(self) -> tuple[Difference, ...]:
        """The items that need a choice."""
        return tuple(d for d in self.items if not d.agreed)


@dataclass(frozen=True)
class Waiting:
    """A consensus arm still blocked by unresolved attributes, and the choices given for it (its own
    attributes and its values) that were therefore not stored."""

    arm: str
    waits_for: tuple[str, ...]
    choices: tuple[str, ...]

    def __str__(self) -> str:
        n = len(self.choices)
        return (f"arm {self.arm} waits for {', '.join(self.waits_for)}: its {n} choice{'' if n == 1 else 's'} "
                f"{'was' if n == 1 else 'were'} not stored ({', '.join(self.choices)})")


@dataclass(frozen=True)
class ConsensusResult:
    """What a consensus call stored, the differences still waiting for a choice, and the choices given
    that were not stored because their arm waits for an unresolved attribute."""

    study_id: int
    stored: int
    unresolved: tuple[Difference, ...]
    not_stored: tuple[Waiting, ...] = ()
    #: Converted values of the consensus cleared because a statistic they came from now differs
    #: ("value|Placebo|dlqi_change|week 16|sd (converted from q3) cleared: …").
    cleared: tuple[str, ...] = ()


def _arm_items(arm: ArmRow | None) -> dict[str, str | None]:
    if arm is None:
        return {}
    items: dict[str, str | None] = {"label": arm.label, "intervention": arm.intervention, "dose": arm.dose,
                                    "co_intervention": arm.co_intervention,
                                    "n_randomised": None if arm.n_randomised is None else str(arm.n_randomised)}
    items.update({f"fields.{k}": str(v) for k, v in arm.fields.items() if not k.startswith("_")})
    return items


def provenance(row: ExtractionValueRow | None) -> str | None:
    """How a value row's value was derived, as the comparison shows it: "converted (METHOD): TEXT" from its
    conversion record (TEXT names the inputs, a CI's level and the method), None for a value entered as
    reported. Two rows agree on their derivation when these are equal."""
    if row is None or row.value is None or not row.converted_from:
        return None
    record = row.converted_from
    if not isinstance(record, Mapping):
        return f"converted: {json.dumps(record, sort_keys=True, default=str)}"
    text = record.get("text")
    how = f" ({record['method']})" if record.get("method") else ""
    if isinstance(text, str) and text:
        return f"converted{how}: {text}"
    inputs = record.get("inputs")
    return f"converted{how}: {json.dumps(inputs if inputs is not None else record, sort_keys=True, default=str)}"


def _compare(session: Session, review: Review, study_id: int
             ) -> tuple[Comparison, dict[str, dict[str, Any]]]:
    """The comparison, and per item key the source row (value rows) of each extractor."""
    names = store.reviewers_by_id(session)
    arms = {a[1]: rows for (sid, a), rows in store.current_arms(session, [study_id]).items()
            if sid == study_id and not a[0]}
    values = {a[1]: rows for (sid, a), rows in store.current_values(session, [study_id]).items()
              if sid == study_id and not a[0]}
    agreed_arms = store.current_arms(session, [study_id]).get((study_id, (True, None)), {})
    agreed_values = store.current_values(session, [study_id]).get((study_id, (True, None)), {})
    dropped = store.removed_arm_labels(session, study_id, (True, None))
    ids: list[int] = sorted((i for i in set(arms) | set(values) if i is not None),
                            key=lambda i: names[i].name if i in names else "")
    who = {i: names[i].name for i in ids}
    items: dict[str, Difference] = {}
    sources: dict[str, dict[str, Any]] = {}
    labels = list(dict.fromkeys(label for i in ids for label in arms.get(i, {})))
    for label in labels:
        per = {i: _arm_items(arms.get(i, {}).get(label)) for i in ids}
        settled = _arm_items(agreed_arms.get(label))
        for attr in dict.fromkeys(a for p in per.values() for a in p):
            d = Difference("arm", label, "", "", attr, {who[i]: per[i].get(attr) or None for i in ids},
                           settled.get(attr) or None, arm_removed=label in dropped)
            items[d.key] = d
    keys = list(dict.fromkeys(k for i in ids for k, r in values.get(i, {}).items() if r.value is not None))
    for arm, outcome, timepoint, field in keys:
        rows = {i: values.get(i, {}).get((arm, outcome, timepoint, field)) for i in ids}
        kind: Kind = "value" if outcome else "study"
        settled_row = agreed_values.get((arm, outcome, timepoint, field))
        d = Difference(kind, arm, outcome, timepoint, field,
                       {who[i]: r.value if r is not None else None for i, r in rows.items()},
                       settled_row.value if settled_row is not None else None,
                       {who[i]: provenance(r) for i, r in rows.items()}, arm_removed=bool(arm) and arm in dropped)
        items[d.key] = d
        sources[d.key] = {who[i]: r for i, r in rows.items() if r is not None}
    comparison = Comparison(study_id, tuple(who[i] for i in ids), review.protocol.extraction.extractors_per_study,
                            tuple(items.values()))
    return comparison, sources


def _check_viewer(session: Session, review: Review, who: ReviewerRow, study_id: int) -> None:
    """Refuse `who` a study's comparison unless the blinding rule (extract_access) lets them see it."""
    check_study_compare(session, who, study_id, review.protocol.extraction.extractors_per_study)


def compare_extractions(review: Review, viewer: str | None, study_id: int) -> Comparison:
    """Every item of a study's independent extractions, each extractor's value side by side, for a lead,
    an adjudicator, or an extractor of the study once every independent extraction of it is finished
    (anyone else, and an extractor before then, is refused: extract_access)."""
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, viewer)
        extract.study_row(session, study_id)
        _check_viewer(session, review, who, study_id)
        return _compare(session, review, study_id)[0]


def open_comparisons(review: Review, viewer: str | None, study_ids: Iterable[int] | None = None
                     ) -> list[Comparison]:
    """The comparison of each study (of `study_ids`, in that order; default every study) that
    compare_extractions would show `viewer`; the others are left out. An unknown or dropped viewer is
    refused, as there."""
    required = review.protocol.extraction.extractors_per_study
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, viewer)
        finished = store.finished_by_study(session)
        extractors = extractors_by_study(session)
        ids = list(study_ids) if study_ids is not None else [s.id for s in store.studies(session)]
        return [_compare(session, review, sid)[0] for sid in ids
                if sid is not None and may_compare(who, finished.get(sid, set()), extractors.get(sid, set()), required)]


def extraction_differences(review: Review, viewer: str | None, study_id: int) -> list[Difference]:
    """The items on which a study's extractors differ (a value only one of them entered counts), for
    those compare_extractions shows them to."""
    return list(compare_extractions(review, viewer, study_id).differing)


@retry_conflicts
def record_consensus(review: Review, actor: str | None, study_id: int, *, accept_agreed: bool = True,
                     take: Mapping[str, str] | None = None, values: Mapping[str, str | None] | None = None
                     ) -> ConsensusResult:
    """Store the consensus of a study's extractions (rows with is_consensus=True), in one transaction.

    `accept_agreed` makes every agreed item consensus (agreed in value and in how it was derived:
    Difference.agreed); a differing item needs an explicit choice: `take[key] = extractor` (that extractor's value) or `values[key] = text` (also for an arm
    field no extractor entered: `arm|ARM|fields.NAME`). Items left without a choice are returned
    unresolved (an arm with an unresolved attribute, and its values, wait for it: the choices given
    for them are returned as not stored, with what they wait for). It may be recorded once every
    independent extraction of the study is finished (at least the protocol's number), by a lead, an
    adjudicator or one of its extractors (extract_access.check_consensus_writer); before then, and
    anyone else, is refused before anything is stored.

    The consensus must hold together, as one extractor's extraction does (extract.value_in): a
    converted value (an SD estimated from q1/median/q3 and n, say) stands only with the statistics it
    was computed from. A converted value taken from an extractor whose inputs the consensus does not
    share (q3 taken from another extractor with another value) is refused, nothing stored, naming the
    value and its inputs (_check_conversions); one not chosen here (agreed, or stored earlier) whose
    input changed is cleared, and `cleared` says so. Refused too: a consensus without a field the
    protocol's form requires, other than one still waiting for a choice (_check_required).
    """
    take, values = dict(take or {}), dict(values or {})
    with session_scope(review.engine, write=True) as session:
        who = extract.reviewer(session, actor)
        extract.study_row(session, study_id)
        # The result lists unresolved items with every extractor's value: the writer may compare the study.
        check_consensus_writer(session, who, study_id, review.protocol.extraction.extractors_per_study)
        comparison, sources = _compare(session, review, study_id)
        items = {d.key: d for d in comparison.items}
        arm_labels = {d.arm for d in comparison.items if d.kind == "arm"}
        for key, name in take.items():
            if key not in items:
                raise ReviewkitError(f"no item '{key}' in study {study_id}'s extractions")
            if name not in comparison.extractors:
                raise ReviewkitError(f"'{name}' did not extract study {study_id} "
                                     f"(extractors: {', '.join(comparison.extractors)})")
        unknown = [k for k in values if k not in items and not k.startswith(("study|", "value|"))
                   and not _new_arm_field(k, arm_labels)]
        if unknown:
            raise ReviewkitError(f"no item '{unknown[0]}' in study {study_id}'s extractions")
        # What the consensus already holds stands until a choice names it again: a second call (to settle
        # what the first left) must neither take back a correction made since (`extract set --consensus`
        # over an agreed value) nor make an arm settled before wait again for its attributes.
        held_arms = store.current_arms(session, [study_id]).get((study_id, (True, None)), {})
        held_values = store.current_values(session, [study_id]).get((study_id, (True, None)), {})
        dropped = store.removed_arm_labels(session, study_id, (True, None))

        def decided(d: Difference) -> tuple[bool, str | None, Any]:
            if d.key in values:
                return True, values[d.key], None
            if d.key in take:
                return True, d.values[take[d.key]], sources.get(d.key, {}).get(take[d.key])
            if d.kind == "arm" and d.arm in held_arms:
                # An attribute the held arm lacks takes the extractors' agreed one (an arm the consensus
                # was given by hand, `extract arm --consensus`, with some options only).
                held = _arm_items(held_arms[d.arm]).get(d.field)
                if held or not (accept_agreed and d.agreed):
                    return True, held, None
            if accept_agreed and d.agreed:
                return True, next(iter(d.values.values())), next(iter(sources.get(d.key, {}).values()), None)
            return False, None, None

        unresolved: list[Difference] = []
        stored = 0
        blocked: dict[str, list[str]] = {}  # arm → the attributes it waits for
        missing_arms: dict[str, tuple[str, ...]] = {}  # arm → the required arm fields chosen empty
        by_arm: dict[str, list[Difference]] = {}
        for d in comparison.items:
            if d.kind == "arm":
                by_arm.setdefault(d.arm, []).append(d)
        for label, attrs in by_arm.items():
            if label in dropped and not any(d.key in take or d.key in values for d in attrs):
                continue  # removed from the consensus (`extract remove-arm --consensus`): not brought back
            # A held arm keeps what no item names too (an arm field the consensus alone was given).
            chosen: dict[str, str | None] = dict(_arm_items(held_arms.get(label)))
            for d in attrs:
                ok, text, _ = decided(d)
                if not ok:
                    unresolved.append(d)
                chosen[d.field] = text
            waits = [d.field for d in attrs if not decided(d)[0]]
            if waits or not chosen.get("label"):
                blocked[label] = waits or ["label"]
                continue
            # An arm field no extractor entered, given by the consensus writer (a required one, say).
            chosen |= {k.split("|")[2]: v for k, v in values.items() if k not in items and _new_arm_field(k, {label})}
            # Every arm field, empty ones too: the consensus arm is what was chosen, nothing kept from before.
            fields = {f.name: "" for f in review.protocol.extraction.arm_fields}
            fields |= {k.removeprefix("fields."): v or "" for k, v in chosen.items() if k.startswith("fields.")}
            lacking = tuple(f.name for f in review.protocol.extraction.arm_fields if f.required and not fields[f.name])
            if lacking:  # refused below with every other missing field (_check_required); its values wait
                missing_arms[label] = lacking
                continue
            before = store.current_arms(session, [study_id]).get((study_id, (True, None)), {}).get(label)
            row = extract.arm_in(session, review.protocol, who, study_id, label,
                                 intervention=chosen.get("intervention") or "", dose=chosen.get("dose") or "",
                                 co_intervention=chosen.get("co_intervention") or "",
                                 n_randomised=chosen.get("n_randomised") or "", fields=fields, consensus=True)
            stored += row is not before
        explicit = [extract_key(k) for k in values if k not in items and not k.startswith("arm|")]
        taken: dict[str, tuple[Difference, ExtractionValueRow]] = {}  # converted values chosen by --take
        cleared: list[str] = []
        for d in [*(x for x in comparison.items if x.kind != "arm"), *explicit]:
            if d.key not in take and d.key not in values and (
                    d.arm in dropped or (d.arm, d.outcome, d.timepoint, d.field) in held_values):
                continue  # left as the consensus holds it (a value cleared since as stale stays cleared)
            ok, text, source = decided(d)
            if not ok or d.arm in blocked or d.arm in missing_arms:
                if not ok:
                    unresolved.append(d)
                continue
            if text is None:
                continue
            if d.key in take and source is not None and source.converted_from:
                taken[d.key] = (d, source)
            notes: list[str] = []
            stored += _write(session, review, who, study_id, d, text, source, notes) is not None
            cleared += [f"{_group_key(d)}|{note}" for note in notes]
        _check_conversions(session, study_id, taken, take)
        cleared += _clear_stale(session, who, study_id, set(taken))
        _check_required(session, review, study_id, unresolved, blocked, missing_arms)
        given = [*take, *values]
        waiting = tuple(Waiting(label, tuple(waits), tuple(k for k in given if _arm_of(k) == label))
                        for label, waits in blocked.items())
        return ConsensusResult(study_id, stored, tuple(unresolved), tuple(w for w in waiting if w.choices),
                               tuple(_with_hint(note, study_id) for note in cleared))


def _new_arm_field(key: str, arms: set[str]) -> bool:
    """Whether `key` names an arm field of a compared arm (arm|ARM|fields.NAME) that no extractor entered."""
    parts = key.split("|")
    return len(parts) == 3 and parts[0] == "arm" and parts[1] in arms and parts[2].startswith("fields.")


def _group_key(d: Difference) -> str:
    """value|ARM|OUTCOME|TIMEPOINT: the statistics of one arm at one outcome and timepoint."""
    return "|".join(("value", d.arm, d.outcome, d.timepoint))


def _with_hint(note: str, study_id: int) -> str:
    """A cleared note with the command that converts the consensus again."""
    _, arm, outcome, timepoint, rest = note.split("|", 4)
    return f"value|{arm}|{outcome}|{timepoint}|{rest} ({convert_command(study_id, arm, outcome, timepoint)})"


def _consensus_stats(session: Session, study_id: int) -> dict[tuple[str, str, str], dict[str, str]]:
    """(arm, outcome, timepoint) → statistic → the consensus value, as it now stands (uncommitted writes too)."""
    rows = store.current_values(session, [study_id]).get((study_id, (True, None)), {})
    out: dict[tuple[str, str, str], dict[str, str]] = {}
    for (arm, outcome, timepoint, field), row in rows.items():
        if outcome and row.value is not None:
            out.setdefault((arm, outcome, timepoint), {})[field] = row.value
    return out


def _contradicted(converted_from: Mapping[str, Any], stats: Mapping[str, str]) -> list[tuple[str, float, str | None]]:
    """(statistic, the value a conversion used, the value the consensus has) for each input that differs."""
    out: list[tuple[str, float, str | None]] = []
    for name, used in conversion_inputs(converted_from).items():
        now = stats.get(name)
        if now is None or float(now) != used:
            out.append((name, used, now))
    return out


def _inputs_text(converted_from: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {used:g}" for name, used in conversion_inputs(converted_from).items())


def _check_conversions(session: Session, study_id: int, taken: Mapping[str, tuple[Difference, ExtractionValueRow]],
                       take: Mapping[str, str]) -> None:
    """Refuse converted values taken from an extractor whose inputs the consensus does not share.

    Refused rather than cleared: the writer asked for that value by name, and storing the rest without
    it would do something else than asked; the message says how to get a consistent consensus.
    """
    stats = _consensus_stats(session, study_id)
    # One line per arm, outcome and extractor: a mean and an SD estimated together share their inputs.
    groups: dict[tuple[str, str], list[tuple[Difference, ExtractionValueRow]]] = {}
    for key, (d, source) in taken.items():
        groups.setdefault((_group_key(d), take[key]), []).append((d, source))
    problems: list[str] = []
    hints: list[str] = []
    for (group, name), chosen in groups.items():
        d, source = chosen[0]
        differs = _contradicted(source.converted_from, stats.get((d.arm, d.outcome, d.timepoint), {}))
        if not differs:
            continue
        now = ", ".join(f"{stat} {'none' if value is None else value}"
                        + (f" ({take[f'{group}|{stat}']}'s)" if f"{group}|{stat}" in take else "")
                        for stat, _, value in differs)
        taken_values = " and ".join(f"{c.field} {c.values[name]}" for c, _ in chosen)
        problems.append(f"{group}: {name}'s {taken_values} {'were' if len(chosen) > 1 else 'was'} converted from "
                        f"{_inputs_text(source.converted_from)}, but the consensus has {now}")
        hints.append(convert_command(study_id, d.arm, d.outcome, d.timepoint))
    if problems:
        raise ReviewkitError(
            f"study {study_id}'s consensus would contradict itself, nothing stored: {'; '.join(problems)}",
            hint="take the inputs and the converted values from the same extractor, or take the inputs only "
                 f"and then convert the consensus: {', '.join(dict.fromkeys(hints))}")


def _clear_stale(session: Session, who: ReviewerRow, study_id: int, chosen: Collection[str]) -> list[str]:
    """Clear the consensus's converted values (not chosen by --take: those _check_conversions vouched for)
    whose inputs no longer match its statistics, as one extractor's are when an input changes
    (extract.value_in); the notes say which."""
    notes: list[str] = []
    rows = store.current_values(session, [study_id]).get((study_id, (True, None)), {})
    stats = _consensus_stats(session, study_id)
    for (arm, outcome, timepoint, field), row in rows.items():
        key = "|".join(("value", arm, outcome, timepoint, field))
        if not outcome or row.value is None or not row.converted_from or key in chosen:
            continue
        differs = _contradicted(row.converted_from, stats.get((arm, outcome, timepoint), {}))
        if differs:
            names = ", ".join(name for name, _, _ in differs)
            store.add_value(session, previous=row, actor=who, consensus=True, study_id=study_id,
                            key=(arm, outcome, timepoint, field), value=None, unit=row.unit, converted_from=None,
                            origin=f"cleared: {names} changed")
            notes.append(f"{key} (converted from {names}) cleared: convert again")
    return notes


def _prefix(arm: str) -> str:
    """How a consensus key names a required field: study|NAME, or arm|ARM|fields.NAME."""
    return f"arm|{arm}|fields." if arm else "study|"


def _check_required(session: Session, review: Review, study_id: int, unresolved: Collection[Difference],
                    blocked: Collection[str], arms: Mapping[str, tuple[str, ...]]) -> None:
    """Refuse a consensus that lacks a field the protocol's form requires, as finishing an extraction is
    refused (extract_status): a field still waiting for a choice is not missing, it is unresolved.
    `arms`: the arms this call chose without a required field (not stored)."""
    waiting = {d.key for d in unresolved}
    stored = missing_fields(session, review.protocol, study_id, (True, None))
    missing = [m for m in stored if not m.arm]
    missing += [Missing(label, fields) for label, fields in arms.items()]
    missing += [m for m in stored if m.arm and m.arm not in arms and m.arm not in blocked]
    missing = [Missing(m.arm, tuple(f for f in m.fields if f"{_prefix(m.arm)}{f}" not in waiting)) for m in missing]
    missing = [m for m in missing if m.fields]
    if missing:
        described = describe_missing(missing)
        give = ", ".join(f"--value '{_prefix(m.arm)}{f}=VALUE'" for m in missing for f in m.fields)
        fields = noun(sum(len(m.fields) for m in missing), "field")
        raise ReviewkitError(f"study {study_id}'s consensus lacks required {fields}, nothing stored: {described}",
                             hint=f"give them: {give}")


def _arm_of(key: str) -> str | None:
    """The arm an item key belongs to (arm|ARM|… or value|ARM|…); None for a study field."""
    parts = key.split("|")
    return parts[1] if parts[0] in ("arm", "value") and len(parts) > 2 else None


def extract_key(key: str) -> Difference:
    """The item a consensus key names (for a value set in consensus that no extractor entered)."""
    parts = key.split("|")
    if parts[0] == "study" and len(parts) == 2:
        return Difference("study", "", "", "", parts[1], {})
    if parts[0] == "value" and len(parts) == 5:
        return Difference("value", parts[1], parts[2], parts[3], parts[4], {})
    raise ReviewkitError(f"'{key}' is not an item key", hint="study|FIELD or value|ARM|OUTCOME|TIMEPOINT|FIELD")


def _write(session: Session, review: Review, who: Any, study_id: int, d: Difference, text: str,
           source: ExtractionValueRow | None, cleared: list[str]) -> ExtractionValueRow | None:
    before = store.current_values(session, [study_id]).get((study_id, (True, None)), {}).get(
        (d.arm, d.outcome, d.timepoint, d.field))
    row = extract.value_in(session, review.protocol, who, study_id, d.field, text, arm=d.arm, outcome=d.outcome,
                           timepoint=d.timepoint, consensus=True,
                           origin=source.origin if source is not None and source.value == text else "manual",
                           converted_from=source.converted_from if source is not None and source.value == text
                           else None, cleared=cleared)
    return None if row is before else row
