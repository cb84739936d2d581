"""Provides identification: importing export files with their provenance (searches join in search.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from reviewkit.domain.names import NAME_MAX, name_too_long
from reviewkit.domain.records import Record
from reviewkit.errors import Fix, ReviewkitError
from reviewkit.services.project import Review
from reviewkit.sources.formats.ctgov_csv import CTGOV
from reviewkit.sources.formats.detect import IMPORT_FORMATS as IMPORT_FORMATS
from reviewkit.sources.formats.detect import format_names as format_names
from reviewkit.sources.formats.notes import ParseNote
from reviewkit.store import runs as store_runs
from reviewkit.store.db import file_lock, lock_transaction, session_scope
from reviewkit.store.queries import DATABASE_PER_RECORD
from reviewkit.wording import counted

#: Records are written in batches of this many (one transaction for the whole file).
BATCH = 2_000
#: How many of an import's notes its summary lists before "and N more".
NOTES_SHOWN = 10
#: Formats whose records are PubMed's own; the source is named for PRISMA accordingly.
_PUBMED_FORMATS = {"medline", "pubmed_xml"}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What one import did."""

    run_id: int
    file: str
    source: str
    format: str
    records: int
    sha256: str
    #: Records of the file that held nothing at all (blank rows, a RIS record of only TY and ER): not stored.
    skipped: int = 0
    #: What the reader noted about records it stored anyway (a year field reading "in press", an
    #: untagged line after a RIS code field), in file order; each names the file, line and field.
    notes: tuple[ParseNote, ...] = ()
    #: PRISMA column the records count in: "database", "register", "citation"...
    source_kind: str = "database"
    #: Why the column is not the one asked for (a trial registry's export asked to count as a database), or "".
    kind_note: str = ""


