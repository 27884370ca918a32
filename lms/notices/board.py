"""The compliance board (培训到人情况): per notice and store, in a fixed number of queries.

Every figure comes from grouped SQL, so the board costs the same whether a notice reaches 20
people or 20,000. "休假/未到岗" are people whose 48 hours have not started yet (on leave now, or
joining later); "未到期" are those whose window is running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from ..accounts.models import Store, User
from ..clock import now
from ..extensions import db
from .models import Notice, NoticeAssignment

BLOCKING_NAMES = 6  # names shown per store; the rest as a count


@dataclass
class StoreRow:
    store_id: int
    code: str = ""
    name: str = ""
    in_scope: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0
    overdue: int = 0
    not_started: int = 0
    next_due: datetime | None = None
    last_done: datetime | None = None
    blocking: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.in_scope) if self.in_scope else 100

    @property
    def complete(self) -> bool:
        return self.in_scope > 0 and self.done == self.in_scope


@dataclass
class Board:
    notice: Notice
    rows: list[StoreRow]
    total: StoreRow
    timeline: list[tuple[int, int]]  # (hour since issue, completions by then)


def _aggregates(notice_id: int, store_ids: list[int] | None, at: datetime):
    a = NoticeAssignment
    open_ = a.completed_at.is_(None)
    stmt = select(
        a.store_id,
        func.count(),
        func.sum(case(((a.completed_at.is_not(None)) & (a.completed_at <= a.due_at), 1), else_=0)),
        func.sum(case((a.completed_at > a.due_at, 1), else_=0)),
        func.sum(case((open_ & (a.due_at > at) & (a.available_from <= at), 1), else_=0)),
        func.sum(case((open_ & (a.due_at <= at), 1), else_=0)),
        func.sum(case((open_ & (a.available_from > at), 1), else_=0)),
        func.min(case((open_, a.due_at))),
        func.max(a.completed_at),
    ).where(a.notice_id == notice_id, a.cancelled_at.is_(None)).group_by(a.store_id)
    if store_ids is not None:
        stmt = stmt.where(a.store_id.in_(store_ids))
    return db.session.execute(stmt).all()


def _blocking(notice_id: int, store_ids: list[int] | None) -> dict[int, list[str]]:
    a = NoticeAssignment
    ranked = select(
        a.store_id.label("store_id"), User.name.label("name"), a.due_at.label("due_at"),
        func.row_number().over(partition_by=a.store_id, order_by=(a.due_at, User.emp_no)).label("n"),
    ).join(User, User.id == a.user_id).where(a.notice_id == notice_id, a.cancelled_at.is_(None),
                                            a.completed_at.is_(None))
    if store_ids is not None:
        ranked = ranked.where(a.store_id.in_(store_ids))
    ranked = ranked.subquery()
    rows = db.session.execute(select(ranked.c.store_id, ranked.c.name).where(ranked.c.n <= BLOCKING_NAMES)
                              .order_by(ranked.c.store_id, ranked.c.n)).all()
    names: dict[int, list[str]] = {}
    for store_id, name in rows:
        names.setdefault(store_id, []).append(name)
    return names


def _timeline(notice: Notice, store_ids: list[int] | None, hours: int = 48, step: int = 4) -> list[tuple[int, int]]:
    """Completions counted every `step` hours after issue, up to 48 hours or now if earlier."""
    a = NoticeAssignment
    elapsed = int((now() - notice.issued_at).total_seconds() // 3600)
    marks = list(range(0, max(0, min(hours, elapsed)) + 1, step))
    columns = [func.sum(case((a.completed_at <= notice.issued_at + timedelta(hours=h), 1), else_=0)) for h in marks]
    stmt = select(*columns).where(a.notice_id == notice.id, a.cancelled_at.is_(None))
    if store_ids is not None:
        stmt = stmt.where(a.store_id.in_(store_ids))
    counts = db.session.execute(stmt).one()
    return [(h, int(c or 0)) for h, c in zip(marks, counts)]


def board(notice: Notice, store_ids: list[int] | None = None) -> Board:
    """Build the board of a notice, limited to some stores (None: every store)."""
    at = now()
    rows: dict[int, StoreRow] = {}
    for store_id, in_scope, on_time, late, pending, overdue, not_started, next_due, last_done in _aggregates(
            notice.id, store_ids, at):
        rows[store_id] = StoreRow(store_id, in_scope=in_scope, on_time=int(on_time or 0), late=int(late or 0),
                                  pending=int(pending or 0), overdue=int(overdue or 0),
                                  not_started=int(not_started or 0), next_due=next_due, last_done=last_done)
    for store in db.session.scalars(select(Store).where(Store.id.in_(list(rows)))):
        rows[store.id].code, rows[store.id].name = store.code, store.name
    for store_id, names in _blocking(notice.id, store_ids).items():
        rows[store_id].blocking = names
    total = StoreRow(0, name="合计")
    for row in rows.values():
        for attr in ("in_scope", "on_time", "late", "pending", "overdue", "not_started"):
            setattr(total, attr, getattr(total, attr) + getattr(row, attr))
        if row.next_due and (total.next_due is None or row.next_due < total.next_due):
            total.next_due = row.next_due
        if row.last_done and (total.last_done is None or row.last_done > total.last_done):
            total.last_done = row.last_done
    ordered = sorted(rows.values(), key=lambda r: (-r.overdue, r.percent, r.code))
    return Board(notice, ordered, total, _timeline(notice, store_ids))


def store_summary(store_id: int, days: int = 30) -> list[tuple[Notice, StoreRow]]:
    """The manager's glance: each recent notice's figures for one store (two queries)."""
    since = now() - timedelta(days=days)
    notices = {n.id: n for n in db.session.scalars(select(Notice).where(
        Notice.issued_at >= since, Notice.issued_at <= now(), Notice.withdrawn_at.is_(None))
        .order_by(Notice.issued_at.desc()))}
    if not notices:
        return []
    at = now()
    a = NoticeAssignment
    open_ = a.completed_at.is_(None)
    result = []
    for notice_id, in_scope, done, overdue, next_due in db.session.execute(
            select(a.notice_id, func.count(), func.sum(case((a.completed_at.is_not(None), 1), else_=0)),
                   func.sum(case((open_ & (a.due_at <= at), 1), else_=0)), func.min(case((open_, a.due_at))))
            .where(a.store_id == store_id, a.cancelled_at.is_(None), a.notice_id.in_(list(notices)))
            .group_by(a.notice_id)):
        row = StoreRow(store_id, in_scope=in_scope, on_time=int(done or 0), overdue=int(overdue or 0), next_due=next_due)
        result.append((notices[notice_id], row))
    result.sort(key=lambda item: item[0].issued_at, reverse=True)
    return result


def sign_in_rows(notice: Notice, store_ids: list[int] | None = None) -> list[tuple]:
    """The sign-in sheet (参培签到表): 工号, 姓名, 岗位, 营业厅, 完成时间, 是否按时."""
    a = NoticeAssignment
    stmt = (select(User.emp_no, User.name, User.position, Store.name, a.completed_at, a.due_at)
            .join(User, User.id == a.user_id).join(Store, Store.id == a.store_id)
            .where(a.notice_id == notice.id, a.cancelled_at.is_(None)).order_by(Store.code, User.emp_no))
    if store_ids is not None:
        stmt = stmt.where(a.store_id.in_(store_ids))
    return db.session.execute(stmt).all()
