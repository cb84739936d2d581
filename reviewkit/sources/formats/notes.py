"""Provides ParseNote: a problem a reader met in a record it still imported (nothing of the file is lost).

A ParseError refuses a file; a note does not. The readers append notes to the list the caller passes
as `notes` (read_records and every iter_* reader take one; None, the default, skips the checks), and
the import reports them after its summary. A note never changes what is stored: the record's raw
text keeps everything the file said.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reviewkit.domain.records import parse_year

__all__ = ["ParseNote", "empty_last_record_note", "stray_line_note", "tagged_year_note", "unclosed_record_note", "unreadable_year", "year_note"]


@dataclass(frozen=True, slots=True)
class ParseNote:
    """A non-fatal problem with one record: where it is and what was done about it."""

    file: str
    #: The file's line the problem is on; None where the reader knows no line (XML).
    line: int | None
    #: The field (tag, column, element) the problem is in; "" when it is in none.
    field: str
    message: str
    #: Names the record when no line is known: "the article with PMID 123 (record 5)".
    record: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}, line {self.line}"
        elif self.record:
            where = f"{where}, {self.record}"
        if self.field:
            where = f"{where}, field {self.field}"
        return f"{where}: {self.message}"


def unreadable_year(value: str | None) -> bool:
    """Whether a year field holds text but no year parse_year reads ("in press", "n.d.", "TBD").

    A value of punctuation alone ("///", the empty date some exporters write) is an empty field.
    """
    if not value or parse_year(value) is not None:
        return False
    return any(char.isalnum() for char in value)


def year_note(file: str, line: int | None, field: str, value: str, *, record: str = "") -> ParseNote:
    """The note for a year field whose text holds no year: the record is stored without one."""
    shown = " ".join(value.split())
    if len(shown) > 60:
        shown = f"{shown[:57]}..."
    return ParseNote(file, line, field, f"{shown!r} is not a year; the record is stored without a year",
                     record)


def stray_line_note(file: str, line: int, tag: str, text: str) -> ParseNote:
    """The note for an untagged line after a single-value code field: it is kept in the raw text only."""
    shown = text if len(text) <= 40 else f"{text[:37]}..."
    return ParseNote(file, line, "", f"untagged text {shown!r} after {tag} is not part of any field; "
                                     "kept in the record's raw text")


def unclosed_record_note(file: str, line: int, start: int) -> ParseNote:
    """The note for a RIS file's last record, which the file ends without closing ("ER  - "): it is kept
    as read; `line` is its last line, `start` the line of its TY."""
    return ParseNote(file, line, "ER", f"the record opened at line {start} has no 'ER  - ' line at the end of "
                                       "the file; it is kept as read (if the file was cut short, check its "
                                       "last fields)")


def empty_last_record_note(file: str, line: int) -> ParseNote:
    """The note for a RIS file ending with a TY line (at `line`) and nothing after it: not imported."""
    return ParseNote(file, line, "TY", "the file ends with an empty record (this TY line and nothing after it); "
                                       "it was skipped, as the file looks cut short (export it again if records "
                                       "may be missing)")


def tagged_year_note(notes: list[ParseNote], file: str, pairs: Iterable[list[str]], lines: list[int],
                     tags: tuple[str, ...], *, prefix: str = "") -> None:
    """Note the first of a tagged record's year fields (`tags`, in order of preference) holding text but
    no year; `lines` gives each pair's line, `prefix` goes before a tag's name ("%" for %D). Called only
    for a record left without a year."""
    found: dict[str, tuple[int, str]] = {}
    for (tag, value), line in zip(pairs, lines, strict=True):
        if tag in tags and tag not in found and unreadable_year(value):
            found[tag] = (line, value)
    for tag in tags:
        if tag in found:
            line, value = found[tag]
            notes.append(year_note(file, line, f"{prefix}{tag}", value))
            return
