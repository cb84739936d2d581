"""Tests for extraction's rules found wanting by an exploratory pass: a study takes at most the protocol's
number of extractors and its comparison waits for every one of them; the consensus waits for every
extraction to be finished, for leads too; an arm changes only where told; a converted SD follows its
source; consensus choices an unresolved arm holds back are named; the import's consensus column is strict;
and finishing says to whom the comparison is open."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import extract
from reviewkit.services.audit import audit_trail
from reviewkit.services.extract_consensus import compare_extractions, record_consensus
from reviewkit.services.extract_convert import convert
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import extraction_rows
from reviewkit.services.extract_status import describe, finish_extraction, reopen_extraction
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope
from tests.extraction_required import REQUIRED, fill_required
from tests.extraction_team import with_team

HEADER = "study,arm,outcome,timepoint,extractor,consensus,intervention,dose,n_randomised,arm.dose_mg,events,total\n"
EVENTS = "value|Bari4|iga_0_1|week 16|events"


@pytest.fixture
def team(review: Review) -> Review:
    """The example review (two extractors per study, on each database) with the extraction team (tests/extraction_team.py)."""
    return with_team(review)


def extract_as(review: Review, who: str, sid: int, events: str = "70", dose_mg: str = "4") -> None:
    """`who` extracts arm Bari4 of the study: its attributes, dose and IGA 0/1 count, and the required study
    fields (finishing waits for them)."""
    fill_required(review, who, sid)
    extract.set_arm(review, who, sid, "Bari4", intervention="baricitinib", dose="4 mg", co_intervention="TCS",
                    n_randomised=150, fields={"dose_mg": dose_mg})
    extract.set_value(review, who, sid, "events", events, arm="Bari4", outcome="iga_0_1")
    extract.set_value(review, who, sid, "total", "150", arm="Bari4", outcome="iga_0_1")


def run(folder: Path, *args: str, reviewer: str | None = None) -> tuple[int, str, str]:
    """`reviewkit extract …` on a review folder (its team: alice leads, bob screens, carol adjudicates)."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    result = CliRunner().invoke(cli, [*pre, "extract", *args])
    return result.exit_code, result.stdout, result.stderr


# --- 1. at most the protocol's number of extractors; the comparison waits for every one ------------------


def test_a_third_reviewer_can_neither_extract_nor_open_the_comparison(team: Review, tmp_path: Path) -> None:
    """The pass's scenario: bob has entered values (not finished), dave sets a field and finishes, then
    alice sets a field. Before, alice became a third extractor, her finishing opened the comparison and
    dave saw bob's unfinished values and could write the consensus. Now alice is refused (by hand and by
    import, nothing stored), and dave waits for bob."""
    sid = extract.create_study(team, "alice", "S1").id
    extract_as(team, "bob", sid, "70")
    extract.set_value(team, "dave", sid, "country", "Japan")
    fill_required(team, "dave", sid)
    finish_extraction(team, "dave", sid)
    for write in (lambda: extract.set_value(team, "alice", sid, "country", "Japan"),
                  lambda: extract.set_arm(team, "alice", sid, "Placebo"),
                  lambda: extract.set_value(team, "erin", sid, "country", "Japan")):
        with pytest.raises(ReviewkitError, match=f"study {sid} already has its 2 extractors"):
            write()
    table = tmp_path / "t.csv"
    table.write_text(HEADER + "S1,Placebo,iga_0_1,week 16,alice,no,placebo,,50,,10,50\n", encoding="utf-8")
    with pytest.raises(ReviewkitError, match=f"line 2, arm: study {sid} already has its 2 extractors"):
        import_table(team, table, actor="alice")
    with pytest.raises(ReviewkitError, match="alice has no extraction"):
        finish_extraction(team, "alice", sid)
    assert not [e for e in audit_trail(team) if e.actor == "alice" and e.entity in ("arm", "extraction")]
    with pytest.raises(PermissionDenied, match="waits until every independent extraction") as refused:
        compare_extractions(team, "dave", sid)
    assert "70" not in str(refused.value) and "bob" not in str(refused.value)
    with pytest.raises(PermissionDenied, match="dave may not write study"):
        extract.set_value(team, "dave", sid, "country", "Japan", consensus=True)
    assert {r["extractor"] for r in extraction_rows(team, "dave") if r["consensus"] == "no"} == {"dave"}
    # the existing extractors go on as before
    extract.set_value(team, "bob", sid, "country", "Japan")
    finish_extraction(team, "bob", sid)
    assert compare_extractions(team, "dave", sid).extractors == ("bob", "dave")


