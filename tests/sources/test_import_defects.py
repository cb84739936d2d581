"""Importer refusals: malformed ClinicalTrials.gov JSON, empty records, unbalanced BibTeX."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ParseError
from reviewkit.services.identify import _read_ctgov_json
from reviewkit.sources.formats import read_records

GOOD = {"studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "Tést"},
                                         "statusModule": {"startDateStruct": {"date": "2019-01"}}}}]}


def _ctgov(tmp_path: Path, data: bytes) -> list[object]:
    path = tmp_path / "s.json"
    path.write_bytes(data)
    return list(_read_ctgov_json(path))


@pytest.mark.parametrize(("data", "match"), [
    (json.dumps(GOOD, ensure_ascii=False).encode().replace("é".encode(), b"\xff"), r"s\.json, line 1: bytes"),
    (b'{"studies": [1, 2]}', r"study 1: a number \(1\), not a study object"),
    (json.dumps(GOOD).replace('{"startDateStruct": {"date": "2019-01"}}', '"RECRUITING"').encode(),
     r"study 1: NCT01234567: protocolSection\.statusModule is a string"),
    (json.dumps(GOOD).replace('"2019-01"', "2019").encode(),
     r"NCT01234567: protocolSection\.statusModule\.startDateStruct\.date is a number \(2019\)"),
    (b'{"studies": ' + b"[" * 200_000, "nested more than"),
    (bytes(range(256)) * 4, "s.json"),
])
def test_malformed_ctgov_json_is_refused(tmp_path: Path, data: bytes, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        _ctgov(tmp_path, data)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_ctgov_json_in_utf16_or_with_bom_reads(tmp_path: Path, encoding: str) -> None:
    (record,) = _ctgov(tmp_path, json.dumps(GOOD, ensure_ascii=False).encode(encoding))
    assert record.title == "Tést" and record.year == 2019  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "text", "kept"), [
    ("a.csv", "Title,Authors,Year\r\nA,Smith,2020\r\n,,\r\n,,\r\n", 1),
    ("a.csv", "title,notes\n,hello\n", 1),
    ("a.ris", "TY  - JOUR\nER  - \n\nTY  - JOUR\nN1  - a note\nER  - \n", 1),
    ("a.xml", '<?xml version="1.0"?><xml><records><record><foo/></record>'
              "<record><titles><title>X</title></titles></record></records></xml>", 1),
])
def test_empty_records_are_blank(tmp_path: Path, name: str, text: str, kept: int) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert sum(not r.is_blank for r in read_records(path)) == kept


def test_import_skips_and_counts_empty_records(tmp_path: Path) -> None:
    runner = CliRunner()
    review = tmp_path / "R"
    assert runner.invoke(cli, ["init", str(review)]).exit_code == 0
    csv = tmp_path / "a.csv"
    csv.write_bytes(b"Title,Authors,Year\r\nA,Smith,2020\r\n,,\r\n,,\r\n")
    bad = tmp_path / "bad.json"
    bad.write_text('{"studies": [1]}', encoding="utf-8")
    ris = tmp_path / "b.ris"
    ris.write_text("TY  - JOUR\nTI  - Two\nER  - \n", encoding="utf-8")
    result = runner.invoke(cli, ["-C", str(review), "import", str(csv), str(bad), str(ris)])
    assert result.exit_code == 1
    assert "a.csv: 1 record from" in result.output and "2 empty records skipped" in result.output
    assert "b.ris: 1 record from" in result.output
    assert "1 of 3 files not imported: bad.json" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("text", "line", "match"), [
    ("@article{a,\n  title = {Too many}}},\n  year = {2020}\n}\n", 2, "closing brace too many"),
    ("@article{a,\n  title = {Too many}},\n  year = {2020}\n}\n", 2, "closing brace too many"),
    ("@article{a,\n  title = {ok}\n  year = {2020}\n}\n", 3, "no comma before the field 'year'"),
    ("@article{a,\n  title = \"ok\"\n  year = 2020\n}\n", 3, "no comma before the field 'year'"),
])
def test_malformed_bibtex_is_refused(tmp_path: Path, text: str, line: int, match: str) -> None:
    path = tmp_path / "a.bib"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=rf"a\.bib, line {line}: .*{match}"):
        list(read_records(path))


def test_bibtex_field_given_twice_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "a.bib"
    path.write_text("@article{a,\n  title = {First},\n  title = {Second},\n  year = 2020, month = jan,\n}\n",
                    encoding="utf-8")
    (record,) = read_records(path)
    assert (record.title, record.year) == ("First", 2020)
