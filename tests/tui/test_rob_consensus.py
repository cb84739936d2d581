"""Pilot tests for the risk-of-bias consensus: c opens the disagreements, enter settles one, s records it."""

from __future__ import annotations

import io

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Static

from reviewkit.domain import rob2
from reviewkit.services import assess, assess_consensus, assess_view
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.screens.rob import RobScreen
from reviewkit.tui.screens.rob_consensus import RobConsensusScreen
from tests.tui.rendered import line_with, lines_once, narrow_columns
from tests.tui.test_rob_form import add_study, settle

#: Everything else each assessor answers alike: D1 hinges on 1.2 (Y: low, N: high).
_OTHER = {"1.1": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y"}


def assess_all(review: Review, who: str, study_id: int, q12: str, finish: bool = True) -> AssessmentView:
    """`who`'s assessment of the study's IGA result, every question answered (1.2 as given)."""
    view = assess.start_assessment(review, who, study_id, "IGA")
    while view.unanswered():
        qid = view.unanswered()[0]
        view = assess.answer(review, who, view.id, qid, q12 if qid == "1.2" else _OTHER.get(qid, "N"))
    return assess.finish(review, who, view.id) if finish else view


def differing_on_1_2(review: Review) -> int:
    """A study alice (Y) and bob (N) have each assessed and finished, their answers differing on 1.2 only."""
    sid = add_study(review)
    assess_all(review, "alice", sid, "Y")
    assess_all(review, "bob", sid, "N")
    return sid


def consensus(review: Review) -> AssessmentView:
    """The stored consensus assessment, read back through the services."""
    found = [v for v in assess_view.all_views(review) if v.is_consensus]
    assert len(found) == 1
    return assess_view.assessment_view(review, "alice", found[0].id)


def items(screen: RobConsensusScreen) -> list[list[str]]:
    """The disagreement rows as shown."""
    table = screen.query_one("#consensus-items", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text(screen: RobConsensusScreen, selector: str) -> str:
    """A widget's content as plain text."""
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


async def open_consensus(pilot: Pilot[None], app: ReviewkitApp, review: Review, who: str,
                         study_id: int) -> RobConsensusScreen:
    """Open `who`'s RoB screen on the study's IGA result and press c."""
    app.push_screen(RobScreen(review, who, study_id=study_id, outcome="IGA"))
    await settle(pilot, app)
    await pilot.press("c")
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, RobConsensusScreen)
    return screen


async def test_lead_settles_a_question_and_records_the_consensus(rob2_review: Review) -> None:
    """Alice (lead) and Bob differ on 1.2; Alice picks Y and saves: the consensus has Y and D1 low."""
    sid = differing_on_1_2(rob2_review)
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_consensus(pilot, app, rob2_review, "alice", sid)
        assert items(screen) == [
            ["1.2", "Y", "N", "(to settle)"],
            ["D1 (judgement)", "Low risk", "High risk", "(from the answers)"],
            ["overall (judgement)", "Some concerns", "High risk", "(from the answers)"],
        ]
        await pilot.press("enter")  # the ChoiceModal of 1.2's answers
        await pilot.pause()
        assert app.screen is not screen
        await pilot.press("1")  # Y
        await pilot.pause()
        assert app.screen is screen and items(screen)[0][-1] == "Y"
        await pilot.press("s")
        await settle(pilot, app)
        assert "consensus recorded" in text(screen, "#consensus-status")
        assert "Low risk" in text(screen, "#consensus-judgements")
    stored = consensus(rob2_review)
    assert stored.answers["1.2"] == "Y" and stored.finished
    d1 = stored.domain("D1")
    algorithm = rob2.propose_domain("D1", {k: v for k, v in stored.answers.items() if k.startswith("1.")})
    assert algorithm.proposed is not None
    assert (d1.final, d1.overridden) == ("low", False) and d1.final == algorithm.proposed.value


async def test_refusals_show_the_services_message(rob2_review: Review) -> None:
    """Unfinished assessments and an assessor without co-signer are refused with the service's words."""
    sid = add_study(rob2_review)
    assess_all(rob2_review, "alice", sid, "Y")
    unfinished = assess_all(rob2_review, "bob", sid, "N", finish=False)
    app = make_app(rob2_review, reviewer="bob")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_consensus(pilot, app, rob2_review, "bob", sid)
        assert "once every independent assessment is finished" in text(screen, "#consensus-status")
        assert items(screen) == []
        await pilot.press("escape", "f")  # back to the form; Bob finishes
        await settle(pilot, app)
        await pilot.press("c")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RobConsensusScreen) and len(items(screen)) == 3
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("4")  # N
        await pilot.pause()
        await pilot.press("s")  # an assessor alone may not record it
        await settle(pilot, app)
        assert app.screen is screen
        assert "name them as co-signer" in text(screen, "#consensus-status")
        assert not [v for v in assess_view.all_views(rob2_review) if v.is_consensus]
        await pilot.press("w")
        await pilot.pause()
        await pilot.press(*"alice", "enter")
        await pilot.pause()
        await pilot.press("s")
        await settle(pilot, app)
        assert "consensus recorded" in text(screen, "#consensus-status")
    stored = consensus(rob2_review)
    assert stored.answers["1.2"] == "N" and stored.domain("D1").final == "high"
    assert unfinished.id != stored.id


