"""User text is shown as typed: square brackets in a title, a note, a name, a search or a value are not markup.

Textual and Rich read "[...]" in a str as markup: "[/i]" raised MarkupError (the app exited with a
traceback) and "[adults]" or "[ITT]" silently disappeared. See reviewkit/tui/plain.py.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Input

from reviewkit.config import UserConfig
from reviewkit.domain.records import Record
from reviewkit.services import assess, screen
from reviewkit.services.project import Review
from reviewkit.tui import plain as plain_module
from reviewkit.tui.app import make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.conflicts import ConflictsScreen
from reviewkit.tui.screens.extraction import ExtractionScreen
from reviewkit.tui.screens.rob import RobScreen
from reviewkit.tui.widgets.fitted_table import FittedTable
from tests.factories import add_records
from tests.tui.rendered import lines_once, screen_lines
from tests.tui.test_extraction_form import _open_from_dashboard, _study
from tests.tui.test_extraction_form import _settle as extraction_settle
from tests.tui.test_rob_form import add_study
from tests.tui.test_rob_form import settle as rob_settle
from tests.tui.test_screening import SIZE, open_screening, settle

TUI = Path(plain_module.__file__).resolve().parent


def _on_screen(*texts: str) -> Any:
    """A `lines_once` condition: every text is on some line of the screen."""
    return lambda lines: all(any(text in line for line in lines) for text in texts)


async def test_a_search_with_brackets_is_named_as_typed(review: Review) -> None:
    """A search for "[/i]" crashed the app on its "no record mentions" warning; "[adults] zzz" lost its
    "[adults]". Both are named as typed, and the screen keeps working."""
    add_records(review, 3)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_screening(pilot, app)
        for text in ("[/i]", "[adults] zzz"):
            await pilot.press("slash")
            await pilot.pause()
            await pilot.press(*text, "enter")
            await settle(pilot)
            await lines_once(pilot, app, _on_screen(f"No record in your queue mentions '{text}'"))
        await pilot.press("j")
        await settle(pilot)
        assert app.is_running


async def test_conflict_notes_and_title_with_brackets_are_shown_as_typed(review: Review) -> None:
    """A screener's note "checked [/i] ok" crashed the adjudicator's screen; "[adults]" in the other note
    and "[in a trial]" in the title vanished from the decisions table, as did the adjudicator's own note."""
    (rid,) = add_records(review, [Record(title="Baricitinib [in a trial] for eczema", abstract="An abstract.",
                                         year=2020)])
    screen.record_decision(review, "alice", rid, "ta", "include", note="checked [/i] ok")
    screen.record_decision(review, "bob", rid, "ta", "exclude", note="[adults] only")
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=(160, 40)) as pilot:
        await app.push_screen(ConflictsScreen(review, "carol"))
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        lines = await lines_once(pilot, app, _on_screen("checked [/i] ok", "[adults] only"))
        # the list's Title column and the decisions table's title
        assert sum("Baricitinib [in a trial] for eczema" in line for line in lines) >= 2, "\n".join(lines)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"see [/b] [ITT]", "enter")
        await settle(pilot)
        await lines_once(pilot, app, _on_screen("Your note: see [/b] [ITT]"))


async def test_a_value_typed_with_brackets_is_quoted_as_typed(review: Review) -> None:
    """Typing "[/b]" into a number field crashed the app as the key was typed (the checker's message
    quotes the value); "12 [x]" lost its "[x]"."""
    _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 60)) as pilot:
        extraction = await _open_from_dashboard(app, pilot)
        assert isinstance(extraction, ExtractionScreen)
        field = extraction.query_one("#field-duration", Input)
        for text, quoted in (("[/b]", "'[/b]'"), ("12 [x]", "'[x]'")):
            field.value = ""
            field.focus()
            await pilot.pause()
            await pilot.press(*text)
            await extraction_settle(app, pilot)
            lines = await lines_once(pilot, app, _on_screen(f"duration: {quoted}" if text == "[/b]" else quoted))
            assert any(text in line for line in lines), "\n".join(lines)  # the input shows it too
        assert app.is_running


