"""outbox notifications: the gateway that sent a citizen's message and the provider's id

Revision ID: 0011c
Revises: 0011a
Create Date: 2026-12-02 07:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011c'
down_revision = '0011a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('provider_message_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('provider_message_id')
        batch_op.drop_column('gateway')
