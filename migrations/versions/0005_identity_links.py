"""identity_links: staff linking a sign-in identity to a learner by hand

Revision ID: 0005_identity_links
Revises: 0004_learners
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_identity_links"
down_revision = "0004_learners"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "identity_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=True),
        sa.Column("actor_identity_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_identity_id"], ["identities.id"],
                                name=op.f("fk_identity_links_actor_identity_id_identities")),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"],
                                name=op.f("fk_identity_links_identity_id_identities")),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"],
                                name=op.f("fk_identity_links_learner_id_learners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_links")),
    )
    with op.batch_alter_table("identity_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_links_identity_id"), ["identity_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("identity_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_links_identity_id"))
    op.drop_table("identity_links")
