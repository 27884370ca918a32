"""The 48-hour rule gives the same answer in Python and in SQL, on a real row, at every edge.

Each case is one assignment stored in the database and a moment `now`. Its state and its due
reminders are asked three ways — the Python rule (deadlines.state on the row as read back), the
SQL CASE (NoticeAssignment.state) and the SQL filters (in_state, reminder_due) — and all three
must give the expected answer. Run on SQLite, and on PostgreSQL with LMS_TEST_DATABASE_URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.notices.deadlines import REMINDERS, STATES, WINDOW
from lms.notices.models import Notice, NoticeAssignment

ISSUED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
DUE = ISSUED + WINDOW
H, S, US = timedelta(hours=1), timedelta(seconds=1), timedelta(microseconds=1)
NONE: frozenset[str] = frozenset()
BEFORE_24H = frozenset({"person-24h"})
BEFORE_6H = BEFORE_24H | {"person-6h", "manager-6h"}
OVERDUE = BEFORE_6H | {"manager-due", "trainer-due"}

# name, available_from, completed_at, cancelled_at, now, expected state, expected due reminders
CASES = [
    ("long before due", ISSUED, None, None, ISSUED + H, "pending", NONE),
    ("a second before the 24 h reminder", ISSUED, None, None, DUE - 24 * H - S, "pending", NONE),
    ("the 24 h reminder", ISSUED, None, None, DUE - 24 * H, "pending", BEFORE_24H),
    ("the 6 h reminders", ISSUED, None, None, DUE - 6 * H, "pending", BEFORE_6H),
    ("a second before due", ISSUED, None, None, DUE - S, "pending", BEFORE_6H),
    ("exactly at due", ISSUED, None, None, DUE, "pending", BEFORE_6H),
    ("a microsecond after due", ISSUED, None, None, DUE + US, "overdue", OVERDUE),
    ("a second after due", ISSUED, None, None, DUE + S, "overdue", OVERDUE),
    ("days after due", ISSUED, None, None, DUE + 72 * H, "overdue", OVERDUE),
    ("on leave, a second before the clock starts", ISSUED + 72 * H, None, None, ISSUED + 72 * H - S, "on_leave", NONE),
    ("on leave past the issue's deadline", ISSUED + 72 * H, None, None, DUE + H, "on_leave", NONE),
    ("back from leave: the clock starts", ISSUED + 72 * H, None, None, ISSUED + 72 * H, "pending", NONE),
    ("back from leave, overdue by the new deadline", ISSUED + 72 * H, None, None, DUE + 72 * H + S, "overdue",
     OVERDUE),
    ("completed well before due", ISSUED, ISSUED + 3 * H, None, DUE + H, "done_on_time", NONE),
    ("completed a second before due", ISSUED, DUE - S, None, DUE + H, "done_on_time", NONE),
    ("completed exactly at due", ISSUED, DUE, None, DUE + H, "done_on_time", NONE),
    ("completed a microsecond after due", ISSUED, DUE + US, None, DUE + H, "done_late", NONE),
    ("completed a second after due", ISSUED, DUE + S, None, DUE + H, "done_late", NONE),
    ("completed, looked at the same instant", ISSUED, DUE, None, DUE, "done_on_time", NONE),
    ("cancelled before due", ISSUED, None, ISSUED + H, DUE - H, "cancelled", NONE),
    ("cancelled, long past due", ISSUED, None, ISSUED + H, DUE + 72 * H, "cancelled", NONE),
    ("cancelled while on leave", ISSUED + 72 * H, None, ISSUED + H, ISSUED + 2 * H, "cancelled", NONE),
    ("completed on time, then cancelled", ISSUED, DUE - H, DUE - S, DUE + H, "done_on_time", NONE),
    ("completed late, then cancelled", ISSUED, DUE + H, DUE + 2 * H, DUE + 3 * H, "done_late", NONE),
]


@pytest.mark.parametrize("name, begin, completed, cancelled, now, expected, reminders", CASES,
                         ids=[case[0] for case in CASES])
def test_python_and_sql_agree_on_every_case(app, factory, name, begin, completed, cancelled, now, expected,
                                            reminders):
    person = factory.person("staff")
    with app.app_context():
        notice = Notice(title=name, body_md="", body_html="", issued_at=ISSUED, published_by=person.id)
        db.session.add(notice)
        db.session.flush()
        row = NoticeAssignment(notice_id=notice.id, user_id=person.id, store_id=person.store_id, assigned_at=ISSUED,
                               start_at=ISSUED, available_from=begin, due_at=begin + WINDOW,
                               completed_at=completed, cancelled_at=cancelled)
        db.session.add(row)
        db.session.commit()
        db.session.expire_all()  # Python reads the row back as stored, like every page does
        a = NoticeAssignment
        stored = db.session.get(a, row.id)
        this = a.id == row.id
        in_sql = db.session.scalar(select(a.state(now)).where(this))
        filtered = {s for s in STATES if db.session.scalar(select(a.id).where(this, a.in_state(now, s)))}
        due_sql = {k for k in REMINDERS if db.session.scalar(select(a.id).where(this, a.reminder_due(k, now)))}
        due_python = {k for k in REMINDERS if stored.reminder_due(k, now)}
        assert (stored.state(now), in_sql, filtered) == (expected, expected, {expected})
        assert due_python == due_sql == reminders


def test_a_board_and_a_person_page_tell_the_same_story_at_the_deadline(app, factory, frozen):
    """At due_at itself one is pending everywhere; a second later overdue everywhere."""
    from lms.notices.board import board
    from lms.notices.service import is_suspended, overdue_for, pending_for

    person = factory.person("staff")
    with app.app_context():
        notice = Notice(title="边界", body_md="", body_html="", issued_at=ISSUED, published_by=person.id)
        db.session.add(notice)
        db.session.flush()
        db.session.add(NoticeAssignment(notice_id=notice.id, user_id=person.id, store_id=person.store_id,
                                        assigned_at=ISSUED, start_at=ISSUED, available_from=ISSUED, due_at=DUE))
        db.session.commit()
        notice_id = notice.id
    for moment, overdue in ((DUE, False), (DUE + S, True)):
        frozen(moment)
        with app.app_context():
            figures = board(db.session.get(Notice, notice_id)).total
            assert (figures.pending, figures.overdue) == ((0, 1) if overdue else (1, 0))
            assert bool(overdue_for(person.id)) is overdue and is_suspended(person.id) is overdue
            assert len(pending_for(person.id)) == 1
            assert pending_for(person.id)[0].standing(moment).state == ("overdue" if overdue else "pending")
