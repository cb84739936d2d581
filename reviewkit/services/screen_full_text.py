"""Provides full-text screening's retrieval side: the report's status, and what it and full-text decisions refuse."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reviewkit.domain.screening import RecordScreening, is_blind_to_others
from reviewkit.errors import ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.services.screen_state import record_state, reviewer_decisions
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import retry_conflicts, session_scope, stored_id

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow

FULL_TEXT_STATUSES = ("sought", "retrieved", "not_retrieved")
#: The URL schemes a full text's location may have (what a browser opens).
URL_SCHEMES = ("http", "https", "file")
#: How a full text's file name ends (and a note hardly ever does).
_DOCUMENT_SUFFIX = re.compile(r"\.(pdf|html?|xml|txt|docx?|epub|djvu)$", re.IGNORECASE)
#: How a path starts: at the root, the home folder, the current or parent folder, a Windows drive.
_PATH_START = re.compile(r"(/|~|\.{1,2}[/\\]|[A-Za-z]:[/\\])")


def full_text_started(record_id: int) -> str:
    """Why a title/abstract change is refused (here and by the decisions import): it would take the
    record out of full text while full-text decisions on it stand, hanging, counted nowhere, and
    back unasked if it passed again; nor could an export of that state be imported."""
    return (f"record {record_id} has full-text decisions; a title/abstract change that takes it out of "
            "full-text screening would leave them standing")


def full_text_not_retrieved(record_id: int) -> str:
    """Why a full-text decision is refused (here and by the decisions import): a report whose full text
    could not be retrieved was not assessed, and PRISMA counts it so; a decision on it would count it
    twice, as not retrieved and as assessed."""
    return (f"record {record_id}'s full text is marked not retrieved; record it as retrieved (with its file "
            "or URL) before deciding on it")


FULL_TEXT_STARTED_HINT = ("exclude it at full text with a reason (PRISMA reports it there), or have its "
                          "full-text decisions undone first")


def refuse_not_retrieved(session: Session, record_id: int) -> None:
    """Refuse a full-text decision on a record whose report is marked not retrieved."""
    latest = store.latest_full_text(session, record_id)
    if latest is not None and latest.status == "not_retrieved":
        raise ReviewkitError(full_text_not_retrieved(record_id))


def keep_full_text(session: Session, record_id: int, after: RecordScreening) -> None:
    """Refuse a title/abstract change whose outcome, `after`, would strand full-text decisions."""
    if after.outcome == "included":
        return
    if store.decisions_on(session, record_id, "ft") or store.adjudication_row(session, record_id, "ft") is not None:
        raise ReviewkitError(full_text_started(record_id), hint=FULL_TEXT_STARTED_HINT)


def is_url(location: str) -> bool:
    """Whether a full text's location is a URL (it has a scheme), not a path."""
    return "://" in location


def looks_like_location(text: str, folder: Path) -> bool:
    """Whether typed text reads as where a full text is (a URL, a file that is there, or a path by its
    start or its document suffix) rather than a note on why it is sought or not retrieved. A likelihood
    for the status picker to offer, which the reviewer confirms, never a status taken on its own."""
    text = text.strip()
    if not text:
        return False
    if is_url(text) or _DOCUMENT_SUFFIX.search(text) or _PATH_START.match(text):
        return True
    try:
        return Path(resolve_location(text, folder)).is_file()
    except (OSError, ValueError):  # not a name the system takes (too long, a NUL): no file then
        return False


def url_problem(location: str) -> str | None:
    """Why a URL is one no browser could open (an unknown scheme, no host, a space), or None if it is not."""
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES or (scheme != "file" and not parts.hostname) or any(c.isspace() for c in location):
        return (f"'{location}' is not a URL a browser can open (it needs http://, https:// or file://, "
                "a host, and a space written %20)")
    return None


def resolve_location(location: str, folder: Path) -> str:
    """Where a stored location is: a URL as it is; a relative path taken from the review folder."""
    if is_url(location):
        return location
    path = Path(location).expanduser()
    return str(path if path.is_absolute() else folder / path)


