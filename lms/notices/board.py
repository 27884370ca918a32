"""The compliance board (培训到人情况): per notice and store, in a fixed number of queries.

Every figure comes from the counts kept per notice and store (lms/notices/tally.py), classified by
deadlines.RULES at the moment of reading, so the board reads a few rows per store however many
people a notice reaches; only the names that block 100 % are read from the page's assignments.
"休假/未到岗" (on_leave) are people whose 48 hours have not started yet (on leave now, or joining
later); "未到期" (pending) are those whose window is running; "不再要求" (cancelled) are people
whose assignment was cancelled: the notice was withdrawn, or they left its scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Float, Integer, bindparam, case, cast, func, literal, select, true
from sqlalchemy.orm import aliased

from ..accounts.models import Store, User
from ..clock import LOCAL_TZ, now
from ..dbtypes import UTCDateTime
from ..exports import Table
from ..extensions import core_rows, db
from . import tally
from .deadlines import DONE_STATES, OPEN_STATES, STATES, WINDOW, describe_left, duration_text
from .models import Notice, NoticeAssignment

BLOCKING_NAMES = 6  # names shown per store; the rest as a count
STORES_PER_PAGE = 50  # store rows per page of the board, the most urgent first
MAX_PAGE = 100_000  # no organisation has this many pages of stores


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


@lru_cache(maxsize=None)
def _blocking_statement(dialect: str):
    """The first `names` people still to learn in each of some stores (`store_ids`), by deadline
    then by when they joined the system, for a notice (`notice_id`) at a moment (`at`); built once
    per database kind. Per store a subquery walks the index on (notice, store, deadline, person)
    and stops at the `names`-th open one, so a page costs the same however large its stores or the
    organisation: a LATERAL join on PostgreSQL, whose planner would otherwise test every assignment
    against each store's subquery; on SQLite, which has no LATERAL, the same subquery as `IN (…)`."""
    a, b = NoticeAssignment, aliased(NoticeAssignment)
    first = (select(b.id, b.user_id, b.due_at).where(
        b.notice_id == bindparam("notice_id"), b.store_id == Store.id,
        b.in_state(bindparam("at", type_=UTCDateTime()), *OPEN_STATES))
        .order_by(b.due_at, b.user_id).limit(bindparam("names", type_=Integer)))
    stores = Store.id.in_(bindparam("store_ids", expanding=True))
    if dialect == "postgresql":
        first = first.lateral()
        return (select(Store.id, User.name).select_from(Store).join(first, true())
                .join(User, User.id == first.c.user_id).where(stores)
                .order_by(Store.id, first.c.due_at, first.c.user_id))
    ids = first.with_only_columns(b.id).correlate(Store)
    return (select(Store.id, User.name).select_from(Store).join(a, a.id.in_(ids)).join(User, User.id == a.user_id)
            .where(stores).order_by(Store.id, a.due_at, a.user_id))


def _blocking(notice_id: int, store_ids: list[int], at: datetime) -> dict[int, list[str]]:
    statement = _blocking_statement(db.session.get_bind().dialect.name)
    found = core_rows(statement, {"notice_id": notice_id, "store_ids": store_ids, "at": at, "names": BLOCKING_NAMES})
    names: dict[int, list[str]] = {}
    for store_id, name in found:
        names.setdefault(store_id, []).append(name)
    return names


