"""tracking links: the salt their token is derived from

Revision ID: 0011a
Revises: 0010a
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011a"
down_revision = "0010a"
branch_labels = None
depends_on = None


def upgrade():
    # No link was ever made before this revision (no route made one): the table is empty.
    with op.batch_alter_table("tracking_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(length=32), nullable=False))


def downgrade():
    with op.batch_alter_table("tracking_link", schema=None) as batch_op:
        batch_op.drop_column("salt")
