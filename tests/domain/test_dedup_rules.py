"""Tests for the do-not-merge rules: look-alikes that are different publications stay apart."""

from __future__ import annotations

from dataclasses import replace

from reviewkit.domain.dedup import find_duplicates
from reviewkit.domain.records import RegistryInfo
from tests.domain.test_dedup_support import BASE, variant


def _merged(a, b) -> bool:  # noqa: ANN001
    return bool(find_duplicates([a, b]).groups)


def test_erratum_stays_apart_from_the_article() -> None:
    """An erratum with the article's title is not the article."""
    erratum = variant(title="Erratum: " + BASE.title, pages="1190")
    assert not _merged(BASE, erratum)
    typed = variant(publication_types=("Published Erratum",))
    assert not _merged(BASE, typed)


def test_comment_and_reply_stay_apart_from_the_article() -> None:
    """"Comment on ..." and "... - Reply" are not the article they discuss."""
    assert not _merged(BASE, variant(title="Comment on: " + BASE.title))
    assert not _merged(BASE, variant(title=BASE.title + " - Reply"))


def test_comment_publication_type_stays_apart_from_the_original() -> None:
    """With publication types on both sides, Comment/Letter vs Journal Article stays apart."""
    article = replace(BASE, publication_types=("Journal Article",))
    letter = variant(publication_types=("Letter", "Comment"))
    assert not _merged(article, letter)


def test_part_one_and_part_two_stay_apart() -> None:
    """Papers with different part numbers in their titles are different papers."""
    one = replace(BASE, title="Atopic dermatitis treatment. Part 1: systemic agents", doi=None, pmid=None)
    two = replace(one, title="Atopic dermatitis treatment. Part 2: systemic agents")
    assert not _merged(one, two)
    assert _merged(one, variant(one))


def test_protocol_stays_apart_from_its_results_paper() -> None:
    """A study protocol (or "rationale and design") is not its results paper."""
    protocol = variant(title=BASE.title + ": study protocol", pages="242-255")
    assert not _merged(BASE, protocol)
    design = variant(title="Rationale and design of " + BASE.title)
    assert not _merged(BASE, design)


def test_conference_abstract_stays_apart_from_the_full_paper() -> None:
    """A conference abstract (supplement, other pages) is not the full paper."""
    abstract = variant(journal="British Journal of Dermatology. Conference: Annual Meeting", issue="Suppl 1",
                       pages="S45")
    result = find_duplicates([BASE, abstract])
    assert result.groups == []
    assert result.uncertain_pairs == []
    assert result.blocked_pairs and "conference abstract" in result.blocked_pairs[0].reason


def test_same_abstract_marked_in_one_source_only_still_merges() -> None:
    """The same abstract, marked as conference in one export only but on the same page, merges."""
    a = variant(journal="Diabetes. Conference: 70th Scientific Sessions", pages="A27", volume="59")
    b = variant(journal="Diabetes", issue="Supplement 1", pages="A27", volume="59")
    c = variant(journal="Diabetes", pages="A27", volume="59")
    result = find_duplicates([a, b, c])
    assert [g.members for g in result.groups] == [(0, 1, 2)]


def test_registry_record_never_merges_with_a_paper() -> None:
    """A registry record and a paper are reports of a study, not duplicates."""
    registry = replace(BASE, kind="registry", registry=RegistryInfo(nct_id="NCT03334396"),
                       nct_ids=("NCT03334396",))
    assert not _merged(BASE, registry)


def test_rules_hold_across_a_whole_group() -> None:
    """A record without a part number cannot chain part 1 and part 2 into one group."""
    stem = replace(BASE, doi=None, pmid=None, title=BASE.title + " with long-term safety and efficacy outcomes")
    one = replace(stem, title=stem.title + ", part 1")
    unnumbered = variant(stem)
    two = variant(stem, title=stem.title + ", part 2")
    result = find_duplicates([one, unnumbered, two])
    assert len(result.groups) == 1
    assert not {0, 2} <= set(result.groups[0].members)
    assert any("within the group" in p.reason for p in result.blocked_pairs)


def test_registrations_with_different_nct_numbers_never_match() -> None:
    """Two registry records with one wording but different NCT numbers are two trials: not even queued."""
    from reviewkit.domain.dedup import find_duplicates
    from reviewkit.domain.records import Record, RegistryInfo

    title = "A Study of Baricitinib (LY3009104) in Participants With Moderate to Severe Atopic Dermatitis"
    records = [
        Record(kind="registry", title=f"{title} ({name})", nct_ids=(nct,), registry=RegistryInfo(nct_id=nct))
        for name, nct in (("BREEZE-AD1", "NCT03334396"), ("BREEZE-AD2", "NCT03334422"), ("BREEZE-AD4", "NCT03428100"))
    ]
    result = find_duplicates(records)
    assert result.groups == [] and result.uncertain_pairs == []


def test_two_exports_of_one_erratum_merge_but_not_with_the_article() -> None:
    """The Embase and Web of Science copies of one erratum merge; neither joins the corrected article."""
    article = replace(BASE, pages="542-544", volume="360", issue="5")
    embase = variant(article, title=BASE.title + " (British Journal of Dermatology (2020) 183 (242-255))",
                     pages="2487", issue="23")
    wos = variant(article, title=BASE.title + " (vol 183, pg 242, 2020)", pages="2487-2487", issue="23")
    result = find_duplicates([article, embase, wos])
    assert [g.members for g in result.groups] == [(1, 2)]