def notes_heading(summary: ImportSummary) -> str:
    """The line that introduces an import's notes: how many, and that nothing was lost."""
    count = len(summary.notes)
    return (f"{count} note{'' if count == 1 else 's'} on {summary.file}: the records are stored as read, "
            "each keeping the file's text in its raw record")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    review: Review,
    path: Path,
    *,
    source: str | None = None,
    source_kind: str | None = None,
    format: str | None = None,
    column_map: Mapping[str, str] | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import every record of an export file as one run: the whole file, or nothing.

    The very same file (same SHA-256) imported before is refused; overlapping files are fine
    (dedup links their common records). A malformed file raises ParseError naming the file and
    line, and the transaction rolls back, so nothing from it is stored. Problems that leave the
    file readable are stored as read and reported in the summary's `notes`.

    `source_kind` is the PRISMA column (default: register for a ClinicalTrials.gov export, else database).
    A ClinicalTrials.gov export is a register's whatever it is asked to be (register_kind).
    """
    from reviewkit.sources.formats import check_column_map, detect_format, read_records

    if not path.is_file():
        raise ReviewkitError("no such file", where=str(path))
    if source is not None and (long := name_too_long(source.strip(), "the source's name")) is not None:
        raise ReviewkitError(long, hint="name the database the records came from, e.g. Embase")
    sha = file_sha256(path)
    fmt = format or ("ctgov_json" if _is_ctgov_json(path) else detect_format(path))
    if fmt == "ctgov_json":
        check_column_map(fmt, column_map, str(path))
    with session_scope(review.engine, write=True) as session:
        lock_transaction(session, file_lock(sha))  # PostgreSQL: both would pass the check below at once
        earlier = store_runs.complete_import_of(session, sha)
        # A file that held no records cannot bring them twice; refusing it would refuse every
        # other empty export too (they all share one SHA-256).
        if earlier is not None and earlier.record_count:
            when = earlier.started_at.strftime("%Y-%m-%d %H:%M")
            raise ReviewkitError(
                f"this very file was already imported (run {earlier.id}, {when}, "
                f"{counted(earlier.record_count, 'record')}, as {earlier.file_name})",
                where=str(path), hint="a file is imported once; overlapping exports are fine",
            )
        blank = _BlankCount()
        notes: list[ParseNote] = []
        records = blank.skip(_read_ctgov_json(path) if fmt == "ctgov_json"
                             else read_records(path, format=fmt, column_map=column_map, notes=notes))
        first, records = _peek(records)
        if first is None and format is not None and not blank.count and _has_content(path) and not (
                format == "csv" and _header_only(path)):
            # A forced format that reads nothing from a non-empty file is the wrong format: stored
            # as a 0-record import, the file would then be refused forever as "already imported".
            raise ReviewkitError(f"no records read as {format}, though the file is not empty", where=str(path),
                                 hint="check --format, or leave it out to detect the format from the content",
                                 fix=Fix("format"))  # the TUI names its own format choice
        name = source or _source_name(fmt, first, path)
        kind, kind_note = register_kind(source_kind, fmt == "ctgov_json" or (first is not None and first.kind == "registry")
                                        or name.strip().casefold() == CTGOV.casefold(), name)
        run = store_runs.start_run(
            session, kind="import", source=name, source_kind=kind, file_name=path.name,
            sha256=sha, file_format=fmt, started_by=actor,
        )
        assert run.id is not None
        count = 0
        batch: list[Record] = []
        databases: dict[str, None] = {}  # the databases the records name, in file order
        for record in records:
            if record.source_db:
                databases.setdefault(record.source_db.strip(), None)
            batch.append(record.with_identifiers_found())
            if len(batch) >= BATCH:
                store_runs.insert_records(session, run.id, batch, count)
                count += len(batch)
                batch = []
                if progress:
                    progress(count)
        store_runs.insert_records(session, run.id, batch, count)
        count += len(batch)
        if progress:
            progress(count)
        if source is None and fmt not in _PUBMED_FORMATS and fmt != "ctgov_json" and len(databases) > 1:
            # One export covering several databases (EBSCOhost: MEDLINE and CINAHL): PRISMA lists each
            # database's records, so each record is credited to the one its DB field names.
            name = run.source = joined_names(list(databases))
            run.state = {DATABASE_PER_RECORD: True}
        # A record's notes come as its lines are read and (the year) when it is complete: put them in line
        # order. They are kept with the run, so the review shows them after this summary has scrolled away.
        ordered = tuple(sorted(notes, key=lambda note: note.line or 0))
        store_runs.add_notes(session, run.id, [asdict(note) for note in ordered], 0)
        if kind_note:  # kept with the run: the audit shows why its column is not the one asked for
            store_runs.add_notes(session, run.id, [{"message": kind_note}], len(ordered))
        store_runs.finish_run(session, run, record_count=count, new_record_count=count, actor=actor)
    return ImportSummary(run.id, path.name, name, fmt, count, sha, blank.count, ordered, kind, kind_note)


def register_kind(asked: str | None, registry_export: bool, name: str) -> tuple[str, str]:
    """The PRISMA column of an import, and why it is not the one asked for ("" when it is).

    PRISMA 2020 counts a trial registry's records under "Registers", never "Databases"
    (prisma2020.md §2, §4). A ClinicalTrials.gov export counted as a database would put the same
    trials in both rows once the registry is also searched through its API (whose runs are
    registers, and which links the trials the export brought rather than adding them again).
    So an export read as ClinicalTrials.gov's, or credited to it, is a register's: by default,
    and when asked to be a database. Another column (citation searching, a website) is the
    reviewer's to choose and is kept.
    """
    if not registry_export:
        return asked or "database", ""
    if asked is None or asked != "database":
        return asked or "register", ""
    return "register", (f"{name} is a trial register: its records count under Registers in PRISMA, "
                        "not Databases (--kind database was not applied)")


class _BlankCount:
    """Leaves out the records that hold nothing at all, counting them for the import's summary."""

    def __init__(self) -> None:
        self.count = 0

    def skip(self, records: Iterator[Record]) -> Iterator[Record]:
        for record in records:
            if record.is_blank:
                self.count += 1
            else:
                yield record


def _peek(records: Iterator[Record]) -> tuple[Record | None, Iterator[Record]]:
    first = next(records, None)
    if first is None:
        return None, iter(())

    def chained() -> Iterator[Record]:
        yield first
        yield from records

    return first, chained()


