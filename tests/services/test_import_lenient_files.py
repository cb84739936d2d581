"""Tests that real exports the readers once refused or misread now import whole: a RIS file whose last record
lost its ER line (kept, and said in a run note) or that ends with a TY line alone (that empty record skipped,
and said), RIS tags spaced "TY - JOUR", BibTeX with "%" in its values, between its entries and before a field
commented out; and that a file of no known format is still refused with nothing stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from reviewkit.errors import ParseError
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.runs import run_notes, source_runs
from reviewkit.services.status import review_status
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RecordRow
from tests.conftest import FIXTURES

ZOTERO = FIXTURES / "references" / "asreview" / "pubmed_zotero.ris"


def _titles(review: Review) -> list[str]:
    with session_scope(review.engine) as session:
        return sorted(row_to_record(row).title for row in session.exec(select(RecordRow)).all())


def test_a_ris_file_without_its_last_er_imports_whole_with_a_note(review: Review, tmp_path: Path) -> None:
    """The six records of a real export whose final "ER  -" line is gone: all six stored (the import was
    refused whole), and the run keeps the note saying where the ER is missing."""
    text = ZOTERO.read_text(encoding="utf-8").rstrip()
    path = tmp_path / "cut.ris"
    path.write_text(text[: -len("ER  -")], encoding="utf-8")
    summary = import_file(review, path)
    assert summary.records == 6 and review_status(review).identified == 6
    (note,) = summary.notes
    assert (note.file, note.field) == (str(path), "ER") and "has no 'ER  - ' line" in note.message
    (run,) = source_runs(review)
    assert run_notes(review, run.id) == [str(note)]
    titles = _titles(review)
    assert len(titles) == 6 and all(titles)


def test_a_ris_file_cut_after_a_ty_line_stores_the_records_before_it(review: Review, tmp_path: Path) -> None:
    """A real export with a TY line and nothing after it at its end: its six records are stored, the empty one
    is not (it was read as a record, then skipped as empty, while its note said it was kept), and the run keeps
    the note naming the file and that TY line."""
    text = ZOTERO.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    path = tmp_path / "cut.ris"
    path.write_text(text + "TY  - JOUR\n", encoding="utf-8")
    summary = import_file(review, path)
    assert (summary.records, summary.skipped) == (6, 0) and review_status(review).identified == 6
    (note,) = summary.notes
    assert (note.file, note.line, note.field) == (str(path), len(text.splitlines()) + 1, "TY")
    assert "ends with an empty record" in note.message and "cut short" in note.message
    (run,) = source_runs(review)
    assert run_notes(review, run.id) == [str(note)]


def test_bibtex_with_a_commented_out_field_imports(review: Review, tmp_path: Path) -> None:
    """An entry with a field commented out by hand, its braces left open: stored, the field not (it was refused)."""
    path = tmp_path / "commented.bib"
    path.write_text("@article{k1,\n  title = {A trial in 50% of wards},\n%  note = {old note\n  year = {2020}\n}\n",
                    encoding="utf-8")
    assert import_file(review, path).records == 1
    with session_scope(review.engine) as session:
        (row,) = session.exec(select(RecordRow)).all()
        record = row_to_record(row)
    assert (record.title, record.year, record.extra) == ("A trial in 50% of wards", 2020, {})


def test_ris_spaced_one_space_before_the_hyphen_imports(review: Review, tmp_path: Path) -> None:
    path = tmp_path / "spaced.txt"
    path.write_text(re.sub(r"^([A-Z][A-Z0-9])  - ?", r"\1 - ", ZOTERO.read_text(encoding="utf-8"),
                           flags=re.MULTILINE), encoding="utf-8")
    summary = import_file(review, path)
    assert (summary.format, summary.records, summary.notes) == ("ris", 6, ())


def test_bibtex_percent_signs_are_stored_as_text(review: Review, tmp_path: Path) -> None:
    path = tmp_path / "percent.bib"
    path.write_text("% @article{old,\n%   title = {Commented out},\n% }\n"
                    "@article{p1,\n  title = {A 50% reduction in {\\'e}v{\\'e}nements},\n  year = {2020},\n}\n",
                    encoding="utf-8")
    assert import_file(review, path).records == 1
    assert _titles(review) == ["A 50% reduction in événements"]


@pytest.mark.parametrize("text", ["just some notes\nnothing else\n", "PMID- 1\nTI  - A MEDLINE file\n"])
def test_a_file_that_is_not_ris_is_still_refused(review: Review, tmp_path: Path, text: str) -> None:
    path = tmp_path / "notes.ris"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError) as info:
        import_file(review, path, format="ris")
    assert info.value.file == str(path)
    assert review_status(review).identified == 0 and source_runs(review) == []
