"""An escalation choice lapses once it is no longer a choice; a lead's edit that leaves a finished consensus
incomplete reopens it.

rob2.md §7: escalating to High is the assessor's call only when two or more domains are Some concerns and
none is High. The choice ("yes": High, "no": Some concerns, each with a reason) was stored as the overall's
judgement; "no" lapsed when the answers changed the proposal, but "yes" looked like an override and stayed
High (with a reason written for two weak domains) after the answers left one, none, or made a domain High.
And a lead's direct change of a finished consensus could leave a domain unjudged, or the escalation choice
open, while it stayed finished: plots and summaries showed the incomplete judgement as final.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, assess_summary
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AuditEventRow
from tests.services.test_assess import ALL_LOW, add_study, fill
from tests.services.test_rob_consensus_overrides import TWO_CONCERNS, assessed

WHY = "together they undermine it"


def escalated(review: Review) -> int:
    """alice's assessment, D4 and D5 at Some concerns, finished escalated to High, then reopened."""
    aid = assess.start_assessment(review, "alice", add_study(review), "IGA").id
    fill(review, "alice", aid, TWO_CONCERNS)
    assert assess.finish(review, "alice", aid, escalate=True, reason=WHY).overall.final == "high"
    assess.reopen(review, "alice", aid)
    return aid


@pytest.mark.parametrize(("answers", "final", "said"), [
    ({"5.1": "Y"}, "some_concerns", "only D4 is Some concerns"),
    ({"4.2": "N", "5.1": "Y"}, "low", "every domain is Low"),
])
def test_an_escalation_lapses_once_it_is_no_longer_a_choice(rob2_review: Review, answers: dict[str, str],
                                                            final: str, said: str) -> None:
    """After escalating, the answers leave one domain (or none) at Some concerns: the overall is what the
    domains give, not High kept by a reason written for two weak domains; finishing says so."""
    aid = escalated(rob2_review)
    view = fill(rob2_review, "alice", aid, answers)
    o = view.overall
    assert (o.final, o.overridden, o.chosen, o.justification) == (final, False, False, "")
    assert not view.escalation_required
    done = assess.finish(rob2_review, "alice", aid)
    assert done.finished and done.overall.final == final
    (note,) = done.notes
    assert "High (escalated)" in note and WHY in note and "no longer applies" in note and said in note


def test_an_escalation_lapses_when_a_domain_becomes_high(rob2_review: Review) -> None:
    """D1 becomes High: the overall is High from the domains, no longer a choice recorded with a reason."""
    aid = escalated(rob2_review)
    view = assess.answer(rob2_review, "alice", aid, "1.2", "N")
    assert (view.overall.final, view.overall.chosen, view.overall.justification) == ("high", False, "")
    assert "a domain is High" in view.notes[0]


def test_an_escalation_stands_while_it_is_still_a_choice(rob2_review: Review) -> None:
    """D1 joins D4 and D5 at Some concerns: still a choice, so it stands (and comes back if it was one
    again after lapsing, as "not escalated" does)."""
    aid = escalated(rob2_review)
    view = assess.answer(rob2_review, "alice", aid, "1.3", "Y")
    assert view.concerns == ("D1", "D4", "D5") and view.overall.final == "high" and view.overall.chosen
    assert view.notes == ()
    assert fill(rob2_review, "alice", aid, {"4.2": "N", "5.1": "Y"}).overall.final == "some_concerns"
    back = assess.answer(rob2_review, "alice", aid, "5.1", "N")
    assert (back.overall.final, back.overall.justification, back.notes) == ("high", WHY, ())


def test_not_escalating_lapses_when_one_concern_is_left(rob2_review: Review) -> None:
    """"No" with its reason is no longer a choice either with one Some concerns left: it is not shown as kept."""
    aid = assess.start_assessment(rob2_review, "alice", add_study(rob2_review), "IGA").id
    fill(rob2_review, "alice", aid, TWO_CONCERNS)
    assess.finish(rob2_review, "alice", aid, escalate=False, reason="minor")
    assess.reopen(rob2_review, "alice", aid)
    view = assess.answer(rob2_review, "alice", aid, "5.1", "Y")
    assert (view.overall.final, view.overall.chosen) == ("some_concerns", False)
    assert "Some concerns (not escalated)" in view.notes[0]


