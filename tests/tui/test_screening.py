"""Pilot tests for the screening screen: deciding, undo, notes, blinding, full text, criteria, keys, search."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled

from reviewkit.config import UserConfig
from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_cards, screen_queue
from reviewkit.services.conflicts import resolve_conflict
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import ScreeningDecisionRow
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.help import HelpScreen
from reviewkit.tui.screens.screening import NO_REVIEWER, ScreeningScreen
from tests.factories import add_records, prioritised_review
from tests.tui.rendered import footer_line

SIZE = (120, 40)


async def wait_workers(app: ReviewkitApp) -> None:
    """Wait for every worker to end. An exclusive worker cancelled by a newer one of its group (the
    card of a row the cursor already left) is expected: wait_for_complete would raise for it."""
    for worker in list(app.workers):
        with suppress(WorkerCancelled):
            await worker.wait()


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages land."""
    await pilot.pause()
    await wait_workers(pilot.app)
    await pilot.pause()
    await wait_workers(pilot.app)
    await pilot.pause()


async def write_note(pilot: Pilot[None], text: str) -> None:
    """n, the note typed, enter: the note waits for the record's next decision."""
    await pilot.press("n")
    await pilot.pause()
    await pilot.press(*text, "enter")
    await pilot.pause()


def shown(app: ReviewkitApp) -> ScreeningScreen:
    """The screening screen on top."""
    assert isinstance(app.screen, ScreeningScreen)
    return app.screen


def card_text(app: ReviewkitApp) -> str:
    """The text of the record card."""
    return str(shown(app).card_view.render())


def status_text(app: ReviewkitApp) -> str:
    """The progress line."""
    return str(shown(app).query_one("#screening-status", Static).render())


def own(review: Review, reviewer: str, rid: int, stage: str = "ta") -> str | None:
    """The reviewer's stored decision on a record."""
    card = screen_cards.record_card(review, reviewer, rid, stage)
    return card.own.decision if card.own else None


async def open_screening(pilot: Pilot[None], app: ReviewkitApp, stage: str = "ta",
                         config: UserConfig | None = None, **kw: object) -> ScreeningScreen:
    """Push the screening screen (with a given user config) and wait for its first card."""
    await app.push_screen(ScreeningScreen(app.review, stage, app.reviewer, config=config or UserConfig(), **kw))
    await settle(pilot)
    return shown(app)


async def test_include_exclude_maybe_advance_and_are_stored(review: Review) -> None:
    """Each key stores its decision at once and the next record comes up; progress counts follow."""
    a, b, c, d = add_records(review, 4)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app).card_view.record_id == a
        assert "Trial 0 of baricitinib" in card_text(app)
        assert "done 0 · left 4" in status_text(app)
        await pilot.press("i")
        assert shown(app).card_view.record_id == b  # advanced before the write landed
        await pilot.press("e", "m")
        await settle(pilot)
        assert shown(app).card_view.record_id == d
        assert "done 3 · left 1" in status_text(app)
    assert [own(review, "alice", r) for r in (a, b, c, d)] == ["include", "exclude", "maybe", None]
    assert screen_queue.screening_queue(review, "alice", "ta") == [d]


async def test_undo_goes_back_to_the_record(review: Review) -> None:
    """u withdraws my last decision and shows that record again; j/k and arrows move through the queue."""
    a, b, _ = add_records(review, 3)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i", "e")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert shown(app).card_view.record_id == b
        assert own(review, "alice", b) is None and own(review, "alice", a) == "include"
        await pilot.press("k")
        assert shown(app).card_view.record_id == a
        await settle(pilot)
        assert "Your decision: include" in card_text(app)
        await pilot.press("down", "j")
        await settle(pilot)
        assert shown(app).card_view.record_id not in (a, b)
        await pilot.press("up")
        assert shown(app).card_view.record_id == b


