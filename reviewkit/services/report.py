"""Provides the PRISMA 2020 counts derived from the review's data, checked, and drawn or exported."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.domain.prisma import (
    IdentityViolation,
    OtherMethods,
    PrismaCounts,
    check_identities,
    errors_only,
)
from reviewkit.domain.prisma_io import to_json_dict, to_prisma2020_csv
from reviewkit.domain.screening import NO_REASON, counted_reason
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.status import DATABASES_AND_REGISTERS as _DBR
from reviewkit.services.status import count_included_studies, stage_outcomes
from reviewkit.store import queries
from reviewkit.store import screening as store_screening
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.domain.screening import Outcome
    from reviewkit.store.tables import FullTextRow

_OTHER_BOXES = {"website": "Websites", "organisation": "Organisations", "citation": "Citation searching",
                "other": "Other sources"}


@dataclass(frozen=True)
class PrismaReport:
    """The counts, any identity violations, and the records behind each kind of gap."""

    counts: PrismaCounts
    violations: tuple[IdentityViolation, ...]
    #: Records that explain a violation: full text still undecided or in conflict, by outcome.
    pending_full_text: tuple[int, ...] = ()
    pending_title_abstract: tuple[int, ...] = ()
    #: Whether any record has a screening decision at all (a new review's records have none).
    screening_started: bool = True


@dataclass(frozen=True)
class _Column:
    """One column's flow below identification: the records that reached full text and what became of them."""

    sought: set[int]
    not_retrieved: set[int]
    assessed: set[int]
    excluded: set[int]
    included: set[int]
    ft: dict[int, Outcome]


def _column(session: Session, passed: set[int], full_text: dict[int, FullTextRow], required: int) -> _Column:
    """Reports sought (records past title/abstract), not retrieved, assessed, excluded and included."""
    not_retrieved = {rid for rid in passed if rid in full_text and full_text[rid].status == "not_retrieved"}
    assessed = passed - not_retrieved
    ft = stage_outcomes(session, "ft", assessed, required)
    return _Column(passed, not_retrieved, assessed, {rid for rid, o in ft.items() if o == "excluded"},
                   {rid for rid, o in ft.items() if o == "included"}, dict(ft))


def prisma_counts(review: Review) -> PrismaReport:
    """Count every PRISMA box from records, runs, duplicates, decisions and study links.

    A record's column is the kind of the run that brought it: databases and registers on the left,
    websites, organisations, citation searching and other sources in "Identification of studies via
    other methods". A record found both ways (a duplicate group with members from both) counts where
    its group's primary came from: the primary flows on in its own column, and the removed copies are
    counted only where they were identified (in "Duplicate records removed" when that is the left
    column; the other-methods column has no deduplication box, so there they are simply not sought).
    Other-methods records that pass title/abstract screening are its "Reports sought for retrieval".
    """
    required = review.protocol.screening.screeners_per_record
    reasons_order = review.protocol.screening.exclusion_reasons
    with session_scope(review.engine) as session:
        identified = queries.identified_by_run_kind(session)
        kinds = queries.record_kinds_by_first_run(session)
        removed = queries.removed_duplicates(session)
        dbr_records = {rid for rid, kind in kinds.items() if kind in _DBR}
        unique = dbr_records - removed
        other_unique = set(kinds) - dbr_records - removed
        ta = stage_outcomes(session, "ta", unique | other_unique, required)
        passed = {rid for rid, o in ta.items() if o == "included"}
        full_text = store_screening.full_text_statuses(session)
        dbr = _column(session, passed & unique, full_text, required)
        oth = _column(session, passed & other_unique, full_text, required)
        reasons = _exclusion_reasons(session, dbr.excluded, reasons_order)
        other_reasons = _exclusion_reasons(session, oth.excluded, reasons_order)
        included = dbr.included | oth.included
        studies = count_included_studies(session, included)
    other_identified: dict[str, int] = {}
    for (kind, _), n in identified.items():
        if kind not in _DBR:  # several sources of one kind share its box
            box = _OTHER_BOXES.get(kind, "Other sources")
            other_identified[box] = other_identified.get(box, 0) + n
    counts = PrismaCounts(
        databases={s: n for (k, s), n in identified.items() if k == "database"},
        registers={s: n for (k, s), n in identified.items() if k == "register"},
        duplicates_removed=len(removed & dbr_records),
        automation_ineligible=0,
        removed_other_reasons=0,
        records_screened=len(unique),
        records_excluded=sum(1 for rid in unique if ta[rid] == "excluded"),
        reports_sought=len(dbr.sought),
        reports_not_retrieved=len(dbr.not_retrieved),
        reports_assessed=len(dbr.assessed),
        reports_excluded=reasons,
        studies_included=studies,
        reports_included=len(included),
        other=OtherMethods(identified=other_identified, sought=len(oth.sought), not_retrieved=len(oth.not_retrieved),
                           assessed=len(oth.assessed), excluded=other_reasons)
        if other_identified else None,
    )
    ft = dbr.ft | oth.ft
    return PrismaReport(
        counts=counts,
        violations=tuple(check_identities(counts)),
        pending_full_text=tuple(sorted(rid for rid, o in ft.items() if o not in ("included", "excluded"))),
        pending_title_abstract=tuple(sorted(rid for rid, o in ta.items() if o not in ("included", "excluded"))),
        screening_started=any(o != "unscreened" for o in ta.values()),
    )


