"""New-business notices (新业务通知), who must learn them (培训到人), reminders and messages."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, and_, case, false, literal, null, or_
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db
from . import deadlines


class Notice(db.Model):
    """A new-business notice: its text is the training, optionally with a module and a check."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    module_id: Mapped[int | None] = mapped_column(ForeignKey("module.id"))
    check_category: Mapped[str | None] = mapped_column(String(200))  # a bank category for the short check
    store_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # empty: every store
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every position
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")

    module = relationship("Module")
    publisher = relationship("User", foreign_keys=[published_by])

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    @hybrid_method
    def out_at(self, at: datetime) -> bool:
        """Tell whether the notice is published at `at` (a scheduled one is not, before its issue time)."""
        return self.issued_at <= at

    @out_at.expression
    def out_at(cls, at: datetime):
        """The same as SQL."""
        return cls.issued_at <= at

    def covers(self, store_id: int | None, position: str | None) -> bool:
        """Tell whether a person of this store and position is in the notice's scope."""
        return (store_id is not None and (not self.store_ids or store_id in self.store_ids)
                and (not self.positions or position in self.positions))


class NoticeAssignment(db.Model):
    """One person's duty to learn one notice within 48 hours of being in the store."""

    __tablename__ = "notice_assignment"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),
                      Index("ix_notice_assignment_open", "user_id", "completed_at"),
                      Index("ix_notice_assignment_store", "notice_id", "store_id", "due_at", "user_id"))  # a board page

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)  # issued_at, or when they came into scope later
    available_from: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    studied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 「已学习并掌握」, set once
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # left the scope (deactivated, moved)
    cancel_reason: Mapped[str] = mapped_column(String(100), default="")

    notice: Mapped[Notice] = relationship()
    user = relationship("User")

    # The 48-hour rule, in Python and in SQL, both from deadlines.RULES.
    @hybrid_method
    def state(self, at: datetime) -> str:
        """This assignment's state at `at` (done_on_time, done_late, cancelled, on_leave, pending, overdue)."""
        return deadlines.state(self, at)

    @state.expression
    def state(cls, at: datetime):
        """The state as a SQL CASE expression (the same table of conditions)."""
        return case(*((_conditions(cls, name, at), name) for name in deadlines.STATES))

    @hybrid_method
    def in_state(self, at: datetime, *states: str) -> bool:
        """Tell whether the assignment is in one of `states` at `at`."""
        return deadlines.state(self, at) in states

    @in_state.expression
    def in_state(cls, at: datetime, *states: str):
        """SQL filter: the assignment meets the row of one of `states` (plain comparisons, index-friendly)."""
        return or_(false(), *(_conditions(cls, name, at) for name in states))

    @hybrid_method
    def reminder_due(self, kind: str, at: datetime) -> bool:
        """Tell whether the `kind` reminder of this open assignment has come at `at`."""
        return deadlines.reminder_due(kind, self, at)

    @reminder_due.expression
    def reminder_due(cls, kind: str, at: datetime):
        """SQL filter for open assignments whose `kind` reminder has come."""
        reminder = deadlines.REMINDERS[kind]
        return and_(cls.in_state(at, *deadlines.OPEN_STATES), _sql(cls, reminder.when, at + reminder.lead))

    def standing(self, at: datetime) -> deadlines.Standing:
        """State, label, badge class and time left, for a page."""
        return deadlines.standing(self, at)


class NoticeOpenTally(db.Model):
    """How many of a notice's assignments in a store are still open with the same schedule.

    Maintained in the same transaction as every change to the assignments (`lms/notices/tally.py`), so
    the board reads a few rows per store instead of every person. The state of the row at any moment
    (休假/未到岗, 未到期, 已逾期) follows from its two moments by deadlines.RULES, like an assignment's.
    """

    __tablename__ = "notice_open_tally"
    __table_args__ = (UniqueConstraint("notice_id", "store_id", "available_from", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    available_from: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    people: Mapped[int] = mapped_column(default=0)

    @classmethod
    def state(cls, at: datetime):
        """The state of the row's people at `at` as SQL: the rows of deadlines.RULES an open
        assignment can meet, on the row's two moments (so it classifies exactly as its people would)."""
        facts = SimpleNamespace(available_from=cls.available_from, due_at=cls.due_at, completed_at=null(),
                                cancelled_at=null())
        return case(*((_conditions(facts, name, at), name) for name in deadlines.OPEN_STATES))


class NoticeClosedTally(db.Model):
    """How many of a notice's assignments in a store are done on time, done late or cancelled (these
    states do not change with time), with the latest completion among the done ones."""

    __tablename__ = "notice_closed_tally"
    __table_args__ = (UniqueConstraint("notice_id", "store_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    state: Mapped[str] = mapped_column(String(20))  # done_on_time | done_late | cancelled
    people: Mapped[int] = mapped_column(default=0)
    last_done: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticeHourTally(db.Model):
    """How many people completed a notice within each hour after its issue (hour h: more than h−1 and
    at most h hours after), over every store: the board's curve."""

    __tablename__ = "notice_hour_tally"
    __table_args__ = (UniqueConstraint("notice_id", "hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"))
    hour: Mapped[int] = mapped_column()
    people: Mapped[int] = mapped_column(default=0)


def _sql(cls, condition: deadlines.Condition, at: datetime):
    """One condition of deadlines.RULES as SQL on the columns of `cls` (NoticeAssignment's, or a
    tally's) named like the moments (`at`: a moment, or a bound parameter standing for one in a
    statement built once)."""
    now = at if isinstance(at, ClauseElement) else literal(at, UTCDateTime())
    return deadlines.check(condition, lambda name: now if name == "now" else getattr(cls, name),
                           lambda column, present: column.is_not(None) if present else column.is_(None))


def _conditions(cls, state: str, at: datetime):
    return and_(*(_sql(cls, c, at) for c in deadlines.RULES[state]))


class Outbox(db.Model):
    """A reminder to deliver, once: the unique key makes a second sweep's insert fail.

    A notice's reminder names its notice (and assignment); a certificate's expiry reminder, queued by
    the certification area through `reminders.queue`, names its certificate instead.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    # person-24h, person-6h, manager-6h, manager-due, trainer-due; cert-60d … (certification.status.EXPIRY_REMINDERS)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))  # inapp | email | webhook
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("notice_assignment.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


class Message(db.Model):
    """An in-app message (站内消息)."""

    __table_args__ = (Index("ix_message_inbox", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
