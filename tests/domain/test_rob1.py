"""Tests for RoB 1 (the seven Cochrane domains and the summary) and the consensus helpers."""

from __future__ import annotations

import itertools

import pytest

from reviewkit.domain import rob2
from reviewkit.domain.rob1 import (
    Rob1Domain,
    Rob1Entry,
    Rob1Judgement,
    assess_rob1,
    rob1_table,
    summarise,
)
from reviewkit.domain.rob_common import Disagreement, cohens_kappa, compare_assessments
from reviewkit.errors import ReviewkitError


def test_seven_domains_named_as_the_handbook() -> None:
    """The seven domains carry Table 8.5.a's names and bias types."""
    assert len(Rob1Domain) == 7
    assert Rob1Domain.D1.full_name == "Random sequence generation (selection bias)"
    assert Rob1Domain.D7.full_name == "Other bias"
    assert Rob1Judgement.UNCLEAR.label == "Unclear risk"


def test_summary_over_all_combinations_of_three_domains() -> None:
    """Table 8.7.a: high if any key domain high, else unclear if any unclear, else low."""
    keys = [Rob1Domain.D1, Rob1Domain.D2, Rob1Domain.D5]
    for combo in itertools.product(list(Rob1Judgement), repeat=3):
        judged = {d: j for d, j in zip(keys, combo, strict=True)}
        judged[Rob1Domain.D7] = Rob1Judgement.HIGH  # not a key domain: must not count
        want = ("high" if "high" in combo else "unclear" if "unclear" in combo else "low")
        assert summarise(judged, keys) == want


def test_summary_default_uses_all_seven_and_waits_for_missing() -> None:
    """By default all seven are key; an unjudged one leaves the summary undecided."""
    judged = {d: Rob1Judgement.LOW for d in Rob1Domain}
    assert summarise(judged) is Rob1Judgement.LOW
    judged[Rob1Domain.D7] = Rob1Judgement.UNCLEAR
    assert summarise(judged) is Rob1Judgement.UNCLEAR
    del judged[Rob1Domain.D3]
    assert summarise(judged) is None


def test_assess_keeps_support_text_and_validates() -> None:
    """Entries keep their support text; unknown domains and levels are named in the error."""
    a = assess_rob1({"D1": Rob1Entry(Rob1Judgement.LOW, "computer-generated list"),
                     **{f"D{i}": "low" for i in range(2, 8)}}, study="Keystone 2015")
    assert a.summary is Rob1Judgement.LOW
    assert a.entries[Rob1Domain.D1].support == "computer-generated list"
    with pytest.raises(ReviewkitError, match="D9"):
        assess_rob1({"D9": "low"})
    with pytest.raises(ReviewkitError, match="D2=maybe"):
        assess_rob1({"D2": "maybe"})


def test_summary_override_needs_justification() -> None:
    """Overriding the summary needs a written reason; with one, both values are kept."""
    entries = {f"D{i}": "low" for i in range(1, 8)}
    with pytest.raises(ReviewkitError, match="justification"):
        assess_rob1(entries, summary_override=("high", ""))
    a = assess_rob1(entries, summary_override=("high", "sponsor wrote the paper"))
    assert a.proposed is Rob1Judgement.LOW and a.summary is Rob1Judgement.HIGH and a.overridden


def test_rob1_table_rows() -> None:
    """The plot table carries the seven domains and the summary as overall."""
    a = assess_rob1({f"D{i}": "unclear" for i in range(1, 8)}, study="A")
    table = rob1_table([a], weights=[2.0])
    assert table.domain_keys == tuple(f"D{i}" for i in range(1, 8))
    assert table.rows[0].overall == "unclear" and table.rows[0].weight == 2.0


def test_compare_rob2_assessments_lists_question_and_domain_disagreements() -> None:
    """Two reviewers differing on 1.2 (and so on D1 and overall) give three disagreements."""
    base = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
            "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}
    a = rob2.assess(base)
    b = rob2.assess({**base, "1.2": "N"})
    assert compare_assessments(a, b) == [
        Disagreement("question", "1.2", "Y", "N"),
        Disagreement("domain", "D1", "low", "high"),
        Disagreement("domain", "overall", "low", "high"),
    ]
    assert compare_assessments(a, a) == []


def test_compare_rob1_assessments() -> None:
    """RoB 1 comparisons are at domain level only; a missing judgement counts."""
    a = assess_rob1({"D1": "low", "D2": "unclear"})
    b = assess_rob1({"D1": "high"})
    assert compare_assessments(a, b) == [
        Disagreement("domain", "D1", "low", "high"),
        Disagreement("domain", "D2", "unclear", None),
    ]


def test_cohens_kappa() -> None:
    """κ on a hand-computed example: p_o = 0.8, p_e = 0.5 → κ = 0.6."""
    a = ["low"] * 5 + ["high"] * 5
    b = ["low"] * 4 + ["high"] + ["high"] * 4 + ["low"]
    k = cohens_kappa(a, b)
    assert k.observed_agreement == pytest.approx(0.8)
    assert k.expected_agreement == pytest.approx(0.5)
    assert k.kappa == pytest.approx(0.6)
    with pytest.raises(ReviewkitError):
        cohens_kappa(["low"], [])
