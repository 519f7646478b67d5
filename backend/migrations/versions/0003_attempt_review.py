"""attempts carry what the supervisor should review

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_flags', json_type, nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_attempt_needs_review', ['needs_review'], unique=False)
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.alter_column('review_flags', server_default=None)
        batch_op.alter_column('needs_review', server_default=None)


def downgrade():
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_needs_review')
        batch_op.drop_column('needs_review')
        batch_op.drop_column('review_flags')
