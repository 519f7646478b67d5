"""search dossiers by the recipient's name without diacritics, or phone

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_name_folded', sa.String(length=200), nullable=True))
    # The names already there, folded as the app folds them (backend.domain.names.fold_name).
    from backend.domain.names import fold_name

    bind = op.get_bind()
    dossier = sa.table(
        'dossier', sa.column('id', sa.Integer), sa.column('recipient_name', sa.String),
        sa.column('recipient_name_folded', sa.String),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(dossier.c.id, dossier.c.recipient_name)
            .where(dossier.c.id > last).order_by(dossier.c.id).limit(5000)
        ).all()
        if not rows:
            break
        bind.execute(
            dossier.update().where(dossier.c.id == sa.bindparam('row_id'))
            .values(recipient_name_folded=sa.bindparam('folded')),
            [{'row_id': row.id, 'folded': fold_name(row.recipient_name)} for row in rows],
        )
        last = rows[-1].id
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.alter_column('recipient_name_folded', existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index(batch_op.f('ix_dossier_recipient_name_folded'), ['recipient_name_folded'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_recipient_phone'), ['recipient_phone'], unique=False)


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_recipient_phone'))
        batch_op.drop_index(batch_op.f('ix_dossier_recipient_name_folded'))
        batch_op.drop_column('recipient_name_folded')
