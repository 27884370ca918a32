"""The 48-hour rule (pure): when each person's new-business training is due, and its state.

「培训岗 2」: training on every new business issued by the company reaches all personnel of the
store within 48 hours. The clock starts when the notice is issued, or — for a person who is not
in the store then — when they are: after their leave ends, on their first day, or when they are
added to the store's scope later (a transfer, a reactivation, a late roster entry). So

    due_at = available_from + 48 h,   available_from = the first moment ≥ start when the person
                                      is in the store (not on leave, already hired),

where start = issued_at, or the moment of assignment for people who come into scope later.
Leave periods are whole days in the stores' time zone (Asia/Shanghai), inclusive.

`due_at` is the last instant that still counts as on time: a completion at `completed_at <= due_at`
is on time, and an open assignment is overdue only when `now > due_at`. An assignment is in
exactly one state (see `RULES`); the same table is turned into SQL by `NoticeAssignment.state`
and `NoticeAssignment.in_state`, so pages, queries, exports and reminders all classify alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

WINDOW = timedelta(hours=48)
LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class IsSet:
    """The assignment's moment `name` is recorded (or, with present=False, is not)."""

    name: str
    present: bool = True


@dataclass(frozen=True)
class Before:
    """Moment `left` comes before moment `right` (or is the same instant, when inclusive).

    Names are the assignment's fields (`available_from`, `due_at`, `completed_at`, `cancelled_at`)
    or "now". Only `<` and `<=` are used, so Python datetimes and SQL columns read them alike.
    """

    left: str
    right: str
    inclusive: bool = False


Condition = IsSet | Before

OPEN = (IsSet("completed_at", False), IsSet("cancelled_at", False))
STARTED = Before("available_from", "now", inclusive=True)  # the person is in the store: the clock runs
AT_OR_PAST_DUE = Before("due_at", "now", inclusive=True)
OVERDUE = Before("due_at", "now")  # strictly after the deadline; at due_at itself one is still on time

# The one definition of the states. Every assignment meets exactly one row (a unit test checks
# the rows never overlap); each comparison of a nullable moment comes after its IsSet, so the
# SQL built from a row is never NULL.
RULES: dict[str, tuple[Condition, ...]] = {
    "done_on_time": (IsSet("completed_at"), Before("completed_at", "due_at", inclusive=True)),
    "done_late": (IsSet("completed_at"), Before("due_at", "completed_at")),
    "cancelled": (IsSet("completed_at", False), IsSet("cancelled_at")),  # notice withdrawn, or left the scope
    "on_leave": (*OPEN, Before("now", "available_from")),  # on leave or not yet hired: the clock has not started
    "pending": (*OPEN, STARTED, Before("now", "due_at", inclusive=True)),
    "overdue": (*OPEN, STARTED, OVERDUE),
}
STATES = tuple(RULES)
DONE_STATES = ("done_on_time", "done_late")
OPEN_STATES = ("on_leave", "pending", "overdue")  # still to learn
STATE_LABELS = {"done_on_time": "按时完成", "done_late": "逾期完成", "cancelled": "已不需要", "on_leave": "休假/未到岗",
                "pending": "未到期", "overdue": "已逾期"}
STATE_LEVELS = {"done_on_time": "ok", "done_late": "ok", "cancelled": "off", "on_leave": "warn", "pending": "warn",
                "overdue": "bad"}  # badge classes


@dataclass(frozen=True)
class Reminder:
    """A reminder goes out `lead` before the deadline: once `when` holds at the moment now + lead."""

    lead: timedelta
    when: Before


# The person at due−24 h and due−6 h, the store's managers at due−6 h and at due, the trainer at
# due (DESIGN.md §4.5). "At due" means once the assignment is overdue, by the rule above.
REMINDERS = {
    "person-24h": Reminder(timedelta(hours=24), AT_OR_PAST_DUE),
    "person-6h": Reminder(timedelta(hours=6), AT_OR_PAST_DUE),
    "manager-6h": Reminder(timedelta(hours=6), AT_OR_PAST_DUE),
    "manager-due": Reminder(timedelta(0), OVERDUE),
    "trainer-due": Reminder(timedelta(0), OVERDUE),
}


def check(condition: Condition, value: Callable[[str], Any], is_set: Callable[[Any, bool], Any]) -> Any:
    """Apply one condition to operands named by `value`: datetimes in Python, columns in SQL."""
    if isinstance(condition, IsSet):
        return is_set(value(condition.name), condition.present)
    left, right = value(condition.left), value(condition.right)
    return left <= right if condition.inclusive else left < right


