"""The board's counts, kept per notice and store in the same transaction as the assignments.

The board (培训到人情况), the trainer's home and the manager's glance show, per notice and store,
how many people are done on time, done late, no longer required, and still open — and of those how
many are on leave, within their 48 hours or overdue, which depends on the moment of reading.
Counting the assignments for that costs as much as the organisation is large. So three small tables
hold the counts instead (`NoticeOpenTally`, `NoticeClosedTally`, `NoticeHourTally` in models.py):
an open assignment is counted under its schedule (available_from, due_at), whose state at any
moment follows from deadlines.RULES like the assignment's own; a closed one under its state, which
no longer changes; a completion also under the hour after issue it came in (the board's curve).
Which counts an assignment is part of is one pure rule, `deadlines.tallied`.

Every change to the assignments moves the counts in the same transaction: the service's own
statements say what they changed (publish: `count_new`, withdraw: `cancel_open`, attest: `moved`),
and every change made through the ORM (a person moved, on leave, deactivated; a late roster entry;
the demo data) is caught at flush by the listeners at the end of this module, which read the rows
before and after from the database. `differences()` compares the counts with the assignments
(tests, and `flask --app wsgi lms notices recount --check`); `rebuild()` recounts them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import lru_cache
from typing import Iterable, NamedTuple

from sqlalchemy import bindparam, case, delete, event, func, inspect, literal, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..locks import NOTICE_FAN_OUT, advisory_lock
from . import deadlines
from .models import Notice, NoticeAssignment, NoticeClosedTally, NoticeHourTally, NoticeOpenTally

FIELDS = ("notice_id", "store_id", "available_from", "due_at", "completed_at", "cancelled_at")


class Facts(NamedTuple):
    """What decides where an assignment is counted."""

    notice_id: int
    store_id: int
    available_from: datetime
    due_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None


def facts_of(assignment) -> Facts:
    """The facts of an assignment (an ORM object, a row, or a dict of its columns)."""
    if isinstance(assignment, dict):
        return Facts(*(assignment.get(name) for name in FIELDS))
    return Facts(*(getattr(assignment, name) for name in FIELDS))


# Each table of counts, the attribute of Changes holding its deltas, and the columns of its key.
TABLES = ((NoticeOpenTally, "open", ("notice_id", "store_id", "available_from", "due_at")),
          (NoticeClosedTally, "closed", ("notice_id", "store_id", "state")),
          (NoticeHourTally, "hours", ("notice_id", "hour")))


class Changes:
    """Counts to add and take away, gathered and then written in one statement per table."""

    def __init__(self) -> None:
        self.open: Counter = Counter()  # (notice, store, available_from, due_at) → people
        self.closed: Counter = Counter()  # (notice, store, state) → people
        self.hours: Counter = Counter()  # (notice, hour) → people
        self.last_done: dict[tuple, datetime] = {}  # (notice, store, state) → the latest completion added

    def count(self, facts: Facts, issued_at: datetime, sign: int = 1) -> None:
        """Add (sign 1) or take away (sign −1) one assignment."""
        for kind, first, second in deadlines.tallied(facts, issued_at):
            if kind == "open":
                self.open[(facts.notice_id, facts.store_id, first, second)] += sign
            elif kind == "closed":
                key = (facts.notice_id, facts.store_id, first)
                self.closed[key] += sign
                if sign > 0 and second is not None:
                    self.last_done[key] = max(self.last_done.get(key, second), second)
            else:
                self.hours[(facts.notice_id, first)] += sign

    def write(self, session: Session) -> None:
        """Apply the changes (after the assignments themselves are written)."""
        insert = postgresql.insert if session.connection().dialect.name == "postgresql" else sqlite.insert
        shrunk = False
        for model, name, keys in TABLES:
            rows = [dict(zip(keys, key), people=n) for key, n in sorted(getattr(self, name).items(), key=_order) if n]
            if not rows:
                continue
            shrunk = shrunk or any(row["people"] < 0 for row in rows)
            table = model.__table__
            stmt = insert(table)
            values = {"people": table.c.people + stmt.excluded.people}
            if model is NoticeClosedTally:
                for row in rows:
                    row["last_done"] = self.last_done.get((row["notice_id"], row["store_id"], row["state"]))
                later = or_(table.c.last_done.is_(None), stmt.excluded.last_done > table.c.last_done)
                values["last_done"] = case((later, stmt.excluded.last_done), else_=table.c.last_done)
            # sorted keys: concurrent transactions lock the rows they share in the same order
            session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=values), rows)
        if shrunk:
            self._tidy(session)

    def _tidy(self, session: Session) -> None:
        """Drop emptied rows; a done count that lost someone takes its latest completion afresh."""
        a = NoticeAssignment
        for (notice_id, store_id, state), n in self.closed.items():
            if n < 0 and state in deadlines.DONE_STATES:
                latest = select(func.max(a.completed_at)).where(  # a done state holds at any moment: now() will do
                    a.notice_id == notice_id, a.store_id == store_id, a.in_state(now(), state))
                session.execute(update(NoticeClosedTally).where(
                    NoticeClosedTally.notice_id == notice_id, NoticeClosedTally.store_id == store_id,
                    NoticeClosedTally.state == state).values(last_done=latest.scalar_subquery()))
        notices = {key[0] for _, name, _ in TABLES for key in getattr(self, name)}
        for model, _, _ in TABLES:
            session.execute(delete(model).where(model.notice_id.in_(notices), model.people == 0))


def _order(item: tuple) -> tuple:
    return tuple(str(part) for part in item[0])


def count_new(session: Session, rows: Iterable, issued_at: datetime) -> None:
    """Count assignments just inserted (publish's one statement)."""
    changes = Changes()
    for row in rows:
        changes.count(facts_of(row), issued_at)
    changes.write(session)


def moved(session: Session, before: Facts, after: Facts, issued_at: datetime) -> None:
    """One assignment changed by a statement of its own (attest's claim of the completion)."""
    changes = Changes()
    changes.count(before, issued_at, -1)
    changes.count(after, issued_at)
    changes.write(session)


def cancel_open(session: Session, notice_id: int) -> None:
    """Every open assignment of the notice was cancelled (the notice withdrawn): its open counts,
    whatever their schedule, become cancelled ones."""
    t = NoticeOpenTally
    changes = Changes()
    for store_id, people in session.execute(select(t.store_id, func.sum(t.people)).where(t.notice_id == notice_id)
                                            .group_by(t.store_id)):
        changes.closed[(notice_id, store_id, "cancelled")] += people
    session.execute(delete(t).where(t.notice_id == notice_id))
    changes.write(session)


# Reading -------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def counts(by_store: bool):
    """The kept counts as one SQL subquery of rows (notice_id, store_id, state, people, due, done): an
    open count classified at the moment `at` by the rule (`NoticeOpenTally.state`) with its deadline
    as `due`, a closed one with its latest completion as `done`. Parameters bound when it runs: the
    notices (`notice_ids`), the moment (`at`) and, if `by_store`, the stores (`store_ids`). Built once
    per variant: building it cost several times more than running it."""
    o, c = NoticeOpenTally, NoticeClosedTally
    at, nothing = bindparam("at", type_=UTCDateTime()), literal(None, UTCDateTime())
    notices = bindparam("notice_ids", expanding=True)
    opened = select(o.notice_id, o.store_id, o.state(at).label("state"), o.people.label("people"),
                    o.due_at.label("due"), nothing.label("done")).where(o.notice_id.in_(notices), o.people > 0)
    closed = select(c.notice_id, c.store_id, c.state, c.people, nothing, c.last_done).where(
        c.notice_id.in_(notices), c.people > 0)
    if by_store:
        stores = bindparam("store_ids", expanding=True)
        opened, closed = opened.where(o.store_id.in_(stores)), closed.where(c.store_id.in_(stores))
    return union_all(opened, closed).subquery()


def parameters(notice_ids: list[int], store_ids: list[int] | None, at: datetime) -> dict:
    """The values for `counts(store_ids is not None)`."""
    values = {"notice_ids": list(notice_ids), "at": at}
    if store_ids is not None:
        values["store_ids"] = list(store_ids)
    return values


def completions_by_hour(notice: Notice, store_ids: list[int] | None, at: datetime) -> Counter:
    """How many people completed the notice in each hour after issue: from its tally for every store;
    for some stores (a manager's), from those stores' own assignments, hour by the same rule."""
    if store_ids is None:
        h = NoticeHourTally
        return Counter(dict(db.session.execute(select(h.hour, h.people).where(h.notice_id == notice.id)).all()))
    a = NoticeAssignment
    completed = db.session.scalars(select(a.completed_at).where(
        a.notice_id == notice.id, a.store_id.in_(store_ids), a.in_state(at, *deadlines.DONE_STATES)))
    return Counter(deadlines.completion_hour(moment, notice.issued_at) for moment in completed)


# Checking and rebuilding ---------------------------------------------------------------------------

def recount(session: Session, notice_ids: list[int] | None = None) -> Changes:
    """The counts as the assignments give them (reads every assignment: for checks and repairs)."""
    a = NoticeAssignment
    stmt = select(*(getattr(a, name) for name in FIELDS), Notice.issued_at).join(Notice)
    if notice_ids is not None:
        stmt = stmt.where(a.notice_id.in_(notice_ids))
    changes = Changes()
    for row in session.execute(stmt):
        changes.count(Facts(*row[:6]), row[6])
    return changes


def _stored(session: Session, notice_ids: list[int] | None) -> Changes:
    stored = Changes()
    for model, name, keys in TABLES:
        stmt = select(*(getattr(model, k) for k in keys), model.people).where(model.people != 0)
        if notice_ids is not None:
            stmt = stmt.where(model.notice_id.in_(notice_ids))
        for *key, people in session.execute(stmt):
            getattr(stored, name)[tuple(key)] = people
    c = NoticeClosedTally
    latest = select(c.notice_id, c.store_id, c.state, c.last_done).where(c.last_done.is_not(None))
    if notice_ids is not None:
        latest = latest.where(c.notice_id.in_(notice_ids))
    stored.last_done = {(n, s, st): last for n, s, st, last in session.execute(latest)}
    return stored


KINDS = {"open": "未完成人数", "closed": "已结束人数", "hours": "各小时完成人数", "last_done": "最近完成时间"}


def differences(session: Session, notice_ids: list[int] | None = None) -> list[str]:
    """Where the kept counts differ from the assignments (empty when they agree). Holds the notices'
    lock to the end of the transaction, so no change moves either side while they are read."""
    advisory_lock(NOTICE_FAN_OUT)
    want, have = recount(session, notice_ids), _stored(session, notice_ids)
    problems = []
    for name in ("open", "closed", "hours", "last_done"):
        wanted, held = getattr(want, name), getattr(have, name)
        wanted = {k: v for k, v in wanted.items() if v} if name != "last_done" else wanted
        for key in sorted(set(wanted) | set(held), key=lambda k: tuple(map(str, k))):
            if wanted.get(key) != held.get(key):
                problems.append(f"{KINDS[name]}{key}：应为{wanted.get(key)}，记录为{held.get(key)}")
    return problems


def rebuild(session: Session, notice_ids: list[int] | None = None) -> None:
    """Recount from the assignments, replacing the kept counts (under the notices' lock, as
    `differences`, so a completion meanwhile is neither lost nor counted twice)."""
    advisory_lock(NOTICE_FAN_OUT)
    for model, _, _ in TABLES:
        stmt = delete(model)
        session.execute(stmt if notice_ids is None else stmt.where(model.notice_id.in_(notice_ids)))
    recount(session, notice_ids).write(session)


# Changes made through the ORM ----------------------------------------------------------------------

_BEFORE = "notice_tally.before"


def _touched(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in FIELDS)


def _read(session: Session, ids: list[int], lock: bool = False) -> dict[int, Facts]:
    a = NoticeAssignment
    stmt = select(a.id, *(getattr(a, name) for name in FIELDS)).where(a.id.in_(ids))
    return {row[0]: Facts(*row[1:]) for row in session.execute(stmt.with_for_update() if lock else stmt)}


@event.listens_for(Session, "before_flush")
def _remember_before(session: Session, flush_context, instances) -> None:
    """Read, while the database still holds them, the facts of the assignments about to change, and
    hold those rows until commit (PostgreSQL), so nothing else moves them in between."""
    changed = [o for o in session.dirty if isinstance(o, NoticeAssignment) and _touched(o)]
    deleted = [o for o in session.deleted if isinstance(o, NoticeAssignment)]
    if not changed and not deleted and not any(isinstance(o, NoticeAssignment) for o in session.new):
        return
    before = _read(session, [o.id for o in changed + deleted], lock=True) if changed or deleted else {}
    flush_context.attributes[_BEFORE] = (before, [o.id for o in changed], [o.id for o in deleted])


@event.listens_for(Session, "after_flush")
def _count_after(session: Session, flush_context) -> None:
    """Move the counts of the assignments just written: from their facts before, to their facts as
    the database now holds them (new ones: as inserted)."""
    if _BEFORE not in flush_context.attributes:
        return
    before, changed, deleted = flush_context.attributes.pop(_BEFORE)
    after = _read(session, changed) if changed else {}
    pairs = [(before.get(i), None) for i in deleted]
    pairs += [(None, facts_of(o)) for o in session.new if isinstance(o, NoticeAssignment)]
    pairs += [(before.get(i), after.get(i)) for i in changed]
    notices = {f.notice_id for pair in pairs for f in pair if f is not None}
    if not notices:
        return
    issued = dict(session.execute(select(Notice.id, Notice.issued_at).where(Notice.id.in_(notices))).all())
    changes = Changes()
    for old, new in pairs:
        if old is not None:
            changes.count(old, issued[old.notice_id], -1)
        if new is not None:
            changes.count(new, issued[new.notice_id])
    changes.write(session)
