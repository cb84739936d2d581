"""Tests for agreement per stage and reviewer pair, against a hand-computed kappa."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services import screen, screen_queue
from reviewkit.services.agreement import agreement_report
from reviewkit.services.project import Review
from tests.factories import add_records


def test_kappa_per_pair_matches_hand_computation(review: Review) -> None:
    """10 records: both include 3, both exclude 4, alice-only 2, bob-only 1.

    Observed agreement po = 7/10 = 0.7. alice includes 5/10, bob 4/10, so the chance
    agreement pe = 0.5*0.4 + 0.5*0.6 = 0.5 and kappa = (0.7 - 0.5)/(1 - 0.5) = 0.4.
    """
    ids = add_records(review, 10)
    pattern = [("include", "include")] * 3 + [("exclude", "exclude")] * 4 + \
              [("include", "exclude")] * 2 + [("exclude", "maybe")]
    for rid, (a, b) in zip(ids, pattern, strict=True):
        screen.record_decision(review, "alice", rid, "ta", a)
        screen.record_decision(review, "bob", rid, "ta", b)
    (pair,) = agreement_report(review, "carol")
    assert (pair.stage, pair.reviewer_a, pair.reviewer_b) == ("ta", "alice", "bob")
    assert pair.agreement.n == 10
    assert pair.agreement.kappa == pytest.approx(0.4)
    assert pair.agreement.percent_agreement == pytest.approx(0.7)
    assert pair.agreement.kappa_ci_lower < 0.4 < pair.agreement.kappa_ci_upper  # type: ignore[operator]
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "bob", "agreement", "--json"]).output
    (row,) = json.loads(out)
    assert set(row) >= {"kappa", "kappa_ci_lower", "kappa_ci_upper", "percent_agreement", "n"}
    assert row["kappa"] == pytest.approx(0.4) and row["n"] == 10
    assert row["percent_agreement"] == pytest.approx(70.0)
    assert row["categories"] == ["include", "exclude"]  # bob's maybe counted as include
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "bob", "agreement", "--json",
                                   "--keep-maybe"]).output
    (row,) = json.loads(out)
    assert row["categories"] == ["include", "exclude", "maybe"] and row["n"] == 10


def test_a_screener_sees_only_released_records_of_their_own_pairs(tmp_path: Path, database_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With three screeners per record, alice and bob both deciding a record does not end blinding
    (dave has not decided): bob's agreement leaves it out; the lead and the adjudicator see it."""
    from reviewkit.services.project import EXAMPLE_PROTOCOL, init_review

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    protocol = tmp_path / "three.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace(
        "screeners_per_record = 2", "screeners_per_record = 3")
        + '\n[[reviewers]]\nname = "dave"\nrole = "screener"\n', encoding="utf-8")
    review = init_review(tmp_path / "r", protocol)
    try:
        first, second = add_records(review, 2)
        for who, decision in (("alice", "include"), ("bob", "exclude"), ("dave", "exclude")):
            screen.record_decision(review, who, first, "ta", decision)
        for who in ("alice", "bob"):  # dave has not decided the second record
            screen.record_decision(review, who, second, "ta", "exclude")
        pairs = {(p.reviewer_a, p.reviewer_b): p.agreement.n for p in agreement_report(review, "bob")}
        assert pairs == {("alice", "bob"): 1, ("bob", "dave"): 1}  # the second record stays out
        for who in ("alice", "carol"):
            seen = {(p.reviewer_a, p.reviewer_b): p.agreement.n for p in agreement_report(review, who)}
            assert seen[("alice", "bob")] == 2 and ("alice", "dave") in seen
    finally:
        review.engine.dispose()


def _three_per_record(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Review:
    """Three screeners per record: alice (lead), bob, dave, and erin, who screens and adjudicates;
    carol adjudicates only."""
    from reviewkit.services.project import init_review
    from tests.reliability._helpers import protocol_with_reviewers

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    team = [("alice", ["screener", "lead"]), ("bob", ["screener"]), ("carol", ["adjudicator"]),
            ("dave", ["screener"]), ("erin", ["screener", "adjudicator"])]
    return init_review(tmp_path / "r", protocol_with_reviewers(tmp_path / "p", team, screeners_per_record=3))


def test_a_screener_who_adjudicates_sees_no_pair_on_records_still_in_her_queue(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """erin screens and adjudicates: bob and dave deciding a record still in her queue must not show
    her their agreement (it did: adjudicators saw every pair). Once the record is released to her
    (she decided it, and it has its three decisions) she sees every pair on it; the lead and carol,
    who adjudicates only, see every pair throughout."""
    review = _three_per_record(tmp_path, database_url, monkeypatch)
    try:
        first, second = add_records(review, 2)
        said = {who: CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", who, "agreement"]).output
                for who in ("alice", "erin")}
        screen.record_decision(review, "bob", first, "ta", "include")
        screen.record_decision(review, "dave", first, "ta", "exclude")
        assert screen_queue.screening_queue(review, "erin", "ta") == [first, second]
        assert agreement_report(review, "erin") == []
        out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "erin", "agreement"]).output
        # Neither "no record has two reviewers' decisions" (false: bob and dave decided one) nor a hint
        # that some have: the same words as before anyone decided, saying what her figures count.
        assert "bob vs dave" not in out and out == said["erin"]
        assert out.startswith("No agreement figures for you yet: they count the records you and another reviewer")
        assert said["alice"] == "No record has decisions from two reviewers yet.\n"  # the lead sees every record
        for who in ("alice", "carol"):
            assert [(p.reviewer_a, p.reviewer_b) for p in agreement_report(review, who)] == [("bob", "dave")]
        screen.record_decision(review, "erin", first, "ta", "include")
        seen = {(p.reviewer_a, p.reviewer_b): p.agreement.n for p in agreement_report(review, "erin")}
        assert seen == {("bob", "dave"): 1, ("bob", "erin"): 1, ("dave", "erin"): 1}
        # bob, a plain screener, still sees his own pairs only
        assert {(p.reviewer_a, p.reviewer_b) for p in agreement_report(review, "bob")} == {
            ("bob", "dave"), ("bob", "erin")}
    finally:
        review.engine.dispose()


