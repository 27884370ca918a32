"""上岗证: issued at the moment the last requirement is met; expiry, revocation, renewal, verification."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from lms.certification.models import Certificate, Certification
from lms.certification.service import status_for
from lms.courses.models import Course, Module
from lms.courses.service import complete_module
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


def test_renewal_reissues_with_a_new_code(app, world, certification, frozen):
    staff = world["staff_a"]
    frozen(T0)
    _study_course(app, staff.id)
    _pass_exam(app, staff.id, certification)
    [(code, *_)] = _certificates(app, staff.id)
    later = frozen(T0 + timedelta(days=350))
    trainer = app.test_client()
    login(trainer, world["trainer"])
    response = post(trainer, f"/certificates/{code}/renew", page=f"/certificates/{code}")
    new_code = re.search(r"/certificates/([A-Z0-9]+)$", response.headers["Location"]).group(1)
    certificates = _certificates(app, staff.id)
    assert len(certificates) == 2 and certificates[1][0] == new_code and certificates[1][1] == later


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