def test_the_comparison_waits_for_every_extractor_even_beyond_the_protocol_s_number(team: Review) -> None:
    """A study extracted by three (written before the cap): two finished do not open it while the third
    is still open; the third finishing does. Reopening stays possible until then."""
    sid = extract.create_study(team, "alice", "S1").id
    extract_as(team, "bob", sid)
    extract_as(team, "dave", sid)
    with session_scope(team.engine, write=True) as session:  # as an older reviewkit let alice in
        alice = extract.reviewer(session, "alice")
        for name, value in {"country": "Japan", **REQUIRED}.items():
            store.add_value(session, previous=None, actor=alice, consensus=False, study_id=sid,
                            key=("", "", "", name), value=value, unit=None, converted_from=None, origin="manual")
    for who in ("bob", "dave"):
        finish_extraction(team, who, sid)
    for who in ("bob", "dave"):
        with pytest.raises(PermissionDenied, match="waits until every independent extraction"):
            compare_extractions(team, who, sid)
    with pytest.raises(PermissionDenied, match=r"consensus yet: .*\(2 of 3 finished\)"):
        record_consensus(team, "carol", sid)
    assert reopen_extraction(team, "bob", sid).changed
    finish_extraction(team, "bob", sid)
    assert "the comparison is open" in describe(finish_extraction(team, "alice", sid), 2)
    assert compare_extractions(team, "bob", sid).extractors == ("alice", "bob", "dave")


# --- 7. the consensus waits for every finished extraction, for everybody -----------------------------------


def test_a_lead_compares_at_once_but_writes_the_consensus_only_once_all_are_finished(team: Review,
                                                                                     tmp_path: Path) -> None:
    """Before, alice and carol could build a consensus from half-entered extractions. Every way into the
    consensus (set, arm, remove, convert, record_consensus, import) is refused until bob's and dave's are
    both finished, nothing stored; looking is not."""
    sid = extract.create_study(team, "alice", "S1").id
    extract_as(team, "bob", sid, "70")
    extract_as(team, "dave", sid, "71")
    finish_extraction(team, "bob", sid)
    with session_scope(team.engine, write=True) as session:  # a consensus SE and n an older reviewkit let in
        alice = extract.reviewer(session, "alice")
        for field, value in (("n", "100"), ("se", "0.4")):
            store.add_value(session, previous=None, actor=alice, consensus=True, study_id=sid,
                            key=("Bari4", "dlqi_change", "week 16", field), value=value, unit=None,
                            converted_from=None, origin="manual")
    table = tmp_path / "c.csv"
    table.write_text(HEADER + "S1,Bari4,iga_0_1,week 16,alice,yes,baricitinib,4 mg,150,4,70,150\n", encoding="utf-8")
    waits = r"may not write study \d+'s consensus yet: it waits until every independent extraction of it " \
            r"\(at least 2\) is finished \(1 of 2 finished\)"
    for who in ("alice", "carol"):
        assert compare_extractions(team, who, sid).extractors == ("bob", "dave")
        for write in (lambda who=who: extract.set_value(team, who, sid, "country", "Japan", consensus=True),
                      lambda who=who: extract.set_arm(team, who, sid, "Bari4", consensus=True),
                      lambda who=who: extract.remove_arm(team, who, sid, "Bari4", consensus=True),
                      lambda who=who: convert(team, who, sid, arm="Bari4", outcome="dlqi_change", consensus=True),
                      lambda who=who: record_consensus(team, who, sid, take={EVENTS: "bob"})):
            with pytest.raises(PermissionDenied, match=f"{who} {waits}"):
                write()
        with pytest.raises(ReviewkitError, match=f"line 2, consensus: {who} {waits}"):
            import_table(team, table, actor=who)
    assert extract.study_form(team, "alice", sid, consensus=True).arms == ()
    finish_extraction(team, "dave", sid)
    result = record_consensus(team, "carol", sid, take={EVENTS: "bob"})
    assert result.unresolved == () and result.stored > 0
    converted = convert(team, "alice", sid, arm="Bari4", outcome="dlqi_change", consensus=True)
    assert [(v.field, v.value, v.consensus) for v in converted] == [("sd", "4", True)]


