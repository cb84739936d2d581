"""Pilot tests for the sources screen: sources and runs listed, imports through the modal, searches with progress."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static
from werkzeug import Request, Response

from reviewkit.errors import ReviewkitError
from reviewkit.services import identify, runs
from reviewkit.services.project import Review
from reviewkit.services.runs import source_runs
from reviewkit.services.search import CTGOV_URL_ENV, PUBMED_URL_ENV
from reviewkit.services.status import review_status
from reviewkit.store import runs as store_runs
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.import_file import ImportFileModal
from reviewkit.tui.modals.text_view import TextViewModal
from reviewkit.tui.screens.sources import SourcesScreen
from reviewkit.tui.widgets.source_tables import RunTable, SourceTable
from tests.conftest import FIXTURES
from tests.factories import add_records
from tests.services.test_search import _ctgov_pages
from tests.sources.conftest import FakePubMed
from tests.tui.rendered import footer_line, line_with, narrow_columns, screen_lines

SIZE = (160, 45)


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages land."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown(app: ReviewkitApp) -> SourcesScreen:
    """The sources screen on top."""
    assert isinstance(app.screen, SourcesScreen)
    return app.screen


def source_row(app: ReviewkitApp, name: str) -> list[str]:
    """A source's row as text: name, kind, query or file, last run, status, found, stored, new, identified."""
    return [str(cell) for cell in shown(app).query_one("#source-list", SourceTable).get_row(name)]


def progressed(seen: list[Message]) -> list[SourcesScreen.JobProgressed]:
    """The progress messages, each once (the test hook can see one message more than once)."""
    return list({id(m): m for m in seen if isinstance(m, SourcesScreen.JobProgressed)}.values())


def notices(seen: list[Message], severity: str) -> list[str]:
    """The notifications shown with a severity."""
    return [m.notification.message for m in seen if isinstance(m, Notify) and m.notification.severity == severity]


async def open_sources(pilot: Pilot[None], app: ReviewkitApp) -> SourcesScreen:
    """Open the screen from the dashboard's key and wait for the listing."""
    await settle(pilot)
    await pilot.press("i")
    await settle(pilot)
    return shown(app)


async def run_search(pilot: Pilot[None], app: ReviewkitApp, key: str) -> None:
    """Open the screen, start a search with its key (p PubMed, t ClinicalTrials.gov) and wait for it."""
    await open_sources(pilot, app)
    await pilot.press(key)
    await settle(pilot)


