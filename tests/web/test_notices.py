"""The 48-hour rule end to end, with a frozen clock: fan-out, people moving, completing,
reminders exactly once, enforcement, the board and the sign-in sheet."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.accounts.service import PersonData, add_leave, create_person, set_active, update_person
from lms.extensions import db
from lms.notices.board import board
from lms.notices.models import Message, Notice, NoticeAssignment, Outbox
from lms.notices.reminders import LEASE, claim, enqueue, sweep
from lms.notices.service import NoticeData, attest, mark_read, publish, withdraw
from tests.conftest import login, post

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing


@pytest.fixture
def org(app, factory, frozen):
    """Two stores; A: a manager, two counter staff, one 库管; B: one counter staff. A trainer."""
    frozen(T0)
    a, b = factory.store(name="甲厅"), factory.store(name="乙厅")
    people = {
        "manager": factory.person("manager", a),
        "ann": factory.person("staff", a, "综合受理", name="安"),
        "bo": factory.person("staff", a, "综合受理", name="波"),
        "stock": factory.person("staff", a, "库管", name="库"),
        "cy": factory.person("staff", b, "综合受理", name="程"),
        "trainer": factory.person("trainer", None, "培训"),
        "admin": factory.person("admin"),
    }
    return {"a": a, "b": b, **people}


def _publish(app, org, stores=(), positions=(), issued=None, check=None) -> int:
    with app.app_context():
        notice, _ = publish(NoticeData("新业务：测试套餐", "## 要点\n\n- 讲清资费", None, check, list(stores),
                                       list(positions), issued), org["trainer"].id)
        db.session.commit()
        return notice.id


def _assignments(app, notice_id) -> dict[int, NoticeAssignment]:
    with app.app_context():
        rows = db.session.scalars(select(NoticeAssignment).where(NoticeAssignment.notice_id == notice_id)).all()
        for r in rows:
            db.session.expunge(r)
        return {r.user_id: r for r in rows}


def _complete(app, notice_id, user_id):
    with app.app_context():
        a = db.session.scalar(select(NoticeAssignment).where(NoticeAssignment.notice_id == notice_id,
                                                             NoticeAssignment.user_id == user_id))
        mark_read(a)
        attest(a)
        db.session.commit()
        return a.completed_at


def test_publish_reaches_everyone_in_scope_in_one_go(app, org):
    everyone = _assignments(app, _publish(app, org))
    assert set(everyone) == {org[k].id for k in ("manager", "ann", "bo", "stock", "cy")}
    assert all(a.due_at == T0 + timedelta(hours=48) for a in everyone.values())
    by_store = _assignments(app, _publish(app, org, stores=[org["a"]]))
    assert org["cy"].id not in by_store and len(by_store) == 4
    by_position = _assignments(app, _publish(app, org, positions=["综合受理"]))
    assert set(by_position) == {org["ann"].id, org["bo"].id, org["cy"].id}


def test_done_at_the_edges(app, org, frozen):
    notice_id = _publish(app, org)
    frozen(T0 + timedelta(hours=47, minutes=59, seconds=59))
    on_time = _complete(app, notice_id, org["ann"].id)
    frozen(T0 + timedelta(hours=48, seconds=1))
    late = _complete(app, notice_id, org["bo"].id)
    rows = _assignments(app, notice_id)
    assert rows[org["ann"].id].completed_at == on_time and on_time <= rows[org["ann"].id].due_at
    assert late > rows[org["bo"].id].due_at
    frozen(T0 + timedelta(hours=50))  # attesting again changes nothing
    _complete(app, notice_id, org["ann"].id)
    assert _assignments(app, notice_id)[org["ann"].id].completed_at == on_time


def test_leave_new_hire_transfer_and_deactivation(app, org, frozen):
    with app.app_context():  # on leave over the whole window: back on 11-25
        add_leave(db.session.get(User, org["ann"].id), date(2026, 11, 18), date(2026, 11, 24), "年假",
                  db.session.get(User, org["admin"].id))
        db.session.commit()
    notice_id = _publish(app, org)
    rows = _assignments(app, notice_id)
    back = datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)  # 11-25 00:00 Beijing
    assert rows[org["ann"].id].available_from == back and rows[org["ann"].id].due_at == back + timedelta(hours=48)
    frozen(T0 + timedelta(hours=10))
    with app.app_context():  # bo goes on leave in the middle: back on 11-22, the clock restarts then
        admin = db.session.get(User, org["admin"].id)
        add_leave(db.session.get(User, org["bo"].id), date(2026, 11, 20), date(2026, 11, 21), "病假", admin)
        hired, _ = create_person(PersonData("NEW01", "新人", "staff", "综合受理", org["a"], date(2026, 11, 20)), admin)
        cy = db.session.get(User, org["cy"].id)
        update_person(cy, PersonData(cy.emp_no, cy.name, "staff", "综合受理", org["a"], cy.hire_date), admin)
        set_active(db.session.get(User, org["stock"].id), False, admin)
        db.session.commit()
        hired_id = hired.id
    rows = _assignments(app, notice_id)
    assert rows[org["bo"].id].due_at == datetime(2026, 11, 21, 16, 0, tzinfo=timezone.utc) + timedelta(hours=48)
    assert rows[hired_id].start_at == T0 + timedelta(hours=10)
    assert rows[hired_id].due_at == T0 + timedelta(hours=58)
    assert rows[org["cy"].id].store_id == org["a"]  # moved with the person (still in scope)
    assert rows[org["stock"].id].cancelled_at is not None and rows[org["stock"].id].cancel_reason == "停用"
    scoped = _publish(app, org, stores=[org["b"]], issued=T0)
    with app.app_context():  # cy moved to A, out of a B-only notice
        assert db.session.scalar(select(func.count()).select_from(NoticeAssignment).where(
            NoticeAssignment.notice_id == scoped)) == 0


def test_withdrawal_stops_enforcement_and_reminders(app, org, frozen):
    notice_id = _publish(app, org)
    with app.app_context():
        with pytest.raises(Exception):
            withdraw(db.session.get(Notice, notice_id), "  ", org["trainer"].id)
        withdraw(db.session.get(Notice, notice_id), "发布错误", org["trainer"].id)
        db.session.commit()
    frozen(T0 + timedelta(hours=49))
    with app.app_context():
        assert enqueue() == 0
    client = app.test_client()
    login(client, org["ann"])
    assert "新业务培训已逾期" not in client.get("/").get_data(as_text=True)


def _messages(app, user_id) -> list[str]:
    with app.app_context():
        return [m.title for m in db.session.scalars(select(Message).where(Message.user_id == user_id)
                                                    .order_by(Message.id))]


def test_reminders_at_each_offset_exactly_once(app, org, frozen):
    notice_id = _publish(app, org)
    _complete(app, notice_id, org["bo"].id)  # done people get nothing
    due = T0 + timedelta(hours=48)
    frozen(due - timedelta(hours=24, minutes=1))
    with app.app_context():
        assert sweep().queued == 0
    frozen(due - timedelta(hours=24))
    with app.app_context():
        first = sweep()
        again = sweep()
    assert first.sent["inapp"] == 4 and again.queued == 0 and sum(again.sent.values()) == 0
    assert _messages(app, org["ann"].id) == ["新业务培训提醒：新业务：测试套餐"]
    assert _messages(app, org["bo"].id) == []
    frozen(due - timedelta(hours=6))
    with app.app_context():
        sweep()
    assert len(_messages(app, org["ann"].id)) == 2
    manager = _messages(app, org["manager"].id)
    assert any("6小时后到期" in t for t in manager) and len(manager) == 3  # two as a person, one as manager
    frozen(due)  # the last on-time instant: nobody is overdue yet, so no escalation
    with app.app_context():
        sweep()
        assert db.session.scalar(select(Message.body).where(Message.user_id == org["trainer"].id)) is None
    assert not any("已到期" in t for t in _messages(app, org["manager"].id))
    frozen(due + timedelta(seconds=1))  # overdue now: the manager and the trainer hear of it, once
    with app.app_context():
        sweep()
        sweep()
        body = db.session.scalar(select(Message.body).where(Message.user_id == org["trainer"].id))
    assert [t for t in _messages(app, org["manager"].id) if "已到期" in t] == ["新业务培训已到期：新业务：测试套餐"]
    assert "安" in body and "波" not in body
    with app.app_context():
        keys = db.session.scalars(select(Outbox.key)).all()
        assert len(keys) == len(set(keys))
        assert db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None))) == 0


def test_a_late_joiner_gets_their_own_escalation(app, org, frozen):
    notice_id = _publish(app, org, stores=[org["a"]], positions=["综合受理"])
    frozen(T0 + timedelta(minutes=30))
    with app.app_context():
        admin = db.session.get(User, org["admin"].id)
        create_person(PersonData("LATE1", "迟", "staff", "综合受理", org["a"], date(2026, 1, 1)), admin)
        db.session.commit()
    frozen(T0 + timedelta(hours=48, seconds=1))
    with app.app_context():
        sweep()
    frozen(T0 + timedelta(hours=48, minutes=30, seconds=1))
    with app.app_context():
        sweep()
        bodies = db.session.scalars(select(Message.body).where(Message.user_id == org["manager"].id,
                                                               Message.title.like("%已到期%"))).all()
    assert len(bodies) == 2 and any("迟" in b for b in bodies) and any("安" in b and "迟" not in b for b in bodies)
    assert notice_id


def test_a_sweep_killed_after_claiming_loses_nothing_and_sends_once(app, org, frozen):
    _publish(app, org)
    moment = frozen(T0 + timedelta(hours=24))
    with app.app_context():
        enqueue()
        token = claim()  # ...and the process dies here, before sending
        db.session.commit()
        assert token is not None
    frozen(moment + LEASE / 2)
    with app.app_context():
        assert sum(sweep().sent.values()) == 0  # still leased to the dead sweep
    frozen(moment + LEASE + timedelta(seconds=1))
    with app.app_context():
        report = sweep()
        assert report.sent["inapp"] == 5
        assert sum(sweep().sent.values()) == 0
    assert _messages(app, org["ann"].id) == ["新业务培训提醒：新业务：测试套餐"]


def test_failed_webhook_is_retried_with_backoff_and_never_blocks(app, org, frozen, monkeypatch):
    from lms.accounts.models import Store
    from lms.notices import reminders

    with app.app_context():
        db.session.get(Store, org["a"]).webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=t"
        db.session.commit()
    _publish(app, org)
    calls = []

    def broken(url, payload):
        calls.append(url)
        raise OSError("connection refused")

    monkeypatch.setattr(reminders, "_send_webhook", broken)
    frozen(T0 + timedelta(hours=42))
    with app.app_context():
        report = sweep()
        row = db.session.scalar(select(Outbox).where(Outbox.channel == "webhook"))
        assert report.failed == 1 and row.sent_at is None and row.attempts == 1 and "refused" in row.last_error
    assert report.sent["inapp"] >= 5  # the other channels went out
    monkeypatch.setattr(reminders, "_send_webhook", lambda url, payload: calls.append(("ok", payload["title"])))
    frozen(T0 + timedelta(hours=42, minutes=2))
    with app.app_context():
        assert sweep().sent["webhook"] == 1
    assert calls[-1][0] == "ok"


def test_overdue_person_is_blocked_and_certificate_suspended(app, org, frozen):
    notice_id = _publish(app, org)
    frozen(T0 + timedelta(hours=48, minutes=1))
    client = app.test_client()
    login(client, org["ann"])
    home = client.get("/").get_data(as_text=True)
    assert "新业务培训已逾期" in home and "新业务：测试套餐" in home
    practice = client.get("/practice").get_data(as_text=True)  # a page whose header reads the banner itself
    assert "新业务培训已逾期：</strong><a" in practice and "新业务：测试套餐" in practice
    refused = post(client, "/practice/long-wait/start", {"mode": "text"}, page="/practice/long-wait")
    assert refused.status_code == 302 and f"/notices/{notice_id}" in refused.headers["Location"]
    refused = post(client, "/exams/practice-basics/start", page="/exams/practice-basics")
    assert f"/notices/{notice_id}" in refused.headers["Location"]
    with app.app_context():
        from lms.notices.service import is_suspended

        assert is_suspended(org["ann"].id)
    post(client, f"/notices/{notice_id}/read", page=f"/notices/{notice_id}")  # reading, then attesting, lifts it
    post(client, f"/notices/{notice_id}/attest", page=f"/notices/{notice_id}")
    assert "新业务培训已逾期" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        from lms.notices.service import is_suspended

        assert not is_suspended(org["ann"].id)


def test_unread_reminders_show_in_the_header_until_read(app, org, frozen):
    _publish(app, org)
    frozen(T0 + timedelta(hours=25))  # the 24-hour reminder is due
    with app.app_context():
        sweep()
    client = app.test_client()
    login(client, org["ann"])
    badge = re.compile(r'消息<span class="badge bad">(\d+)</span>')
    assert badge.search(client.get("/").get_data(as_text=True)).group(1) == "1"
    practice = client.get("/practice").get_data(as_text=True)  # a page whose header reads the badge itself
    assert badge.search(practice).group(1) == "1" and "新业务培训已逾期" not in practice  # not overdue yet
    page = client.get("/messages").get_data(as_text=True)  # looking changes nothing: the button marks them read
    assert "全部标为已读（1）" in page and badge.search(client.get("/").get_data(as_text=True)).group(1) == "1"
    post(client, "/messages/read", page="/messages")
    assert not badge.search(client.get("/").get_data(as_text=True))


def test_board_numbers_against_a_hand_computed_fixture(app, org, frozen):
    with app.app_context():
        add_leave(db.session.get(User, org["stock"].id), date(2026, 11, 19), date(2026, 11, 26), "年假",
                  db.session.get(User, org["admin"].id))
        db.session.commit()
    notice_id = _publish(app, org)
    frozen(T0 + timedelta(hours=5))
    _complete(app, notice_id, org["manager"].id)  # A: on time
    frozen(T0 + timedelta(hours=50))
    _complete(app, notice_id, org["ann"].id)  # A: late
    frozen(T0 + timedelta(hours=51))  # bo: overdue; stock: on leave; cy (B): overdue
    with app.app_context():
        data = board(db.session.get(Notice, notice_id))
        rows = {r.name: r for r in data.rows}
        a, b = rows["甲厅"], rows["乙厅"]
        assert (a.in_scope, a.done_on_time, a.done_late, a.pending, a.overdue, a.on_leave) == (4, 1, 1, 0, 1, 1)
        assert (b.in_scope, b.done_on_time, b.done_late, b.pending, b.overdue, b.on_leave) == (1, 0, 0, 0, 1, 0)
        assert sorted(a.blocking) == ["库", "波"] and b.blocking == ["程"]
        assert (data.total.in_scope, data.total.done, data.total.overdue) == (5, 2, 2)
        assert dict(data.timeline)[4] == 0 and dict(data.timeline)[8] == 1 and dict(data.timeline)[48] == 1
    frozen(T0 + timedelta(hours=9))
    with app.app_context():  # the curve stops at the present
        assert [h for h, _ in board(db.session.get(Notice, notice_id)).timeline] == [0, 4, 8]
    manager = app.test_client()
    login(manager, org["manager"])
    page = manager.get(f"/notices/{notice_id}/board").get_data(as_text=True)
    assert "甲厅" in page and "乙厅" not in page and ">程<" not in page and "程、" not in page


def test_the_boards_summary_shows_overdue_in_red_only_when_someone_is(app, org, frozen):
    notice_id = _publish(app, org)
    manager = app.test_client()
    login(manager, org["manager"])
    frozen(T0 + timedelta(hours=5))
    page = manager.get(f"/notices/{notice_id}/board").get_data(as_text=True)
    assert "已逾期0" in page and '<span class="errors">已逾期' not in page
    frozen(T0 + timedelta(hours=49))  # everyone in 甲厅 still to learn is past the 48 hours
    page = manager.get(f"/notices/{notice_id}/board").get_data(as_text=True)
    assert re.search(r'<span class="errors">已逾期[1-9]\d*</span>', page)


def test_the_board_pages_its_stores_the_most_urgent_first(app, org, frozen, monkeypatch):
    """Totals and the curve count every store; the rows come a page at a time, and the names that
    block 100 % are those of the page's stores."""
    from lms.notices import board as board_module

    monkeypatch.setattr(board_module, "STORES_PER_PAGE", 1)
    notice_id = _publish(app, org)
    frozen(T0 + timedelta(hours=5))
    _complete(app, notice_id, org["manager"].id)
    frozen(T0 + timedelta(hours=51))  # 甲厅: 1 of 4 done, 3 overdue; 乙厅: 1 overdue
    with app.app_context():
        first, second = (board(db.session.get(Notice, notice_id), page=n) for n in (1, 2))
        assert [r.name for r in first.rows] == ["甲厅"] and [r.name for r in second.rows] == ["乙厅"]
        assert (first.page, first.pages, first.stores, second.page) == (1, 2, 2, 2)
        assert sorted(first.rows[0].blocking) == sorted(["库", "安", "波"]) and second.rows[0].blocking == ["程"]
        assert first.total.in_scope == second.total.in_scope == 5 and first.total.done == 1
        assert board(db.session.get(Notice, notice_id), page=99).page == 2  # past the end: the last page
    trainer = app.test_client()
    login(trainer, org["trainer"])
    page = trainer.get(f"/notices/{notice_id}/board?page=2").get_data(as_text=True)
    assert "2个营业厅，最急的在前。" in page and "第2/2页" in page and ">乙厅<" in page and ">甲厅<" not in page
    assert f'href="/notices/{notice_id}/board?page=1"' in page and "下一页" not in page
    assert trainer.get(f"/notices/{notice_id}/board?page=-3").status_code == 200
    huge = trainer.get(f"/notices/{notice_id}/board?page=99999999999999999999")  # past any OFFSET's range
    assert huge.status_code == 200 and "第2/2页" in huge.get_data(as_text=True)


