"""Tests that the extraction table carries the protocol unit of each study and arm field that has one, in a
column after the field's, and that an import takes that unit or an empty cell and refuses another."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table
from reviewkit.services.project import Review
from tests.factories import write_csv

ARM, BARE = "Bari 4 mg", "Placebo"


def units_of(review: Review) -> dict[str, str]:
    """The shipped protocol's units of the fields this file uses, read from it (not typed here)."""
    ext = review.protocol.extraction
    units = {f"study.{f.name}": f.unit for f in ext.fields} | {f"arm.{f.name}": f.unit for f in ext.arm_fields}
    assert units["study.duration"] and units["arm.dose_mg"] and not units["study.country"]
    return {k: v or "" for k, v in units.items()}


def exported(review: Review, path: Path) -> tuple[int, list[dict[str, str]]]:
    """A study and alice's extraction table of it: duration, country, one arm with a dose and an outcome
    value, one arm without."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_value(review, "alice", sid, "duration", "16")
    extract.set_value(review, "alice", sid, "country", "Japan")
    extract.set_arm(review, "alice", sid, ARM, fields={"dose_mg": "4"})
    extract.set_arm(review, "alice", sid, BARE)
    extract.set_value(review, "alice", sid, "events", "12", arm=ARM, outcome="iga_0_1")
    export_table(review, path, actor="alice")
    with path.open(newline="", encoding="utf-8") as handle:
        return sid, list(csv.DictReader(handle))


def test_field_rows_carry_the_protocol_unit_after_the_field(review: Review, tmp_path: Path) -> None:
    """duration (weeks) and dose_mg (mg) have their unit in the column after theirs, where the field has a
    value; country, which has no unit, has no unit column; the outcome's `unit` cell is unchanged."""
    units = units_of(review)
    _, rows = exported(review, tmp_path / "t.csv")
    header = list(rows[0])
    assert header.index("study.duration.unit") == header.index("study.duration") + 1
    assert header.index("arm.dose_mg.unit") == header.index("arm.dose_mg") + 1
    assert "study.country.unit" not in header
    by_arm = {r["arm"]: r for r in rows}
    assert by_arm[ARM]["arm.dose_mg"] and by_arm[ARM]["arm.dose_mg.unit"] == units["arm.dose_mg"]
    assert by_arm[BARE]["arm.dose_mg"] == by_arm[BARE]["arm.dose_mg.unit"] == ""  # no dose, no unit
    assert all(r["study.duration.unit"] == units["study.duration"] for r in rows)
    assert by_arm[ARM]["unit"] == ""  # iga_0_1 has no unit: its cell stays the outcome's


def test_an_import_takes_the_field_unit_or_an_empty_cell(review: Review, tmp_path: Path) -> None:
    """The exported table imports back unchanged, with its unit cells or without them."""
    _, rows = exported(review, tmp_path / "t.csv")
    assert import_table(review, write_csv(tmp_path / "same.csv", rows), actor="alice").values_stored == 0
    emptied = [{**r, "study.duration.unit": "", "arm.dose_mg.unit": ""} for r in rows]
    assert import_table(review, write_csv(tmp_path / "empty.csv", emptied), actor="alice").stored == 0


@pytest.mark.parametrize(("column", "given", "said"), [
    ("study.duration.unit", "days", "is not the unit of study field duration (the protocol's is '{}')"),
    ("arm.dose_mg.unit", "g", "is not the unit of arm field dose_mg (the protocol's is '{}')"),
    ("study.country.unit", "km", "is not the unit of study field country (the protocol gives it none)"),
])
def test_an_import_refuses_a_unit_the_protocol_does_not_give(review: Review, tmp_path: Path, column: str,
                                                              given: str, said: str) -> None:
    """Another unit is refused on its line and column, and nothing is imported (the value beside it changed,
    the file's other rows too); a unit column for a field without a unit is refused the same way."""
    units = units_of(review)
    sid, rows = exported(review, tmp_path / "t.csv")
    line = next(i for i, r in enumerate(rows, start=2) if r["arm"] == ARM)
    changed = [{**r, "study.duration": "24", **({column: given} if r["arm"] == ARM else {})} for r in rows]
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, write_csv(tmp_path / "bad.csv", changed), actor="alice")
    expected = said.format(units[column.removesuffix(".unit")])
    fix = "leave the cell empty, or give the field a unit" if "gives it none" in said else "convert the value to it"
    assert f"line {line}, {column}: '{given}' {expected}: {fix}" in str(refused.value)
    form = extract.study_form(review, "alice", sid)
    assert {v.field: v.value for v in form.values if not v.arm}["duration"] == "16"


def test_the_xlsx_holds_numeric_fields_as_numbers_and_imports_back(review: Review, tmp_path: Path) -> None:
    """A spreadsheet computes with the protocol's integer and number fields (duration, dose_mg) as it does with
    the statistics: they are numbers in the XLSX, while text fields (country) stay text; the file imports back
    storing nothing."""
    from openpyxl import load_workbook

    exported(review, tmp_path / "t.csv")
    export_table(review, tmp_path / "t.xlsx", actor="alice")
    book = load_workbook(tmp_path / "t.xlsx", read_only=True)
    header, *cells = list(book["extraction"].iter_rows(values_only=True))
    book.close()
    (row,) = [dict(zip(header, c, strict=True)) for c in cells if c[header.index("arm")] == ARM]
    assert row["study.duration"] == 16 and row["arm.dose_mg"] == 4 and row["events"] == 12
    assert row["study.country"] == "Japan"
    assert import_table(review, tmp_path / "t.xlsx", actor="alice").values_stored == 0


def test_an_xlsx_with_capitalised_key_columns_imports_back(review: Review, tmp_path: Path) -> None:
    """A sheet whose owner titled its columns (Study, Arm, Outcome, Timepoint, Extractor) was refused as
    missing every key column; it reads as the table it is, and imports back storing nothing."""
    from openpyxl import load_workbook

    exported(review, tmp_path / "t.csv")
    export_table(review, tmp_path / "t.xlsx", actor="alice")
    book = load_workbook(tmp_path / "t.xlsx")
    sheet = book["extraction"]
    for cell in sheet[1]:
        if cell.value in ("study", "arm", "outcome", "timepoint", "extractor"):
            cell.value = str(cell.value).title()
    book.save(tmp_path / "t.xlsx")
    assert import_table(review, tmp_path / "t.xlsx", actor="alice").values_stored == 0


def test_an_xlsx_keeps_text_that_starts_with_an_equals_sign(review: Review, tmp_path: Path) -> None:
    """A text field typed as "=US+DE ..." is text in the XLSX, not a formula a spreadsheet evaluates (it
    showed #NAME?) and that reads back empty: the workbook imports back storing nothing, the value kept."""
    from openpyxl import load_workbook

    sid, _ = exported(review, tmp_path / "t.csv")
    typed = "=US+DE (multicentre)"
    extract.set_value(review, "alice", sid, "country", typed)
    export_table(review, tmp_path / "t.xlsx", actor="alice")
    book = load_workbook(tmp_path / "t.xlsx", read_only=True, data_only=True)
    header, *cells = list(book["extraction"].iter_rows(values_only=True))
    book.close()
    assert {c[header.index("study.country")] for c in cells} == {typed}
    assert import_table(review, tmp_path / "t.xlsx", actor="alice").values_stored == 0
    form = extract.study_form(review, "alice", sid)
    assert {v.field: v.value for v in form.values if not v.arm}["country"] == typed
