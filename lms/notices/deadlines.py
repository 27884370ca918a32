"""The 48-hour rule (pure): when each person's new-business training is due, and its state.

「培训岗 2」: training on every new business issued by the company reaches all personnel of the
store within 48 hours. The clock starts when the notice is issued, or — for a person who is not
in the store then — when they are: after their leave ends, on their first day, or when they are
added to the store's scope later (a transfer, a reactivation, a late roster entry). So

    due_at = available_from + 48 h,   available_from = the first moment ≥ start when the person
                                      is in the store (not on leave, already hired),

where start = issued_at, or the moment of assignment for people who come into scope later.
Leave periods are whole days in the stores' time zone (Asia/Shanghai), inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

WINDOW = timedelta(hours=48)
LOCAL = ZoneInfo("Asia/Shanghai")
STATES = ("done_on_time", "done_late", "pending", "overdue", "on_leave")
STATE_LABELS = {"done_on_time": "按时完成", "done_late": "逾期完成", "pending": "未到期", "overdue": "已逾期",
                "on_leave": "休假中"}


def day_start(day: date) -> datetime:
    """Midnight at the start of a local day, in UTC."""
    return datetime.combine(day, time(0), LOCAL).astimezone(timezone.utc)


def available_from(start: datetime, hire_date: date | None, leaves: Iterable[tuple[date, date]]) -> datetime:
    """Return the first moment at or after `start` when the person is in the store."""
    moment = start
    if hire_date is not None:
        moment = max(moment, day_start(hire_date))
    spans = sorted((day_start(a), day_start(b + timedelta(days=1))) for a, b in leaves)
    for begin, end in spans:  # sorted, so one pass moves past back-to-back leaves too
        if begin <= moment < end:
            moment = end
    return moment


def due_at(start: datetime, hire_date: date | None, leaves: Iterable[tuple[date, date]]) -> datetime:
    """Return when the person's training on the notice is due."""
    return available_from(start, hire_date, leaves) + WINDOW


@dataclass(frozen=True)
class AssignmentFacts:
    available_from: datetime
    due_at: datetime
    completed_at: datetime | None


def state(facts: AssignmentFacts, now: datetime, on_leave_now: bool) -> str:
    """Classify an assignment: done on time / done late / pending / overdue / on leave."""
    if facts.completed_at is not None:
        return "done_on_time" if facts.completed_at <= facts.due_at else "done_late"
    if on_leave_now and now < facts.available_from:
        return "on_leave"
    return "overdue" if now >= facts.due_at else "pending"


def on_time(completed_at: datetime | None, due: datetime) -> bool | None:
    """Whether a completion met its deadline (None while not completed)."""
    return None if completed_at is None else completed_at <= due


def reminder_times(due: datetime) -> dict[str, datetime]:
    """When each reminder of an assignment is due (DESIGN.md §4.5)."""
    return {
        "person-24h": due - timedelta(hours=24),
        "person-6h": due - timedelta(hours=6),
        "manager-6h": due - timedelta(hours=6),
        "manager-due": due,
        "trainer-due": due,
    }


def duration_text(delta: timedelta) -> str:
    """A length of time in words: 「30 小时 5 分」."""
    seconds = abs(int(delta.total_seconds()))
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    return f"{hours} 小时 {minutes} 分" if hours else f"{minutes} 分钟"


def describe_left(delta: timedelta) -> str:
    """Say how long is left (or how late) in words a clerk reads at a glance."""
    return f"已逾期 {duration_text(delta)}" if delta.total_seconds() < 0 else f"剩余 {duration_text(delta)}"