def _timeline(notice: Notice, store_ids: list[int] | None, at: datetime, step: int = 4) -> list[tuple[int, int]]:
    """Completions counted every `step` hours after issue, up to the window's end or now if earlier."""
    hours = WINDOW // timedelta(hours=1)
    elapsed = int((at - notice.issued_at).total_seconds() // 3600)
    marks = list(range(0, max(0, min(hours, elapsed)) + 1, step))
    by_hour = tally.completions_by_hour(notice, store_ids, at)
    return [(h, sum(n for hour, n in by_hour.items() if hour <= h)) for h in marks]


@lru_cache(maxsize=None)
def _by_notice_and_state(by_store: bool):
    """(notice, state, people, earliest deadline, latest completion) of the kept counts, grouped in
    SQL (statement built once; values from tally.parameters)."""
    counts = tally.counts(by_store)
    return select(counts.c.notice_id, counts.c.state, func.sum(counts.c.people), func.min(counts.c.due),
                  func.max(counts.c.done)).group_by(counts.c.notice_id, counts.c.state)


@lru_cache(maxsize=None)
def _store_page(by_store: bool):
    """One page of stores, the most urgent first — most overdue, then the smallest share done
    (StoreRow.percent, unrounded), then the store's code — ordered and paged in SQL (the page bound
    as `limit` and `offset`), each row also carrying what is over every store: how many stores, and
    the totals (`all_<state>`, `all_next_due`, `all_last_done`). One statement, built once.

    The totals are one row aggregated from the stores' rows (a CTE both read, which SQLite and
    PostgreSQL work out once) and joined to each. As window functions over every store (`OVER ()`)
    they cost a third more: on SQLite at 400 stores the statement ran 24.2 M instructions against
    18.3 M (bench/README.md, ninth round)."""
    counts = tally.counts(by_store)
    # an aggregate FILTER runs its step for its state's rows only (8 % fewer instructions than
    # sum(CASE …) on SQLite at 400 stores)
    people = {state: func.coalesce(func.sum(counts.c.people).filter(counts.c.state == state), 0).label(state)
              for state in STATES}
    per_store = select(counts.c.store_id, *people.values(), func.min(counts.c.due).label("next_due"),
                       func.max(counts.c.done).label("last_done")).group_by(counts.c.store_id).cte("per_store")
    totals = select(func.count().label("stores"), func.min(per_store.c.next_due).label("all_next_due"),
                    func.max(per_store.c.last_done).label("all_last_done"),
                    *(func.sum(per_store.c[s]).label(f"all_{s}") for s in STATES)).subquery("totals")
    done = sum((per_store.c[s] for s in DONE_STATES), literal(0))
    in_scope = done + sum((per_store.c[s] for s in OPEN_STATES), literal(0))
    share = case((in_scope == 0, 1.0), else_=cast(done, Float) / in_scope)
    return (select(per_store, Store.code, Store.name, *totals.c).select_from(per_store)
            .join(Store, Store.id == per_store.c.store_id).join(totals, true())
            .order_by(per_store.c.overdue.desc(), share, Store.code)
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))


def _figures(row, prefix: str = "") -> dict:
    """A StoreRow's counts and moments from a row of `_store_page` (its own, or with prefix "all_"
    those over every store)."""
    return {**{state: int(row[prefix + state]) for state in STATES}, "next_due": row[prefix + "next_due"],
            "last_done": row[prefix + "last_done"]}


def board(notice: Notice, store_ids: list[int] | None = None, page: int = 1) -> Board:
    """Build the board of a notice, limited to some stores (None: every store): the totals and the
    curve over all of them, and one page of store rows, the most urgent first; the names that block
    100 % are looked up for that page only. Everything but those names comes from the kept counts."""
    at = now()
    values = tally.parameters([notice.id], store_ids, at)

    def rows_of(number: int) -> list:
        return core_rows(_store_page(store_ids is not None), {
            **values, "limit": STORES_PER_PAGE, "offset": (number - 1) * STORES_PER_PAGE}).mappings().all()

    page = min(max(1, page), MAX_PAGE)  # a made-up number must not overflow the statement's OFFSET
    rows = rows_of(page)
    if not rows and page > 1:  # past the last page (an old link): show the last one
        first = rows_of(1)
        page = max(1, -(-first[0]["stores"] // STORES_PER_PAGE)) if first else 1
        rows = rows_of(page) if page > 1 else first
    stores = rows[0]["stores"] if rows else 0
    total = StoreRow(0, name="合计", **_figures(rows[0], "all_")) if rows else StoreRow(0, name="合计")
    shown = [StoreRow(r["store_id"], r["code"], r["name"], **_figures(r)) for r in rows]
    if shown:
        names = _blocking(notice.id, [r.store_id for r in shown], at)
        for row in shown:
            row.blocking = names.get(row.store_id, [])
    for row in (*shown, total):
        row.describe(notice.issued_at, at)
    pages = max(1, -(-stores // STORES_PER_PAGE))
    return Board(notice, shown, total, _timeline(notice, store_ids, at), page, pages, stores)


def store_summary(store_id: int | None, days: int = 30) -> list[tuple[Notice, StoreRow]]:
    """Each published notice of the last `days` days with its figures, newest first (two queries):
    for one store (the manager's glance) or, with None, for every store (the trainer's home)."""
    at = now()
    notices = {n.id: n for n in db.session.scalars(select(Notice).where(
        Notice.issued_at >= at - timedelta(days=days), Notice.out_at(at), Notice.withdrawn_at.is_(None)))}
    if not notices:
        return []
    values = tally.parameters(list(notices), [store_id] if store_id is not None else None, at)
    rows: dict[int, StoreRow] = {}
    grouped = core_rows(_by_notice_and_state(store_id is not None), values)
    for notice_id, state, people, next_due, last_done in grouped:
        rows.setdefault(notice_id, StoreRow(store_id or 0)).add(state, int(people), next_due, last_done)
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
