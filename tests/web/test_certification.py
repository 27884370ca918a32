"""上岗证: issued at the moment the last requirement is met; expiry, revocation, renewal, verification."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from lms.certification.models import Certificate, Certification
from lms.certification.service import status_for
from lms.certification.status import add_months
from lms.courses.models import Course, Module, ModuleProgress
from lms.courses.service import active_modules, complete_module
from lms.exams.models import Exam
from lms.exams.service import start_exam, submit
from lms.extensions import db
from tests.conftest import login, post
from tests.web.test_exams import exam  # noqa: F401  (fixture)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def certification(app, exam):  # noqa: F811
    """Only one certification, for 综合受理: the phone-service course and the test exam."""
    slug = exam()
    with app.app_context():
        db.session.execute(update(Certification).values(active=False))
        db.session.add(Certification(slug="zz-cert", title="测试上岗证", positions=["综合受理"], version=1,
                                     rule={"courses": ["phone-service"], "scenarios": {}, "exam": slug,
                                           "validity_months": 12}))
        db.session.commit()
    return slug


def _study_course(app, user_id):
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "phone-service"))
        for module in [m for m in course.modules if m.active]:
            complete_module(user_id, db.session.get(Module, module.id))
        db.session.commit()


def _pass_exam(app, user_id, slug):
    with app.app_context():
        attempt = start_exam(user_id, db.session.scalar(select(Exam).where(Exam.slug == slug)))
        answers = {"t-single": 0, "t-tf": False, "t-short": "48小时", "t-num": "10"}
        for r in attempt.responses:
            r.answer = answers[r.question_version.spec["name"]]
        submit(attempt)
        db.session.commit()
        return attempt.id


def _certificates(app, user_id):
    with app.app_context():
        return [(c.code, c.issued_at, c.expires_at, c.revoked_at) for c in db.session.scalars(
            select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.id))]


def test_issued_at_the_moment_the_last_requirement_is_met(app, world, certification, frozen):
    staff = world["staff_a"]
    frozen(T0)
    _study_course(app, staff.id)
    assert _certificates(app, staff.id) == []  # the exam is still missing
    with app.app_context():
        assert status_for(staff.id, db.session.scalar(select(Certification).where(Certification.slug == "zz-cert"))) == "进行中"
    last = frozen(T0 + timedelta(days=2, minutes=7))
    _pass_exam(app, staff.id, certification)
    [(code, issued, expires, revoked)] = _certificates(app, staff.id)
    assert issued == last and expires == datetime(2027, 11, 3, 8, 7, tzinfo=timezone.utc) and revoked is None
    frozen(last + timedelta(days=1))
    _pass_exam(app, staff.id, certification)  # a second pass does not issue a second certificate
    assert len(_certificates(app, staff.id)) == 1


def test_exam_first_then_course_issues_on_the_last_module(app, world, certification, frozen):
    staff = world["staff_a"]
    frozen(T0)
    _pass_exam(app, staff.id, certification)
    assert _certificates(app, staff.id) == []
    last = frozen(T0 + timedelta(hours=5))
    _study_course(app, staff.id)
    [(_, issued, _, _)] = _certificates(app, staff.id)
    assert issued == last


def test_expiry_revocation_and_public_verification(app, client, world, certification, frozen):
    staff = world["staff_a"]
    frozen(T0)
    _study_course(app, staff.id)
    _pass_exam(app, staff.id, certification)
    [(code, issued, expires, _)] = _certificates(app, staff.id)
    anonymous = app.test_client()
    page = anonymous.get(f"/verify/{code}").get_data(as_text=True)
    assert "有效" in page and "测试上岗证" in page and world["staff_a"].name in page
    assert world["staff_a"].emp_no not in page  # the log-in name is not public
    frozen(expires - timedelta(days=10))
    assert "即将到期" in anonymous.get(f"/verify/{code}").get_data(as_text=True)
    frozen(expires + timedelta(seconds=1))
    assert "已过期" in anonymous.get(f"/verify/{code}").get_data(as_text=True)
    frozen(T0 + timedelta(days=30))
    trainer = app.test_client()
    login(trainer, world["trainer"])
    refused = post(trainer, f"/certificates/{code}/revoke", {"reason": " "}, page=f"/certificates/{code}",
                   follow_redirects=True)
    assert "必须填写原因" in refused.get_data(as_text=True)
    post(trainer, f"/certificates/{code}/revoke", {"reason": "考试作弊"}, page=f"/certificates/{code}")
    page = anonymous.get(f"/verify/{code}").get_data(as_text=True)
    assert "已撤销" in page
    assert anonymous.get("/verify/NOSUCHCODE").status_code == 404
    with app.app_context():
        from lms.audit import AuditEvent

        event = db.session.scalar(select(AuditEvent).where(AuditEvent.verb == "certificate.revoked"))
        assert event.data["reason"] == "考试作弊" and event.actor_id == world["trainer"].id
    frozen(T0 + timedelta(days=31))  # passing the exam again after the revocation issues a new one
    _pass_exam(app, staff.id, certification)
    certificates = _certificates(app, staff.id)
    assert len(certificates) == 2 and certificates[1][3] is None and certificates[1][0] != code


def test_nobody_restamps_a_certificate(app, world, certification, frozen):
    """Renewal is the recertification path (tests/web/test_recertification.py), not a trainer's button."""
    staff = world["staff_a"]
    frozen(T0)
    _study_course(app, staff.id)
    _pass_exam(app, staff.id, certification)
    [(code, *_)] = _certificates(app, staff.id)
    frozen(T0 + timedelta(days=350))
    trainer = app.test_client()
    login(trainer, world["trainer"])
    page = trainer.get(f"/certificates/{code}").get_data(as_text=True)
    assert "撤销上岗证" in page and "续期" not in page
    assert post(trainer, f"/certificates/{code}/renew", page=f"/certificates/{code}").status_code == 404
    assert len(_certificates(app, staff.id)) == 1


