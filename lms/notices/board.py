"""The compliance board (培训到人情况): per notice and store, in a fixed number of queries.

Every figure comes from SQL grouped by the assignment's state (`NoticeAssignment.state`, built
from deadlines.RULES), so the board costs the same whether a notice reaches 20 people or 20,000.
"休假/未到岗" (on_leave) are people whose 48 hours have not started yet (on leave now, or joining
later); "未到期" (pending) are those whose window is running; "不再要求" (cancelled) are people
whose assignment was cancelled: the notice was withdrawn, or they left its scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from ..accounts.models import Store, User
from ..clock import LOCAL_TZ, now
from ..exports import Table
from ..extensions import db
from .deadlines import DONE_STATES, OPEN_STATES, WINDOW, describe_left, duration_text
from .models import Notice, NoticeAssignment

BLOCKING_NAMES = 6  # names shown per store; the rest as a count
STORES_PER_PAGE = 50  # store rows per page of the board, the most urgent first


@dataclass
class StoreRow:
    store_id: int
    code: str = ""
    name: str = ""
    done_on_time: int = 0
    done_late: int = 0
    pending: int = 0
    overdue: int = 0
    on_leave: int = 0
    cancelled: int = 0
    next_due: datetime | None = None
    last_done: datetime | None = None
    next_left: str = ""  # time left to the nearest deadline, in words
    took: str = ""  # issue to the last completion, in words
    blocking: list[str] = field(default_factory=list)

    @property
    def in_scope(self) -> int:
        return self.done + self.still_open

    @property
    def done(self) -> int:
        return self.done_on_time + self.done_late

    @property
    def still_open(self) -> int:
        return self.on_leave + self.pending + self.overdue

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.in_scope) if self.in_scope else 100

    @property
    def complete(self) -> bool:
        return self.in_scope > 0 and self.done == self.in_scope

    def add(self, state: str, count: int, next_due: datetime | None, last_done: datetime | None) -> None:
        """Count `count` assignments in `state`, with their earliest deadline and latest completion."""
        setattr(self, state, getattr(self, state) + count)
        if state in OPEN_STATES and next_due and (self.next_due is None or next_due < self.next_due):
            self.next_due = next_due
        if state in DONE_STATES and last_done and (self.last_done is None or last_done > self.last_done):
            self.last_done = last_done

    def describe(self, issued_at: datetime, at: datetime) -> None:
        """Put the row's times into words (time left, or how long 100 % took)."""
        self.next_left = describe_left(self.next_due, at) if self.next_due else ""
        self.took = duration_text(self.last_done - issued_at) if self.complete and self.last_done else ""


@dataclass
class Board:
    notice: Notice
    rows: list[StoreRow]  # this page's stores, the most urgent first
    total: StoreRow
    timeline: list[tuple[int, int]]  # (hour since issue, completions by then)
    page: int = 1
    pages: int = 1
    stores: int = 0  # stores with anyone in scope, on every page


def _by_state(key, where, at: datetime):
    """(key, state, count, earliest due, latest completion) of the assignments matching `where`."""
    a = NoticeAssignment
    rows = select(key.label("key"), a.state(at).label("state"), a.due_at, a.completed_at).where(*where).subquery()
    return db.session.execute(select(rows.c.key, rows.c.state, func.count(), func.min(rows.c.due_at),
                                     func.max(rows.c.completed_at)).group_by(rows.c.key, rows.c.state)).all()


def _blocking(notice_id: int, store_ids: list[int] | None, at: datetime) -> dict[int, list[str]]:
    a = NoticeAssignment
    ranked = select(
        a.store_id.label("store_id"), User.name.label("name"), a.due_at.label("due_at"),
        func.row_number().over(partition_by=a.store_id, order_by=(a.due_at, User.emp_no)).label("n"),
    ).join(User, User.id == a.user_id).where(a.notice_id == notice_id, a.in_state(at, *OPEN_STATES))
    if store_ids is not None:
        ranked = ranked.where(a.store_id.in_(store_ids))
    ranked = ranked.subquery()
    rows = db.session.execute(select(ranked.c.store_id, ranked.c.name).where(ranked.c.n <= BLOCKING_NAMES)
                              .order_by(ranked.c.store_id, ranked.c.n)).all()
    names: dict[int, list[str]] = {}
    for store_id, name in rows:
        names.setdefault(store_id, []).append(name)
    return names


