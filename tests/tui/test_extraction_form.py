"""Pilot tests for the extraction form: live validation, values committed by the service, registry prefill."""

from __future__ import annotations

import json
from contextlib import suppress

from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static
from textual.worker import WorkerCancelled

from reviewkit.services import extract
from reviewkit.services.project import Review
from reviewkit.sources.ctgov import parse_study
from reviewkit.tui.app import make_app
from reviewkit.tui.extraction_grid import KEY_COLUMNS
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.extraction import ExtractionScreen
from tests.conftest import FIXTURES
from tests.factories import add_records
from tests.tui.rendered import footer_once, line_with, screen_lines


def _study(review: Review) -> int:
    record = parse_study(json.loads((FIXTURES / "ctgov" / "NCT02210780.json").read_text(encoding="utf-8")))
    (rid,) = add_records(review, [record], source="ClinicalTrials.gov")
    sid = extract.create_study(review, "alice", "Dupilumab trial", nct_id="NCT02210780", record_ids=[rid]).id
    extract.set_arm(review, "alice", sid, "Placebo", n_randomised=97)
    return sid


async def _settle(app, pilot) -> None:  # noqa: ANN001 - the app and its pilot
    """Let workers finish and their messages be handled (twice: a save triggers a reload)."""
    for _ in range(3):
        await pilot.pause()
        # A load superseded by a newer one (exclusive workers) is cancelled: that is waiting done, not an error.
        with suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
    await pilot.pause()


async def _open_from_dashboard(app, pilot) -> ExtractionScreen:  # noqa: ANN001 - the app and its pilot
    """The extraction screen, opened with the dashboard's x and loaded."""
    await _settle(app, pilot)
    await pilot.press("x")
    await _settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ExtractionScreen)
    return screen


def _text(screen: ExtractionScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_form_validates_as_typed_and_commits_through_the_service(review: Review) -> None:
    """x opens the form; a bad value is explained before saving; enter stores a good one."""
    sid = _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open_from_dashboard(app, pilot)
        assert "Dupilumab trial" in _text(screen, "#extraction-status")
        tcs = screen.query_one("#field-tcs", Input)
        tcs.focus()
        await pilot.press(*"maybe")
        await pilot.pause()
        assert "'maybe' is not yes or no" in _text(screen, "#problem-tcs")
        tcs.value = ""
        await pilot.press(*"yes", "enter")
        await _settle(app, pilot)
        assert extract.study_form(review, "alice", sid).study_fields()["tcs"] == "yes"
        assert "saved" in _text(screen, "#problem-tcs")

        grid = screen.query_one("#grid", DataTable)
        grid.focus()
        grid.move_cursor(row=0, column=len(KEY_COLUMNS) + 1)  # Placebo · iga_0_1 · total
        await pilot.press("enter")
        await pilot.pause()
        assert screen.query_one("#cell-input", Input).has_focus
        await pilot.press(*"97", "enter")
        await _settle(app, pilot)
        grid.move_cursor(row=0, column=len(KEY_COLUMNS))  # events
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"120")
        await pilot.pause()
        assert "cannot exceed the total" in _text(screen, "#cell-problem")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert "cannot exceed the total" in _text(screen, "#cell-problem")
        assert extract.study_form(review, "alice", sid).stats("Placebo", "iga_0_1", "week 16") == {"total": "97"}
        assert str(grid.get_cell_at(Coordinate(0, len(KEY_COLUMNS) + 1))) == "97"


async def test_registry_proposals_are_shown_and_confirmed(review: Review) -> None:
    """The form says the registry has results; p confirms the arms, then a measure as a protocol outcome."""
    sid = _study(review)
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=(160, 60)) as pilot:
        app.push_screen(ExtractionScreen(review, "bob"))
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ExtractionScreen)
        assert "NCT02210780 has posted results: 2 arms" in _text(screen, "#prefill-status")
        assert extract.study_form(review, "bob", sid).arms == ()
        screen.query_one("#grid", DataTable).focus()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        # Ten options or more: 1 waits for a second digit (10, 11…) or enter.
        await pilot.press("1", "enter")
        await _settle(app, pilot)
        assert [a.label for a in extract.study_form(review, "bob", sid).arms] == ["Placebo qw", "Dupilumab 300 mg qw"]
        assert screen.query_one("#arm-table", DataTable).row_count == 2
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("5")  # option 1 is the arms; 5 is the fourth measure, IGA 0/1 at week 16
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)  # which protocol outcome: dichotomous ones listed
        await pilot.press("1")  # iga_0_1
        await _settle(app, pilot)
        stats = extract.study_form(review, "bob", sid).stats("Dupilumab 300 mg qw", "iga_0_1", "week 16")
        assert stats == {"events": "43", "total": "97"}
        assert all(v.origin == "ctgov" for v in extract.study_form(review, "bob", sid).values)


