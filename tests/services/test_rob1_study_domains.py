"""Tests for RoB 1 in a review: per-study domains alike across a study's outcomes, support kept, errors naming the domain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, assess_summary, assess_view
from reviewkit.services.assess_import import import_rob
from reviewkit.services.project import Review
from tests.services.test_assess import add_study

#: Per-study domains (D1 D2 D6 D7) and per-outcome ones (D3 D4 D5), Handbook 5.1 Table 8.5.a.
JUDGED = {"D1": "low", "D2": "unclear", "D3": "high", "D4": "low", "D5": "low", "D6": "low", "D7": "low"}


def judge(review: Review, who: str, aid: int, judgements: dict[str, str]) -> None:
    for domain, level in judgements.items():
        assess.answer(review, who, aid, domain, level, support=f"{who}'s notes on {domain}")


def test_a_new_outcome_starts_from_the_assessors_per_study_judgements(review: Review) -> None:
    """alice judged IGA; her EASI-75 assessment of the same study starts with D1 D2 D6 D7 as she judged
    them (support included) and says so; D3-D5 stay hers to judge for this outcome."""
    sid = add_study(review)
    first = assess.start_assessment(review, "alice", sid, "iga_0_1")
    judge(review, "alice", first.id, JUDGED)
    second = assess.start_assessment(review, "alice", sid, "easi75")
    assert second.answers == {"D1": "low", "D2": "unclear", "D6": "low", "D7": "low"}
    assert second.supports["D2"] == "alice's notes on D2"
    assert any("D1, D2, D6, D7" in note and "once per study" in note for note in second.notes)
    # Another assessor's judgements are not carried (nor shown): bob starts blank.
    assert assess.start_assessment(review, "bob", sid, "easi75").answers == {}


def test_a_per_study_judgement_changes_in_every_open_outcome_of_the_assessor(review: Review) -> None:
    """Changing D1 in one outcome changes it in the assessor's other open outcome; D3 (per outcome) does not."""
    sid = add_study(review)
    a = assess.start_assessment(review, "alice", sid, "iga_0_1").id
    judge(review, "alice", a, JUDGED)
    b = assess.start_assessment(review, "alice", sid, "easi75").id
    assess.answer(review, "alice", b, "D1", "high", support="alternation by record number")
    assess.answer(review, "alice", b, "D3", "low")
    first = assess_view.assessment_view(review, "alice", a)
    assert (first.answers["D1"], first.supports["D1"]) == ("high", "alternation by record number")
    assert first.answers["D3"] == "high"


def test_a_finished_outcome_that_judges_otherwise_refuses_the_change(review: Review) -> None:
    """alice finished IGA with D1 low; judging D1 high for EASI-75 is refused, naming D1 and the finished
    assessment, and nothing is stored; once reopened, the change is made in both."""
    sid = add_study(review)
    a = assess.start_assessment(review, "alice", sid, "iga_0_1").id
    judge(review, "alice", a, JUDGED)
    assess.finish(review, "alice", a)
    b = assess.start_assessment(review, "alice", sid, "easi75").id
    with pytest.raises(ReviewkitError, match=rf"D1 \(Random sequence generation\).*assessment {a} of 'iga_0_1' "
                                             r"judges it low, not high") as caught:
        assess.answer(review, "alice", b, "D1", "high")
    assert caught.value.hint is not None and f"rob reopen {a}" in caught.value.hint
    assert assess_view.assessment_view(review, "alice", b).answers["D1"] == "low"
    assess.reopen(review, "alice", a)
    assess.answer(review, "alice", b, "D1", "high")
    assert assess_view.assessment_view(review, "alice", a).answers["D1"] == "high"


def test_the_consensus_of_a_second_outcome_keeps_the_studys_per_study_judgements(review: Review) -> None:
    """The IGA consensus settled D2 (the assessors differed); the EASI-75 consensus takes that D2 rather than
    waiting for it again, and one that settles D2 otherwise is refused, naming both."""
    sid = add_study(review)
    for outcome in ("iga_0_1", "easi75"):
        for who, d2 in (("bob", "unclear"), ("carol", "low")):
            aid = assess.start_assessment(review, who, sid, outcome).id
            judge(review, who, aid, {**JUDGED, "D2": d2})
            assess.finish(review, who, aid)
    iga = assess_consensus.record_consensus(review, "alice", sid, "iga_0_1", answers={"D2": "low"})
    assert iga.answers["D2"] == "low"
    with pytest.raises(ReviewkitError, match=r"D2 \(Allocation concealment\): unclear here, low in the consensus "
                                             r"of 'iga_0_1'"):
        assess_consensus.record_consensus(review, "alice", sid, "easi75", answers={"D2": "unclear"})
    easi = assess_consensus.record_consensus(review, "alice", sid, "easi75")
    assert easi.answers["D2"] == "low" and easi.finished
    rows = {r.outcome: r.judgements for r in assess_summary.rob_summary(review)}
    assert rows["iga_0_1"]["D2"] == rows["easi75"]["D2"] == "low"
    # nor may a lead's direct change of the EASI-75 consensus judge it otherwise
    with pytest.raises(ReviewkitError, match=r"D2 \(Allocation concealment\): unclear here, low in the consensus "
                                             r"of 'iga_0_1'"):
        assess.answer(review, "alice", easi.id, "D2", "unclear")
    assert assess_view.assessment_view(review, "alice", easi.id).answers["D2"] == "low"


