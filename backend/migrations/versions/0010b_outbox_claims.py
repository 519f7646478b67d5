"""outbox sent by workers: each row's dossier (order), a worker's lease on it

Revision ID: 0010b
Revises: 0009a
Create Date: 2026-12-02 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010b'
down_revision = '0009a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dossier_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_dossier_id_dossier'), 'dossier', ['dossier_id'], ['id'])
        batch_op.create_index('ix_outbox_dossier', ['dossier_id', 'id'], unique=False)
    # Rows written before: their dossier is their event's. Nothing ever parked them ("dead").
    op.execute(
        "UPDATE outbox_message SET dossier_id = "
        "(SELECT event.dossier_id FROM event WHERE event.id = outbox_message.event_id)"
    )
    op.execute("UPDATE outbox_message SET status = 'parked' WHERE status = 'dead'")


def downgrade():
    op.execute("UPDATE outbox_message SET status = 'dead' WHERE status = 'parked'")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_dossier')
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_dossier_id_dossier'), type_='foreignkey')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('dossier_id')
