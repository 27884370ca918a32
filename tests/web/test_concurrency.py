"""Two clicks at the same moment: one record, no error page.

Runs with real threads against a database of its own (not the rolled-back test transaction): a
SQLite file, or — when the suite runs on PostgreSQL — a fresh PostgreSQL database.
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event, func, select

from lms.extensions import db
from tests.conftest import Person, csrf_token, isolated_app, login

pytestmark = pytest.mark.no_db


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with isolated_app(tmp_path_factory.mktemp("live"), "RACE01", "并发", "Race-pass-123", ("C001", "并发测试厅")) as served:
        yield served


def _login_all(app, clients, person):
    """Log one person in on several clients (the log-in limit is for attackers, not this test)."""
    from lms.extensions import limiter

    with app.app_context():
        limiter.reset()
    for client in clients:
        login(client, person)


def _together(calls):
    results, barrier = [None] * len(calls), threading.Barrier(len(calls))

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results



def _reasoned_at_once(app, act, reasons: list[str]) -> list[str]:
    """Run `act(reason)` (a use case that refuses with a DomainError) once per reason, all at the same
    moment, each in its own app context and committed: what each said, its reason or its refusal."""
    from lms.errors import DomainError

    def one(reason):
        with app.app_context():
            try:
                act(reason)
                db.session.commit()
                return reason
            except DomainError as exc:
                db.session.rollback()
                return exc.message
            finally:
                db.session.remove()

    return _together([lambda r=r: one(r) for r in reasons])

def test_simultaneous_turn_submissions_record_one_turn(live):
    app, person = live
    from lms.roleplay.models import Run, Turn

    clients = [app.test_client() for _ in range(4)]
    _login_all(app, clients, person)
    start = clients[0].post("/practice/long-wait/start",
                            data={"mode": "text", "csrf_token": csrf_token(clients[0], "/practice/long-wait")})
    run_id = int(start.headers["Location"].rsplit("/", 1)[1])
    tokens = [csrf_token(c, f"/runs/{run_id}") for c in clients]
    statuses = _together([
        (lambda c=c, t=t: c.post(f"/runs/{run_id}/turns", data={"seq": "1", "reply": "您好，欢迎光临！请问您办理什么业务？",
                                                                 "csrf_token": t}).status_code)
        for c, t in zip(clients, tokens)
    ])
    assert all(s == 302 for s in statuses), statuses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Turn).where(Turn.run_id == run_id)) == 1
        assert db.session.get(Run, run_id).turn_count == 1


def test_simultaneous_exam_submissions_grade_once(live):
    app, person = live
    from lms.audit import AuditEvent
    from lms.exams.models import Attempt

    clients = [app.test_client() for _ in range(4)]
    _login_all(app, clients, person)
    start = clients[0].post("/exams/practice-basics/start",
                            data={"csrf_token": csrf_token(clients[0], "/exams/practice-basics")})
    attempt_id = int(start.headers["Location"].split("/")[2])
    tokens = [csrf_token(c, f"/attempts/{attempt_id}") for c in clients]
    statuses = _together([
        (lambda c=c, t=t: c.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": t}).status_code)
        for c, t in zip(clients, tokens)
    ])
    assert all(s == 302 for s in statuses), statuses
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "submitted"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "exam.submitted", AuditEvent.object_id == "practice-basics")) == 1


def test_two_sweeps_at_once_send_each_reminder_once(live):
    app, person = live
    from datetime import timedelta

    from lms.clock import now
    from lms.notices.models import Message, Outbox
    from lms.notices.reminders import sweep
    from lms.notices.service import NoticeData, publish

    with app.app_context():
        publish(NoticeData("并发提醒", "内容", None, None, [], [], now() - timedelta(hours=30)), person.id)
        db.session.commit()

    def one_sweep():
        with app.app_context():
            try:
                return sweep()
            finally:
                db.session.remove()

    reports = _together([one_sweep, one_sweep, one_sweep])
    with app.app_context():
        messages = db.session.scalar(select(func.count()).select_from(Message).where(Message.user_id == person.id))
        rows = db.session.scalar(select(func.count()).select_from(Outbox))
        unsent = db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None)))
    assert messages == 1 == rows and unsent == 0  # the 24-hour reminder, once (the 6-hour one is not due)
    assert sum(r.sent["inapp"] for r in reports) == 1


def _people_and_notice(app, person, prefix: str, title: str, count: int = 8, check: str | None = None):
    """`count` new staff in the test store, a notice published to them (with a short check from the
    question category `check`), and one logged-in client each."""
    from lms.accounts.models import Store, User
    from lms.extensions import limiter
    from lms.notices.service import NoticeData, publish

    with app.app_context():
        store_id = db.session.scalar(select(Store.id).where(Store.code == "C001"))
        people = []
        for i in range(count):
            user = User(emp_no=f"{prefix}{i}", name=f"并发{prefix}{i}", role="staff", position="综合受理",
                        store_id=store_id)
            user.set_password("Race-pass-123")
            db.session.add(user)
            people.append(user)
        db.session.flush()
        notice, _ = publish(NoticeData(title, "内容", None, check, [], [], None), person.id)
        db.session.commit()
        logins = [Person(u.id, u.emp_no, u.name, "staff", store_id, "综合受理", "Race-pass-123") for u in people]
        notice_id = notice.id
        limiter.reset()
    clients = [app.test_client() for _ in logins]
    for client, who in zip(clients, logins):
        login(client, who)
    return logins, clients, notice_id


def test_many_people_reading_a_new_notice_at_once(live):
    """A burst of people opening a new notice and pressing 「我已阅读」 at once: nothing fails on SQLite."""
    app, person = live
    _, clients, notice_id = _people_and_notice(app, person, "BURST", "并发打开")
    tokens = [csrf_token(c, f"/notices/{notice_id}") for c in clients]
    statuses = _together([(lambda c=c, t=t: c.post(f"/notices/{notice_id}/read", data={"csrf_token": t}).status_code)
                          for c, t in zip(clients, tokens)])
    assert statuses == [302] * len(clients)
    from lms.notices.models import NoticeAssignment

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NoticeAssignment).where(
            NoticeAssignment.notice_id == notice_id, NoticeAssignment.studied_at.is_not(None))) == len(clients)


def test_simultaneous_exam_starts_respect_the_attempt_limit(live):
    app, person = live
    from lms.exams.models import Attempt

    clients = [app.test_client() for _ in range(5)]
    _login_all(app, clients, person)
    tokens = [csrf_token(c, "/exams/frontline-certification") for c in clients]
    statuses = _together([
        (lambda c=c, t=t: c.post("/exams/frontline-certification/start", data={"csrf_token": t}).status_code)
        for c, t in zip(clients, tokens)
    ])
    assert all(s == 302 for s in statuses), statuses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(
            Attempt.user_id == person.id, Attempt.kind == "exam", Attempt.exam_id.is_not(None),
            Attempt.status == "open")) == 1  # everyone resumed the one open sitting


def _answer_form(spec) -> dict:
    """Some answer to any question type (right or wrong does not matter here: it must be kept)."""
    if spec.qtype in ("single", "multiple"):
        return {"answer": "0"}
    if spec.qtype == "truefalse":
        return {"answer": "true"}
    if spec.qtype == "matching":
        return {"match-0": spec.pairs[0].right}
    return {"answer": "1"}


def test_many_writers_at_once_lose_nothing_and_duplicate_nothing(live):
    """Eight people at once, each: a role-play turn, every exam answer, and 「已学习并掌握」."""
    app, person = live
    from lms.audit import AuditEvent
    from lms.exams.models import Attempt
    from lms.notices.models import NoticeAssignment
    from lms.roleplay.models import Run, Turn

    logins, clients, notice_id = _people_and_notice(app, person, "MIX", "同时确认")

    def specs(attempt_id):
        with app.app_context():
            try:
                attempt = db.session.get(Attempt, attempt_id)
                return [(r.position, r.question_version.as_spec) for r in attempt.responses]
            finally:
                db.session.remove()

    def work(client):
        codes = []
        start = client.post("/practice/long-wait/start",
                            data={"mode": "text", "csrf_token": csrf_token(client, "/practice/long-wait")})
        run_id = int(start.headers["Location"].rsplit("/", 1)[1])
        codes.append(client.post(f"/runs/{run_id}/turns", data={
            "seq": "1", "reply": "您好，欢迎光临！请问您办理什么业务？",
            "csrf_token": csrf_token(client, f"/runs/{run_id}")}).status_code)
        begun = client.post("/exams/practice-basics/start",
                            data={"csrf_token": csrf_token(client, "/exams/practice-basics")})
        attempt_id = int(begun.headers["Location"].split("/")[2])
        for position, spec in specs(attempt_id):
            page = f"/attempts/{attempt_id}/{position}"
            codes.append(client.post(page, data={**_answer_form(spec), "go": "stay",
                                                 "csrf_token": csrf_token(client, page)}).status_code)
        client.post(f"/notices/{notice_id}/read", data={"csrf_token": csrf_token(client, f"/notices/{notice_id}")})
        codes.append(client.post(f"/notices/{notice_id}/attest", data={
            "csrf_token": csrf_token(client, f"/notices/{notice_id}")}).status_code)
        return run_id, attempt_id, codes

    results = _together([(lambda c=c: work(c)) for c in clients])
    for run_id, attempt_id, codes in results:
        assert codes[0] == 302 and set(codes[1:-1]) == {204} and codes[-1] == 302, codes
    ids = [u.id for u in logins]
    with app.app_context():
        for run_id, attempt_id, _ in results:
            assert db.session.scalar(select(func.count()).select_from(Turn).where(Turn.run_id == run_id)) == 1
            assert db.session.get(Run, run_id).turn_count == 1
            attempt = db.session.get(Attempt, attempt_id)
            assert attempt.responses and all(r.answer is not None and r.saved_at for r in attempt.responses)
        assert db.session.scalar(select(func.count()).select_from(Run).where(Run.user_id.in_(ids))) == 8
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id.in_(ids))) == 8
        done = db.session.scalars(select(NoticeAssignment).where(NoticeAssignment.notice_id == notice_id,
                                                                 NoticeAssignment.user_id.in_(ids))).all()
        assert len(done) == 8 and all(a.completed_at is not None for a in done)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "notice.completed", AuditEvent.object_id == str(notice_id))) == 8
        from lms.notices import tally

        assert tally.differences(db.session, [notice_id]) == []  # the board's counts moved with every one


def test_people_completing_while_the_notice_is_withdrawn(live):
    """Six people press 「已学习并掌握」 as the trainer withdraws the notice: each ends done or no longer
    required, never both or neither, and the board's counts say the same as the assignments."""
    app, person = live
    from lms.notices import tally
    from lms.notices.models import Notice, NoticeAssignment
    from lms.notices.service import withdraw

    logins, clients, notice_id = _people_and_notice(app, person, "WD", "撤回时确认", count=6)
    for client in clients:
        client.post(f"/notices/{notice_id}/read", data={"csrf_token": csrf_token(client, f"/notices/{notice_id}")})
    tokens = [csrf_token(c, f"/notices/{notice_id}") for c in clients]

    def pull_back():
        with app.app_context():
            try:
                withdraw(db.session.get(Notice, notice_id), "发错了", person.id)
                db.session.commit()
                return "withdrawn"
            finally:
                db.session.remove()

    calls = [(lambda c=c, t=t: c.post(f"/notices/{notice_id}/attest", data={"csrf_token": t}).status_code)
             for c, t in zip(clients, tokens)]
    results = _together([*calls, pull_back])
    assert results[-1] == "withdrawn" and all(code in (302, 409, 400) for code in results[:-1]), results
    with app.app_context():
        rows = db.session.scalars(select(NoticeAssignment).where(
            NoticeAssignment.notice_id == notice_id, NoticeAssignment.user_id.in_([u.id for u in logins]))).all()
        assert len(rows) == 6
        assert all((a.completed_at is None) != (a.cancelled_at is None) for a in rows)
        assert tally.differences(db.session, [notice_id]) == []


