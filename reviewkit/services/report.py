"""Provides the PRISMA 2020 counts derived from the review's data, checked, and drawn or exported."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.domain.prisma import (
    NOT_SOUGHT_DUPLICATES,
    NOT_SOUGHT_EXCLUDED,
    NOT_SOUGHT_PENDING,
    IdentityViolation,
    OtherMethods,
    Pending,
    PrismaCounts,
    check_identities,
    errors_only,
)
from reviewkit.domain.prisma_io import to_json_dict, to_prisma2020_csv
from reviewkit.domain.screening import NO_REASON, counted_reason
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.status import DATABASES_AND_REGISTERS as _DBR
from reviewkit.services.status import count_included_studies, record_columns, stage_outcomes
from reviewkit.store import dedup as store_dedup
from reviewkit.store import queries, runs_read
from reviewkit.store import screening as store_screening
from reviewkit.store.db import session_scope
from reviewkit.wording import counted

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.domain.screening import Outcome
    from reviewkit.store.tables import FullTextRow

#: The template's boxes of "Records identified from" (other methods) by run kind; a source of kind
#: "other" (a hand search, experts contacted) is listed under its own name, as the template's "etc.".
_OTHER_BOXES = {"website": "Websites", "organisation": "Organisations", "citation": "Citation searching"}


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
    #: What waits for a human, counted per column (duplicate pairs too), for the identities and messages.
    pending: Pending = Pending()
    #: Full-text exclusion reasons counted in "Reports excluded" that the protocol does not list.
    unlisted_reasons: tuple[str, ...] = ()
    #: Included reports whose study links are still proposals (dedup's, from NCT numbers): "Studies included"
    #: counts them as linked until a reviewer confirms or rejects them.
    proposed_links: tuple[int, ...] = ()
    #: The waiting records' outcomes ("unscreened", "in_progress", "conflict") per stage.
    waiting_title_abstract: tuple[tuple[int, str], ...] = ()
    waiting_full_text: tuple[tuple[int, str], ...] = ()
    #: Searches whose latest run did not finish, as warnings: their sources' counts hold only what they stored.
    unfinished_searches: tuple[str, ...] = ()

    @property
    def not_final(self) -> bool:
        """Whether anything still waits for a human (a decision, or a duplicate pair's verdict)."""
        return bool(self.pending_title_abstract or self.pending_full_text or self.pending.duplicate_pairs)


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
    """Reports sought (records past title/abstract), not retrieved, assessed, excluded and included.

    "Assessed for eligibility" is a report read against the criteria (prisma2020.md §4): one with a
    settled full-text outcome. A retrieved report still undecided (not started, in progress, in
    conflict) is sought but not yet assessed; `awaiting` counts it.
    """
    not_retrieved = {rid for rid in passed if rid in full_text and full_text[rid].status == "not_retrieved"}
    ft = stage_outcomes(session, "ft", passed - not_retrieved, required)
    excluded = {rid for rid, o in ft.items() if o == "excluded"}
    included = {rid for rid, o in ft.items() if o == "included"}
    return _Column(passed, not_retrieved, excluded | included, excluded, included, dict(ft))


def _awaiting(column: _Column) -> int:
    """Reports of the column sought, not marked not retrieved, and not yet assessed."""
    return len(column.sought - column.not_retrieved - column.assessed)


def prisma_counts(review: Review) -> PrismaReport:
    """Count every PRISMA box from records, runs, duplicates, decisions and study links.

    A record's column is the kind of the runs that brought it: databases and registers on the left,
    websites, organisations, citation searching and other sources in "Identification of studies via
    other methods". A report found both ways (a duplicate group with members from both) is counted once,
    in the databases and registers column (prisma2020.md §5 item 7), whichever member is the group's
    primary (status.record_columns): the left column's copies beyond one are "Duplicate records removed";
    its other-methods copies are not sought in that column. Other-methods records that pass
    title/abstract screening are its "Reports sought for retrieval"; those excluded there, and the
    duplicates, are its records not sought (OtherMethods.not_sought), so none leaves the diagram.
    """
    required = review.protocol.screening.screeners_per_record
    reasons_order = review.protocol.screening.exclusion_reasons
    with session_scope(review.engine) as session:
        identified = queries.identified_by_run_kind(session)
        columns = record_columns(session)
        unique, other_unique = set(columns.dbr_unique), set(columns.other_unique)
        ta = stage_outcomes(session, "ta", unique | other_unique, required)
        passed = {rid for rid, o in ta.items() if o == "included"}
        full_text = store_screening.full_text_statuses(session)
        dbr = _column(session, passed & unique, full_text, required)
        oth = _column(session, passed & other_unique, full_text, required)
        reasons = _exclusion_reasons(session, dbr.excluded, reasons_order)
        other_reasons = _exclusion_reasons(session, oth.excluded, reasons_order)
        included = dbr.included | oth.included
        studies = count_included_studies(session, included)
        proposed = queries.proposed_study_reports(session, included)
        pairs = store_dedup.open_pair_count(session)  # pairs already inside one group left out
        unfinished = _unfinished_searches(runs_read.run_values(session))
    other_ta = Counter(ta[rid] for rid in other_unique)
    # The query groups without an order (PostgreSQL promises none; on SQLite an EBSCOhost file's
    # databases came after all the rest): list the sources by name, and other methods in the template's
    # order (Websites, Organisations, Citation searching, then the rest by name), so every export and
    # every database lists them alike.
    boxes_order = list(_OTHER_BOXES)
    identified = dict(sorted(identified.items(), key=lambda item: (
        boxes_order.index(item[0][0]) if item[0][0] in boxes_order else len(boxes_order),
        item[0][1].casefold(), item[0][1])))
    other_identified: dict[str, int] = {}
    for (kind, name), n in identified.items():
        if kind not in _DBR:  # several sources of one kind share its box
            box = _OTHER_BOXES.get(kind) or name or "Other sources"
            other_identified[box] = other_identified.get(box, 0) + n
    counts = PrismaCounts(
        databases={s: n for (k, s), n in identified.items() if k == "database"},
        registers={s: n for (k, s), n in identified.items() if k == "register"},
        duplicates_removed=columns.dbr_duplicates,
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
                           assessed=len(oth.assessed), excluded=other_reasons,
                           not_sought={NOT_SOUGHT_DUPLICATES: len(columns.other_found - other_unique),
                                       NOT_SOUGHT_EXCLUDED: other_ta["excluded"],
                                       NOT_SOUGHT_PENDING: len(other_unique) - other_ta["included"]
                                       - other_ta["excluded"]})
        if other_identified else None,
    )
    ft = dbr.ft | oth.ft
    settled = ("included", "excluded")
    pending = Pending(
        title_abstract=sum(1 for rid in unique if ta[rid] not in settled),
        full_text=_awaiting(dbr),
        other_title_abstract=sum(1 for rid in other_unique if ta[rid] not in settled),
        other_full_text=_awaiting(oth),
        duplicate_pairs=int(pairs),
    )
    listed = {*reasons_order, NO_REASON}
    return PrismaReport(
        counts=counts,
        violations=tuple(check_identities(counts, pending)),
        pending=pending,
        unlisted_reasons=tuple(dict.fromkeys(r for r in [*reasons, *other_reasons] if r not in listed)),
        proposed_links=tuple(sorted(proposed)),
        waiting_title_abstract=tuple(sorted((rid, o) for rid, o in ta.items() if o not in settled)),
        waiting_full_text=tuple(sorted((rid, o) for rid, o in ft.items() if o not in settled)),
        pending_full_text=tuple(sorted(rid for rid, o in ft.items() if o not in ("included", "excluded"))),
        pending_title_abstract=tuple(sorted(rid for rid, o in ta.items() if o not in ("included", "excluded"))),
        screening_started=any(o != "unscreened" for o in ta.values()),
        unfinished_searches=unfinished,
    )