def test_sign_in_sheet_exports(app, org, frozen):
    notice_id = _publish(app, org)
    frozen(T0 + timedelta(hours=3))
    _complete(app, notice_id, org["ann"].id)
    frozen(T0 + timedelta(hours=49))
    trainer = app.test_client()
    login(trainer, org["trainer"])
    text = trainer.get(f"/notices/{notice_id}/signin.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["工号", "姓名", "岗位", "营业厅", "完成时间", "是否按时"]
    ann = next(r for r in rows if r[1] == "安")
    assert ann[4] == "2026-11-20 13:00" and ann[5] == "是"
    assert next(r for r in rows if r[1] == "程")[5] == "未完成（已逾期）"
    xlsx = trainer.get(f"/notices/{notice_id}/signin.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == ["工号", "姓名", "岗位", "营业厅", "完成时间", "是否按时"] and len(values) == 2 + 5
    manager = app.test_client()
    login(manager, org["manager"])
    mine = manager.get(f"/notices/{notice_id}/signin.csv").get_data().decode("utf-8-sig")
    assert "程" not in mine and "安" in mine
    result = app.test_cli_runner().invoke(args=["lms", "notices", "report", str(notice_id), "--format", "csv"])
    assert result.exit_code == 0 and "工号,姓名" in result.output and "程" in result.output


def test_publish_page_and_learner_flow_in_the_browser(app, org, frozen):
    trainer = app.test_client()
    login(trainer, org["trainer"])
    response = post(trainer, "/notices/new", {"title": "新业务：网页发布", "body": "读完并确认。",
                                              "positions": ["综合受理"], "issued_at": ""}, page="/notices/new")
    assert response.status_code == 302
    notice_id = int(re.search(r"/notices/(\d+)/board", response.headers["Location"]).group(1))
    staff = app.test_client()
    assert login(staff, org["ann"]).headers["Location"] == "/notices"  # pending notices come first
    page = staff.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "读完并确认" in page and "剩余48小时" in page and "我已阅读" in page
    refused = post(staff, f"/notices/{notice_id}/attest", page=f"/notices/{notice_id}")  # not read yet
    assert "按时完成" not in staff.get(refused.headers["Location"]).get_data(as_text=True)
    post(staff, f"/notices/{notice_id}/read", page=f"/notices/{notice_id}")
    post(staff, f"/notices/{notice_id}/attest", page=f"/notices/{notice_id}")
    assert "按时完成" in staff.get(f"/notices/{notice_id}").get_data(as_text=True)
    other = app.test_client()
    login(other, org["stock"])  # 库管: not in scope
    assert other.get(f"/notices/{notice_id}").status_code == 404