async def test_outcome_and_study_names_with_brackets_are_shown_as_typed(review: Review) -> None:
    """An outcome named "iga week 16 [/itt]" crashed the RoB screen's status line; a study label's
    "[phase 3]" vanished from it."""
    add_study(review, "BREEZE-AD1 [phase 3]")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await rob_settle(pilot, app)
        await pilot.press("b")
        await rob_settle(pilot, app)
        rob = app.screen
        assert isinstance(rob, RobScreen)
        await lines_once(pilot, app, _on_screen("BREEZE-AD1 [phase 3]"))  # the study list
        await pilot.press("enter")  # "+ new outcome…"
        await pilot.pause()
        await pilot.press(*"iga week 16 [/itt]", "enter")
        await rob_settle(pilot, app)
        assert rob.view is not None and rob.view.outcome == "iga week 16 [/itt]"
        await lines_once(pilot, app, _on_screen("BREEZE-AD1 [phase 3] · iga week 16 [/itt] · RoB 1"))


async def test_choice_titles_and_options_with_brackets_are_shown_as_typed(review: Review) -> None:
    """The near-miss choice quotes the outcome typed in its title and options: "[ITT]" vanished from both
    (Textual reads upper-case tags too)."""
    sid = add_study(review)
    assess.start_assessment(review, "alice", sid, "IGA [ITT] week 16")
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=(120, 40)) as pilot:
        await rob_settle(pilot, app)
        await pilot.press("b")
        await rob_settle(pilot, app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"IGA [ITT] wek 16", "enter")
        await rob_settle(pilot, app)
        assert isinstance(app.screen, ChoiceModal), "\n".join(screen_lines(app))
        await lines_once(pilot, app, _on_screen("'IGA [ITT] wek 16' is close to", "1. IGA [ITT] week 16 (already used)",
                                                "2. IGA [ITT] wek 16 (a new result)"))


async def test_keys_warnings_name_the_keys_table(review: Review) -> None:
    """The user-config warnings start with the config's table name, "[keys]", which vanished as markup."""
    add_records(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_screening(pilot, app, config=UserConfig(keys={"exclud": "x", "maybe": "j"},
                                                           path=Path("/home/me/config.toml")))
        await lines_once(pilot, app, _on_screen("/home/me/config.toml: [keys] ignored", "[keys] in /home/me/"))


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = FittedTable(id="table")
        table.add_column("[adults]")
        table.add_columns("[ITT]", "styled")
        yield table


async def test_fitted_table_shows_str_cells_and_labels_as_given() -> None:
    """Every DataTable of the TUI is a FittedTable: a str cell or column label is never read as markup."""
    from rich.text import Text

    app = _TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(FittedTable)
        table.add_row("[/i] x", "[translated article]", Text("kept", style="bold"))
        await pilot.pause()
        await lines_once(pilot, app, _on_screen("[adults]", "[ITT]", "[/i] x", "[translated article]", "kept"))
        assert table.get_row_at(0)[2].style == "bold"  # a Text cell keeps its style


def _tui_sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(TUI.rglob("*.py"))]


def test_every_notification_is_plain_text() -> None:
    """notify() reads its message as markup unless told not to, and the messages quote user text (titles,
    notes, names, paths) or the services' messages quoting it: every notify in the TUI passes markup=False."""
    missing = []
    for path, tree in _tui_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "notify":
                markup = next((k.value for k in node.keywords if k.arg == "markup"), None)
                if not (isinstance(markup, ast.Constant) and markup.value is False):
                    missing.append(f"{path.relative_to(TUI)}:{node.lineno}")
    assert not missing, f"notify() without markup=False: {missing}"


def test_every_data_table_is_a_fitted_table() -> None:
    """A plain DataTable reads str cells as markup; FittedTable shows them as given."""
    direct = [f"{path.relative_to(TUI)}:{node.lineno}" for path, tree in _tui_sources() for node in ast.walk(tree)
              if isinstance(node, ast.Call) and (getattr(node.func, "id", None) == "DataTable"
                                                 or getattr(node.func, "attr", None) == "DataTable")]
    assert not direct, f"DataTable built directly (use FittedTable): {direct}"