def test_a_lead_who_extracts_the_study_is_blind_as_any_extractor(team: Review, tmp_path: Path) -> None:
    """alice leads and extracts S1 with bob: while her own extraction is open she may not see bob's values (in
    the comparison or the table), as a lead assessing a study may not see the other assessor's answers; carol,
    who adjudicates without extracting, may. Once both have finished, alice compares."""
    sid = extract.create_study(team, "alice", "S1").id
    extract_as(team, "bob", sid, "70")
    extract_as(team, "alice", sid, "72")
    with pytest.raises(PermissionDenied, match="alice may not compare study .* finish your own extraction first"):
        compare_extractions(team, "alice", sid)
    assert {r["extractor"] for r in extraction_rows(team, "alice") if r["consensus"] == "no"} == {"alice"}
    assert {r["extractor"] for r in extraction_rows(team, "carol") if r["consensus"] == "no"} == {"alice", "bob"}
    assert compare_extractions(team, "carol", sid).extractors == ("alice", "bob")
    finish_extraction(team, "alice", sid)
    with pytest.raises(PermissionDenied, match="the comparison waits until every independent extraction"):
        compare_extractions(team, "alice", sid)
    finish_extraction(team, "bob", sid)
    assert compare_extractions(team, "alice", sid).extractors == ("alice", "bob")


# --- 2. an arm changes only where told ------------------------------------------------------------------


def test_extract_arm_changes_only_the_options_given(review: Review, tmp_path: Path) -> None:
    """`extract arm S Active --n 51` used to wipe the arm's intervention, dose, co-intervention and arm
    fields (the export showed `Active,,,,51,`). Now only N changes; --dose "" and --field dose_mg= clear
    one each; the import, which states the arm whole, empties what its cells leave empty."""
    sid = extract.create_study(review, "alice", "S1").id
    code, _, err = run(review.folder, "arm", str(sid), "Active", "--intervention", "baricitinib", "--dose", "4 mg",
                       "--co-intervention", "TCS", "--n", "50", "--field", "dose_mg=4", reviewer="bob")
    assert code == 0, err
    code, out, err = run(review.folder, "arm", str(sid), "Active", "--n", "51", reviewer="bob")
    assert code == 0 and out.strip() == f"Arm Active of study {sid} saved", err
    (arm,) = extract.study_form(review, "bob", sid).arms
    assert (arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised, arm.fields) == (
        "baricitinib", "4 mg", "TCS", 51, {"dose_mg": "4"})
    assert run(review.folder, "arm", str(sid), "Active", "--dose", "", "--field", "dose_mg=",
               reviewer="bob")[0] == 0
    (arm,) = extract.study_form(review, "bob", sid).arms
    assert (arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised, arm.fields) == (
        "baricitinib", "", "TCS", 51, {})
    table = tmp_path / "t.csv"
    table.write_text("study,arm,outcome,timepoint,extractor,consensus,intervention,n_randomised\n"
                     "S1,Active,,,bob,no,baricitinib,\n", encoding="utf-8")
    import_table(review, table, actor="bob")
    (arm,) = extract.study_form(review, "bob", sid).arms
    assert (arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised, arm.fields) == (
        "baricitinib", "", "", None, {})


# --- 3. a converted SD follows its source ---------------------------------------------------------------


