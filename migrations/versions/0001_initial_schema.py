"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:39:39.747627
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('accme_activity_id', sa.String(length=9), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('source_id', name=op.f('uq_activities_source_id'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_accme_activity_id'), ['accme_activity_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('engine_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engine_runs'))
    )
    op.create_table('import_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_key', sa.String(length=36), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.String(length=64), nullable=False),
    sa.Column('first_name', sa.String(length=255), nullable=False),
    sa.Column('last_name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('degree', sa.String(length=16), nullable=False),
    sa.Column('npi', sa.String(length=10), nullable=True),
    sa.Column('birth_month_day', sa.String(length=5), nullable=True),
    sa.Column('license_state', sa.String(length=2), nullable=True),
    sa.Column('license_number', sa.String(length=64), nullable=True),
    sa.Column('activity_id', sa.String(length=64), nullable=False),
    sa.Column('activity_title', sa.String(length=500), nullable=False),
    sa.Column('accme_activity_id', sa.String(length=9), nullable=True),
    sa.Column('completion_date', sa.Date(), nullable=False),
    sa.Column('cme_credits', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('board', sa.String(length=8), nullable=True),
    sa.Column('board_id', sa.String(length=64), nullable=True),
    sa.Column('board_credit_type', sa.String(length=100), nullable=True),
    sa.Column('board_credits', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('consent', sa.Boolean(), nullable=True),
    sa.Column('learner_digest', sa.String(length=32), nullable=False),
    sa.Column('activity_digest', sa.String(length=32), nullable=False),
    sa.Column('completion_digest', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rows'))
    )
    with op.batch_alter_table('import_rows', schema=None) as batch_op:
        batch_op.create_index('ix_import_rows_completion', ['import_key', 'learner_id', 'activity_id', 'completion_date'], unique=False)
        batch_op.create_index('ix_import_rows_learner', ['import_key', 'learner_id'], unique=False)

    op.create_table('learners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('first_name', sa.String(length=255), nullable=False),
    sa.Column('last_name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('degree', sa.String(length=16), nullable=False),
    sa.Column('npi', sa.String(length=10), nullable=True),
    sa.Column('birth_month_day', sa.String(length=5), nullable=True),
    sa.Column('consent_granted', sa.Boolean(), nullable=True),
    sa.Column('consent_source', sa.String(length=16), nullable=True),
    sa.Column('consent_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('identifiers_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learners')),
    sa.UniqueConstraint('source_id', name=op.f('uq_learners_source_id'))
    )
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learners_email'), ['email'], unique=False)

    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('web', 'excel', name='batchkind', native_enum=False, length=8), nullable=False),
    sa.Column('state', sa.Enum('open', 'confirmed', 'cancelled', name='batchstate', native_enum=False, length=16), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=64), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=64), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['engine_runs.id'], name=op.f('fk_batches_run_id_engine_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    op.create_table('board_certifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('board', sa.String(length=8), nullable=False),
    sa.Column('board_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_board_certifications_learner_id_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_certifications')),
    sa.UniqueConstraint('learner_id', 'board', name=op.f('uq_board_certifications_learner_id_board'))
    )
    with op.batch_alter_table('board_certifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_certifications_learner_id'), ['learner_id'], unique=False)

    op.create_table('completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('completion_date', sa.Date(), nullable=False),
    sa.Column('cme_credits', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_completions_activity_id_activities')),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_completions_learner_id_learners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completions')),
    sa.UniqueConstraint('learner_id', 'activity_id', 'completion_date', name=op.f('uq_completions_learner_id_activity_id_completion_date'))
    )
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completions_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_completions_learner_date', ['learner_id', 'completion_date'], unique=False)

    op.create_table('identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_identities_learner_id_learners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_identities_issuer_subject'))
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_learner_id'), ['learner_id'], unique=False)

    op.create_table('licenses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_licenses_learner_id_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licenses')),
    sa.UniqueConstraint('learner_id', 'state', 'number', name=op.f('uq_licenses_learner_id_state_number'))
    )
    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licenses_learner_id'), ['learner_id'], unique=False)

    op.create_table('board_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('board', sa.String(length=8), nullable=False),
    sa.Column('credit_type', sa.String(length=100), nullable=False),
    sa.Column('credits', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['completion_id'], ['completions.id'], name=op.f('fk_board_credits_completion_id_completions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_credits')),
    sa.UniqueConstraint('completion_id', 'board', 'credit_type', name=op.f('uq_board_credits_completion_id_board_credit_type'))
    )
    with op.batch_alter_table('board_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_credits_completion_id'), ['completion_id'], unique=False)

    op.create_table('consent_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('actor_identity_id', sa.Integer(), nullable=True),
    sa.Column('wording_version', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_identity_id'], ['identities.id'], name=op.f('fk_consent_events_actor_identity_id_identities')),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_consent_events_learner_id_learners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_learner_id'), ['learner_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('add', 'delete', name='action', native_enum=False, length=8), nullable=False),
    sa.Column('credit_id', sa.String(length=300), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sending', 'unknown', 'exported', 'sent', 'accepted', 'rejected', 'failed', 'held', 'cancelled', 'removed', name='deliverystate', native_enum=False, length=16), nullable=False),
    sa.Column('withdraws_id', sa.Integer(), nullable=True),
    sa.Column('depends_on_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('has_board_credit', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('sent_payload', sa.JSON(), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_deliveries_batch_id_batches')),
    sa.ForeignKeyConstraint(['completion_id'], ['completions.id'], name=op.f('fk_deliveries_completion_id_completions')),
    sa.ForeignKeyConstraint(['depends_on_id'], ['deliveries.id'], name=op.f('fk_deliveries_depends_on_id_deliveries')),
    sa.ForeignKeyConstraint(['withdraws_id'], ['deliveries.id'], name=op.f('fk_deliveries_withdraws_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('credit_id', 'action', name=op.f('uq_deliveries_credit_id_action'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_completion_id'), ['completion_id'], unique=False)
        batch_op.create_index('ix_deliveries_state_due', ['state', 'due_date'], unique=False)

    op.create_table('user_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('is_staff', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('id_token_hint', sa.String(length=4096), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_user_sessions_identity_id_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_identity_id'), ['identity_id'], unique=False)

    op.create_table('board_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('board', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_board_statuses_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_statuses')),
    sa.UniqueConstraint('delivery_id', 'board', name=op.f('uq_board_statuses_delivery_id_board'))
    )
    op.create_table('delivery_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_events_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['run_id'], ['engine_runs.id'], name=op.f('fk_delivery_events_run_id_engine_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_events'))
    )
    with op.batch_alter_table('delivery_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_events_delivery_id'), ['delivery_id'], unique=False)



