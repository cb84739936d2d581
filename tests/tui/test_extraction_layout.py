"""Pilot tests for the extraction screen on an 80×24 terminal (and still side by side on a wide one), and
for the keys around the study fields: tab into them, and the footer while one is edited."""

from __future__ import annotations

from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from reviewkit.services import extract
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.screens.extraction import ExtractionScreen
from reviewkit.tui.widgets.cell_editor import CellEditor
from tests.tui.rendered import footer_once, screen_lines
from tests.tui.test_extraction_form import _settle, _study, _text

#: A value each field type refuses, with (part of) the reason given.
BAD = {"yesno": ("maybe", "is not yes or no"), "integer": ("sixteen", "sixteen"),
       "choice": ("7", "7"), "number": ("many", "many")}


async def _open(app: ReviewkitApp, pilot, review: Review) -> ExtractionScreen:  # noqa: ANN001 - the pilot
    app.push_screen(ExtractionScreen(review, "alice"))
    await _settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ExtractionScreen)
    return screen


async def _focus(pilot, widget: Widget) -> None:  # noqa: ANN001 - the pilot
    """Focus the widget and wait until the form has scrolled it into view (an animated scroll)."""
    widget.focus()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def _visible(screen: ExtractionScreen) -> Region:
    """Where the form shows its content: inside the terminal, left of its scrollbar."""
    return screen.query_one("#extraction-form", Widget).scrollable_content_region.intersection(screen.region)


def _shown(app: ReviewkitApp, widget: Widget) -> str:
    """The text the terminal shows in the widget's region."""
    lines = screen_lines(app)
    region = widget.region
    return " ".join(lines[y][region.x:region.right] for y in range(region.y, region.bottom))


async def test_every_study_field_and_its_problem_fit_an_80_column_terminal(review: Review) -> None:
    """On 80×24 each study field's input lies whole inside the form (it showed 14 of its 24 columns)
    and what is wrong with a value is shown under it, on screen (it was past the 80th column)."""
    _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, review)
        for field in review.protocol.extraction.fields:
            field_input = screen.query_one(f"#field-{field.name}", Input)
            await _focus(pilot, field_input)
            visible = _visible(screen)
            assert visible.contains_region(field_input.region), field.name
            assert field_input.region.width >= 24, field.name  # at least what it has side by side
            value, reason = BAD.get(field.type, ("x" * 40, "saved"))
            field_input.value = ""
            await pilot.press(*value)
            if field.type not in BAD:
                await pilot.press("enter")  # any text is right: the line says it was saved
                await _settle(app, pilot)
            await pilot.pause()
            problem = screen.query_one(f"#problem-{field.name}", Static)
            assert reason in _text(screen, f"#problem-{field.name}"), field.name
            assert visible.contains_region(problem.region), field.name
            assert problem.region.y >= field_input.region.bottom  # under the input
            assert reason in _shown(app, problem), field.name
            await pilot.press("escape")  # the typed value is dropped again
            await pilot.pause()


async def test_the_cell_editor_fits_an_80_column_terminal(review: Review) -> None:
    """The grid's cell editor (its label was 44 columns wide, the input off screen) lies inside the form."""
    _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, review)
        await pilot.press("g", "right", "right", "right", "enter", *"abc")  # Placebo · iga_0_1 · events
        await pilot.pause()
        editor = screen.query_one(CellEditor)
        assert editor.input.has_focus
        visible = _visible(screen)
        for part in ("#cell-label", "#cell-input", "#cell-problem"):
            assert visible.contains_region(editor.query_one(part, Widget).region), part
        assert "iga_0_1" in _shown(app, editor.query_one("#cell-label", Label))
        assert "'abc' is not a number" in _shown(app, editor.query_one("#cell-problem", Static))


async def test_a_wide_terminal_keeps_label_input_and_problem_side_by_side(review: Review) -> None:
    """At 160×48 a field's label, input and problem line stay on one row, as they were."""
    _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot, review)
        tcs = screen.query_one("#field-tcs", Input)
        tcs.focus()
        await pilot.press(*"maybe")
        await pilot.pause()
        label = next(iter(tcs.parent.query(Label))) if tcs.parent else None
        problem = screen.query_one("#problem-tcs", Static)
        assert label is not None and label.region.y == tcs.region.y == problem.region.y
        assert label.region.right <= tcs.region.x and tcs.region.right <= problem.region.x
        assert tcs.region.width == 24
        assert "is not yes or no" in _shown(app, problem)


async def test_tab_from_the_study_list_goes_to_the_first_study_field(review: Review) -> None:
    """Tab from the study list lands in the first study field, where a letter is typed (it landed on the
    form's container, where a started Add arm)."""
    _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, review)
        studies = screen.query_one("#study-list", DataTable)
        studies.focus()
        await pilot.press("tab")
        await pilot.pause()
        first = review.protocol.extraction.fields[0].name
        assert isinstance(app.focused, Input) and app.focused.id == f"field-{first}"
        await pilot.press("end", "a")
        await pilot.pause()
        assert app.screen is screen and app.focused.value.endswith("a")  # typed, no Add arm prompt


async def test_the_footer_names_the_keys_that_work_while_a_field_is_edited(review: Review) -> None:
    """In a study field the letters are typed, so the footer names enter, esc, tab and ctrl+q instead of
    a, c, p, ? and q (it showed only esc); tab goes to the next field; elsewhere the footer is as before."""
    sid = _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, review)
        screen.query_one("#grid", DataTable).focus()
        await pilot.pause()
        footer = await footer_once(pilot, app, lambda f: "a Add arm" in f)
        assert "q Quit" in footer and "Save" not in footer

        fields = [f.name for f in review.protocol.extraction.fields]
        screen.query_one(f"#field-{fields[0]}", Input).focus()
        await pilot.pause()
        footer = await footer_once(pilot, app, lambda f: "⏎ Save" in f)
        for key in ("⏎ Save", "esc Cancel edit", "tab Next field", "^q Quit"):
            assert key in footer
        assert "Add arm" not in footer and "? Help" not in footer
        await pilot.press("tab", *"Trial one", "enter")
        await _settle(app, pilot)
        assert isinstance(app.focused, Input) and app.focused.id == f"field-{fields[1]}"
        assert extract.study_form(review, "alice", sid).study_fields()[fields[1]] == "Trial one"

        await pilot.press("escape", "right", "right", "right", "enter")  # the grid's events cell
        await pilot.pause()
        assert screen.query_one(CellEditor).input.has_focus
        footer = await footer_once(pilot, app, lambda f: "⏎ Save" in f)
        assert "⏎ Save" in footer and "esc Cancel edit" in footer and "Next field" not in footer
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0