async def test_escape_cancels_the_cell_edit_and_a_save_stays_confirmed(review: Review) -> None:
    """Escape in the cell editor drops the edit and stays (footer: Cancel edit); a stored value's note
    stays in the status line after the form reloads; escape outside the editor leaves the screen."""
    sid = _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_from_dashboard(app, pilot)
        grid = screen.query_one("#grid", DataTable)
        await footer_once(pilot, app, lambda f: "esc Dashboard" in f)
        await pilot.press("g", "right", "right", "right", "enter", *"abc")  # Placebo · iga_0_1 · events
        await pilot.pause()
        assert screen.query_one("#cell-input", Input).has_focus
        assert "Dashboard" not in await footer_once(pilot, app, lambda f: "esc Cancel edit" in f)
        await pilot.press("escape")
        await _settle(app, pilot)
        assert app.screen is screen  # the tester was back on the dashboard, the edit lost
        assert grid.has_focus and grid.cursor_coordinate == Coordinate(0, len(KEY_COLUMNS))
        assert screen.query_one("#cell-input", Input).value == "" and _text(screen, "#cell-problem") == ""
        await footer_once(pilot, app, lambda f: "esc Dashboard" in f)
        assert extract.study_form(review, "alice", sid).stats("Placebo", "iga_0_1", "week 16") == {}

        await pilot.press("enter", *"43", "enter")
        await _settle(app, pilot)
        assert extract.study_form(review, "alice", sid).stats("Placebo", "iga_0_1", "week 16") == {"events": "43"}
        status = _text(screen, "#extraction-status")
        assert "Dupilumab trial" in status and "Placebo iga_0_1 events saved" in status  # not overwritten
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_escape_in_a_study_field_cancels_the_edit_and_a_second_escape_leaves(review: Review) -> None:
    """Escape in a study field's input drops what was typed (the stored value comes back, nothing is
    stored) and stays on the screen, on the grid; the next escape goes back to the dashboard."""
    sid = _study(review)
    extract.set_value(review, "alice", sid, "tcs", "yes")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_from_dashboard(app, pilot)
        tcs = screen.query_one("#field-tcs", Input)
        assert tcs.value == "yes"
        tcs.focus()
        await pilot.press("end", "backspace", "backspace", "backspace", *"maybe")
        await pilot.pause()
        assert tcs.value == "maybe" and "'maybe' is not yes or no" in _text(screen, "#problem-tcs")
        assert "Dashboard" not in await footer_once(pilot, app, lambda f: "esc Cancel edit" in f)
        await pilot.press("escape")
        await _settle(app, pilot)
        assert app.screen is screen  # the tester was back on the dashboard, what they typed lost
        assert tcs.value == "yes" and _text(screen, "#problem-tcs") == ""
        assert screen.query_one("#grid", DataTable).has_focus
        await footer_once(pilot, app, lambda f: "esc Dashboard" in f)
        assert extract.study_form(review, "alice", sid).study_fields()["tcs"] == "yes"

        duration = screen.query_one("#field-duration", Input)  # nothing stored: it empties again
        duration.focus()
        await pilot.press(*"16")
        await pilot.press("escape")
        await _settle(app, pilot)
        assert app.screen is screen and duration.value == ""
        assert extract.study_form(review, "alice", sid).study_fields().get("duration") is None
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_study_list_shows_each_nct_id_in_its_34_columns(review: Review) -> None:
    """Six trials whose titles differ only at the end: each row shows its NCT id, the title clipped."""
    title = "Baricitinib in adults with moderate to severe atopic dermatitis: phase 3 trial"
    for i in range(6):
        extract.create_study(review, "alice", f"{title} {i}", nct_id=f"NCT0300000{i}")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ExtractionScreen(review, "alice"))
        await _settle(app, pilot)
        assert line_with(app, " ID ").split()[:3] == ["ID", "NCT", "Study"]
        for i in range(6):
            rows = [line[:34] for line in screen_lines(app) if line.split()[1:2] == [f"NCT0300000{i}"]]
            assert len(rows) == 1 and rows[0].split()[2] == "Baricitinib" and rows[0].rstrip().endswith("…")


