"""Tests for where a full text is recorded: a path inside the review folder is stored relative to it (the
folder can move), a URL no browser could open is refused, a path with no file there is said at once, and
the audit keeps who changed the status, when, and the note saying why a report was not retrieved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen_cards, screen_full_text
from reviewkit.services.audit import read_audit
from reviewkit.services.project import Review, open_review
from tests.factories import add_records_at_full_text


def test_a_path_inside_the_folder_is_stored_relative_so_the_folder_can_move(review: Review, tmp_path: Path) -> None:
    """An absolute path into the review folder (as a file dialog or tab completion gives it) was stored as
    typed, so the full texts were lost once the folder moved or a colleague opened it elsewhere."""
    (rid,) = add_records_at_full_text(review, 1)
    pdf = review.folder / "full texts" / "trial 1.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.4\n")
    stored = screen_full_text.set_full_text(review, "alice", rid, "retrieved", location=f"  {pdf}  ")
    assert stored == "full texts/trial 1.pdf"
    card = screen_cards.record_card(review, "alice", rid, "ft")
    assert card.full_text_location == "full texts/trial 1.pdf"
    if review.engine.dialect.name != "sqlite":
        return  # the database is elsewhere; the folder's move below is a SQLite review's
    review.engine.dispose()
    moved = shutil.move(review.folder, tmp_path / "moved review")
    review = open_review(Path(moved))
    try:
        where = screen_full_text.resolve_location(
            screen_cards.record_card(review, "alice", rid, "ft").full_text_location or "", review.folder)
        assert Path(where).read_bytes() == b"%PDF-1.4\n"
        assert screen_full_text.missing_file(review, "full texts/trial 1.pdf") is None
    finally:
        review.engine.dispose()


def test_a_path_through_a_link_in_the_folder_stays_inside_it(review: Review, tmp_path: Path) -> None:
    """The folder's pdfs is a link to a shared store: the path through it is the folder's, not the store's."""
    (rid,) = add_records_at_full_text(review, 1)
    shared = tmp_path / "shared store"
    shared.mkdir()
    (shared / "a.pdf").write_bytes(b"%PDF")
    (review.folder / "pdfs").symlink_to(shared, target_is_directory=True)
    stored = screen_full_text.set_full_text(review, "alice", rid, "retrieved", location=str(review.folder / "pdfs/a.pdf"))
    assert stored == "pdfs/a.pdf" and screen_full_text.missing_file(review, stored) is None


def test_a_path_outside_the_folder_and_a_url_are_kept_as_given(review: Review, tmp_path: Path) -> None:
    a, b = add_records_at_full_text(review, 2)
    outside = tmp_path / "elsewhere.pdf"
    assert screen_full_text.set_full_text(review, "alice", a, "retrieved", location=str(outside)) == str(outside)
    url = "https://example.org/papers/a.pdf?download=1"
    assert screen_full_text.set_full_text(review, "alice", b, "retrieved", location=url) == url


@pytest.mark.parametrize("url", ["https://", "htps://example.org/a.pdf", "https://example.org/my paper.pdf"])
def test_a_url_no_browser_could_open_is_refused(review: Review, url: str) -> None:
    """Stored, it only failed (or opened a browser on nothing) when someone pressed o."""
    (rid,) = add_records_at_full_text(review, 1)
    with pytest.raises(ReviewkitError, match="not a URL a browser can open"):
        screen_full_text.set_full_text(review, "alice", rid, "retrieved", location=url)
    assert screen_cards.record_card(review, "alice", rid, "ft").full_text_status is None


def test_the_cli_stores_relative_and_warns_of_a_missing_file(review: Review) -> None:
    (rid,) = add_records_at_full_text(review, 1)
    runner = CliRunner()
    base = ["-C", str(review.folder), "--reviewer", "alice", "full-text", str(rid), "retrieved", "--location"]
    result = runner.invoke(cli, [*base, str(review.folder / "pdfs" / "a.pdf")])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"record {rid}: full text retrieved (pdfs/a.pdf)\n"
    assert f"warning: no file at {review.folder / 'pdfs' / 'a.pdf'} yet" in result.stderr
    (review.folder / "pdfs").mkdir()
    (review.folder / "pdfs" / "a.pdf").write_bytes(b"%PDF")
    result = runner.invoke(cli, [*base, "pdfs/a.pdf"])
    assert result.exit_code == 0 and result.stderr == ""


def test_the_audit_keeps_who_when_and_why_not_retrieved(review: Review) -> None:
    (rid,) = add_records_at_full_text(review, 1)
    screen_full_text.set_full_text(review, "alice", rid, "sought")
    screen_full_text.set_full_text(review, "bob", rid, "not_retrieved", note="authors did not reply")
    screen_full_text.set_full_text(review, "alice", rid, "retrieved", location="pdfs/a.pdf", note="sent by the authors")
    events = [e for e in read_audit(review, "alice", record_id=rid) if e.entity == "full_text"]
    assert [(e.actor, e.new["status"], e.new["note"]) for e in events] == [
        ("alice", "sought", None), ("bob", "not_retrieved", "authors did not reply"),
        ("alice", "retrieved", "sent by the authors")]
    assert events[2].old == {"status": "not_retrieved", "location": None, "note": "authors did not reply"}
    assert events[0].at <= events[1].at <= events[2].at


def test_what_reads_as_a_location_and_what_as_a_note(tmp_path: Path) -> None:
    """The status picker offers retrieved for a URL, a path by its start or document suffix, or a file
    that is there; a note (even one with a slash) is offered nothing."""
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "42").write_bytes(b"%PDF-1.4")
    reads = {text: screen_full_text.looks_like_location(text, tmp_path) for text in (
        "https://doi.org/10.1000/xyz", "pdfs/a b.pdf", "Article.HTML", "~/papers/7", "../shared/7", "C:\\papers\\7",
        "papers/42", "papers/43", "asked the library/author", "n/a", "requested by interlibrary loan", "  ")}
    assert [text for text, location in reads.items() if location] == [
        "https://doi.org/10.1000/xyz", "pdfs/a b.pdf", "Article.HTML", "~/papers/7", "../shared/7", "C:\\papers\\7",
        "papers/42"]