def test_two_withdrawals_at_once_withdraw_the_notice_once(live):
    """Two trainers withdraw the same notice at the same moment: one withdrawal, with its reason, and
    the other told it is withdrawn already."""
    app, person = live
    from lms.audit import AuditEvent
    from lms.notices.models import Notice
    from lms.notices.service import withdraw

    _, _, notice_id = _people_and_notice(app, person, "WW", "两人同时撤回", count=1)
    results = _reasoned_at_once(app, lambda reason: withdraw(db.session.get(Notice, notice_id), reason, person.id),
                                ["发错了", "重复发布"])
    assert sorted(results, key=len) in (["发错了", "这条通知已经撤回。"], ["重复发布", "这条通知已经撤回。"]), results
    with app.app_context():
        assert db.session.get(Notice, notice_id).withdraw_reason in results
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "notice.withdrawn", AuditEvent.object_id == str(notice_id))) == 1


def test_a_double_tap_on_a_notices_check_opens_one_attempt(live):
    app, person = live
    from lms.exams.models import Attempt

    logins, clients, notice_id = _people_and_notice(app, person, "DT", "小测连点", count=1,
                                                    check="business-handling/证件核验/练习")
    second = app.test_client()
    _login_all(app, [second], logins[0])
    taps = [clients[0], second]
    tokens = [csrf_token(c, f"/notices/{notice_id}") for c in taps]
    codes = _together([(lambda c=c, t=t: c.post(f"/notices/{notice_id}/check", data={"csrf_token": t}).status_code)
                       for c, t in zip(taps, tokens)])
    assert codes == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(
            Attempt.notice_id == notice_id, Attempt.user_id == logins[0].id)) == 1