def test_certificate_page_has_a_qr_code_and_is_scoped(app, world, certification, frozen):
    staff = world["staff_a"]
    frozen(T0)
    _study_course(app, staff.id)
    _pass_exam(app, staff.id, certification)
    [(code, *_)] = _certificates(app, staff.id)
    owner = app.test_client()
    login(owner, staff)
    page = owner.get(f"/certificates/{code}").get_data(as_text=True)
    assert "<svg" in page and f"/verify/{code}" in page
    assert "测试上岗证" in owner.get("/certificates").get_data(as_text=True)
    other_manager = app.test_client()
    login(other_manager, world["manager_b"])
    assert other_manager.get(f"/certificates/{code}").status_code == 404
    own_manager = app.test_client()
    login(own_manager, world["manager_a"])
    assert own_manager.get(f"/certificates/{code}").status_code == 200
    store_page = own_manager.get(f"/store/{world['store_a']}").get_data(as_text=True)
    assert "上岗证：有效" in store_page
    staff_b = app.test_client()
    login(staff_b, world["staff_b"])
    assert staff_b.get(f"/certificates/{code}").status_code == 404


# ---------------------------------------------------------------- one evaluation, every view

T1 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def rule(app):
    """Only one certification, for 综合受理: the etiquette course, long-wait at 70, the frontline exam."""
    with app.app_context():
        db.session.execute(update(Certification).values(active=False))
        db.session.add(Certification(slug="zz-views", title="一致性上岗证", positions=["综合受理"], version=1,
                                     rule={"courses": ["etiquette"], "scenarios": {"long-wait": 70},
                                           "exam": "frontline-certification", "validity_months": 12}))
        db.session.commit()
        return len(active_modules(db.session.scalar(select(Course).where(Course.slug == "etiquette"))))


