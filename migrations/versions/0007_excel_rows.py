"""Excel batches keep which file row holds each record

``deliveries.batch_row`` is the first row of its Excel batch's file that holds a
record, ``batches.row_count`` the data rows of that file: staff name the rows
PARS refused by their number in the file. Both stay empty for web-service
records and for files written before this revision.

Revision ID: 0007_excel_rows
Revises: 0006_primary_notices
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_excel_rows"
down_revision = "0006_primary_notices"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns: plain ALTER TABLE ... ADD COLUMN on SQLite too, no table rebuild.
    with op.batch_alter_table("deliveries", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("batch_row", sa.Integer(), nullable=True))
    with op.batch_alter_table("batches", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("row_count", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("batches", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("row_count")
    with op.batch_alter_table("deliveries", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("batch_row")