def test_revocations_at_once_revoke_the_certificate_once(live):
    """Trainers revoke the same 上岗证 at the same moment: one revocation, with its reason, and the
    others told it is revoked already."""
    from datetime import timedelta

    from lms.audit import AuditEvent
    from lms.certification.models import Certificate, Certification
    from lms.certification.service import revoke
    from lms.clock import now

    app, person = live
    with app.app_context():
        certification = db.session.scalar(select(Certification).where(Certification.active.is_(True)))
        certificate = Certificate(code="RACEREV01", user_id=person.id, certification_id=certification.id,
                                  issued_at=now(), expires_at=now() + timedelta(days=365), basis={})
        db.session.add(certificate)
        db.session.commit()
        certificate_id = certificate.id

    reasons = [f"撤销原因{i}" for i in range(6)]
    results = _reasoned_at_once(app, lambda reason: revoke(db.session.get(Certificate, certificate_id), reason,
                                                           person.id), reasons)
    assert sorted(results).count("这张上岗证已经撤销。") == 5 and len(set(results) & set(reasons)) == 1, results
    with app.app_context():
        assert db.session.get(Certificate, certificate_id).revoke_reason in results
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "certificate.revoked", AuditEvent.object_id == "RACEREV01")) == 1


# Changes to the organisation (people, stores, regions, leave) check something and then write. Two of
# them at the same moment each see the state before the other's write, unless they take turns.

