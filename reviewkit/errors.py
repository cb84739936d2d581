"""Provides ReviewkitError, the one error type a user can cause and the CLI prints without a traceback."""

from __future__ import annotations


class ReviewkitError(Exception):
    """An error the user can fix: a bad file, a bad protocol, a refused request.

    The message names the file, line or field, what was wrong and, where known, the fix.
    `where` is the file (and line) the error is about, when there is one; `hint` says how to fix it.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class ParseError(ReviewkitError):
    """A malformed input file: names the file and the line (or byte offset) where it broke."""

    def __init__(
        self, message: str, *, file: str, line: int | None = None, offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.offset = offset
        where = file
        if line is not None:
            where = f"{file}, line {line}"
        elif offset is not None:
            where = f"{file}, byte {offset}"
        super().__init__(message, where=where, hint=hint)


class NetworkError(ReviewkitError):
    """A remote service refused or failed after the retries allowed."""


class PermissionDenied(ReviewkitError):
    """A reviewer tried something their role does not allow, or to see what blinding hides."""