def test_a_converted_sd_is_cleared_when_its_source_changes(review: Review) -> None:
    """SE 0.4 and n 100 gave SD 4; SE then set to 0.8 left SD 4 "from SE 0.4" in the export. Now changing
    SE (or n, or clearing either) clears the converted SD, audited and said; an unchanged SE, another
    statistic and a reported SD leave it be."""
    sid = extract.create_study(review, "alice", "S1").id
    extract.set_arm(review, "bob", sid, "Placebo", n_randomised=100)

    def stat(field: str, value: str) -> extract.ValueView:
        return extract.set_value(review, "bob", sid, field, value, arm="Placebo", outcome="dlqi_change")

    def sd() -> str | None:
        return extract.study_form(review, "bob", sid).stats("Placebo", "dlqi_change", "week 16").get("sd")

    stat("se", "0.4")
    stat("n", "100")
    convert(review, "bob", sid, arm="Placebo", outcome="dlqi_change")
    assert sd() == "4"
    assert stat("se", "0.40").cleared == () and stat("mean", "-3").cleared == () and sd() == "4"
    changed = stat("se", "0.8")
    assert changed.cleared == ("sd (converted from se) cleared: convert again",) and sd() is None
    (row,) = [r for r in extraction_rows(review, "bob") if r["outcome"] == "dlqi_change"]
    assert (row["se"], row["sd"], row["converted_from"]) == ("0.8", "", "")
    cleared = [e for e in audit_trail(review) if e.entity == "extraction" and e.new and e.new["field"] == "sd"][-1]
    assert (cleared.old["value"], cleared.new["value"], cleared.new["origin"]) == ("4", None, "cleared: se changed")
    convert(review, "bob", sid, arm="Placebo", outcome="dlqi_change")
    assert sd() == "8"
    code, out, _ = run(review.folder, "set", str(sid), "n", "", "--arm", "Placebo", "--outcome", "dlqi_change",
                       reviewer="bob")
    assert code == 0 and out.splitlines() == ["n = (cleared)", "sd (converted from n) cleared: convert again"]
    stat("n", "100")
    stat("sd", "5")  # reported: not a conversion, so it stays
    assert stat("se", "0.3").cleared == () and sd() == "5"


# --- 4. consensus choices an unresolved arm holds back ----------------------------------------------------


def test_choices_for_an_arm_that_still_waits_are_named_not_dropped(review: Review) -> None:
    """alice and bob differ on arm Bari4's dose_mg, N, intervention and events. Taking N and intervention
    and typing events while dose_mg is open used to print "Stored 0 consensus item(s)" and exit 0. Now
    it names the 3 choices and what they wait for, and exits 1; once dose_mg is chosen too, all land."""
    sid = extract.create_study(review, "alice", "S1").id
    for who, events, dose in (("alice", "70", "4"), ("bob", "71", "2")):
        extract.set_arm(review, who, sid, "Bari4", intervention=f"bari ({who})", n_randomised=150 + len(who),
                        fields={"dose_mg": dose})
        extract.set_value(review, who, sid, "events", events, arm="Bari4", outcome="iga_0_1")
        # The required study fields differ too, so nothing is agreed: they wait for a choice, not missing.
        extract.set_value(review, who, sid, "trial_name", f"S1 ({who})")
        extract.set_value(review, who, sid, "tcs", "yes" if who == "alice" else "no")
        finish_extraction(review, who, sid)
    choices = ["--take", "arm|Bari4|n_randomised=bob", "--take", "arm|Bari4|intervention=bob",
               "--value", f"{EVENTS}=70"]
    code, out, err = run(review.folder, "consensus", str(sid), *choices, reviewer="carol")
    assert code == 1
    assert "Stored 0 consensus items" in out
    assert ("not stored: arm Bari4 waits for fields.dose_mg: its 3 choices were not stored "
            f"(arm|Bari4|n_randomised, arm|Bari4|intervention, {EVENTS})") in out
    assert "nothing stored for study" in err
    assert extract.study_form(review, "carol", sid, consensus=True).arms == ()
    code, out, err = run(review.folder, "consensus", str(sid), *choices, "--take", "arm|Bari4|fields.dose_mg=alice",
                         reviewer="carol")
    assert code == 0 and "not stored" not in out, err
    (arm,) = extract.study_form(review, "carol", sid, consensus=True).arms
    assert (arm.intervention, arm.n_randomised, arm.fields) == ("bari (bob)", 153, {"dose_mg": "4"})


# --- 5. the import's consensus column ---------------------------------------------------------------------


def test_import_refuses_a_consensus_cell_that_is_neither_yes_nor_no(review: Review, tmp_path: Path) -> None:
    """`consensus=maybe` used to read as no and import the row as bob's own; now it is refused with its
    line and column, nothing imported; the spellings of yes and no (any case) still read."""
    table = tmp_path / "t.csv"
    table.write_text("study,arm,outcome,timepoint,extractor,consensus,events,total\n"
                     "S1,Placebo,iga_0_1,week 16,bob,No,10,100\n"
                     "S1,Placebo,iga_0_1,week 16,bob,maybe,10,100\n", encoding="utf-8")
    with pytest.raises(ReviewkitError, match="line 3, consensus: 'maybe' is neither yes nor no") as refused:
        import_table(review, table, actor="bob", new_studies=["S1"])
    assert "line 2" not in str(refused.value)
    assert extract.list_studies(review) == []
    table.write_text("study,arm,outcome,timepoint,extractor,consensus,intervention\n"
                     "S1,Placebo,,,bob,N,placebo\nS1,Active,,,bob,false,x\nS1,Other,,,bob,0,y\nS2,A,,,bob,,z\n",
                     encoding="utf-8")
    assert import_table(review, table, actor="bob", new_studies=["S1", "S2"]).rows == 4