def _has_content(path: Path) -> bool:
    """Whether a file holds anything but whitespace (and a byte-order mark), in any encoding we read."""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            if chunk.translate(None, b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
                return True
    return False


def _header_only(path: Path) -> bool:
    """A CSV with a header line and no rows (a search that found nothing, exported): an empty import."""
    with path.open("rb") as fh:
        lines = [line for line in (fh.readline() for _ in range(3)) if line.strip()]
    return len(lines) <= 1


def _is_ctgov_json(path: Path) -> bool:
    """A ClinicalTrials.gov API v2 download: {"studies": [...]} or one study with protocolSection."""
    if path.suffix.lower() != ".json":
        return False
    with path.open("rb") as fh:
        raw = fh.read(4096)
    head = raw.decode(json.detect_encoding(raw), "ignore")
    return '"studies"' in head or '"protocolSection"' in head


#: Deeper JSON than this is no ClinicalTrials.gov download (theirs nest about ten levels).
_MAX_JSON_DEPTH = 100


def _json_text(path: Path) -> str:
    """A JSON file's text: UTF-8 (with or without BOM), UTF-16 or UTF-32, as RFC 8259 and the README allow.

    Bytes that do not decode are refused naming their line; JSON in any other encoding is refused.
    """
    import codecs

    from reviewkit.errors import ParseError
    from reviewkit.sources.formats._text import _line_of

    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and raw[2:4] == b"\x00\x00":
        encoding = "utf-32"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = json.detect_encoding(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        bom = len(raw) - len(exc.object)  # the decoders given the BOM skip it
        with path.open("rb") as fh:
            line = _line_of(fh, bom + exc.start, encoding)
        raise ParseError(f"bytes that are not valid {encoding.upper().replace('-SIG', '')} text",
                         file=str(path), line=line,
                         hint="a ClinicalTrials.gov JSON file is UTF-8; download it again") from None


def _json_depth_ok(data: object) -> bool:
    """Whether no value nests deeper than _MAX_JSON_DEPTH (checked without recursion)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return True


def _read_ctgov_json(path: Path) -> Iterator[Record]:
    """Registry records from a ClinicalTrials.gov API v2 JSON file (a search page or one study).

    Anything malformed (bad bytes, bad JSON, deep nesting, a study or field of the wrong shape) is a
    ParseError naming the file, the study (its number and NCT id) and the field.
    """
    from reviewkit.errors import ParseError
    from reviewkit.sources.ctgov import parse_study

    text = _json_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {json_problem(exc)}", file=str(path), line=exc.lineno) from None
    except RecursionError:
        data = None
        deep = True
    else:
        deep = not _json_depth_ok(data)
    if deep:
        raise ParseError(f"JSON nested more than {_MAX_JSON_DEPTH} levels deep", file=str(path),
                         hint="the file is not a ClinicalTrials.gov API v2 download") from None
    studies = data.get("studies") if isinstance(data, dict) else None
    if studies is None and isinstance(data, dict) and "protocolSection" in data:
        studies = [data]
    if not isinstance(studies, list):
        raise ParseError("not a ClinicalTrials.gov API v2 file (no 'studies' list)", file=str(path))
    for i, study in enumerate(studies):
        try:
            record = parse_study(study, where=str(path))
        except ReviewkitError as exc:
            raise ParseError(f"study {i + 1}: {exc.message}", file=str(path), hint=exc.hint) from None
        yield record


def json_problem(exc: json.JSONDecodeError) -> str:
    """What is wrong with a JSON text, whole: exc.msg alone reads cut ("Unterminated string starting at"),
    its position being in exc.lineno and exc.colno. A file ending inside a string or before its value
    ends, as a download or copy cut short leaves it, is said to be so."""
    if exc.msg.startswith("Unterminated string"):  # no closing quote before the end of the text
        return f"the file ends inside a string that starts at column {exc.colno} (truncated?)"
    if not exc.doc[exc.pos:].strip():  # the parser wanted more where the text ends
        return f"the file ends at column {exc.colno} before its JSON does (truncated?): {exc.msg}"
    return f"{exc.msg} at column {exc.colno}"


def _source_name(fmt: str, first: Record | None, path: Path) -> str:
    """The database to credit in PRISMA: PubMed for its own formats, else what the file says (its first
    record's database; a file whose records name several is renamed after them all once read, and each
    record counted under its own, import_file)."""
    if fmt in _PUBMED_FORMATS:
        return "PubMed"
    if fmt == "ctgov_json":
        return "ClinicalTrials.gov"
    if first is not None and first.source_db:
        return joined_names([first.source_db.strip()])
    return path.stem


def joined_names(databases: list[str]) -> str:
    """The run's name from the databases its records name: "MEDLINE + CINAHL". A file naming many (a DB field
    holding something else on every record) is named by its first few and how many more, and a name too long
    to index ends in an ellipsis: each record is still credited to its own database (DATABASE_PER_RECORD)."""
    shown: list[str] = []
    for name in databases:
        if shown and len(" + ".join([*shown, name])) > 200:
            break
        shown.append(name if len(name) <= NAME_MAX else name[:NAME_MAX - 1] + "…")
    rest = len(databases) - len(shown)
    return " + ".join(shown) + (f" + {rest:,} more" if rest else "")
