"""Provides moving screening decisions between tools: CSV export and an all-or-nothing CSV import.

Blinding and roles hold here as on the screen (services/screen.py): a lead exports and imports
everyone's rows; any other reviewer exports their own rows and others' only on records where
blinding has ended for them, and imports only rows naming themselves. Adjudications travel as rows
too (the reviewer is the adjudicator, `role` says so), so a settled conflict stays settled.

An import reads `record` as a reviewkit id or an identifier the record was imported with; a value
that could be either for two different records is refused, never guessed (`ids` picks one kind; a
file with export's exact columns is read as reviewkit ids). Ids differ between reviews (the same
files imported in another order), so the export adds each record's PMID, DOI and title, and an import
of a file with those columns refuses rows whose record they do not describe; `--ids source` finds
each row's record by them instead. An import leaves out rows identical to a stored one (an export
imported again) and counts them, before the reviewer's roles are checked. A `history` export has
every row, undos ("retracted") and superseded decisions included, in the order they were made (their
time, which the import keeps in storage order: decisions_ledger); an import replays it, so it
rebuilds the same current decisions in a copy of the review with the same records. Every bad row is
reported, each with its line, and nothing from the file is stored.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from sqlmodel import Session, select

from reviewkit.domain.normalise import title_info
from reviewkit.domain.records import normalise_doi, normalise_pmid
from reviewkit.domain.screening import DECISIONS, STAGES, Stage, is_blind_to_others, resolve
from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.services.common import (
    NOTHING_IMPORTED,
    CsvRow,
    acting_reviewer,
    article,
    read_csv_rows,
    read_csv_text,
)
from reviewkit.services.decisions_ledger import RETRACTED, ROLES, ImportRow, Ledger, Role
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AdjudicationRow, RecordRow, ReviewerRow, ScreeningDecisionRow

COLUMNS = ("record", "reviewer", "stage", "decision", "reason", "note", "time", "role")
#: What the export adds after COLUMNS so that another review can check each row's record, or find it.
IDENTITY = ("pmid", "doi", "title")
EXPORT_COLUMNS = (*COLUMNS, *IDENTITY)
REQUIRED = ("record", "reviewer", "stage", "decision")
#: The only columns a line break belongs in; one anywhere else is a quote left open.
_MULTILINE = frozenset({"note", "title"})

#: Builds the error for the row being read (its line is bound in).
Fail = Callable[[str], ParseError]

#: What an import reads `record` as (`decisions import --ids`; see import_decisions).
IdsMode = Literal["auto", "reviewkit", "source"]
IDS_MODES: tuple[IdsMode, ...] = ("auto", "reviewkit", "source")
AMBIGUOUS_HINT = ("these look like reviewkit record ids (as `decisions export` writes them): pass --ids reviewkit; "
                  "for the source file's own ids pass --ids source")
#: How many ambiguous (or mismatched) lines an error lists before "and N more".
_AMBIGUOUS_SHOWN = 10
#: How many refused rows an error lists before "and N more".
_REFUSED_SHOWN = 20
MISMATCH_HINT = ("the record ids are probably another review's (records imported in another order get other "
                 "ids): pass --ids source to find each row's record by its pmid and doi columns (else its "
                 "record value as a source id, else its title)")


def _listed(items: list[str], shown: int) -> str:
    """The first `shown` items, then how many more there are."""
    more = f"; and {len(items) - shown} more" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more


# --- export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One exported row: a screening decision or an adjudication."""

    id: int
    record_id: int
    reviewer_id: int
    role: Role
    stage: str
    decision: str
    reason: str | None
    note: str | None
    at: datetime

    def key(self) -> tuple[object, ...]:
        """Every column, text as an import reads it (stripped, empty is none): a row's identity."""
        return (self.role, self.record_id, self.reviewer_id, self.stage, self.decision,
                (self.reason or "").strip() or None, (self.note or "").strip() or None, self.at.astimezone(UTC))


