"""The 48-hour rule's arithmetic (pure): start, due, state, reminder times."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

import pytest

from lms.notices.deadlines import (OPEN, RULES, STATES, AssignmentFacts, Before, IsSet, available_from, day_start,
                                   describe_left, due_at, holds, reminder_due, reminder_times, standing, state)

pytestmark = pytest.mark.no_db

ISSUED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def test_due_is_48_hours_after_issue_for_someone_in_the_store():
    assert due_at(ISSUED, date(2025, 1, 1), []) == ISSUED + timedelta(hours=48)


def test_due_at_is_the_last_on_time_instant_for_completions_and_for_overdue_alike():
    due = ISSUED + timedelta(hours=48)
    facts = lambda done: AssignmentFacts(ISSUED, due, done)  # noqa: E731
    assert state(facts(ISSUED + timedelta(hours=47, minutes=59, seconds=59)), due) == "done_on_time"
    assert state(facts(due), due) == "done_on_time"
    assert state(facts(ISSUED + timedelta(hours=48, seconds=1)), due) == "done_late"
    assert state(facts(None), due - timedelta(seconds=1)) == "pending"
    assert state(facts(None), due) == "pending"  # completing now would still be on time
    assert state(facts(None), due + timedelta(microseconds=1)) == "overdue"
    assert describe_left(due, due) == "剩余0分钟" and describe_left(due, due + timedelta(minutes=5)) == "已逾期5分钟"


def test_leave_over_the_whole_window_starts_the_clock_on_return():
    leave = (date(2026, 11, 18), date(2026, 11, 25))  # back on the 26th, Shanghai time
    start = available_from(ISSUED, date(2025, 1, 1), [leave])
    assert start == day_start(date(2026, 11, 26)) == datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
    assert due_at(ISSUED, date(2025, 1, 1), [leave]) == start + timedelta(hours=48)
    facts = AssignmentFacts(start, start + timedelta(hours=48), None)
    assert state(facts, ISSUED + timedelta(days=2)) == "on_leave"
    assert state(facts, start - timedelta(seconds=1)) == "on_leave" and state(facts, start) == "pending"


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


def test_reminders_go_out_at_their_offset_and_at_due_only_once_overdue():
    due = ISSUED + timedelta(hours=48)
    facts = AssignmentFacts(ISSUED, due, None)
    second = timedelta(seconds=1)
    assert not reminder_due("person-24h", facts, due - timedelta(hours=24) - second)
    assert reminder_due("person-24h", facts, due - timedelta(hours=24))
    assert reminder_due("manager-6h", facts, due - timedelta(hours=6))
    assert not reminder_due("manager-due", facts, due) and not reminder_due("trainer-due", facts, due)
    assert reminder_due("manager-due", facts, due + second) and reminder_due("trainer-due", facts, due + second)
    done = AssignmentFacts(ISSUED, due, ISSUED + timedelta(hours=1))
    cancelled = AssignmentFacts(ISSUED, due, None, ISSUED + timedelta(hours=1))
    assert not any(reminder_due(k, f, due + second) for k in ("person-24h", "manager-due") for f in (done, cancelled))


def test_cancelled_is_a_state_and_a_completion_outlives_it():
    due = ISSUED + timedelta(hours=48)
    gone = ISSUED + timedelta(hours=2)
    assert state(AssignmentFacts(ISSUED, due, None, gone), due + timedelta(days=3)) == "cancelled"
    assert state(AssignmentFacts(ISSUED, due, ISSUED + timedelta(hours=1), gone), due) == "done_on_time"
    shown = standing(AssignmentFacts(ISSUED, due, None, gone), due)
    assert (shown.label, shown.level, shown.left) == ("已不需要", "off", "")
    shown = standing(AssignmentFacts(ISSUED, due, None), due + timedelta(hours=1))
    assert (shown.state, shown.level, shown.left) == ("overdue", "bad", "已逾期1小时0分")


def _moments():
    """Every ordering of the four moments and now on a small grid, set or unset."""
    grid = [ISSUED + timedelta(hours=h) for h in (0, 1, 2, 3)]
    for begin, due, now in itertools.product(grid, repeat=3):
        if begin < due:  # due_at = available_from + 48 h, so always after it
            for done, gone in itertools.product([None, *grid], repeat=2):
                yield AssignmentFacts(begin, due, done, gone), now


def test_the_rules_are_a_partition_every_assignment_meets_exactly_one_row():
    seen = set()
    for facts, now in _moments():
        named = {"now": now, "available_from": facts.available_from, "due_at": facts.due_at,
                 "completed_at": facts.completed_at, "cancelled_at": facts.cancelled_at}
        met = [name for name, conditions in RULES.items() if all(holds(c, named) for c in conditions)]
        assert len(met) == 1, (facts, now, met)
        seen.add(met[0])
    assert seen == set(STATES)


def test_every_comparison_of_a_nullable_moment_follows_its_is_set():
    """Otherwise the SQL of a row could be NULL where Python raises or says False."""
    nullable = {"completed_at", "cancelled_at"}
    for name, conditions in RULES.items():
        known: set[str] = set()
        for condition in conditions:
            if isinstance(condition, IsSet):
                if condition.present:
                    known.add(condition.name)
            else:
                assert isinstance(condition, Before)
                assert not ({condition.left, condition.right} & nullable) - known, (name, condition)
    assert all(condition in RULES[s] for s in ("on_leave", "pending", "overdue") for condition in OPEN)