async def test_undoing_a_change_of_mind_restores_the_earlier_decision(review: Review) -> None:
    """include, back, exclude, then u: the record is included again (not undecided); u again withdraws
    it; a third u has nothing left to undo."""
    a, _ = add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i", "k", "e")
        await settle(pilot)
        assert own(review, "alice", a) == "exclude"
        await pilot.press("u")
        await settle(pilot)
        assert shown(app).card_view.record_id == a
        assert own(review, "alice", a) == "include"
        assert "you: include" in status_text(app) and "done 1" in status_text(app)
        await pilot.press("u")
        await settle(pilot)
        assert own(review, "alice", a) is None
        assert "done 0" in status_text(app)
        await pilot.press("u")
        await settle(pilot)
        assert own(review, "alice", a) is None
    with session_scope(review.engine) as session:
        rows = session.exec(select(ScreeningDecisionRow).where(ScreeningDecisionRow.record_id == a)
                            .order_by(col(ScreeningDecisionRow.id))).all()
        assert [r.decision for r in rows] == ["include", "exclude", "include", "retracted"]  # every step kept


async def test_a_decision_after_adjudication_is_refused_and_shown_so(review: Review) -> None:
    """alice goes back to a record carol has adjudicated: her change is refused with the reason, and
    the record keeps her decision and the adjudicated outcome."""
    a, _ = add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        screen.record_decision(review, "bob", a, "ta", "exclude")
        resolve_conflict(review, "carol", a, "ta", "include")
        await pilot.press("k", "e")
        await settle(pilot)
        assert any("adjudicated" in str(n.message) for n in app._notifications)
        assert own(review, "alice", a) == "include"
        assert screen_cards.record_card(review, "alice", a, "ta").outcome == "included"


async def test_note_goes_with_the_next_decision(review: Review) -> None:
    """n asks for a note; it is stored with the decision that follows."""
    (rid,) = add_records(review, 1)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await write_note(pilot, "looks randomised")
        assert "note ready" in status_text(app)
        await pilot.press("i")
        await settle(pilot)
    card = screen_cards.record_card(review, "alice", rid, "ta")
    assert card.own is not None and card.own.note == "looks randomised"


async def test_bob_never_sees_alices_decision_before_deciding(review: Review) -> None:
    """Blinding: alice's decision and note stay hidden from bob until he has decided himself."""
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include", note="secret reasoning")
    app = make_app(review, reviewer="bob", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app).card_view.record_id == rid
        assert "alice" not in card_text(app) and "secret reasoning" not in card_text(app)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert "alice: include: secret reasoning" in card_text(app)


async def test_keywords_and_structured_abstract_are_shown(review: Review) -> None:
    """The card shows citation, identifiers and section labels, with keywords styled in two colours."""
    rec = Record(title="Baricitinib in mice with eczema", abstract="BACKGROUND: JAK inhibitors.\nMETHODS: placebo.",
                 authors=["Simpson EL", "Lacour JP"], journal="Br J Dermatol", year=2020, volume="183",
                 issue="2", pages="242-255", doi="10.1111/bjd.18898", pmid="32000000", nct_ids=["NCT03334396"],
                 publication_types=["Randomized Controlled Trial"], source_id="x")
    add_records(review, [rec])
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = shown(app).card_view
        text = card_text(app)
        for part in ("Simpson EL, Lacour JP", "Br J Dermatol. 2020;183(2):242-255", "PMID 32000000",
                     "DOI 10.1111/bjd.18898", "NCT03334396", "Randomized Controlled Trial", "BACKGROUND:"):
            assert part in text
        rich = view.render_card(screen_cards.record_card(review, "alice", view.record_id or 0, "ta"),
                                review.protocol.eligibility.include_keywords,
                                review.protocol.eligibility.exclude_keywords, stage="ta")
        styles = {rich.plain[s.start:s.end]: s.style for s in rich.spans}
        include_style, exclude_style = styles["Baricitinib"], styles["mice"]
        assert include_style != exclude_style
        assert styles["eczema"] == include_style and styles["placebo"] == include_style


