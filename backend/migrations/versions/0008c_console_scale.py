"""the console at a province's scale: the exception queue's attempts by run, names by trigram

Revision ID: 0008c
Revises: 0008b
Create Date: 2026-12-03 12:00:00

bench/console_scale.py (a year of a province: a million envelopes, 1.1 million attempts): the
exception queue read every attempt of the last 30 days and every envelope (1.4 s); a name
searched without diacritics walked a third of the envelopes (0.8 s).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008c'
down_revision = '0008b'
branch_labels = None
depends_on = None

EXCEPTION = "outcome = 'failed' OR needs_review IS true"


def upgrade():
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(
            'ix_attempt_exception_run', ['run_id'], unique=False,
            postgresql_where=sa.text(EXCEPTION), sqlite_where=sa.text(EXCEPTION),
        )
    if op.get_bind().dialect.name == 'postgresql':
        # pg_trgm is a trusted extension: the database's owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    # On SQLite (development, tests) a plain index, as the model makes it there.
    op.create_index(
        'ix_dossier_name_trigram', 'dossier', ['recipient_name_folded'], unique=False,
        postgresql_using='gin', postgresql_ops={'recipient_name_folded': 'gin_trgm_ops'},
    )


def downgrade():
    op.drop_index('ix_dossier_name_trigram', table_name='dossier')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_exception_run')
