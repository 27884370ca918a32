"""notices: the board's counts kept per notice and store; assignments indexed by notice and store

The board, the trainer's home and the manager's glance read these instead of every assignment
(lms/notices/tally.py keeps them in step with every change). Existing assignments are counted here,
by the same rule (`deadlines.tallied`).

Revision ID: 0015_notice_tally
Revises: 0014_speech
Create Date: 2026-12-04

"""
from collections import Counter

from alembic import op
import sqlalchemy as sa

from lms.dbtypes import UTCDateTime
from lms.notices.deadlines import tallied


# revision identifiers, used by Alembic.
revision = '0015_notice_tally'
down_revision = '0014_speech'
branch_labels = None
depends_on = None


def upgrade():
    # a board page reads the first few open assignments of each of its stores (the names that block 100 %)
    op.create_index('ix_notice_assignment_store', 'notice_assignment', ['notice_id', 'store_id', 'due_at', 'user_id'],
                    unique=False)
    op.drop_index(op.f('ix_notice_assignment_notice_id'), table_name='notice_assignment')  # its first column
    open_tally = op.create_table('notice_open_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('available_from', UTCDateTime(), nullable=False),
    sa.Column('due_at', UTCDateTime(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_open_tally_notice_id_notice')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_notice_open_tally_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_open_tally')),
    sa.UniqueConstraint('notice_id', 'store_id', 'available_from', 'due_at',
                        name=op.f('uq_notice_open_tally_notice_id'))
    )
    closed_tally = op.create_table('notice_closed_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('last_done', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_closed_tally_notice_id_notice')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_notice_closed_tally_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_closed_tally')),
    sa.UniqueConstraint('notice_id', 'store_id', 'state', name=op.f('uq_notice_closed_tally_notice_id'))
    )
    hour_tally = op.create_table('notice_hour_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_hour_tally_notice_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_hour_tally')),
    sa.UniqueConstraint('notice_id', 'hour', name=op.f('uq_notice_hour_tally_notice_id'))
    )

    assignment = sa.table('notice_assignment', *(sa.column(name, UTCDateTime) for name in (
        'available_from', 'due_at', 'completed_at', 'cancelled_at')), sa.column('notice_id', sa.Integer),
        sa.column('store_id', sa.Integer))
    notice = sa.table('notice', sa.column('id', sa.Integer), sa.column('issued_at', UTCDateTime))
    opened, closed, hours, last_done = Counter(), Counter(), Counter(), {}
    conn = op.get_bind()
    rows = sa.select(assignment, notice.c.issued_at).join(notice, notice.c.id == assignment.c.notice_id)
    for row in conn.execute(rows):
        for kind, first, second in tallied(row, row.issued_at):
            if kind == 'open':
                opened[(row.notice_id, row.store_id, first, second)] += 1
            elif kind == 'closed':
                closed[(row.notice_id, row.store_id, first)] += 1
                if second is not None:
                    last_done[(row.notice_id, row.store_id, first)] = max(
                        second, last_done.get((row.notice_id, row.store_id, first), second))
            else:
                hours[(row.notice_id, first)] += 1
    if opened:
        op.bulk_insert(open_tally, [dict(notice_id=n, store_id=s, available_from=a, due_at=d, people=p)
                                    for (n, s, a, d), p in opened.items()])
    if closed:
        op.bulk_insert(closed_tally, [dict(notice_id=n, store_id=s, state=st, people=p,
                                           last_done=last_done.get((n, s, st))) for (n, s, st), p in closed.items()])
    if hours:
        op.bulk_insert(hour_tally, [dict(notice_id=n, hour=h, people=p) for (n, h), p in hours.items()])


def downgrade():
    op.drop_table('notice_hour_tally')
    op.drop_table('notice_closed_tally')
    op.drop_table('notice_open_tally')
    op.create_index(op.f('ix_notice_assignment_notice_id'), 'notice_assignment', ['notice_id'], unique=False)
    op.drop_index('ix_notice_assignment_store', table_name='notice_assignment')
