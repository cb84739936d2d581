"""Tests that a text file's undecodable byte is named by its own line, with or without a UTF-8 BOM."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records
from reviewkit.sources.formats._text import numbered_lines

GOOD = b"TY  - JOUR\nTI  - ok \xc3\xa9t\xc3\xa9\nER  - \n"


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_a_mixed_file_is_refused_at_its_bad_line_with_or_without_a_bom(tmp_path: Path, bom: bytes) -> None:
    """UTF-8 records then one Windows-1252 byte on line 11: the BOM file was refused at line 1."""
    path = tmp_path / "m.ris"
    path.write_bytes(bom + GOOD * 3 + b"TY  - JOUR\nTI  - Caf\xe9\nER  - \n")
    with pytest.raises(ParseError) as caught:
        list(read_records(path))
    assert caught.value.line == 11
    assert "UTF-8 but for bytes that are not" in caught.value.message


def test_a_bom_file_of_mostly_stray_bytes_names_the_line_of_the_first(tmp_path: Path) -> None:
    """After a BOM, Windows-1252 text well past the stream's first buffer: refused at its own line, not at
    the first line of the buffer the stream was decoding."""
    path = tmp_path / "w.ris"
    records = b"".join(b"TY  - JOUR\nTI  - Record %d\nER  - \n" % i for i in range(3000))
    path.write_bytes(codecs.BOM_UTF8 + records + b"TY  - JOUR\nTI  - Caf\xe9 cr\xe8me\nER  - \n")
    with pytest.raises(ParseError) as caught:
        list(read_records(path))
    assert caught.value.line == 3 * 3000 + 2
    assert "not valid utf-8 text" in caught.value.message


@pytest.mark.parametrize(("encoding", "data", "line"), [
    ("utf-8", b"ok\n" * 9000 + b"bad \xe9\nmore\n", 9001),
    ("utf-8", b"ok\r\n" * 3 + b"bad \xe9\nmore\n", 4),
    ("utf-8", b"ok\r" * 3 + b"bad \xe9\rmore\r", 4),
    ("utf-16", "ab\n".encode("utf-16") + "cd\n".encode("utf-16-le") * 3 + b"\x00\xd8A\x00", 5),
])
def test_numbered_lines_names_the_line_of_the_undecodable_byte(encoding: str, data: bytes, line: int) -> None:
    """The line reported is the bad byte's, whatever the line ends and however far into the file."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding)
    with pytest.raises(ParseError) as caught:
        list(numbered_lines(stream, file="f.ris"))
    assert caught.value.line == line
