"""support requests

Revision ID: 0003_support
Revises: 0002_pars
Create Date: 2026-11-27 13:55:03.377051
"""

import sqlalchemy as sa
from alembic import op


revision = '0003_support'
down_revision = '0002_pars'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('support_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('missing', 'wrong', name='requestkind', native_enum=False, length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('open', 'answered', name='requeststate', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_identity_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_identity_id'], ['identities.id'], name=op.f('fk_support_requests_answered_by_identity_id_identities')),
    sa.ForeignKeyConstraint(['completion_id'], ['completions.id'], name=op.f('fk_support_requests_completion_id_completions')),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_support_requests_learner_id_learners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_support_requests_reference'))
    )
    with op.batch_alter_table('support_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_requests_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_requests_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('support_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_requests_state'))
        batch_op.drop_index(batch_op.f('ix_support_requests_learner_id'))

    op.drop_table('support_requests')