def job_finished(screen: SourcesScreen, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when the screen's job posts JobFinished: a cancelled thread worker runs on to its next
    progress check, and this tells when it has stopped."""
    finished = threading.Event()
    post = screen.post_message

    def posting(message: Message) -> bool:
        done = post(message)
        if isinstance(message, SourcesScreen.JobFinished):
            finished.set()
        return done

    monkeypatch.setattr(screen, "post_message", posting)
    return finished


async def escape_held_job(pilot: Pilot[None], app: ReviewkitApp, entered: threading.Event,
                          release: threading.Event, finished: threading.Event) -> None:
    """Once the job is held inside its work (`entered`), press escape: the first escape cancels the job and
    does not leave the screen. Then let the job run on (`release`) to its end and settle."""
    assert await asyncio.to_thread(entered.wait, 10)
    screen = shown(app)
    await pilot.press("escape")
    await pilot.pause()
    assert shown(app) is screen
    release.set()
    assert await asyncio.to_thread(finished.wait, 10)
    await settle(pilot)


async def import_through_modal(pilot: Pilot[None], app: ReviewkitApp, path: str, source: str = "") -> None:
    """Press m, fill in the modal, press enter, wait for the import."""
    await pilot.press("m")
    await pilot.pause()
    modal = app.screen
    assert isinstance(modal, ImportFileModal)
    modal.query_one("#import-path", Input).value = path
    modal.query_one("#import-source", Input).value = source
    await pilot.press("enter")
    await settle(pilot)


async def test_sources_and_runs_listed(review: Review) -> None:
    """The protocol's searches show as never run; an import shows its source, file, last run and counts."""
    add_records(review, 3, source="Embase")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sources(pilot, app)
        pubmed = source_row(app, "PubMed")
        assert pubmed[1] == "planned search" and "atopic dermatitis" in pubmed[2] and pubmed[4] == "never run"
        embase = source_row(app, "Embase")
        assert embase[1:3] == ["import", "test.ris"] and embase[4] == "complete" and embase[8] == "3"
        runs = screen.query_one("#run-list", RunTable)
        assert runs.row_count == 1 and str(runs.get_row_at(0)[2]) == "Embase"
        status = str(screen.query_one("#sources-status", Static).render())
        assert "· 1 run" in status and "1 runs" not in status  # a count of 1 is said singular


async def test_import_of_one_record_is_said_singular(review: Review, tmp_path: Path) -> None:
    """A file of one record is "Imported 1 record", not "1 records"."""
    path = tmp_path / "one.ris"
    path.write_text("TY  - JOUR\nTI  - Only paper\nPY  - 2020\nER  - \n", encoding="utf-8")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await open_sources(pilot, app)
        await import_through_modal(pilot, app, str(path), "Embase")
        assert any(n.startswith("Imported 1 record from one.ris (ris) as Embase") for n in notices(seen, "information"))


async def test_import_through_modal_shows_new_count(review: Review) -> None:
    """m opens the modal; the file is imported in a worker and the source's new count is listed."""
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_sources(pilot, app)
        await import_through_modal(pilot, app, str(FIXTURES / "references" / "rispy" / "example_full.ris"), "Embase")
        assert shown(app) is screen
        embase = source_row(app, "Embase")
        assert embase[2] == "example_full.ris" and embase[4] == "complete" and embase[6:] == ["2", "2", "2"]
        assert any("Imported 2 records from example_full.ris (ris) as Embase" in n for n in notices(seen, "information"))
        assert progressed(seen)
        (run,) = source_runs(review)
        assert (run.source, run.started_by, run.record_count) == ("Embase", "alice", 2)
        await import_through_modal(pilot, app, str(FIXTURES / "entrez" / "pubmed1.xml"))
        assert source_row(app, "PubMed")[8] == "2"  # a PubMed XML file is credited to PubMed
        assert review_status(review).identified == 4


async def test_import_with_notes_warns_with_the_count_and_the_first_notes(review: Review, tmp_path: Path) -> None:
    """Records whose year is "in press" are imported; the notice is a warning with the count, the first three
    notes (file, line, field) and how many more."""
    path = tmp_path / "press.ris"
    path.write_text("".join(f"TY  - JOUR\nTI  - Paper {i}\nPY  - in press\nER  - \n" for i in range(5)),
                    encoding="utf-8")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await open_sources(pilot, app)
        await import_through_modal(pilot, app, str(path), "Embase")
        (warning,) = notices(seen, "warning")
        lines = warning.splitlines()
        assert lines[0].startswith("Imported 5 records from press.ris (ris) as Embase")
        assert lines[1].startswith("5 notes on press.ris: the records are stored as read")
        assert lines[2] == f"{path}, line 3, field PY: 'in press' is not a year; the record is stored without a year"
        assert lines[4].startswith(f"{path}, line 11, field PY") and lines[5] == (
            "... and 2 more (n on its run lists them all)")
        assert review_status(review).identified == 5


async def test_n_shows_every_note_of_the_highlighted_run(review: Review, tmp_path: Path) -> None:
    """The run table counts each run's notes; n opens them all (kept in the store, so after a restart too),
    as plain text; escape closes; a run without notes says so."""
    path = tmp_path / "press [draft].ris"
    path.write_text("".join(f"TY  - JOUR\nTI  - Paper {i}\nPY  - in press [/b]\nER  - \n" for i in range(5)),
                    encoding="utf-8")
    clean = tmp_path / "clean.ris"
    clean.write_text("TY  - JOUR\nTI  - Clean\nPY  - 2020\nER  - \n", encoding="utf-8")
    runner_app = make_app(review, reviewer="alice")
    async with runner_app.run_test(size=SIZE) as pilot:
        await open_sources(pilot, runner_app)
        await import_through_modal(pilot, runner_app, str(path), "Embase")
        await import_through_modal(pilot, runner_app, str(clean), "Scopus")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_sources(pilot, app)
        table = screen.query_one("#run-list", RunTable)
        assert str(table.get_row("1")[9]) == "5" and str(table.get_row("2")[9]) == ""  # the Notes column
        assert table.cursor_row == 0  # the newest run, the clean one
        await pilot.press("n")
        await settle(pilot)
        assert notices(seen, "information")[-1] == "Run 2 (clean.ris) keeps no notes: every record read cleanly"
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, TextViewModal)
        body = str(modal.query_one("#text-view-body", Static).render())
        assert body.splitlines() == [
            f"{path}, line {3 + 4 * i}, field PY: 'in press [/b]' is not a year; the record is stored without a year"
            for i in range(5)]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SourcesScreen)


