"""What people see of an assignment's state: the exact second of the deadline on every page, and
a withdrawn notice cancelling what was still open (also for notices withdrawn before the upgrade)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from flask_migrate import upgrade
from openpyxl import load_workbook
from sqlalchemy import select, text

from lms.extensions import db
from lms.notices.board import board
from lms.notices.models import Notice, NoticeAssignment
from lms.notices.service import NoticeData, publish, withdraw
from tests.conftest import login, make_app
from tests.web.test_notices import _complete

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing
DUE = T0 + timedelta(hours=48)


@pytest.fixture
def shop(app, factory, frozen):
    """One store: a manager and two counter staff; a trainer; a notice issued at T0 to all of them."""
    frozen(T0)
    store = factory.store(name="丙厅")
    people = {"manager": factory.person("manager", store), "ann": factory.person("staff", store, name="安"),
              "bo": factory.person("staff", store, name="波"), "trainer": factory.person("trainer", None, "培训")}
    with app.app_context():
        notice, _ = publish(NoticeData("新业务：边界套餐", "内容", None, None, [], [], None), people["trainer"].id)
        db.session.commit()
        people["notice_id"] = notice.id
    people["store"] = store
    return people


def test_at_the_deadline_itself_nobody_is_overdue_and_a_second_later_everyone_is(app, shop, frozen):
    notice_id = shop["notice_id"]
    frozen(DUE)
    _complete(app, notice_id, shop["ann"].id)  # at the last on-time instant
    staff, manager = app.test_client(), app.test_client()
    login(staff, shop["bo"])
    login(manager, shop["manager"])
    home = staff.get("/").get_data(as_text=True)
    assert "新业务培训已逾期" not in home and '<span class="badge warn">剩余0分钟</span>' in home
    assert "剩余0分钟" in staff.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "逾期" not in manager.get(f"/store/{shop['store']}").get_data(as_text=True)
    frozen(DUE + timedelta(seconds=1))
    home = staff.get("/").get_data(as_text=True)
    assert "新业务培训已逾期" in home and '<span class="badge bad">已逾期0分钟</span>' in home
    assert "逾期2人" in manager.get(f"/store/{shop['store']}").get_data(as_text=True)  # bo and the manager
    ann = app.test_client()
    login(ann, shop["ann"])
    page = ann.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "按时完成" in page and "逾期完成" not in page
    sheet = load_workbook(io.BytesIO(manager.get(f"/notices/{notice_id}/signin.xlsx").get_data())).active
    on_time = {row[1].value: row[5].value for row in sheet.iter_rows(min_row=3)}
    assert on_time == {"安": "是", "波": "未完成（已逾期）", shop["manager"].name: "未完成（已逾期）"}


def test_withdrawing_cancels_what_is_open_and_keeps_what_is_done(app, shop, frozen):
    notice_id = shop["notice_id"]
    frozen(T0 + timedelta(hours=3))
    _complete(app, notice_id, shop["ann"].id)
    frozen(T0 + timedelta(hours=50))  # bo and the manager are overdue, then the notice is withdrawn
    with app.app_context():
        withdraw(db.session.get(Notice, notice_id), "发布错误", shop["trainer"].id)
        db.session.commit()
        rows = {a.user_id: a for a in db.session.scalars(select(NoticeAssignment).where(
            NoticeAssignment.notice_id == notice_id))}
        assert rows[shop["bo"].id].cancelled_at == T0 + timedelta(hours=50)
        assert rows[shop["bo"].id].cancel_reason == "通知撤回" and rows[shop["ann"].id].cancelled_at is None
        figures = board(db.session.get(Notice, notice_id)).total
        assert (figures.in_scope, figures.done_on_time, figures.overdue, figures.cancelled) == (1, 1, 0, 2)
    bo = app.test_client()
    login(bo, shop["bo"])
    assert "新业务培训已逾期" not in bo.get("/").get_data(as_text=True)
    assert "已不需要（通知撤回）" in bo.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "已不需要（通知撤回）" in bo.get("/notices").get_data(as_text=True)
    trainer = app.test_client()
    login(trainer, shop["trainer"])
    page = trainer.get(f"/notices/{notice_id}/board").get_data(as_text=True)
    assert "另有2人不再要求" in page and "已逾期0" in page
    manager = app.test_client()
    login(manager, shop["manager"])
    archive = manager.get(f"/store/people/{shop['ann'].id}/archive").get_data(as_text=True)
    assert "新业务：边界套餐" in archive and "按时完成" in archive


@pytest.mark.no_db
def test_upgrade_cancels_the_open_assignments_of_notices_withdrawn_before(tmp_path):
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    directory = app.extensions["migrate"].directory
    rows = [
        "INSERT INTO region (id, code, name) VALUES (1, 'R1', '地市')",
        "INSERT INTO store (id, code, name, region_id, address, active, created_at) "
        "VALUES (1, 'S1', '营业厅', 1, '', 1, '2026-01-01 00:00:00')",
        *(f"INSERT INTO users (id, emp_no, name, password_hash, role, position, store_id, hire_date, active, "
          f"created_at, must_change_password) VALUES ({i}, 'E{i}', '人{i}', 'x', 'staff', '综合受理', 1, '2025-01-01', 1, "
          f"'2026-01-01 00:00:00', 0)" for i in (1, 2, 3)),
        "INSERT INTO notice (id, title, body_md, body_html, store_ids, positions, issued_at, published_by, created_at, "
        "withdrawn_at, withdrawn_by, withdraw_reason) VALUES (1, '撤回的', '', '', '[]', '[]', "
        "'2026-02-01 02:00:00.000000', 1, '2026-02-01 02:00:00', '2026-02-04 02:00:00.000000', 1, '错发')",
        "INSERT INTO notice (id, title, body_md, body_html, store_ids, positions, issued_at, published_by, created_at, "
        "withdraw_reason) VALUES (2, '有效的', '', '', '[]', '[]', '2026-02-01 02:00:00.000000', 1, "
        "'2026-02-01 02:00:00', '')",
        *(f"INSERT INTO notice_assignment (id, notice_id, user_id, store_id, assigned_at, start_at, available_from, "
          f"due_at, completed_at, cancel_reason) VALUES ({n}, {notice}, {user}, 1, '2026-02-01 02:00:00.000000', "
          f"'2026-02-01 02:00:00.000000', '2026-02-01 02:00:00.000000', '2026-02-03 02:00:00.000000', {done}, '')"
          for n, notice, user, done in ((1, 1, 1, "NULL"), (2, 1, 2, "'2026-02-02 02:00:00.000000'"),
                                        (3, 2, 1, "NULL"), (4, 2, 3, "NULL"))),
    ]
    with app.app_context():
        upgrade(directory=directory, revision="0008")
        with db.engine.begin() as conn:
            for statement in rows:
                conn.execute(text(statement))
        upgrade(directory=directory)
        at = datetime(2026, 2, 5, tzinfo=timezone.utc)
        states = {a.id: (a.state(at), a.cancel_reason) for a in db.session.scalars(select(NoticeAssignment))}
        db.session.remove()
        db.engine.dispose()
    assert states == {1: ("cancelled", "通知撤回"), 2: ("done_on_time", ""), 3: ("overdue", ""), 4: ("overdue", "")}
