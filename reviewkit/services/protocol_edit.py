"""Provides changing the protocol (review.toml): leads only, validated first, written atomically, audited."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.protocol import parse_protocol
from reviewkit.services.project import (
    Review,
    normalise_database_url,
    refuse_renaming_in_case,
    sync_reviewers,
)
from reviewkit.store import queries
from reviewkit.store import screening as store_screening
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_by_name
from reviewkit.store.tables import AuditEventRow
from reviewkit.wording import counted, noun


def text_sha256(text: str) -> str:
    """SHA-256 of protocol text (UTF-8), as the audit trail records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def update_protocol(review: Review, actor: str | None, new_text: str, *, expected_sha256: str | None = None) -> Review:
    """Replace the review's protocol with `new_text` and return the review under the new protocol.

    Only a lead may do it (PermissionDenied otherwise). The text is validated before anything is
    written; the file is replaced atomically (a temporary file, then os.replace), so a crash leaves
    the old protocol or the new one, never half of each; an audit event (entity "protocol") keeps
    the old and new texts' SHA-256. `expected_sha256`, when given, refuses the change if the file
    changed since the caller read it (another lead's edit is never overwritten unseen).
    """
    path = review.protocol_path
    protocol = parse_protocol(new_text, source=str(path))
    # A linked review.toml is replaced where it points, as an edit in place would; replacing the link
    # itself with a plain file would quietly cut it.
    target = Path(os.path.realpath(path))
    temp: str | None = None
    try:
        with session_scope(review.engine, write=True) as session:
            if not actor:
                raise ReviewkitError("no reviewer given", hint="pass --reviewer NAME")
            who = reviewer_by_name(session, actor)
            if who is None:
                raise ReviewkitError(f"unknown reviewer '{actor}'", hint="reviewers are listed in review.toml")
            if "lead" not in who.roles:
                raise PermissionDenied(f"only a lead may change the protocol; '{actor}' is "
                                       f"{', '.join(who.roles)}")
            _refuse_moving_database(review.protocol.database_url, protocol.database_url)
            refuse_renaming_in_case(session, [r.name for r in protocol.reviewers])
            _refuse_dropping_used_reasons(session, review.protocol.screening.exclusion_reasons,
                                          protocol.screening.exclusion_reasons)
            _refuse_switching_rob_tool(session, review.protocol.risk_of_bias.tool, protocol.risk_of_bias.tool)
            _refuse_fewer_screeners_than_decided(session, protocol.screening.screeners_per_record)
            old_text = path.read_text(encoding="utf-8-sig")
            old_sha, new_sha = text_sha256(old_text), text_sha256(new_text)
            if expected_sha256 is not None and expected_sha256 != old_sha:
                raise ReviewkitError("the protocol changed since you read it", where=str(path),
                                     hint="reload it, apply your change again and save")
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(new_text)
                fh.flush()
                os.fsync(fh.fileno())
            # mkstemp's file is 0600: renamed into place as it is, the other reviewers on a shared
            # machine could no longer read the protocol, so no command would open the review for them.
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
            session.add(AuditEventRow(actor=actor, entity="protocol", action="update",
                                      old={"sha256": old_sha}, new={"sha256": new_sha}))
            session.flush()
            # Last step inside the transaction: if the replace fails, the audit event rolls back.
            os.replace(temp, target)
            temp = None
    finally:
        if temp is not None:  # refused or failed before the replace: leave no stray file behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    updated = Review(folder=review.folder, protocol=protocol, engine=review.engine)
    sync_reviewers(updated)  # roles follow the protocol at once
    return updated


def _refuse_moving_database(old: str | None, new: str | None) -> None:
    """A new database_url would cut the review off its records: the next command would open another
    database (or none), and the audit event of this change would stay behind in the old one. A review
    moves with `export review` and `restore --database-url`; a changed password alone is no move."""
    before, after = _database_without_password(old), _database_without_password(new)
    if before == after:
        return
    own = "the review folder's reviewkit.db"
    raise ReviewkitError(
        f"database_url cannot change from {before or own} to {after or own}: the review's records stay in "
        "the database they are in",
        hint="keep database_url as it is; to move the review, `reviewkit export review FILE.json`, then "
             "`reviewkit restore FILE.json DIR --database-url URL`")


def _database_without_password(url: str | None) -> str | None:
    if url is None:
        return None
    url = normalise_database_url(url)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL SQLAlchemy reads: compared as written (it could not be opened anyway)
        return url


def _refuse_dropping_used_reasons(session: Session, old: list[str], new: list[str]) -> None:
    """A full-text exclusion reason that stored decisions or adjudications give must stay in the list:
    PRISMA's "reports excluded, with reasons" would otherwise count a reason the protocol no longer has.
    Renaming one means adding the new name and keeping the old."""
    dropped = set(old) - set(new)
    if not dropped:
        return
    # Only the reasons that count now: each reviewer's current full-text decision and each record's
    # latest adjudication (a reason chosen once and changed since does not hold the list).
    current = [row.reason for rows in queries.current_decisions_rows(session, "ft").values()
               for row in rows]
    current += [row.reason for row in store_screening.adjudication_rows(session, "ft").values()]
    used = {r for r in current if r in dropped}
    if used:
        raise ReviewkitError(
            f"exclusion {noun(len(used), 'reason')} {', '.join(repr(r) for r in sorted(used))} "
            f"{'is' if len(used) == 1 else 'are'} given by stored full-text decisions, so "
            f"{'it stays' if len(used) == 1 else 'they stay'} in [screening] exclusion_reasons",
            hint=f"add new reasons beside {'it' if len(used) == 1 else 'them'}; nothing already decided is renamed")


def _refuse_switching_rob_tool(session: Session, old: str, new: str) -> None:
    """Stored assessments were made with the old tool: under the new one their answers read as nothing
    (RoB 1 domains are not RoB 2 questions), so the plots and summaries would drop them unseen."""
    if old == new:
        return
    from sqlmodel import func, select

    from reviewkit.store.tables import RobAssessmentRow

    made = session.exec(select(func.count()).select_from(RobAssessmentRow)
                        .where(RobAssessmentRow.tool == old)).one()
    if made:
        raise ReviewkitError(
            f"risk_of_bias.tool cannot change from {old!r} to {new!r}: {counted(made, 'assessment')} "
            f"{'was' if made == 1 else 'were'} made with {old}",
            hint="keep the tool of the assessments made; a review assesses its studies with one tool")


def _refuse_fewer_screeners_than_decided(session: Session, new: int) -> None:
    """Records already hold more screeners' decisions than the new number: their extra decisions could no
    longer be imported into a copy of the review (a record with its decisions takes no further screener),
    so the review's own history export would stop replaying."""
    for stage, name in (("ta", "title/abstract"), ("ft", "full text")):
        most = max((len(by) for by in queries.current_decisions(session, stage).values()), default=0)
        if most > new:
            raise ReviewkitError(
                f"screening.screeners_per_record cannot go down to {new}: records already have {most} "
                f"screeners' decisions at {name}",
                hint=f"keep it at {most} or more; a lower number applies to a new review")
