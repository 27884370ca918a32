"""Benchmark: the 48-hour rule at the size of a province, on SQLite.

    .venv/bin/python bench/notices.py [--people 20000] [--stores 400]

Builds a fresh database (migrations, shipped content) with a generated organisation, then
measures in one run: publishing a notice to everyone (the fan-out, one transaction), rendering
the trainer's compliance board and a store manager's home page, and the number of SQL
statements each page issues — for the full organisation and for one a tenth of its size, to
show the count does not grow with the number of people.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, event, insert, select  # noqa: E402

from lms import create_app  # noqa: E402
from lms.extensions import db  # noqa: E402

POSITIONS = ["咨询引导", "前台销售", "综合受理", "投诉接待", "维系挽留", "值班经理", "库管", "稽核"]


def build(people: int, stores: int, database_url: str | None = None):
    """A fresh database with the organisation: a SQLite file in a temporary folder, or the (already
    empty) database of `database_url`."""
    tmp = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
                      "RATELIMIT_ENABLED": False, "PUBLIC_URL": "http://127.0.0.1"},  # required outside development
                     instance_path=str(tmp))
    result = app.test_cli_runner().invoke(args=["lms", "init", "--no-demo"])
    assert result.exit_code == 0, result.output
    trainer_id, manager_emp, store_id = populate(app, people, stores)
    return app, trainer_id, manager_emp, store_id


def populate(app, people: int, stores: int) -> tuple[int, str, int]:
    """Add a generated organisation to an initialised database: (trainer id, a manager's 工号, their store)."""
    from lms.accounts.models import Leave, Region, Store, User
    from lms.certification.standing import refresh_stale
    from werkzeug.security import generate_password_hash

    password = generate_password_hash("Bench-pass-1", method="pbkdf2:sha256:1000")
    with app.app_context():
        region = Region(code="BENCH", name="基准测试地市")
        db.session.add(region)
        db.session.flush()
        db.session.execute(insert(Store), [{"code": f"B{i:04d}", "name": f"基准营业厅{i}", "region_id": region.id,
                                            "address": "", "webhook_url": "", "active": True} for i in range(stores)])
        store_ids = db.session.scalars(select(Store.id).where(Store.code.like("B%")).order_by(Store.id)).all()
        rows = []
        for i in range(people):
            store = store_ids[i % stores]
            manager = i < stores
            rows.append({"emp_no": f"P{i:06d}", "name": f"员工{i}", "password_hash": password, "auth_token": "t",
                         "must_change_password": False, "email": "", "role": "manager" if manager else "staff",
                         "position": "营业厅经理" if manager else POSITIONS[i % len(POSITIONS)], "store_id": store,
                         "hire_date": date(2024, 1, 1), "active": True})
        db.session.execute(insert(User), rows)
        trainer = User(emp_no="BENCHT", name="基准培训", role="trainer", position="培训", password_hash=password,
                       auth_token="t")
        db.session.add(trainer)
        db.session.flush()
        on_leave = db.session.scalars(select(User.id).where(User.role == "staff").limit(people // 50)).all()
        db.session.execute(insert(Leave), [{"user_id": u, "start_date": date.today() - timedelta(days=1),
                                            "end_date": date.today() + timedelta(days=3), "reason": "基准"}
                                           for u in on_leave])
        db.session.commit()
        # the organisation was written past the ORM, as a migration or a restore would: the sweep
        # works out everyone's kept 上岗证 standing (lms/certification/standing.py); the pages are
        # timed as they are from then on
        started = time.perf_counter()
        worked = refresh_stale()
        print(f"(kept 上岗证 standings of {worked} people worked out in {time.perf_counter() - started:.1f} s, "
              f"as `lms sweep` does)", file=sys.stderr)
        manager_emp = db.session.scalar(select(User.emp_no).where(User.role == "manager").limit(1))
        store_id = db.session.scalar(select(User.store_id).where(User.emp_no == manager_emp))
        return trainer.id, manager_emp, store_id


def publish_under_way(trainer_id: int, done_share: int = 40) -> int:
    """The pages' notice: issued 30 hours ago to everyone, about `done_share` % of them done since,
    on time, spread over those hours — a board in the middle of its 48 hours, not an untouched one.
    The completions are written in one statement and the board's counts recounted after it (as
    `lms notices recount` does); call inside an app context. Returns the notice's id."""
    from lms.clock import now
    from lms.notices import tally
    from lms.notices.models import NoticeAssignment as A
    from lms.notices.service import NoticeData, publish

    issued = now() - timedelta(hours=30)
    notice, _ = publish(NoticeData("基准新业务", "内容", None, None, [], [], issued), trainer_id)
    ids = db.session.scalars(select(A.id).where(A.notice_id == notice.id, A.available_from <= issued)).all()
    pick = random.Random(16)  # the same people in every run
    done = [{"row": i, "at": issued + timedelta(hours=1 + i % 29, minutes=i % 60)}
            for i in ids if pick.random() * 100 < done_share]
    if done:
        table = A.__table__
        db.session.execute(table.update().where(table.c.id == bindparam("row")).values(
            studied_at=bindparam("at"), completed_at=bindparam("at")), done)
    tally.rebuild(db.session, [notice.id])
    db.session.commit()
    return notice.id


def login(client, emp_no):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"emp_no": emp_no, "password": "Bench-pass-1", "csrf_token": token})
    assert response.status_code == 302, response.status_code


def timed_page(app, client, url, reps=7):
    counter = {"n": 0}

    def count(*args, **kwargs):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200  # warm
        counter["n"] = 0
        client.get(url)
        queries = counter["n"]
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times) * 1000, queries


def measure(people: int, stores: int) -> dict:
    app, trainer_id, manager_emp, store_id = build(people, stores)
    from lms.notices.service import NoticeData, publish

    with app.app_context():
        start = time.perf_counter()
        notice, assigned = publish(NoticeData("基准新业务", "内容", None, None, [], [], None), trainer_id)
        db.session.commit()
        fan_out = time.perf_counter() - start
        notice_id = notice.id
    trainer, manager = app.test_client(), app.test_client()
    login(trainer, "BENCHT")
    login(manager, manager_emp)
    board_ms, board_q = timed_page(app, trainer, f"/notices/{notice_id}/board")
    home_ms, home_q = timed_page(app, manager, f"/store/{store_id}")
    with app.app_context():
        db.engine.dispose()
    return {"people": people, "assigned": assigned, "fan_out_s": fan_out, "board_ms": board_ms, "board_q": board_q,
            "home_ms": home_ms, "home_q": home_q}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--stores", type=int, default=400)
    args = parser.parse_args()
    small = measure(args.people // 10, args.stores // 10)
    full = measure(args.people, args.stores)
    for r in (small, full):
        print(f"{r['people']:>6} people: fan-out {r['fan_out_s']:.2f} s ({r['assigned']} assignments); "
              f"trainer board {r['board_ms']:.0f} ms, {r['board_q']} SQL; manager home {r['home_ms']:.0f} ms, "
              f"{r['home_q']} SQL")


if __name__ == "__main__":
    main()
