"""certification: each person's standing kept (person_standing)

The manager's 今天 reads these instead of evaluating every person of the store on every visit
(lms/certification/standing.py keeps them in step). The table starts empty: a person without a
row is evaluated where they are shown, and `lms sweep` fills the rows in batches.

Revision ID: 0016_person_standing
Revises: 0015_notice_tally
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa

from lms.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0016_person_standing'
down_revision = '0015_notice_tally'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('person_standing',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('basis', sa.BigInteger(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=True),
    sa.Column('progressed', sa.Boolean(), nullable=False),
    sa.Column('missing', sa.Text(), nullable=False),
    sa.Column('issued_at', UTCDateTime(), nullable=True),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_person_standing'))
    )


def downgrade():
    op.drop_table('person_standing')
