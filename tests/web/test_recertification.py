"""Certificates that stay current: one certificate's life on a frozen clock — issue, the renewal
window, each expiry reminder once on every channel, renewal inside the window from the old expiry
date, expiry, and the full path after expiry — and the history every view keeps of it."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from lms import events
from lms.accounts.models import Store, User
from lms.certification.models import Certificate, Certification
from lms.certification.status import add_months
from lms.courses.models import Course, Module
from lms.courses.service import active_modules, complete_module, edit_module
from lms.errors import DomainError
from lms.exams.models import Exam
from lms.exams.service import start_exam, submit
from lms.extensions import db
from lms.notices import reminders
from lms.notices.models import Message, Outbox
from tests.conftest import login
from tests.web.test_exams import exam  # noqa: F401  (fixture)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
DAY = timedelta(days=1)
WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=t"


@pytest.fixture
def recert(app, exam):  # noqa: F811
    """Only one certification, for 综合受理: the phone-service course, long-wait at 70 and the test exam
    (2 attempts, 30 minutes apart); to renew, the exam and long-wait passed again within 60 days of expiry."""
    slug = exam()
    with app.app_context():
        db.session.execute(update(Certification).values(active=False))
        db.session.add(Certification(
            slug="zz-recert", title="续证测试上岗证", positions=["综合受理"], version=1,
            rule={"courses": ["phone-service"], "scenarios": {"long-wait": 70}, "exam": slug, "validity_months": 12,
                  "recertification": {"window_days": 60, "scenarios": {"long-wait": 70}, "exam": slug}}))
        db.session.commit()
    return slug


def study(app, user_id):
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "phone-service"))
        for module in active_modules(course):
            complete_module(user_id, db.session.get(Module, module.id))
        db.session.commit()


def sit_exam(app, user_id, slug, right=True):
    """Start and hand in the test exam through the exams service (a pass tells certification)."""
    with app.app_context():
        attempt = start_exam(user_id, db.session.scalar(select(Exam).where(Exam.slug == slug)))
        answers = {"t-single": 0, "t-tf": False, "t-short": "48小时", "t-num": "10"}
        for r in attempt.responses:
            r.answer = answers[r.question_version.spec["name"]] if right else None
        submit(attempt)
        db.session.commit()
        return attempt.passed


def pass_scenario(app, user_id, score=82, slug="long-wait"):
    """A typing-mode run of the scenario passed now, announced as the role-play service does."""
    from lms.clock import now
    from lms.roleplay.models import PhrasebookVersion, Run, Scenario, ScenarioVersion

    with app.app_context():
        scenario = db.session.scalar(select(Scenario).where(Scenario.slug == slug))
        version = db.session.scalar(select(ScenarioVersion.id).where(ScenarioVersion.scenario_id == scenario.id)
                                    .order_by(ScenarioVersion.version.desc()).limit(1))
        phrasebook = db.session.scalar(select(PhrasebookVersion.id).order_by(PhrasebookVersion.version.desc()).limit(1))
        run = Run(user_id=user_id, scenario_id=scenario.id, scenario_version_id=version,
                  phrasebook_version_id=phrasebook, mode="text", status="finished", node="end",
                  started_at=now() - timedelta(minutes=10), finished_at=now(), score=score, passed=True)
        db.session.add(run)
        db.session.flush()
        events.run_finished.send(None, run=run, passed=True)
        db.session.commit()


def certificates(app, user_id):
    with app.app_context():
        return db.session.execute(select(Certificate.code, Certificate.issued_at, Certificate.valid_from,
                                         Certificate.expires_at, Certificate.renewed_from_id, Certificate.id)
                                  .where(Certificate.user_id == user_id).order_by(Certificate.id)).all()


def sweep(app) -> str:
    """Run `flask lms sweep` once; return what it printed."""
    result = app.test_cli_runner().invoke(args=["lms", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output


def outbox(app):
    """What the outbox holds: (certificate, kind, channel, recipient), in the order queued."""
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(Outbox.certificate_id, Outbox.kind, Outbox.channel, Outbox.recipient_id)
            .where(Outbox.certificate_id.is_not(None)).order_by(Outbox.id))]


def learner_page(app, person) -> str:
    client = app.test_client()
    login(client, person)
    return client.get("/certificates").get_data(as_text=True)


def status_of(app, person) -> str:
    page = learner_page(app, person)
    return re.search(r"<header><strong>续证测试上岗证</strong> <span class=\"badge \w+\">([^<]+)</span>", page).group(1)


def renewal_of(app, person) -> tuple[str, list[tuple[str, str]]]:
    """The learner's 续证 box: its first line, and each requirement of the path with its badge."""
    box = re.search(r'<article id="renewal">(.*?)</article>', learner_page(app, person), re.S).group(1)
    first = re.sub(r"<[^>]+>", "", re.search(r"<p>(.*?)</p>", box, re.S).group(1))
    return first, re.findall(r'<li><a href="[^"]+">([^<]+)</a><span>(?:<span class="badge \w+">)?([^<]+)</span>', box)


