"""The board's kept counts agree with the assignments, whatever happens to the people and notices.

A seeded random history — notices published to some stores and positions (back-dated, scheduled),
people hired, moved, given another position, on leave and back, deactivated and reactivated,
completions through 「已学习并掌握」 and written directly, withdrawals, time passing — is played
through the same service calls the pages use. After every step the kept counts equal a recount of
the assignments, and the board (rows, totals, curve) equals the assignments grouped by their state
in SQL (`NoticeAssignment.state`, the rule's own CASE), for a trainer and for one store.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Leave, User
from lms.accounts.service import PersonData, add_leave, create_person, remove_leave, set_active, update_person
from lms.errors import DomainError
from lms.extensions import db
from lms.notices import tally
from lms.notices.board import BLOCKING_NAMES, board
from lms.notices.deadlines import DONE_STATES, OPEN_STATES, STATES
from lms.notices.models import Notice, NoticeAssignment
from lms.notices.service import NoticeData, attest, mark_read, publish, withdraw

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
POSITIONS = ("综合受理", "库管", "前台销售")


def _direct(notice: Notice, store_ids: list[int] | None, at: datetime) -> dict:
    """The board's figures counted from the assignments themselves, grouped in SQL by their state."""
    a = NoticeAssignment
    rows = select(a.store_id, a.state(at).label("state"), a.due_at, a.completed_at).where(a.notice_id == notice.id)
    if store_ids is not None:
        rows = rows.where(a.store_id.in_(store_ids))
    rows = rows.subquery()  # grouped outside: PostgreSQL groups by the CASE's name only there
    figures: dict = {}
    for store_id, state, count, due, done in db.session.execute(
            select(rows.c.store_id, rows.c.state, func.count(), func.min(rows.c.due_at), func.max(rows.c.completed_at))
            .group_by(rows.c.store_id, rows.c.state)):
        row = figures.setdefault(store_id, {s: 0 for s in STATES} | {"next_due": None, "last_done": None})
        row[state] = count
        if state in OPEN_STATES and (row["next_due"] is None or due < row["next_due"]):
            row["next_due"] = due
        if state in DONE_STATES and (row["last_done"] is None or done > row["last_done"]):
            row["last_done"] = done
    figures = {k: v for k, v in figures.items() if sum(v[s] for s in STATES)}
    completed = db.session.scalars(select(a.completed_at).where(
        a.notice_id == notice.id, a.completed_at.is_not(None),
        *([a.store_id.in_(store_ids)] if store_ids is not None else []))).all()
    names: dict = {}
    for store_id, name in db.session.execute(
            select(a.store_id, User.name).join(User, User.id == a.user_id).where(
                a.notice_id == notice.id, a.in_state(at, *OPEN_STATES),
                *([a.store_id.in_(store_ids)] if store_ids is not None else [])).order_by(a.due_at, a.user_id)):
        names.setdefault(store_id, []).append(name)
    return {"rows": figures, "completed": completed,
            "blocking": {s: n[:BLOCKING_NAMES] for s, n in names.items()}}


def _shown(notice: Notice, store_ids: list[int] | None, at: datetime) -> dict:
    shown = board(notice, store_ids, page=1)
    assert shown.pages == 1
    rows = {r.store_id: {s: getattr(r, s) for s in STATES} | {"next_due": r.next_due, "last_done": r.last_done}
            for r in shown.rows}
    blocking = {r.store_id: r.blocking for r in shown.rows if r.blocking}
    return {"rows": rows, "timeline": shown.timeline, "total": shown.total, "blocking": blocking}


def _agree(notice: Notice, store_ids: list[int] | None, at: datetime) -> None:
    shown, direct = _shown(notice, store_ids, at), _direct(notice, store_ids, at)
    assert shown["rows"] == direct["rows"]
    assert shown["blocking"] == direct["blocking"]  # the first names still open, by deadline, per store
    for state in STATES:
        assert getattr(shown["total"], state) == sum(r[state] for r in direct["rows"].values())
    for hour, count in shown["timeline"]:
        assert count == sum(1 for c in direct["completed"] if c <= notice.issued_at + timedelta(hours=hour))