def export_decisions(review: Review, path: Path, *, history: bool = False, actor: str | None = None) -> int:
    """Write the decisions and adjudications `actor` may see as CSV; returns rows written.

    Each reviewer's current decision and each record's current adjudication (with `history`, every
    row, undos and changes included, which an import replays). A lead gets everyone's; anyone else
    their own rows plus others' on records where blinding has ended for them
    (domain.screening.is_blind_to_others, as other_decisions applies it). Each row ends with its
    record's PMID, DOI and title (IDENTITY), which an import into another review checks.
    """
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, actor)
        names = store.reviewer_names(session)
        lines = [*_decision_lines(store.all_decision_rows(session), history),
                 *_adjudication_lines(queries.adjudication_history(session), history)]
        if "lead" not in who.roles:
            seen = _unblinded(session, cast(int, who.id), required)
            lines = [x for x in lines if x.reviewer_id == who.id or (x.record_id, x.stage) in seen]
        identities = _record_identities(session)
    # The order an import applies them in, each row checked against the rows above it. A history
    # in the order things happened (time, then storage order): a title/abstract change after
    # full-text decisions must replay after them. The current state by stage, a stage's decisions
    # before its adjudications, title/abstract before full text: the rows of the state it ends in
    # (screen.record_decision keeps full-text decisions only on records that pass title/abstract).
    if history:
        lines = _history_order(lines)
    else:
        lines.sort(key=lambda x: (list(STAGES).index(cast(Stage, x.stage)), ROLES.index(x.role), x.id))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EXPORT_COLUMNS)
        for x in lines:
            pmid, doi, title = identities.get(x.record_id, (None, None, ""))
            writer.writerow([x.record_id, names.get(x.reviewer_id, ""), x.stage, x.decision, x.reason or "",
                             x.note or "", x.at.astimezone(UTC).isoformat(), x.role, pmid or "", doi or "", title])
    return len(lines)


def _history_order(lines: list[_Line]) -> list[_Line]:
    """Rows by time, then decisions before adjudications, then storage order (`lines` holds each table's
    rows in storage order). A row is never placed before the row it supersedes (the same reviewer's on
    the record and stage, or the record's adjudication at the stage): storage order decides which row
    is current, and rows stored before the import checked times (decisions_ledger) may be dated earlier."""
    floor: dict[tuple[object, ...], datetime] = {}
    placed: list[tuple[tuple[datetime, int, int], _Line]] = []
    for x in lines:
        key = (x.role, x.record_id, x.stage, x.reviewer_id if x.role == "screener" else None)
        at = max(x.at, floor.get(key, x.at))
        floor[key] = at
        placed.append(((at, ROLES.index(x.role), x.id), x))
    return [x for _, x in sorted(placed, key=lambda p: p[0])]


#: A record as another review can recognise it: PMID, DOI, title (as stored).
Identity = tuple[str | None, str | None, str]


def _record_identities(session: Session) -> dict[int, Identity]:
    """record → its PMID, DOI and title (every record: one query, not one per row)."""
    rows = session.exec(select(RecordRow.id, RecordRow.pmid, RecordRow.doi, RecordRow.title))
    return {cast(int, rid): (pmid, doi, title or "") for rid, pmid, doi, title in rows}


def _decision_lines(rows: list[ScreeningDecisionRow], history: bool) -> list[_Line]:
    if not history:
        latest: dict[tuple[int, int, str], ScreeningDecisionRow] = {}
        for row in rows:
            latest[(row.record_id, row.reviewer_id, row.stage)] = row
        rows = [r for r in latest.values() if r.decision != RETRACTED]
    return [_Line(r.id or 0, r.record_id, r.reviewer_id, "screener", r.stage, r.decision, r.reason, r.note,
                  r.created_at) for r in rows]


def _adjudication_lines(rows: list[AdjudicationRow], history: bool) -> list[_Line]:
    if not history:
        latest: dict[tuple[int, str], AdjudicationRow] = {}
        for row in rows:
            latest[(row.record_id, row.stage)] = row
        rows = list(latest.values())
    return [_Line(r.id or 0, r.record_id, r.adjudicator_id, "adjudicator", r.stage, r.decision, r.reason, r.note,
                  r.created_at) for r in rows]


