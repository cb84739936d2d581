"""notes kept with their run

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:30:00

Before this revision what a reader noted about records it still stored (a year field reading "in
press", an untagged line after a RIS code field) was printed once by the import and then lost. The
notes are now rows of their run, so `reviewkit sources --run N` and the sources screen show them
later. Runs imported before this revision have no notes stored: their files were read before the
notes were kept, and nothing here re-reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("record", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["source_run.id"], name=op.f("fk_run_note_run_id_source_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_note")),
    )
    with op.batch_alter_table("run_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_note_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_note_run_id"))
    op.drop_table("run_note")