def test_one_certificate_from_issue_through_renewal_and_expiry_to_the_full_path(
        app, world, recert, frozen, monkeypatch):
    staff, manager = world["staff_a"], world["manager_a"]
    with app.app_context():
        db.session.get(User, staff.id).email = "holder@example.com"
        db.session.get(User, manager.id).email = "manager@example.com"
        db.session.get(Store, world["store_a"]).webhook_url = WEBHOOK
        db.session.commit()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    mails, robots = [], []
    monkeypatch.setattr(reminders, "_send_email", lambda address, payload: mails.append((address, payload["title"])))
    monkeypatch.setattr(reminders, "_send_webhook", lambda url, payload: robots.append(payload["title"]))

    # -- issue: the course, the scenario, the exam failed once and then passed
    frozen(T0)
    study(app, staff.id)
    pass_scenario(app, staff.id)
    assert sit_exam(app, staff.id, recert, right=False) is False
    issued = frozen(T0 + timedelta(hours=1))
    assert sit_exam(app, staff.id, recert) is True
    [(code_a, issued_a, from_a, expires, renewed_from, id_a)] = certificates(app, staff.id)
    assert issued_a == from_a == issued and expires == add_months(issued, 12) and renewed_from is None
    opens = expires - timedelta(days=60)

    frozen(T0 + DAY)
    sweep(app)
    assert outbox(app) == []  # nothing is due a year ahead

    # -- before the window: a pass does not count, and the exam's two attempts are used up
    frozen(opens - DAY)
    pass_scenario(app, staff.id, score=95)
    assert len(certificates(app, staff.id)) == 1
    first, path = renewal_of(app, staff)
    assert first.startswith("2027年1月1日起可以续证") and "新证的有效期从2027年3月2日起算" in first
    assert path == [("情景演练：久等客户的接待（≥70分）", "未开放"), ("考试：测试上岗考试", "未开放")]
    with pytest.raises(DomainError, match="已用完全部2次考试机会"):
        sit_exam(app, staff.id, recert)
    frozen(opens - timedelta(minutes=1))
    sweep(app)
    assert outbox(app) == []

    # -- the window opens: the holder's 60-day reminder, in-app and e-mail, once
    frozen(opens)
    assert "新排队提醒2条" in sweep(app)
    assert "新排队提醒0条" in sweep(app)
    assert outbox(app) == [(id_a, "cert-60d", "inapp", staff.id), (id_a, "cert-60d", "email", staff.id)]
    assert mails == [("holder@example.com", "上岗证将于2027年3月2日到期")] and robots == []
    assert status_of(app, staff) == "有效"

    # -- inside the window the attempts count afresh; the exam alone does not renew
    frozen(opens + 15 * DAY)
    assert sit_exam(app, staff.id, recert) is True
    assert len(certificates(app, staff.id)) == 1
    first, path = renewal_of(app, staff)
    assert first.startswith("到2027年3月2日之前通过下面的要求，上岗证会自动续期")
    assert path == [("情景演练：久等客户的接待（≥70分）", "未通过"), ("考试：测试上岗考试", "通过")]

    # -- 30 days before expiry: the holder again, and the store's manager (in-app, e-mail, the robot)
    frozen(expires - 30 * DAY)
    assert "新排队提醒5条" in sweep(app)
    sweep(app)
    assert outbox(app)[2:] == [(id_a, "cert-30d", "inapp", staff.id), (id_a, "cert-30d", "email", staff.id),
                               (id_a, "cert-mgr-30d", "inapp", manager.id),
                               (id_a, "cert-mgr-30d", "email", manager.id), (id_a, "cert-mgr-30d", "webhook", None)]
    assert robots == [f"员工上岗证将于2027年3月2日到期：{staff.name}"]
    assert status_of(app, staff) == "即将到期"

    # -- the scenario passed again inside the window completes the path: renewed from the old expiry date
    renewed = frozen(expires - 20 * DAY)
    pass_scenario(app, staff.id)
    [_, (code_b, issued_b, from_b, expires_b, renewed_from, id_b)] = certificates(app, staff.id)
    assert issued_b == renewed and from_b == expires and expires_b == add_months(expires, 12)
    assert renewed_from == id_a
    assert status_of(app, staff) == "有效"

    # -- the old certificate's 7-day and expiry reminders never come; nothing else is sent
    for moment in (expires - 7 * DAY, expires, expires + DAY):
        frozen(moment)
        assert "新排队提醒0条" in sweep(app)
        assert status_of(app, staff) == "有效"

    # -- the renewed certificate runs out without a renewal: every reminder once
    sent = len(outbox(app))
    for moment, queued in ((expires_b - 60 * DAY, 2), (expires_b - 30 * DAY, 5), (expires_b - 7 * DAY, 2),
                           (expires_b - timedelta(seconds=1), 0), (expires_b, 5)):
        frozen(moment)
        assert f"新排队提醒{queued}条" in sweep(app), moment
        assert "新排队提醒0条" in sweep(app)
    assert [(kind, channel) for cid, kind, channel, _ in outbox(app)[sent:] if cid == id_b] == [
        ("cert-60d", "inapp"), ("cert-60d", "email"), ("cert-30d", "inapp"), ("cert-30d", "email"),
        ("cert-mgr-30d", "inapp"), ("cert-mgr-30d", "email"), ("cert-mgr-30d", "webhook"),
        ("cert-7d", "inapp"), ("cert-7d", "email"),
        ("cert-expired", "inapp"), ("cert-expired", "email"),
        ("cert-mgr-expired", "inapp"), ("cert-mgr-expired", "email"), ("cert-mgr-expired", "webhook")]
    assert robots[-1] == f"员工上岗证已到期：{staff.name}"
    with app.app_context():
        holder = db.session.scalars(select(Message.title).where(Message.user_id == staff.id)
                                    .order_by(Message.id)).all()
        keys = db.session.scalars(select(Outbox.key)).all()
        assert db.session.scalar(select(Outbox.id).where(Outbox.sent_at.is_(None))) is None
    assert holder == ["上岗证将于2027年3月2日到期"] * 2 + ["上岗证将于2028年3月2日到期"] * 3 + ["上岗证已到期"]
    assert len(keys) == len(set(keys)) and len(mails) == 3 + 6  # the first certificate's 60d, 30d and the manager's 30d; six of the second
    assert status_of(app, staff) == "已过期"

    # -- after expiry the recertification path no longer renews: the full path applies again
    frozen(expires_b + DAY)
    pass_scenario(app, staff.id)
    assert len(certificates(app, staff.id)) == 2
    with app.app_context():  # a module of the course changes: the course must be studied again
        module = active_modules(db.session.scalar(select(Course).where(Course.slug == "phone-service")))[0]
        assert edit_module(module, module.title, module.body_md + "\n\n新增一段。", world["trainer"].id)
        db.session.commit()
    frozen(expires_b + 2 * DAY)
    assert sit_exam(app, staff.id, recert) is True  # attempts count afresh after the expiry
    assert len(certificates(app, staff.id)) == 2  # the course is not studied in its current version
    again = frozen(expires_b + 2 * DAY + timedelta(hours=1))
    study(app, staff.id)
    [*_, (code_c, issued_c, from_c, expires_c, renewed_from, _)] = certificates(app, staff.id)
    assert issued_c == from_c == again and expires_c == add_months(again, 12) and renewed_from is None

    # -- every certificate stays on record, with how it ended, for the holder, the manager and the export
    client = app.test_client()
    login(client, manager)
    person = client.get(f"/store/people/{staff.id}").get_data(as_text=True)
    history = re.findall(r"证书编号([A-Z0-9]+) · ", person)
    assert history == [code_c, code_b, code_a]
    assert "2027年2月10日续证，新证编号" + code_b in person and "2028年3月2日到期" in person
    sheet = load_workbook(io.BytesIO(client.get(f"/store/people/{staff.id}/archive.xlsx").data)).active
    results = [r[3].value for r in sheet.iter_rows(min_row=3) if r[1].value == "上岗证"]
    assert results == [f"编号{code_a}，有效期至2027-03-02，已续期（2027-02-10，新证编号{code_b}）",
                       f"编号{code_b}，有效期2027-03-02～2028-03-02，已过期（2028-03-02）",
                       f"编号{code_c}，有效期至2029-03-04，有效"]
    own = app.test_client()
    login(own, staff)
    mine = own.get("/certificates").get_data(as_text=True)
    assert re.findall(r"证书编号([A-Z0-9]+) · ", mine)[-3:] == [code_c, code_b, code_a]