def _unblinded(session: Session, reviewer_id: int, required: int) -> set[tuple[int, str]]:
    """(record, stage) pairs on which this reviewer may see others' decisions (and the adjudication)."""
    out: set[tuple[int, str]] = set()
    for stage in STAGES:
        adjudicated = queries.adjudications(session, stage)
        for rid, decisions in queries.current_decisions(session, stage).items():
            outcome = resolve(decisions, required, adjudicated.get(rid), stage=stage).outcome
            if not is_blind_to_others(decisions.get(reviewer_id), outcome):
                out.add((rid, stage))
    return out


# --- parsing rows -----------------------------------------------------------------------------


def _failer(path: Path, line: int) -> Fail:
    def fail(message: str) -> ParseError:
        return ParseError(message, file=str(path), line=line, hint=NOTHING_IMPORTED)

    return fail


def _read(path: Path) -> list[CsvRow]:
    """The file's rows; a header of semicolon- or tab-separated names (a spreadsheet's "CSV") says so."""
    try:
        return read_csv_rows(path, REQUIRED, COLUMNS, multiline=_MULTILINE)
    except ParseError as exc:
        if exc.line != 1 or not exc.message.startswith("missing column"):
            raise
        first = read_csv_text(path).split("\n", 1)[0]
        separator = "';'" if ";" in first else "tabs" if "\t" in first else None
        if separator is None:
            raise
        raise ParseError(exc.message, file=str(path), line=1,
                         hint=f"the file looks separated by {separator}: save it as comma-separated CSV; "
                              f"columns: {', '.join(COLUMNS)}") from None


@dataclass(frozen=True)
class _Ids:
    """How the `record` column is read: `mode` (IdsMode; auto reads either kind), whether auto chose
    reviewkit ids because the header is one `decisions export` writes, and which IDENTITY columns the
    file has (each row's record is checked against them; with --ids source, found by them)."""

    mode: IdsMode
    by_header: bool = False
    identity: frozenset[str] = frozenset()

    @classmethod
    def choose(cls, ids: str, table: list[CsvRow]) -> _Ids:
        if ids not in IDS_MODES:
            raise ReviewkitError(f"unknown --ids '{ids}' (use {', '.join(IDS_MODES)})")
        # A row's keys are the header's names, in its order (trailing unnamed columns dropped).
        header = tuple(table[0][1]) if table else ()
        identity = frozenset(IDENTITY) & frozenset(header)
        # An export written before the identity columns were added imports back too.
        if ids == "auto" and header in (COLUMNS, EXPORT_COLUMNS):
            return cls("reviewkit", by_header=True, identity=identity)
        return cls(cast(IdsMode, ids), identity=identity)

    @property
    def by_identity(self) -> bool:
        """Whether rows are found by their pmid, doi and title columns (--ids source, and the file has them)."""
        return self.mode == "source" and bool(self.identity)

    def unknown(self, value: str) -> str:
        """Why no record is named by `value`."""
        if self.mode == "auto":
            return f"unknown record '{value}' (not a reviewkit id, source id, PMID or DOI)"
        if self.by_identity:
            return (f"unknown record '{value}': no record has the row's PMID or DOI, was imported with this "
                    "source id, or has the row's title (--ids source)")
        if self.mode == "source":
            return (f"unknown record '{value}': no record was imported with this source id, PMID or DOI "
                    "(--ids source)")
        if self.by_header:
            return (f"unknown record '{value}': not a reviewkit record id (the file has the columns "
                    "`decisions export` writes, so `record` is read as reviewkit ids; pass --ids source for "
                    "the source file's own ids)")
        return f"unknown record '{value}': not a reviewkit record id (--ids reviewkit)"