def stored_location(location: str, folder: Path) -> str:
    """A location as it is stored: a path inside the review folder relative to it, so that the folder
    (the PDFs with it) can move or be shared and the path still finds the file; any other as given."""
    location = location.strip()
    if is_url(location):
        return location
    path = Path(location).expanduser()
    if not path.is_absolute():
        return location
    # As written first (a folder's link to a shared PDF store stays a link), then as the links resolve.
    for inside, base in ((Path(os.path.normpath(path)), Path(os.path.normpath(folder.absolute()))),
                         (path.resolve(), folder.resolve())):
        if inside.is_relative_to(base) and inside != base:
            return inside.relative_to(base).as_posix()
    return location  # outside the folder: only an absolute path finds it


def missing_file(review: Review, location: str | None) -> str | None:
    """The path a location names when no file is there (a typo, or a PDF not yet put in place), else None."""
    if not location or is_url(location):
        return None
    path = resolve_location(location, review.folder)
    return None if Path(path).exists() else path


@retry_conflicts
def set_full_text(
    review: Review, actor: str | None, record_id: int, status: str, *,
    location: str | None = None, note: str | None = None,
) -> str | None:
    """Record a full-text retrieval status: sought, retrieved (with a path or URL), not_retrieved.

    Returns the location as stored (see stored_location).
    """
    location = (stored_location(location, review.folder) or None) if location else None
    if status not in FULL_TEXT_STATUSES:
        raise ReviewkitError(f"unknown full-text status '{status}' (use {', '.join(FULL_TEXT_STATUSES)})")
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor)  # anyone on the team; the audit names them
        if store.record(session, record_id, lock=True) is None:  # locked: a decision checks the status
            raise ReviewkitError(f"no record {record_id}")
        # PRISMA counts retrieval only of reports sought, the records that passed title/abstract: a status
        # on any other record would be stored and audited but counted nowhere.
        if (where := _not_at_full_text(session, who, record_id, review.protocol.screening.screeners_per_record)):
            raise ReviewkitError(f"{where}; only records that passed title/abstract screening go to full text")
        # After where the record stands: a location would not help a record that is not at full text.
        if status == "retrieved" and not location:
            raise ReviewkitError("a retrieved full text needs its file path or URL",
                                 hint="give it with --location PATH_OR_URL")
        if location and is_url(location) and (problem := url_problem(location)):
            raise ReviewkitError(f"location: {problem}")
        if status == "not_retrieved" and (reviewer_decisions(session, record_id, "ft")
                                          or store.adjudication_row(session, record_id, "ft") is not None):
            raise ReviewkitError(f"record {record_id} has full-text decisions, so its full text was assessed; "
                                 "it cannot be marked not retrieved",
                                 hint="to take it back, have its full-text decisions undone first")
        store.add_full_text(session, record_id=record_id, status=status, location=location, note=note,
                            reviewer=who)
    return location


def _not_at_full_text(session: Session, who: ReviewerRow, record_id: int, required: int) -> str | None:
    """Where a record stands if it is not at full text (the start of a refusal), or None if it is."""
    primary = queries.duplicate_primaries(session).get(record_id)
    if primary is not None:
        return f"record {record_id} is a removed duplicate of record {primary}, which stands for it"
    state = record_state(session, record_id, "ta", required)
    if state.outcome == "included":
        return None
    own = store.decisions_on(session, record_id, "ta").get(stored_id(who))
    if (state.outcome in ("conflict", "excluded") and "lead" not in who.roles
            and is_blind_to_others(store.stored_decision(own.decision) if own else None, state.outcome)):
        # Said as the record card says it: someone who has not decided it is not told how others did.
        return f"record {record_id} has not passed title/abstract screening"
    by = " by the adjudicator" if state.adjudicated else ""
    return {
        "unscreened": f"record {record_id} has not been screened at title/abstract yet",
        "in_progress": f"record {record_id} is still being screened at title/abstract",
        "conflict": f"record {record_id} is in conflict at title/abstract, waiting for the adjudicator",
        "excluded": f"record {record_id} was excluded at title/abstract{by}",
    }[state.outcome]