def holds(condition: Condition, moments: Mapping[str, datetime | None]) -> bool:
    """Tell whether a condition holds for these moments (Python side of `check`)."""
    return bool(check(condition, moments.__getitem__, lambda v, present: (v is not None) == present))


def moments(facts: Any, now: datetime) -> dict[str, datetime | None]:
    """The named moments of an assignment (anything with its four fields) at `now`."""
    return {"now": now, "available_from": facts.available_from, "due_at": facts.due_at,
            "completed_at": facts.completed_at, "cancelled_at": getattr(facts, "cancelled_at", None)}


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


def schedule(start: datetime, hire_date: date | None, leaves: Iterable[tuple[date, date]]) -> tuple[datetime, datetime]:
    """Return (available_from, due_at) of a person's assignment whose clock may start at `start`."""
    begin = available_from(start, hire_date, leaves)
    return begin, begin + WINDOW


def due_at(start: datetime, hire_date: date | None, leaves: Iterable[tuple[date, date]]) -> datetime:
    """Return when the person's training on the notice is due."""
    return schedule(start, hire_date, leaves)[1]


@dataclass(frozen=True)
class AssignmentFacts:
    available_from: datetime
    due_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None = None


def state(facts: Any, now: datetime) -> str:
    """Classify an assignment at `now`: the one row of RULES it meets."""
    named = moments(facts, now)
    for name, conditions in RULES.items():
        if all(holds(c, named) for c in conditions):
            return name
    raise ValueError(f"no state for {named}")  # cannot happen while RULES cover every case


def completion_hour(completed_at: datetime, issued_at: datetime) -> int:
    """The hour after issue a completion falls in, rounded up: a completion counts by hour h exactly
    when it is at most h hours after issue (0 for one at the issue instant)."""
    return max(0, -((issued_at - completed_at) // timedelta(hours=1)))


def tallied(facts: Any, issued_at: datetime) -> tuple[tuple, ...]:
    """The counts an assignment is part of (the board's tallies, lms/notices/tally.py): while open,
    its schedule ("open", available_from, due_at), whose state follows from the moment of reading;
    once closed, its state, which no longer changes ("closed", state, completed_at), and once done,
    the hour of its completion ("hour", h, None)."""
    if facts.completed_at is None and getattr(facts, "cancelled_at", None) is None:
        return (("open", facts.available_from, facts.due_at),)
    closed = state(facts, facts.completed_at or facts.cancelled_at)  # no closed row reads "now"
    if facts.completed_at is None:
        return (("closed", closed, None),)
    return (("closed", closed, facts.completed_at), ("hour", completion_hour(facts.completed_at, issued_at), None))


def reminder_due(kind: str, facts: Any, now: datetime) -> bool:
    """Tell whether the `kind` reminder of an open assignment has come (Python side)."""
    reminder = REMINDERS[kind]
    return state(facts, now) in OPEN_STATES and holds(reminder.when, moments(facts, now + reminder.lead))


def reminder_times(due: datetime) -> dict[str, datetime]:
    """The moment each reminder belongs to (at due: it goes out just after that instant)."""
    return {kind: due - reminder.lead for kind, reminder in REMINDERS.items()}


def duration_text(delta: timedelta) -> str:
    """A length of time in words: 「30 小时 5 分」."""
    seconds = abs(int(delta.total_seconds()))
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    return f"{hours}小时{minutes}分" if hours else f"{minutes}分钟"


def describe_left(due: datetime, now: datetime) -> str:
    """Say how long is left until `due` (or how late it is) in words a clerk reads at a glance."""
    if holds(OVERDUE, {"due_at": due, "now": now}):
        return f"已逾期{duration_text(now - due)}"
    return f"剩余{duration_text(due - now)}"


@dataclass(frozen=True)
class Standing:
    """What a page shows for one assignment: its state, label, badge class and time left."""

    state: str
    label: str
    level: str
    left: str  # 「剩余 …」/「已逾期 …」 while open, else ""


def standing(facts: Any, now: datetime) -> Standing:
    """Describe an assignment at `now` for display."""
    current = state(facts, now)
    left = describe_left(facts.due_at, now) if current in OPEN_STATES else ""
    return Standing(current, STATE_LABELS[current], STATE_LEVELS[current], left)