@contextmanager
def _slow_writes(app, *tables: str, seconds: float = 0.05):
    """Widen the gap between a use case's check and its write: every INSERT into or UPDATE of these
    tables waits a moment first. Two requests at the same moment then both check before either
    writes unless a lock makes them take turns, so without the lock the test fails every time."""
    pattern = re.compile(rf'^\s*(INSERT INTO|UPDATE)\s+"?({"|".join(tables)})"?[\s(]', re.I)

    def pause(conn, cursor, statement, *args):
        if pattern.match(statement):
            time.sleep(seconds)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", pause)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", pause)


def _staff(app, emp_no: str, name: str, role: str = "staff", store_id: int | None = None) -> int:
    """A person added directly to the live database (committed); their id."""
    from lms.accounts.models import User

    with app.app_context():
        user = User(emp_no=emp_no, name=name, role=role, position="综合受理" if role == "staff" else None,
                    store_id=store_id)
        user.set_password("Race-pass-123")
        db.session.add(user)
        db.session.commit()
        return user.id


def _data(app, user_id: int, **changes):
    """The person's editable fields as they stand, with `changes`."""
    from dataclasses import replace

    from lms.accounts.models import User
    from lms.accounts.service import PersonData

    with app.app_context():
        u = db.session.get(User, user_id)
        return replace(PersonData(u.emp_no, u.name, u.role, u.position, u.store_id, u.hire_date, u.email), **changes)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(live):
    """The last-admin rule holds when two admins each take the other's admin role at the same moment."""
    from sqlalchemy import update

    from lms.accounts.models import User
    from lms.accounts.service import update_person

    app, _ = live
    with app.app_context():
        db.session.execute(update(User).where(User.role == "admin").values(active=False))
        db.session.commit()
    first, second = _staff(app, "RACEADM1", "管理甲", "admin"), _staff(app, "RACEADM2", "管理乙", "admin")
    plan = {"甲": (first, second), "乙": (second, first)}  # who demotes whom

    def demote(name):
        target, actor = plan[name]
        update_person(db.session.get(User, target), _data(app, target, role="trainer"), db.session.get(User, actor))

    with _slow_writes(app, User.__table__.name):
        results = _reasoned_at_once(app, demote, ["甲", "乙"])
    assert sorted(results) in (["甲", "这是最后一个在用的管理员账号，不能改成其他角色"],
                               ["乙", "这是最后一个在用的管理员账号，不能改成其他角色"]), results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(
            User.role == "admin", User.active.is_(True))) == 1


def test_the_same_new_emp_no_twice_at_once_makes_one_person(live):
    """Two admins create the same 工号 at the same moment: one person, and the other told it exists."""
    from lms.accounts.models import User
    from lms.accounts.service import PersonData, create_person

    app, person = live
    with _slow_writes(app, User.__table__.name):
        results = _reasoned_at_once(app, lambda name: create_person(
            PersonData("RACEDUP", name, "staff", "综合受理", person.store_id, None), db.session.get(User, person.id)),
            ["重复甲", "重复乙"])
    assert sorted(results, key=len)[1] == "工号「RACEDUP」已存在" and set(results) & {"重复甲", "重复乙"}, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.emp_no == "RACEDUP")) == 1


def test_the_same_new_store_twice_at_once_makes_one_store(live):
    from lms.accounts.models import Store, User
    from lms.accounts.service import save_store

    app, person = live
    with app.app_context():
        region_id = db.session.get(Store, person.store_id).region_id
    with _slow_writes(app, Store.__table__.name):
        results = _reasoned_at_once(app, lambda address: save_store(
            None, "RACES1", "并发新厅", region_id, address, db.session.get(User, person.id)), ["一号", "二号"])
    assert sorted(results, key=len)[1].startswith("营业厅编码或名称已被") and set(results) & {"一号", "二号"}, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Store).where(Store.code == "RACES1")) == 1


def test_overlapping_leaves_entered_at_once_record_one(live):
    """Two people enter overlapping leave for the same person at the same moment: one leave."""
    from datetime import date

    from lms.accounts.models import Leave, User
    from lms.accounts.service import add_leave

    app, person = live
    someone = _staff(app, "RACELV", "请假", store_id=person.store_id)
    spans = {"年假": (date(2027, 3, 1), date(2027, 3, 5)), "事假": (date(2027, 3, 4), date(2027, 3, 8))}
    with _slow_writes(app, Leave.__table__.name):
        results = _reasoned_at_once(app, lambda reason: add_leave(db.session.get(User, someone), *spans[reason], reason,
                                                                  db.session.get(User, person.id)), list(spans))
    assert len(set(results) & set(spans)) == 1 and any("重叠" in r for r in results), results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Leave).where(Leave.user_id == someone)) == 1


def test_a_store_closed_while_someone_moves_in_keeps_nobody_in_a_closed_store(live):
    from lms.accounts.models import Store, User
    from lms.accounts.service import save_store, set_store_active, update_person

    app, person = live
    with app.app_context():
        actor = db.session.get(User, person.id)
        store = save_store(None, "RACES2", "将关闭的厅", db.session.get(Store, person.store_id).region_id, "", actor)
        db.session.commit()
        store_id = store.id
    mover = _staff(app, "RACEMV", "调动", store_id=person.store_id)

    def act(what):
        actor = db.session.get(User, person.id)
        if what == "关闭":
            set_store_active(db.session.get(Store, store_id), False, actor)
        else:
            update_person(db.session.get(User, mover), _data(app, mover, store_id=store_id), actor)

    with _slow_writes(app, Store.__table__.name, User.__table__.name):
        results = _reasoned_at_once(app, act, ["关闭", "调入"])
        with app.app_context():
            closed = not db.session.get(Store, store_id).active
            moved = db.session.get(User, mover).store_id == store_id
    assert closed != moved, results  # one of the two happened, the other was refused
    assert results.count("关闭") + results.count("调入") == 1, results