async def test_settling_keeps_the_columns_as_wide_as_the_answers(rob2_review: Review) -> None:
    """After an item is settled the table is refilled: its columns still show every answer in full."""
    sid = differing_on_1_2(rob2_review)
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_consensus(pilot, app, rob2_review, "alice", sid)
        await pilot.press("enter")  # 1.2
        await pilot.pause()
        await pilot.press("2")  # PY
        await settle(pilot, app)
        assert app.screen is screen and items(screen)[0][-1] == "PY"
        assert narrow_columns(screen.query_one("#consensus-items", DataTable)) == []
        # As drawn (the tester saw "D1 (  Low r  Hig  (from the"):
        assert line_with(app, "D1 (judgement)").split() == ["D1", "(judgement)", "Low", "risk", "High", "risk",
                                                            "(from", "the", "answers)"]
        assert line_with(app, "overall (judgement)").split()[2:4] == ["Some", "concerns"]
        assert line_with(app, "Item").split() == ["Item", "alice", "bob", "Consensus"]


async def test_carol_picks_the_result_from_those_assessed(rob2_review: Review) -> None:
    """carol (adjudicator, no assessment of her own) presses c on a study in the list: the results
    someone assessed are offered to pick (nothing to type); a study no one assessed says so."""
    from reviewkit.tui.modals.choice import ChoiceModal

    sid = add_study(rob2_review)
    add_study(rob2_review, "BREEZE-AD2")
    assess_all(rob2_review, "alice", sid, "Y")
    assess_all(rob2_review, "bob", sid, "N")
    app = make_app(rob2_review, reviewer="carol")
    async with app.run_test(size=(160, 50)) as pilot:
        app.push_screen(RobScreen(rob2_review, "carol"))
        await settle(pilot, app)
        await pilot.press("c")  # the first row: BREEZE-AD1
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        assert not app.screen.query("#choice-text")
        await pilot.press("1")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RobConsensusScreen) and len(items(screen)) == 3
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.press("down", "c")  # BREEZE-AD2: no assessment
        await pilot.pause()
        assert isinstance(app.screen, RobScreen)
        assert any("No one has assessed BREEZE-AD2" in str(n.message) for n in app._notifications)


def finished_with(review: Review, who: str, study_id: int, answers: dict[str, str],
                  override: tuple[str, str, str] | None = None) -> AssessmentView:
    """`who`'s finished IGA assessment: `answers`, then _OTHER, then N for the rest; an optional override."""
    view = assess.start_assessment(review, who, study_id, "IGA")
    while view.unanswered():
        qid = view.unanswered()[0]
        view = assess.answer(review, who, view.id, qid, answers.get(qid, _OTHER.get(qid, "N")))
    if override is not None:
        assess.override(review, who, view.id, *override)
    return assess.finish(review, who, view.id)