def _record(app, user_id, modules=0, runs=(), sittings=(), certificate=None, at=T1 - timedelta(days=3)):
    """Write what a person did straight into the records: `modules` etiquette modules studied at `at`,
    runs of long-wait (score, passed, mode, when), sittings of the frontline exam (score, passed,
    when), and a certificate (issued, revoked)."""
    from lms.exams.models import Attempt
    from lms.roleplay.models import PhrasebookVersion, Run, Scenario, ScenarioVersion

    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "etiquette"))
        for module in active_modules(course)[:modules]:
            db.session.add(ModuleProgress(user_id=user_id, module_id=module.id, version=module.version,
                                          completed_at=at))
        scenario = db.session.scalar(select(Scenario).where(Scenario.slug == "long-wait"))
        version = db.session.scalar(select(ScenarioVersion.id).where(ScenarioVersion.scenario_id == scenario.id)
                                    .order_by(ScenarioVersion.version.desc()).limit(1))
        phrasebook = db.session.scalar(select(PhrasebookVersion.id).order_by(PhrasebookVersion.version.desc()).limit(1))
        for score, passed, mode, when in runs:
            db.session.add(Run(user_id=user_id, scenario_id=scenario.id, scenario_version_id=version,
                               phrasebook_version_id=phrasebook, mode=mode, status="finished", node="end",
                               started_at=when - timedelta(minutes=10), finished_at=when, score=score, passed=passed))
        exam = db.session.scalar(select(Exam).where(Exam.slug == "frontline-certification"))
        for score, passed, when in sittings:
            db.session.add(Attempt(user_id=user_id, kind="exam", exam_id=exam.id, exam_version=exam.version,
                                   status="submitted", started_at=when - timedelta(minutes=30), submitted_at=when,
                                   score=score, passed=passed))
        if certificate is not None:
            issued, revoked = certificate
            certification = db.session.scalar(select(Certification).where(Certification.slug == "zz-views"))
            db.session.add(Certificate(code=f"V{user_id:09d}", user_id=user_id, certification_id=certification.id,
                                       issued_at=issued, expires_at=add_months(issued, 12), revoked_at=revoked))
        db.session.commit()


ALL_MET = dict(modules=99, runs=[(82, True, "text", T1 - timedelta(days=2))],
               sittings=[(88.0, True, T1 - timedelta(days=1))])


def _learner_view(app, person):
    """The requirements (met, detail or when met) and the status on the learner's 上岗证 page, and
    the status on their home page."""
    client = app.test_client()
    login(client, person)
    page = client.get("/certificates").get_data(as_text=True)
    status = re.search(r"<header><strong>一致性上岗证</strong> <span class=\"badge \w+\">([^<]+)</span>", page).group(1)
    reqs = [(state == "已完成", text) for state, text in re.findall(
        r"<li><a href=\"[^\"]+\">[^<]+</a><span><span class=\"badge \w+\">(已完成|未完成)</span> <span class=\"muted\">([^<]*)</span>",
        page)]
    home = client.get("/").get_data(as_text=True)
    home_status = re.search(r"一致性上岗证</strong>：<span class=\"badge \w+\">([^<]+)</span>", home).group(1)
    return reqs, status, home_status


def _matrix_view(page, name):
    """The requirement cells (met, detail) and the status of one person in the matrix page."""
    block = re.search(rf"<strong>{name}</strong>.*?</li>", page, re.S).group(0)
    status = re.search(r"<span class=\"badge \w+\">([^<]+)</span>", block).group(1)
    cells = [(level == "ok", text.split("：", 1)[1]) for level, text in
             re.findall(r"<span class=\"badge (ok|off)\" title=\"[^\"]+\">([^<]+)</span>", block)]
    return cells, status


