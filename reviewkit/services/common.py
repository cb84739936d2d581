"""Provides what several services share: the acting reviewer's row and reading a CSV a user hands in."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.errors import ParseError, PermissionDenied, ReviewkitError
from reviewkit.sources.formats._text import NUL, nul_error
from reviewkit.store.screening import reviewer_by_name

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow


def article(word: str) -> str:
    """'a' or 'an' before a role name (an adjudicator, a lead)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def acting_reviewer(session: Session, name: str | None, role: str | None = None) -> ReviewerRow:
    """The reviewer called `name` (who must hold `role`, when one is given), or a clear error."""
    if not name:
        raise ReviewkitError("no reviewer given", hint="pass --reviewer NAME or set reviewer in your user config")
    row = reviewer_by_name(session, name)
    if row is None:
        raise ReviewkitError(f"unknown reviewer '{name}'", hint="reviewers are listed in review.toml")
    if not row.roles:
        # Dropped from review.toml: their past work stays, but they no longer act on the review.
        raise PermissionDenied(f"reviewer '{name}' is no longer on this review's team (review.toml names them "
                               "no more)")
    if role is not None and role not in row.roles:
        raise PermissionDenied(f"reviewer '{name}' is not {article(role)} {role} (roles: {', '.join(row.roles)})")
    return row


def read_csv_text(path: Path) -> str:
    """A CSV file's text (UTF-8, with or without BOM); a missing file, other bytes or a NUL is refused,
    the NUL with its line and column as every text reader refuses it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReviewkitError("no such file", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason})", file=str(path), offset=exc.start) from None
    if NUL in text:
        # Line by line so the error names the physical line and column; splitting as csv does.
        for number, line in enumerate(io.StringIO(text, newline=""), start=1):
            if NUL in line:
                raise nul_error(line, file=str(path), line=number)
    return text


def read_csv_rows(path: Path, required: Sequence[str], columns: Sequence[str]) -> csv.DictReader[str]:
    """A CSV file's rows (read_csv_text), refused on line 1 when a required column is missing."""
    reader = csv.DictReader(read_csv_text(path).splitlines())
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ParseError(f"missing column(s): {', '.join(missing)}", file=str(path), line=1,
                         hint=f"columns: {', '.join(columns)}")
    return reader
