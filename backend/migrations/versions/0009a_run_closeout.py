"""closing a run: envelopes scanned back, the close-out record, the phone's outbox count

Revision ID: 0009a
Revises: 0008c
Create Date: 2026-12-02 04:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0009a'
down_revision = '0008c'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.create_table('run_return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('envelope_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('scanned_by_id', sa.Integer(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['envelope_id'], ['envelope.id'], name=op.f('fk_run_return_envelope_id_envelope')),
    sa.ForeignKeyConstraint(['run_id'], ['delivery_run.id'], name=op.f('fk_run_return_run_id_delivery_run')),
    sa.ForeignKeyConstraint(['scanned_by_id'], ['user_account.id'], name=op.f('fk_run_return_scanned_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_return')),
    sa.UniqueConstraint('run_id', 'envelope_id', name='uq_run_return_envelope')
    )
    with op.batch_alter_table('run_return', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_return_envelope_id'), ['envelope_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_return_run_id'), ['run_id'], unique=False)

    op.create_table('run_closeout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('expected_vnd', sa.Integer(), nullable=False),
    sa.Column('received_vnd', sa.Integer(), nullable=False),
    sa.Column('expected_back', sa.Integer(), nullable=False),
    sa.Column('scanned_back', sa.Integer(), nullable=False),
    sa.Column('missing_envelope_ids', json_type, nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('phone_waiting', sa.Integer(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_run_closeout_closed_by_id_user_account')),
    sa.ForeignKeyConstraint(['run_id'], ['delivery_run.id'], name=op.f('fk_run_closeout_run_id_delivery_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_closeout')),
    sa.UniqueConstraint('run_id', name=op.f('uq_run_closeout_run_id'))
    )

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outbox_waiting', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outbox_reported_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('outbox_reported_at')
        batch_op.drop_column('outbox_waiting')

    op.drop_table('run_closeout')
    with op.batch_alter_table('run_return', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_return_run_id'))
        batch_op.drop_index(batch_op.f('ix_run_return_envelope_id'))

    op.drop_table('run_return')
