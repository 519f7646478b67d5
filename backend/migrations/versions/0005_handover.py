"""hand-overs from agencies, envelope by envelope

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('handover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('post_office_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('courier_name', sa.String(length=200), nullable=True),
    sa.Column('announced', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_handover_agency_id_agency')),
    sa.ForeignKeyConstraint(['post_office_id'], ['post_office.id'], name=op.f('fk_handover_post_office_id_post_office')),
    sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'], name=op.f('fk_handover_started_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover'))
    )
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.create_index('ix_handover_office_started', ['post_office_id', 'started_at'], unique=False)

    op.create_table('handover_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handover_id', sa.Integer(), nullable=False),
    sa.Column('envelope_id', sa.Integer(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['envelope_id'], ['envelope.id'], name=op.f('fk_handover_item_envelope_id_envelope')),
    sa.ForeignKeyConstraint(['handover_id'], ['handover.id'], name=op.f('fk_handover_item_handover_id_handover')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_item')),
    sa.UniqueConstraint('handover_id', 'envelope_id', name='uq_handover_item_envelope')
    )
    with op.batch_alter_table('handover_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_item_envelope_id'), ['envelope_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_item_handover_id'), ['handover_id'], unique=False)



def downgrade():
    with op.batch_alter_table('handover_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_item_handover_id'))
        batch_op.drop_index(batch_op.f('ix_handover_item_envelope_id'))

    op.drop_table('handover_item')
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.drop_index('ix_handover_office_started')

    op.drop_table('handover')