def test_two_edits_of_a_module_at_once_make_two_versions(live):
    """Two trainers save the same module at the same moment: both texts are kept, as consecutive versions."""
    from lms.courses.models import Module, ModuleVersion
    from lms.courses.service import edit_module

    app, person = live
    with app.app_context():
        module = db.session.scalar(select(Module).where(Module.active.is_(True)).order_by(Module.id).limit(1))
        module_id, title, before = module.id, module.title, module.version
    bodies = ["甲改的正文。", "乙改的正文。"]
    results = _reasoned_at_once(app, lambda body: edit_module(db.session.get(Module, module_id), title, body,
                                                              person.id), bodies)
    assert sorted(results) == sorted(bodies), results
    with app.app_context():
        module = db.session.get(Module, module_id)
        assert module.version == before + 2 and module.body_md in bodies
        kept = db.session.scalars(select(ModuleVersion.body_md).where(
            ModuleVersion.module_id == module_id, ModuleVersion.version > before)).all()
        assert sorted(kept) == sorted(bodies)


def test_studying_a_new_version_twice_at_once_records_it_once(live):
    from lms.audit import AuditEvent
    from lms.courses.models import Module, ModuleProgress
    from lms.courses.service import complete_module
    from lms.clock import now

    app, person = live
    someone = _staff(app, "RACEMOD", "重学", store_id=person.store_id)
    with app.app_context():
        module = db.session.scalar(select(Module).where(Module.active.is_(True)).order_by(Module.id.desc()).limit(1))
        module_id = module.id
        db.session.add(ModuleProgress(user_id=someone, module_id=module_id, version=module.version - 1,
                                      completed_at=now()))
        db.session.commit()
    results = _reasoned_at_once(app, lambda tap: complete_module(someone, db.session.get(Module, module_id)),
                                ["一", "二"])
    assert sorted(results) == ["一", "二"], results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "module.completed", AuditEvent.actor_id == someone)) == 1


def test_a_clock_start_that_arrives_after_the_reply_changes_nothing(live):
    """「开始（电话响起）」 pressed in one tab while the reply was sent from another: the press, read before
    the reply and arriving after it, neither restarts the next node's clock nor moves its shown time."""
    from sqlalchemy import update

    from lms.roleplay.models import Run, Scenario
    from lms.roleplay.service import run_scenario, start_run, start_timer

    app, person = live
    with app.test_request_context(method="POST"):
        run = start_run(person.id, db.session.scalar(select(Scenario).where(Scenario.slug == "phone-call")), "text")
        db.session.commit()
        run_id = run.id
    with app.test_request_context(method="POST"):
        run = db.session.get(Run, run_id)  # the press's request has read the run
        node = run_scenario(run).nodes[run.node]
        assert node.timed
        with db.engine.begin() as other:  # meanwhile the reply's request took turn 1 and moved on
            other.execute(update(Run).where(Run.id == run_id).values(turn_count=1, node="listen"))
            shown = other.scalar(select(Run.node_shown_at).where(Run.id == run_id))
        assert start_timer(run, node) is False
        db.session.commit()
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert (run.turn_count, run.node, run.timer_turn, run.node_shown_at) == (1, "listen", None, shown)


def test_a_double_tap_on_creating_content_creates_it_once(live):
    """A trainer's double tap on 「创建」 (a new scenario, a new question): one row, and the second tap
    told the slug or name is taken — not an error page from the unique constraint."""
    from lms.courses.models import Course
    from lms.exams.bank import create_question
    from lms.exams.models import Question
    from lms.exams.questions import QuestionSpec
    from lms.authoring.drafts import create_from_template
    from lms.roleplay.models import Scenario

    app, person = live
    results = _reasoned_at_once(app, lambda title: create_from_template("race-new", title, "counter", person.id),
                                ["连点甲", "连点乙"])
    assert len(set(results) & {"连点甲", "连点乙"}) == 1 and "编号「race-new」已被别的情景使用，请换一个。" in results, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Scenario).where(Scenario.slug == "race-new")) == 1
        course_id = db.session.scalar(select(Course.id).order_by(Course.id).limit(1))
    spec = QuestionSpec("truefalse", "连点的题", "可以对客户说「你好」代替「您好」。", truth=False)
    results = _reasoned_at_once(app, lambda tap: create_question(db.session.get(Course, course_id), spec, person.id),
                                ["一", "二"])
    assert len(set(results) & {"一", "二"}) == 1 and any("已有名为「连点的题」" in r for r in results if r), results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question).where(
            Question.course_id == course_id, Question.name == "连点的题")) == 1


