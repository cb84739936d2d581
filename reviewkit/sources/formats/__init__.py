"""Provides read_records and detect_format: streaming import of bibliographic files into Records.

The import service calls these; each reader yields Records one at a time and raises ParseError
(file, line, what was wrong) the moment a file proves malformed, so the caller can roll back.
A problem that does not make the file malformed (a year field reading "in press", an untagged
line after a RIS code field) is a ParseNote appended to the `notes` list the caller passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.sources.formats._text import open_text
from reviewkit.sources.formats.detect import FORMATS, IMPORT_FORMATS, detect_format
from reviewkit.sources.formats.notes import ParseNote

__all__ = ["FORMATS", "ParseNote", "detect_format", "read_records"]


def check_column_map(format: str, column_map: object, name: str) -> None:
    """Refuse `--map` for a file that is not CSV (the importer asks too, for ClinicalTrials.gov JSON,
    which it reads without read_records)."""
    if column_map is not None and format != "csv":
        raise ParseError(f"--map applies to CSV files only, this file is {IMPORT_FORMATS[format]}", file=name)


def read_records(
    path: Path,
    *,
    format: str | None = None,
    column_map: Mapping[str, str] | None = None,
    notes: list[ParseNote] | None = None,
) -> Iterator[Record]:
    """Yield the records of a bibliographic file one by one, in file order.

    `format` overrides detection (one of FORMATS); `column_map` ({our_field: their_column})
    names CSV columns the reader does not know. Raises ParseError on a malformed file,
    possibly after some records were yielded: consume it inside one transaction. `notes`, when
    given, receives a ParseNote (file, line, field, message) for each record problem that does
    not refuse the file; the records are stored as they are (their raw text keeps everything).
    """
    path = Path(path)
    name = str(path)
    if format is None:
        format = detect_format(path)
    elif format not in FORMATS:
        raise ParseError(
            f"unknown format {format!r}", file=name, hint=f"choose one of: {', '.join(FORMATS)}"
        )
    check_column_map(format, column_map, name)
    if not path.is_file():
        raise ParseError("no such file", file=name)
    return _read(path, format, column_map, name, notes)


def _read(
    path: Path, format: str, column_map: Mapping[str, str] | None, name: str,
    notes: list[ParseNote] | None,
) -> Iterator[Record]:
    """Open the file the way its reader needs and yield from that reader (imported lazily)."""
    if format in ("pubmed_xml", "endnote_xml"):
        with path.open("rb") as binary:
            if format == "pubmed_xml":
                from reviewkit.sources.formats.pubmed_xml import iter_pubmed_xml

                yield from iter_pubmed_xml(binary, file=name, notes=notes)
            else:
                from reviewkit.sources.formats.endnote_xml import iter_endnote_xml

                yield from iter_endnote_xml(binary, file=name, notes=notes)
        return
    if format == "csv":
        from reviewkit.sources.formats.csv import iter_csv

        with open_text(path, newline="") as stream:
            yield from iter_csv(stream, file=name, column_map=column_map, notes=notes)
        return
    with open_text(path) as stream:
        if format == "ris":
            from reviewkit.sources.formats.ris import iter_ris as reader
        elif format == "medline":
            from reviewkit.sources.formats.medline import iter_medline as reader
        elif format == "bibtex":
            from reviewkit.sources.formats.bibtex import iter_bibtex as reader
        elif format == "wos":
            from reviewkit.sources.formats.wos import iter_wos as reader
        else:
            from reviewkit.sources.formats.endnote_tagged import iter_endnote_tagged as reader
        yield from reader(stream, file=name, notes=notes)