def _timeline(notice: Notice, store_ids: list[int] | None, at: datetime, step: int = 4) -> list[tuple[int, int]]:
    """Completions counted every `step` hours after issue, up to the window's end or now if earlier."""
    a = NoticeAssignment
    hours = WINDOW // timedelta(hours=1)
    elapsed = int((at - notice.issued_at).total_seconds() // 3600)
    marks = list(range(0, max(0, min(hours, elapsed)) + 1, step))
    columns = [func.sum(case((a.completed_at <= notice.issued_at + timedelta(hours=h), 1), else_=0)) for h in marks]
    stmt = select(*columns).where(a.notice_id == notice.id, a.in_state(at, *DONE_STATES))
    if store_ids is not None:
        stmt = stmt.where(a.store_id.in_(store_ids))
    counts = db.session.execute(stmt).one()
    return [(h, int(c or 0)) for h, c in zip(marks, counts)]


def board(notice: Notice, store_ids: list[int] | None = None, page: int = 1) -> Board:
    """Build the board of a notice, limited to some stores (None: every store): the totals and the
    curve over all of them, and one page of store rows, the most urgent first (most overdue, then
    the lowest share done); the names that block 100 % are looked up for that page only."""
    at = now()
    a = NoticeAssignment
    where = [a.notice_id == notice.id] + ([a.store_id.in_(store_ids)] if store_ids is not None else [])
    rows: dict[int, StoreRow] = {}
    total = StoreRow(0, name="合计")
    for store_id, state, count, next_due, last_done in _by_state(a.store_id, where, at):
        rows.setdefault(store_id, StoreRow(store_id)).add(state, count, next_due, last_done)
        total.add(state, count, next_due, last_done)
    for store_id, code, name in db.session.execute(select(Store.id, Store.code, Store.name)
                                                   .where(Store.id.in_(list(rows)))):
        rows[store_id].code, rows[store_id].name = code, name
    ordered = sorted(rows.values(), key=lambda r: (-r.overdue, r.percent, r.code))
    pages = max(1, -(-len(ordered) // STORES_PER_PAGE))
    page = min(max(1, page), pages)
    shown = ordered[(page - 1) * STORES_PER_PAGE:page * STORES_PER_PAGE]
    if shown:
        for store_id, names in _blocking(notice.id, [r.store_id for r in shown], at).items():
            rows[store_id].blocking = names
    for row in (*shown, total):
        row.describe(notice.issued_at, at)
    return Board(notice, shown, total, _timeline(notice, store_ids, at), page, pages, len(ordered))


def store_summary(store_id: int | None, days: int = 30) -> list[tuple[Notice, StoreRow]]:
    """Each published notice of the last `days` days with its figures, newest first (two queries):
    for one store (the manager's glance) or, with None, for every store (the trainer's home)."""
    at = now()
    notices = {n.id: n for n in db.session.scalars(select(Notice).where(
        Notice.issued_at >= at - timedelta(days=days), Notice.out_at(at), Notice.withdrawn_at.is_(None)))}
    if not notices:
        return []
    a = NoticeAssignment
    where = [a.notice_id.in_(list(notices))] + ([a.store_id == store_id] if store_id is not None else [])
    rows: dict[int, StoreRow] = {}
    for notice_id, state, count, next_due, last_done in _by_state(a.notice_id, where, at):
        rows.setdefault(notice_id, StoreRow(store_id or 0)).add(state, count, next_due, last_done)
    result = []
    for notice_id, row in rows.items():
        if row.in_scope:  # everyone here left its scope: nothing for this store to do
            row.describe(notices[notice_id].issued_at, at)
            result.append((notices[notice_id], row))
    result.sort(key=lambda item: item[0].issued_at, reverse=True)
    return result


def sign_in_rows(notice: Notice, store_ids: list[int] | None = None) -> list[tuple]:
    """The sign-in sheet (参培签到表): 工号, 姓名, 岗位, 营业厅, 完成时间, and the state of each person."""
    a = NoticeAssignment
    at = now()
    stmt = (select(User.emp_no, User.name, User.position, Store.name, a.completed_at, a.state(at))
            .join(User, User.id == a.user_id).join(Store, Store.id == a.store_id)
            .where(a.notice_id == notice.id, a.in_state(at, *DONE_STATES, *OPEN_STATES))
            .order_by(Store.code, User.emp_no))
    if store_ids is not None:
        stmt = stmt.where(a.store_id.in_(store_ids))
    return db.session.execute(stmt).all()


SIGN_IN_HEADER = ("工号", "姓名", "岗位", "营业厅", "完成时间", "是否按时")
ON_TIME_CELL = {"done_on_time": "是", "done_late": "否（逾期）", "overdue": "未完成（已逾期）"}  # else 未完成


def sign_in_table(notice: Notice, rows: list[tuple]) -> Table:
    """The sign-in sheet as a downloadable table (lms/exports.py writes it as XLSX or CSV)."""
    def cells(row) -> list[str]:
        emp_no, name, position, store, completed, state = row
        when = completed.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if completed else ""
        return [emp_no, name, position or "", store, when, ON_TIME_CELL.get(state, "未完成")]

    return Table("参培签到表", SIGN_IN_HEADER, [cells(r) for r in rows],
                 title=[f"参培签到表：{notice.title}（发布{notice.issued_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}）"],
                 widths=(12, 10, 12, 20, 18, 16))