def test_a_double_tap_on_saving_a_new_exam_saves_it_once(live):
    """The same new exam sent twice at once (two taps on 「保存」): one exam, and the second page says the
    编号 is taken, with the text kept — no error page."""
    from lms.exams.models import Exam

    app, _ = live
    trainer_id = _staff(app, "RACETR", "培训", role="trainer")
    trainer = Person(trainer_id, "RACETR", "培训", "trainer", None, None, "Race-pass-123")
    with app.app_context():
        text = db.session.scalar(select(Exam.yaml_text).where(Exam.active.is_(True)).order_by(Exam.id).limit(1))
    taps = [app.test_client(), app.test_client()]
    _login_all(app, taps, trainer)
    tokens = [csrf_token(c, "/exams/manage/new/yaml") for c in taps]
    with _slow_writes(app, Exam.__table__.name):
        responses = _together([(lambda c=c, t=t: c.post("/exams/manage/new/yaml", data={
            "csrf_token": t, "slug": "race-exam", "yaml_text": text})) for c, t in zip(taps, tokens)])
        codes = sorted(r.status_code for r in responses)
    assert codes == [200, 302], codes
    refused = next(r for r in responses if r.status_code == 200).get_data(as_text=True)
    assert "考试编号「race-exam」已存在" in refused
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Exam).where(Exam.slug == "race-exam")) == 1


def _clients_of(app, person, count: int = 2) -> list:
    clients = [app.test_client() for _ in range(count)]
    _login_all(app, clients, person)
    return clients


def _tapped_together(clients, page: str, url: str, data: dict) -> list:
    """The same form posted from each client at the same moment (a double tap): the responses."""
    tokens = [csrf_token(c, page) for c in clients]
    return _together([(lambda c=c, t=t: c.post(url, data={**data, "csrf_token": t})) for c, t in zip(clients, tokens)])


def test_a_double_tap_on_remind_sends_one_reminder(live):
    from lms.home import REMINDER_TITLE
    from lms.notices.models import Message

    app, person = live
    manager_id = _staff(app, "RACEMGR", "店长", role="manager", store_id=person.store_id)
    manager = Person(manager_id, "RACEMGR", "店长", "manager", person.store_id, None, "Race-pass-123")
    with _slow_writes(app, Message.__table__.name):
        responses = _tapped_together(_clients_of(app, manager), "/", "/today/remind", {"user_id": person.id})
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.user_id == person.id, Message.title == REMINDER_TITLE)) == 1


def test_a_double_tap_on_starting_a_role_play_leaves_one_run_going(live):
    from lms.roleplay.models import Run, Scenario

    app, _ = live
    learner_id = _staff(app, "RACESTART", "开始连点")
    learner = Person(learner_id, "RACESTART", "开始连点", "staff", None, "综合受理", "Race-pass-123")
    with _slow_writes(app, Run.__table__.name):
        responses = _tapped_together(_clients_of(app, learner), "/practice/long-wait", "/practice/long-wait/start",
                                     {"mode": "text"})
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        scenario_id = db.session.scalar(select(Scenario.id).where(Scenario.slug == "long-wait"))
        assert db.session.scalar(select(func.count()).select_from(Run).where(
            Run.user_id == learner_id, Run.scenario_id == scenario_id, Run.status == "active")) == 1


def test_double_taps_in_the_scenario_editor_give_no_error_page(live):
    """The first save of a draft and a test-play, each tapped twice at once: one draft, one test copy."""
    from lms.roleplay.models import Scenario, ScenarioDraft, ScenarioVersion
    from lms.roleplay.service import current_version

    app, _ = live
    trainer_id = _staff(app, "RACEED", "编辑", role="trainer")
    trainer = Person(trainer_id, "RACEED", "编辑", "trainer", None, None, "Race-pass-123")
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == "phone-call"))
        scenario_id, text = row.id, current_version(row).yaml_text
    editor = "/author/scenarios/phone-call"
    edited = text.replace("title:", "title: 连点", 1)
    responses = _tapped_together(_clients_of(app, trainer), f"{editor}/yaml", f"{editor}/yaml",
                                 {"action": "draft", "yaml_text": edited})
    assert [r.status_code for r in responses] == [302, 302]
    responses = _tapped_together(_clients_of(app, trainer), editor, f"{editor}/test", {})
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScenarioDraft).where(
            ScenarioDraft.scenario_id == scenario_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(ScenarioVersion).where(
            ScenarioVersion.scenario_id == scenario_id, ScenarioVersion.origin == "draft")) == 1


def test_a_double_tap_on_publishing_a_notice_publishes_it_once(live):
    """「发布并通知到人」 tapped twice: one notice, everyone assigned once, and the second tap lands on the
    first's board, told it was published already."""
    from lms.notices.models import Notice, NoticeAssignment

    app, _ = live
    trainer_id = _staff(app, "RACEPUB", "发布", role="trainer")
    trainer = Person(trainer_id, "RACEPUB", "发布", "trainer", None, None, "Race-pass-123")
    clients = _clients_of(app, trainer)
    with _slow_writes(app, Notice.__table__.name):
        responses = _tapped_together(clients, "/notices/new", "/notices/new",
                                     {"title": "新业务：连点发布", "body": "正文。", "issued_at": ""})
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        notices = db.session.scalars(select(Notice.id).where(Notice.title == "新业务：连点发布")).all()
        assert len(notices) == 1
        assert db.session.scalar(select(func.count()).select_from(NoticeAssignment).where(
            NoticeAssignment.notice_id == notices[0])) > 0
    assert {r.headers["Location"] for r in responses} == {f"/notices/{notices[0]}/board"}
    pages = [c.get(f"/notices/{notices[0]}/board").get_data(as_text=True) for c in clients]
    assert sum("这条通知刚刚已经发布过了（可能是重复点击），没有再发一次。" in p for p in pages) == 1