async def test_criteria_panel_toggles(review: Review) -> None:
    """t hides and shows the protocol's eligibility criteria."""
    add_records(review, 1)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = shown(app).query_one("#criteria")
        assert panel.display and "Placebo comparator" in str(panel.render())
        await pilot.press("t")
        assert not panel.display
        await pilot.press("t")
        assert panel.display


async def test_keys_remap_from_the_user_config(review: Review) -> None:
    """[keys] include = "y" makes y include (and help says so), and i no longer does."""
    a, b = add_records(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, config=UserConfig(keys={"include": "y", "next": "l"}))
        await pilot.press("i")
        await settle(pilot)
        assert own(review, "alice", a) is None and shown(app).card_view.record_id == a
        await pilot.press("y")
        await settle(pilot)
        assert own(review, "alice", a) == "include" and shown(app).card_view.record_id == b
        footer = footer_line(app)  # the footer names the remapped key, not the default
        assert "y Include" in footer and "i Include" not in footer
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = str(app.screen.query_one("#help-text", Static).render()).splitlines()
        assert any("Include" in line and " y " in f" {line} " for line in lines)


async def test_search_filters_the_queue(review: Review) -> None:
    """/ narrows the queue to records mentioning a text; an empty search shows the whole queue again."""
    records = [Record(title=t, abstract=ab, source_id=str(i)) for i, (t, ab) in enumerate([
        ("Baricitinib in atopic dermatitis", ""), ("Tofacitinib trial", "mentions PSORIASIS here"),
        ("Another baricitinib trial", ""), ("Psoriasis cohort", "")])]
    ids = add_records(review, records)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"psoriasis", "enter")
        await settle(pilot)
        assert shown(app).card_view.record_id == ids[1]
        assert "1 of 2 in queue" in status_text(app) and "search 'psoriasis'" in status_text(app)
        await pilot.press("j")
        await settle(pilot)
        assert shown(app).card_view.record_id == ids[3]
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press("ctrl+a", "ctrl+k", "enter")
        await settle(pilot)
        assert shown(app).card_view.record_id == ids[3] and "4 of 4 in queue" in status_text(app)


async def test_a_finished_queue_says_so_without_offering_a_way_back(review: Review) -> None:
    """Opening the screen with every record decided says there is nothing left (no "press k"); running
    out of records in the session offers k to go back."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "include")
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app).card_view.record_id == b
        await pilot.press("e")
        await settle(pilot)
        assert "No more records in your title/abstract queue. Press k to go back" in card_text(app)
    screen.record_decision(review, "alice", b, "ta", "exclude")
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = card_text(app)
        assert "Nothing waits for you at title/abstract" in text and "Press k" not in text


async def test_refused_decision_is_shown_and_not_marked(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decision the service refuses is reported as an error and the record stays undecided."""
    (rid,) = add_records(review, 1)

    def refuse(*args: object, **kw: object) -> None:
        raise ReviewkitError("database is read-only")

    monkeypatch.setattr(screen, "record_decision", refuse)
    app = make_app(review, reviewer="alice", stage="ta")
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(message))
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert shown(app).card_view.record_id == rid
        assert "you: include" not in status_text(app)
    assert any("not saved" in n and "read-only" in n for n in notes)
    assert own(review, "alice", rid) is None


