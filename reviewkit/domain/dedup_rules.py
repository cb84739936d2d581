"""Provides the do-not-merge rules: records that look alike but are different publications stay apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reviewkit.domain.normalise import TitleInfo, fold
from reviewkit.domain.records import Record

_COMMENT_TYPES = ("comment", "letter", "editorial")
_ERRATUM_TYPES = ("erratum", "correction", "retraction", "expression of concern")
_ABSTRACT_TYPES = ("congress", "conference", "meeting abstract", "abstract", "proceedings")
_ABSTRACT_SOURCE_TYPES = frozenset({"conf", "abst", "cpaper", "inproceedings", "proceedings", "conference"})
# Embase names conference abstracts "Circulation. Conference: ..."; supplements carry "Suppl" in issue/volume.
_ABSTRACT_JOURNAL_RE = re.compile(r"\b(?:conference|congress|meeting|symposium|proceedings)\b")
_SUPPLEMENT_RE = re.compile(r"\bsuppl")


@dataclass(frozen=True, slots=True)
class RecordFlags:
    """What kind of publication a record is, as far as its metadata tells."""

    erratum: bool = False
    comment: bool = False
    protocol: bool = False
    part: str = ""
    #: A conference abstract (publication or source type, conference journal name, supplement issue).
    abstract: bool = False
    registry: bool = False
    #: Whether the record carries publication types, so that "no Comment type" means "not a comment".
    typed: bool = False
    #: Publication types name a comment, letter or editorial.
    comment_type: bool = False


def record_flags(record: Record, title: TitleInfo) -> RecordFlags:
    """Return the flags of one record from its title information and metadata."""
    types = " ".join(fold(t) for t in record.publication_types)
    journal = fold(record.journal)
    issue = fold(f"{record.issue} {record.volume}")
    abstract = (
        any(t in types for t in _ABSTRACT_TYPES)
        or fold(record.source_type) in _ABSTRACT_SOURCE_TYPES
        or bool(_ABSTRACT_JOURNAL_RE.search(journal))
        or bool(_SUPPLEMENT_RE.search(issue))
    )
    return RecordFlags(
        erratum=title.erratum or any(t in types for t in _ERRATUM_TYPES),
        comment=title.comment,
        protocol=title.protocol,
        part=title.part,
        abstract=abstract,
        registry=record.kind == "registry",
        typed=bool(record.publication_types),
        comment_type=any(t in types for t in _COMMENT_TYPES),
    )


def do_not_merge(a: RecordFlags, b: RecordFlags, *, venue_agrees: bool | None = None) -> str | None:
    """Return why two records must stay apart (a short reason), or None when no rule forbids merging.

    `venue_agrees` says whether the two records' first pages (or journal and volume) agree. A
    conference abstract and a full paper are kept apart only when the venue disagrees: databases
    mark the same abstract inconsistently (one names the conference, another only the journal),
    so a one-sided marker alone is no evidence of two publications.
    """
    if a.registry != b.registry:
        return "registry record vs publication"
    if a.erratum != b.erratum:
        return "erratum/correction vs the article"
    if a.comment != b.comment:
        return "comment/reply vs the article"
    if a.typed and b.typed and a.comment_type != b.comment_type:
        return "comment/letter type vs the article"
    if a.part and b.part and a.part != b.part:
        return f"part {a.part} vs part {b.part}"
    if a.protocol != b.protocol:
        return "protocol vs results paper"
    if a.abstract != b.abstract and venue_agrees is False:
        return "conference abstract vs full paper"
    return None


def merge_flags(a: RecordFlags, b: RecordFlags) -> RecordFlags:
    """Return the flags a merged group carries, so a group is checked as a whole (no chains across a rule)."""
    return RecordFlags(
        erratum=a.erratum or b.erratum, comment=a.comment or b.comment, protocol=a.protocol or b.protocol,
        part=a.part or b.part, abstract=a.abstract or b.abstract, registry=a.registry or b.registry,
        typed=a.typed or b.typed, comment_type=a.comment_type or b.comment_type,
    )