def test_a_double_tap_on_recording_a_training_session_records_it_once(live):
    from lms.reports.models import TrainingSession

    app, person = live
    manager_id = _staff(app, "RACESES", "店长乙", role="manager", store_id=person.store_id)
    manager = Person(manager_id, "RACESES", "店长乙", "manager", person.store_id, None, "Race-pass-123")
    url = f"/store/{person.store_id}/sessions"
    with _slow_writes(app, TrainingSession.__table__.name):
        responses = _tapped_together(_clients_of(app, manager), url, url, {
            "trainer_name": "店长乙", "held_at": "2026-11-20T09:00", "place": "会议室", "content": "连点登记的培训",
            "assessment": "", "attendees": [str(person.id)]})
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrainingSession).where(
            TrainingSession.content == "连点登记的培训")) == 1


def test_a_double_tap_on_importing_a_roster_imports_it_once(live):
    """「确认导入」 tapped twice: the people are created once, one import is recorded, and the second tap
    is told the roster was imported already."""
    import io

    from lms.accounts.models import User
    from lms.audit import AuditEvent

    app, person = live
    admin_id = _staff(app, "RACEROS", "导入", role="admin")
    admin = Person(admin_id, "RACEROS", "导入", "admin", None, None, "Race-pass-123")
    clients = _clients_of(app, admin)
    token = csrf_token(clients[0], "/admin/roster")
    roster = "工号,姓名,营业厅,岗位,角色,入职日期\nRACENEW1,新人甲,C001,综合受理,staff,2026-11-20\n".encode()
    preview = clients[0].post("/admin/roster", data={"csrf_token": token, "file": (io.BytesIO(roster), "r.csv")},
                              content_type="multipart/form-data").get_data(as_text=True)
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', preview).group(1)
    with _slow_writes(app, User.__table__.name):
        responses = _tapped_together(clients, "/admin/roster", "/admin/roster/confirm", {"payload": payload})
    assert sorted(r.status_code for r in responses) == [200, 302]  # the passwords page, and back to the list
    page = clients[[r.status_code for r in responses].index(302)].get("/admin/people").get_data(as_text=True)
    assert "这份名单已经导入过了（可能是重复点击或后退后重新提交）。" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.emp_no == "RACENEW1")) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "roster.imported", AuditEvent.actor_id == admin_id)) == 1


def test_two_things_done_at_once_by_one_person_both_count_in_their_kept_standing(live):
    """Two tabs of one learner finish two courses at the same moment: each transaction works out the
    person's kept 上岗证 standing before it commits (lms/certification/standing.py); the second
    must do so after the first committed, or its row, written last, misses the first course
    (PostgreSQL only: SQLite's one writer already orders them)."""
    from lms.certification.models import PersonStanding
    from lms.certification.standing import SEPARATOR
    from lms.clock import now
    from lms.courses.models import ModuleProgress

    app, person = live
    someone = _staff(app, "RACESTAND", "两门课", store_id=person.store_id)
    courses = _courses_by_title(app, "etiquette", "communication")
    with app.app_context():
        assert set(courses) <= set(db.session.get(PersonStanding, someone).missing.split(SEPARATOR))

    def study(title):
        for module_id, version in courses[title]:
            db.session.add(ModuleProgress(user_id=someone, module_id=module_id, version=version, completed_at=now()))

    with _slow_writes(app, "person_standing"):
        assert sorted(_reasoned_at_once(app, study, list(courses))) == sorted(courses)
    _both_counted(app, someone, courses)


def test_a_certificate_decision_and_another_change_at_once_both_count_in_the_kept_standing(live):
    """One tab finishes a course and the 上岗证 is decided on: that evaluation also gives the kept
    standing at the commit (standing.evaluate_for_decision), so it must be made holding the
    person's row, as the commit's own evaluation is. At the same moment another transaction brings
    the person's study of a second course up to its current version, an UPDATE that does not wait
    for the decision's lock on the person (no new row, so no key check on them): the row written
    last counts both courses (PostgreSQL only: SQLite's one writer orders them)."""
    from lms.certification.models import PersonStanding
    from lms.certification.service import after_progress
    from lms.certification.standing import SEPARATOR
    from lms.clock import now
    from lms.courses.models import ModuleProgress

    app, person = live
    someone = _staff(app, "RACEDECIDE", "边考边学", store_id=person.store_id)
    courses = _courses_by_title(app, "etiquette", "communication")
    with app.app_context():
        deciding, updating = courses
        for module_id, version in courses[updating]:  # studied in an older version: not counted yet
            db.session.add(ModuleProgress(user_id=someone, module_id=module_id, version=version - 1,
                                          completed_at=now()))
        db.session.commit()
        assert set(courses) <= set(db.session.get(PersonStanding, someone).missing.split(SEPARATOR))

    def act(title):
        if title == deciding:
            for module_id, version in courses[title]:
                db.session.add(ModuleProgress(user_id=someone, module_id=module_id, version=version,
                                              completed_at=now()))
            after_progress(someone)
        else:
            for module_id, version in courses[title]:
                row = db.session.scalar(select(ModuleProgress).where(ModuleProgress.user_id == someone,
                                                                     ModuleProgress.module_id == module_id))
                row.version, row.completed_at = version, now()

    with _slow_writes(app, "person_standing"):
        assert sorted(_reasoned_at_once(app, act, list(courses))) == sorted(courses)
    _both_counted(app, someone, courses)


