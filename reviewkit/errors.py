"""Provides ReviewkitError, the one error type a user can cause and the CLI prints without a traceback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fix:
    """The step that fixes a refusal, as data: `hint` says it as the CLI's command, while a TUI screen, where
    the user presses a key rather than types a command, says it in its own keys (see `ReviewkitError.fix`).

    `action` names the step (e.g. "link"); `ids` the rows it takes, in the order the action documents.
    """

    action: str
    ids: tuple[int, ...] = ()


class ReviewkitError(Exception):
    """An error the user can fix: a bad file, a bad protocol, a refused request.

    The message names the file, line or field, what was wrong and, where known, the fix.
    `where` is the file (and line) the error is about, when there is one; `hint` says how to fix it;
    `fix`, when given, is that step as data, for an interface that words it otherwise than `hint`.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None,
                 fix: Fix | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return self.with_hint(self.hint)

    def with_hint(self, hint: str | None) -> str:
        """The error as `str` says it, with `hint` in place of its own (a screen's keys for a CLI command)."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        if hint:
            text = f"{text} ({hint})"
        return text


class ParseError(ReviewkitError):
    """A malformed input file: names the file and the line (or byte offset) where it broke."""

    def __init__(
        self, message: str, *, file: str, line: int | None = None, offset: int | None = None,
        hint: str | None = None, fix: Fix | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.offset = offset
        where = file
        if line is not None:
            where = f"{file}, line {line}"
        elif offset is not None:
            where = f"{file}, byte {offset}"
        super().__init__(message, where=where, hint=hint, fix=fix)


class NetworkError(ReviewkitError):
    """A remote service refused or failed after the retries allowed."""


class PermissionDenied(ReviewkitError):
    """A reviewer tried something their role does not allow, or to see what blinding hides."""


class TransactionFailed(ReviewkitError):
    """A transaction the database failed, said for a change ("…; nothing was stored"); `cause` is why alone,
    for a reader (the dashboard's counts), which had nothing to store: the change's wording misled there."""

    def __init__(self, message: str, *, cause: str, hint: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.cause = cause
        #: Whether running the whole transaction again can succeed unchanged: PostgreSQL aborted it only
        #: because another one touched the same rows at the same moment (a deadlock, a serialization failure).
        self.retryable = retryable
