"""envelopes for the same recipient at the same address: one visit (door) of a run

Revision ID: 0007a
Revises: 0006
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007a'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('run_stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit', sa.Integer(), nullable=True))
    # Stops planned before: each its own door.
    op.execute('UPDATE run_stop SET visit = position')
    with op.batch_alter_table('run_stop', schema=None) as batch_op:
        batch_op.alter_column('visit', existing_type=sa.Integer(), nullable=False)


def downgrade():
    with op.batch_alter_table('run_stop', schema=None) as batch_op:
        batch_op.drop_column('visit')