# --- 6. what finishing says -------------------------------------------------------------------------------


def test_finishing_says_to_whom_the_comparison_is_open(team: Review) -> None:
    """alice (a lead who also extracts) finishing first was told "the comparison is open" with 1 of 2
    finished. Now she is told it is open to leads and adjudicators and waits, for its extractors, for the
    other; bob (not a lead) finishing first is told it waits, not how many others there are."""
    one, two = extract.create_study(team, "alice", "S1").id, extract.create_study(team, "alice", "S2").id
    for sid in (one, two):
        extract_as(team, "alice", sid)
        extract_as(team, "bob", sid)
    lead = describe(finish_extraction(team, "alice", one), 2)
    assert lead == (f"Your extraction of study {one} (S1) is finished; 1 of 2 extractions finished; the comparison "
                    "is open to leads and adjudicators, who may always compare (`reviewkit extract differences "
                    f"--study {one}`); to its extractors once every one is finished")
    extractor = describe(finish_extraction(team, "bob", two), 2)
    assert extractor == (f"Your extraction of study {two} (S2) is finished; the comparison opens once every "
                         "independent extraction of it (at least 2) is finished")
    assert "1 of" not in extractor and "alice" not in extractor
    assert describe(finish_extraction(team, "bob", one), 2).endswith(
        f"the comparison is open (`reviewkit extract differences --study {one}`)")
    assert describe(finish_extraction(team, "alice", two), 2).endswith("the comparison is open "
                                                                        f"(`reviewkit extract differences --study {two}`)")
    lines = {line.split("\t")[1]: line for line in _studies(team, "alice")}
    assert lines["S1"].endswith("2 of 2 finished (alice, bob); comparison open")


def _studies(review: Review, reviewer: str) -> list[str]:
    code, out, err = run(review.folder, "studies", reviewer=reviewer)
    assert code == 0, err
    return out.splitlines()


def test_extract_studies_tells_a_lead_the_comparison_is_open_to_leads_only(review: Review) -> None:
    """alice (lead) and bob extract; alice finished, bob not: carol (an adjudicator who does not extract) is told
    the comparison is open to leads and adjudicators; alice, an extractor herself, waits as bob does."""
    sid = extract.create_study(review, "alice", "S1").id
    extract_as(review, "alice", sid)
    extract_as(review, "bob", sid)
    finish_extraction(review, "alice", sid)
    (line,) = _studies(review, "carol")
    assert line.endswith("1 of 2 finished (alice); comparison open to leads and adjudicators")
    (line,) = _studies(review, "alice")
    assert line.endswith("\tmine finished\t1 of 2 finished (alice)")
    (line,) = _studies(review, "bob")
    assert line.endswith("\tmine not finished\t1 of 2 finished")


def test_convert_refuses_who_may_not_write_before_saying_there_is_nothing_to_convert(team: Review) -> None:
    """A conversion into the consensus by someone who may not write it, or into a finished extraction,
    was answered "nothing to convert: enter n and se first", sending them off to enter values they would
    then be refused; now the refusal comes first, and nothing is stored."""
    sid = extract.create_study(team, "alice", "S1").id
    for who in ("bob", "dave"):
        extract.set_arm(team, who, sid, "Placebo", n_randomised=100)
        fill_required(team, who, sid)
        finish_extraction(team, who, sid)
    with pytest.raises(PermissionDenied):
        convert(team, "erin", sid, arm="Placebo", outcome="dlqi_change", consensus=True)
    with pytest.raises(ReviewkitError, match="finished") as finished:
        convert(team, "bob", sid, arm="Placebo", outcome="dlqi_change")
    assert "nothing to convert" not in str(finished.value)
    # A consensus writer whose consensus has no such arm yet is told so (before: "nothing to convert").
    with pytest.raises(ReviewkitError, match="no arm 'Placebo' in the consensus"):
        convert(team, "bob", sid, arm="Placebo", outcome="dlqi_change", consensus=True)
