"""one study per NCT id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:00:00

Before this revision two writers could each create a study for one trial (both looked the NCT id
up, found nothing, and inserted). The index makes that impossible; existing reviews are brought
in line first. Nothing is deleted: an id written loosely ("nct 03334396") is rewritten in the
canonical form, and a later study holding an id an earlier one holds keeps its data and links
but loses the id. Each change is an audit event, so `reviewkit audit` shows what happened and
`reviewkit studies` can link the two studies' reports together again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTOR = "reviewkit (schema 0002)"

_study = sa.table("study", sa.column("id", sa.Integer), sa.column("nct_id", sa.String))
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


def _key(nct_id: str) -> str:
    return "".join(nct_id.split()).upper()


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_study.c.id, _study.c.nct_id)
                        .where(_study.c.nct_id.is_not(None)).order_by(_study.c.id)).all()
    holder: dict[str, int] = {}
    events = []
    now = datetime.now(UTC)
    for study_id, nct_id in rows:
        key = _key(nct_id)
        if key in holder:
            new: str | None = None
            note = {"nct_id": None, "same_trial_as_study": holder[key]}
        else:
            holder[key] = study_id
            new, note = key, {"nct_id": key}
        if new != nct_id:
            conn.execute(sa.update(_study).where(_study.c.id == study_id).values(nct_id=new))
            events.append({"at": now, "actor": ACTOR, "entity": "study", "entity_id": study_id,
                           "action": "nct_id", "old": {"nct_id": nct_id}, "new": note})
    if events:
        conn.execute(sa.insert(_audit), events)
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_study_nct_id"))
        batch_op.create_index(batch_op.f("ix_study_nct_id"), ["nct_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_study_nct_id"))
        batch_op.create_index(batch_op.f("ix_study_nct_id"), ["nct_id"], unique=False)