@pytest.mark.parametrize(
    ("bob", "kappa"),
    [(["include"] * 4, "0.000"),  # bob included everything: SE 0
     (["include", "include", "exclude", "exclude"], "1.000")],  # perfect agreement: SE 0
)
def test_a_zero_standard_error_prints_the_ci_as_not_estimable(review: Review, bob: list[str], kappa: str) -> None:
    """Not "95% CI 0.000 to 0.000" or "1.0 to 1.0": the CI is not estimable, null in JSON; kappa stays."""
    ids = add_records(review, 4)
    for rid, alice, b in zip(ids, ["include", "include", "exclude", "exclude"], bob, strict=True):
        screen.record_decision(review, "alice", rid, "ta", alice)
        screen.record_decision(review, "bob", rid, "ta", b)
    runner = CliRunner()
    text = runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "agreement"]).output
    assert f"ta  alice vs bob: kappa {kappa} (95% CI not estimable); agreement" in text
    (row,) = json.loads(runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "agreement",
                                            "--json"]).output)
    assert row["kappa"] == pytest.approx(float(kappa))
    assert row["kappa_ci_lower"] is None and row["kappa_ci_upper"] is None


def test_kappa_of_a_reviewer_who_included_everything_prints_as_zero(review: Review) -> None:
    """bob included all 28 records; alice included 9, excluded 18 and said maybe once. With maybe as its own
    category (--keep-maybe), p_o = 9/28 and p_e = (9*28 + 18*0 + 1*0)/28^2 = 9/28, so kappa is exactly 0.
    Rounding made it -8.2e-17, printed "kappa -0.000" and stored as such in the JSON."""
    ids = add_records(review, 28)
    for rid, alice in zip(ids, ["include"] * 9 + ["exclude"] * 18 + ["maybe"], strict=True):
        screen.record_decision(review, "alice", rid, "ta", alice)
        screen.record_decision(review, "bob", rid, "ta", "include")
    args = ["-C", str(review.folder), "--reviewer", "carol", "agreement", "--keep-maybe"]
    text = CliRunner().invoke(cli, args).output
    assert "ta  alice vs bob: kappa 0.000 (95% CI not estimable); agreement 32.1%; n = 28" in text
    (row,) = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    assert row["kappa"] == 0.0 and str(row["kappa"]) == "0.0"


def test_decisions_on_a_removed_duplicate_stop_counting(review: Review) -> None:
    """Two copies of one paper were both screened before dedup merged them; the paper is in the stage once,
    as its group's primary (status, PRISMA and the conflicts list count it so), and so is it in kappa.

    After the merge: kept copy both include, three other records: exclude/exclude twice, include/exclude once.
    n = 4, p_o = 3/4; alice includes 2/4, bob 1/4, so p_e = (2*1 + 2*3)/16 = 1/2 and kappa = 1/2. The removed
    copy (alice include, bob exclude) was counted too: n = 5, p_o = 3/5.
    """
    from reviewkit.domain.records import Record
    from reviewkit.services import dedup
    from reviewkit.services.conflicts import list_conflicts
    from tests.dedup_copies import BASE

    kept, removed = add_records(review, [Record(**BASE, source_id="a"),  # type: ignore[arg-type]
                                         Record(**BASE, source_id="b")])  # type: ignore[arg-type]
    others = add_records(review, 3)
    for rid, a, b in [(kept, "include", "include"), (removed, "include", "exclude"), (others[0], "exclude", "exclude"),
                      (others[1], "exclude", "exclude"), (others[2], "include", "exclude")]:
        screen.record_decision(review, "alice", rid, "ta", a)
        screen.record_decision(review, "bob", rid, "ta", b)
    assert dedup.run_dedup(review).records_merged == 1
    assert dedup.group_of(review, removed) == dedup.group_of(review, kept)
    assert [c.record_id for c in list_conflicts(review, "carol", "ta")] == [others[2]]
    (pair,) = agreement_report(review, "carol")
    assert pair.agreement.n == 4
    assert pair.agreement.percent_agreement == pytest.approx(0.75)
    assert pair.agreement.kappa == pytest.approx(0.5)
