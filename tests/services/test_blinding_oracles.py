"""Blinding through all-or-nothing imports: a refusal must not depend on a decision still blinded to the importer.

An import is checked row by row against the review with the file's earlier rows in it, then stored whole or
not at all. A non-lead's own rows may complete a record (or an assessment) inside the file; a later row
checked against the completed state would then be accepted or refused according to another reviewer's
blinded decision, and a refusal stores nothing: the importer would learn that decision without having
decided. These tests import one file against two reviews that differ only in the other reviewer's
blinded decision and require the same answer from both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_view, screen, screen_cards
from reviewkit.services.assess_import import import_rob
from reviewkit.services.decisions_import import import_decisions
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store import rob as rob_store
from reviewkit.store import screening as store_screening
from reviewkit.store.db import session_scope
from tests.extraction_team import with_team
from tests.factories import add_records

HEADER = "record,reviewer,stage,decision,reason,note,time\n"
ROB_HEADER = "study,outcome,assessor,consensus,tool,variant,question,answer,support\n"


def _outcome(call) -> str:  # noqa: ANN001 - a zero-argument callable
    try:
        return f"ok {call()}"
    except ReviewkitError as exc:
        return f"refused {exc.message}"


@pytest.mark.parametrize("alice", ["include", "exclude"])
def test_a_screeners_full_text_row_cannot_probe_a_blinded_title_abstract_decision(
        review: Review, tmp_path: Path, alice: str) -> None:
    """alice has decided record a at title/abstract, bob has not. bob's file holds his own title/abstract
    include and then a full-text row: before the fix it was stored when alice had included a and refused
    (storing nothing, so bob still had not decided) when she had excluded it. Now it is refused the same way
    whatever alice decided, and bob, having stored his title/abstract decision, imports the full-text row."""
    (a,) = add_records(review, 1)
    screen.record_decision(review, "alice", a, "ta", alice)
    probe = tmp_path / "probe.csv"
    probe.write_text(HEADER + f"{a},bob,ta,include,,,\n{a},bob,ft,include,,,\n")
    answer = _outcome(lambda: import_decisions(review, probe, actor="bob", ids="reviewkit"))
    assert answer.startswith("refused ") and "alice" not in answer
    assert "blinded to bob" in answer and "title/abstract rows first" in answer
    assert screen_cards.record_card(review, "bob", a, "ta").own is None  # nothing stored: still undecided
    # The same words whichever way alice decided (the other parametrisation asserts the same text).
    assert answer == (f"refused record {a} is not up for full text screening in this file: whether it "
                      "passes title/abstract depends on decisions still blinded to bob; import the title/abstract "
                      "rows first, then the full-text rows")
    # Two steps: the title/abstract row alone, then the full-text row (now checked against what bob may see).
    ta = tmp_path / "ta.csv"
    ta.write_text(HEADER + f"{a},bob,ta,include,,,\n")
    assert import_decisions(review, ta, actor="bob", ids="reviewkit").stored == 1
    ft = tmp_path / "ft.csv"
    ft.write_text(HEADER + f"{a},bob,ft,include,,,\n")
    second = _outcome(lambda: import_decisions(review, ft, actor="bob", ids="reviewkit"))
    assert second.startswith("ok" if alice == "include" else "refused")


def test_a_lead_and_a_released_record_still_import_in_one_file(review: Review, tmp_path: Path) -> None:
    """The lead sees every decision, so one file may complete a record and go on to full text; a record
    whose title/abstract screening bob already sees may take his change and a full-text row together."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "bob", a, "ta", "include")
    lead = tmp_path / "lead.csv"
    lead.write_text(HEADER + f"{a},alice,ta,include,,,\n{a},alice,ft,include,,,\n")
    assert import_decisions(review, lead, actor="alice", ids="reviewkit").stored == 2
    screen.record_decision(review, "alice", b, "ta", "include")
    screen.record_decision(review, "bob", b, "ta", "maybe")
    released = tmp_path / "released.csv"
    released.write_text(HEADER + f"{b},bob,ta,include,,,\n{b},bob,ft,include,,,\n")
    assert import_decisions(review, released, actor="bob", ids="reviewkit").stored == 2


LOW = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y", "4.1": "N", "4.2": "N",
       "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}


def _rob_rows(assessor: str, answers: dict[str, str], consensus: bool = False) -> str:
    flag = "yes" if consensus else "no"
    return "".join(f"S1,IGA,{assessor},{flag},rob2,,{q},{a},\n" for q, a in answers.items())