async def test_failing_import_names_file_and_line(review: Review, tmp_path: Path) -> None:
    """A malformed file is refused with the file and line in an error notice; nothing is stored."""
    bad = tmp_path / "bad.ris"
    bad.write_text("TY  - JOUR\nTI  - A\nER  - \n\nTY  - JOUR\nTI  - unclosed\nTY  - JOUR\nER  - \n")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await open_sources(pilot, app)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("enter")  # no path typed: the modal says so and stays
        assert isinstance(app.screen, ImportFileModal)
        assert "Type the path" in str(app.screen.query_one("#import-error", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        await import_through_modal(pilot, app, str(bad))
        (error,) = notices(seen, "error")
        assert f"{bad}, line 7" in error and "before the record opened at line 5 was closed with ER" in error
        assert "Traceback" not in error
        assert source_runs(review) == [] and review_status(review).records == 0
        assert shown(app).query_one("#run-list", RunTable).row_count == 0


async def test_pubmed_search_runs_with_progress(review: Review, httpserver: HTTPServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """p runs the protocol's PubMed search against the configured server, batch by batch, with progress."""
    fake = FakePubMed(1_200, date(2019, 1, 1), date(2020, 12, 31))
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)
    monkeypatch.setenv(PUBMED_URL_ENV, httpserver.url_for("/"))
    monkeypatch.setenv("NCBI_EMAIL", "dev@example.org")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await run_search(pilot, app, "p")
        steps = [(m.done, m.total) for m in progressed(seen)]
        assert steps == [(500, 1_200), (1_000, 1_200), (1_200, 1_200)]
        assert any("PubMed: 1200 found, 1200 stored, 1200 new" in n for n in notices(seen, "information"))
        pubmed = source_row(app, "PubMed")
        assert pubmed[4] == "complete" and pubmed[5:] == ["1200", "1200", "1200", "1200"]
    assert fake.esearches  # the local server answered, not the internet


async def test_escape_cancels_search_and_p_resumes_it(review: Review, httpserver: HTTPServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Escape during a search stops it after the batch in flight (a failed, resumable run); p resumes it."""
    fake = FakePubMed(1_200, date(2019, 1, 1), date(2020, 12, 31))
    entered, release = threading.Event(), threading.Event()

    def held(request: Request) -> Response:
        entered.set()
        release.wait(10)
        return fake.efetch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(held)
    monkeypatch.setenv(PUBMED_URL_ENV, httpserver.url_for("/"))
    monkeypatch.setenv("NCBI_EMAIL", "dev@example.org")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_sources(pilot, app)
        finished = job_finished(screen, monkeypatch)
        await pilot.press("p")
        await escape_held_job(pilot, app, entered, release, finished)
        assert any("cancelled" in n for n in notices(seen, "warning"))
        (run,) = source_runs(review)
        assert (run.status, run.record_count, run.error) == ("failed", 500, "cancelled by the user")
        assert source_row(app, "PubMed")[4] == "failed"
        await pilot.press("p")
        await settle(pilot)
        assert any("PubMed (resumed): 1200 found, 1200 stored" in n for n in notices(seen, "information"))
        assert source_row(app, "PubMed")[4] == "complete"


async def test_search_failure_is_an_error_notice(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a contact e-mail the PubMed search is refused with the fix in an error notice."""
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    monkeypatch.setenv(PUBMED_URL_ENV, "http://127.0.0.1:9/")  # never reached
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await run_search(pilot, app, "p")
        (error,) = notices(seen, "error")
        assert "PubMed search failed" in error and "e-mail" in error
        assert shown(app)._job is None


async def test_ctgov_search_runs_with_progress(review: Review, httpserver: HTTPServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """t runs the ClinicalTrials.gov search page by page against the configured server."""
    _ctgov_pages(httpserver)
    monkeypatch.setenv(CTGOV_URL_ENV, httpserver.url_for("/api/v2"))
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await run_search(pilot, app, "t")
        assert progressed(seen)
        (run,) = source_runs(review)
        assert run.status == "complete" and run.new_record_count > 0
        row = source_row(app, "ClinicalTrials.gov")
        assert row[4] == "complete" and row[8] == str(run.new_record_count)


def _under(header: str, row: str, label: str) -> str:
    """The value a row shows in the column `label` heads (the word starting where the label starts)."""
    start = header.index(label)
    return (row[start:].split() or [""])[0]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_footer_and_counts_fit_the_terminal(review: Review, size: tuple[int, int]) -> None:
    """At 80×24 the footer ends with Help and Quit and every count column is on screen (only names and
    queries give way, cut with "…"); the kind and query of the highlighted source and the highlighted
    run's file are said under the tables. At 160×48 the tables have every column, whole."""
    add_records(review, 3, source="Cochrane CENTRAL")
    add_records(review, 12, source="Embase")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=size) as pilot:
        screen = await open_sources(pilot, app)
        assert footer_line(app).rstrip().endswith("? Help q Quit")
        sources, runs = screen.query_one("#source-list", SourceTable), screen.query_one("#run-list", RunTable)
        header, cochrane = line_with(app, "Identified"), line_with(app, "Cochrane CEN")
        assert [_under(header, cochrane, label) for label in ("Status", "Stored", "New", "Identified")] == \
            ["complete", "3", "3", "3"]
        run_header, embase_run = line_with(app, "Started"), line_with(app, " 2    ")
        assert "Embase" in embase_run
        assert [_under(run_header, embase_run, label) for label in ("Status", "Stored", "New")] == \
            ["complete", "12", "12"]
        if size[0] == 80:
            assert set(narrow_columns(sources)) <= {"Source"} and set(narrow_columns(runs)) <= {"Source"}
            lines = screen_lines(app)
            assert "PubMed · planned search · (\"atopic dermatitis\"" in "\n".join(lines)  # the highlighted source
            assert "Run 2: import · test.ris" in lines[-2]  # the highlighted run (newest first)
        else:
            assert narrow_columns(sources) == narrow_columns(runs) == []
            assert header.split()[:3] == ["Source", "Kind", "Query"] and "Error" in run_header
            assert "Run 2: import" not in "\n".join(screen_lines(app))
        await pilot.press("question_mark")
        await pilot.pause()
        keys = str(app.screen.query_one("#help-text", Static).content)  # all of it: the box scrolls
        assert "Refresh" in keys and "Back / cancel" in keys


async def test_narrow_and_wide_columns_follow_the_terminal(review: Review) -> None:
    """Resized across the breakpoint, the tables swap their columns and keep their rows and cursor."""
    add_records(review, 3, source="Embase")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_sources(pilot, app)
        sources = screen.query_one("#source-list", SourceTable)
        sources.move_cursor(row=2)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert "Kind" not in line_with(app, "Identified")
        assert sources.row_count == 4 and sources.cursor_row == 2 and source_row(app, "Embase")[-1] == "3"
        assert "Embase · import · test.ris" in "\n".join(screen_lines(app))
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert line_with(app, "Identified").split()[:3] == ["Source", "Kind", "Query"]
        assert sources.cursor_row == 2 and source_row(app, "Embase")[1:3] == ["import", "test.ris"]


async def test_a_retry_is_a_warning_notice(review: Review, httpserver: HTTPServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """ClinicalTrials.gov answers 429 with Retry-After 0 once: a warning says what failed and that it is
    tried again (a long wait must not look like a hang), then the search finishes."""
    page = (FIXTURES / "ctgov" / "search_phelan_next_20260811.json").read_text().replace(
        '"nextPageToken"', '"unusedToken"')
    answers = iter([Response("Too many requests", status=429, headers={"Retry-After": "0"}),
                    Response(page, content_type="application/json")])
    httpserver.expect_request("/api/v2/studies").respond_with_handler(lambda request: next(answers))
    monkeypatch.setenv(CTGOV_URL_ENV, httpserver.url_for("/api/v2"))
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await run_search(pilot, app, "t")
        (warning,) = notices(seen, "warning")
        assert warning == (f"ClinicalTrials.gov search: HTTP 429 from {httpserver.url_for('/api/v2/studies')}: "
                           "Too many requests; attempt 1 of 5 failed, trying again in under a second")
        (run,) = source_runs(review)
        assert (run.status, run.record_count) == ("complete", 5)


@pytest.mark.parametrize("typed, problem", [
    ("{tmp}", "{tmp} is a folder: type the path of the export file in it"),
    ("{tmp}/missing.ris", "No such file: {tmp}/missing.ris"),
    ("~no-such-user-here/export.ris", "No such file: ~no-such-user-here/export.ris"),
    ("{tmp}/" + "n" * 300 + ".ris", "{tmp}/" + "n" * 300 + ".ris: File name too long"),
])
async def test_import_modal_names_what_is_wrong_with_the_path(review: Review, tmp_path: Path, typed: str,
                                                              problem: str) -> None:
    """A folder, a missing file, the home of no user and a name too long for the system are each named
    under the path (the last two raised out of the modal and closed the app); the modal stays open, the
    path keeps the focus, escape closes it with nothing stored and the source list focused again."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sources(pilot, app)
        await pilot.press("m")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ImportFileModal)
        modal.query_one("#import-path", Input).value = typed.format(tmp=tmp_path)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal and modal.query_one("#import-path", Input).has_focus
        assert str(modal.query_one("#import-error", Static).render()) == problem.format(tmp=tmp_path)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.query_one("#source-list", SourceTable).has_focus
    assert source_runs(review) == [] and review_status(review).records == 0


async def test_unknown_format_is_refused_naming_the_file(review: Review, tmp_path: Path) -> None:
    """A file of no format reviewkit reads is refused in an error notice naming it and the formats read;
    no run and no record is stored, and the counts shown stay at none."""
    odd = tmp_path / "notes [v2].txt"
    odd.write_text("Some notes about the search\nnot an export\n", encoding="utf-8")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_sources(pilot, app)
        await import_through_modal(pilot, app, str(odd), "Embase")
        (error,) = notices(seen, "error")
        assert error.startswith(f"Import failed: {odd}: unrecognised file format (export the records as RIS")
        # The window has no --format: its fix is the window's own Format choice.
        assert error.endswith("or choose the file's format under Format in the import window (m))")
        assert "--format" not in error
        assert screen._job is None and screen.query_one("#run-list", RunTable).row_count == 0
        assert source_row(app, "Embase")[4:] == ["never run", "", "", "", "0"]
        assert "0 runs" in str(screen.query_one("#sources-status", Static).render())
    assert source_runs(review) == [] and review_status(review).records == 0


async def test_the_format_chosen_in_the_window_reads_a_file_its_content_does_not_name(review: Review,
                                                                                    tmp_path: Path) -> None:
    """A CSV whose header the detection does not know ("Primary Title") in a .txt file is refused as of no known
    format; chosen as CSV under Format, as `import --format csv` does, it is imported."""
    path = tmp_path / "refs.txt"
    path.write_text("Primary Title,Year\nA trial of something,2020\n", encoding="utf-8")
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await open_sources(pilot, app)
        await pilot.press("m")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ImportFileModal)
        assert modal.query_one("#import-format", Select).is_blank()  # default: from the content
        modal.query_one("#import-path", Input).value = str(path)
        modal.query_one("#import-format", Select).value = "csv"
        modal.query_one("#import-path", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert notices(seen, "error") == []
        assert any(n.startswith("Imported 1 record from refs.txt (csv)") for n in notices(seen, "information"))
    assert review_status(review).records == 1


async def test_a_file_that_cannot_be_read_is_an_import_failure(review: Review, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the system will not read (no permission: tests run as root, so the refusal is simulated) is
    an "Import failed" notice naming the file and the reason, and that nothing was stored."""
    path = tmp_path / "locked.ris"
    path.write_text("TY  - JOUR\nTI  - A\nER  - \n", encoding="utf-8")

    def refused(file: Path) -> str:
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(identify, "file_sha256", refused)
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_sources(pilot, app)
        await import_through_modal(pilot, app, str(path))
        (error,) = notices(seen, "error")
        assert error == f"Import failed: {path}: Permission denied; nothing was stored"
        assert screen._job is None
    assert source_runs(review) == [] and review_status(review).records == 0


async def test_escape_cancels_an_import_and_nothing_is_stored(review: Review, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Escape while a file is imported stops it: the whole import is rolled back (no run, no record), the
    notice says so, the screen stays; escape again goes back."""
    path = tmp_path / "big.ris"
    path.write_text("".join(f"TY  - JOUR\nTI  - Paper {i}\nER  - \n" for i in range(30)), encoding="utf-8")
    entered, release = threading.Event(), threading.Event()
    insert = store_runs.insert_records

    def held(*args: object, **kwargs: object) -> object:
        entered.set()
        release.wait(10)
        return insert(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_runs, "insert_records", held)
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_sources(pilot, app)
        finished = job_finished(screen, monkeypatch)
        await pilot.press("m")
        await pilot.pause()
        app.screen.query_one("#import-path", Input).value = str(path)
        await pilot.press("enter")
        await escape_held_job(pilot, app, entered, release, finished)
        assert notices(seen, "warning") == ["Import of big.ris cancelled: nothing was stored"]
        assert screen._job is None and screen.query_one("#run-list", RunTable).row_count == 0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SourcesScreen)
    assert source_runs(review) == [] and review_status(review).records == 0


async def test_a_failed_load_is_an_error_notice(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that fails the listing's read is said in an error notice (r loads again), not as the
    worker's name and exception; the screen stays."""
    def failing(_: Review) -> list[object]:
        raise ReviewkitError("the database stopped answering")

    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
        monkeypatch.setattr(runs, "source_overview", failing)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, SourcesScreen)
        assert notices(seen, "error") == ["Sources not loaded: the database stopped answering (r loads them again)"]
