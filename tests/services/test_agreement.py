"""Tests for agreement per stage and reviewer pair, against a hand-computed kappa."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services import screen
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
    (pair,) = agreement_report(review)
    assert (pair.stage, pair.reviewer_a, pair.reviewer_b) == ("ta", "alice", "bob")
    assert pair.agreement.n == 10
    assert pair.agreement.kappa == pytest.approx(0.4)
    assert pair.agreement.percent_agreement == pytest.approx(0.7)
    assert pair.agreement.kappa_ci_lower < 0.4 < pair.agreement.kappa_ci_upper  # type: ignore[operator]
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "agreement", "--json"]).output
    (row,) = json.loads(out)
    assert set(row) >= {"kappa", "kappa_ci_lower", "kappa_ci_upper", "percent_agreement", "n"}
    assert row["kappa"] == pytest.approx(0.4) and row["n"] == 10
    assert row["percent_agreement"] == pytest.approx(70.0)