async def test_an_override_among_differing_judgements_is_judged_on_the_screen(rob2_review: Review) -> None:
    """alice overrode D3 to High, bob kept the answers' Low: the row says so and is "(to decide)"; saving
    without judging it shows the service's refusal; judged High with a reason, the consensus keeps High."""
    sid = add_study(rob2_review)
    finished_with(rob2_review, "alice", sid, {"1.2": "Y"}, ("D3", "high", "30% dropout"))
    finished_with(rob2_review, "bob", sid, {"1.2": "Y"})
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_consensus(pilot, app, rob2_review, "alice", sid)
        assert items(screen) == [
            ["D3 (judgement)", "High risk (with reason)", "Low risk", "(to decide)"],
            ["overall (judgement)", "High risk", "Some concerns", "(from the answers)"],
        ]
        assert "1 judgement with an override to decide (D3)" in text(screen, "#consensus-status")
        await pilot.press("s")
        await settle(pilot, app)
        assert "30% dropout" in text(screen, "#consensus-status")
        assert not [v for v in assess_view.all_views(rob2_review) if v.is_consensus]
        await pilot.press("enter")  # D3: low / some concerns / high, each needing the reason
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        assert app.screen is not screen  # no reason yet
        await pilot.press(*"dropout confirmed", "enter")
        await settle(pilot, app)
        assert app.screen is screen and items(screen)[0][-1] == "High risk (override)"
        await pilot.press("s")
        await settle(pilot, app)
        assert "consensus recorded" in text(screen, "#consensus-status")
    d3 = consensus(rob2_review).domain("D3")
    assert (d3.final, d3.overridden, d3.justification) == ("high", True, "dropout confirmed")


async def test_x_makes_the_consensus_escalation_choice(rob2_review: Review) -> None:
    """alice has Some concerns in D4 only, bob in D5 only; the consensus settles both to Some concerns, so
    saving is refused until the overall is chosen: X, Some concerns with a reason, then it saves."""
    sid = add_study(rob2_review)
    finished_with(rob2_review, "alice", sid, {"1.2": "Y", "4.2": "NI", "5.1": "Y"})
    finished_with(rob2_review, "bob", sid, {"1.2": "Y"})
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_consensus(pilot, app, rob2_review, "alice", sid)
        assert [row[0] for row in items(screen)] == ["4.2", "5.1", "D4 (judgement)", "D5 (judgement)"]
        for code in ("5", "4"):  # 4.2 NI, then 5.1 N
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press(code)
            await settle(pilot, app)
            await pilot.press("down")
        await pilot.press("s")
        await settle(pilot, app)
        assert "Some concerns in D4, D5" in text(screen, "#consensus-status")
        await pilot.press("X")
        await pilot.pause()
        await pilot.press("2")  # Some concerns: not escalated, with the reason
        await pilot.press(*"minor", "enter")
        await settle(pilot, app)
        assert items(screen)[-1] == ["overall (judgement)", "—", "—", "Some concerns (override)"]
        await pilot.press("s")
        await settle(pilot, app)
        assert "consensus recorded" in text(screen, "#consensus-status")
    stored = consensus(rob2_review)
    assert stored.finished and stored.overall.final == "some_concerns" and stored.overall.justification == "minor"


async def test_reopened_consensus_starts_from_what_was_recorded(rob2_review: Review) -> None:
    """The consensus settled 1.2 Y and overrode D1 to High; opened again, both show as recorded (not "to
    settle"). Saved untouched, nothing changes; accept on D1 takes back the override, and the status says
    what that changed; then 1.2 settled N changes 1.2 and what it moves, nothing else."""
    sid = differing_on_1_2(rob2_review)
    assess_consensus.record_consensus(rob2_review, "alice", sid, "IGA", answers={"1.2": "Y"},
                            overrides={"D1": ("high", "baseline imbalance")})
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await open_consensus(pilot, app, rob2_review, "alice", sid)
        assert items(screen)[:2] == [["1.2", "Y", "N", "Y (recorded)"],
                                     ["D1 (judgement)", "Low risk", "High risk", "High risk (recorded)"]]
        assert "revising the consensus recorded before" in text(screen, "#consensus-status")
        await pilot.press("s")
        await settle(pilot, app)
        assert "nothing changed" in text(screen, "#consensus-status")
        await pilot.press("down", "enter")  # D1: low / some concerns / high / accept
        await pilot.pause()
        await pilot.press("4")
        await settle(pilot, app)
        assert items(screen)[1][-1] == "(from the answers)"
        await pilot.press("s")
        await settle(pilot, app)
        status = text(screen, "#consensus-status")
        assert "revised, 2 changes: D1 (judgement): high (baseline imbalance) → low; overall" in status, status
        await pilot.press("up", "enter")  # 1.2
        await pilot.pause()
        await pilot.press("4")  # N
        await settle(pilot, app)
        assert items(screen)[0][-1] == "N"
        await pilot.press("s")
        await settle(pilot, app)
        status = text(screen, "#consensus-status")
        assert "revised, 3 changes: 1.2: Y → N; D1 (judgement): low → high; overall" in status, status
        assert items(screen)[0][-1] == "N (recorded)"
    stored = consensus(rob2_review)
    assert stored.answers["1.2"] == "N" and (stored.domain("D1").final, stored.domain("D1").chosen) == ("high", False)


