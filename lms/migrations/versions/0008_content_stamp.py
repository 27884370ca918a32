"""content stamp: one row that moves with every change of content (see lms/catalog.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    stamp = op.create_table('content_stamp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_stamp'))
    )
    op.bulk_insert(stamp, [{'id': 1, 'value': 1}])


def downgrade():
    op.drop_table('content_stamp')