def _some(ids: tuple[int, ...], shown: int = 10) -> str:
    """Record ids for a message: all of a few, else the first ones and how many there are."""
    if len(ids) <= shown:
        return str(list(ids))
    return f"[{', '.join(map(str, ids[:shown]))}, …] ({len(ids)} in all)"


def _exclusion_reasons(session: object, excluded: set[int], order: list[str]) -> dict[str, int]:
    """One reason per excluded report: the adjudicator's, else the first by the protocol's priority
    (screeners who gave different ones are listed by `reviewkit conflicts`)."""
    adjudicated = store_screening.adjudication_rows(session, "ft")  # type: ignore[arg-type]
    decisions = queries.current_decisions_rows(session, "ft")  # type: ignore[arg-type]
    tally: Counter[str] = Counter()
    for rid in excluded:
        adj = adjudicated.get(rid)
        tally[counted_reason((row.reason for row in decisions.get(rid, [])), order, adj.reason if adj else None)] += 1
    return {r: tally[r] for r in [*order, NO_REASON] if tally[r]}


@dataclass(frozen=True)
class PrismaOutput:
    """What write_prisma produced: the file, or the text for "-"; and, for counts written while
    they do not add up yet, a one-line caveat to show beside them."""

    path: Path | None
    text: str | None
    caveat: str | None = None


def write_prisma(review: Review, fmt: str, output: Path | None) -> PrismaOutput:
    """Write the diagram (svg/png/pdf) or the counts (json/csv); refuses a diagram that breaks an identity.

    The counts are written whatever state the review is in (a lead reports progress mid-review),
    but with a caveat when they break an identity or records wait for decisions: the CSV has no
    place to say so, and a reader would take its boxes as final.
    """
    report = prisma_counts(review)
    errors = errors_only(list(report.violations))
    pending = report.pending_title_abstract or report.pending_full_text
    if fmt in ("json", "csv"):
        if fmt == "json":
            data = to_json_dict(report.counts)
            data["violations"] = [v.explanation for v in report.violations]
            text = json.dumps(data, indent=2)
        else:
            text = to_prisma2020_csv(report.counts)
        caveat = _caveat(report, errors) if errors or pending else None
        if output is not None and str(output) == "-":
            return PrismaOutput(None, text, caveat)
        path = output or review.exports / f"prisma.{fmt}"
        path.write_text(text, encoding="utf-8")
        return PrismaOutput(path, None, caveat)
    if errors or pending:
        # Records still waiting for decisions make the boxes disagree (some identities only as
        # notes, since one record can lead to several reports): a diagram now would mislead.
        why = "the PRISMA counts do not add up" if errors else "the PRISMA counts are not final"
        raise ReviewkitError(f"{why}, so no diagram is drawn: {_caveat(report, errors)}",
                             hint=("screen the records first (reviewkit screen), or " if not report.screening_started
                                   else "finish screening, or " if pending else "")
                             + "run reviewkit prisma --format json -o - to inspect the counts")
    from reviewkit.render.prisma import render_prisma

    path = output or review.exports / f"prisma.{fmt}"
    render_prisma(report.counts, path)
    return PrismaOutput(path, None)


def _caveat(report: PrismaReport, errors: list[IdentityViolation]) -> str:
    """Why the counts are not final: the records still undecided first, then the identities they break.

    While records wait for decisions, the notes (reports sought differ from records screened minus
    excluded) follow from that alone and are left out: they would send a user looking for a cause.
    """
    ta, ft = report.pending_title_abstract, report.pending_full_text
    broken = "; ".join(v.explanation for v in errors)
    if not (ta or ft):
        return broken or "; ".join(v.explanation for v in report.violations)
    if not report.screening_started:
        which = (f"record {ta[0]} has no title/abstract decision" if len(ta) == 1
                 else f"none of the {len(ta)} records {_some(ta)} has a title/abstract decision")
        lead = f"screening has not started ({which})"
    else:
        lead = f"screening is unfinished (records still undecided: title/abstract {_some(ta)}, full text {_some(ft)})"
    return f"{lead}; {broken}" if broken else lead


def prisma_summary(review: Review) -> str:
    """The flow as indented text (for the TUI), followed by any identity the counts break and why."""
    from reviewkit.render.prisma import prisma_text

    report = prisma_counts(review)
    text = prisma_text(report.counts, allow_violations=True)
    if report.violations:
        pending = bool(report.pending_title_abstract or report.pending_full_text)
        # write_prisma draws no diagram while records wait for decisions, whatever the violations are.
        blocking = bool(errors_only(list(report.violations))) or pending
        text += "\n\nThe counts do not add up yet" + (
            " (no diagram is drawn until they do):\n" if blocking else " (notes; the diagram can be drawn):\n")
        if not report.screening_started:
            text += "  • screening has not started: no record has a title/abstract decision\n"
        text += "\n".join(f"  • {v.severity}: {v.explanation}" for v in report.violations)
        if pending:
            text += (f"\n  records still undecided: title/abstract {len(report.pending_title_abstract)}, "
                     f"full text {len(report.pending_full_text)}")
    return text
