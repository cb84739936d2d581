"""Pilot tests for the screening screen's layout: the record card beside the criteria on narrow terminals,
the footer's Help and Quit, the full-text dialog's hint."""

from __future__ import annotations

from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.modals.choice import ChoiceModal, short_label
from reviewkit.tui.screens.help import HelpScreen
from tests.tui.rendered import footer_line, screen_lines
from tests.tui.test_screening import _pass_title_abstract, open_screening


async def test_record_card_keeps_most_of_a_50_column_terminal(review: Review) -> None:
    """The criteria take a share of the width: the card was four columns wide at 50 columns."""
    _pass_title_abstract(review, 1)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(50, 24)) as pilot:
        screen = await open_screening(pilot, app, "ft")
        assert screen.query_one("#card-scroll").outer_size.width >= 28
        assert screen.query_one("#criteria").outer_size.width >= 15
        assert any("Trial 0 of baricitinib" in line for line in screen_lines(app))
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 24)) as pilot:
        screen = await open_screening(pilot, app, "ft")
        assert screen.query_one("#criteria").outer_size.width == 40  # as before on a wide terminal
        # The full-text screen's footer ended "? Hel▏^p palette" at 160 columns.
        assert "? Help" in footer_line(app) and "q Quit" in footer_line(app)


async def test_full_text_hint_is_shown_whole(review: Review) -> None:
    """f then 2 with no location: the hint says what is needed, whole (it was cut at "(type it")."""
    _pass_title_abstract(review, 1)
    for width in (80, 50):
        app = make_app(review, reviewer="alice")
        async with app.run_test(size=(width, 24)) as pilot:
            await open_screening(pilot, app, "ft")
            await pilot.press("f")
            await pilot.pause()
            await pilot.press("2")
            await pilot.pause()
            assert isinstance(app.screen, ChoiceModal)
            # Inside the dialog's border: the text between the │ edges, lines joined.
            inside = " ".join(line.split("│")[1].strip() for line in screen_lines(app) if line.count("│") >= 2)
            assert "Path or URL (retrieved) or a note — needed for 'retrieved'" in inside


def test_short_label_names_the_option_only() -> None:
    """A hint names the option without its explanation or who chose it."""
    assert short_label("retrieved (type its path or URL below)") == "retrieved"
    assert short_label("Low risk — alice, bob") == "Low risk"
    assert short_label("not retrieved") == "not retrieved"


async def test_footer_keeps_the_decision_keys_help_and_quit_at_80_columns(review: Review) -> None:
    """At 80 columns the footer shows the decision keys, Help and Quit at both stages; ? lists the rest."""
    _pass_title_abstract(review, 1)
    for stage, extra in (("ta", ()), ("ft", ("o Open", "f Full text"))):
        app = make_app(review, reviewer="alice")
        async with app.run_test(size=(80, 24)) as pilot:
            await open_screening(pilot, app, stage)
            footer = footer_line(app)
            for key in ("i Include", "e Exclude", "m Maybe", "u Undo", "n Note", "? Help", "q Quit", *extra):
                assert key in footer, (stage, key, footer)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            shown = "\n".join(app.screen._lines)
            for hidden in ("Next", "Previous", "Search", "Criteria", "Dashboard"):
                assert hidden in shown, hidden
