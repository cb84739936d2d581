"""a finished state for data extraction

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00

Before this revision the comparison of a study's extractions opened as soon as the protocol's
number of extractors had any row for it, so an extractor could see another's half-entered values.
Now an extractor marks their extraction finished (extraction_status, append-only: the newest row
per study and extractor is the state) and the comparison waits for finished ones. Where a study
already has consensus rows its comparison has happened, so every independent extraction of it is
marked finished here, each with an audit event; other extractions stay open.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTOR = "reviewkit (schema 0003)"

_arm = sa.table("arm", sa.column("study_id", sa.Integer), sa.column("extractor_id", sa.Integer),
                sa.column("is_consensus", sa.Boolean))
_value = sa.table("extraction_value", sa.column("study_id", sa.Integer), sa.column("extractor_id", sa.Integer),
                  sa.column("is_consensus", sa.Boolean))
_reviewer = sa.table("reviewer", sa.column("id", sa.Integer), sa.column("name", sa.String))
_status = sa.table(
    "extraction_status",
    sa.column("id", sa.Integer),
    sa.column("study_id", sa.Integer),
    sa.column("extractor_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("actor", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
)
_audit = sa.table(
    "audit_event",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("old", sa.JSON),
    sa.column("new", sa.JSON),
)


def upgrade() -> None:
    op.create_table(
        "extraction_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("extractor_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["extractor_id"], ["reviewer.id"], name=op.f("fk_extraction_status_extractor_id_reviewer")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_extraction_status_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extraction_status")),
    )
    with op.batch_alter_table("extraction_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extraction_status_study_id"), ["study_id"], unique=False)
    _finish_compared()


def _finish_compared() -> None:
    """Mark finished every independent extraction of a study that has consensus rows, audited."""
    conn = op.get_bind()
    agreed: set[int] = set()
    pairs: set[tuple[int, int]] = set()
    for table in (_arm, _value):
        agreed |= set(conn.execute(sa.select(table.c.study_id).where(table.c.is_consensus.is_(True))
                                   .distinct()).scalars())
        pairs |= {(sid, rid) for sid, rid in conn.execute(
            sa.select(table.c.study_id, table.c.extractor_id)
            .where(table.c.is_consensus.is_(False)).where(table.c.extractor_id.is_not(None)).distinct())}
    finished = sorted((sid, rid) for sid, rid in pairs if sid in agreed)
    if not finished:
        return
    now = datetime.now(UTC)
    conn.execute(sa.insert(_status), [{"study_id": sid, "extractor_id": rid, "status": "finished",
                                       "actor": ACTOR, "at": now} for sid, rid in finished])
    names = dict(conn.execute(sa.select(_reviewer.c.id, _reviewer.c.name)).all())
    rows = conn.execute(sa.select(_status.c.id, _status.c.study_id, _status.c.extractor_id)
                        .order_by(_status.c.id)).all()
    conn.execute(sa.insert(_audit), [
        {"at": now, "actor": ACTOR, "entity": "extraction_status", "entity_id": row_id, "action": "finish",
         "old": {"study_id": sid, "extractor": names.get(rid, str(rid)), "status": "open"},
         "new": {"study_id": sid, "extractor": names.get(rid, str(rid)), "status": "finished",
                 "reason": "the study already had a consensus"}}
        for row_id, sid, rid in rows])


def downgrade() -> None:
    with op.batch_alter_table("extraction_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extraction_status_study_id"))
    op.drop_table("extraction_status")
