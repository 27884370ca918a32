"""certificates: renewal period, expiry reminders through the outbox

A certificate issued by renewal starts at the old one's expiry (`valid_from`; every certificate
issued so far started when it was issued). The outbox also carries certificates' expiry reminders:
`certificate_id`, and `notice_id` may be empty. Expiry is searched by date (the reminders, the list
of expiring certificates): an index on `expires_at`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificate', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.add_column(sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE certificate SET valid_from = issued_at")
    with op.batch_alter_table('certificate', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.alter_column('valid_from', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f('ix_certificate_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.add_column(sa.Column('certificate_id', sa.Integer(), nullable=True))
        batch_op.alter_column('notice_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_outbox_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_certificate_id_certificate'), 'certificate',
                                    ['certificate_id'], ['id'])


def downgrade():
    op.execute("DELETE FROM outbox WHERE notice_id IS NULL")
    with op.batch_alter_table('outbox', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_certificate_id_certificate'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_certificate_id'))
        batch_op.alter_column('notice_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('certificate_id')

    with op.batch_alter_table('certificate', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_expires_at'))
        batch_op.drop_column('valid_from')
