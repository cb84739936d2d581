"""Encodings and line endings: real files converted in the test import exactly like the originals."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from reviewkit.sources.formats import read_records
from reviewkit.sources.formats._text import sniff_encoding

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def _convert(source: Path, target: Path, encoding: str, *, bom: bytes = b"", crlf: bool = False) -> Path:
    text = source.read_text(encoding="utf-8-sig")
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    target.write_bytes(bom + text.encode(encoding))
    return target


def _comparable(records: list) -> list[tuple]:
    """Everything a reader derives, without raw (line ends differ by design in CRLF copies)."""
    return [(r.title, r.authors, r.abstract, r.journal, r.year, r.doi, r.pmid, r.keywords) for r in records]


CONVERSIONS = [
    ("synthesisr/ASP_ris_example.ris", "utf-16-le", codecs.BOM_UTF16_LE),
    ("synthesisr/ASP_ris_example.ris", "utf-16-be", codecs.BOM_UTF16_BE),
    ("synthesisr/ASP_ris_example.ris", "utf-8", codecs.BOM_UTF8),
    ("entrez_synthesisr/PubMed_medline_example.nbib", "latin-1", b""),
    ("entrez_synthesisr/PubMed_medline_example.nbib", "utf-16-le", codecs.BOM_UTF16_LE),
    ("asreview/embase.csv", "cp1252", b""),
    ("asreview/embase.csv", "utf-16-le", codecs.BOM_UTF16_LE),
    ("bibtexparser/encoding.bib", "cp1252", b""),
]


@pytest.mark.parametrize(
    ("name", "encoding", "bom", "crlf"),
    [(*case, crlf) for case in CONVERSIONS for crlf in (False, True)]
    # XML declares its own encoding and ignores line ends: one plain copy is enough.
    + [("asysd_spaniels/mendeley_export.xml", "utf-8", b"", False)],
)
def test_converted_file_reads_like_the_original(
    tmp_path: Path, name: str, encoding: str, bom: bytes, crlf: bool
) -> None:
    """A real export re-encoded (UTF-16 LE/BE, BOM, Latin-1, Windows-1252) and/or CRLF gives the same records."""
    source = REFS / name
    copy = _convert(source, tmp_path / f"copy{source.suffix}", encoding, bom=bom, crlf=crlf)
    original = list(read_records(source))
    converted = list(read_records(copy))
    assert _comparable(converted) == _comparable(original)
    assert any(any(ord(c) > 127 for c in r.title + "".join(r.authors) + r.abstract + r.journal) for r in converted)


def test_windows_1252_ris_with_curly_quotes(tmp_path: Path) -> None:
    """A Windows-1252 RIS record (curly quotes, accents) decodes to the same text as the UTF-8 one."""
    text = (REFS / "synthesisr" / "ASP_ris_example.ris").read_text(encoding="utf-8")
    first = text[: text.index("ER  -") + len("ER  -")] + "\r\n"
    path = tmp_path / "one.ris"
    path.write_bytes(first.encode("cp1252"))
    assert sniff_encoding(path) == "cp1252"
    record = next(read_records(path))
    assert record.title.startswith("“Living on the edge”")
    assert record.authors[0] == "Rodríguez-Pastor, Ruth"


def test_late_latin1_byte_is_not_a_utf8_error(tmp_path: Path) -> None:
    """A Latin-1 accent deep in a file (past any sniffing window) still decodes; nothing is lost."""
    block = (REFS / "rispy" / "example_basic.ris").read_text()
    path = tmp_path / "late.ris"
    path.write_bytes((block * 2000).encode() + "TY  - JOUR\nTI  - Café\nER  - \n".encode("latin-1"))
    records = list(read_records(path))
    assert len(records) == 2001
    assert records[-1].title == "Café"


def test_sniff_encoding_kinds(tmp_path: Path) -> None:
    """BOMs decide first; then UTF-8 over the whole file; then Windows-1252; then Latin-1."""
    cases = {
        b"\xef\xbb\xbfTY  - JOUR": "utf-8-sig",
        b"\xff\xfeT\x00Y\x00": "utf-16",
        b"T\x00Y\x00 \x00 \x00": "utf-16-le",
        "TY  - Müller".encode(): "utf-8",
        "TY  - Müller “x”".encode("cp1252"): "cp1252",
        b"TY  - \x81\x8d": "latin-1",  # bytes Windows-1252 leaves undefined
    }
    for data, expected in cases.items():
        path = tmp_path / "x"
        path.write_bytes(data)
        assert sniff_encoding(path) == expected
