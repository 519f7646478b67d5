"""the tracking page: wrong guesses per envelope and their lock; post offices' opening hours

Revision ID: 0011b
Revises: 0011c
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011b"
down_revision = "0011c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tracking_guard",
        sa.Column("envelope_id", sa.Integer(), nullable=False),
        sa.Column("wrong_guesses", sa.Integer(), nullable=False),
        sa.Column("last_wrong_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["envelope.id"],
            name=op.f("fk_tracking_guard_envelope_id_envelope"),
        ),
        sa.PrimaryKeyConstraint("envelope_id", name=op.f("pk_tracking_guard")),
    )
    with op.batch_alter_table("post_office", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_hours", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("post_office", schema=None) as batch_op:
        batch_op.drop_column("opening_hours")
    op.drop_table("tracking_guard")