def test_every_view_shows_the_same_requirements_and_status(app, factory, rule, frozen):
    from lms.certification.service import check_and_issue
    from lms.courses.service import edit_module
    from lms.notices.models import NoticeAssignment
    from lms.notices.service import NoticeData, publish
    from lms.web import local_time

    n = rule
    frozen(T1)
    store = factory.store()
    manager = factory.person("manager", store)
    names = ("无", "课", "低", "选", "补", "新", "将", "过", "撤", "停")
    people = {name: factory.person("staff", store, "综合受理", name=name) for name in names}
    # The person who studied the course before one module changed to a new version; the others study it after.
    _record(app, people["新"].id, **ALL_MET)
    with app.app_context():
        first = active_modules(db.session.scalar(select(Course).where(Course.slug == "etiquette")))[0]
        assert edit_module(first, first.title, first.body_md + "\n\n新增一段。", manager.id)
        db.session.commit()
    _record(app, people["课"].id, modules=99)
    _record(app, people["低"].id, modules=2, runs=[(65, True, "text", T1 - timedelta(hours=5))])
    _record(app, people["选"].id, runs=[(95, True, "beginner", T1 - timedelta(hours=5)),
                                        (80, False, "text", T1 - timedelta(hours=4))])
    passed_at = T1 - timedelta(hours=2)
    _record(app, people["补"].id, modules=99, runs=[(82, True, "text", T1 - timedelta(days=2))],
            sittings=[(40.0, False, T1 - timedelta(days=1)), (85.0, True, passed_at)])
    _record(app, people["将"].id, **ALL_MET, certificate=(T1 - timedelta(days=340), None))
    _record(app, people["过"].id, **{**ALL_MET, "sittings": [(88.0, True, T1 - timedelta(days=401))]},
            certificate=(T1 - timedelta(days=400), None))
    _record(app, people["撤"].id, **{**ALL_MET, "sittings": [(88.0, True, T1 - timedelta(days=11))]},
            certificate=(T1 - timedelta(days=10), T1 - timedelta(days=1)))
    _record(app, people["停"].id, **ALL_MET, certificate=(T1 - timedelta(days=10), None))
    with app.app_context():  # an overdue new-business notice for 停 only
        notice, _ = publish(NoticeData("新业务", "内容", None, None, [store], ["综合受理"], T1 - timedelta(hours=49)),
                            manager.id)
        for assignment in db.session.scalars(select(NoticeAssignment).where(NoticeAssignment.notice_id == notice.id)):
            if assignment.user_id != people["停"].id:
                assignment.completed_at = T1 - timedelta(hours=48)
        db.session.commit()

    all_met = [(True, "已学完"), (True, "通过（82分）"), (True, "通过")]
    expected = {  # requirements (met, detail), status after issuance, whether issuance gave a certificate
        "无": ([(False, f"0/{n}章"), (False, "未练"), (False, "未考")], "未开始", False),
        "课": ([(True, "已学完"), (False, "未练"), (False, "未考")], "进行中", False),
        "低": ([(False, f"2/{n}章"), (False, "未通过（最高65分）"), (False, "未考")], "进行中", False),
        "选": ([(False, f"0/{n}章"), (False, "未通过"), (False, "未考")], "进行中", False),
        "补": (all_met, "有效", True),
        "新": ([(False, f"{n - 1}/{n}章"), (True, "通过（82分）"), (True, "通过")], "进行中", False),
        "将": (all_met, "即将到期", False),
        "过": (all_met, "已过期", False),
        "撤": (all_met, "已撤销", False),
        "停": (all_met, "已暂停", False),
    }
    issued = {}
    with app.app_context():
        for name, person in people.items():
            issued[name] = check_and_issue(person.id, "综合受理")
        db.session.commit()
        basis = issued["补"].basis if issued["补"] else None

    client = app.test_client()
    login(client, manager)
    matrix = client.get(f"/store/{store}/matrix").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get(f"/store/{store}/matrix.xlsx").get_data())).active
    rows = {row[1].value: [c.value for c in row] for row in book.iter_rows(min_row=3)}
    store_page = client.get(f"/store/{store}").get_data(as_text=True)
    today = client.get("/").get_data(as_text=True)  # the manager's 今天, from the kept standings
    for name, (reqs, status, gets_certificate) in expected.items():
        assert (issued[name] is not None) == gets_certificate, name
        learner, learner_status, home_status = _learner_view(app, people[name])
        cells, matrix_status = _matrix_view(matrix, name)
        assert cells == reqs, (name, cells)
        assert [row for row in rows[name][8:11]] == [detail for _, detail in reqs], name
        assert [met for met, _ in learner] == [met for met, _ in reqs], (name, learner)
        assert [text for met, text in learner if not met] == [detail for met, detail in reqs if not met], name
        assert learner_status == home_status == matrix_status == rows[name][3] == status, name
        archive = client.get(f"/store/people/{people[name].id}/archive").get_data(as_text=True)
        assert re.search(r"<p>一致性上岗证：<span class=\"badge \w+\">([^<]+)</span>", archive).group(1) == status, name
        store_row = re.search(rf"<strong>{name}</strong>.*?上岗证：([^<]+)</span>", store_page, re.S).group(1)
        assert store_row == status, name
        card = re.search(rf'<strong>{name}</strong></a><span class="muted">[^<]*</span><span class="badge \w+">([^<]+)<',
                         today)
        assert (card.group(1) if card else "有效") == ("有效" if status == "即将到期" else status), name  # the rest act
        if card:
            reasons = today.split(f"<strong>{name}</strong>", 1)[1].split("</ul>", 1)[0]
            assert ("还差" in reasons) == (not all(met for met, _ in reqs)), (name, reasons)
    # What issuance recorded is what the learner's page shows: the exam met when it was passed, not tried.
    assert basis["frontline-certification"]["met_at"] == passed_at.isoformat()
    learner, *_ = _learner_view(app, people["补"])
    with app.app_context():
        shown = [local_time(datetime.fromisoformat(basis[key]["met_at"]))
                 for key in ("etiquette", "long-wait", "frontline-certification")]
    assert [text for _, text in learner] == shown
