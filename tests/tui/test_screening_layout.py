"""Pilot tests for the screening screen's layout: the record card beside the criteria on narrow terminals,
the footer's Help and Quit, the full-text dialog's hint."""

from __future__ import annotations

from pathlib import Path

from reviewkit.domain.records import Record
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.choice import ChoiceModal, short_label
from reviewkit.tui.screens.help import HelpScreen
from reviewkit.tui.widgets.status_line import pack_parts
from tests.factories import add_records
from tests.tui.rendered import footer_line, footer_once, screen_lines
from tests.tui.test_screening import _pass_title_abstract, open_screening, settle


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
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)


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
            shown = "\n".join(line.plain for line in app.screen._lines)
            for hidden in ("Next", "Previous", "Search", "Criteria", "Dashboard"):
                assert hidden in shown, hidden


async def test_the_progress_line_shows_whole_at_80_columns(tmp_path: Path) -> None:
    """With prioritise on, the one-line progress line was cut at 80 columns ("conflicts waiting 0 ·
    record"), losing the position, my decision and the stopping aid: it now takes the lines it needs,
    whole, in shorter wording when the long one needs more than three; at 160 columns the long wording."""
    from reviewkit.tui.screens import screening as screen_module

    text = EXAMPLE_PROTOCOL.read_text().replace("screeners_per_record = 2", "screeners_per_record = 2\nprioritise = true")
    (tmp_path / "p.toml").write_text(text)
    relevant = [Record(title=f"Randomised placebo-controlled trial of baricitinib in atopic dermatitis {i}")
                for i in range(60)]
    other = [Record(title=f"Hip fracture surgery outcomes in older adults {i}") for i in range(60)]

    def status_shown(app: ReviewkitApp) -> tuple[str, list[str]]:
        status = app.screen.query_one("#screening-status")
        assert status.region.right <= app.size.width
        lines = screen_lines(app)[status.region.y:status.region.bottom]
        return " ".join(line.strip() for line in lines), lines

    old, screen_module.RETRAIN_EVERY = screen_module.RETRAIN_EVERY, 2
    try:
        for width, stopping in ((80, ("irrelevant in a row", "recall ≥")),
                                (160, ("irrelevant since the last relevant", "(95% confidence)"))):
            review = init_review(tmp_path / f"r{width}", tmp_path / "p.toml")
            add_records(review, [x for pair in zip(other, relevant, strict=True) for x in pair])
            app = make_app(review, reviewer="alice", stage="ta")
            async with app.run_test(size=(width, 24)) as pilot:
                await settle(pilot)
                await pilot.press("e", "i")
                await settle(pilot)
                await settle(pilot)
                await pilot.press("k")
                await settle(pilot)
                shown, lines = status_shown(app)
                for part in ("title/abstract · alice", "done 2 · left 118 · conflicts waiting 0",
                             "you: include", "2 of 120 in queue", "relevance order", "irrelevant", "recall ≥"):
                    assert part in shown, (width, part, lines)
                # A note and a search make it longer still: the stopping aid's short wording at 80 columns.
                await pilot.press("n")
                await pilot.pause()
                await pilot.press(*"check the dose", "enter", "slash")
                await pilot.pause()
                await pilot.press(*"baricitinib", "enter")
                await settle(pilot)
                shown, lines = status_shown(app)
                for part in ("title/abstract · alice", "done 2 · left 118 · conflicts waiting 0", "you: include",
                             "note ready", "1 of 60 in queue · search 'baricitinib'", "relevance order", *stopping):
                    assert part in shown, (width, part, lines)
                assert len(lines) == (3 if width == 80 else 2)
                assert "Randomised placebo-controlled" in " ".join(screen_lines(app))  # the card below it
            review.engine.dispose()
    finally:
        screen_module.RETRAIN_EVERY = old


def test_progress_parts_break_between_parts_only() -> None:
    """A line breaks between two parts (their " · " dropped), never inside one."""
    assert pack_parts(["done 1 · left 2", "record 3/9", "you: include"], 28) == [
        "done 1 · left 2 · record 3/9", "you: include"]
    assert pack_parts(["done 1 · left 2", "record 3/9"], 20) == ["done 1 · left 2", "record 3/9"]
    assert pack_parts(["a", "b"], 0) == ["a · b"]  # not laid out yet


async def test_many_exclusion_reasons_scroll_and_the_note_stays_in_the_box(review: Review) -> None:
    """16 exclusion reasons on 80×24: the list pushed the note's field below the dialog, so after tab
    the reviewer typed into a field they could not see. The reasons now scroll inside the dialog, and
    the note's label and field (with what is typed) stay in it."""
    from reviewkit.services import screen, screen_cards
    from reviewkit.services.project import open_review

    reasons = [f"Reason number {i}" for i in range(1, 17)]
    path = review.folder / "review.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("exclusion_reasons = [")
    end = text.index("]", start) + 1
    path.write_text(text[:start] + f"exclusion_reasons = {reasons!r}".replace("'", '"') + text[end:], encoding="utf-8")
    review = open_review(review.folder)
    (rid,) = _pass_title_abstract(review, 1)
    for size in ((80, 24), (80, 16), (160, 48)):
        app = make_app(review, reviewer="alice")
        async with app.run_test(size=size) as pilot:
            await open_screening(pilot, app, "ft")
            await pilot.press("e")
            await pilot.pause()
            modal = app.screen
            assert isinstance(modal, ChoiceModal)
            box = modal.query_one("Vertical")
            note = modal.query_one("#choice-text")
            assert box.region.bottom <= size[1] and box.region.contains_region(note.region), size
            assert "Note (optional)" in " ".join(screen_lines(app))
            await pilot.press("tab", *"mouse model")
            await pilot.pause()
            assert note.has_focus and "mouse model" in " ".join(screen_lines(app)), size
            await pilot.press("shift+tab", *["down"] * 13)
            await pilot.pause()
            assert "14. Reason number 14" in " ".join(screen_lines(app)), size  # scrolled to it
            if size == (160, 48):
                await pilot.press("escape")
                continue
            await pilot.press("enter")
            await settle(pilot)
            card = screen_cards.record_card(review, "alice", rid, "ft")
            assert card.own is not None and (card.own.reason, card.own.note) == ("Reason number 14", "mouse model")
            screen.undo_decision(review, "alice", rid, "ft")
    review.engine.dispose()
