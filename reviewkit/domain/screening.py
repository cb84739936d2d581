"""Provides the screening rules: what a record's independent decisions add up to, at one stage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeGuard, TypeVar

Decision = Literal["include", "exclude", "maybe"]
Stage = Literal["ta", "ft"]
Outcome = Literal["unscreened", "in_progress", "conflict", "included", "excluded"]

#: Who decided: reviewer ids in the store, names in tests and reports.
Who = TypeVar("Who")

DECISIONS: tuple[Decision, ...] = ("include", "exclude", "maybe")
STAGES: dict[Stage, str] = {"ta": "title/abstract", "ft": "full text"}


def is_decision(value: str) -> TypeGuard[Decision]:
    """Whether `value` is one of DECISIONS (and, to the type checker, a Decision from here on)."""
    return value in DECISIONS


#: At title/abstract, "maybe" moves a record forward like "include" (as reviewers expect from
#: Covidence and Rayyan); it is kept and shown as maybe, but it does not conflict with an include.
_FORWARD = frozenset({"include", "maybe"})


@dataclass(frozen=True, slots=True)
class RecordScreening:
    """Where one record stands at one stage."""

    outcome: Outcome
    #: How many independent decisions it has, and how many the protocol asks for.
    decided: int
    required: int
    adjudicated: bool = False
    #: A full-text conflict only because a screener said maybe: the others included it or said maybe too,
    #: so had a maybe moved the report on, as it does at title/abstract (and did at full text before
    #: reviewkit made a full-text maybe a conflict), the screeners would agree on including it.
    from_maybe: bool = False


def resolve(
    decisions: Mapping[Who, Decision], required: int, adjudication: Decision | None = None, *, stage: Stage
) -> RecordScreening:
    """Combine reviewers' current decisions (reviewer → decision) and an adjudication, if any.

    An adjudication is final. Otherwise the record waits until `required` reviewers have
    decided; then agreement decides it, and a forward/exclude split is a conflict. At full text
    there is no later stage for a maybe to move a report on to: a maybe there would put a study
    in the review that no one judged eligible, so any maybe makes the record a conflict for the
    adjudicator, who decides include or exclude.
    """
    n = len(decisions)
    if adjudication is not None:
        outcome: Outcome = "excluded" if adjudication == "exclude" else "included"
        return RecordScreening(outcome, n, required, adjudicated=True)
    if n == 0:
        return RecordScreening("unscreened", 0, required)
    if n < required:
        return RecordScreening("in_progress", n, required)
    forward = {d in _FORWARD for d in decisions.values()}
    if stage == "ft" and "maybe" in decisions.values():
        return RecordScreening("conflict", n, required, from_maybe=forward == {True})
    if forward == {True}:
        return RecordScreening("included", n, required)
    if forward == {False}:
        return RecordScreening("excluded", n, required)
    return RecordScreening("conflict", n, required)


#: What PRISMA counts for an exclusion stored without a reason.
NO_REASON = "Reason not recorded"


def counted_reason(given: Iterable[str | None], order: Sequence[str], adjudicated: str | None = None) -> str:
    """The one exclusion reason PRISMA counts for a report excluded at full text.

    The adjudicator's, if they gave one; else, of the screeners' reasons, the one earliest in the
    protocol's list (`order`); a reason the protocol no longer lists ranks after those it does.
    """
    if adjudicated:
        return adjudicated
    rank = {reason: i for i, reason in enumerate(order)}
    reasons = [r for r in given if r]
    return min(reasons, key=lambda r: rank.get(r, len(rank))) if reasons else NO_REASON


def is_reason_dispute(outcome: Outcome, stage: Stage, reasons: Iterable[str | None]) -> bool:
    """Whether a record's screeners all excluded it at full text, for different reasons.

    `outcome` is what their decisions add up to without an adjudication. Not an inclusion conflict
    (the report is out either way), but PRISMA counts one reason per report, so an adjudicator may
    settle which: an adjudication of such a report is an exclusion with the reason to count.
    """
    return stage == "ft" and outcome == "excluded" and len(set(reasons)) > 1


def adjudication_refusal(
    record_id: int, stage: Stage, decision: Decision, own: Outcome, reasons: Iterable[str | None], adjudicated: bool,
) -> str | None:
    """Why an adjudication may not be stored (None: it may), the same rule for the screen and an import.

    `own` is the outcome of the screeners' decisions alone and `reasons` their exclusion reasons.
    A conflict is adjudicated (and may be again); so is a full-text reason dispute, by an exclusion.
    A report every screener excluded at full text is never made included by an adjudication, not
    even by a re-adjudication after its screeners' reasons came to agree. The refusal of a record
    with nothing to adjudicate does not say how far its screening got: an adjudicator who also
    screens would learn that colleagues had decided it.
    """
    if stage == "ft" and own == "excluded":
        if decision != "exclude":
            return (f"record {record_id} was excluded at full text by every screener; an adjudication there "
                    "only chooses the reason PRISMA counts (exclude, with one of the protocol's reasons)")
        if is_reason_dispute(own, stage, reasons) or adjudicated:
            return None
    elif own == "conflict" or adjudicated:
        return None
    return f"record {record_id} is not in conflict at {STAGES[stage]}: there is nothing to adjudicate"


def is_blind_to_others(own: Decision | None, outcome: Outcome) -> bool:
    """Whether a reviewer must not see other reviewers' decisions on a record.

    Blinding holds until the reviewer has decided themselves and the record has all the
    decisions it needs (a conflict, or agreement): only then may decisions be compared.
    """
    return own is None or outcome in ("unscreened", "in_progress")
