"""PARS delivery engine: add sequence, reported revision, claiming run, run liveness

Adds the columns the engine needs to claim records safely and to spot claims
left by a run that died: ``deliveries.claim_run_id``, ``engine_runs.pid`` and
``engine_runs.heartbeat_at``; and ``deliveries.sequence`` (unique per
completion and action) with ``deliveries.completion_revision``, so that a
completion never gets two live adds and a reported add that is older than its
completion is corrected; the claim's index gains ``id`` (its order is
``due_date, id``). The new state ``waiting`` needs no schema change
(states are stored as plain strings).

Revision ID: 0002_pars
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_pars"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("completion_revision", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("claim_run_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_claim_run_id_engine_runs"), "engine_runs",
            ["claim_run_id"], ["id"],
        )

    # Rows written before this revision (if any) are numbered in the order they were
    # created, so the unique constraint below holds for them too.
    op.execute(
        "UPDATE deliveries SET sequence = (SELECT count(*) FROM deliveries AS earlier "
        "WHERE earlier.completion_id = deliveries.completion_id "
        "AND earlier.action = deliveries.action AND earlier.id <= deliveries.id)"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_completion_id_action_sequence"),
            ["completion_id", "action", "sequence"],
        )
        # The claim reads queued records in (due_date, id) order straight from the index.
        batch_op.drop_index("ix_deliveries_state_due")
        batch_op.create_index("ix_deliveries_state_due", ["state", "due_date", "id"],
                              unique=False)

    with op.batch_alter_table("engine_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Records in the state ``waiting`` were held back for consent or identifiers;
    # the earlier schema knows them as queued (the engine re-checks on claim).
    op.execute("UPDATE deliveries SET state = 'queued' WHERE state = 'waiting'")
    with op.batch_alter_table("engine_runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("pid")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_due")
        batch_op.create_index("ix_deliveries_state_due", ["state", "due_date"], unique=False)
        batch_op.drop_constraint(
            batch_op.f("fk_deliveries_claim_run_id_engine_runs"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_deliveries_completion_id_action_sequence"), type_="unique"
        )
        batch_op.drop_column("claim_run_id")
        batch_op.drop_column("completion_revision")
        batch_op.drop_column("sequence")
