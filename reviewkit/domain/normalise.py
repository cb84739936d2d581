"""Provides the matching forms of citation fields: folded text, titles with their flags, pages, authors, journals."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_TAG_RE = re.compile(r"<[^>]{0,200}>")
# Combining marks left over after NFKD; a regex is ~10x faster than a per-character loop at 100k titles.
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_ALNUM_RE = re.compile(r"[\W_]+")


def fold(text: str | None) -> str:
    """Return text with tags and entities removed, diacritics folded, case folded, punctuation as single spaces."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    text = unicodedata.normalize("NFKD", text)
    text = _COMBINING_RE.sub("", text).casefold()
    return _NON_ALNUM_RE.sub(" ", text).strip()


# --- titles -------------------------------------------------------------------------------------

#: Trailing language markers some databases append to translated titles: "(author's transl)".
_TRAILING_MARKER_RE = re.compile(r"\s*\((?:[a-z ,']{0,40}\btransl\w*|english abstract)\)\.?\s*$", re.IGNORECASE)
#: Trailing bracketed notes: "[Chinese]", "[Review] [16 refs]", "[see comments]".
_TRAILING_BRACKET_RE = re.compile(r"\s*\[[^\[\]]*\]\.?\s*$")
# Matched on the case-folded title with its punctuation: "Correction: X" is a notice, "Correction of
# hyponatraemia" an article; likewise "Re: X" is a letter, "Re-evaluation of X" an article.
_ERRATUM_RE = re.compile(
    r"^\W*(?:erratum|errata|corrigend(?:um|a)|expression of concern|retracted\b"
    r"|(?:correction|corrections|retraction|notice of retraction)\s*(?:[:.\-\u2013]|to\b|notice\b|$))"
    # Web of Science names an erratum by the article's title and "(vol 142, pg 310, 2003)".
    r"|\(vol\.? \d+,? pg\.? \d+"
)
# Embase names an erratum by the article's title and a citation of the article, with or without an
# "Erratum:" prefix: "... syndrome (New England Journal of Medicine (2009) 360 (542-544))", or
# "(The Journal of Pediatrics (March 2003) 142:3 (310-312))". Only a corrected article is cited so.
_EMBASE_ERRATUM_CITATION_RE = re.compile(
    r"\s*\((?=[^()]*[a-z])[^()]*\((?:[a-z]+\.?,?\s+)?(?:\d{1,2},?\s+)?\d{4}\)\s*\d+(?:\s*:\s*\d+)?\s*"
    r"\(\s*[a-z]?\d+(?:\s*[-\u2013]\s*[a-z]?\d+)?\s*\)\s*\)\s*$",
    re.IGNORECASE,
)
# Citation notes of an erratum, dropped from its matching text so that the Embase and the Web of
# Science copies of one erratum compare by the article's title: the prefix, "(vol 142, pg 310, 2003)",
# the Embase citation, and an Embase citation the export cut short ("(The Journal of Pediatrics (M").
_ERRATUM_PREFIX_RE = re.compile(
    r"^\W*(?:erratum|errata|corrigend(?:um|a)|corrections?)\s*(?:to\b)?\s*(?:[:.\-\u2013]|$)\s*", re.IGNORECASE
)
_WOS_ERRATUM_CITATION_RE = re.compile(r"\s*\(vol\.? \d+,? pg\.? \d+[^()]*\)?\s*$", re.IGNORECASE)
_CUT_CITATION_RE = re.compile(r"\s*\([^()]*\([^()]*$")
# MEDLINE notes a later erratum on the article itself: "... syndrome.[Erratum appears in ...]"; that
# record is the article, not the erratum, so the note is dropped before matching. The note may hold
# brackets of its own ("Note: Niauif, P [added]]") and be followed by a second note cut short
# (".[Erratum"), so everything from the first note on is dropped.
_ERRATUM_NOTE_RE = re.compile(
    r"\s*\.?\s*\[(?:erratum|comment|retraction|corrected)\b.*$", re.IGNORECASE | re.DOTALL
)
_COMMENT_RE = re.compile(
    r"^\W*(?:comments? on|commentary on|comment\s*:|reply|in reply|response to|authors?'? reply|re\s*:"
    r"|letter to the editor)"
    r"|\b(?:authors?'? reply|reply to|in response to)\b|\breply\W*$"
)
# "treatment protocol of Essen University Hospital" describes care, not a study protocol: the bare word
# is not enough.
_PROTOCOL_RE = re.compile(
    r"\b(?:study|trial|review|research|evaluation) protocol\b|\bprotocol (?:for|of) (?:a|an|the)\b|^protocol\b"
    r"|\bprotocol$|\brationale and design\b|\bdesign and rationale\b|\brationale design\b"
    r"|\bdesign and methods?\b|\bmethods? and design\b"
)
# Ovid appends the original-language title: "[Translated title] <ORIGINAL> ORIGINALTITEL".
_ORIGINAL_RE = re.compile(r"\s*<ORIGINAL>.*$", re.IGNORECASE | re.DOTALL)
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "first": "1",
                 "second": "2", "third": "3", "fourth": "4"}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9",
          "x": "10"}
