"""Tests for the matching forms of citation fields (reviewkit.domain.normalise)."""

from __future__ import annotations

import pytest

from reviewkit.domain.normalise import (
    author_key,
    first_page,
    fold,
    journal_tokens,
    journals_match,
    normalise_pages,
    title_info,
)
from reviewkit.domain.records import normalise_doi


def test_fold_removes_diacritics_and_case() -> None:
    """NFKD folding drops accents and case: "Müller Ångström" reads "muller angstrom"."""
    assert fold("Müller ÅNGSTRÖM") == "muller angstrom"


def test_fold_removes_tags_and_entities() -> None:
    """HTML/XML tags and entities are removed: "<i>In vitro</i> caf&eacute;" reads "in vitro cafe"."""
    assert fold("<i>In vitro</i> caf&eacute; &amp; Ca<sup>2+</sup>") == "in vitro cafe ca 2"


def test_fold_collapses_punctuation_and_white_space() -> None:
    """Punctuation and runs of white space become single spaces."""
    assert fold("  Type-2 diabetes:\n a  (randomised) trial. ") == "type 2 diabetes a randomised trial"


def test_translated_title_brackets_are_a_flag() -> None:
    """A wholly bracketed title is a translation; the brackets and language notes are stripped."""
    info = title_info("[Current aspects of hemolytic uremic syndrome in children]. [Review] [16 refs] [Romanian]")
    assert info.translated
    assert info.text == "current aspects of hemolytic uremic syndrome in children"


def test_trailing_language_marker_is_stripped() -> None:
    """A trailing "[Chinese]" does not make two records of one title differ."""
    assert title_info("Efficacy of batroxobin. [Chinese]").text == title_info("Efficacy of batroxobin").text
    assert not title_info("Efficacy of batroxobin. [Chinese]").translated


def test_erratum_and_correction_markers() -> None:
    """Erratum, correction and Web of Science "(vol N, pg N, YYYY)" titles carry the erratum flag."""
    assert title_info("Erratum: Gain-of-function mutations in factor B").erratum
    assert title_info("Correction to: Effect of X on Y").erratum
    assert title_info("Severe deficiency of ADAMTS13 in children (vol 142, pg 310, 2003)").erratum
    assert not title_info("Gain-of-function mutations in factor B.[Erratum appears in PNAS 2007;104:10749]").erratum


def test_comment_reply_protocol_and_part_markers() -> None:
    """Comment/reply, protocol and part-number markers are read from titles."""
    assert title_info("Comment on: Eculizumab in aHUS").comment
    assert title_info("Atypical HUS after streptococcus - Reply").comment
    assert title_info("Study protocol for a randomised trial of X").protocol
    assert title_info("Rationale and design of the BREEZE-AD trials").protocol
    assert title_info("Linomide in MS: Part II: MRI results").part == "2"
    assert title_info("p16INK4a as a marker. I: Experience with squamous lesions").part == "1"
    assert title_info("Eculizumab in aHUS").part == ""


def test_doi_normalised() -> None:
    """DOIs lose URL prefixes and case (the contract's normalise_doi)."""
    assert normalise_doi("https://doi.org/10.1097/MOL.0b013e3282ffaf82.") == "10.1097/mol.0b013e3282ffaf82"


@pytest.mark.parametrize(
    ("text", "doi"),
    [
        ("10.1016/0140-6736(90)", "10.1016/0140-6736(90)"),  # its own bracket stays (it was cut)
        ("(doi: 10.1016/0140-6736(90)).", "10.1016/0140-6736(90)"),
        ("(doi: 10.1000/abc).", "10.1000/abc"),
        ("<https://doi.org/10.1000/x>", "10.1000/x"),
    ],
)
def test_doi_keeps_its_own_closing_bracket(text: str, doi: str) -> None:
    """Trailing punctuation of free text is cut, a closing bracket the DOI opened is not."""
    assert normalise_doi(text) == doi


def test_page_ranges_expanded() -> None:
    """Abbreviated last pages are expanded and letter prefixes kept."""
    assert normalise_pages("123-9") == "123-129"
    assert normalise_pages("1360-70") == "1360-1370"
    assert normalise_pages("S12-4") == "S12-S14"
    assert normalise_pages("3924-3924") == "3924"
    assert first_page("e1001") == "E1001"


def test_unreadable_pages_are_unknown() -> None:
    """Mangled exports ("Suppl-89", Excel dates "01-Sep") are unknown, not a page."""
    assert normalise_pages("Suppl-89") == ""
    assert normalise_pages("01-Sep") == ""


def test_authors_reduced_to_surname_and_initials() -> None:
    """"Zhou, Xiangdong", "Zhou X." and "Xiangdong Zhou" all read "zhou x"."""
    assert author_key("Zhou, Xiangdong") == "zhou x"
    assert author_key("Zhou X.") == "zhou x"
    assert author_key("Xiangdong Zhou") == "zhou x"
    assert author_key("Lewis G. F.") == "lewis gf"
    assert author_key("Müller, Hans-Peter") == "muller hp"


