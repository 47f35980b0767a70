"""E-mail notices: the outbox, the messages that carry it, physicians' preferences

Three new tables; no existing row changes. ``notices`` holds what a physician or
CME staff are to be told, unique by ``key``; ``notice_messages`` the e-mails (one
per recipient and day); ``notice_preferences`` the physicians who turned the
reminder and rejection notices off (no row: they go).

Revision ID: 0008_notices
Revises: 0007_excel_rows
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_notices"
down_revision = "0007_excel_rows"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=32), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('unsubscribe_url', sa.Text(), nullable=True),
    sa.Column('state', sa.Enum('ready', 'sending', 'sent', 'unknown', 'failed', name='messagestate', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_notice_messages_learner_id_learners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_messages')),
    sa.UniqueConstraint('recipient', 'day', name=op.f('uq_notice_messages_recipient_day'))
    )
    with op.batch_alter_table('notice_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_messages_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_messages_state'), ['state'], unique=False)

    op.create_table('notice_preferences',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('reminders', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_notice_preferences_learner_id_learners')),
    sa.PrimaryKeyConstraint('learner_id', name=op.f('pk_notice_preferences'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('consent_receipt', 'report_answered', 'missing_identifier', 'deadline_near', 'rejected', 'board_rejected', 'staff_digest', name='noticekind', native_enum=False, length=32), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'included', 'turned_off', 'outdated', name='noticestate', native_enum=False, length=16), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_notices_learner_id_learners')),
    sa.ForeignKeyConstraint(['message_id'], ['notice_messages.id'], name=op.f('fk_notices_message_id_notice_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('key', name=op.f('uq_notices_key'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_state'))
        batch_op.drop_index(batch_op.f('ix_notices_message_id'))
        batch_op.drop_index(batch_op.f('ix_notices_learner_id'))

    op.drop_table('notices')
    op.drop_table('notice_preferences')
    with op.batch_alter_table('notice_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_messages_state'))
        batch_op.drop_index(batch_op.f('ix_notice_messages_learner_id'))

    op.drop_table('notice_messages')
