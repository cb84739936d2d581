"""Provides the extraction table: its columns, export to CSV/XLSX, and reading a table file (extract_import imports it).

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.errors import ReviewkitError
from reviewkit.services.common import acting_reviewer, column_names, columns_hint, read_csv_rows
from reviewkit.services.extract import STAT_FIELDS, canonical
from reviewkit.services.extract_access import extractors_of, may_compare
from reviewkit.services.extract_units import (
    field_columns,
    unit_cells,
)
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope
from reviewkit.wording import noun

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.protocol import Extraction
    from reviewkit.store.tables import ReviewerRow

BASE_COLUMNS = ("study", "nct_id", "arm", "intervention", "dose", "co_intervention", "n_randomised",
                "outcome", "timepoint", "unit")
TAIL_COLUMNS = ("extractor", "consensus", "converted_from")
SHEET = "extraction"


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
    with session_scope(review.engine) as session:
        return table_rows(session, review, acting_reviewer(session, actor))


def table_rows(session: Session, review: Review, viewer: ReviewerRow, study_ids: Collection[int] | None = None
               ) -> list[dict[str, str]]:
    """extraction_rows within a session, as `viewer` may see it; of the `study_ids` only, when given."""
    order = {o.name: i for i, o in enumerate(review.protocol.extraction.outcomes)}
    # The protocol's unit, not each stored value's: the table has one unit cell per row, and the import
    # stores the row's statistics in the protocol's unit (it refuses another: _import_stats).
    units = {o.name: o.unit or "" for o in review.protocol.extraction.outcomes}
    cols = columns(review)
    out: list[dict[str, str]] = []
    names = store.reviewers_by_id(session)
    arms, values = store.current_arms(session, study_ids), store.current_values(session, study_ids)
    keys = [*arms, *values]
    required = review.protocol.extraction.extractors_per_study
    finished = store.finished_by_study(session, study_ids)
    extractors = extractors_of(arms, values)
    for study in store.studies(session):
        assert study.id is not None
        if study_ids is not None and study.id not in study_ids:
            continue
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
        numeric = {*STAT_FIELDS, "n_randomised", *number_field_columns(review.protocol.extraction)}
        for line, row in enumerate(rows, start=2):
            # Statistics and numeric form fields go in as numbers, so a spreadsheet can compute with them.
            cells = [_number_cell(row[c]) if c in numeric else row[c] for c in cols]
            sheet.append(cells)
            _keep_as_text(sheet, line, cells)
        book.save(path)
    else:
        raise ReviewkitError(f"cannot export to '{path.name}'", hint="name a .csv or .xlsx file")
    return len(rows)


def number_field_columns(extraction: Extraction) -> set[str]:
    """The field columns ("study.duration", "arm.dose_mg") of the protocol's integer and number fields."""
    numeric = ("integer", "number")
    return ({f"study.{f.name}" for f in extraction.fields if f.type in numeric}
            | {f"arm.{f.name}" for f in extraction.arm_fields if f.type in numeric})


def _keep_as_text(sheet: Any, line: int, cells: list[Any]) -> None:
    """Store text that starts with "=" as the text it is: openpyxl writes it as a formula, which a spreadsheet
    evaluates (a study field "=US+DE" shows #NAME?) and which reads back empty, so `extract import` of the
    exported workbook lost the value."""
    for column, value in enumerate(cells, start=1):
        if isinstance(value, str) and value.startswith("="):
            sheet.cell(row=line, column=column).data_type = "s"


def _number_cell(text: str) -> Any:
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:  # a field value stored before its protocol type became a number: kept as typed
        return text
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
            cells = [[_cell_text(c) for c in row] for row in sheet.iter_rows()]
        finally:
            book.close()
        header = column_names(cells[0] if cells else (), _KEYS)
        _check_header(header, path)
        for number, texts in enumerate(cells[1:], start=2):
            if any(texts):
                yield number, {h: t for h, t in zip(header, texts, strict=False)}
        return
    # The strict reader every CSV import shares: each row with the line it starts on, a quote left
    # open refused with its line rather than swallowing the rest of the file into one cell.
    for line, row in read_csv_rows(path, _KEYS, _KEYS, multiline=multiline, hint=LAYOUT_HINT):
        found = {k: v.strip() for k, v in row.items()}
        if any(found.values()):
            yield line, found


def _cell_text(cell: Any) -> str:
    """A workbook cell as text, as the sheet shows it where that differs from the number it holds: a cell
    formatted as a percentage shows "12.5%" and holds 0.125. Read as shown, it is refused (or read as 12.5
    for a field whose unit is %), as the same text in a CSV is; read as held, 0.125 was stored as the value."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and "%" in (getattr(cell, "number_format", "")
                                                                                  or ""):
        return f"{value * 100:.12g}%"
    return canonical(value) or ""


#: The columns an extraction table cannot do without.
_KEYS = ("study", "arm", "outcome", "timepoint", "extractor")
LAYOUT_HINT = "export a table with `reviewkit extract export` to see the layout"


def _check_header(header: list[str], path: Path) -> None:
    missing = [c for c in _KEYS if c not in header]
    if missing:
        raise ReviewkitError(f"missing {noun(len(missing), 'column')}: {', '.join(missing)}", where=f"{path.name}, line 1",
                             hint=f"{columns_hint(_KEYS, header)}; {LAYOUT_HINT}")
