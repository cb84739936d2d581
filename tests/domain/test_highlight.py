"""Tests keyword highlighting: whole words, phrases, wildcards, overlaps, punctuation and Unicode."""

from __future__ import annotations

from reviewkit.domain.highlight import Span, highlight, highlight_spans, keyword_pattern


def _words(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    return [(text[s:e], k) for s, e, k in spans]


def test_case_insensitive_whole_word() -> None:
    """'trial' matches 'Trial' and 'TRIAL' but not inside 'trials' or 'pretrial'."""
    text = "Trial of X. TRIAL two; trials and pretrial work."
    assert _words(text, highlight(text, include=["trial"])) == [("Trial", "include"),
                                                                 ("TRIAL", "include")]


def test_wildcard_suffix() -> None:
    """'random*' matches random, randomised and Randomized but not 'pseudorandom'."""
    text = "A randomised, Randomized and random design; pseudorandom numbers."
    found = [w for w, _ in _words(text, highlight(text, include=["random*"]))]
    assert found == ["randomised", "Randomized", "random"]


def test_phrase_across_space_hyphen_and_line_break() -> None:
    """A phrase matches across runs of spaces, hyphens and line breaks."""
    text = "a double-blind, double  blind and double\nblind trial"
    spans = highlight(text, include=["double blind"])
    assert [text[s:e] for s, e, _ in spans] == ["double-blind", "double  blind", "double\nblind"]


def test_overlap_longest_wins() -> None:
    """An include phrase beats an overlapping shorter exclude keyword inside it."""
    text = "This randomised controlled trial was not a trial of children."
    spans = highlight(text, include=["randomised controlled trial"], exclude=["trial", "children"])
    assert _words(text, spans) == [("randomised controlled trial", "include"),
                                   ("trial", "exclude"), ("children", "exclude")]


def test_overlapping_phrases_give_one_span() -> None:
    """Two phrases sharing a word give one span: the longer, or the leftmost if equally long."""
    text = "health care professionals"
    spans = highlight(text, include=["health care"], exclude=["care professionals"])
    assert _words(text, spans) == [("care professionals", "exclude")]
    text = "long term care"
    spans = highlight(text, include=["long term"], exclude=["term care"])
    assert _words(text, spans) == [("long term", "include")]


def test_same_span_in_both_lists_is_exclude() -> None:
    """A keyword in both lists is shown as an exclusion."""
    assert highlight("Adults only", include=["adults"], exclude=["ADULTS"]) == [(0, 6, "exclude")]


def test_punctuation_boundaries_and_special_characters() -> None:
    """Punctuation bounds words, and regex characters in keywords are literal."""
    text = "(COVID-19), covid-19; C++ and 5-HT (serotonin)."
    spans = highlight(text, include=["covid-19", "serotonin"], exclude=["c++"])
    assert _words(text, spans) == [("COVID-19", "include"), ("covid-19", "include"),
                                   ("C++", "exclude"), ("serotonin", "include")]


def test_unicode_words_and_case() -> None:
    """Accented letters are word characters and match case-insensitively."""
    text = "Études naïves: ÉTUDE of Müller-Lyer in naïve rats, not naïveté."
    spans = highlight(text, include=["étude*"], exclude=["naïve"])
    assert _words(text, spans) == [("Études", "include"), ("ÉTUDE", "include"),
                                   ("naïve", "exclude")]


def test_offsets_index_the_original_text() -> None:
    """Spans are code-point offsets into the text as given (an emoji counts as one)."""
    text = "😀 ß mouse model"
    spans = highlight_spans(text, include=["mouse model"])
    assert spans == [Span(4, 15, "include")]
    assert text[spans[0].start:spans[0].end] == "mouse model"


def test_blank_and_bare_wildcard_keywords_are_ignored() -> None:
    """Empty keywords and a lone '*' highlight nothing rather than everything."""
    assert keyword_pattern("   ") is None
    assert keyword_pattern("*") is None
    assert highlight("anything at all", include=["", "*"], exclude=[" "]) == []


def test_spans_are_sorted_and_disjoint() -> None:
    """Spans come back in text order and never overlap."""
    text = "mice mice rats mice and rat models in rats"
    spans = highlight(text, include=["mice", "rat*"], exclude=["rat models"])
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert ("rat models", "exclude") in _words(text, spans)
