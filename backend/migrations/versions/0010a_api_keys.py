"""agencies' API keys in their own table: several live at once, labelled, revocable

Revision ID: 0010a
Revises: 0010b
Create Date: 2026-12-02 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010a'
down_revision = '0010b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_api_key_agency_id_agency')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_api_key_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index('ix_api_key_agency', ['agency_id', 'id'], unique=False)

    # Each agency's one key so far becomes its first key in the new table.
    op.execute(
        "INSERT INTO api_key (agency_id, key_hash, prefix, label, created_at) "
        "SELECT id, api_key_hash, COALESCE(api_key_prefix, ''), 'Key', created_at "
        "FROM agency WHERE api_key_hash IS NOT NULL"
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint('uq_agency_api_key_hash', type_='unique')
        batch_op.drop_column('api_key_prefix')
        batch_op.drop_column('api_key_hash')


def downgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('api_key_prefix', sa.String(length=12), nullable=True))
        batch_op.create_unique_constraint('uq_agency_api_key_hash', ['api_key_hash'])
    # The agency's oldest live key goes back; the others (and the revoked) are lost.
    op.execute(
        "UPDATE agency SET api_key_hash = (SELECT k.key_hash FROM api_key k "
        "WHERE k.agency_id = agency.id AND k.revoked_at IS NULL ORDER BY k.id LIMIT 1), "
        "api_key_prefix = (SELECT substr(k.prefix, 1, 12) FROM api_key k "
        "WHERE k.agency_id = agency.id AND k.revoked_at IS NULL ORDER BY k.id LIMIT 1)"
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index('ix_api_key_agency')
    op.drop_table('api_key')
