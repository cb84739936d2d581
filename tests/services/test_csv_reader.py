"""Tests for services.common.read_csv_rows, the one reader of every CSV a user hands in."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.services.common import read_csv_rows

COLUMNS = ("id", "name", "note")


def _read(tmp_path: Path, text: str, *, newline: str = "\n") -> list[tuple[int, dict[str, str]]]:
    f = tmp_path / "in.csv"
    f.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return read_csv_rows(f, ("id", "name"), COLUMNS, multiline=("note",))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_rows_carry_the_line_they_start_on(tmp_path: Path, newline: str) -> None:
    """A quoted note over three lines and a blank line count as the lines they take in the file,
    whichever line ends it uses (the note's own line breaks read as \\n)."""
    rows = _read(tmp_path, 'id,name,note\n1,a,"one\ntwo\nthree"\n\n2,b,\n3,"c, d",x\n', newline=newline)
    assert [(line, row["id"], row["name"]) for line, row in rows] == [(2, "1", "a"), (6, "2", "b"), (7, "3", "c, d")]
    assert rows[0][1]["note"] == "one\ntwo\nthree"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the quote opens on line 5, after a row whose note rightly runs over two lines
        ('id,name,note\n1,a,"x\ny"\n2,b,\n3,"open,\n4,d,\n5,e,\n',
         r"in\.csv, line 5: a quote opened on this line is never closed \(it runs to the end of the file, line 7\)"),
        # the row starts on line 2, its note's quote (never closed) opens on line 3
        ('id,name,note\n1,"a\nb","\n2,b,\n', r"line 3: a quote opened on this line is never closed"),
        # in the header
        ('id,"name,note\n1,a,\n', r"line 1: a quote opened on this line is never closed"),
        # opened on line 2, "closed" by the first quote of line 3, which text follows
        ('id,name,note\n1,a,"open\n2,"b",\n', r"line 2: broken CSV quoting: the quoted field opened on this line "
                                              r"closes on line 3"),
        ('id,name,note\n1,"a"b,\n', r"line 2: broken CSV quoting: text follows the closing quote"),
        ('id,name,note\n1,a\n', r"line 2: row has 2 fields but the header has 3"),
        ('id,name,note\n1,a,,x\n', r"line 2: row has 4 fields but the header has 3"),
        # a line break outside the note: a quote left open and closed rows later
        ('id,name,note\n1,"a\n2",\n', r"line 2: the name field runs over several lines"),
        ('id,name,note\n1,a,\n2,b\x00,\n', r"line 3: a NUL character \(binary data\) at column 4"),
        ("id,note\n1,x\n", r"line 1: missing column: name \(expected: id, name, note; the file has: id, note\)"),
    ],
)
def test_broken_files_are_refused_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    """Each problem names the file and the line it is on; the reader returns nothing for such a file."""
    with pytest.raises(ParseError, match=message) as info:
        _read(tmp_path, text)
    assert str(tmp_path / "in.csv") in str(info.value)


def test_empty_trailing_fields_and_a_bom_are_fine(tmp_path: Path) -> None:
    """A spreadsheet's trailing commas and a UTF-8 BOM before the header are not errors."""
    f = tmp_path / "in.csv"
    f.write_bytes("\ufeffid, name ,note\n1,a,n,,\n".encode())
    assert read_csv_rows(f, ("id", "name"), COLUMNS) == [(2, {"id": "1", "name": "a", "note": "n"})]


def test_a_quote_left_open_in_a_long_file_is_named_by_its_line(tmp_path: Path) -> None:
    """csv gives up at its field size limit (128 KiB) long before the end: the error still names the
    line the quote opened on and the file's last line, not csv's complaint."""
    rows = "".join(f"{i},name {i},a note of some length\n" for i in range(3, 8000))
    with pytest.raises(ParseError, match=r"line 3: a quote opened on this line is never closed \(it runs to the "
                                         r"end of the file, line 8000\)"):
        _read(tmp_path, 'id,name,note\n1,a,\n2,b,"open\n' + rows)


def test_a_column_named_twice_is_refused_on_line_1(tmp_path: Path) -> None:
    """`a,b,b`: the row's dict kept only the second b's value, and the first was silently lost."""
    with pytest.raises(ParseError, match=r"in\.csv, line 1: column named more than once: name"):
        _read(tmp_path, "id,name,name\n1,a,b\n")


@pytest.mark.parametrize("blank", [",,", "  ", " , ,\t", ",,,,,"])
def test_rows_of_blank_fields_are_skipped(tmp_path: Path, blank: str) -> None:
    """A spreadsheet's empty rows (",,", a line of spaces) are no data, for every import alike; they
    were read as a row of empty fields (or refused as too short) and the lines after keep their numbers."""
    rows = _read(tmp_path, f"id,name,note\n1,a,\n{blank}\n2,b,\n")
    assert [(line, row["id"]) for line, row in rows] == [(2, "1"), (4, "2")]


@pytest.mark.parametrize("text", ["", "\ufeff"])
def test_an_empty_file_says_so(tmp_path: Path, text: str) -> None:
    """Not "missing columns: id, name", which sends the user looking for a typo in a header."""
    with pytest.raises(ParseError, match=r"in\.csv, line 1: the file is empty"):
        _read(tmp_path, text)


def test_unnamed_trailing_header_columns_are_ignored(tmp_path: Path) -> None:
    """`id,name,note,,` (a spreadsheet's extra columns) with rows of three fields: they were refused
    as rows of 3 fields against a header of 5; longer rows with blank extras still read."""
    rows = _read(tmp_path, "id,name,note,,\n1,a,x\n2,b,,,\n")
    assert rows == [(2, {"id": "1", "name": "a", "note": "x"}), (3, {"id": "2", "name": "b", "note": ""})]


def test_a_capitalised_header_reads_as_the_columns_it_names(tmp_path: Path) -> None:
    """`ID,Name,NOTE` (a spreadsheet's header) was refused as missing id and name; "Id" and "id" both
    given are still one column named twice, and a column the reader does not know keeps its own case."""
    assert _read(tmp_path, "ID,Name,NOTE,Extra\n1,a,x,y\n") == [
        (2, {"id": "1", "name": "a", "note": "x", "Extra": "y"})]
    with pytest.raises(ParseError, match=r"line 1: column named more than once: id"):
        _read(tmp_path, "Id,id,name\n1,2,a\n")
