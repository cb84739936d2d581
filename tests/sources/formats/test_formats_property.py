"""Property: any truncation or mutation of a real export yields records or ParseError, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"
SOURCES = {
    "ris": (REFS / "asreview" / "pubmed_endnote.txt").read_bytes(),
    "ris_bom_crlf": (REFS / "asysd_spaniels" / "scopus.ris").read_bytes()[:20000],
    "medline": (REFS / "entrez_biopython" / "medline_pubmed_result2.txt").read_bytes(),
    "wos": (REFS / "synthesisr" / "WoS_txt_example.txt").read_bytes(),
    "csv": (REFS / "colrev" / "pubmed_export_chatbot.csv").read_bytes(),
    "bibtex": (REFS / "bibtexparser" / "multiple_entries_and_comments.bib").read_bytes(),
    "endnote_xml": (REFS / "asysd_spaniels" / "zotero_export.xml").read_bytes()[:6000],
}
FORMAT = {k: k for k in SOURCES} | {"ris_bom_crlf": "ris"}


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real file, cut short and/or with bytes deleted, replaced or inserted."""
    key = draw(st.sampled_from(sorted(SOURCES)))
    data = bytearray(SOURCES[key])
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "delete", "insert", "replace"]))
        if action == "cut":
            del data[where:]
        elif action == "delete":
            del data[where : where + draw(st.integers(1, 200))]
        elif action == "insert":
            data[where:where] = draw(st.one_of(
                st.binary(max_size=20),
                st.sampled_from([b"\nER  - \n", b"\nTY  - JOUR\n", b"\nPMID- 1\n", b"\n\n", b"\nPT J\n", b"\r"]),
            ))
        elif where < len(data):
            data[where] = draw(st.integers(0, 255))
        if not data:
            break
    return key, bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_file_gives_records_or_parse_error(case: tuple[str, bytes]) -> None:
    """Reading never raises anything but ParseError, and what it yields are Records."""
    key, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.txt"
        path.write_bytes(data)
        for fmt in (FORMAT[key], None):
            try:
                records = list(read_records(path, format=fmt))
            except ParseError as error:
                assert error.file == str(path)
                continue
            assert all(isinstance(r, Record) for r in records)
            if fmt is not None:  # detection may judge damaged content to be another format
                assert all(r.format == fmt for r in records)