@dataclass(frozen=True)
class _Context:
    """What reading a row needs: who imports, the team, the records (with their identities when the
    file has IDENTITY columns; by matching title for --ids source) and the protocol's reasons."""

    importer: ReviewerRow
    reviewers: dict[str, ReviewerRow]
    ids: set[int]
    by_identifier: dict[str, set[int]]
    removed: set[int]
    reasons: list[str]
    identities: dict[int, Identity]
    by_title: dict[str, set[int]]

    @classmethod
    def load(cls, session: Session, review: Review, importer: ReviewerRow, how: _Ids) -> _Context:
        ids, by_identifier = queries.record_lookup(session)
        reviewers = {name: store.reviewer_by_name(session, name) for name in store.reviewer_names(session).values()}
        identities = _record_identities(session) if how.identity else {}
        by_title: dict[str, set[int]] = {}
        if how.by_identity and "title" in how.identity:
            for rid, (_, _, title) in identities.items():
                by_title.setdefault(title_info(title).text, set()).add(rid)
            by_title.pop("", None)
        return cls(importer, {n: r for n, r in reviewers.items() if r is not None}, ids, by_identifier,
                   queries.removed_duplicates(session), list(review.protocol.screening.exclusion_reasons),
                   identities, by_title)

    def primary(self, found: set[int]) -> set[int]:
        """`found`, or its one record that is not a removed duplicate: an identifier shared by a
        duplicate group names the group's primary record."""
        return found - self.removed if len(found) > 1 and len(found - self.removed) == 1 else found


def _matches(value: str, ctx: _Context, mode: IdsMode) -> tuple[set[int], set[int]]:
    """The records `value` names as a reviewkit id, and as an identifier records were imported with
    (source id, PMID, DOI), as `mode` allows. An identifier shared by a duplicate group names the
    group's primary record; that a value is both kinds of name is never settled here."""
    by_id = {int(value)} if mode != "source" and value.isdigit() and int(value) in ctx.ids else set()
    by_source: set[int] = set()
    if mode != "reviewkit":
        doi = normalise_doi(value)
        for key in {value, doi or ""} - {""}:
            by_source |= ctx.by_identifier.get(key, set())
    return by_id, ctx.primary(by_source)


def _by_identity(raw: dict[str, str], value: str, ctx: _Context) -> tuple[str, set[int]]:
    """The records a row names (--ids source, the file has IDENTITY columns), and by what: its PMID,
    else its DOI, else its `record` value as a source id, else its title; the first that names any.
    PMID and DOI come first: in another review's export, `record` holds that review's ids."""
    pmid, doi = normalise_pmid(raw.get("pmid")), normalise_doi(raw.get("doi"))
    for key in (pmid, doi, value):
        found = _matches(key, ctx, "source")[1] if key else set()
        if found:
            return key or "", found
    title = (raw.get("title") or "").strip()
    found = ctx.primary(set(ctx.by_title.get(title_info(title).text, set()))) if title else set()
    return (title, found) if found else (value, found)


def _resolve_records(path: Path, table: list[CsvRow], ctx: _Context, ids: _Ids) -> dict[int, int | str]:
    """line → the record its `record` value names, or why it names none (refused in file order with
    the row's other checks). A value naming two records is refused here, every such line listed: a
    reviewkit id that is also another record's source id is never guessed at."""
    out: dict[int, int | str] = {}
    ambiguous: list[tuple[int, str, list[int]]] = []
    id_or_source = False
    for line, raw in table:
        value = (raw.get("record") or "").strip()
        by_id: set[int] = set()
        if ids.by_identity:
            value, by_source = _by_identity(raw, value, ctx)
        elif not value:
            out[line] = "empty record"
            continue
        else:
            by_id, by_source = _matches(value, ctx, ids.mode)
        found = by_id | by_source
        if len(found) > 1:
            ambiguous.append((line, value, sorted(found)))
            id_or_source |= bool(by_id)
        else:
            out[line] = found.pop() if found else ids.unknown(value)
    if ambiguous:
        raise _ambiguity(path, ambiguous, id_or_source, ids.by_identity)
    return out


def _ambiguity(path: Path, ambiguous: list[tuple[int, str, list[int]]], id_or_source: bool,
               by_identity: bool) -> ParseError:
    first, value, records = ambiguous[0]
    if len(ambiguous) == 1:
        message = f"record '{value}' is ambiguous: it names records {records}"
    else:
        listed = _listed([f"'{v}' on line {line} names records {r}" for line, v, r in ambiguous], _AMBIGUOUS_SHOWN)
        message = f"{len(ambiguous)} rows name their record ambiguously: {listed}"
    hint = AMBIGUOUS_HINT if id_or_source else (
        # Records that share a PMID or DOI are copies of one article dedup has not merged yet.
        "several records have this identifier (copies not yet merged?): run `reviewkit dedup`, and the "
        "group's primary record stands for them" if by_identity else
        "several records were imported with this identifier: name the record by its reviewkit id and "
        "pass --ids reviewkit")
    return ParseError(message, file=str(path), line=first, hint=f"{hint}; {NOTHING_IMPORTED}")