def _both_counted(app, someone: int, courses) -> None:
    """The person's kept standing misses none of these courses, and agrees with a fresh evaluation."""
    from lms.certification.models import PersonStanding
    from lms.certification.standing import SEPARATOR, differences

    with app.app_context():
        missing = db.session.get(PersonStanding, someone).missing.split(SEPARATOR)
        assert not set(courses) & set(missing), missing
        assert differences() == []


def _courses_by_title(app, *slugs: str) -> dict[str, list[tuple[int, int]]]:
    """Each course's title, with (id, version) of its active modules."""
    from lms.courses.models import Course

    with app.app_context():
        titles = [db.session.scalar(select(Course.title).where(Course.slug == slug)) for slug in slugs]
    return {title: _a_course(app, slug) for title, slug in zip(titles, slugs)}


def _a_course(app, slug: str = "etiquette") -> list[tuple[int, int]]:
    """(id, version) of the active modules of a course."""
    from lms.courses.models import Course, Module

    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        return [(m.id, m.version) for m in db.session.scalars(
            select(Module).where(Module.course_id == course.id, Module.active.is_(True)))]


def _without_kept_row(app, user_id: int) -> None:
    """Take away a person's kept standing, as before the sweep first filled the table."""
    from lms.certification.models import PersonStanding

    with app.app_context():
        db.session.execute(delete(PersonStanding).where(PersonStanding.user_id == user_id))
        db.session.commit()


def test_progress_committed_while_the_sweep_works_a_person_out_is_not_lost(live, monkeypatch):
    """The sweep reads a person's facts, then writes their row; a learner's progress committed in
    between must not be overwritten by what the sweep read before it (SQLite: the sweep takes the
    write lock before it reads; PostgreSQL: the person's row lock)."""
    from lms.certification import standing
    from lms.clock import now
    from lms.courses.models import ModuleProgress

    app, person = live
    someone = _staff(app, "RACESWEEP", "扫到一半", store_id=person.store_id)
    modules = _a_course(app)
    _without_kept_row(app, someone)
    real, threads = standing._evaluated, []

    def study():
        with app.app_context():
            for module_id, version in modules:
                db.session.add(ModuleProgress(user_id=someone, module_id=module_id, version=version,
                                              completed_at=now()))
            db.session.commit()
            db.session.remove()

    def evaluated(people, suspended, at):
        result = real(people, suspended, at)
        if not threads:  # the learner's request arrives between the sweep's reading and its writing
            threads.append(threading.Thread(target=study))
            threads[0].start()
            time.sleep(0.3)
        return result

    monkeypatch.setattr(standing, "_evaluated", evaluated)
    with app.app_context():
        standing.refresh_stale()
        db.session.remove()
    threads[0].join()
    monkeypatch.setattr(standing, "_evaluated", real)
    with app.app_context():
        assert standing.differences() == []


def test_a_person_locked_by_a_request_while_the_sweep_makes_their_row_is_no_deadlock(live):
    """A request holds a person's row (lock_row, as starting an exam does) and at its commit works
    out their kept standing; the sweep makes that person's first kept row at the same moment. With a
    foreign key from the kept row to the person, each waited for the other (PostgreSQL)."""
    from lms.accounts.models import User
    from lms.certification import standing
    from lms.clock import now
    from lms.courses.models import ModuleProgress
    from lms.locks import lock_row

    app, person = live
    someone = _staff(app, "RACEFK", "先锁人", store_id=person.store_id)
    modules = _a_course(app, "communication")
    _without_kept_row(app, someone)
    locked = threading.Event()

    def request():
        with app.app_context():
            try:
                lock_row(User, someone)
                locked.set()
                time.sleep(0.3)
                module_id, version = modules[0]
                db.session.add(ModuleProgress(user_id=someone, module_id=module_id, version=version,
                                              completed_at=now()))
                db.session.commit()
                return "ok"
            except Exception as exc:  # noqa: BLE001 - what the learner would have seen
                db.session.rollback()
                return repr(exc)
            finally:
                db.session.remove()

    def sweep():
        locked.wait(5)
        with app.app_context():
            try:
                standing.refresh_stale()
                return "ok"
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                return repr(exc)
            finally:
                db.session.remove()

    assert _together([request, sweep]) == ["ok", "ok"]
    with app.app_context():
        assert standing.differences() == []
