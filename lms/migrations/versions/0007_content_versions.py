"""content versions and browser edits

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

NO_FK_REFLECTION = {'resolve_fks': False}


def upgrade():
    op.create_table('module_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_module_version_created_by_users')),
    sa.ForeignKeyConstraint(['module_id'], ['module.id'], name=op.f('fk_module_version_module_id_module')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_module_version')),
    sa.UniqueConstraint('module_id', 'version', name=op.f('uq_module_version_module_id'))
    )
    op.create_index(op.f('ix_module_version_module_id'), 'module_version', ['module_id'], unique=False)
    # Every module's current text becomes its first recorded version.
    op.execute("INSERT INTO module_version (module_id, version, title, body_md, origin, created_at) "
               "SELECT id, version, title, body_md, 'file', updated_at FROM module")

    op.add_column('module', sa.Column('dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('scenario', sa.Column('dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('phrasebook_version', sa.Column('origin', sa.String(length=10), nullable=False, server_default='file'))
    op.add_column('phrasebook_version', sa.Column('dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('scenario_version', sa.Column('origin', sa.String(length=10), nullable=False, server_default='file'))
    for table in ('phrasebook_version', 'scenario_version'):
        with op.batch_alter_table(table, schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
            batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_created_by_users'), 'users', ['created_by'], ['id'])


def downgrade():
    for table in ('scenario_version', 'phrasebook_version'):
        with op.batch_alter_table(table, schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_created_by_users'), type_='foreignkey')
            batch_op.drop_column('created_by')
    op.drop_column('scenario_version', 'origin')
    op.drop_column('phrasebook_version', 'dirty')
    op.drop_column('phrasebook_version', 'origin')
    op.drop_column('scenario', 'dirty')
    op.drop_column('module', 'dirty')
    op.drop_index(op.f('ix_module_version_module_id'), table_name='module_version')
    op.drop_table('module_version')
