"""A learner sees their courses with progress, reads a module and marks it studied."""

from __future__ import annotations

import re

import pytest

from sqlalchemy import select

from lms.audit import AuditEvent
from lms.courses.models import Course, Module, ModuleProgress
from lms.extensions import db
from tests.conftest import login, post


@pytest.fixture(autouse=True)
def plain_modules(app):
    """These tests are about modules without a knowledge check: switch the banks off."""
    from sqlalchemy import update

    from lms.exams.models import Question

    with app.app_context():
        db.session.execute(update(Question).values(active=False))
        db.session.commit()


def _first_module(app, slug="etiquette"):
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        modules = [m for m in course.modules if m.active]
        return [(m.id, m.slug, m.title, m.version) for m in modules]


def test_home_shows_every_course_with_a_progress_bar(client, world):
    login(client, world["staff_a"])
    page = client.get("/my-courses").get_data(as_text=True)  # 我的课程 (the home is 今天: test_today.py)
    for title in ("服务礼仪", "投诉处理", "电话服务", "业务受理规范", "培训管理制度"):
        assert title in page
    assert page.count("<progress") >= 7
    assert "已学0/5章（0%）" in page  # 服务礼仪 has five modules


def test_module_page_shows_text_source_and_button(client, world):
    login(client, world["staff_a"])
    page = client.get("/courses/etiquette/grooming").get_data(as_text=True)
    assert "出处：第一章 二、服务礼仪" in page
    assert "我已学习" in page
    assert "<h2>" in page  # rendered Markdown


def test_marking_a_module_studied_records_time_and_version(app, client, world):
    modules = _first_module(app)
    (first_id, first_slug, _, version), (_, second_slug, _, _) = modules[0], modules[1]
    login(client, world["staff_a"])
    response = post(client, f"/courses/etiquette/{first_slug}/complete", page=f"/courses/etiquette/{first_slug}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/courses/etiquette/{second_slug}")
    with app.app_context():
        progress = db.session.scalar(select(ModuleProgress).where(
            ModuleProgress.user_id == world["staff_a"].id, ModuleProgress.module_id == first_id))
        assert progress.version == version and progress.completed_at.tzinfo is not None
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.subject_id == world["staff_a"].id, AuditEvent.verb == "module.completed")).all()
        assert len(events) == 1 and events[0].data["module"] == first_slug
    page = client.get(f"/courses/etiquette/{first_slug}").get_data(as_text=True)
    assert "已学习" in page and "我已学习</button>" not in page
    home = client.get("/my-courses").get_data(as_text=True)
    assert "已学1/5章（20%）" in home


def test_studying_twice_records_once(app, client, world):
    (first_id, first_slug, _, _) = _first_module(app)[0]
    login(client, world["staff_a"])
    for _ in range(2):
        post(client, f"/courses/etiquette/{first_slug}/complete", page=f"/courses/etiquette/{first_slug}")
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ModuleProgress).where(
            ModuleProgress.user_id == world["staff_a"].id)) == 1
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
            AuditEvent.subject_id == world["staff_a"].id, AuditEvent.verb == "module.completed")) == 1


def test_completing_the_last_module_finishes_the_course(app, client, world):
    login(client, world["staff_a"])
    modules = _first_module(app, "phone-service")
    for _, slug, _, _ in modules:
        response = post(client, f"/courses/phone-service/{slug}/complete", page=f"/courses/phone-service/{slug}")
    assert response.headers["Location"].endswith("/courses/phone-service")
    page = client.get("/courses/phone-service").get_data(as_text=True)
    assert "全部章节已学完" in page and f"已学{len(modules)}/{len(modules)}章（100%）" in page


def test_updated_module_asks_to_study_again(app, client, world):
    (first_id, first_slug, _, _) = _first_module(app)[0]
    login(client, world["staff_a"])
    post(client, f"/courses/etiquette/{first_slug}/complete", page=f"/courses/etiquette/{first_slug}")
    with app.app_context():
        module = db.session.get(Module, first_id)
        module.version += 1
        db.session.commit()
    page = client.get(f"/courses/etiquette/{first_slug}").get_data(as_text=True)
    assert "本章内容已更新，请重新学习" in page
    assert "内容已更新" in client.get("/courses/etiquette").get_data(as_text=True)
    post(client, f"/courses/etiquette/{first_slug}/complete", page=f"/courses/etiquette/{first_slug}")
    with app.app_context():
        progress = db.session.scalar(select(ModuleProgress).where(ModuleProgress.module_id == first_id,
                                                                  ModuleProgress.user_id == world["staff_a"].id))
        assert progress.version == db.session.get(Module, first_id).version


def test_course_limited_to_positions_is_hidden_from_others(app, client, world):
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "positions"))
        course.positions = ["库管"]
        db.session.commit()
    login(client, world["staff_a"])  # 综合受理
    assert "营业厅岗位职责" not in client.get("/my-courses").get_data(as_text=True)
    assert client.get("/courses/positions").status_code == 404


def test_unknown_course_or_module_is_404(client, world):
    login(client, world["staff_a"])
    assert client.get("/courses/nope").status_code == 404
    assert client.get("/courses/etiquette/nope").status_code == 404


def test_module_html_is_sanitised_in_the_page(app, client, world):
    (first_id, first_slug, _, _) = _first_module(app)[0]
    from lms.sanitize import render_markdown

    with app.app_context():
        module = db.session.get(Module, first_id)
        module.body_html = render_markdown("正文 <script>alert('x')</script> [点](javascript:alert(1))")
        db.session.commit()
    login(client, world["staff_a"])
    page = client.get(f"/courses/etiquette/{first_slug}").get_data(as_text=True)
    assert "<script>alert" not in page and "javascript:alert" not in page
    assert re.search(r"Content-Security-Policy", str(client.get("/").headers))
