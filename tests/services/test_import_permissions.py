"""Tests that the CSV imports and the consensus commands let through only what the reviewer may enter by hand:
`rob import` and `extract import` as the acting reviewer (a lead anyone's rows, anyone else their own, consensus
rows under the consensus rule), `extract set/arm --consensus` under the comparison rule, and no two studies
sharing a label. Each refusal stores nothing and tells nothing the reviewer may not see. A reviewer's own
export imports back, the rows in it they may not write (others', the consensus) counted as present."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import (
    assess,
    assess_consensus,
    assess_summary,
    assess_view,
    extract,
    studies,
)
from reviewkit.services.assess_export import export_rob
from reviewkit.services.assess_import import RobImport, import_rob
from reviewkit.services.audit import audit_trail
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.decisions_import import DecisionsImport, import_decisions
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import ArmRow, ExtractionValueRow, RobAnswerRow, RobAssessmentRow
from tests.extraction_required import REQUIRED, fill_required
from tests.extraction_team import with_team
from tests.factories import read_csv, write_csv

ROB_HEADER = "study,outcome,assessor,consensus,tool,variant,question,answer,support\n"
EXT_HEADER = "study,arm,outcome,timepoint,extractor,consensus,intervention,n_randomised,events,total\n"


@pytest.fixture
def team(review: Review) -> Review:
    """The example review (RoB 1, two assessors and two extractors per study) with the extraction team (tests/extraction_team.py)."""
    return with_team(review)


def rob_rows(assessor: str, answer: str = "low", consensus: bool = False) -> str:
    """A whole RoB 1 assessment of S1 (IGA) as CSV rows."""
    flag = "yes" if consensus else "no"
    return "".join(f"S1,IGA,{assessor},{flag},rob1,,D{i},{answer},\n" for i in range(1, 8))


def rob_counts(review: Review) -> tuple[int, int]:
    """(assessments, answers) stored."""
    with session_scope(review.engine) as session:
        return (session.exec(select(func.count()).select_from(RobAssessmentRow)).one(),
                session.exec(select(func.count()).select_from(RobAnswerRow)).one())


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- rob import --------------------------------------------------------------------------------


def test_rob_import_refuses_anothers_rows_an_early_consensus_and_no_reviewer(team: Review, tmp_path: Path) -> None:
    """The reviewer's scenario: bob imports over dave's unfinished answers and a consensus. Refused with the
    file and line; dave's answer stays his and no consensus exists. Nor may anyone import without a reviewer."""
    with session_scope(team.engine, write=True) as session:
        rob_store.add_study(session, "S1", actor="t")
    dave = assess.start_assessment(team, "dave", 1, "IGA").id
    assess.answer(team, "dave", dave, "D1", "low")
    before = rob_counts(team)
    evil = write(tmp_path, "evil.csv", ROB_HEADER + "S1,IGA,dave,no,rob1,,D1,high,overwritten by bob\n"
                 + rob_rows("", consensus=True))
    with pytest.raises(PermissionDenied, match="bob may import only their own") as refused:
        import_rob(team, evil, actor="bob")
    assert refused.value.where == f"{evil}, line 2"
    for actor in (None, "mallory"):
        with pytest.raises(ReviewkitError):
            import_rob(team, evil, actor=actor)
    # Consensus rows alone: bob is not involved; carol may, but not before the assessments are finished.
    consensus = write(tmp_path, "consensus.csv", ROB_HEADER + rob_rows("", consensus=True))
    with pytest.raises(PermissionDenied, match="bob may not record this consensus") as refused:
        import_rob(team, consensus, actor="bob")
    assert refused.value.where == f"{consensus}, line 2"
    with pytest.raises(ReviewkitError, match="the consensus waits until 2 independent assessments are finished"):
        import_rob(team, consensus, actor="carol")
    assert rob_counts(team) == before
    view = assess_view.assessment_view(team, "dave", dave)
    assert view.answers == {"D1": "low"} and not view.finished
    assert assess_summary.rob_summary(team) == []


