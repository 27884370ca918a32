"""notices: the open assignments of a withdrawn notice are cancelled (data only)

Withdrawing a notice now cancels the assignments still open at that moment, so "cancelled" is a
state of the assignment itself (lms/notices/deadlines.py). This brings notices withdrawn before
that change in line: their open assignments are cancelled at the notice's withdrawal time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

WITHDRAWN = '通知撤回'  # lms/notices/service.py WITHDRAWN


def upgrade():
    op.execute(
        "UPDATE notice_assignment SET cancel_reason = '" + WITHDRAWN + "', cancelled_at = "
        "(SELECT notice.withdrawn_at FROM notice WHERE notice.id = notice_assignment.notice_id) "
        "WHERE completed_at IS NULL AND cancelled_at IS NULL "
        "AND notice_id IN (SELECT id FROM notice WHERE withdrawn_at IS NOT NULL)")


def downgrade():
    op.execute("UPDATE notice_assignment SET cancelled_at = NULL, cancel_reason = '' "
               "WHERE cancel_reason = '" + WITHDRAWN + "' AND completed_at IS NULL")
