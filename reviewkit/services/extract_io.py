"""Provides the extraction table: export to CSV/XLSX and an all-or-nothing import for spreadsheet teams.

One row per study × extractor (or consensus) × arm × outcome × timepoint. Columns: study, nct_id,
arm, intervention, dose, co_intervention, n_randomised, outcome, timepoint, unit (the outcome's
protocol `unit`, of its means, SDs, CIs and quantiles; counts have none), the statistics
(events … n), extractor, consensus (yes/no), converted_from (JSON: statistic → its recorded
conversion), then `arm.NAME` for each protocol arm field and `study.NAME` for each study field, each
field with a protocol `unit` followed by `arm.NAME.unit` or `study.NAME.unit` (extract_units).
Study fields repeat on every row of that study and extractor; an arm without outcome values has a
row with empty outcome, and a study with fields but no arms a row with empty arm. XLSX holds the
same table on one sheet, "extraction".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.domain.extraction import parse_field
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import extract
from reviewkit.services.common import acting_reviewer, columns_hint, read_csv_rows
from reviewkit.services.extract import STAT_FIELDS, canonical
from reviewkit.services.extract_access import check_consensus_writer, extractors_of, may_compare
from reviewkit.services.extract_checks import row_problems, stat_spec
from reviewkit.services.extract_convert import (
    DEFAULT_LEVEL,
    convert_command,
    names_no_level,
    record_problems,
)
from reviewkit.services.extract_import_studies import ImportStudies, RowErrors
from reviewkit.services.extract_units import (
    UNIT_SUFFIX,
    field_columns,
    field_unit_problems,
    field_units,
    unit_cells,
    unit_refusal,
)
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow

BASE_COLUMNS = ("study", "nct_id", "arm", "intervention", "dose", "co_intervention", "n_randomised",
                "outcome", "timepoint", "unit")
TAIL_COLUMNS = ("extractor", "consensus", "converted_from")
SHEET = "extraction"
MAX_ERRORS = 25


def columns(review: Review) -> list[str]:
    """The table's columns for this protocol."""
    return [*BASE_COLUMNS, *STAT_FIELDS, *TAIL_COLUMNS, *field_columns(review.protocol.extraction)]


def _visible(who: ReviewerRow, author: store.Author, compare_open: bool) -> bool:
    """Whether `who` may see an author's values of a study: the consensus and their own, as the extraction
    form (`extract.study_form`) shows them, and every extractor's where `compare_open`: where the app
    would show them the study's comparison (extract_access.may_compare: a lead or an adjudicator any
    study, an extractor a study once every independent extraction of it is finished), so the table
    and the app agree."""
    return compare_open or author[0] or author[1] == who.id


def extraction_rows(review: Review, actor: str | None) -> list[dict[str, str]]:
    """The extraction table as text cells, as `actor` may see it (_visible): each extractor's current
    values, then the consensus. An unknown or dropped reviewer is refused."""
    order = {o.name: i for i, o in enumerate(review.protocol.extraction.outcomes)}
    # The protocol's unit, not each stored value's: the table has one unit cell per row, and the import
    # stores the row's statistics in the protocol's unit (it refuses another: _import_stats).
    units = {o.name: o.unit or "" for o in review.protocol.extraction.outcomes}
    cols = columns(review)
    out: list[dict[str, str]] = []
    with session_scope(review.engine) as session:
        viewer = acting_reviewer(session, actor)
        names = store.reviewers_by_id(session)
        arms, values = store.current_arms(session), store.current_values(session)
        keys = [*arms, *values]
        required = review.protocol.extraction.extractors_per_study
        finished = store.finished_by_study(session)
        extractors = extractors_of(arms, values)
        for study in store.studies(session):
            assert study.id is not None
            compare_open = may_compare(viewer, finished.get(study.id, set()), extractors.get(study.id, set()),
                                       required)
            authors = {a for (sid, a) in keys if sid == study.id and _visible(viewer, a, compare_open)}
            for author in sorted(authors, key=lambda a: (a[0], names[a[1]].name if a[1] in names else "")):
                mine = {k: r for k, r in values.get((study.id, author), {}).items() if r.value is not None}
                its_arms = arms.get((study.id, author), {})
                who = ""
                for r in [*mine.values(), *its_arms.values()]:
                    who = names[r.extractor_id].name if r.extractor_id in names else who  # type: ignore[attr-defined]
                common = {"study": study.label, "nct_id": study.nct_id or "", "extractor": who,
                          "consensus": "yes" if author[0] else "no"}
                common.update({f"study.{k[3]}": r.value or "" for k, r in mine.items() if not k[0] and not k[1]})
                groups = sorted({k[:3] for k in mine if k[0] and k[1]}, key=lambda g: (order.get(g[1], 99), g[2]))
                rows: list[dict[str, str]] = []
                for label, arm in its_arms.items():
                    arm_cells = {"arm": label, "intervention": arm.intervention, "dose": arm.dose,
                                 "co_intervention": arm.co_intervention,
                                 "n_randomised": "" if arm.n_randomised is None else str(arm.n_randomised),
                                 **{f"arm.{k}": str(v) for k, v in arm.fields.items() if not k.startswith("_")}}
                    mine_groups = [g for g in groups if g[0] == label] or [(label, "", "")]
                    for _, outcome, timepoint in mine_groups:
                        stats = {k[3]: r for k, r in mine.items() if k[:3] == (label, outcome, timepoint) and outcome}
                        conv = {f: r.converted_from for f, r in stats.items() if r.converted_from}
                        rows.append({**common, **arm_cells, "outcome": outcome, "timepoint": timepoint,
                                     "unit": units.get(outcome, ""), **{f: r.value or "" for f, r in stats.items()},
                                     "converted_from": json.dumps(conv, sort_keys=True) if conv else ""})
                if not rows:
                    rows.append(dict(common))
                for row in rows:
                    row.update(unit_cells(review.protocol.extraction, row))
                    out.append({c: row.get(c, "") for c in cols})
    return out