def test_rob_import_lets_a_lead_import_anyone_an_assessor_their_own_and_carol_the_consensus(
        team: Review, tmp_path: Path) -> None:
    """dave imports his own assessment, alice (a lead) bob's; once both are finished carol imports the
    consensus, recorded as her, and the summary shows it."""
    with session_scope(team.engine, write=True) as session:
        rob_store.add_study(session, "S1", actor="t")
    assert import_rob(team, write(tmp_path, "dave.csv", ROB_HEADER + rob_rows("dave")), actor="dave").stored == 7
    assert import_rob(team, write(tmp_path, "bob.csv", ROB_HEADER + rob_rows("bob", "high")), actor="alice").stored == 7
    consensus = write(tmp_path, "consensus.csv", ROB_HEADER + rob_rows("dave", "unclear", consensus=True))
    assert import_rob(team, consensus, actor="carol").stored == 7
    views = assess_view.all_views(team)
    assert [(v.assessor, v.is_consensus, v.finished) for v in views] == [
        ("dave", False, True), ("bob", False, True), ("carol", True, True)]
    (row,) = assess_summary.rob_summary(team)
    assert row.judgements["D1"] == "unclear"


def test_rob_import_reads_a_result_however_it_is_typed(team: Review, tmp_path: Path) -> None:
    """bob and dave assess S1's "iga_0_1" (typed two ways); alice's imported row for "IGA_0_1 " is the same
    result, which has its two assessors: refused, nothing stored (before, it made a third assessment under a
    second spelling, a result that could never reach a consensus)."""
    with session_scope(team.engine, write=True) as session:
        sid = rob_store.add_study(session, "S1", actor="t").id
    assess.start_assessment(team, "bob", sid, "IGA_0_1")
    assess.start_assessment(team, "dave", sid, " iga_0_1")
    before = rob_counts(team)
    rows = ROB_HEADER + "S1,IGA_0_1 ,alice,no,rob1,,D1,high,x\n"
    with pytest.raises(ReviewkitError, match="already have all their assessors"):
        import_rob(team, write(tmp_path, "third.csv", rows), actor="alice")
    assert rob_counts(team) == before
    assert {v.outcome for v in assess_view.all_views(team)} == {"iga_0_1"}




def finished_assessment(review: Review, who: str, sid: int, answer: str, support: str = "") -> int:
    aid = assess.start_assessment(review, who, sid, "IGA").id
    for i in range(1, 8):
        assess.answer(review, who, aid, f"D{i}", answer, support=support or None)
    assess.finish(review, who, aid)
    return aid


def test_a_non_leads_own_rob_export_imports_back_storing_nothing(team: Review, tmp_path: Path) -> None:
    """bob's export holds dave's assessment (both finished) and the consensus alice recorded: imported back
    by bob (who may neither write dave's nor record the consensus alone) every row is already present and
    nothing is stored; a changed row of dave's or of the consensus is refused as before, naming its line."""
    with session_scope(team.engine, write=True) as session:
        sid = rob_store.add_study(session, "S1", actor="t").id
    finished_assessment(team, "bob", sid, "low", "bob's reading")
    finished_assessment(team, "dave", sid, "low", "dave's reading")
    assess_consensus.record_consensus(team, "alice", sid, "IGA")
    out = tmp_path / "bob.csv"
    n = export_rob(team, out, actor="bob")
    rows = read_csv(out)
    assert {(r["assessor"], r["consensus"]) for r in rows} == {("bob", "no"), ("dave", "no"), ("alice", "yes")}
    before = rob_counts(team)
    assert import_rob(team, out, actor="bob") == RobImport(stored=0, present=n)
    assert rob_counts(team) == before
    dave = next(i for i, r in enumerate(rows) if r["assessor"] == "dave")
    changed = write_csv(tmp_path / "changed.csv", [*rows[:dave], {**rows[dave], "answer": "unclear"}, *rows[dave + 1:]])
    with pytest.raises(PermissionDenied, match="bob may import only their own assessments, not dave's") as refused:
        import_rob(team, changed, actor="bob")
    assert refused.value.where == f"{changed}, line {dave + 2}"
    consensus = next(i for i, r in enumerate(rows) if r["consensus"] == "yes")
    changed = write_csv(tmp_path / "changed.csv",
                         [*rows[:consensus], {**rows[consensus], "support": "bob's say"}, *rows[consensus + 1:]])
    with pytest.raises(PermissionDenied, match="an assessor records the consensus together with the other") as refused:
        import_rob(team, changed, actor="bob")
    assert refused.value.where == f"{changed}, line {consensus + 2}"
    assert rob_counts(team) == before