def test_a_reminder_queued_before_a_revocation_is_not_sent(app, world, recert, frozen):
    """A sweep that queued a reminder and died: by the next sweep the certificate was revoked, so the
    row is closed as skipped and nobody hears of an expiry that no longer matters."""
    from lms.certification import reminders as expiry
    from lms.certification.service import revoke

    staff = world["staff_a"]
    frozen(T0)
    study(app, staff.id)
    pass_scenario(app, staff.id)
    sit_exam(app, staff.id, recert)
    [(code, _, _, expires, _, certificate_id)] = certificates(app, staff.id)
    frozen(expires - 30 * DAY)
    with app.app_context():
        assert expiry.enqueue() == 2  # the holder's and the manager's in-app reminders
        assert expiry.enqueue() == 0
        revoke(db.session.get(Certificate, certificate_id), "证件信息有误", world["trainer"].id)
        db.session.commit()
    assert "站内0" in sweep(app)
    with app.app_context():
        rows = db.session.scalars(select(Outbox).where(Outbox.certificate_id == certificate_id)).all()
        assert [(r.sent_at is not None, r.last_error) for r in rows] == [(True, "skipped: no longer open")] * 2
        assert db.session.scalar(select(Message.id).where(Message.user_id.in_([staff.id, world["manager_a"].id]))) \
            is None
