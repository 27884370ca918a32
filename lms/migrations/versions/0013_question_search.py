"""questions: the bank's search text

The bank searches a question's name, category, text and answers (`question.search_text`, the
normalised text of its current version, kept on every save by `lms/exams/bank.py`). Existing rows are
filled from their latest version here. A search is a substring match (`LIKE '%word%'`), which no
B-tree index serves, so none is added.

Revision ID: 0013_question_search
Revises: 0012_scenario_drafts
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa

from lms.exams.questions import from_dict, search_text


# revision identifiers, used by Alembic.
revision = '0013_question_search'
down_revision = '0012_scenario_drafts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    conn = op.get_bind()
    question = sa.table('question', sa.column('id', sa.Integer), sa.column('search_text', sa.Text))
    version = sa.table('question_version', sa.column('question_id', sa.Integer), sa.column('version', sa.Integer),
                       sa.column('spec', sa.JSON))
    latest = sa.select(version.c.question_id, sa.func.max(version.c.version).label('v')) \
        .group_by(version.c.question_id).subquery()
    rows = conn.execute(sa.select(version.c.question_id, version.c.spec).join(
        latest, sa.and_(latest.c.question_id == version.c.question_id, latest.c.v == version.c.version)))
    for question_id, spec in rows.fetchall():
        conn.execute(question.update().where(question.c.id == question_id)
                     .values(search_text=search_text(from_dict(spec))))


def downgrade():
    with op.batch_alter_table('question', schema=None, reflect_kwargs={'resolve_fks': False}) as batch_op:
        batch_op.drop_column('search_text')
