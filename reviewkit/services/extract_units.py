"""Provides the extraction table's unit cells, as the export writes them and the import checks them.

An outcome's protocol `unit` goes in the row's `unit` column (its statistics are in it); a study or arm
field's in a column of its own after the field's (`study.duration.unit`, `arm.dose_mg.unit`), as a row
holds several fields, each with its unit, besides its outcome. The cells are informative, never stored:
an import refuses a unit the protocol does not give, as the value would be stored as if in the
protocol's unit, and takes an empty cell (a table written before the column, or by hand).
"""

from __future__ import annotations

from collections.abc import Mapping

from reviewkit.protocol import Extraction

#: What ends a field's unit column: the field's column, then this. Field names cannot hold a dot, so the
#: column cannot be another field's.
UNIT_SUFFIX = ".unit"


def field_units(extraction: Extraction) -> dict[str, str]:
    """Each field column of the table ("arm.dose_mg", "study.duration") with its protocol unit ("" for none)."""
    return {**{f"arm.{f.name}": f.unit or "" for f in extraction.arm_fields},
            **{f"study.{f.name}": f.unit or "" for f in extraction.fields}}


def field_columns(extraction: Extraction) -> list[str]:
    """The field columns in table order, each field with a unit followed by its unit column."""
    out: list[str] = []
    for column, unit in field_units(extraction).items():
        out += [column, column + UNIT_SUFFIX] if unit else [column]
    return out


def unit_cells(extraction: Extraction, row: Mapping[str, str]) -> dict[str, str]:
    """The unit cells of a row's fields that have a value there and a unit in the protocol."""
    return {column + UNIT_SUFFIX: unit for column, unit in field_units(extraction).items() if unit and row.get(column)}


def unit_refusal(line: int, column: str, given: str, expected: str, of: str, what: str) -> str:
    """Why the `given` unit in `column` cannot be imported: `of` ("dlqi_change") has the protocol's `expected`."""
    if not expected:
        return (f"line {line}, {column}: '{given}' is not the unit of {of} (the protocol gives it none): "
                "leave the cell empty, or give the field a unit in review.toml")
    return (f"line {line}, {column}: '{given}' is not the unit of {of} (the protocol's is '{expected}'): "
            f"convert {what} to it and write that unit, or leave the cell empty")


def field_unit_problems(extraction: Extraction, cells: Mapping[str, str], line: int) -> list[str]:
    """The row's field unit cells that are not their field's protocol unit (empty cells are fine)."""
    problems = []
    for column, expected in field_units(extraction).items():
        given = cells.get(column + UNIT_SUFFIX, "")
        if given and given != expected:
            kind, name = column.split(".", 1)
            problems.append(unit_refusal(line, column + UNIT_SUFFIX, given, expected, f"{kind} field {name}",
                                         "the value"))
    return problems