def _unfinished_searches(runs: list[dict[str, object]]) -> tuple[str, ...]:
    """A warning for each source whose latest search run failed or is still running (runs newest first).

    Its batches are stored and counted, so "Records identified" would read as the search's whole yield
    while it holds only part of it. An older failed run of a query since changed is left alone: the
    source's latest run is the one a reviewer can resume.
    """
    latest: dict[object, dict[str, object]] = {}
    for run in runs:
        if run["kind"] == "search":
            latest.setdefault(run["source"], run)
    out = []
    for run in latest.values():
        if run["status"] not in ("failed", "running"):
            continue
        stored, total = int(run["record_count"]), run["total_count"]  # type: ignore[call-overload]
        found = f"{stored} of {counted(total, 'record')}" if isinstance(total, int) else counted(stored, "record")
        state = "did not finish" if run["status"] == "failed" else "is still running (or was stopped)"
        out.append(f"the {run['source']} search (run {run['id']}) {state}: {found} stored so far, all counted in "
                   "Records identified; search again to resume it (reviewkit search)")
    return tuple(out)


def _some(ids: tuple[int, ...], shown: int = 10) -> str:
    """Record ids for a message: all of a few, else the first ones and how many there are."""
    if len(ids) <= shown:
        return str(list(ids))
    return f"[{', '.join(map(str, ids[:shown]))}, …] ({len(ids)} in all)"