def _check_identities(path: Path, table: list[CsvRow], records: dict[int, int | str], ctx: _Context) -> None:
    """Refuse the file when a row's record is not the one its IDENTITY columns describe (another
    review's ids, say), listing such lines: stored, its decision would land on the wrong record."""
    wrong: list[tuple[int, str]] = []
    for line, raw in table:
        rid = records[line]
        if isinstance(rid, int):
            why = _disagreement(ctx.identities.get(rid, (None, None, "")), raw)
            if why is not None:
                wrong.append((line, f"record {rid}: {why}"))
    if not wrong:
        return
    first, why = wrong[0]
    if len(wrong) == 1:
        message = f"the row's pmid, doi and title describe another record than the one it names ({why})"
    else:
        listed = _listed([f"line {line} ({why})" for line, why in wrong], _AMBIGUOUS_SHOWN)
        message = f"{len(wrong)} rows name another record than their pmid, doi and title describe: {listed}"
    raise ParseError(message, file=str(path), line=first, hint=f"{MISMATCH_HINT}; {NOTHING_IMPORTED}")


def _disagreement(record: Identity, raw: dict[str, str]) -> str | None:
    """How the row's pmid, doi and title show it is about another record, or None: the PMID when both
    have one, else the DOI when both have one, else the titles' matching forms (when both have one)."""
    pmid, doi, title = record
    for name, here, there in (("PMID", normalise_pmid(pmid), normalise_pmid(raw.get("pmid"))),
                              ("DOI", normalise_doi(doi), normalise_doi(raw.get("doi")))):
        if here and there:
            return None if here == there else f"{name} {here} here, {there} in the file"
    theirs = (raw.get("title") or "").strip()
    here, there = title_info(title).text, title_info(theirs).text
    if here and there and here != there:
        return f"titled {_short(title)!r} here, {_short(theirs)!r} in the file"
    return None


def _short(title: str, width: int = 60) -> str:
    title = " ".join(title.split())
    return title if len(title) <= width else title[: width - 1] + "…"


#: Whether an ImportRow is identical to a stored row not yet matched (and matches it if so).
Present = Callable[[ImportRow], bool]


def _parse(raw: dict[str, str], line: int, record: int | str, ctx: _Context, fail: Fail,
           present: Present) -> ImportRow | None:
    """One row, its fields checked (not yet against the screening state); None when it is already stored."""
    def get(column: str) -> str:
        return (raw.get(column) or "").strip()

    if isinstance(record, str):
        raise fail(record)
    reviewer = _reviewer(get("reviewer"), ctx, fail)
    given = get("role").lower()
    if given and given not in ROLES:
        raise fail(f"unknown role '{given}' (use screener or adjudicator)")
    # Stage, decision and role are read without case (a spreadsheet's "TA", "Include").
    stage = get("stage").lower()
    if stage not in STAGES:
        raise fail(f"unknown stage '{stage}' (use ta or ft)")
    decision = get("decision").lower()
    if decision not in (*DECISIONS, RETRACTED):
        raise fail(f"unknown decision '{decision}' (use include, exclude or maybe; {RETRACTED} undoes one)")
    reason = get("reason") or None
    if stage == "ft" and decision == "exclude":
        _check_reason(reason, ctx.reasons, fail)
    note, when = get("note") or None, _time(raw.get("time"), fail)
    # A stored row is left out before the reviewer's roles are checked: a lead's export still imports
    # again after a reviewer left the team (their decisions stand, and still count).
    # (without a time, a row is the same as the reviewer's current decision when it says what that says)
    for role in _roles_to_match(reviewer, given):
        if present(ImportRow(line, record, reviewer, role, cast(Stage, stage), decision, reason, note, when)):
            return None
    role = _role(reviewer, given, fail)
    if role == "adjudicator" and decision not in ("include", "exclude"):
        raise fail("an adjudication is include or exclude")
    if reason and decision != "exclude":
        # As the screening service stores them: a reason is why a record is excluded (required at full
        # text, free text at title/abstract, where adjudicators give one too).
        raise fail(f"a reason goes only with an exclusion, and this row is a {STAGES[cast(Stage, stage)]} "
                   f"{decision} with reason {reason!r} (leave reason empty, or put the text in note)")
    return ImportRow(line, record, reviewer, role, cast(Stage, stage), decision, reason, note, when)