def export_table(review: Review, path: Path, *, actor: str | None) -> int:
    """Write the extraction table as `actor` may see it (extraction_rows) to FILE.csv or FILE.xlsx;
    returns the number of rows. A refused reviewer gets an error before anything is written."""
    rows, cols = extraction_rows(review, actor), columns(review)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=cols)
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = SHEET
        sheet.append(cols)
        numeric = {*STAT_FIELDS, "n_randomised"}
        for row in rows:
            # Statistics go in as numbers, so a spreadsheet can compute with them.
            sheet.append([_number_cell(row[c]) if c in numeric else row[c] for c in cols])
        book.save(path)
    else:
        raise ReviewkitError(f"cannot export to '{path.name}'", hint="name a .csv or .xlsx file")
    return len(rows)


def _number_cell(text: str) -> Any:
    if not text:
        return None
    number = float(text)
    return int(number) if number.is_integer() else number


def read_table(path: Path, multiline: Collection[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cells as text) of each row of a CSV or XLSX extraction table, after its header.

    In a CSV, only the `multiline` columns may hold a line break (common.read_csv_rows).
    """
    if not path.exists():
        raise ReviewkitError("no such file", where=str(path))
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a file that is not XLSX
            raise ReviewkitError(f"not a readable XLSX workbook ({exc})", where=str(path)) from None
        try:
            sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
            cells = list(sheet.iter_rows(values_only=True))
        finally:
            book.close()
        header = [str(c or "").strip() for c in (cells[0] if cells else ())]
        _check_header(header, path)
        for number, values in enumerate(cells[1:], start=2):
            texts = ["" if v is None else canonical(v) or "" for v in values]
            if any(texts):
                yield number, {h: t for h, t in zip(header, texts, strict=False)}
        return
    # The strict reader every CSV import shares: each row with the line it starts on, a quote left
    # open refused with its line rather than swallowing the rest of the file into one cell.
    for line, row in read_csv_rows(path, _KEYS, _KEYS, multiline=multiline, hint=_LAYOUT):
        found = {k: v.strip() for k, v in row.items()}
        if any(found.values()):
            yield line, found


#: The columns an extraction table cannot do without.
_KEYS = ("study", "arm", "outcome", "timepoint", "extractor")
_LAYOUT = "export a table with `reviewkit extract export` to see the layout"


def _check_header(header: list[str], path: Path) -> None:
    missing = [c for c in _KEYS if c not in header]
    if missing:
        raise ReviewkitError(f"missing column(s): {', '.join(missing)}", where=f"{path.name}, line 1",
                             hint=f"{columns_hint(_KEYS, header)}; {_LAYOUT}")


@dataclass(frozen=True)
class ImportResult:
    """What an import brought in: `rows` and `values` read, `stored` of those rows changed what is stored
    (a new study, arm or value, or a changed one) and `values_stored` of those values did."""

    rows: int
    studies_created: int
    values: int
    #: Notes on converted values: cleared, their source having changed ("line 3: sd (converted from se) …"),
    #: or read from a CI whose level the file's record does not name (read as 95%).
    cleared: tuple[str, ...] = ()
    stored: int = 0
    values_stored: int = 0
    #: The labels of the studies the import created (each declared with `new_studies`).
    new_studies: tuple[str, ...] = ()
    #: Labels read as an existing study's, spelt otherwise ("study 'BREEZE AD-1' read as 'BREEZE-AD1' …").
    read_as: tuple[str, ...] = ()

    @property
    def present(self) -> int:
        """Rows whose every study field, arm and value was already stored as the row states it."""
        return self.rows - self.stored


def import_table(review: Review, path: Path, *, actor: str | None, new_studies: Collection[str] = ()
                 ) -> ImportResult:
    """Import an extraction table (CSV or XLSX) as `actor`, in one transaction: every row lands, or none does.

    Studies are matched by label, as extract_import_studies.ImportStudies reads them: without case, spaces or punctuation; a label
    of no study is refused (naming a close one), unless `new_studies` declares it: then it is created.
    Each row is written as its extractor (or, with consensus = yes, as the consensus, recorded as
    `actor`). Who may import what is who may enter it: a lead anyone's rows, anyone else only their own;
    consensus rows whoever may compare the study (extract_access). A refused row is refused before its
    stored values are read, so no error shows values `actor` may not see. Errors name the line and the
    column, each problem once, on the statistic that causes it (extract_checks.row_problems); a
    converted value its converted_from record contradicts is refused (extract_convert.record_problems).

    A row states its arm whole: every arm column (intervention, dose, co_intervention, n_randomised,
    arm.NAME) is written as it stands, so an empty cell (or a column left out of the file) empties that
    attribute of the arm, unlike `extract arm`, where an option not given keeps its value (extract.arm_in).
    The consensus column reads yes/y/true/1 or no/n/false/0 (or empty: no), any other value is refused.
    """
    # Every field's unit column, not only those the export writes: a unit for a field the protocol gives
    # none is refused as a contradiction (field_unit_problems), not as a column of another review.
    allowed = {*columns(review), *(c + UNIT_SUFFIX for c in field_units(review.protocol.extraction))}
    # Free text may run over several lines; a line break in a key, a statistic or a unit is a quote left open.
    # The unit columns by name, not by their ".unit" ending: a field may itself be called unit (arm.unit).
    unit_columns = {c + UNIT_SUFFIX for c in field_units(review.protocol.extraction)}
    multiline = {c for c in allowed if (c.startswith(("arm.", "study.")) and c not in unit_columns)
                 or c in ("intervention", "dose", "co_intervention")}
    errors: list[str] = []
    counts = {"rows": 0, "values": 0, "stored": 0, "values_stored": 0, "arms_stored": 0}
    cleared: list[str] = []
    with session_scope(review.engine, write=True) as session:
        importer = acting_reviewer(session, actor)
        studies = ImportStudies(session, new_studies, importer.name)
        seen: dict[tuple[Any, ...], tuple[int, str]] = {}
        rows = list(read_table(path, multiline))
        # A column of another table is the header's problem: said once, about line 1, not on every row
        # (a 129-row file gave 129 errors). A column left empty throughout is ignored, as it was.
        unknown = [c for c in dict.fromkeys(c for _, cells in rows for c in cells) if c not in allowed
                   and any(cells.get(c) for _, cells in rows)]
        if unknown:
            raise ReviewkitError("nothing imported: " + "; ".join(
                f"line 1, {c}: not a column of this review's extraction table" for c in unknown),
                where=path.name, hint=_LAYOUT)
        for line, cells in rows:
            counts["rows"] += 1
            before = len(studies.created) + counts["values_stored"] + counts["arms_stored"]
            try:
                _import_row(session, review, importer, cells, line, seen, counts, cleared, studies)
            except RowErrors as exc:
                errors += exc.errors
            counts["stored"] += len(studies.created) + counts["values_stored"] + counts["arms_stored"] > before
            if len(errors) >= MAX_ERRORS:
                break
        if errors:
            more = "" if len(errors) < MAX_ERRORS else f" (stopped after {MAX_ERRORS})"
            raise ReviewkitError("nothing imported: " + "; ".join(errors[:MAX_ERRORS]) + more, where=path.name)
    return ImportResult(counts["rows"], len(studies.created), counts["values"], tuple(cleared), counts["stored"],
                        counts["values_stored"], tuple(studies.created), tuple(studies.read_as))


def _written(row: Any, previous: Any) -> bool:
    """Whether a write helper stored a new row: an unchanged value or arm comes back as the stored one."""
    return row is not None and (previous is None or row.id != previous.id)


#: How the consensus column says yes or no (empty: no).
_YES, _NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0", "")


def _import_row(session: Session, review: Review, importer: ReviewerRow, cells: dict[str, str], line: int,
                seen: dict[tuple[Any, ...], tuple[int, str]], counts: dict[str, int], cleared: list[str],
                studies: ImportStudies) -> None:
    errors: list[str] = []

    def attempt(column: str, fn: Any) -> Any:
        try:
            return fn()
        except ReviewkitError as exc:
            errors.append(f"line {line}, {column}: {exc.message}")
            return None

    def once(key: tuple[Any, ...], column: str, value: str) -> bool:
        """Rows repeat study and arm cells; the same item with another value is an error."""
        earlier = seen.setdefault(key, (line, value))
        if earlier[1] != value:
            errors.append(f"line {line}, {column}: '{value}' differs from '{earlier[1]}' on line {earlier[0]}")
            return False
        return earlier[0] == line

    flag = cells.get("consensus", "").strip().lower()
    if flag not in (*_YES, *_NO):
        raise RowErrors([f"line {line}, consensus: '{cells['consensus']}' is neither yes nor no "
                          "(use yes/no, y/n, true/false or 1/0; empty means no)"])
    consensus = flag in _YES
    # The consensus is written as the importer (the extractor column names who wrote it last).
    who = importer if consensus else attempt("extractor", lambda: extract.reviewer(session, cells.get("extractor")))
    if who is not None and who.id != importer.id and "lead" not in importer.roles:
        errors.append(f"line {line}, extractor: {importer.name} may import only their own extraction, not "
                      f"{who.name}'s (a lead may import anyone's)")
    label = cells.get("study", "")
    if not label:
        errors.append(f"line {line}, study: empty")
    errors += field_unit_problems(review.protocol.extraction, cells, line)
    if errors:
        raise RowErrors(errors)
    study = studies.find(cells, label, line)
    assert study.id is not None
    if consensus:
        try:
            check_consensus_writer(session, importer, study.id, review.protocol.extraction.extractors_per_study)
        except PermissionDenied as exc:
            raise RowErrors([f"line {line}, consensus: {exc.message}"]) from None
    sid, author = study.id, extract.author(who, consensus)
    protocol = review.protocol
    mine: dict[Any, Any] | None = None
    for f in protocol.extraction.fields:
        value = cells.get(f"study.{f.name}", "")
        if value and once((sid, author, "study", f.name), f"study.{f.name}", value):
            if mine is None:
                mine = store.current_values(session, [sid]).get((sid, author), {})
            row = attempt(f"study.{f.name}", lambda f=f, value=value: extract.value_in(
                session, protocol, who, sid, f.name, value, origin="import", consensus=consensus, by=importer))
            counts["values"] += 1
            counts["values_stored"] += _written(row, mine.get(("", "", "", f.name)))
    arm = cells.get("arm", "")
    if arm:
        arm_cells = {c: cells.get(c, "") for c in ("intervention", "dose", "co_intervention", "n_randomised")}
        # Every arm column, empty ones too: the row states the arm whole (see import_table).
        fields = {f.name: cells.get(f"arm.{f.name}", "") for f in protocol.extraction.arm_fields}
        if once((sid, author, "arm", arm), "arm", json.dumps([arm_cells, fields], sort_keys=True)):
            previous = store.current_arms(session, [sid]).get((sid, author), {}).get(arm.strip())
            row = attempt("arm", lambda: extract.arm_in(
                session, protocol, who, sid, arm, intervention=arm_cells["intervention"], dose=arm_cells["dose"],
                co_intervention=arm_cells["co_intervention"], n_randomised=arm_cells["n_randomised"],
                fields=fields, consensus=consensus, by=importer))
            counts["arms_stored"] += _written(row, previous)
    outcome, timepoint = cells.get("outcome", ""), cells.get("timepoint", "")
    stats = {f: cells[f] for f in STAT_FIELDS if cells.get(f)}
    if stats and not outcome:
        errors.append(f"line {line}, outcome: statistics without an outcome")
    elif cells.get("unit") and not outcome:
        errors.append(f"line {line}, unit: '{cells['unit']}' without an outcome (the unit is an outcome's)")
    if outcome and not errors:
        notes: list[str] = []
        _import_stats(session, review, who, sid, arm, outcome, timepoint, stats, cells, consensus, line,
                      attempt, counts, errors, importer, notes)
        cleared += [f"line {line}: {note}" for note in notes]
    if errors:
        raise RowErrors(errors)


def _checkable(stats: dict[str, str]) -> dict[str, str]:
    """The row's statistics that pass their own check, in stored form, to check the others against.

    A cell its own check refuses ('abc', or events of -5: not a whole number ≥ 0) is reported on its
    own column by that check, once; left in, the cross-checks of the other statistics of the row would
    report it again (events -5 as "must be ≥ 0" and again as "must be a whole number ≥ 0").
    """
    out: dict[str, str] = {}
    for name, text in stats.items():
        parsed = parse_field(stat_spec(name), text)
        value = canonical(parsed.value)
        if not parsed.problems and value is not None:
            out[name] = value
    return out


def _import_stats(session: Session, review: Review, who: Any, sid: int, arm: str, outcome: str, timepoint: str,
                  stats: dict[str, str], cells: dict[str, str], consensus: bool, line: int, attempt: Any,
                  counts: dict[str, int], errors: list[str], by: Any, cleared: list[str]) -> None:
    try:
        conv = json.loads(cells["converted_from"]) if cells.get("converted_from") else {}
    except json.JSONDecodeError as exc:
        errors.append(f"line {line}, converted_from: not JSON ({exc.msg})")
        return
    found = attempt("outcome", lambda: extract.outcome_of(review.protocol, outcome, timepoint))
    if found is None:
        return
    if not arm and stats:  # said once, not on every statistic of the row
        errors.append(f"line {line}, arm: empty, but the row has {outcome} statistics (they belong to an arm)")
        return
    unit, expected = cells.get("unit", ""), found[0].unit or ""
    # A row in other units (mg/dL for mmol/L) would be stored as if in the protocol's (extract_units).
    if unit and unit != expected:
        errors.append(unit_refusal(line, "unit", unit, expected, outcome, "the statistics"))
        return
    timepoint = found[1]
    mine = store.current_values(session, [sid]).get((sid, extract.author(who, consensus)), {})
    # Checked as the row will stand, so the order of the cells does not matter.
    # A statistic the row gives replaces the stored one, even when its cell is refused: the stored value
    # is not what the row will leave, so the others are not checked against it.
    others = {k[3]: r.value for k, r in mine.items() if k[:3] == (arm, outcome, timepoint) and k[3] not in stats
              } | _checkable(stats)
    problems = row_problems(review.protocol, stats, arm=arm, outcome=outcome, timepoint=timepoint, current=others)
    problems += record_problems(stats, conv)
    if problems:
        errors += [f"line {line}, {column}: {reason}" for column, reason in problems]
        return
    for name, value in stats.items():
        source = conv.get(name) if isinstance(conv, dict) else None
        row = attempt(name, lambda name=name, value=value, source=source: extract.value_in(
            session, review.protocol, who, sid, name, value, arm=arm, outcome=outcome, timepoint=timepoint,
            origin="import", converted_from=source, consensus=consensus, others=others, by=by, cleared=cleared))
        counts["values"] += 1
        counts["values_stored"] += _written(row, mine.get((arm, outcome, timepoint, name)))
        if row is not None and isinstance(source, dict) and names_no_level(source):
            # Said now, not only when an analysis pools it: the file's record names no level, so its SD
            # is read as from a 95% CI; a 90% CI read so gives an SD 16% too small.
            cleared.append(
                f"{name} of {arm} ({outcome}) is converted from a CI whose level the record does not name: read "
                f"as {DEFAULT_LEVEL * 100:g}%; if the report's CI is another, convert it with its level, e.g. "
                + convert_command(sid, arm, outcome, timepoint, "--method", "ci", "--level", "0.9",
                                  consensus=consensus))
