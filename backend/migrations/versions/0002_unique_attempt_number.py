"""unique attempt number per envelope

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:30:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_attempt_envelope")
        batch_op.create_index(
            "uq_attempt_envelope_number", ["envelope_id", "attempt_number"], unique=True
        )


def downgrade():
    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.drop_index("uq_attempt_envelope_number")
        batch_op.create_index(
            "ix_attempt_envelope", ["envelope_id", "attempt_number"], unique=False
        )