def _reviewer(name: str, ctx: _Context, fail: Fail) -> ReviewerRow:
    reviewer = ctx.reviewers.get(name)
    if reviewer is None:
        raise fail(f"unknown reviewer '{name}'")
    # Only a lead may write for others: a screener importing rows "by" a colleague would be deciding
    # for them, and could fill a record's quota to lift blinding.
    if "lead" not in ctx.importer.roles and name != ctx.importer.name:
        raise fail(f"{ctx.importer.name} may import only their own decisions, and this row is {name}'s "
                   "(a lead imports everyone's)")
    return reviewer


def _roles_to_match(reviewer: ReviewerRow, given: str) -> tuple[Role, ...]:
    """The roles a row may be a stored row in: the `role` column's; without it, the one _role would
    give; for someone no longer on the team (no roles), either."""
    if given:
        return (cast(Role, given),)
    return next(((r,) for r in ROLES if r in reviewer.roles), ROLES)


def _role(reviewer: ReviewerRow, given: str, fail: Fail) -> Role:
    """The role a row is in: the `role` column when given, else screener, else adjudicator."""
    if not reviewer.roles:
        raise fail(f"{reviewer.name} is no longer on this review's team (review.toml names them no more): "
                   "only their rows already stored import again")
    roles = ", ".join(reviewer.roles)
    if given:
        if given not in reviewer.roles:
            raise fail(f"{reviewer.name} is not {article(given)} {given} (roles: {roles})")
        return cast(Role, given)
    for role in ROLES:
        if role in reviewer.roles:
            return role
    raise fail(f"{reviewer.name} is neither a screener nor an adjudicator (roles: {roles}); "
               "only screening decisions and adjudications are imported")


def _check_reason(reason: str | None, reasons: list[str], fail: Fail) -> None:
    if not reason:
        raise fail(f"a full-text exclusion needs a reason (one of: {'; '.join(reasons)})")
    if reason not in reasons:
        raise fail(f"unknown exclusion reason {reason!r} (the protocol's: {'; '.join(reasons)})")


def _time(value: str | None, fail: Fail) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"time {value!r} is not ISO 8601 (2026-01-31T12:00:00+00:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionsImport:
    """What an import did: rows stored, and rows left out as identical to a stored row."""

    stored: int
    present: int


