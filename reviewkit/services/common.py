"""Provides what several services share: the acting reviewer's row, reading a CSV a user hands in and listing its bad lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.errors import ParseError, PermissionDenied, ReviewkitError
from reviewkit.sources.formats._text import NUL, nul_error, sniff_encoding
from reviewkit.store.screening import reviewer_by_name, reviewer_roles
from reviewkit.wording import noun

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow


def article(word: str) -> str:
    """'a' or 'an' before a role name (an adjudicator, a lead)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


class UnknownReviewer(ReviewkitError):
    """A reviewer name the review's team does not hold; `name` is kept so the CLI can say where it came from."""

    def __init__(self, name: str, team: Collection[str]) -> None:
        self.name = name
        listed = ", ".join(sorted(team)) or "none"
        super().__init__(f"unknown reviewer '{name}'", hint=f"review.toml lists: {listed}")


def acting_reviewer(session: Session, name: str | None, role: str | None = None) -> ReviewerRow:
    """The reviewer called `name` (who must hold `role`, when one is given), or a clear error."""
    if not name:
        raise ReviewkitError("no reviewer given", hint="pass --reviewer NAME or set reviewer in your user config")
    row = reviewer_by_name(session, name)
    if row is None:
        # The team is who holds a role: one dropped from review.toml keeps a row but none.
        raise UnknownReviewer(name, [n for n, roles in reviewer_roles(session).items() if roles])
    if not row.roles:
        # Dropped from review.toml: their past work stays, but they no longer act on the review.
        raise PermissionDenied(f"reviewer '{name}' is no longer on this review's team (review.toml names them "
                               "no more)")
    if role is not None and role not in row.roles:
        raise PermissionDenied(f"reviewer '{name}' is not {article(role)} {role} (roles: {', '.join(row.roles)})")
    return row


def read_csv_text(path: Path, *, any_encoding: bool = False) -> str:
    """A CSV file's text (UTF-8, with or without BOM); a missing file, other bytes or a NUL is refused,
    the NUL with its line and column as every text reader refuses it.

    `any_encoding` reads what `reviewkit import` reads (sniff_encoding: a BOM's UTF-16/32, else
    UTF-8, else Windows-1252 or Latin-1), for files that come straight from a spreadsheet.
    """
    try:
        encoding = sniff_encoding(path) if any_encoding else "utf-8-sig"
        text = path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise ReviewkitError("no such file", where=str(path)) from None
    except UnicodeDecodeError as exc:
        name = exc.encoding if any_encoding else "UTF-8"
        # The line, as every other refusal here names one: a spreadsheet saved in its own encoding breaks
        # at its first accented letter, which a byte offset does not help anyone find.
        before = exc.object[:exc.start].decode(exc.encoding, errors="replace")
        at_line = before.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        raise ParseError(f"not {name} text ({exc.reason})", file=str(path), line=at_line, offset=exc.start,
                         hint=None if any_encoding else 'save it as UTF-8: a spreadsheet\'s "CSV UTF-8"') from None
    if NUL in text:
        # Line by line so the error names the physical line and column; splitting as csv does.
        for number, line in enumerate(io.StringIO(text, newline=""), start=1):
            if NUL in line:
                raise nul_error(line, file=str(path), line=number)
    return text


#: What every CSV import says when it refuses a file: imports land whole or not at all.
NOTHING_IMPORTED = "nothing was imported"

#: One data row of a CSV file: the line it starts on, and column → text.
CsvRow = tuple[int, dict[str, str]]


def read_csv_rows(
    path: Path, required: Sequence[str], columns: Sequence[str], *, multiline: Collection[str] = (),
    hint: str | None = None, any_encoding: bool = False, delimiter: str = ",",
) -> list[CsvRow]:
    """The data rows of a CSV file a user hands in, each with the physical line it starts on.

    Refused with the file and line (before anything is stored): what read_csv_text refuses; an
    empty file; a column named twice or a missing required column (line 1, the latter naming the
    `columns` expected and the file's own, then `hint`); broken quoting, a quote
    left open named by the line it opened on; a row whose width is not the header's (empty trailing
    fields aside); a line break outside the `multiline` columns, which is where a quote left open
    and closed rows later swallows the rows between. `any_encoding` as read_csv_text; `delimiter`
    separates the fields (a semicolon or tab for some spreadsheets' "CSV"). Rows whose every field
    is blank are skipped, and unnamed columns at the end of the header ignored (as their empty
    fields are).
    """
    text = read_csv_text(path, any_encoding=any_encoding)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise _quoting_error(path, text, reader.line_num, exc, delimiter) from None
    if first is None:
        raise ParseError("the file is empty", file=str(path), line=1,
                         hint=hint or (f"columns: {', '.join(columns)}" if columns else None))
    header = _header(path, first, columns)
    missing = [c for c in required if c not in header]
    if missing:
        # Both lists: the expected names alone read as if they were the file's header.
        found = columns_hint(columns or required, header)
        raise ParseError(f"missing {noun(len(missing), 'column')}: {', '.join(missing)}", file=str(path), line=1,
                         hint=f"{found}; {hint}" if hint else found)
    rows: list[CsvRow] = []
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            raise _quoting_error(path, text, reader.line_num, exc, delimiter) from None
        if fields is None:
            return rows
        line, start = start, reader.line_num + 1
        # A blank line (csv reads it as []) or a row of empty cells, as a spreadsheet saves
        # (",,", a line of spaces), is no data: skipped, for every import alike.
        if any(f.strip() for f in fields):
            rows.append((line, _row_dict(path, line, header, fields, multiline)))


