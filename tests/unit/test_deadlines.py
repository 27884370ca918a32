"""The 48-hour rule's arithmetic (pure): start, due, state, reminder times."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from lms.notices.deadlines import AssignmentFacts, available_from, day_start, due_at, reminder_times, state

pytestmark = pytest.mark.no_db

ISSUED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def test_due_is_48_hours_after_issue_for_someone_in_the_store():
    assert due_at(ISSUED, date(2025, 1, 1), []) == ISSUED + timedelta(hours=48)


def test_done_at_47_59_59_is_on_time_and_at_48_00_01_late():
    due = ISSUED + timedelta(hours=48)
    facts = lambda done: AssignmentFacts(ISSUED, due, done)  # noqa: E731
    assert state(facts(ISSUED + timedelta(hours=47, minutes=59, seconds=59)), due, False) == "done_on_time"
    assert state(facts(due), due, False) == "done_on_time"
    assert state(facts(ISSUED + timedelta(hours=48, seconds=1)), due, False) == "done_late"
    assert state(facts(None), due - timedelta(seconds=1), False) == "pending"
    assert state(facts(None), due, False) == "overdue"


def test_leave_over_the_whole_window_starts_the_clock_on_return():
    leave = (date(2026, 11, 18), date(2026, 11, 25))  # back on the 26th, Shanghai time
    start = available_from(ISSUED, date(2025, 1, 1), [leave])
    assert start == day_start(date(2026, 11, 26)) == datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
    assert due_at(ISSUED, date(2025, 1, 1), [leave]) == start + timedelta(hours=48)
    facts = AssignmentFacts(start, start + timedelta(hours=48), None)
    assert state(facts, ISSUED + timedelta(days=2), on_leave_now=True) == "on_leave"


def test_returning_in_the_middle_of_the_window():
    leave = (date(2026, 11, 19), date(2026, 11, 20))  # back on the 21st
    assert due_at(ISSUED, None, [leave]) == day_start(date(2026, 11, 21)) + timedelta(hours=48)


def test_back_to_back_leaves_and_leaves_before_or_after_do_not_matter():
    leaves = [(date(2026, 11, 23), date(2026, 11, 24)), (date(2026, 11, 20), date(2026, 11, 22)), (date(2026, 1, 1), date(2026, 1, 5))]
    assert available_from(ISSUED, None, leaves) == day_start(date(2026, 11, 25))
    assert available_from(ISSUED, None, [(date(2026, 12, 1), date(2026, 12, 3))]) == ISSUED


def test_a_new_hire_starts_on_their_first_day():
    assert available_from(ISSUED, date(2026, 11, 23), []) == day_start(date(2026, 11, 23))
    assert available_from(ISSUED, date(2026, 11, 19), []) == ISSUED


def test_reminder_times():
    due = ISSUED + timedelta(hours=48)
    times = reminder_times(due)
    assert times["person-24h"] == due - timedelta(hours=24) and times["person-6h"] == due - timedelta(hours=6)
    assert times["manager-6h"] == due - timedelta(hours=6) and times["manager-due"] == times["trainer-due"] == due
