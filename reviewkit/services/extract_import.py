"""Provides the extraction table's import: an all-or-nothing import of a CSV/XLSX table for spreadsheet teams.

The table's layout is extract_io's (its export); a row states its arm whole, each statistic is checked as the
row will stand, a converted value against its recorded conversion, and rows identical to what the importer's
own export shows are left out as present before anyone's permission is asked.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.domain.extraction import parse_field
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import extract
from reviewkit.services.common import acting_reviewer
from reviewkit.services.extract import STAT_FIELDS, canonical
from reviewkit.services.extract_access import check_consensus_writer
from reviewkit.services.extract_checks import label_key, row_problems, stat_spec
from reviewkit.services.extract_convert import (
    DEFAULT_LEVEL,
    convert_command,
    names_no_level,
    record_problems,
)
from reviewkit.services.extract_import_studies import ImportStudies, RowErrors
from reviewkit.services.extract_units import (
    UNIT_SUFFIX,
    field_unit_problems,
    field_units,
    unit_refusal,
)
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow

from reviewkit.services.extract_io import LAYOUT_HINT, columns, read_table, table_rows

#: How many problems an import lists before it stops reading.
MAX_ERRORS = 25

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
    stored values are read, so no error shows values `actor` may not see. A row `actor` may not write
    that their own export would write as it stands (_Exported: their export imported back, with others'
    rows where the comparison is open to them, and the consensus) is left out as present instead; a row
    they may not see never counts as present, so that tells nothing either. Errors name the line and the
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
        exported = _Exported(session, review, importer)
        seen: dict[tuple[Any, ...], tuple[int, str]] = {}
        rows = list(read_table(path, multiline))
        # A column of another table is the header's problem: said once, about line 1, not on every row
        # (a 129-row file gave 129 errors). A column left empty throughout is ignored, as it was.
        unknown = [c for c in dict.fromkeys(c for _, cells in rows for c in cells) if c not in allowed
                   and any(cells.get(c) for _, cells in rows)]
        if unknown:
            raise ReviewkitError("nothing imported: " + "; ".join(
                f"line 1, {c}: not a column of this review's extraction table" for c in unknown),
                where=path.name, hint=LAYOUT_HINT)
        for line, cells in rows:
            counts["rows"] += 1
            before = len(studies.created) + counts["values_stored"] + counts["arms_stored"]
            try:
                _import_row(session, review, importer, cells, line, seen, counts, cleared, studies, exported)
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


class _Exported:
    """The rows `importer`'s own export would write (table_rows), to leave out those of a file that state
    what is stored where `importer` may not write them: another extractor's rows (from a non-lead), and
    consensus rows of a study whose consensus they may not write. Only what they may see is matched
    (_visible: the consensus, their own, others' where the comparison is open to them), so a row of an
    extraction blinded to them is never present and is refused as before. A row matches an exported one
    when the import would store nothing from it: each cell as written (both stripped), a statistic or
    n_randomised as the same number, converted_from as the same record, consensus as the same yes or no; an
    empty cell the import leaves alone (a statistic, study field, unit or nct_id) matches any; a
    consensus row's extractor (who wrote it last) is not read. Read per study, at its first such row:
    the file's earlier rows change only the importer's own extraction (or a consensus they may write),
    and can only close a comparison to them, not open one."""

    def __init__(self, session: Session, review: Review, importer: ReviewerRow) -> None:
        self.session, self.review, self.importer = session, review, importer
        self.columns = columns(review)
        self.numeric = {*STAT_FIELDS, "n_randomised"}
        units = {c + UNIT_SUFFIX for c in field_units(review.protocol.extraction)}
        self.optional = {*STAT_FIELDS, "nct_id", "unit", *units,
                         *(f"study.{f.name}" for f in review.protocol.extraction.fields)}
        self._rows: dict[int, list[dict[str, str]]] = {}

    def shows(self, cells: dict[str, str], consensus: bool) -> bool:
        """Whether the row is one of the importer's export's (as the class says)."""
        study = store.study_by_label(self.session, cells.get("study", "").strip())
        if study is None or study.id is None:
            return False
        if study.id not in self._rows:
            self._rows[study.id] = table_rows(self.session, self.review, self.importer, [study.id])
        return any(self._same(cells, row, consensus) for row in self._rows[study.id])

    def _same(self, cells: dict[str, str], row: dict[str, str], consensus: bool) -> bool:
        if (row["consensus"] == "yes") != consensus:
            return False
        for column in self.columns:
            given, stored = (cells.get(column) or "").strip(), row[column].strip()
            if column == "consensus" or (consensus and column == "extractor") or (
                    not given and column in self.optional):
                continue
            if column in self.numeric and given and stored:
                if _as_number(given) != _as_number(stored):
                    return False
            elif column == "converted_from" and given and stored:
                if _as_json(given) != _as_json(stored):
                    return False
            elif given != stored:
                return False
        return True


def _as_number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _as_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _written(row: Any, previous: Any) -> bool:
    """Whether a write helper stored a new row: an unchanged value or arm comes back as the stored one."""
    return row is not None and (previous is None or row.id != previous.id)


#: How the consensus column says yes or no (empty: no).
_YES, _NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0", "")


def _import_row(session: Session, review: Review, importer: ReviewerRow, cells: dict[str, str], line: int,
                seen: dict[tuple[Any, ...], tuple[int, str]], counts: dict[str, int], cleared: list[str],
                studies: ImportStudies, exported: _Exported) -> None:
    """Store one row (a row `importer` may not write is left out when their export shows it: _Exported)."""
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
        if exported.shows(cells, consensus=False):
            return  # stored as it stands and theirs to see: left out, present
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
            if exported.shows(cells, consensus=True):
                return  # the consensus as stored (everyone sees it): left out, present
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
        held = store.current_arms(session, [sid]).get((sid, author), {})
        # An arm is never deleted by an import, and a second spelling of one ("placebo" beside "Placebo") would
        # be a second arm: two control arms, which the analysis cannot pool. Refused, naming the arm, as a
        # study label is (extract_import_studies); a label unlike every arm is a new arm.
        slips = [a for a in held if a != arm.strip() and label_key(a) == label_key(arm)]
        if arm.strip() not in held and slips:
            errors.append(f"line {line}, arm: '{arm}' is not an arm of this extraction of study '{study.label}', "
                          f"but is spelt like '{slips[0]}': give that label (an arm is never deleted by an "
                          "import; `reviewkit extract remove-arm` withdraws one)")
        elif once((sid, author, "arm", arm), "arm", json.dumps([arm_cells, fields], sort_keys=True)):
            previous = held.get(arm.strip())
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
