"""Provides the field normalisers every reader shares: abstracts, pages, author names, identifiers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from reviewkit.domain.records import (
    Record,
    find_nct_ids,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    parse_year,
)

#: Case-sensitive (so fast) pre-test for records that may hold an NCT number at all.
_NCT_HINT = re.compile(r"(?:NCT|nct|Nct) ?\d{8}")
#: Only runs that need changing: two or more blanks, or a single tab / no-break space.
_SPACE_RE = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")
_WS_RE = re.compile(r"\s+")

#: Section labels of a structured abstract: ALL-CAPS ("CONCLUSIONS AND RELEVANCE:") or a common
#: title-case word ("Background:"); a label opens the text or follows the end of a sentence.
#: ALL-CAPS labels need three letters, so "CI: 1.2" or "P: 0.05" never split an abstract.
_LABEL_WORDS = (
    "background|introduction|context|importance|objectives?|aims?|purpose|rationale|hypothesis|"
    "methods?|methodology|design|setting|settings|participants|patients|interventions?|"
    "measurements?|main outcome measures?|outcomes?|results?|findings|conclusions?|discussion|"
    "interpretation|significance|limitations|trial registration|registration|funding|evidence"
)
_LABEL_RE = re.compile(
    r"(?:^|(?<=[.!?)\]])\s+)"
    rf"((?:[A-Z][A-Z0-9/&,()-]{{2,}}(?: [A-Z][A-Z0-9/&,()-]*){{0,5}})|(?i:{_LABEL_WORDS})):\s+"
)


def clean(value: str | None) -> str:
    """Return the value with runs of white space (line breaks included) collapsed to one space."""
    if not value:
        return ""
    if "  " not in value and "\n" not in value and "\t" not in value and "\r" not in value \
            and "\xa0" not in value:
        return value.strip()  # the common case, without a regex pass
    return _WS_RE.sub(" ", value).strip()


def structure_abstract(text: str | None) -> str:
    """Return an abstract with each section of a structured abstract on its own line.

    "BACKGROUND: x. METHODS: y." becomes "BACKGROUND: x.\\nMETHODS: y."; an unstructured abstract
    keeps its own line breaks with spaces tidied. Two labels at least, the first at the start,
    so a stray "NOTE:" mid-sentence does not split a plain abstract.
    """
    if not text:
        return ""
    flat = clean(text)
    # Most abstracts are unstructured: a label must open the text, so test that before scanning.
    starts = list(_LABEL_RE.finditer(flat)) if _LABEL_RE.match(flat) else []
    if len(starts) >= 2 and starts[0].start() == 0:
        pieces = []
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(flat)
            pieces.append(flat[match.start(1):end].strip())
        return "\n".join(pieces)
    lines = (
        _SPACE_RE.sub(" ", line).strip() if ("  " in line or "\t" in line or "\xa0" in line)
        else line.strip()
        for line in text.splitlines()
    )
    return "\n".join(line for line in lines if line)


def normalise_pages(start: str | None, end: str | None = None) -> str:
    """Return pages as "start-end": joins SP/EP, turns "100--110" into "100-110", "1058-64" into
    "1058-1064" (MEDLINE abbreviates end pages)."""
    first = clean(start).replace("\u2013", "-").replace("\u2014", "-")
    last = clean(end).replace("\u2013", "-")
    first = re.sub(r"\s*-+\s*", "-", first)
    if last and first and "-" not in first and last != first:
        first = f"{first}-{last}"
    elif last and not first:
        first = last
    match = re.fullmatch(r"(\D*)(\d+)-(\D*)(\d+)", first)
    if match and match.group(1) == match.group(3) and len(match.group(4)) < len(match.group(2)):
        begin, tail = match.group(2), match.group(4)
        expanded = begin[: len(begin) - len(tail)] + tail
        if int(expanded) >= int(begin):
            first = f"{match.group(1)}{begin}-{match.group(1)}{expanded}"
    return first


_INITIALS_RE = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")
_PARTICLES = frozenset({
    "van", "von", "de", "der", "den", "da", "di", "del", "della", "dos", "du", "le", "la", "ter",
    "ten", "bin", "al", "el",
})


def _given_first(tokens: list[str]) -> str:
    """Return "Surname, Given" for tokens of a "Given Surname" name, keeping particles ("van")."""
    cut = len(tokens) - 1
    while cut > 1 and tokens[cut - 1].lower() in _PARTICLES:
        cut -= 1
    return f"{' '.join(tokens[cut:])}, {' '.join(tokens[:cut])}"


#: Words of a group (corporate) author: such a name is kept as written, never turned into
#: "Surname, Given" ("WHO Collaborating Group" is not "Group, WHO Collaborating").
_CORPORATE_RE = re.compile(
    r"\b(?:group|collaborat\w*|consortium|investigators?|committee|association|society|organi[sz]ation|"
    r"network|team|council|institute|task force|working party|study|foundation|agency|ministry|"
    r"department|university|alliance|federation|programme|collective)\b", re.IGNORECASE)


def is_corporate(name: str) -> bool:
    """Whether a name without a comma names a group, not a person (see _CORPORATE_RE)."""
    return "," not in name and bool(_CORPORATE_RE.search(name))


def without_corporate_comma(name: str) -> str:
    """The name without the trailing comma EndNote users type to mark a group author
    ("World Health Organization,"): the comma is a mark, not part of the name."""
    return name.rstrip(", ").strip() if name.endswith(",") else name


def author_surname_first(name: str) -> str:
    """Return "Surname, Given" from "Surname, Given", "Surname Initials" ("Lim SM", "Liu R.")
    or "Initials Surname" ("R. L. Whistler", "E J Reimer"); anything else, a group author
    ("WHO Collaborating Group") included, is kept as written."""
    name = clean(name).strip(" ;")
    if name.endswith(","):
        return without_corporate_comma(name)
    if not name or "," in name or is_corporate(name):
        return name
    tokens = name.split(" ")
    if len(tokens) < 2:
        return name
    if _INITIALS_RE.match(tokens[-1]):
        return f"{' '.join(tokens[:-1])}, {tokens[-1]}"
    if _INITIALS_RE.match(tokens[0]):
        return _given_first(tokens)
    return name


def author_given_first(name: str) -> str:
    """Return "Surname, Given" from "Given Surname" ("Joseph Rottman", "Ludwig van Beethoven")."""
    name = clean(name).strip(" ;")
    if not name or "," in name or is_corporate(name):
        return name
    tokens = name.split(" ")
    if len(tokens) == 1:
        return name
    if _INITIALS_RE.match(tokens[-1]):
        return author_surname_first(name)
    return _given_first(tokens)


def split_author_list(value: str) -> tuple[str, ...]:
    """Split a one-cell author list into "Surname, Given" names.

    Handles "A, B; C, D" (Zotero), "Lim SM, Xu L." (PubMed CSV), "Liu R., Adler D.G." (Embase),
    "Joseph Rottman, Erran Carmel" (IEEE), "R. L. Whistler and W. C. Lake" (ASReview).
    """
    value = clean(value)
    if not value:
        return ()
    if value.endswith(".") and "." not in value[:-1] and ";" not in value and "," in value \
            and all(" " in piece.strip() for piece in value.split(",")):
        # PubMed's "Lim SM, Shiau CWC, Lau Y.": the full stop ends the list, it is no initial's
        # (Embase's "Liu R., Adler D.G." puts one after every initial, and keeps them; Zotero's one
        # "Cole, Lynette K." is a surname and given names, its full stop an initial's).
        value = value[:-1]
    if ";" in value:
        parts = value.split(";")
    elif re.search(r"\s+and\s+", value):
        parts = re.split(r",?\s+and\s+", value)
    else:
        pieces = [p.strip() for p in value.split(",") if p.strip()]
        if all(" " in p for p in pieces) or len(pieces) == 1:
            parts = pieces
        elif len(pieces) % 2 == 0:
            # "Surname, Given, Surname, Given": pair the pieces up again.
            parts = [f"{pieces[i]}, {pieces[i + 1]}" for i in range(0, len(pieces), 2)]
        else:
            parts = pieces
    parts = [p.strip() for p in parts if p.strip()]
    given_first = all(
        "," not in p and " " in p and not _INITIALS_RE.match(p.split(" ")[-1])
        and not _INITIALS_RE.match(p.split(" ")[0]) for p in parts
    ) and len(parts) > 1
    convert = author_given_first if given_first else author_surname_first
    return tuple(a for a in (convert(p) for p in parts) if a)


def first_doi(*values: str | None) -> str | None:
    """Return the first DOI found in the values (DO, UR, N1 ... in the order given)."""
    for value in values:
        doi = normalise_doi(value)
        if doi:
            return doi
    return None


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Return the non-empty values cleaned, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean(value)
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def build_record(*, raw: str, format: str, nct_texts: Iterable[str | None] = (), **fields: Any) -> Record:
    """Return a Record with text fields tidied and every NCT number in the raw record collected.

    NCT numbers are searched in the whole raw text, so secondary IDs, notes, keywords and any
    exporter-specific field are covered without a per-format list.
    """
    fields["title"] = clean(fields.get("title")).rstrip()
    fields["abstract"] = structure_abstract(fields.get("abstract"))
    for key in ("journal", "journal_abbrev", "volume", "issue", "language", "issn", "url",
                "source_type", "source_id", "source_db"):
        if key in fields:
            fields[key] = clean(fields[key])
    if fields.get("doi"):
        fields["doi"] = normalise_doi(fields["doi"])
    if "pmid" in fields:
        fields["pmid"] = normalise_pmid(fields["pmid"]) if fields["pmid"] else None
    if "pmcid" in fields:
        fields["pmcid"] = normalise_pmcid(fields["pmcid"])
    if fields.get("year") is not None and not isinstance(fields["year"], int):
        fields["year"] = parse_year(str(fields["year"]))
    texts = [raw, *nct_texts]
    # A plain substring test is far cheaper than the case-insensitive regex over every record.
    if fields.get("nct_ids") or any(
        t and ("NCT" in t or "nct" in t or "Nct" in t) and _NCT_HINT.search(t) for t in texts
    ):
        fields["nct_ids"] = find_nct_ids(*fields.get("nct_ids", ()), *texts)
    else:
        fields["nct_ids"] = ()
    return Record(raw=raw, format=format, **fields)


class TagValues(dict[str, list[str]]):
    """A tagged record's values by tag (RIS, WoS, EndNote tagged), in file order; empty values dropped."""

    @classmethod
    def of(cls, pairs: Iterable[list[str]]) -> TagValues:
        """Group (tag, value) pairs."""
        tags = cls()
        for tag, value in pairs:
            if value:
                tags.setdefault(tag, []).append(value)
        return tags

    def first(self, *names: str) -> str:
        """The first value of the first of `names` present, or ""."""
        for name in names:
            if name in self:
                return self[name][0]
        return ""
