"""Support reports get a thread: staff answers and physicians' replies

Each report's single ``answer`` becomes the first staff entry of the new
``support_replies`` table (with its time and author), and the column is
dropped; ``answered_at`` and ``answered_by_identity_id`` stay, now meaning the
latest answer. Downgrading puts each report's latest staff answer back into
``answer`` (physicians' replies have no place there and are dropped).

Revision ID: 0009_support_replies
Revises: 0008_notices
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_support_replies"
down_revision = "0008_notices"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "support_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.Enum("physician", "staff", name="replyauthor", native_enum=False,
                                    length=16), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"],
                                name=op.f("fk_support_replies_identity_id_identities")),
        sa.ForeignKeyConstraint(["request_id"], ["support_requests.id"],
                                name=op.f("fk_support_replies_request_id_support_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_replies")),
    )
    with op.batch_alter_table("support_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_replies_request_id"), ["request_id"],
                              unique=False)
    # Every existing answer, with its time (the report's own time if none was kept) and author.
    op.execute(
        "INSERT INTO support_replies (request_id, author, identity_id, body, created_at) "
        "SELECT id, 'staff', answered_by_identity_id, answer, COALESCE(answered_at, created_at) "
        "FROM support_requests WHERE answer IS NOT NULL ORDER BY id"
    )
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35+): rebuilding the table would drop the
    # one the new replies point to.
    with op.batch_alter_table("support_requests", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("answer")


def downgrade():
    with op.batch_alter_table("support_requests", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
    op.execute(
        "UPDATE support_requests SET answer = (SELECT r.body FROM support_replies r "
        "WHERE r.request_id = support_requests.id AND r.author = 'staff' "
        "ORDER BY r.id DESC LIMIT 1)"
    )
    with op.batch_alter_table("support_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_replies_request_id"))
    op.drop_table("support_replies")