@pytest.mark.parametrize("seed", range(6))
def test_kept_counts_follow_every_change(app, factory, frozen, seed):
    rng = random.Random(seed)
    at = frozen(T0)
    stores = [factory.store() for _ in range(3)]
    admin_id = factory.person("admin").id
    trainer_id = factory.person("trainer", None, "培训").id
    for n in range(24):  # some stores hold more than the board names
        factory.person("staff", rng.choice(stores), rng.choice(POSITIONS))
    steps = []
    with app.app_context():
        admin = db.session.get(User, admin_id)
        for step in range(45):
            kind = rng.choice(["publish", "publish", "hire", "move", "position", "active", "leave", "unleave",
                               "attest", "attest", "attest", "direct", "withdraw", "time", "time"])
            people = db.session.scalars(select(User).where(User.role == "staff").order_by(User.id)).all()
            person = rng.choice(people)
            try:
                if kind == "publish":
                    scope = rng.sample(stores, rng.randint(0, 2))
                    positions = rng.sample(POSITIONS, rng.randint(0, 2))
                    issued = at + timedelta(hours=rng.choice([-60, -30, -2, 0, 0, 5]))
                    publish(NoticeData(f"新业务{step}", "要点", None, None, scope, positions, issued), trainer_id)
                elif kind == "hire":
                    create_person(PersonData(f"H{seed}{step:03d}", "新人", "staff", rng.choice(POSITIONS),
                                             rng.choice(stores), (at + timedelta(days=rng.choice([-30, 0, 2]))).date()),
                                  admin)
                elif kind in ("move", "position"):
                    data = PersonData(person.emp_no, person.name, person.role,
                                      rng.choice(POSITIONS) if kind == "position" else person.position,
                                      rng.choice(stores) if kind == "move" else person.store_id, person.hire_date)
                    update_person(person, data, admin)
                elif kind == "active":
                    set_active(person, not person.active, admin)
                elif kind == "leave":
                    start = at.date() + timedelta(days=rng.randint(-1, 2))
                    add_leave(person, start, start + timedelta(days=rng.randint(0, 3)), "年假", admin)
                elif kind == "unleave":
                    leave = db.session.scalars(select(Leave).where(Leave.user_id == person.id)).first()
                    if leave is not None:
                        remove_leave(leave, admin)
                elif kind in ("attest", "direct"):
                    a = NoticeAssignment
                    open_ = db.session.scalars(select(a).join(Notice).where(
                        a.in_state(at, *OPEN_STATES), Notice.out_at(at)).order_by(a.id)).all()
                    if open_:
                        assignment = rng.choice(open_)
                        if kind == "attest":
                            mark_read(assignment)
                            assert attest(assignment)
                        else:  # as the demo data does: the ORM, no service call
                            assignment.completed_at = at - timedelta(minutes=rng.randint(0, 600))
                elif kind == "withdraw":
                    active = db.session.scalars(select(Notice).where(Notice.withdrawn_at.is_(None))
                                                .order_by(Notice.id)).all()
                    if active:
                        withdraw(rng.choice(active), "错发", trainer_id)
                else:
                    at = frozen(at + timedelta(hours=rng.choice([1, 7, 20, 49])))
                db.session.commit()
            except DomainError:
                db.session.rollback()
            steps.append(kind)
            assert tally.differences(db.session) == [], f"after {steps}"
            for notice in db.session.scalars(select(Notice).order_by(Notice.id)):
                _agree(notice, None, at)
                _agree(notice, [stores[step % 3]], at)
        assert {"publish", "attest", "withdraw"} <= set(steps)
        notices = db.session.scalar(select(func.count()).select_from(Notice))
        done = db.session.scalar(select(func.count()).select_from(NoticeAssignment).where(
            NoticeAssignment.completed_at.is_not(None)))
    assert notices and done  # the history exercised completions, not only empty boards


def test_rebuild_repairs_counts_that_drifted(app, factory, frozen):
    frozen(T0)
    store = factory.store()
    trainer_id = factory.person("trainer", None, "培训").id
    for _ in range(3):
        factory.person("staff", store)
    with app.app_context():
        notice, assigned = publish(NoticeData("新业务", "要点", None, None, [], [], None), trainer_id)
        assert assigned == 3
        db.session.execute(NoticeAssignment.__table__.update().values(completed_at=T0))  # behind the counts' back
        problems = tally.differences(db.session)
        assert problems and any("已结束人数" in p for p in problems)
        assert board(notice).total.pending == 3  # the board trusts its counts
        runner = app.test_cli_runner()
        checked = runner.invoke(args=["lms", "notices", "recount", "--check"])
        assert checked.exit_code == 1 and "不一致" in checked.output
        assert tally.differences(db.session) == problems  # --check changes nothing
        recounted = runner.invoke(args=["lms", "notices", "recount"])
        assert recounted.exit_code == 0 and "已按名单重算" in recounted.output
        assert tally.differences(db.session) == []
        shown = board(notice)
        assert (shown.total.done_on_time, shown.total.pending) == (3, 0)
        assert runner.invoke(args=["lms", "notices", "recount", "--check"]).exit_code == 0
