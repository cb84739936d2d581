"""Tests for duplicate detection: identifier and fuzzy matches, the review band, groups and primaries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reviewkit.domain.dedup import completeness, explain, find_duplicates
from reviewkit.domain.records import Record
from tests.domain.test_dedup_support import BASE, other_paper, variant


def _grouped(result, a: int, b: int) -> bool:  # noqa: ANN001
    return any(a in g.members and b in g.members for g in result.groups)


def test_exported_variant_merges_automatically() -> None:
    """Case, punctuation, ISO journal, author initials and short page range still merge."""
    records = [BASE, other_paper(1), variant(), other_paper(2)]
    result = find_duplicates(records)
    assert len(result.groups) == 1
    assert result.groups[0].members == (0, 2)
    assert result.uncertain_pairs == []


def test_primary_is_the_most_complete_record() -> None:
    """The group's primary is the record with the most complete metadata, not the first one."""
    records = [variant(), BASE]
    result = find_duplicates(records)
    assert result.groups[0].primary == 1
    assert completeness(BASE) > completeness(variant())


def test_shared_doi_merges_despite_title_noise() -> None:
    """An exact DOI match merges even when the titles differ in wording."""
    a = replace(BASE, title="Baricitinib in moderate to severe atopic dermatitis: BREEZE-AD1 and AD2")
    result = find_duplicates([a, BASE])
    assert _grouped(result, 0, 1)
    assert result.auto_pairs[0].fields["doi"] == 1.0


def test_different_pmids_do_not_merge() -> None:
    """Two records with different PMIDs are different articles, however alike."""
    a = replace(BASE, pmid="1")
    b = replace(BASE, pmid="2", doi=None)
    assert find_duplicates([a, b]).groups == []


def test_year_one_apart_merges_when_pages_agree() -> None:
    """E-pub and print years differ by one: same volume and pages still merge."""
    result = find_duplicates([BASE, variant(year=2019)])
    assert _grouped(result, 0, 1)


def test_year_two_apart_does_not_merge() -> None:
    """Years two apart do not merge automatically."""
    result = find_duplicates([BASE, variant(year=2017, volume="", pages="")])
    assert result.groups == []


def test_missing_fields_neither_help_nor_hurt() -> None:
    """A variant without journal, volume and pages still merges on title, authors and year."""
    result = find_duplicates([BASE, variant(journal="", volume="", pages="", issue="")])
    assert _grouped(result, 0, 1)
    assert "journal" not in result.auto_pairs[0].fields


def test_other_sole_authors_under_one_short_title_go_to_the_review_band() -> None:
    """Four records alike but for their sole author ("An amazing title", one journal, volume and year, no pages
    or identifier): two editorials or letters as often as one record, so none merges automatically and every
    pair waits for a human with the reason. Only the author differs, so each pair still scores high."""
    records = [Record(title="An amazing title", authors=(f"{name}, Jean",), journal="Nice Journal", year=2013,
                      volume="12") for name in ("Cesar", "Baltazar", "Aimar", "Doute")]
    result = find_duplicates(records)
    assert result.groups == [] and result.auto_pairs == []
    assert result.uncertain_pairs and {p.reason for p in result.uncertain_pairs} == {
        "authors differ and the pages do not confirm"}
    # The same author list garbled on the same pages of the same volume is still one record.
    with_pages = [replace(r, pages="101-109") for r in records[1:3]]
    assert _grouped(find_duplicates(with_pages), 0, 1)


def test_other_pages_go_to_the_review_band() -> None:
    """Same title, authors and journal on other pages: a human decides, with the field similarities."""
    result = find_duplicates([BASE, variant(pages="1024-1030")])
    assert result.groups == []
    (pair,) = result.uncertain_pairs
    assert (pair.a, pair.b) == (0, 1)
    assert pair.fields["pages"] == 0.0
    assert pair.fields["title"] == 1.0
    assert pair.reason == "pages differ"


def test_title_change_at_the_start_is_still_found() -> None:
    """Blocking on the reversed title finds a pair whose titles differ in their first word."""
    records = [other_paper(i) for i in range(40)]
    records.append(BASE)
    records.append(variant(title="A " + BASE.title))
    result = find_duplicates(records)
    assert _grouped(result, 40, 41)


def test_many_records_find_all_duplicates_with_near_linear_candidates() -> None:
    """On 600 distinct papers and 100 duplicates all duplicates merge and candidates stay O(n)."""
    papers = [other_paper(i) for i in range(600)]
    dupes = [replace(p, title=p.title.upper(), authors=tuple(a.replace(",", "") for a in p.authors))
             for p in papers[:100]]
    result = find_duplicates(papers + dupes)
    assert len(result.groups) == 100
    assert all(g.members[1] - g.members[0] == 600 for g in result.groups)
    assert result.n_candidates < 30 * len(papers + dupes)


def test_progress_reports_reach_the_total() -> None:
    """The progress callback ends at (total, total)."""
    calls: list[tuple[int, int]] = []
    find_duplicates([BASE, variant()], progress=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == calls[-1][1]


def test_explain_gives_side_by_side_fields() -> None:
    """explain() returns the score, field similarities, verdict and the normalised values."""
    info = explain(BASE, variant())
    assert info["auto"] is True
    assert info["fields"]["authors"] == 1.0
    assert info["normalised"]["pages"] == ("242-255", "242-255")


def test_empty_and_single_inputs() -> None:
    """No records, or one, give no groups and no pairs."""
    assert find_duplicates([]).groups == []
    assert find_duplicates([Record(title="x")]).uncertain_pairs == []


def test_review_queue_asks_once_per_pair_of_groups() -> None:
    """A record uncertain against two copies of one paper is asked about once, not twice."""
    other_pages = variant(pages="1024-1030")
    result = find_duplicates([BASE, variant(), other_pages])
    assert [g.members for g in result.groups] == [(0, 1)]
    assert len(result.uncertain_pairs) == 1
    assert 2 in (result.uncertain_pairs[0].a, result.uncertain_pairs[0].b)


def test_thresholds_must_be_ordered() -> None:
    """A review threshold above the automatic one is a programming error."""
    with pytest.raises(ValueError, match="review_threshold"):
        find_duplicates([BASE], auto_threshold=0.8, review_threshold=0.9)


def test_volume_issue_pages_shifted_one_field_still_merge() -> None:
    """An export that moved "183(2):242" one field along (issue 183, pages 2, no volume) still merges."""
    shifted = variant(volume="", issue="183", pages="2")
    verdict = explain(BASE, shifted)
    assert verdict["fields"]["volume"] == 1.0 and "pages" not in verdict["fields"]
    assert _grouped(find_duplicates([BASE, shifted]), 0, 1)


def test_reworded_title_without_authors_merges_on_journal_volume_and_pages() -> None:
    """A reworded translation without authors merges on the same journal, year, volume and page range."""
    reworded = variant(title="Baricitinib for moderate and severe atopic eczema: results of two phase 3 trials",
                       authors=())
    assert explain(BASE, reworded)["auto"]
    assert not explain(BASE, replace(reworded, journal="Dermatology"))["auto"]


def test_end_page_alone_agrees_with_the_range_either_way_round() -> None:
    """"255" and "242-255" agree whichever record comes first: the verdict does not depend on input order."""
    end_only = variant(pages="255")
    assert explain(BASE, end_only)["fields"]["pages"] == 1.0
    assert explain(end_only, BASE)["fields"]["pages"] == 1.0
    assert _grouped(find_duplicates([end_only, BASE]), 0, 1)