def test_a_non_lead_cannot_probe_a_blinded_assessment_as_already_present(team: Review, tmp_path: Path) -> None:
    """dave's assessment is unfinished, so blinded to bob: a row of it exactly as stored (from the lead's
    export) is refused as one stating anything else, the same words; the lead's import finds it present."""
    with session_scope(team.engine, write=True) as session:
        sid = rob_store.add_study(session, "S1", actor="t").id
    finished_assessment(team, "bob", sid, "low")
    dave = assess.start_assessment(team, "dave", sid, "IGA").id
    assess.answer(team, "dave", dave, "D1", "high", support="dave's unfinished reading")
    lead = tmp_path / "alice.csv"
    export_rob(team, lead, actor="alice")
    (stored,) = [r for r in read_csv(lead) if r["assessor"] == "dave"]
    messages = []
    for answer in ("high", "low"):
        probe = write_csv(tmp_path / f"probe-{answer}.csv", [{**stored, "answer": answer}])
        with pytest.raises(PermissionDenied) as refused:
            import_rob(team, probe, actor="bob")
        assert refused.value.where == f"{probe}, line 2"
        messages.append(refused.value.message)
    assert messages == ["bob may import only their own assessments, not dave's (a lead may import anyone's)"] * 2
    assert import_rob(team, write_csv(tmp_path / "same.csv", [stored]), actor="alice") == RobImport(0, 1)
    assert assess_view.assessment_view(team, "dave", dave).answers == {"D1": "high"}


# --- extract import ----------------------------------------------------------------------------


def daves_extraction(review: Review) -> int:
    sid = extract.create_study(review, "dave", "S1").id
    extract.set_arm(review, "dave", sid, "bari4", intervention="baricitinib", n_randomised="123")
    extract.set_value(review, "dave", sid, "total", "123", arm="bari4", outcome="iga_0_1")
    extract.set_value(review, "dave", sid, "events", "37", arm="bari4", outcome="iga_0_1")
    return sid


def extraction_counts(review: Review) -> tuple[int, int]:
    with session_scope(review.engine) as session:
        return (session.exec(select(func.count()).select_from(ArmRow)).one(),
                session.exec(select(func.count()).select_from(ExtractionValueRow)).one())


def test_extract_import_refuses_anothers_rows_and_consensus_without_telling_their_values(
        team: Review, tmp_path: Path) -> None:
    """bob probes dave's total (the check against it used to print it) and writes as dave and as consensus:
    refused row by row, naming the line, showing none of dave's values; nothing stored."""
    sid = daves_extraction(team)
    before = extraction_counts(team)
    probe = write(tmp_path, "probe.csv", EXT_HEADER + "S1,bari4,iga_0_1,week 16,dave,no,baricitinib,,99999,\n")
    forge = write(tmp_path, "forge.csv", EXT_HEADER + "S1,bari4,iga_0_1,week 16,dave,no,baricitinib,123,1,123\n"
                  "S1,bari4,iga_0_1,week 16,bob,yes,baricitinib,123,1,123\n")
    with pytest.raises(ReviewkitError) as refused:
        import_table(team, probe, actor="bob")
    assert "line 2, extractor: bob may import only their own extraction, not dave's" in refused.value.message
    assert "123" not in str(refused.value) and "37" not in str(refused.value)
    with pytest.raises(ReviewkitError) as refused:
        import_table(team, forge, actor="bob")
    assert "line 2, extractor: bob may import only their own" in refused.value.message
    assert f"line 3, consensus: bob may not write study {sid}'s consensus" in refused.value.message
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        import_table(team, forge, actor=None)
    assert extraction_counts(team) == before
    assert extract.study_form(team, "dave", sid).stats("bari4", "iga_0_1", "week 16") == {"total": "123",
                                                                                          "events": "37"}
    assert extract.study_form(team, "alice", sid, consensus=True).values == ()