def _exclusion_reasons(session: object, excluded: set[int], order: list[str]) -> dict[str, int]:
    """One reason per excluded report: the adjudicator's, else the first by the protocol's priority
    (screeners who gave different ones are listed by `reviewkit conflicts`).

    In the protocol's order; then any reason the protocol no longer lists (review.toml edited after
    decisions used it), by name, so the report still counts in "Reports excluded"; then "Reason not
    recorded".
    """
    adjudicated = store_screening.adjudication_rows(session, "ft")  # type: ignore[arg-type]
    decisions = queries.current_decisions_rows(session, "ft")  # type: ignore[arg-type]
    tally: Counter[str] = Counter()
    for rid in excluded:
        adj = adjudicated.get(rid)
        tally[counted_reason((row.reason for row in decisions.get(rid, [])), order, adj.reason if adj else None)] += 1
    unlisted = sorted(r for r in tally if r not in order and r != NO_REASON)
    return {r: tally[r] for r in [*order, *unlisted, NO_REASON] if tally[r]}


@dataclass(frozen=True)
class PrismaOutput:
    """What write_prisma produced: the file, or the text for "-"; for counts written while they are not
    final or do not add up yet, a one-line caveat to show beside them; and warnings that do not stop
    anything (a reason counted that the protocol does not list)."""

    path: Path | None
    text: str | None
    caveat: str | None = None
    warnings: tuple[str, ...] = ()


PAIRS_COMMAND = "reviewkit dedup pairs"


def reason_warnings(report: PrismaReport) -> tuple[str, ...]:
    """Warnings that do not stop the diagram: one line per full-text exclusion reason counted in "Reports
    excluded" that the protocol does not list, one per search that did not finish, and one when included reports are linked to their studies
    only by proposals (a paper citing another trial's NCT number would count that trial as a study)."""
    lines = [*report.unfinished_searches, *(
        f"the full-text exclusion reason {reason!r} is counted in Reports excluded but is not in the "
        "protocol's exclusion_reasons (review.toml): add it back there where it should rank, or change the "
        "decisions that give it"
        for reason in report.unlisted_reasons)]
    if n := len(report.proposed_links):
        lines.append(
            f"{n} included {'report is' if n == 1 else 'reports are'} linked to {'its' if n == 1 else 'their'} "
            f"studies only by proposals ({_some(report.proposed_links)}): Studies included counts the proposed "
            "links; confirm or reject them (reviewkit studies)")
    return tuple(lines)


def pending_dict(report: PrismaReport) -> dict[str, object]:
    """What still waits for a human, for the JSON counts: which records and reports, and why."""

    def stage(waiting: tuple[tuple[int, str], ...], what: str) -> dict[str, object]:
        by = {o: [rid for rid, out in waiting if out == o] for o in ("unscreened", "in_progress", "conflict")}
        return {what: len(waiting), "not_started": by["unscreened"], "in_progress": by["in_progress"],
                "conflict": by["conflict"]}

    p = report.pending
    return {
        "final": not report.not_final,
        "duplicate_pairs": p.duplicate_pairs,
        "title_abstract": stage(report.waiting_title_abstract, "records"),
        "full_text": {**stage(report.waiting_full_text, "reports"),
                      "databases_and_registers": p.full_text, "other_methods": p.other_full_text},
    }


