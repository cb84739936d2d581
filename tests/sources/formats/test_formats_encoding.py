"""Encodings and line endings: real files converted in the test import exactly like the originals."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
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


def test_utf8_with_a_windows_1252_byte_is_refused_at_its_line(tmp_path: Path) -> None:
    """A UTF-8 file with one Windows-1252 byte (text pasted from another file) is refused at the line of that
    byte: read whole as Windows-1252, "München" would silently become "MÃ¼nchen"."""
    path = tmp_path / "mixed.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - Eczema in M\xc3\xbcnchen\nER  - \n\nTY  - JOUR\nTI  - Caf\xe9\nER  - \n")
    with pytest.raises(ParseError) as caught:
        list(read_records(path))
    assert caught.value.line == 6 and str(path) in str(caught.value)
    assert "UTF-8" in caught.value.message and "save the whole file again as UTF-8" in (caught.value.hint or "")


def test_windows_1252_with_accents_alone_still_reads(tmp_path: Path) -> None:
    """The refusal needs a well-formed UTF-8 sequence beside the bad byte: plain Windows-1252 accents
    (é, ü, ’ and – next to letters) read as before."""
    path = tmp_path / "w.ris"
    path.write_bytes("TY  - JOUR\nTI  - Caf\u00e9 in M\u00fcnchen \u2013 l\u2019\u00e9t\u00e9\nER  - \n".encode("cp1252"))
    (record,) = [r for r in read_records(path)]
    assert record.title == "Caf\u00e9 in M\u00fcnchen \u2013 l\u2019\u00e9t\u00e9"


def test_a_stray_byte_at_the_very_end_is_refused_too(tmp_path: Path) -> None:
    """The last byte, a Windows-1252 é with no line end after it, is a cut-off UTF-8 sequence: refused at its
    line as one in the middle is (it was read whole as Windows-1252, "München" becoming "MÃ¼nchen")."""
    path = tmp_path / "end.csv"
    path.write_bytes(b"Title,Year\nM\xc3\xbcnchen study,2020\nZ\xc3\xbcrich study,2021\nCaf\xe9")
    with pytest.raises(ParseError) as caught:
        list(read_records(path))
    assert caught.value.line == 4


@pytest.mark.parametrize(("fmt", "body"), [
    ("endnote_xml", '<?xml version="1.0" encoding="U-F-8"?><xml><records><record><titles><title>A</title>'
                    "</titles></record></records></xml>"),
    ("pubmed_xml", '<?xml version="1.0" encoding="U-F-8"?><PubmedArticleSet></PubmedArticleSet>'),
])
def test_an_xml_declaration_naming_an_unknown_encoding_is_a_parse_error(tmp_path: Path, fmt: str, body: str) -> None:
    """A damaged declaration (found by the property test: "UTF-8" with a byte changed) made expat raise
    LookupError, a traceback: it is a ParseError naming the file and line 1."""
    path = tmp_path / "damaged.xml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ParseError, match="the XML declaration names an encoding Python does not know") as caught:
        list(read_records(path, format=fmt))
    assert caught.value.line == 1 and str(path) in str(caught.value)