def test_extract_import_lets_a_lead_import_anyone_an_extractor_their_own_and_the_consensus_once_open(
        team: Review, tmp_path: Path) -> None:
    """bob imports his own rows; his consensus row waits for the second finished extraction; alice (a lead)
    imports dave's; once both have finished, bob's consensus row lands, recorded as bob."""
    sid = extract.create_study(team, "alice", "S1").id
    own = EXT_HEADER + "S1,bari4,iga_0_1,week 16,bob,no,baricitinib,123,30,123\n"
    consensus = "S1,bari4,iga_0_1,week 16,alice,yes,baricitinib,123,31,123\n"
    with pytest.raises(ReviewkitError, match="waits until every independent extraction of it"):
        import_table(team, write(tmp_path, "early.csv", own + consensus), actor="bob")
    assert extraction_counts(team) == (0, 0)
    assert import_table(team, write(tmp_path, "bob.csv", own), actor="bob").values == 2
    daves = EXT_HEADER + "S1,bari4,iga_0_1,week 16,dave,no,baricitinib,123,32,123\n"
    assert import_table(team, write(tmp_path, "dave.csv", daves), actor="alice").values == 2
    fill_required(team, "bob", sid)
    finish_extraction(team, "bob", sid)
    with pytest.raises(ReviewkitError, match=r"waits until every independent extraction of it \(at least 2\)"):
        import_table(team, write(tmp_path, "consensus.csv", EXT_HEADER + consensus), actor="bob")
    # a lead too: the consensus waits for every extraction to be finished (bob's is, dave's not)
    with pytest.raises(ReviewkitError, match=r"line 2, consensus: alice may not write study .*'s consensus yet: .*"
                                             r"\(1 of 2 finished\)"):
        import_table(team, write(tmp_path, "consensus.csv", EXT_HEADER + consensus), actor="alice")
    fill_required(team, "dave", sid)
    finish_extraction(team, "dave", sid)
    import_table(team, write(tmp_path, "consensus.csv", EXT_HEADER + consensus), actor="bob")
    form = extract.study_form(team, "alice", sid, consensus=True)
    assert form.stats("bari4", "iga_0_1", "week 16")["events"] == "31"
    assert {v.extractor for v in form.values} == {"bob"}
    assert extract.study_form(team, "dave", sid).stats("bari4", "iga_0_1", "week 16")["events"] == "32"
    # the audit says who wrote dave's rows (alice) and into whose extraction; his own rows are plainly his
    written = [(e.actor, e.new.get("extractor"), e.new.get("value", e.new.get("n_randomised")))
               for e in audit_trail(team) if e.entity in ("arm", "extraction")]
    assert ("alice", "dave", "32") in written and ("alice", "dave", 123) in written
    assert ("bob", None, "30") in written
    # dave's only own writes: the required study fields he entered to finish
    assert {value for who, _, value in written if who == "dave"} <= set(REQUIRED.values())


# --- extract set/arm --consensus -------------------------------------------------------------------


