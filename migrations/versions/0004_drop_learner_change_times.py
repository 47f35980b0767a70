"""drop learners.consent_changed_at and learners.identifiers_changed_at

Both were written and never read: the consent history is in ``consent_events``,
identifier changes are in the audit log, and the outbox re-queues on the change
itself.

On SQLite the columns are dropped with ALTER TABLE ... DROP COLUMN (SQLite 3.35
and later) rather than by rebuilding the table: a rebuild drops ``learners``,
and with foreign keys on that deletes (or refuses to delete) the rows of every
table that refers to it.

Revision ID: 0004_learners
Revises: 0003_support
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_learners"
down_revision = "0003_support"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("learners", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("identifiers_changed_at")
        batch_op.drop_column("consent_changed_at")


def downgrade():
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("identifiers_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