# "Part 2", "Pt. II", "part one"; and a roman numeral standing alone before a colon ("... cervix. II: Experience").
_PART_RE = re.compile(r"\b(?:part|pt)\.?\s*(\d+|[ivx]{1,4}|one|two|three|four|five|six|first|second|third|fourth)\b")
_ROMAN_COLON_RE = re.compile(r"(?:^|[.:;,]\s*)([ivx]{1,4})\s*[:.]\s")
_DIGITS_RE = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class TitleInfo:
    """A title's matching form and what it says about the kind of publication."""

    #: Folded title without translation brackets or trailing language markers.
    text: str
    #: The source bracketed the title ("[A study of ...]"): a translation of a non-English title.
    translated: bool = False
    erratum: bool = False
    comment: bool = False
    protocol: bool = False
    #: Part number ("2" for "Part II"), "" when the title names none.
    part: str = ""
    #: The title's digit runs in order: titles that differ only in "12-month" vs "24-month" differ here.
    numbers: tuple[str, ...] = ()


def title_info(title: str | None) -> TitleInfo:
    """Return the matching form of a title and its flags (erratum, comment, protocol, part, translated)."""
    if not title:
        return TitleInfo("")
    raw = html.unescape(title).strip() if "&" in title else title.strip()
    raw = _ORIGINAL_RE.sub("", raw)
    note = _ERRATUM_NOTE_RE.search(raw)
    if note and note.start() > 0:
        # A title that is wholly a bracketed note ("[Comment on ...]") is kept.
        raw = raw[: note.start()]
    raw = _TRAILING_MARKER_RE.sub("", raw).strip()
    translated = False
    # Strip trailing notes one by one, but keep a title that is wholly bracketed (a translation).
    while True:
        match = _TRAILING_BRACKET_RE.search(raw)
        if not match or match.start() == 0:
            break
        raw = raw[: match.start()].rstrip()
    stripped = raw.rstrip(". ")
    if stripped.startswith("[") and stripped.endswith("]"):
        translated = True
        raw = stripped[1:-1]
    lowered = unicodedata.normalize("NFKD", raw).casefold()
    part = ""
    match = _PART_RE.search(lowered) or _ROMAN_COLON_RE.search(lowered)
    if match:
        token = match.group(1)
        part = _NUMBER_WORDS.get(token) or _ROMAN.get(token) or token.lstrip("0")
    erratum = bool(_ERRATUM_RE.search(lowered)) or (
        # The cheap test first: the Embase citation is a title's last thing and ends in "))".
        lowered.rstrip().endswith("))") and bool(_EMBASE_ERRATUM_CITATION_RE.search(lowered))
    )
    if erratum:
        # Match an erratum by the corrected article's title: the do-not-merge rule keeps it apart from
        # the article, and its copies from two databases then look alike.
        bare = _ERRATUM_PREFIX_RE.sub("", raw)
        for citation in (_WOS_ERRATUM_CITATION_RE, _EMBASE_ERRATUM_CITATION_RE, _CUT_CITATION_RE):
            bare = citation.sub("", bare)
        raw = bare if fold(bare) else raw
    text = fold(raw)
    return TitleInfo(
        text=text,
        translated=translated,
        erratum=erratum,
        comment=bool(_COMMENT_RE.search(lowered)),
        protocol=bool(_PROTOCOL_RE.search(text)),
        part=part,
        numbers=tuple(_DIGITS_RE.findall(text)),
    )


# --- pages --------------------------------------------------------------------------------------

_PAGES_RE = re.compile(
    r"^\s*([A-Za-z]?)(\d+)([A-Za-z]?)\s*(?:[-\u2010-\u2015]+\s*([A-Za-z]?)(\d+)([A-Za-z]?))?\s*(?:$|[,;.(p])"
)


def normalise_pages(pages: str | None) -> str:
    """Return "first-last" with an abbreviated last page expanded ("123-9" -> "123-129"); "" if none.

    A letter prefix (supplement "S12", electronic "e48") is kept and upper-cased; a single page stays single.
    """
    if not pages:
        return ""
    match = _PAGES_RE.match(pages)
    if not match:
        # "Suppl-89", "t-8": mangled exports; an unreadable range is unknown, not a disagreement.
        return ""
    prefix, first, suffix, prefix2, last, suffix2 = match.groups()
    prefix = prefix.upper()
    start = f"{prefix}{first.lstrip('0') or '0'}{suffix.upper()}"
    if not last:
        return start
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    end = f"{(prefix2 or prefix).upper()}{last.lstrip('0') or '0'}{(suffix2 or '').upper()}"
    return start if end == start else f"{start}-{end}"


def first_page(pages: str | None) -> str:
    """Return the first page of a normalised page range ("123-129" -> "123")."""
    return normalise_pages(pages).split("-", 1)[0]


# --- authors ------------------------------------------------------------------------------------

_INITIALS_RE = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")