async def test_a_changes_only_what_the_arm_line_gives(review: Review) -> None:
    """On a highlighted arm, a starts the prompt with its line; a line that stops after the label (or
    names no arm field) keeps the arm's other values, as `extract arm` does, rather than wiping them;
    an empty part clears one."""
    from reviewkit.tui.modals.text_prompt import TextPromptModal

    sid = _study(review)
    extract.set_arm(review, "alice", sid, "Placebo", intervention="placebo", dose="0 mg", co_intervention="TCS",
                    fields={"dose_mg": "0"})
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_from_dashboard(app, pilot)
        screen.query_one("#arm-table", DataTable).focus()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        prompt = app.screen.query_one("#prompt-input", Input)
        assert prompt.value == "Placebo; placebo; 0 mg; TCS; 97; dose_mg=0"
        prompt.value = "Placebo; placebo; 0 mg; TCS; 98"  # N changed; dose_mg not named: kept
        await pilot.press("enter")
        await _settle(app, pilot)
        (arm,) = extract.study_form(review, "alice", sid).arms
        assert (arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised, arm.fields) == (
            "placebo", "0 mg", "TCS", 98, {"dose_mg": "0"})
        screen.query_one("#study-list", DataTable).focus()  # not on an arm: an empty prompt
        await pilot.press("a")
        await pilot.pause()
        prompt = app.screen.query_one("#prompt-input", Input)
        assert prompt.value == ""
        prompt.value = "Placebo; placebo; "  # the dose emptied, the rest not given
        await pilot.press("enter")
        await _settle(app, pilot)
        (arm,) = extract.study_form(review, "alice", sid).arms
        assert (arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised, arm.fields) == (
            "placebo", "", "TCS", 98, {"dose_mg": "0"})
        screen.query_one("#study-list", DataTable).focus()
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#prompt-input", Input).value = "Placebo; ; ; ; "  # every part emptied, N too
        await pilot.press("enter")
        await _settle(app, pilot)
        (arm,) = extract.study_form(review, "alice", sid).arms
        assert (arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised) == ("", "", "", None)


async def test_a_save_that_clears_a_converted_sd_says_so(review: Review) -> None:
    """SE 0.4 gave a converted SD; typing SE 0.8 in the grid cleared it (as `extract set` says) and the
    status line said only "se saved", so the emptied SD cell read as a value lost."""
    from reviewkit.services.extract import STAT_FIELDS
    from reviewkit.services.extract_convert import convert

    sid = _study(review)
    for field, value in (("se", "0.4"), ("n", "97")):
        extract.set_value(review, "alice", sid, field, value, arm="Placebo", outcome="dlqi_change")
    convert(review, "alice", sid, arm="Placebo", outcome="dlqi_change")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_from_dashboard(app, pilot)
        grid = screen.query_one("#grid", DataTable)
        row = next(i for i, r in enumerate(screen.rows) if (r.arm, r.outcome) == ("Placebo", "dlqi_change"))
        grid.focus()
        grid.move_cursor(row=row, column=len(KEY_COLUMNS) + STAT_FIELDS.index("se"))
        await pilot.press("enter", "ctrl+a", "ctrl+k", *"0.8", "enter")  # the editor opens on the value shown
        await _settle(app, pilot)
        stats = extract.study_form(review, "alice", sid).stats("Placebo", "dlqi_change", "week 16")
        assert stats.get("se") == "0.8" and "sd" not in stats
        assert "sd (converted from se) cleared: convert again" in _text(screen, "#extraction-status")


async def test_x_removes_the_highlighted_arm_with_its_values(review: Review) -> None:
    """An arm entered under a mistyped label: x on it in the arm table asks, then withdraws it with its values
    (as `extract remove-arm`); escape keeps it; x elsewhere says where to press it."""
    from textual.notifications import Notify

    sid = _study(review)
    extract.set_arm(review, "alice", sid, "Plaecbo", n_randomised=97)
    extract.set_value(review, "alice", sid, "events", "12", arm="Plaecbo", outcome="iga_0_1", timepoint="week 16")
    seen: list[object] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 60), message_hook=seen.append) as pilot:
        screen = await _open_from_dashboard(app, pilot)
        screen.query_one("#study-list", DataTable).focus()
        await pilot.press("x")
        await pilot.pause()
        assert [m.notification.message for m in seen if isinstance(m, Notify)][-1] == (
            "Highlight the arm to remove in the arm table first (arrows there), then press x")
        table = screen.query_one("#arm-table", DataTable)
        table.focus()
        row = [a.label for a in screen.form.arms].index("Plaecbo")  # type: ignore[union-attr]
        table.move_cursor(row=row)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("escape")  # kept
        await _settle(app, pilot)
        assert {a.label for a in extract.study_form(review, "alice", sid).arms} == {"Placebo", "Plaecbo"}
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # the first option: remove
        await _settle(app, pilot)
        form = extract.study_form(review, "alice", sid)
        assert [a.label for a in form.arms] == ["Placebo"]
        assert form.stats("Plaecbo", "iga_0_1", "week 16").get("events") in (None, "")
        assert "arm Plaecbo removed, with its 1 value" in _text(screen, "#extraction-status")