async def test_without_a_reviewer_the_screen_says_how(review: Review) -> None:
    """With no reviewer the screen asks for --reviewer; a non-screener sees the service's refusal."""
    add_records(review, 1)
    app = make_app(review, stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert NO_REVIEWER in card_text(app)
    app = make_app(review, reviewer="carol", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "not a screener" in card_text(app)


def _pass_title_abstract(review: Review, n: int) -> list[int]:
    ids = add_records(review, n)
    for rid in ids:
        for who in ("alice", "bob"):
            screen.record_decision(review, who, rid, "ta", "include")
    return ids


async def test_full_text_exclusion_asks_for_a_reason(review: Review) -> None:
    """At full text, e opens the reason picker; the chosen protocol reason and note are stored."""
    a, b = _pass_title_abstract(review, 2)
    app = make_app(review, reviewer="alice", stage="ft")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app).card_view.record_id == a
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("escape")
        await pilot.pause()
        assert shown(app).card_view.record_id == a  # cancelled: nothing decided
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("tab", *"mouse model", "shift+tab", "1")
        await settle(pilot)
        assert shown(app).card_view.record_id == b
    card = screen_cards.record_card(review, "alice", a, "ft")
    assert card.own is not None
    assert (card.own.decision, card.own.reason, card.own.note) == ("exclude", "Animal study", "mouse model")


async def test_no_full_text_names_the_remapped_status_key(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """o on a record with no full text says which key records it: the remapped one (it said "press f"
    whatever full_text_status was mapped to), and that key opens the status picker."""
    _pass_title_abstract(review, 1)
    notes: list[str] = []
    monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft", config=UserConfig(keys={"full_text_status": "g"}))
        await pilot.press("o")
        await settle(pilot)
        assert notes == ["No full text recorded for this record: press g to say where it is"]
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)


async def test_full_text_status_and_open(review: Review, tmp_path: Path) -> None:
    """f records where the full text is; o opens it with the (injected) system viewer."""
    (rid,) = _pass_title_abstract(review, 1)
    opened: list[str] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft", opener=opened.append)
        await pilot.press("o")
        await settle(pilot)
        assert opened == []
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("2")  # retrieved, but no location yet: refused in the picker
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press(*"pdfs/a.pdf", "enter")
        await settle(pilot)
        assert "Full text: retrieved (pdfs/a.pdf)" in card_text(app)
        await pilot.press("o")
        await settle(pilot)
    assert opened == [str(review.folder / "pdfs" / "a.pdf")]
    card = screen_cards.record_card(review, "alice", rid, "ft")
    assert (card.full_text_status, card.full_text_location) == ("retrieved", "pdfs/a.pdf")


async def test_dashboard_keys_open_screening_and_counts_refresh(review: Review) -> None:
    """s opens screening from the dashboard (listed in help); coming back shows the new counts."""
    add_records(review, 2)
    screen.record_decision(review, "bob", 1, "ta", "include")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_text = str(app.screen.query_one("#help-text", Static).render())
        assert "Screen titles/abstracts" in help_text and "Conflicts" in help_text
        await pilot.press("escape", "s")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.status is not None and app.screen.status.ta.included == 1


def test_cli_screen_opens_the_app_on_a_stage(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """`reviewkit screen --stage ft` and the global --reviewer open the app on the screening screen."""
    from reviewkit.cli import cli

    seen: list[tuple[str | None, str | None]] = []
    monkeypatch.setattr(ReviewkitApp, "run", lambda self: seen.append((self.reviewer, self.start_stage)))
    runner = CliRunner()
    for args, expected in ((["--reviewer", "bob", "screen"], ("bob", "ta")),
                           (["screen", "--stage", "ft", "--reviewer", "alice"], ("alice", "ft"))):
        result = runner.invoke(cli, ["-C", str(review.folder), *args])
        assert result.exit_code == 0, result.output
        assert seen[-1] == expected


async def test_a_clashing_key_remap_is_reported(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Remapping include onto exclude's key warns that exclude lost its key."""
    add_records(review, 1)
    app = make_app(review, reviewer="alice")
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(message))
        monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
        await open_screening(pilot, app, config=UserConfig(keys={"include": "e"}))
    assert any("Exclude (e)" in n for n in notes)


async def test_two_actions_remapped_onto_one_key_keep_both_working(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """include = "y" and exclude = "y": y went to one of them and the other lost every key without a word
    (Exclude left the footer). The second is refused, named, and keeps its default key; both decide."""
    a, b = add_records(review, 2)
    notes: list[str] = []
    monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, config=UserConfig(keys={"include": "y", "exclude": "y"},
                                                           path=Path("/home/me/config.toml")))
        (warning,) = notes
        assert warning == ('/home/me/config.toml: [keys] ignored, default keys kept: exclude = "y": '
                           "y is already Include's key in [keys]; Exclude keeps e")
        footer = footer_line(app)
        assert "y Include" in footer and "e Exclude" in footer
        await pilot.press("y", "e")
        await settle(pilot)
        assert (own(review, "alice", a), own(review, "alice", b)) == ("include", "exclude")


async def test_shift_with_a_letter_is_refused_for_the_capital(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal sends shift+y as "Y": include = "shift+y" was accepted and never fired, so nothing
    included. It is refused saying to write "Y" (i still includes); maybe = "M" works with shift+m."""
    a, b = add_records(review, 2)
    notes: list[str] = []
    monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, config=UserConfig(keys={"include": "shift+y", "maybe": "M"}))
        (warning,) = notes
        assert """include = "shift+y": no such key 'shift+y' (write "Y")""" in warning
        assert "M Maybe" in footer_line(app)
        await pilot.press("i", "M")
        await settle(pilot)
        assert (own(review, "alice", a), own(review, "alice", b)) == ("include", "maybe")


async def test_a_key_taken_from_a_two_key_action_names_the_key_left(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """[keys] note = "j" takes j from Next, which still moves on down: the warning says so (it said Next had
    lost "j,down"), and down moves to the next record."""
    a, b = add_records(review, 2)
    app = make_app(review, reviewer="alice")
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
        await open_screening(pilot, app, config=UserConfig(keys={"note": "j"}))
        assert any("takes keys the screen uses: Next loses j (still on down)" in n for n in notes), notes
        assert shown(app).card_view.record_id == a
        await pilot.press("down")
        await settle(pilot)
        assert shown(app).card_view.record_id == b


async def test_fast_keys_keep_their_order_and_survive_leaving(review: Review) -> None:
    """i then u at once leaves no decision; i then escape at once still stores the decision."""
    a, b = add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i", "u")
        await settle(pilot)
        assert own(review, "alice", a) is None and shown(app).card_view.record_id == a
        await pilot.press("i", "escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert own(review, "alice", a) == "include" and own(review, "alice", b) is None


def test_record_queue_walks_searches_and_bounds_its_cache() -> None:
    """The queue moves within bounds, narrows and widens around the current record, and evicts far cards."""
    from dataclasses import replace

    from reviewkit.tui.record_queue import BATCH, FIRST, LOOKAHEAD, RecordQueue

    queue = RecordQueue()
    queue.load(list(range(1, 1001)))
    assert queue.wanted() == list(range(1, 1 + FIRST))
    assert not queue.move(-1) and queue.current == 1
    card = screen_cards.RecordCard(id=0, title="", abstract="", authors=(), year=None, journal="", volume="", issue="",
                             pages="", doi=None, pmid=None, nct_ids=(), publication_types=(), kind="citation",
                             own=None, others=None, outcome="unscreened")
    queue.keep([replace(card, id=i) for i in range(1, 3)])
    assert queue.wanted() == list(range(3, 3 + BATCH))
    assert queue.narrow("x", {5, 900}) and queue.ids == [5, 900] and queue.current == 5
    assert not queue.narrow("y", {5000}) and queue.filter == "x"
    queue.move(1)
    queue.widen()
    assert queue.current == 900 and queue.position() == "900 of 1000 in queue"
    queue.keep([replace(card, id=i) for i in range(1, 1001)])
    assert len(queue.cards) <= 3 * LOOKAHEAD and 900 in queue.cards
    queue.index = len(queue.ids) - 1
    assert queue.move(1) and queue.current is None and not queue.move(1)
    # Past the end of a search, clearing it goes to the first record not yet decided.
    queue.narrow("z", {2, 3})
    queue.move(2)
    assert queue.current is None
    queue.widen(skip={1, 2, 3})
    assert queue.current == 4 and queue.filter == ""


async def test_prioritised_queue_lifts_relevant_records(tmp_path: Path) -> None:
    """With prioritise on, after an exclude and an include the other baricitinib trials come next,
    and the progress line shows the stopping aid."""
    from reviewkit.domain.records import Record
    from reviewkit.tui.screens import screening as screen_module

    review = prioritised_review(tmp_path)
    relevant = [Record(title=f"Randomised placebo-controlled trial of baricitinib in atopic dermatitis {i}")
                for i in range(5)]
    other = [Record(title=f"Hip fracture surgery outcomes in older adults {i}") for i in range(5)]
    ids = add_records(review, [x for pair in zip(other, relevant, strict=True) for x in pair])
    app = make_app(review, reviewer="alice", stage="ta")
    old, screen_module.RETRAIN_EVERY = screen_module.RETRAIN_EVERY, 2
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert shown(app).queue.current == ids[0]  # import order before any decision
            await pilot.press("e")  # hip fracture surgery: exclude
            await settle(pilot)
            await pilot.press("i")  # baricitinib trial: include
            await settle(pilot)
            await settle(pilot)
            queue = shown(app).queue
            ahead = queue.ids[queue.index + 1:]  # the record on screen stays where it is
            assert set(ahead[:4]) == set(ids[3::2])  # then the other baricitinib trials
            assert "relevance order" in status_text(app) and "since the last relevant" in status_text(app)
    finally:
        screen_module.RETRAIN_EVERY = old


async def test_a_prioritised_queue_opens_before_its_ranking_is_ready(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranking's features take seconds at tens of thousands of records, and the screen waited for them
    before showing any record. Now the first card is the queue's at once; the ranking, when it comes,
    orders the records after it."""
    import threading

    from reviewkit.services.prioritise import prioritised_queue
    from reviewkit.tui.screens import screening as screen_module

    review = prioritised_review(tmp_path)
    relevant = [Record(title=f"Randomised placebo-controlled trial of baricitinib in atopic dermatitis {i}")
                for i in range(4)]
    other = [Record(title=f"Hip fracture surgery outcomes in older adults {i}") for i in range(4)]
    ids = add_records(review, [x for pair in zip(other, relevant, strict=True) for x in pair])
    screen.record_decision(review, "alice", ids[0], "ta", "exclude")  # alice has screened two already:
    screen.record_decision(review, "alice", ids[1], "ta", "include")  # a ranking has labels to fit
    release = threading.Event()

    def slow_ranking(*args: object) -> object:
        assert release.wait(30)
        return prioritised_queue(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(screen_module, "prioritised_queue", slow_ranking)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):  # the ranking is held: only the queue can have put a record on the card
            await pilot.pause(0.02)
            if shown(app).card_view.record_id is not None:
                break
        assert shown(app).card_view.record_id == ids[2]  # the queue's first record
        release.set()
        await settle(pilot)
        queue = shown(app).queue
        assert queue.current == ids[2] and "relevance order" in status_text(app)
        assert set(queue.ids[queue.index + 1:][:3]) == set(ids[3::2])  # the baricitinib trials next


async def test_leaving_screening_puts_its_frozen_objects_back_in_reach_of_the_collector(tmp_path: Path) -> None:
    """The screen freezes what the process holds (gc.freeze, process-wide) so that a full collection does
    not hold up a key; once left, the frozen objects go back to the collector, or a left screen's
    widgets, caught in reference cycles, would stay in memory for the rest of the session."""
    import gc

    review = prioritised_review(tmp_path)
    add_records(review, [Record(title=f"Baricitinib in atopic dermatitis {i}") for i in range(4)])
    screen.record_decision(review, "alice", 1, "ta", "include")
    screen.record_decision(review, "alice", 2, "ta", "exclude")
    before = gc.get_freeze_count()
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await settle(pilot)
        assert shown(app)._ranked is not None  # the first card and the first ranking both froze
        assert gc.get_freeze_count() > before
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert gc.get_freeze_count() == 0


def test_a_refused_undo_puts_the_decision_back() -> None:
    """include then exclude on record 1; u restores include but the database refuses (say it was
    adjudicated meanwhile): the log shows exclude again, and u offers the same undo again."""
    from reviewkit.tui.decision_log import DecisionLog

    log = DecisionLog()
    log.made(1, "include")
    log.made(1, "exclude", "Review", None)
    undone = log.undoing()
    assert undone == (1, ("include", None, None)) and log.mine[1] == "include"
    log.failed(1, "include", undo=True)
    assert log.mine[1] == "exclude" and log.held[1] == ("exclude", "Review", None)
    assert log.undoing() == (1, ("include", None, None))
    log.recorded(1, "include", "in_progress", undo=True)
    assert log.undoing() == (1, None) and 1 not in log.mine


async def test_an_unknown_action_in_the_keys_is_refused_naming_the_file(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[keys] incldue = "y" (a typo) was ignored without a word: the screen now names the config file,
    the setting and the known actions, and i still includes."""
    import os

    a, _ = add_records(review, 2)
    path = Path(os.environ["REVIEWKIT_CONFIG"])
    path.write_text('[keys]\nincldue = "y"\nnext = "l"\n', encoding="utf-8")
    notes: list[str] = []
    monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ScreeningScreen(review, "ta", "alice"))  # reads the user config
        await settle(pilot)
        (warning,) = notes
        assert str(path) in warning and 'incldue = "y": no such action' in warning and "include, exclude" in warning
        await pilot.press("y")
        await settle(pilot)
        assert own(review, "alice", a) is None
        await pilot.press("i")
        await settle(pilot)
        assert own(review, "alice", a) == "include"
        await pilot.press("k", "l")  # the valid remapping beside it applies
        await settle(pilot)
        assert shown(app).queue.index == 1


async def test_a_remap_onto_an_app_key_is_refused_and_the_app_key_kept(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """include = "q" took Quit, maybe = "?" (or question_mark) took Help, without a word: each is refused
    with a warning naming the setting and the app's key; the default keys stay, and q and ? still work."""
    a, b = add_records(review, 2)
    keys = {"include": "q", "maybe": "?", "exclude": "question_mark", "undo": "escape", "note": "ctrl+p"}
    notes: list[str] = []
    monkeypatch.setattr(ScreeningScreen, "notify", lambda self, message, **kw: notes.append(message))
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, config=UserConfig(keys=keys, path=Path("/home/me/config.toml")))
        (warning,) = notes
        assert warning.startswith("/home/me/config.toml: [keys]")
        for part in ('include = "q": q is the app\'s key for Quit; Include keeps i',
                     'maybe = "?": ? is the app\'s key for Help; Maybe keeps m',
                     "question_mark is the app's key for Help; Exclude keeps e",
                     "escape is the app's key for Back", "ctrl+p is the app's key for Command palette"):
            assert part in warning, part
        await pilot.press("i", "e")
        await settle(pilot)
        assert (own(review, "alice", a), own(review, "alice", b)) == ("include", "exclude")
        footer = footer_line(app)
        assert "i Include" in footer and "? Help" in footer and "q Quit" in footer
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")  # still back to the dashboard
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_checked_keymap_normalises_and_keeps_an_actions_own_key() -> None:
    """A key typed as a character is read as Textual names it; an action may keep its own default key
    among its new ones (back = "escape,b"); an empty key is refused."""
    from reviewkit.tui.app import reserved_keys
    from reviewkit.tui.screening_keys import checked_keymap

    keymap, refused = checked_keymap({"search": "?", "back": "escape, b", "next": "l, down", "undo": " "},
                                     reserved_keys())
    assert keymap == {"back": "escape,b", "next": "l,down"}
    assert refused == ['search = "?": ? is the app\'s key for Help; Search keeps /',
                       'undo = " ": no key given; Undo keeps u']


def test_checked_keymap_refuses_a_key_no_key_press_matches() -> None:
    """A key name Textual never sends ("yes", "spacebar", "ctl+y") would take the action's default key and
    give it none that works, unsaid: refused, naming it, and the default kept. Named keys, modified keys
    and any one character still apply."""
    from reviewkit.tui.app import reserved_keys
    from reviewkit.tui.screening_keys import checked_keymap

    keymap, refused = checked_keymap({"include": "yes", "exclude": "x, spacebar", "maybe": "ctl+y",
                                      "note": "ctrl+n", "next": "space, pagedown", "previous": "Ä, full_stop",
                                      "undo": "f5"}, reserved_keys())
    assert keymap == {"note": "ctrl+n", "next": "space,pagedown", "previous": "Ä,full_stop", "undo": "f5"}
    assert [r.split(":")[0] for r in refused] == ['include = "yes"', 'exclude = "x, spacebar"', 'maybe = "ctl+y"']
    assert "no such key 'yes'" in refused[0] and refused[0].endswith("Include keeps i")
    assert "no such key 'spacebar'" in refused[1]
    assert "no such key 'ctl+y'" in refused[2] and "ctrl+" in refused[2]


def test_checked_keymap_refuses_letters_named_as_no_terminal_sends_them() -> None:
    """A terminal sends shift+y as "Y" and ctrl with shift+y as "ctrl+shift+y": "shift+y" and "ctrl+Y" never
    fired. Each is refused with the name to write; "Y", "ctrl+shift+y" and "alt+shift+y" apply."""
    from reviewkit.tui.app import reserved_keys
    from reviewkit.tui.screening_keys import checked_keymap

    keymap, refused = checked_keymap({"include": "shift+y", "exclude": "ctrl+X", "maybe": "Y",
                                      "note": "ctrl+shift+n", "undo": "alt+shift+u"}, reserved_keys())
    assert keymap == {"maybe": "Y", "note": "ctrl+shift+n", "undo": "alt+shift+u"}
    assert """no such key 'shift+y' (write "Y")""" in refused[0] and refused[0].endswith("Include keeps i")
    assert """no such key 'ctrl+X' (write "ctrl+shift+x")""" in refused[1]


def test_checked_keymap_suggests_the_lower_case_of_capitalised_modifiers_and_names() -> None:
    """Textual names modifiers and named keys in lower case: "Ctrl+x" and "PageDown" never fired and were
    refused with no suggestion. Each is refused with the lower-case form to write ("Ctrl+X" with the
    capital's shift, "Shift+y" as the capital); a name no case makes a key gets none."""
    from reviewkit.tui.app import reserved_keys
    from reviewkit.tui.screening_keys import checked_keymap

    keymap, refused = checked_keymap({"include": "Ctrl+x", "exclude": "PageDown", "maybe": "Ctrl+X",
                                      "note": "Shift+y", "undo": "Alt+Enter", "next": "Ctl+j"}, reserved_keys())
    assert keymap == {}
    assert """no such key 'Ctrl+x' (write "ctrl+x")""" in refused[0] and refused[0].endswith("Include keeps i")
    assert """no such key 'PageDown' (write "pagedown")""" in refused[1]
    assert """no such key 'Ctrl+X' (write "ctrl+shift+x")""" in refused[2]
    assert """no such key 'Shift+y' (write "Y")""" in refused[3]
    assert """no such key 'Alt+Enter' (write "alt+enter")""" in refused[4]
    assert "no such key 'Ctl+j' (a key is" in refused[5]