def write_prisma(review: Review, fmt: str, output: Path | None) -> PrismaOutput:
    """Write the diagram (svg/png/pdf) or the counts (json/csv); refuses a diagram that breaks an identity
    or is not final (records or reports waiting for decisions, duplicate pairs waiting for a verdict).

    The counts are written whatever state the review is in (a lead reports progress mid-review),
    but with a caveat when they break an identity or anything waits for a human: the CSV has no
    place to say so, and a reader would take its boxes as final. The JSON also says it in its own
    `pending`, `violations` and `caveats`.
    """
    report = prisma_counts(review)
    errors = errors_only(list(report.violations))
    pending = report.not_final
    warnings = reason_warnings(report)
    if fmt in ("json", "csv"):
        caveat = _caveat(report, errors) if errors or pending else None
        if fmt == "json":
            data = to_json_dict(report.counts)
            data["violations"] = [v.explanation for v in report.violations]
            data["pending"] = pending_dict(report)
            data["caveats"] = [*([caveat] if caveat else []), *warnings]
            text = json.dumps(data, indent=2) + "\n"  # a text file ends its last line, as the CSV does
        else:
            text = to_prisma2020_csv(report.counts)
        if output is not None and str(output) == "-":
            return PrismaOutput(None, text, caveat, warnings)
        path = output or review.exports / f"prisma.{fmt}"
        path.write_text(text, encoding="utf-8", newline="")  # as it is (the CSV's CRLF) on every platform
        return PrismaOutput(path, None, caveat, warnings)
    if errors or pending:
        # Records still waiting for decisions, or duplicate pairs whose copies both count, make the
        # boxes disagree or overstate them: a diagram now would be published as final and mislead.
        why = "the PRISMA counts do not add up" if errors else "the PRISMA counts are not final"
        screening = report.pending_title_abstract or report.pending_full_text
        raise ReviewkitError(f"{why}, so no diagram is drawn: {_caveat(report, errors)}",
                             hint=("screen the records first (reviewkit screen), or " if not report.screening_started
                                   else "finish screening, or " if screening else "")
                             + (f"settle the duplicate pairs ({PAIRS_COMMAND}, then reviewkit dedup confirm or "
                                "reject), or " if report.pending.duplicate_pairs else "")
                             + "run reviewkit prisma --format json -o - to inspect the counts")
    from reviewkit.render.prisma import render_prisma

    path = output or review.exports / f"prisma.{fmt}"
    render_prisma(report.counts, path)
    return PrismaOutput(path, None, None, warnings)


def _conflicts(waiting: tuple[tuple[int, str], ...]) -> str:
    n = sum(1 for _, outcome in waiting if outcome == "conflict")
    return f", {n} of them in conflict for the adjudicator (reviewkit conflicts)" if n else ""


def _pairs_text(n: int) -> str:
    return (f"{n} duplicate {'pair waits' if n == 1 else 'pairs wait'} for a human ({PAIRS_COMMAND}): "
            "until confirmed or rejected, both copies count in Records screened")


def _caveat(report: PrismaReport, errors: list[IdentityViolation]) -> str:
    """Why the counts are not final: the duplicate pairs and records still undecided first, then the
    identities they break.

    While records wait for decisions, the notes (reports sought differ from records screened minus
    excluded) follow from that alone and are left out: they would send a user looking for a cause.
    """
    ta, ft = report.pending_title_abstract, report.pending_full_text
    pairs = report.pending.duplicate_pairs
    broken = "; ".join(v.explanation for v in errors)
    if not (ta or ft or pairs):
        return broken or "; ".join(v.explanation for v in report.violations)
    leads = [_pairs_text(pairs)] if pairs else []
    if not report.screening_started:
        which = (f"record {ta[0]} has no title/abstract decision" if len(ta) == 1
                 else f"none of the {len(ta)} records {_some(ta)} has a title/abstract decision")
        leads.append(f"screening has not started ({which})")
    elif ta or ft:
        leads.append(f"screening is unfinished (records still undecided: title/abstract {_some(ta)}"
                     f"{_conflicts(report.waiting_title_abstract)}, full text {_some(ft)}"
                     f"{_conflicts(report.waiting_full_text)})")
    lead = "; ".join(leads)
    return f"{lead}; {broken}" if broken else lead


def prisma_summary(review: Review) -> str:
    """The flow as indented text (for the TUI), followed by any identity the counts break and why."""
    from reviewkit.render.prisma import prisma_text

    report = prisma_counts(review)
    text = prisma_text(report.counts, allow_violations=True)
    pending = report.not_final
    if report.violations or pending:
        # write_prisma draws no diagram while anything waits for a human, whatever the violations are.
        blocking = bool(errors_only(list(report.violations))) or pending
        text += "\n\n" + ("The counts are not final" if pending and not errors_only(list(report.violations))
                           else "The counts do not add up yet") + (
            " (no diagram is drawn until they are):\n" if blocking else " (notes; the diagram can be drawn):\n")
        lines = []
        if report.pending.duplicate_pairs:
            lines.append(f"  • pending: {_pairs_text(report.pending.duplicate_pairs)}")
        if not report.screening_started:
            lines.append("  • screening has not started: no record has a title/abstract decision")
        lines += [f"  • {v.severity}: {v.explanation}" for v in report.violations]
        text += "\n".join(lines)
        if report.pending_title_abstract or report.pending_full_text:
            text += (f"\n  records still undecided: title/abstract {len(report.pending_title_abstract)}, "
                     f"full text {len(report.pending_full_text)}")
    for warning in reason_warnings(report):
        text += f"\n\nwarning: {warning}"
    return text