def test_consensus_values_and_arms_follow_the_comparison_rule(team: Review) -> None:
    """bob, the only extractor so far, and erin, none at all, may not write the consensus, nor may carol (an
    adjudicator) yet; bob and carol may once dave has extracted too and both have finished, erin still not.
    Refusals store nothing."""
    sid = extract.create_study(team, "alice", "S1").id
    extract.set_value(team, "bob", sid, "country", "Japan")
    before = extraction_counts(team)
    for who in ("bob", "erin", "carol"):
        with pytest.raises(PermissionDenied, match=f"{who} may not write study {sid}'s consensus"):
            extract.set_value(team, who, sid, "country", "Atlantis", consensus=True)
        with pytest.raises(PermissionDenied, match="consensus"):
            extract.set_arm(team, who, sid, "bari4", consensus=True)
        with pytest.raises(PermissionDenied, match="consensus"):
            extract.remove_arm(team, who, sid, "Placebo", consensus=True)
    assert extraction_counts(team) == before
    extract.set_value(team, "dave", sid, "country", "Japan")
    with pytest.raises(PermissionDenied, match="finish your own extraction first"):
        extract.set_value(team, "bob", sid, "country", "Japan", consensus=True)
    fill_required(team, "bob", sid)
    finish_extraction(team, "bob", sid)
    with pytest.raises(PermissionDenied, match=r"carol may not write study .*'s consensus yet: .*\(1 of 2 finished\)"):
        extract.set_arm(team, "carol", sid, "Placebo", consensus=True)
    assert extract.study_form(team, "alice", sid, consensus=True).arms == ()
    fill_required(team, "dave", sid)
    finish_extraction(team, "dave", sid)
    carol_arm = extract.set_arm(team, "carol", sid, "Placebo", consensus=True)
    assert carol_arm.consensus and carol_arm.extractor == "carol"
    assert extract.set_value(team, "bob", sid, "country", "Japan", consensus=True).consensus
    extract.remove_arm(team, "bob", sid, "Placebo", consensus=True)
    with pytest.raises(PermissionDenied, match="only its extractors, leads and adjudicators"):
        extract.set_value(team, "erin", sid, "country", "Atlantis", consensus=True)
    form = extract.study_form(team, "alice", sid, consensus=True)
    assert form.study_fields() == {"country": "Japan"} and form.arms == ()


# --- study labels ------------------------------------------------------------------------------


def test_a_label_another_study_has_is_refused_by_rename_create_and_import(team: Review, tmp_path: Path) -> None:
    """The reviewer's scenario: S2 renamed to S1 made `extract import` write S2's rows into S1. A label
    equal to another study's but for case and spaces is refused by rename and create, naming that study, and
read as that study by an import; renaming a study to
    its own label in other case is fine."""
    s1 = extract.create_study(team, "alice", "S1").id
    s2 = extract.create_study(team, "alice", "S2").id
    with pytest.raises(ReviewkitError, match=f"study {s1} is already labelled 'S1'"):
        studies.rename_study(team, "alice", s2, " s 1")
    with pytest.raises(ReviewkitError, match=f"study {s1} is already labelled 'S1'"):
        extract.create_study(team, "alice", "s1")
    table = write(tmp_path, "t.csv", "study,arm,outcome,timepoint,extractor\nS 1,,,,alice\n")
    # An import reads it as that study, and says so (it creates a study only when told: --new-study).
    result = import_table(team, table, actor="alice")
    assert result.read_as == (f"study 'S 1' read as 'S1' (id {s1}), first on line 2",) and not result.new_studies
    assert [(s.id, s.label) for s in extract.list_studies(team)] == [(s1, "S1"), (s2, "S2")]
    assert studies.rename_study(team, "alice", s1, "s1") == "S1"
    assert [s.label for s in extract.list_studies(team)] == ["s1", "S2"]


# --- the worked example ----------------------------------------------------------------------------


def test_the_demos_non_lead_imports_each_of_their_exports_back(demo: Review, tmp_path: Path) -> None:
    """The reviewer's scenario: in the demo bob's exports hold alice's rows (and carol's), blinding having
    ended; each imported back by bob stores nothing and counts every row present."""
    for suffix in (".xlsx", ".csv"):
        table = tmp_path / f"xb{suffix}"
        n = export_table(demo, table, actor="bob")
        result = import_table(demo, table, actor="bob")
        assert (result.rows, result.stored) == (n, 0)
    rob = tmp_path / "rob.csv"
    n = export_rob(demo, rob, actor="bob")
    assert {r["assessor"] for r in read_csv(rob)} == {"alice", "bob", "carol"}
    assert import_rob(demo, rob, actor="bob") == RobImport(stored=0, present=n)
    for history in (False, True):
        decisions = tmp_path / "decisions.csv"
        n = export_decisions(demo, decisions, actor="bob", history=history)
        assert import_decisions(demo, decisions, actor="bob") == DecisionsImport(stored=0, present=n)
