"""versioned content: one set of columns on every content row, a phrasebook row, question edits kept

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Every content row (course, module, scenario, question, exam, and the phrasebook, which gets a row of
its own) carries the same columns (lms/versioning.py): version, source_hash, file_hash, origin,
active, dirty, updated_at. Questions that were imported or edited in the browser (origin 'browser')
become dirty, so that the next sync keeps them instead of retiring or overwriting them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

NO_FK_REFLECTION = {'resolve_fks': False}


def _hash():
    return sa.Column('file_hash', sa.String(length=64), nullable=False, server_default='')


def _origin():
    return sa.Column('origin', sa.String(length=10), nullable=False, server_default='file')


def _dirty():
    return sa.Column('dirty', sa.Boolean(), nullable=False, server_default=sa.false())


def upgrade():
    op.add_column('course', _hash())
    op.add_column('course', _origin())
    op.add_column('course', _dirty())
    for table in ('module', 'scenario'):
        op.add_column(table, _hash())
        op.add_column(table, _origin())
    op.add_column('question', _hash())
    op.add_column('question', _dirty())
    op.add_column('exam', _hash())
    op.add_column('exam', _origin())
    op.add_column('exam', _dirty())
    op.execute("UPDATE question SET dirty = (origin = 'browser')")
    for table in ('course', 'module', 'scenario', 'question', 'exam'):
        op.execute(f"UPDATE {table} SET file_hash = source_hash WHERE NOT dirty")

    phrasebook = op.create_table('phrasebook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('dirty', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phrasebook'))
    )
    latest = op.get_bind().execute(sa.text(
        "SELECT version, source_hash, origin, dirty, created_at FROM phrasebook_version "
        "ORDER BY version DESC LIMIT 1")).first()
    if latest is not None:
        version, source_hash, origin, dirty, created_at = latest
        op.bulk_insert(phrasebook, [{'id': 1, 'version': version, 'source_hash': source_hash,
                                     'file_hash': '' if dirty else source_hash, 'origin': origin,
                                     'active': True, 'dirty': bool(dirty), 'updated_at': created_at}])
    with op.batch_alter_table('phrasebook_version', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.drop_column('dirty')


def downgrade():
    op.add_column('phrasebook_version', sa.Column('dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE phrasebook_version SET dirty = (SELECT dirty FROM phrasebook WHERE id = 1) "
               "WHERE version = (SELECT version FROM phrasebook WHERE id = 1)")
    op.drop_table('phrasebook')
    with op.batch_alter_table('exam', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        for column in ('dirty', 'origin', 'file_hash'):
            batch_op.drop_column(column)
    with op.batch_alter_table('question', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        for column in ('dirty', 'file_hash'):
            batch_op.drop_column(column)
    for table in ('scenario', 'module'):
        with op.batch_alter_table(table, schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
            for column in ('origin', 'file_hash'):
                batch_op.drop_column(column)
    with op.batch_alter_table('course', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        for column in ('dirty', 'origin', 'file_hash'):
            batch_op.drop_column(column)