def test_an_overall_override_that_was_no_escalation_stands(rob2_review: Review) -> None:
    """High over one Some concerns (no escalation choice then) is an override: it stands like a domain's."""
    aid = assess.start_assessment(rob2_review, "alice", add_study(rob2_review), "IGA").id
    fill(rob2_review, "alice", aid, {**ALL_LOW, "4.2": "NI"})
    assess.override(rob2_review, "alice", aid, "overall", "high", "press-release results")
    view = assess.answer(rob2_review, "alice", aid, "1.1", "PY")
    assert (view.overall.final, view.overall.overridden, view.notes) == ("high", True, ())


# --- a lead's edit of a finished consensus -------------------------------------------------------------


def consensus(review: Review) -> int:
    """The finished consensus of alice and bob, who differ on 2.1 only (N, PN: both D2 Low)."""
    sid = add_study(review)
    assessed(review, "alice", sid, ALL_LOW)
    assessed(review, "bob", sid, {**ALL_LOW, "2.1": "PN"})
    view = assess_consensus.record_consensus(review, "carol", sid, "IGA", answers={"2.1": "N"})
    assert view.finished
    return view.id


def reopen_events(review: Review) -> list[AuditEventRow]:
    with session_scope(review.engine) as s:
        return [e for e in s.exec(select(AuditEventRow).where(AuditEventRow.action == "reopen"))
                if e.entity == "rob_judgement"]


def test_an_edit_leaving_the_consensus_incomplete_reopens_it(rob2_review: Review) -> None:
    """carol answers 2.1 Y: 2.3 now applies, unanswered, so D2 is not judged. The consensus is reopened
    (audited, the answers kept), leaves the summary, and is finished again once complete."""
    cid = consensus(rob2_review)
    assert len(assess_summary.rob_summary(rob2_review)) == 1
    view = assess.answer(rob2_review, "carol", cid, "2.1", "Y")
    assert not view.finished and view.domain("D2").final is None
    (note,) = view.notes
    assert f"consensus assessment {cid} is reopened" in note and "no judgement for D2" in note and "2.3" in note
    (event,) = reopen_events(rob2_review)
    assert event.actor == "carol" and event.new is not None and event.new["final"] == "open"
    assert assess_summary.rob_summary(rob2_review) == []
    with session_scope(rob2_review.engine) as s:
        assert store.current_answers(s, cid)["2.1"].answer == "Y"
    with pytest.raises(ReviewkitError, match="no judgement for D2"):
        assess.finish(rob2_review, "carol", cid)
    assess.answer(rob2_review, "carol", cid, "2.3", "N")
    assert assess.finish(rob2_review, "carol", cid).finished
    assert len(assess_summary.rob_summary(rob2_review)) == 1


def test_an_edit_that_keeps_the_consensus_complete_keeps_it_finished(rob2_review: Review) -> None:
    cid = consensus(rob2_review)
    view = assess.override(rob2_review, "carol", cid, "D3", "high", "dropout")
    assert view.finished and view.notes == () and reopen_events(rob2_review) == []


def test_taking_back_the_escalation_choice_reopens_the_consensus(rob2_review: Review) -> None:
    """Both chose not to escalate and the consensus carries it; carol takes it back: the choice is open
    again, so the consensus is reopened until it is made."""
    sid = add_study(rob2_review)
    for who in ("alice", "bob"):
        assessed(rob2_review, who, sid, TWO_CONCERNS, escalate=False, reason=f"{who}: minor")
    cid = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA").id
    view = assess.override(rob2_review, "carol", cid, "overall", None)
    assert not view.finished and view.escalation_required
    assert "Some concerns in D4, D5" in view.notes[0] and "--override overall=high:REASON" in view.notes[0]
    assert assess_summary.rob_summary(rob2_review) == []
    again = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA",
                                              overrides={"overall": ("some concerns", "minor after all")})
    assert again.finished


def test_the_tui_judgements_panel_says_the_choice_lapsed(rob2_review: Review) -> None:
    from rich.console import Console

    from reviewkit.tui.widgets.rob_judgements import judgements_table
    aid = escalated(rob2_review)
    view = assess.answer(rob2_review, "alice", aid, "5.1", "Y")
    console = Console(width=400, record=True)
    console.print(judgements_table(view))
    assert "Note: the escalation choice recorded for the overall, High (escalated)" in console.export_text()
