"""licenses.is_primary: the license reported to PARS; consent_notices

Every learner with licenses gets exactly one primary: existing rows keep their
values and the oldest license (lowest id) of each learner becomes primary, which
is the license the engine sent until now in most cases. A partial unique index
keeps it to one per learner.

``consent_notices`` is new and starts empty: physicians are shown the sharing
notice at their next sign-in, except those who chose on the profile under the
current wording (``webapp/consent/notice.py``).

Columns are added and dropped with ALTER TABLE on SQLite too (``recreate="never"``):
a table rebuild is not needed for either and would copy every row.

Revision ID: 0006_primary_notices
Revises: 0005_identity_links
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_primary_notices"
down_revision = "0005_identity_links"
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

    op.create_table(
        "consent_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("wording_version", sa.String(length=32), nullable=False),
        sa.Column("sharing", sa.Boolean(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"],
                                name=op.f("fk_consent_notices_identity_id_identities")),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"],
                                name=op.f("fk_consent_notices_learner_id_learners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_notices")),
    )
    op.create_index(op.f("ix_consent_notices_learner_id"), "consent_notices", ["learner_id"],
                    unique=False)


def downgrade():
    op.drop_index(op.f("ix_consent_notices_learner_id"), table_name="consent_notices")
    op.drop_table("consent_notices")
    op.drop_index("uq_licenses_one_primary", table_name="licenses")
    with op.batch_alter_table("licenses", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("is_primary")