def listed(items: list[str], shown: int) -> str:
    """The first `shown` items, then how many more there are."""
    more = f"; and {len(items) - shown} more" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more


def columns_hint(expected: Sequence[str], header: Sequence[str]) -> str:
    """What a missing-column error adds: the columns expected and those the file has (the expected ones
    alone read as if they were the file's header)."""
    has = ", ".join(_some_names([h for h in header if h])) or "no named columns"
    return f"expected: {', '.join(expected)}; the file has: {has}"


def _some_names(names: list[str], shown: int = 12) -> list[str]:
    """A header's names for a message: all of a few, else the first ones and how many there are."""
    return names if len(names) <= shown else [*names[:shown], f"… ({len(names)} in all)"]


def column_names(fields: Sequence[str], columns: Sequence[str]) -> list[str]:
    """A header's names stripped, those of `columns` in other case ("Record", "STAGE") read as that
    column: a spreadsheet's header is often capitalised, and the names are not case-sensitive."""
    known = {c.casefold(): c for c in columns}
    return [known.get(h.strip().casefold(), h.strip()) for h in fields]


def _header(path: Path, fields: list[str], columns: Sequence[str] = ()) -> list[str]:
    """Line 1's column names (column_names); trailing unnamed columns (a spreadsheet's "a,b,c,,") dropped.

    A name given twice is refused: a row's dict would keep only the last of its two values.
    """
    header = column_names(fields, columns)
    while header and not header[-1]:
        header.pop()
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise ParseError(f"{noun(len(twice), 'column')} named more than once: {', '.join(twice)}", file=str(path), line=1,
                         hint=f"give each column its own name; {NOTHING_IMPORTED}")
    return header


def _row_dict(
    path: Path, line: int, header: list[str], fields: list[str], multiline: Collection[str]
) -> dict[str, str]:
    def fail(message: str) -> ParseError:
        return ParseError(message, file=str(path), line=line, hint=NOTHING_IMPORTED)

    if len(fields) != len(header) and not (len(fields) > len(header) and not any(
            f.strip() for f in fields[len(header):])):
        raise fail(f"row has {len(fields)} fields but the header has {len(header)} "
                   "(a field with a comma or line break inside needs quotes; a quote may be left open)")
    row = dict(zip(header, fields, strict=False))
    for column, value in row.items():
        if column not in multiline and ("\n" in value or "\r" in value):
            raise fail(f"the {column or 'unnamed'} field runs over several lines: a quote in this row is "
                       "left open")
    return row


def _quoting_error(path: Path, text: str, broke: int, exc: csv.Error, delimiter: str = ",") -> ParseError:
    """The error for csv's complaint, at the line the quote in question opened on (_quote_trouble)."""
    hint = f"close the quote, or double a quote inside a quoted field (\"\"); {NOTHING_IMPORTED}"
    trouble = _quote_trouble(text, delimiter)
    if trouble is None:  # not a quoting problem (a field over csv's size limit, say)
        return ParseError(f"unreadable CSV ({exc})", file=str(path), line=broke, hint=NOTHING_IMPORTED)
    opened, stray = trouble
    if stray is None:
        # Not csv's line: a long file stops it at its field size limit before the end.
        last = text.count("\n") + (not text.endswith("\n"))
        message = f"a quote opened on this line is never closed (it runs to the end of the file, line {last})"
    elif stray == opened:
        message = "broken CSV quoting: text follows the closing quote of a quoted field"
    else:
        message = (f"broken CSV quoting: the quoted field opened on this line closes on line {stray}, with text "
                   "after its closing quote (a quote left open here?)")
    return ParseError(message, file=str(path), line=opened, hint=hint)


def _quote_trouble(text: str, delimiter: str = ",") -> tuple[int, int | None] | None:
    """Where strict CSV quoting (the excel dialect) first breaks: the line the quoted field in question
    opened on, and the line where text follows its closing quote (None: the quote never closes).

    csv names only the line it was reading when it gave up, which for a quote left open is the
    last line of the file; this walks the text as csv does and keeps the line each quote opened on.
    Line ends are "\n" (read_csv_text reads with universal newlines).
    """
    line, opened, state = 1, 0, "start"
    for ch in text:
        line += ch == "\n"
        if state == "quoted":
            state = "closing" if ch == '"' else state
        elif state == "closing":  # just after a quote inside a quoted field
            if ch == '"':
                state = "quoted"  # a doubled quote
            elif ch in (delimiter, "\n"):
                state = "start"
            else:
                return opened, line
        elif state == "start" and ch == '"':
            state, opened = "quoted", line
        else:
            state = "start" if ch in (delimiter, "\n") else "field"
    return (opened, None) if state == "quoted" else None
