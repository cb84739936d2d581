"""Tests that an undecodable byte is named by its own line whatever ends the lines: LF, CRLF or CR alone
(old Mac exports). The mixed-encoding check counted only LF, so a CR-only file was refused "at line 1"
whatever line held the byte; the stream's guess was a line early when its 8 KiB buffer ended on a CR."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records

ENDS = pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
#: UTF-8 text (well-formed multi-byte sequences), so one stray Windows-1252 byte makes a mixed file.
UTF8_TITLE = "TI  - Eczéma atopique à München".encode()
#: How much a text stream decodes at once (io.TextIOWrapper's chunk): the line end that falls on its
#: last byte is where the guess from the failed buffer went wrong.
STREAM_CHUNK = 8192
#: How much the mixed-encoding check reads at once (_text._CHUNK).
CHECK_CHUNK = 1 << 20


def _refused_line(path: Path) -> ParseError:
    with pytest.raises(ParseError) as caught:
        list(read_records(path))
    return caught.value


@ENDS
@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["no-bom", "bom"])
def test_a_mixed_file_names_the_line_of_its_stray_byte(tmp_path: Path, end: bytes, bom: bytes) -> None:
    """UTF-8 records and one Windows-1252 "é" on line 7."""
    lines = [b"TY  - JOUR", UTF8_TITLE, b"ER  - ", b"TY  - JOUR", UTF8_TITLE, b"AU  - Smith, J",
             b"AU  - M\xe9ller, K", b"ER  - "]
    path = tmp_path / "mixed.ris"
    path.write_bytes(bom + end.join(lines) + end)
    refused = _refused_line(path)
    assert "UTF-8 but for bytes that are not" in refused.message
    assert refused.line == 7


def _padded(end: bytes, upto: int, head: bytes = b"") -> tuple[bytearray, int]:
    """RIS lines whose last line end finishes exactly at byte `upto`, and how many lines they are."""
    out = bytearray(head + b"TY  - JOUR" + end)
    lines = 1
    while (room := upto - len(out)) > 0:
        # 80-byte title lines, the last one cut to fit (never shorter than its tag).
        width = 80 if room >= 80 + 20 else room
        out += b"TI  - " + b"x" * (width - 6 - len(end)) + end
        lines += 1
    assert len(out) == upto
    return out, lines


@ENDS
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_stream_names_the_line_of_its_bad_byte_past_its_first_buffer(
        tmp_path: Path, end: bytes, shift: int) -> None:
    """A BOM, then mostly Windows-1252 bytes (not a mixed file: the stream meets them); a line end falls on,
    just before or just after the end of the stream's first buffer, and the next line holds the byte."""
    data, lines = _padded(end, STREAM_CHUNK + shift, codecs.BOM_UTF8)
    data += b"AU  - M\xe9ller, K\xe9\xe9" + end + b"ER  - " + end
    path = tmp_path / "stream.ris"
    path.write_bytes(bytes(data))
    refused = _refused_line(path)
    assert "not valid utf-8 text" in refused.message
    assert refused.line == lines + 1


@ENDS
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_mixed_file_counts_line_ends_across_its_reads(tmp_path: Path, end: bytes, shift: int) -> None:
    """A line end on the last byte of the check's first read (a CRLF then cut in two is one line end)."""
    data, lines = _padded(end, CHECK_CHUNK + shift)
    data += UTF8_TITLE + end + b"AU  - M\xe9ller, K" + end + b"ER  - " + end
    path = tmp_path / "big.ris"
    path.write_bytes(bytes(data))
    refused = _refused_line(path)
    assert "UTF-8 but for bytes that are not" in refused.message
    assert refused.line == lines + 2


@ENDS
def test_a_csv_names_the_line_of_a_bad_byte_past_the_encoding_check(tmp_path: Path, end: bytes) -> None:
    """The CSV reader decodes past the part the encoding check read; its error named line 1, or the line
    after the last row the csv module had finished, not the row holding the byte."""
    rows = [b"id,title,year"]
    while sum(len(r) + len(end) for r in rows) < CHECK_CHUNK + STREAM_CHUNK:
        rows.append(b"%d,Plain ASCII title of row %d,2020" % (len(rows), len(rows)))
    rows += [b"%d,Caf\xc3\xa9 au lait,2021" % len(rows), b"%d,M\xe9ller in Windows-1252,2022" % (len(rows) + 1)]
    path = tmp_path / "late.csv"
    path.write_bytes(end.join(rows) + end)
    refused = _refused_line(path)
    assert refused.line == len(rows)
