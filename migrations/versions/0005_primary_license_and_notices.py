"""licenses.is_primary: the license reported to PARS

Every learner with licenses gets exactly one primary: existing rows keep their
values and the oldest license (lowest id) of each learner becomes primary, which
is the license the engine sent until now in most cases. A partial unique index
keeps it to one per learner.

Columns are added and dropped with ALTER TABLE on SQLite too (``recreate="never"``):
a table rebuild is not needed for either and would copy every row.

Revision ID: 0005_primary_notices
Revises: 0004_learners
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_primary_notices"
down_revision = "0004_learners"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("licenses", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("is_primary", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    licenses = sa.table("licenses", sa.column("id", sa.Integer()),
                        sa.column("learner_id", sa.Integer()),
                        sa.column("is_primary", sa.Boolean()))
    oldest = sa.select(sa.func.min(licenses.c.id)).group_by(licenses.c.learner_id)
    op.execute(licenses.update().where(licenses.c.id.in_(oldest)).values(is_primary=True))
    op.create_index("uq_licenses_one_primary", "licenses", ["learner_id"], unique=True,
                    sqlite_where=sa.text("is_primary"), postgresql_where=sa.text("is_primary"))


def downgrade():
    op.drop_index("uq_licenses_one_primary", table_name="licenses")
    with op.batch_alter_table("licenses", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("is_primary")
