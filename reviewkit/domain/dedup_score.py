"""Provides the pair score: field similarities of two prepared records combined into one number and a verdict.

Score. It starts from the title similarity (normalised Indel ratio, 0-1; for a bracketed translation
or a bilingual title the best partial alignment) and moves with the other fields. Each of authors,
journal, volume and pages that agrees adds 0.01. A disagreement subtracts: authors up to 0.15
(graded from similarity 0.8 down to 0.5, and waived when pages and volume or journal agree: a
garbled author list), volume 0.10, pages 0.05, journal 0.03 (and 0.10 more when the journal and the
pages or volume both differ), DOI 0.10, PMID 0.50, a year more than one apart 0.25. A missing field
neither helps nor hurts. A shared DOI, PMID, PMCID (or NCT number between registry records) lifts
the score to at least 0.99 unless the titles are under 0.6 alike (one DOI for a whole supplement).
The same year, volume, page range and authors (a citation match; the same journal standing in for
the authors when one record has none) lift it to at least 0.96 when the titles are at least 0.5
alike: a translated or reworded title of one article. A record whose volume, issue and pages were
shifted one field along by its export ("26(9):1746" read as issue 26, pages 9) counts as the same
volume with unknown pages.

Gates. A pair at or above the automatic threshold merges only if no do-not-merge rule applies
(dedup_rules.py) and, unless an identifier matches: at least one of authors/journal/volume/pages
agrees; the years are at most one apart, and one apart only with pages or volume agreeing; the PMIDs
do not differ; the pages do not differ; differing journals are backed by agreeing pages; and, unless
the pages agree, the authors do not disagree and the titles carry the same numbers and do not differ by
whole words. The first gate
that fails is the pair's `reason` in the review queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from reviewkit.domain.dedup_features import Prepared
from reviewkit.domain.dedup_rules import do_not_merge
from reviewkit.domain.normalise import journals_match

AGREE_BONUS = 0.01
PENALTY = {"authors": 0.15, "volume": 0.10, "pages": 0.05, "journal": 0.03, "venue": 0.10, "doi": 0.10, "pmid": 0.50,
           "year": 0.25}
#: Below this title similarity a shared DOI is not trusted (supplement-wide and mis-assigned DOIs).
ID_TITLE_FLOOR = 0.6
#: A citation match (same year, volume, first page, authors) scores at least this, at titles this alike.
CITATION_SCORE = 0.96
CITATION_TITLE_FLOOR = 0.5


@dataclass(frozen=True, slots=True)
class PairScore:
    """The verdict on one pair: its score, the field similarities behind it and what blocks a merge."""

    score: float
    fields: dict[str, float]
    #: Why the pair may not merge automatically ("" when nothing stops it); a "rule:" prefix means never.
    reason: str
    auto_ok: bool


def _ratio(a: str, b: str) -> float:
    return fuzz.ratio(a, b) / 100.0


def title_score(a: Prepared, b: Prepared, ratio: float | None = None) -> float:
    """Title similarity; for a bracketed translation or a bilingual title, the best partial alignment counts."""
    if not a.title or not b.title:
        return 0.0
    base = _ratio(a.title, b.title) if ratio is None else ratio
    if base < 0.9 and (a.translated or b.translated or ";" in a.title or ";" in b.title):
        short = min(len(a.title), len(b.title))
        if short >= 30:
            base = max(base, 0.97 * fuzz.partial_ratio(a.title, b.title) / 100.0)
    return base


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def pages_agree(a: Prepared, b: Prepared) -> bool | None:
    """Whether the page ranges agree (same first or same last page); None when missing or not comparable.

    An electronic article number ("e12724") and a printed page ("1") count different things, so they
    are not compared.
    """
    if not a.first_page or not b.first_page:
        return None
    if a.first_page[0].isdigit() != b.first_page[0].isdigit():
        # "c37" (Nephron Clinical Practice) and "37" agree; an article number ("e12724", BMJ "c1804")
        # and a printed page are not comparable; a supplement page ("S45", "A27") and page 242 disagree.
        if a.first_page.lstrip(_LETTERS) == b.first_page.lstrip(_LETTERS):
            return True
        return False if {a.first_page[0], b.first_page[0]} & {"S", "A"} else None
    if a.first_page == b.first_page:
        return True
    # Either way round: "569" and "567-569" agree whichever record comes first (one source keeps only
    # the end page); the verdict must not depend on the order of the records.
    return a.last_page == b.last_page


def _fields_shifted(a: Prepared, b: Prepared) -> bool:
    """Whether `a` carries `b`'s volume as its issue and `b`'s issue as its pages, with no volume of its own."""
    return (not a.volume and bool(a.issue) and a.issue == b.volume and bool(b.issue)
            and a.pages == b.issue)


def field_similarities(a: Prepared, b: Prepared, title: float) -> dict[str, float]:
    """Per-field similarities (0-1) of the fields both records have; a field either lacks is left out."""
    fields: dict[str, float] = {}
    if a.title and b.title:
        fields["title"] = round(title, 4)
    if a.surnames and b.surnames:
        sim = max(fuzz.token_set_ratio(a.surnames, b.surnames), fuzz.token_set_ratio(a.author_words, b.author_words)
                  ) / 100.0
        # The first author carries most identity: another first author caps the similarity near 0.5
        # unless the two names are near-spellings of each other.
        if a.surnames.split(" ", 1)[0] != b.surnames.split(" ", 1)[0]:
            sim = min(sim, 0.5 + 0.5 * _ratio(a.surnames.split(" ", 1)[0], b.surnames.split(" ", 1)[0]) * sim)
        fields["authors"] = round(sim, 4)
    if a.year is not None and b.year is not None:
        gap = abs(a.year - b.year)
        fields["year"] = 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0
    journal = journals_match(a.journal, b.journal)
    if journal is not None:
        fields["journal"] = 1.0 if journal else 0.0
    shifted = _fields_shifted(a, b) or _fields_shifted(b, a)
    if shifted:
        # One export moved "26(9):1746" one field along (volume empty, issue 26, pages 9): the volume
        # agrees and the pages are unknown.
        fields["volume"] = 1.0
    elif a.volume and b.volume:
        fields["volume"] = 1.0 if a.volume == b.volume else 0.0
    pages = None if shifted else pages_agree(a, b)
    if pages is not None:
        fields["pages"] = 1.0 if pages else 0.0
    for name in ("doi", "pmid", "pmcid"):
        x, y = getattr(a, name), getattr(b, name)
        if x and y:
            fields[name] = 1.0 if x == y else 0.0
    if a.nct_ids and b.nct_ids:
        fields["nct"] = 1.0 if set(a.nct_ids) & set(b.nct_ids) else 0.0
    return fields


def score_pair(a: Prepared, b: Prepared, title_ratio: float | None = None, auto_threshold: float = 0.95
               ) -> PairScore:
    """Score one pair and say whether it may merge automatically at `auto_threshold`."""
    title = title_score(a, b, title_ratio)
    fields = field_similarities(a, b, title)
    score = title
    agree = 0
    for name in ("authors", "journal", "volume", "pages"):
        value = fields.get(name)
        if value is None:
            continue
        if value >= 0.8:
            agree += 1
            score += AGREE_BONUS
        elif name == "authors" and fields.get("pages") == 1.0 and 1.0 in (fields.get("volume"), fields.get("journal")):
            # Same pages of the same issue: a garbled author list ("Ching-yi, Wu") is the likelier story.
            continue
        elif name == "authors":
            # Graded: partial overlap (an author list cut short, one name garbled) costs little.
            score -= PENALTY["authors"] * min(1.0, (0.8 - value) / 0.3)
        else:
            score -= PENALTY[name]
    if fields.get("journal") == 0.0 and 0.0 in (fields.get("pages"), fields.get("volume")):
        # Another journal and other pages: the same work published (or presented) twice.
        score -= PENALTY["venue"]
    for name in ("doi", "pmid"):
        if fields.get(name) == 0.0:
            score -= PENALTY[name]
    if fields.get("year") == 0.0:
        score -= PENALTY["year"]
    id_match = any(fields.get(n) == 1.0 for n in ("doi", "pmid", "pmcid", "nct"))
    if id_match and (title >= ID_TITLE_FLOOR or not (a.title and b.title)) and fields.get("pmid") != 0.0:
        score = max(score, 0.99)
    id_conflict = 0.0 in (fields.get("doi"), fields.get("pmid"), fields.get("pmcid"))
    if not id_conflict and _citation_match(a, b, fields):
        score = max(score, CITATION_SCORE)
    score = min(max(score, 0.0), 1.0)

    venue = _venue_agrees(fields)
    rule = do_not_merge(a.flags, b.flags, venue_agrees=venue)
    if not rule and a.flags.registry and b.flags.registry and fields.get("nct") == 0.0:
        # Two registrations with different NCT numbers are two trials, however alike their titles
        # (a sponsor's programme registers BREEZE-AD1, AD2, ... under one wording).
        rule = "different trial registrations"
        score = 0.0
    reason = ""
    if rule:
        reason = f"rule: {rule}"
    elif a.flags.abstract != b.flags.abstract and venue is None:
        reason = "conference abstract? venue unknown"
    elif fields.get("year") == 0.0:
        reason = "years more than one apart"
    elif not agree and not id_match:
        reason = "no corroborating field"
    elif fields.get("pmid") == 0.0 or fields.get("pmcid") == 0.0:
        reason = "different PubMed ids"
    elif fields.get("pages") == 0.0 and not id_match:
        # Same title and journal on other pages: an erratum, a reprint or a companion piece as often as a
        # garbled export.
        reason = "pages differ"
    elif fields.get("year") == 0.5 and not id_match and 1.0 not in (fields.get("pages"), fields.get("volume")):
        # E-pub ahead of print vs print is common, but so is the same abstract at next year's meeting.
        reason = "years one apart and the venue does not confirm"
    elif fields.get("journal") == 0.0 and not id_match and fields.get("pages") != 1.0:
        reason = "journals differ and the pages do not confirm"
    elif not id_match and fields.get("pages") != 1.0 and fields.get("authors", 1.0) < 0.8:
        # Other authors under one title, journal and volume, with nothing else to tie them (no identifier,
        # no pages): two editorials, letters or replies as often as one garbled author list.
        reason = "authors differ and the pages do not confirm"
    elif not id_match and fields.get("pages") != 1.0 and _numbers_conflict(a.title_numbers, b.title_numbers):
        reason = "titles carry different numbers"
    elif not id_match and fields.get("pages") != 1.0 and title < 0.999 and words_substituted(a.title, b.title):
        reason = "titles differ by whole words"
    elif score < auto_threshold:
        reason = "score below the automatic threshold"
    return PairScore(round(score, 4), fields, reason, auto_ok=not reason)


def protecting_rule(a: Prepared, b: Prepared) -> str | None:
    """The do-not-merge rule that keeps two records apart (erratum, reply, part, protocol, abstract), or None.

    The same check score_pair makes, for reports that ask how many true pairs the rules hold apart.
    """
    fields = field_similarities(a, b, title_score(a, b))
    return do_not_merge(a.flags, b.flags, venue_agrees=_venue_agrees(fields))


def _citation_match(a: Prepared, b: Prepared, fields: dict[str, float]) -> bool:
    """Same year, volume, page range and authors: one article, even under a translated or reworded title.

    Single pages are left out: several abstracts or letters share one page. When one record has no
    authors (an old Ovid or CAB record), the same journal stands in for them: one journal's volume
    holds one article on a given page range.
    """
    who = fields["authors"] >= 0.8 if "authors" in fields else fields.get("journal") == 1.0
    return (
        fields.get("year") == 1.0 and fields.get("volume") == 1.0 and a.pages == b.pages
        and a.first_page != a.last_page
        and who and fields.get("title", 0.0) >= CITATION_TITLE_FLOOR
    )


def _venue_agrees(fields: dict[str, float]) -> bool | None:
    """Whether the two records appeared in the same place: pages first, else volume, else journal."""
    if "pages" in fields:
        return fields["pages"] == 1.0
    if "volume" in fields:
        return fields["volume"] == 1.0 and fields.get("journal") != 0.0
    if "journal" in fields:
        return fields["journal"] == 1.0
    return None


def _numbers_conflict(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """A number in each title that the other lacks ("12-month" vs "24-month"); a number one title merely
    adds (a truncated title, a note) is no conflict."""
    return bool(set(a) - set(b)) and bool(set(b) - set(a))


def words_substituted(a: str, b: str) -> bool:
    """Whether each title has a word the other lacks that is no misspelling of any of the other's words.

    "adult patients" vs "pediatric patients" is a substitution; "randomised" vs "randomized" and a
    truncated end are not.
    """
    wa, wb = set(a.split()), set(b.split())
    only_a, only_b = wa - wb, wb - wa
    if not only_a or not only_b:
        return False
    unmatched_a = [w for w in only_a if not any(_same_word(w, v) for v in only_b)]
    unmatched_b = [w for w in only_b if not any(_same_word(w, v) for v in only_a)]
    return bool(unmatched_a) and bool(unmatched_b)


def _same_word(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a) or fuzz.ratio(a, b) >= 75
