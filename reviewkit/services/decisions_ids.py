"""Provides finding the record each row of a decisions import names (`decisions import --ids`).

An import reads `record` as a reviewkit id or an identifier the record was imported with; a value
that could be either for two different records is refused, never guessed (`ids` picks one kind; a
file with export's exact columns is read as reviewkit ids). Ids differ between reviews (the same
files imported in another order), so the export adds each record's PMID, DOI and title, and an import
of a file with those columns refuses rows whose record they do not describe; `--ids source` finds
each row's record by them instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from sqlmodel import Session

from reviewkit.domain.normalise import title_info
from reviewkit.domain.records import normalise_doi, normalise_pmid
from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.services.common import NOTHING_IMPORTED, CsvRow, listed
from reviewkit.services.decisions_export import COLUMNS, EXPORT_COLUMNS, IDENTITY
from reviewkit.store import queries
from reviewkit.store.queries import RecordIdentity

#: What an import reads `record` as (`decisions import --ids`; see import_decisions).
IdsMode = Literal["auto", "reviewkit", "source"]
IDS_MODES: tuple[IdsMode, ...] = ("auto", "reviewkit", "source")
AMBIGUOUS_HINT = ("these look like reviewkit record ids (as `decisions export` writes them): pass --ids reviewkit; "
                  "for the source file's own ids pass --ids source")
#: How many ambiguous (or mismatched) lines an error lists before "and N more".
_AMBIGUOUS_SHOWN = 10
MISMATCH_HINT = ("the record ids are probably another review's (records imported in another order get other "
                 "ids): pass --ids source to find each row's record by its pmid and doi columns (else its "
                 "record value as a source id, else its title)")


@dataclass(frozen=True)
class Ids:
    """How the `record` column is read: `mode` (IdsMode; auto reads either kind), whether auto chose
    reviewkit ids because the header is one `decisions export` writes, and which IDENTITY columns the
    file has (each row's record is checked against them; with --ids source, found by them)."""

    mode: IdsMode
    by_header: bool = False
    identity: frozenset[str] = frozenset()

    @classmethod
    def choose(cls, ids: str, table: list[CsvRow]) -> Ids:
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
class RecordIndex:
    """The records a row's `record` value can name (with their identities when the file has IDENTITY
    columns; by matching title for --ids source)."""

    ids: set[int]
    by_identifier: dict[str, set[int]]
    #: removed duplicate → the primary record of its group.
    primaries: dict[int, int]
    identities: dict[int, RecordIdentity]
    by_title: dict[str, set[int]]

    @classmethod
    def load(cls, session: Session, how: Ids) -> RecordIndex:
        ids, by_identifier = queries.record_lookup(session)
        identities = queries.record_identities(session) if how.identity else {}
        by_title: dict[str, set[int]] = {}
        if how.by_identity and "title" in how.identity:
            for rid, (_, _, title) in identities.items():
                by_title.setdefault(title_info(title).text, set()).add(rid)
            by_title.pop("", None)
        return cls(ids, by_identifier, queries.duplicate_primaries(session), identities, by_title)

    def primary(self, found: set[int]) -> set[int]:
        """`found`, or its one record that is not a removed duplicate when the others are its removed
        duplicates: an identifier shared by a duplicate group names the group's primary record. One that
        also names a removed copy of another paper (source ids of two files collide) stays ambiguous."""
        live = found - self.primaries.keys()
        if len(found) > 1 and len(live) == 1 and all(self.primaries[r] in live for r in found - live):
            return live
        return found


_PMID_LABEL = re.compile(r"(?i)^pmid\s*:?\s*\d+$")


def _matches(value: str, index: RecordIndex, mode: IdsMode) -> tuple[set[int], set[int]]:
    """The records `value` names as a reviewkit id, and as an identifier records were imported with
    (source id, PMID, DOI), as `mode` allows. An identifier shared by a duplicate group names the
    group's primary record; that a value is both kinds of name is never settled here."""
    by_id = {int(value)} if mode != "source" and value.isdigit() and int(value) in index.ids else set()
    by_source: set[int] = set()
    if mode != "reviewkit":
        doi = normalise_doi(value)
        # "PMID: 12345", as PubMed prints it and reviewers paste it: its digits are the PMID. Only with the
        # label: bare digits are already looked up as they are (a source id may be digits too).
        pmid = normalise_pmid(value) if _PMID_LABEL.match(value) else None
        for key in {value, doi or "", pmid or ""} - {""}:
            by_source |= index.by_identifier.get(key, set())
    return by_id, index.primary(by_source)


def _by_identity(raw: dict[str, str], value: str, index: RecordIndex) -> tuple[str, set[int]]:
    """The records a row names (--ids source, the file has IDENTITY columns), and by what: its PMID,
    else its DOI, else its `record` value as a source id, else its title; the first that names any.
    PMID and DOI come first: in another review's export, `record` holds that review's ids."""
    pmid, doi = normalise_pmid(raw.get("pmid")), normalise_doi(raw.get("doi"))
    for key in (pmid, doi, value):
        found = _matches(key, index, "source")[1] if key else set()
        if found:
            return key or "", found
    title = (raw.get("title") or "").strip()
    found = index.primary(set(index.by_title.get(title_info(title).text, set()))) if title else set()
    return (title, found) if found else (value, found)


def resolve_records(path: Path, table: list[CsvRow], index: RecordIndex, ids: Ids) -> dict[int, int | str]:
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
            value, by_source = _by_identity(raw, value, index)
        elif not value:
            out[line] = "empty record"
            continue
        else:
            by_id, by_source = _matches(value, index, ids.mode)
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
        shown = listed([f"'{v}' on line {line} names records {r}" for line, v, r in ambiguous], _AMBIGUOUS_SHOWN)
        message = f"{len(ambiguous)} rows name their record ambiguously: {shown}"
    hint = AMBIGUOUS_HINT if id_or_source else (
        # Records that share a PMID or DOI are copies of one article dedup has not merged yet.
        "several records have this identifier (copies not yet merged?): run `reviewkit dedup`, and the "
        "group's primary record stands for them" if by_identity else
        "several records were imported with this identifier: name the record by its reviewkit id and "
        "pass --ids reviewkit")
    return ParseError(message, file=str(path), line=first, hint=f"{hint}; {NOTHING_IMPORTED}")


def check_identities(path: Path, table: list[CsvRow], records: dict[int, int | str], index: RecordIndex) -> None:
    """Refuse the file when a row's record is not the one its IDENTITY columns describe (another
    review's ids, say), listing such lines: stored, its decision would land on the wrong record."""
    wrong: list[tuple[int, str]] = []
    for line, raw in table:
        rid = records[line]
        if isinstance(rid, int):
            why = _disagreement(index.identities.get(rid, (None, None, "")), raw)
            if why is not None:
                wrong.append((line, f"record {rid}: {why}"))
    if not wrong:
        return
    first, why = wrong[0]
    if len(wrong) == 1:
        message = f"the row's pmid, doi and title describe another record than the one it names ({why})"
    else:
        shown = listed([f"line {line} ({why})" for line, why in wrong], _AMBIGUOUS_SHOWN)
        message = f"{len(wrong)} rows name another record than their pmid, doi and title describe: {shown}"
    raise ParseError(message, file=str(path), line=first, hint=f"{MISMATCH_HINT}; {NOTHING_IMPORTED}")


def _disagreement(record: RecordIdentity, raw: dict[str, str]) -> str | None:
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
