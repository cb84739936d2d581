"""Tests for maybe at full text: a report no one judged eligible never enters the review on its own.

At title/abstract a maybe moves a record on to full text like an include. At full text there is no
later stage, so a maybe there goes to the adjudicator, who decides include or exclude.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.screening import resolve
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_queue
from reviewkit.services.agreement import agreement_report
from reviewkit.services.conflicts import list_conflicts, resolve_conflict
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from tests.factories import add_records


@pytest.mark.parametrize(("pair", "ta", "ft"), [
    (("include", "maybe"), "included", "conflict"),
    (("maybe", "maybe"), "included", "conflict"),
    (("exclude", "maybe"), "conflict", "conflict"),
    (("include", "include"), "included", "included"),
    (("exclude", "exclude"), "excluded", "excluded"),
    (("include", "exclude"), "conflict", "conflict"),
])
def test_a_maybe_moves_forward_at_title_abstract_and_goes_to_the_adjudicator_at_full_text(
    pair: tuple[str, str], ta: str, ft: str,
) -> None:
    decisions = dict(zip(("alice", "bob"), pair, strict=True))
    assert resolve(decisions, 2, stage="ta").outcome == ta  # type: ignore[arg-type]
    assert resolve(decisions, 2, stage="ft").outcome == ft  # type: ignore[arg-type]
    # Waiting for the second screener is not a conflict yet, maybe or not; an adjudication is final.
    assert resolve({"alice": "maybe"}, 2, stage="ft").outcome == "in_progress"
    assert resolve(decisions, 2, "exclude", stage="ft").outcome == "excluded"  # type: ignore[arg-type]
    # A conflict only the maybe makes: were the maybe an include, as it is at title/abstract, none.
    from_maybe = ft == "conflict" and ta == "included"
    assert resolve(decisions, 2, stage="ft").from_maybe is from_maybe  # type: ignore[arg-type]


def _to_full_text(review: Review, n: int) -> list[int]:
    ids = add_records(review, n)
    for rid in ids:
        screen.record_decision(review, "alice", rid, "ta", "include")
        screen.record_decision(review, "bob", rid, "ta", "maybe")
    return ids


def test_full_text_maybes_are_conflicts_the_adjudicator_settles(review: Review) -> None:
    both_maybe, one_maybe, agreed = _to_full_text(review, 3)
    for rid, (a, b) in zip((both_maybe, one_maybe, agreed),
                           [("maybe", "maybe"), ("include", "maybe"), ("include", "include")], strict=True):
        screen.record_decision(review, "alice", rid, "ft", a)
        screen.record_decision(review, "bob", rid, "ft", b)
    conflicts = list_conflicts(review, "carol", "ft")
    assert [c.record_id for c in conflicts] == [both_maybe, one_maybe]
    assert screen_queue.screening_progress(review, "alice", "ft").conflicts == 2
    # Only the report both screeners judged eligible is in the review until the adjudicator decides.
    assert prisma_counts(review).counts.reports_included == 1

    with pytest.raises(ReviewkitError, match="include or exclude, not 'maybe'"):
        resolve_conflict(review, "carol", both_maybe, "ft", "maybe")
    resolve_conflict(review, "carol", both_maybe, "ft", "include")
    resolve_conflict(review, "carol", one_maybe, "ft", "exclude", reason="Animal study")
    assert list_conflicts(review, "carol", "ft") == []
    assert prisma_counts(review).counts.reports_included == 2


def test_full_text_agreement_keeps_maybe_as_its_own_category(review: Review) -> None:
    """A maybe and an include are a conflict at full text, so they are not counted as agreeing there;
    at title/abstract they still are (both move the record on)."""
    ids = _to_full_text(review, 4)
    for rid, (a, b) in zip(ids, [("include", "include"), ("exclude", "exclude"),
                                 ("include", "maybe"), ("maybe", "maybe")], strict=True):
        screen.record_decision(review, "alice", rid, "ft", a, reason="Animal study" if a == "exclude" else None)
        screen.record_decision(review, "bob", rid, "ft", b, reason="Animal study" if b == "exclude" else None)
    by_stage = {p.stage: p.agreement for p in agreement_report(review, "carol")}
    assert by_stage["ta"].percent_agreement == pytest.approx(1.0)
    ft = by_stage["ft"]
    assert ft.categories == ("include", "exclude", "maybe")
    # Observed 3/4. Marginals: alice include 2, exclude 1, maybe 1; bob include 1, exclude 1, maybe 2,
    # so pe = (2*1 + 1*1 + 1*2)/16 = 5/16 and kappa = (3/4 - 5/16)/(1 - 5/16) = 7/11.
    assert ft.percent_agreement == pytest.approx(0.75)
    assert ft.kappa == pytest.approx(7 / 11)
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "conflicts", "--stage", "ft",
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert [row["record"] for row in json.loads(out.output)] == ids[2:]


def _status(review: Review, *args: str) -> str:
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "status", *args])
    assert out.exit_code == 0, out.output
    return out.output


def _full_text_conflicts_line(text: str) -> str:
    lines = text.splitlines()
    return next(line for line in lines[lines.index("Full text"):] if line.startswith("  conflicts"))


def test_status_says_how_many_full_text_conflicts_only_a_maybe_made(review: Review) -> None:
    """A review screened before a full-text maybe went to the adjudicator shows conflicts no two screeners
    made: `status` says how many of the full-text conflicts are there only because of a maybe (an include
    with a maybe, two maybes), not those the screeners made by disagreeing (an exclude against either)."""
    pairs = [("include", "maybe"), ("maybe", "maybe"), ("exclude", "maybe"), ("include", "exclude")]
    ids = _to_full_text(review, len(pairs))
    for rid, (a, b) in zip(ids, pairs, strict=True):
        screen.record_decision(review, "alice", rid, "ft", a, reason="Animal study" if a == "exclude" else None)
        screen.record_decision(review, "bob", rid, "ft", b, reason="Animal study" if b == "exclude" else None)
    line = _full_text_conflicts_line(_status(review))
    assert line.split()[:2] == ["conflicts", "4"]
    assert line.endswith("(2 of them from a maybe: a maybe at full text goes to the adjudicator)")
    data = json.loads(_status(review, "--json"))["full_text"]
    assert (data["conflict"], data["conflict_from_maybe"]) == (4, 2)

    resolve_conflict(review, "carol", ids[0], "ft", "include")
    assert _full_text_conflicts_line(_status(review)).endswith("(1 of them from a maybe: a maybe at full text "
                                                                "goes to the adjudicator)")
    resolve_conflict(review, "carol", ids[1], "ft", "exclude", reason="Animal study")
    # None left from a maybe: no parenthesis (the JSON keeps its key, at 0).
    assert _full_text_conflicts_line(_status(review)).split() == ["conflicts", "2"]
    data = json.loads(_status(review, "--json"))["full_text"]
    assert (data["conflict"], data["conflict_from_maybe"]) == (2, 0)