@lru_cache(maxsize=1 << 16)
def author_key(author: str) -> str:
    """Return "surname initials", folded: "Zhou, Xiangdong" and "Zhou X." both give "zhou x"."""
    author = author.strip().rstrip(",;")
    if not author:
        return ""
    if "," in author:
        surname, _, given = author.partition(",")
    else:
        parts = author.split()
        # "Smith JA" / "Smith J. A." (MEDLINE, ASySD) put initials last; "John Smith" puts the surname last.
        cut = next((i for i in range(1, len(parts)) if all(_INITIALS_RE.match(p) for p in parts[i:])), 0)
        if cut:
            surname, given = " ".join(parts[:cut]), " ".join(parts[cut:])
        elif len(parts) > 1:
            surname, given = parts[-1], " ".join(parts[:-1])
        else:
            surname, given = author, ""
    initials = "".join(w[0] for w in fold(given).split())
    surname = fold(surname).replace(" ", "")
    return f"{surname} {initials}".strip()


def author_keys(authors: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return the author keys of a list of authors, dropping empty names."""
    keys = (author_key(a) for a in authors)
    return tuple(k for k in keys if k)


def surnames(authors: tuple[str, ...] | list[str]) -> str:
    """Return the folded surnames joined by spaces, the form the author similarity compares."""
    return " ".join(k.split(" ", 1)[0] for k in author_keys(authors))


# --- journals -----------------------------------------------------------------------------------

#: Words ISO 4 abbreviations drop; they carry no identity.
_JOURNAL_STOPWORDS = frozenset(
    ["the", "of", "and", "for", "in", "on", "at", "a", "an", "de", "la", "le", "les", "des", "du", "der", "die", "und", "fur", "et", "y", "el"]
)


# "[Electronic Resource]", "(Stuttgart, Germany)", "(Print)", and a parenthesis the export cut short.
_JOURNAL_NOTE_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)|\([^)]*$")
_JOURNAL_CONFERENCE_RE = re.compile(r"[.:,]?\s*(?:conference|congress|meeting)\b.*$", re.IGNORECASE | re.DOTALL)
# An ordinal or a year opening the text before "Congress"/"Meeting": the name of an event.
_EVENT_HEAD_RE = re.compile(r"^\W*(?:the\s+)?\d")


def journal_tokens(journal: str | None) -> tuple[str, ...]:
    """Return the journal's folded words without stop words: the form journals_match compares."""
    if not journal:
        return ()
    # Alternate names after "=" (a transliteration, then the English name) are dropped: the first one names it.
    # Embase names a conference after the journal: "Diabetes. Conference: 70th Scientific Sessions".
    journal = journal.split("=", 1)[0]
    conference = _JOURNAL_CONFERENCE_RE.search(journal)
    if conference:
        journal = journal[: conference.start()]
        # "23rd Congress of the International Society on Thrombosis ...", "54th ASH Annual Meeting": the
        # field names the meeting, not the journal its abstracts appeared in, so the journal is unknown.
        if _EVENT_HEAD_RE.match(journal):
            return ()
    journal = _JOURNAL_NOTE_RE.sub(" ", journal)
    # "Medical science monitor : international medical journal ...": the subtitle is not always exported.
    head, sep, _ = journal.partition(" : ")
    if sep and len(head.split()) >= 2:
        journal = head
    # "Langenbeck's Archives" vs "Langenbecks Arch": the possessive is one word.
    text = fold(journal.replace("'s ", "s ").replace("\u2019s ", "s "))
    tokens = tuple(t for t in text.split() if t not in _JOURNAL_STOPWORDS)
    # "Atherosclerosis Supplements", "European Respiratory Journal. Supplement": one source names the
    # supplement series that prints a journal's meeting abstracts, another the journal itself.
    if len(tokens) > 1 and tokens[-1].startswith("suppl"):
        tokens = tokens[:-1]
    return tokens


def journals_match(a: tuple[str, ...], b: tuple[str, ...]) -> bool | None:
    """Return whether two journal token lists name the same journal; None when either is empty.

    Token-prefix matching in order: each word of one list is a prefix of the word at the same place in
    the other ("j am acad dermatol" matches "journal american academy dermatology").
    """
    if not a or not b:
        return None
    if a == b:
        return True
    if len(a) != len(b):
        short, long = (a, b) if len(a) < len(b) else (b, a)
        # "JPEN J Parenter Enteral Nutr": an acronym prepended to the title in one source.
        if len(long) == len(short) + 1 and _prefix_match(long[1:], short):
            return True
        # A subtitle or place one source drops; a single word is too generic ("Diabetes" vs "Diabetes Care").
        return len(short) >= 2 and _prefix_match(long[: len(short)], short)
    return _prefix_match(a, b)


def _prefix_match(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) == len(b) and all(_abbreviates(x, y) or _abbreviates(y, x) for x, y in zip(a, b, strict=True))


def _abbreviates(short: str, long: str) -> bool:
    """Whether `short` abbreviates `long`: a prefix ("Dermatol") or, as ISO 4 often contracts, the same
    first letter and the rest of its letters in order ("Dtsch" for "Deutsche", "Natl" for "National")."""
    if long.startswith(short):
        return True
    if not short or not long or short[0] != long[0] or len(short) > len(long):
        return False
    rest = iter(long[1:])
    return all(ch in rest for ch in short[1:])