#: alice's support for 1.2: longer than any column or line of an 80-column terminal.
_LONG = ("Allocation by a central interactive web response system stratified by region and baseline severity "
         "(methods, p. 4); the supplement's CONSORT diagram shows the sequence was concealed until assignment, "
         "and baseline characteristics in Table 1 look balanced across the three arms [ITT].")


def with_support(review: Review, who: str, study_id: int, q12: str, support: str, finish: bool = True) -> None:
    """`who`'s assessment as assess_all makes it, with `support` for the answer to 1.2."""
    view = assess_all(review, who, study_id, q12, finish=False)
    assess.answer(review, who, view.id, "1.2", q12, support)
    if finish:
        assess.finish(review, who, view.id)


def shown_text(lines: list[str]) -> str:
    """The screen's words in order, however lines wrapped them."""
    return " ".join(" ".join(lines).split())


async def test_each_assessors_support_shows_beside_their_answer(rob2_review: Review) -> None:
    """alice (Y, a long support) and bob (N, a short one) differ on 1.2. While bob has not finished, the
    consensus shows neither (blinding). Once he has, the 1.2 row shows each answer with the start of its
    support and the consensus column still on screen (80×24); under the table, each support in full,
    wrapped; the choice of the consensus answer quotes each, the long one shortened."""
    sid = add_study(rob2_review)
    with_support(rob2_review, "alice", sid, "Y", _LONG)
    with_support(rob2_review, "bob", sid, "N", "No method of sequence generation described", finish=False)
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RobConsensusScreen(rob2_review, "alice", sid, "IGA", "BREEZE-AD1"))
        await settle(pilot, app)
        lines = await lines_once(pilot, app, lambda ls: any("once every independent" in line for line in ls))
        assert "sequence generation" not in shown_text(lines) and "interactive web" not in shown_text(lines)
        await pilot.press("escape")
        await settle(pilot, app)
        bob = next(v for v in assess_view.all_views(rob2_review) if v.assessor == "bob")
        assess.finish(rob2_review, "bob", bob.id)
        app.push_screen(RobConsensusScreen(rob2_review, "alice", sid, "IGA", "BREEZE-AD1"))
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RobConsensusScreen)
        assert items(screen)[0] == ["1.2", f"Y · {' '.join(_LONG.split())}",
                                    "N · No method of sequence generation described", "(to settle)"]
        lines = await lines_once(pilot, app, lambda ls: any("based the answer to 1.2 on" in line for line in ls))
        row = line_with(app, "(to settle)")
        assert row.split()[:3] == ["1.2", "Y", "·"] and "…" in row and "N · " in row
        panel = shown_text(lines[next(i for i, line in enumerate(lines) if "based the answer to 1.2" in line):])
        assert f"alice (Y): {' '.join(_LONG.split())}" in panel
        assert "bob (N): No method of sequence generation described" in panel
        assert "settle the highlighted item" in panel  # the keys still show below
        await pilot.press("down")  # D1's judgement: neither gave a reason
        await lines_once(pilot, app, lambda ls: any("based the judgement of D1 on" in line for line in ls))
        assert "alice (Low risk): none written" in line_with(app, "alice (Low risk)")
        await pilot.press("up", "enter")
        await pilot.pause()
        options = app.screen.query_one("#choice-options", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        yes = next(p for p in prompts if p.startswith("1. Y — alice: "))
        assert yes.endswith(" …") and len(yes) < len(_LONG) and yes[14:-2] in _LONG
        assert "4. N — bob: No method of sequence generation described" in prompts