def downgrade():
    with op.batch_alter_table('delivery_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_events_delivery_id'))

    op.drop_table('delivery_events')
    op.drop_table('board_statuses')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_identity_id'))

    op.drop_table('user_sessions')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_state_due')
        batch_op.drop_index(batch_op.f('ix_deliveries_completion_id'))
        batch_op.drop_index(batch_op.f('ix_deliveries_batch_id'))

    op.drop_table('deliveries')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_learner_id'))

    op.drop_table('consent_events')
    with op.batch_alter_table('board_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_credits_completion_id'))

    op.drop_table('board_credits')
    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licenses_learner_id'))

    op.drop_table('licenses')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_learner_id'))

    op.drop_table('identities')
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index('ix_completions_learner_date')
        batch_op.drop_index(batch_op.f('ix_completions_activity_id'))

    op.drop_table('completions')
    with op.batch_alter_table('board_certifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_certifications_learner_id'))

    op.drop_table('board_certifications')
    op.drop_table('batches')
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learners_email'))

    op.drop_table('learners')
    with op.batch_alter_table('import_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_import_rows_learner')
        batch_op.drop_index('ix_import_rows_completion')

    op.drop_table('import_rows')
    op.drop_table('engine_runs')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_accme_activity_id'))

    op.drop_table('activities')