def test_a_settled_domain_keeps_the_support_of_the_judgement_taken(review: Review) -> None:
    """RoB 1 judgements carry their "support for judgement": a domain the consensus settles keeps the
    support of the assessor whose judgement it took (it had none)."""
    sid = add_study(review)
    for who, d2 in (("bob", "unclear"), ("carol", "low")):
        aid = assess.start_assessment(review, who, sid, "iga_0_1").id
        judge(review, who, aid, {**JUDGED, "D2": d2})
        assess.finish(review, who, aid)
    view = assess_consensus.record_consensus(review, "alice", sid, "iga_0_1", answers={"D2": "low"})
    assert view.supports["D2"] == "carol: carol's notes on D2"
    assert view.supports["D1"] == "bob's notes on D1 / carol's notes on D1"


def test_changing_a_judgement_keeps_its_support(review: Review) -> None:
    """`rob answer ID D1 high` without --support keeps the support already written; "" removes it."""
    sid = add_study(review)
    aid = assess.start_assessment(review, "alice", sid, "iga_0_1").id
    assess.answer(review, "alice", aid, "D1", "low", support="computer-generated list, p. 3")
    assert assess.answer(review, "alice", aid, "D1", "unclear").supports["D1"] == "computer-generated list, p. 3"
    assert "D1" not in assess.answer(review, "alice", aid, "D1", "unclear", support="").supports


def test_a_bad_judgement_names_its_domain(review: Review) -> None:
    """An unknown judgement is refused naming the domain it was given for (a consensus or file has several)."""
    sid = add_study(review)
    aid = assess.start_assessment(review, "alice", sid, "iga_0_1").id
    with pytest.raises(ReviewkitError, match=r"^D4: unknown RoB 1 judgement 'maybe'") as caught:
        assess.answer(review, "alice", aid, "D4", "maybe")
    assert caught.value.hint == "use low, high or unclear"


def _rob1_file(tmp_path: Path, outcome: str, judgements: dict[str, str]) -> Path:
    rows = [f"BREEZE-AD1,{outcome},alice,no,rob1,,{d},{level},from the file" for d, level in judgements.items()]
    path = tmp_path / f"{outcome}.csv"
    path.write_text("study,outcome,assessor,consensus,tool,variant,question,answer,support\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


def test_an_import_keeps_the_per_study_domains_alike(review: Review, tmp_path: Path) -> None:
    """A file could store D1 high for EASI-75 beside the D1 low alice gave IGA: it is refused, naming D1 and
    both outcomes, and nothing of it is stored. A file giving EASI-75 only its per-outcome domains starts
    from her per-study judgements, as `rob start` does, and so finishes the assessment."""
    sid = add_study(review)
    a = assess.start_assessment(review, "alice", sid, "iga_0_1").id
    judge(review, "alice", a, JUDGED)
    assess.finish(review, "alice", a)
    clash = _rob1_file(tmp_path, "easi75", {"D1": "high", "D3": "low", "D4": "low", "D5": "low"})
    with pytest.raises(ReviewkitError, match=r"D1 \(Random sequence generation\) is judged once per study.*"
                                             r"low for 'iga_0_1' and high for 'easi75'"):
        import_rob(review, clash, actor="alice")
    assert [v.outcome for v in assess_view.all_views(review)] == ["iga_0_1"]
    import_rob(review, _rob1_file(tmp_path, "easi75", {"D3": "low", "D4": "low", "D5": "unclear"}), actor="alice")
    easi = next(v for v in assess_view.all_views(review) if v.outcome == "easi75")
    assert {d: easi.answers[d] for d in ("D1", "D2", "D6", "D7")} == {"D1": "low", "D2": "unclear", "D6": "low",
                                                                       "D7": "low"}
    assert easi.finished


def test_disagreements_show_what_each_assessor_based_a_judgement_on(review: Review) -> None:
    """At the consensus meeting the differing D2 judgements come with each assessor's support for judgement,
    in the service's view, the CLI's lines and its JSON (a domain judged alike shows none)."""
    from click.testing import CliRunner

    from reviewkit.cli import cli

    sid = add_study(review)
    for who, d2 in (("bob", "unclear"), ("carol", "low")):
        aid = assess.start_assessment(review, who, sid, "iga_0_1").id
        judge(review, who, aid, {**JUDGED, "D2": d2})
        assess.finish(review, who, aid)
    (found,) = assess_consensus.disagreements(review, "alice", sid, "iga_0_1")
    assert found.support("D2") == ("bob's notes on D2", "carol's notes on D2")
    run = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "rob", "disagreements"])
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    at = next(i for i, line in enumerate(lines) if "D2: bob unclear vs carol low" in line)
    assert lines[at + 1:at + 3] == ["    bob: bob's notes on D2", "    carol: carol's notes on D2"]
    as_json = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "rob", "disagreements",
                                       "--json"])
    (entry,) = json.loads(as_json.stdout)
    (item,) = entry["disagreements"]
    assert (item["key"], item["a_support"], item["b_support"]) == ("D2", "bob's notes on D2", "carol's notes on D2")