def import_decisions(review: Review, path: Path, *, actor: str | None = None, ids: str = "auto") -> DecisionsImport:
    """Import decisions and adjudications from CSV, as `actor`.

    `ids` says what the `record` column holds: "reviewkit" record ids, "source" identifiers the
    records were imported with (source id or accession, PMID, DOI), or "auto": either, a value that
    names two different records being refused (every such line listed), except that a file with the
    exact columns `decisions export` writes is read as reviewkit ids (its own export, imported back).

    A file with pmid, doi or title columns (IDENTITY; the export writes them) is refused when a row's
    record does not match them, every such line listed: another review's ids name other records.
    With `ids` "source" such a file's rows are found by those columns (_by_identity).

    Rows apply in file order, each checked against the review's state with the file's earlier rows
    in it, their times too (decisions_ledger: a row dated before what it follows is refused, so a
    history export lists rows in the order that made the current decisions). A row identical to a
    stored one (record, reviewer, role, stage, decision, reason, note and time) is left out: each
    stored row stands for one such line; a row without a time is left out when it says what the
    reviewer's current decision says (an undo never is). Every bad row is reported with its line
    (_REFUSED_SHOWN of them, then how many more) and nothing is stored. The audit trail names `actor`
    as who stored each row and, in
    its `new`, the reviewer whose row it is and the file.
    """
    table = _read(path)
    how = _Ids.choose(ids, table)
    with session_scope(review.engine, write=True) as session:
        importer = acting_reviewer(session, actor)
        ctx = _Context.load(session, review, importer, how)
        records = _resolve_records(path, table, ctx, how)
        if how.identity:
            _check_identities(path, table, records, ctx)
        # Before the screening state is read: a screener deciding one of these records meanwhile
        # would otherwise pass the quota check here and there at once (store.screening.lock_records).
        store.lock_records(session, [r for r in records.values() if isinstance(r, int)])
        # Only rows stored before this import: a file may hold a row twice (history of an earlier
        # double import), and replaying it must store both.
        decisions = store.all_decision_rows(session)
        adjudications = queries.adjudication_history(session)
        ledger = Ledger(session, review.protocol.screening.screeners_per_record, decisions, adjudications)
        stored = Counter(x.key() for x in [*_decision_lines(decisions, True), *_adjudication_lines(adjudications, True)])
        # A row without a time cannot be matched to the stored row it repeats; one that says what the
        # reviewer's (or the record's) current decision already says is taken as that row, so a file
        # without times imported twice adds nothing (it added "include → include" changes).
        current = {x.key()[:4]: x.key()[4:7] for x in [*_decision_lines(decisions, False),
                                                      *_adjudication_lines(adjudications, False)]}

        def row_key(row: ImportRow) -> tuple[object, ...]:
            return _Line(0, row.record_id, cast(int, row.reviewer.id), row.role, row.stage, row.decision,
                         row.reason, row.note, row.time or datetime.now(UTC)).key()

        def present(row: ImportRow) -> bool:
            key = row_key(row)
            if row.time is None:  # an undo is an act, not a state: two undos are two (the second refused)
                return row.decision != RETRACTED and current.get(key[:4]) == key[4:7]
            if stored[key] <= 0:
                return False
            stored[key] -= 1
            return True

        rows: list[ImportRow] = []
        refused: list[tuple[int, str]] = []
        for line, raw in table:
            # Every bad row is reported; a refused row is left out of the state the later rows are
            # checked against, as it would be left out of the review.
            try:
                row = _parse(raw, line, records[line], ctx, _failer(path, line), present)
            except ParseError as exc:
                refused.append((line, exc.message))
                continue
            if row is None:
                continue
            refusal = ledger.refusal(row)
            if refusal is not None:
                refused.append((line, refusal))
                continue
            ledger.apply(row)
            rows.append(row)
            key = row_key(row)
            current[key[:4]] = key[4:7]
        if refused:
            raise _refusal(path, refused)
        _store(session, rows, importer, path.name)
    return DecisionsImport(len(rows), len(table) - len(rows))


def _refusal(path: Path, refused: list[tuple[int, str]]) -> ParseError:
    """The error for the file's bad rows: one as it is; several listed with their lines (the first ones)."""
    first, message = refused[0]
    if len(refused) > 1:
        listed = _listed([f"line {line}: {why}" for line, why in refused], _REFUSED_SHOWN)
        message = f"{len(refused)} rows are refused: {listed}"
    return ParseError(message, file=str(path), line=first, hint=NOTHING_IMPORTED)


def _store(session: Session, rows: Iterable[ImportRow], importer: ReviewerRow, source: str) -> None:
    for row in rows:
        added: ScreeningDecisionRow | AdjudicationRow
        if row.role == "adjudicator":
            added = store.add_adjudication(session, record_id=row.record_id, adjudicator=row.reviewer,
                                           stage=row.stage, decision=row.decision, reason=row.reason, note=row.note,
                                           actor=importer, imported=source)
        else:
            added = store.add_decision(session, record_id=row.record_id, reviewer=row.reviewer, stage=row.stage,
                                       decision=row.decision, reason=row.reason, note=row.note,
                                       actor=importer, imported=source)
        if row.time is not None:
            added.created_at = row.time
            session.add(added)