@pytest.mark.parametrize("dave_11", ["Y", "PN"])
def test_an_assessors_consensus_rows_cannot_probe_the_other_assessors_answers(
        rob2_review: Review, tmp_path: Path, dave_11: str) -> None:
    """dave's RoB 2 assessment is finished, bob's is not stored yet. bob's file holds his whole assessment
    (which the import finishes) and consensus rows co-signed by dave answering 1.1 otherwise than bob: before
    the fix they were refused as contradicting an answer the assessors share ("the assessors both answered
    Y") exactly when dave had answered 1.1 as bob did, and nothing was stored (bob still had no assessment,
    dave's answers still blinded to him). Now a consensus in an import waits for the assessments finished
    before it, whatever dave answered; bob's own assessment alone imports, and the consensus after it."""
    team = with_team(rob2_review)
    with session_scope(team.engine, write=True) as session:
        sid = rob_store.add_study(session, "S1", actor="t").id
    dave = assess.start_assessment(team, "dave", sid, "IGA").id
    for q, a in {**LOW, "1.1": dave_11}.items():
        assess.answer(team, "dave", dave, q, a)
    assess.finish(team, "dave", dave)
    probe = tmp_path / "probe.csv"
    probe.write_text(ROB_HEADER + _rob_rows("bob", LOW) + _rob_rows("", {**LOW, "1.1": "N"}, consensus=True))
    answer = _outcome(lambda: import_rob(team, probe, actor="bob", co_signer="dave"))
    assert answer == "refused study 1 (IGA): the consensus waits until 2 independent assessments are finished"
    assert not [v for v in assess_view.all_views(team) if v.assessor == "bob"]
    own = tmp_path / "own.csv"
    own.write_text(ROB_HEADER + _rob_rows("bob", LOW))
    assert import_rob(team, own, actor="bob").stored == len(LOW)
    consensus = tmp_path / "consensus.csv"
    consensus.write_text(ROB_HEADER + _rob_rows("", {**LOW, "1.1": "N"}, consensus=True))
    second = _outcome(lambda: import_rob(team, consensus, actor="bob", co_signer="dave"))
    # Now both are finished and bob may see dave's answers: the shared-answer rule applies as before.
    assert second.startswith("refused" if dave_11 == "Y" else "ok")


@pytest.mark.parametrize("bob", ["include", "exclude"])
def test_a_screening_adjudicator_cannot_probe_a_blinded_decision_with_an_adjudication_row(
        review: Review, tmp_path: Path, bob: str) -> None:
    """dana screens and adjudicates. bob has decided record a, dana has not. Her file holds her own include
    and then her adjudication of a: before the fix it was stored when bob had excluded a (a conflict) and
    refused as "not in conflict" (storing nothing, so dana still had not decided) when he had included it.
    Now refused the same way whatever bob decided; her decision imported first, the adjudication follows."""
    from tests.services.test_decisions_io import _team

    review = _team(review, tmp_path)
    (a,) = add_records(review, 1)
    screen.record_decision(review, "bob", a, "ta", bob)
    head = "record,reviewer,stage,decision,reason,note,time,role\n"
    probe = tmp_path / "probe.csv"
    probe.write_text(head + f"{a},dana,ta,include,,,,screener\n{a},dana,ta,exclude,,,,adjudicator\n")
    answer = _outcome(lambda: import_decisions(review, probe, actor="dana", ids="reviewkit"))
    assert answer == (f"refused record {a} cannot be adjudicated at title/abstract in this file: dana's own "
                      "decision on it is in this file, and whether it is in conflict depends on decisions still "
                      "blinded to dana; import the decisions first, then the adjudication")
    assert screen_cards.record_card(review, "dana", a, "ta").own is None
    own = tmp_path / "own.csv"
    own.write_text(head + f"{a},dana,ta,include,,,,screener\n")
    assert import_decisions(review, own, actor="dana", ids="reviewkit").stored == 1
    adjudication = tmp_path / "adjudication.csv"
    adjudication.write_text(head + f"{a},dana,ta,exclude,,,,adjudicator\n")
    second = _outcome(lambda: import_decisions(review, adjudication, actor="dana", ids="reviewkit"))
    assert second.startswith("ok" if bob == "exclude" else "refused")


@pytest.mark.parametrize("bob", ["include", "exclude"])
def test_a_full_text_row_dated_too_early_does_not_tell_how_title_abstract_went(
        review: Review, tmp_path: Path, bob: str) -> None:
    """alice and bob screened record a at title/abstract; dave, who did not, is blinded to their decisions
    there. His full-text row dated just before a passed was refused saying where it stood then: "in progress"
    when the two agreed (a passed with bob's include), "conflict" when they disagreed (it passed with carol's
    adjudication). Now the refusal says the same either way."""
    from datetime import UTC, timedelta

    from reviewkit.services.conflicts import resolve_conflict
    from tests.extraction_team import with_team

    review = with_team(review)
    (a,) = add_records(review, 1)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", bob)
    if bob == "exclude":
        resolve_conflict(review, "carol", a, "ta", "include")
    with session_scope(review.engine) as session:
        passed = max([d.created_at for d in store_screening.all_decision_rows(session)]
                     + [x.created_at for x in queries.adjudication_history(session)])
    at = (passed - timedelta(microseconds=1)).astimezone(UTC).isoformat()
    probe = tmp_path / "probe.csv"
    probe.write_text(HEADER + f"{a},dave,ft,include,,,{at}\n")
    answer = _outcome(lambda: import_decisions(review, probe, actor="dave", ids="reviewkit"))
    assert answer == (f"refused the row's time {at} is before record {a} passed title/abstract, so a --history "
                      "export would replay it too early (give a later time, or none to store it as of now; from "
                      "another review, its --history export has the title/abstract rows in between)")
    # alice, the lead, sees every decision: she is told where the record stood.
    assert "then)" in _outcome(lambda: import_decisions(review, probe, actor="alice", ids="reviewkit"))
