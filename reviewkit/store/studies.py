"""Provides creating a study row: the one place that meets the unique NCT id."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from reviewkit.store.tables import AuditEventRow, StudyRow


class NctTaken(Exception):
    """Another study already holds this NCT id (possibly one a concurrent writer just committed)."""

    def __init__(self, nct_id: str, owner: StudyRow) -> None:
        super().__init__(f"{nct_id} is already the NCT id of study '{owner.label}' (id {owner.id})")
        self.nct_id = nct_id
        self.owner = owner


def add_study(session: Session, label: str, *, nct_id: str | None = None, actor: str = "") -> StudyRow:
    """Append a study and its audit event; raise NctTaken when the NCT id is another study's.

    Callers look the NCT id up first, but two writers can both find nothing: on PostgreSQL the
    unique index makes the second wait for the first and then fail here, inside a savepoint, so
    the caller's transaction survives and can use the study that won.
    """
    row = StudyRow(label=label, nct_id=nct_id, created_by=actor)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        owner = session.exec(select(StudyRow).where(StudyRow.nct_id == nct_id)).first() if nct_id else None
        if owner is None or nct_id is None:
            raise
        raise NctTaken(nct_id, owner) from None
    session.add(AuditEventRow(actor=actor, entity="study", entity_id=row.id, action="create",
                              new={"label": label, "nct_id": nct_id}))
    return row