def test_journal_full_title_matches_iso_abbreviation() -> None:
    """Token-prefix matching pairs a journal's ISO abbreviation with its full title."""
    full = journal_tokens("Journal of the American Academy of Dermatology")
    assert journals_match(journal_tokens("J Am Acad Dermatol"), full)
    assert journals_match(journal_tokens("JPEN J Parenter Enteral Nutr"),
                          journal_tokens("Journal of parenteral and enteral nutrition"))
    assert journals_match(journal_tokens("Diabetes. Conference: 70th Scientific Sessions"), journal_tokens("Diabetes"))


def test_journal_contractions_and_place_notes_match() -> None:
    """ISO 4 contractions ("Dtsch", "Natl") and notes like "(Stuttgart, Germany)" still match."""
    assert journals_match(journal_tokens("Dtsch Med Wochenschr"), journal_tokens("Deutsche medizinische Wochenschrift"))
    assert journals_match(journal_tokens("Proc Natl Acad Sci U S A"),
                          journal_tokens("Proceedings of the National Academy of Sciences of the United States of America"))
    assert journals_match(journal_tokens("Pneumologie"), journal_tokens('"Pneumologie (Stuttgart, Germany)"'))
    assert journals_match(journal_tokens("PLoS ONE [Electronic Resource]"), journal_tokens("PLoS One"))


def test_journals_that_differ_do_not_match() -> None:
    """Different journals, and a one-word name against a longer one, do not match; missing is None."""
    assert journals_match(journal_tokens("Diabetes"), journal_tokens("Diabetes Care")) is False
    assert journals_match(journal_tokens("Lancet"), journal_tokens("BMJ")) is False
    assert journals_match(journal_tokens("Am J Med"), journal_tokens("Annals of Medicine")) is False
    assert journals_match(journal_tokens(""), journal_tokens("BMJ")) is None


def test_article_titles_that_merely_start_like_notices_are_not_flagged() -> None:
    """"Correction of hyponatraemia" and "Re-evaluation of X" are articles, not notices or letters."""
    assert not title_info("Correction of hyponatraemia with tolvaptan").erratum
    assert not title_info("Re-evaluation of atopic dermatitis scores").comment
    assert not title_info("Comments from patients on eczema care").comment
    assert not title_info("A treatment protocol of Essen University Hospital").protocol
    assert title_info("Re: Effect of baricitinib").comment


def test_medline_erratum_notes_with_inner_brackets_are_dropped() -> None:
    """A MEDLINE "[Erratum appears in ... [added]].[Erratum" note, nested and cut short, is dropped whole."""
    noted = title_info("Anti-factor H autoantibodies in a fifth transplant recipient.[Erratum appears in"
                       " Am J Transplant. 2009 Sep;9(9):2205 Note: Niauif, P [added]].[Erratum")
    assert noted.text == "anti factor h autoantibodies in a fifth transplant recipient"
    assert not noted.erratum
    assert title_info("[Comment on eculizumab trials]").text == "comment on eculizumab trials"


def test_embase_and_wos_erratum_citations_are_flags_not_title() -> None:
    """Embase "(Journal (2009) 360 (542-544))" and WoS "(vol 360, pg 542, 2009)" errata match by the article title."""
    embase = title_info("Eculizumab for atypical hemolytic-uremic syndrome (New England Journal of Medicine (2009) 360"
                        " (542-544))")
    wos = title_info("Eculizumab for Atypical Hemolytic-Uremic Syndrome (vol 360, pg 542, 2009)")
    cut = title_info("Erratum: Eculizumab for atypical hemolytic-uremic syndrome (The New England Journal (M")
    dated = title_info("Erratum: Eculizumab for aHUS (The Journal of Pediatrics (March 2003) 142:3 (310-312))")
    assert embase.erratum and wos.erratum and cut.erratum and dated.erratum
    assert embase.text == wos.text == cut.text == "eculizumab for atypical hemolytic uremic syndrome"
    assert dated.text == "eculizumab for ahus"
    assert not title_info("Gene therapy in children (part 2) (2010)").erratum


def test_journal_field_naming_a_meeting_is_unknown() -> None:
    """A journal field that names only a meeting ("23rd Congress of ...") says nothing about the journal."""
    assert journal_tokens("23rd Congress of the International Society on Thrombosis and Haemostasis") == ()
    assert journal_tokens("54th ASH Annual Meeting and Exposition") == ()
    assert journal_tokens("Journal of Thrombosis and Haemostasis.Conference: 23rd Congress") == (
        "journal", "thrombosis", "haemostasis")


def test_supplement_series_matches_its_journal() -> None:
    """"Atherosclerosis Supplements" and "Atherosclerosis. Conference: ..." name one journal's abstracts."""
    assert journals_match(journal_tokens("Atherosclerosis Supplements"),
                          journal_tokens("Atherosclerosis. Conference: 15th International Symposium"))
    assert journals_match(journal_tokens("European Respiratory Journal. Supplement."),
                          journal_tokens("Eur Respir J"))
    assert journal_tokens("Supplement") == ("supplement",)
