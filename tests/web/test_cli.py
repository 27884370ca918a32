"""The `lms` commands: sync is idempotent and all-or-nothing; init sets up a fresh instance."""

from __future__ import annotations

import shutil
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Region, Store, User
from lms.clock import today
from lms.courses.models import Course, Module
from lms.extensions import db
from tests.conftest import make_app

COURSES = Path(__file__).resolve().parents[2] / "courses"


@pytest.fixture
def content(tmp_path, app):
    """A copy of the shipped courses that a test may change; sync reads it."""
    root = tmp_path / "courses"
    shutil.copytree(COURSES, root)
    old = app.config["CONTENT_DIR"]
    app.config["CONTENT_DIR"] = str(root)
    yield root
    app.config["CONTENT_DIR"] = old


def _module(app, course_slug, module_slug):
    with app.app_context():
        return db.session.scalar(select(Module).join(Course).where(Course.slug == course_slug,
                                                                   Module.slug == module_slug))


def test_sync_is_idempotent(app, content):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 0, result.output
    assert "新增0，更新0" in result.output and "下线0" in result.output


def test_sync_bumps_version_only_when_text_changes(app, content):
    runner = app.test_cli_runner()
    before = _module(app, "etiquette", "grooming").version
    path = content / "etiquette" / "01-grooming.md"
    path.write_text(path.read_text(encoding="utf-8").replace("minutes:", "minutes: 9\n#", 1), encoding="utf-8")
    assert runner.invoke(args=["lms", "sync"]).exit_code == 0
    assert _module(app, "etiquette", "grooming").version == before  # metadata only
    path.write_text(path.read_text(encoding="utf-8") + "\n补充一句。\n", encoding="utf-8")
    result = runner.invoke(args=["lms", "sync"])
    assert "更新（版本+1）：etiquette/grooming" in result.output
    module = _module(app, "etiquette", "grooming")
    assert module.version == before + 1 and "补充一句" in module.body_html


def test_bad_file_reports_file_and_line_and_changes_nothing(app, content):
    runner = app.test_cli_runner()
    (content / "etiquette" / "01-grooming.md").write_text(
        (content / "etiquette" / "01-grooming.md").read_text(encoding="utf-8") + "\n新内容\n", encoding="utf-8")
    (content / "phone-service" / "course.yaml").write_text("title: [broken\n", encoding="utf-8")
    before = _module(app, "etiquette", "grooming").version
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 1
    assert "courses/phone-service/course.yaml:1: 方括号「[」没有配对的「]」" in result.output
    assert "未做任何改动" in result.output
    assert _module(app, "etiquette", "grooming").version == before  # the good change was not applied


def test_removed_module_is_retired_not_deleted(app, content):
    (content / "etiquette" / "03-accessories.md").unlink()
    result = app.test_cli_runner().invoke(args=["lms", "sync"])
    assert "下线：etiquette/accessories" in result.output
    module = _module(app, "etiquette", "accessories")
    assert module is not None and module.active is False


@pytest.mark.no_db
def test_init_sets_up_a_fresh_instance_and_keeps_data_on_rerun(tmp_path):
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}", SECRET_KEY=None)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["lms", "init"])
    assert first.exit_code == 0, first.output
    instance = Path(app.instance_path)
    key = instance / "secret_key"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64
    accounts = (instance / "demo-accounts.txt").read_text(encoding="utf-8")
    assert "admin" in accounts and "PX0001" in accounts and "http://127.0.0.1:5000" in first.output
    admin_password = next(line.split("\t")[1] for line in accounts.splitlines() if line.startswith("admin\t"))
    assert admin_password in first.output
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        staff = [u for u in users if u.role == "staff"]
        assert len(staff) >= 20 - 3  # plus a manager per store
        assert len([u for u in users if u.role in ("staff", "manager")]) >= 20
        assert {u.role for u in users} == {"staff", "manager", "trainer", "admin"}
        assert db.session.scalar(select(func.count()).select_from(Region)) == 1
        stores = db.session.scalars(select(Store)).all()
        assert len(stores) == 3
        for store in stores:
            assert any(u.role == "manager" and u.store_id == store.id for u in users)
        assert len([u for u in staff if u.hire_date >= today() - timedelta(days=7)]) == 2
        assert len({u.position for u in users if u.position}) >= 8
        admin = next(u for u in users if u.emp_no == "admin")
        assert admin.check_password(admin_password)
        admin_hash, count = admin.password_hash, len(users)
        courses = db.session.scalar(select(func.count()).select_from(Course))
    second = runner.invoke(args=["lms", "init"])
    assert second.exit_code == 0 and "演示账号见" in second.output and admin_password not in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == count
        assert db.session.scalar(select(User.password_hash).where(User.emp_no == "admin")) == admin_hash
        assert db.session.scalar(select(func.count()).select_from(Course)) == courses
    with app.app_context():
        db.engine.dispose()


def test_lms_check_reports_a_bank_item_that_gives_another_away(app, content):
    bank = content / "etiquette" / "questions.gift"
    bank.write_text(bank.read_text(encoding="utf-8") + "\n$CATEGORY: etiquette/仪容/练习\n\n// source: test\n"
                    "::zz-牌子::离席时翻转什么牌？{=暂停服务中}\n\n// source: test\n"
                    "::zz-离席::离席时要翻转「暂停服务中」牌。{T}\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["lms", "check"])
    assert result.exit_code == 1
    assert "courses/etiquette/questions.gift:" in result.output and "「zz-牌子」的答案「暂停服务中」" in result.output


def test_sync_refuses_a_practice_exam_that_draws_certification_items(app, content):
    exam = content / "exams" / "practice-basics.yaml"
    exam.write_text(exam.read_text(encoding="utf-8").replace('"etiquette/*/练习"', '"etiquette/*"'), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["lms", "sync"])
    assert result.exit_code == 1
    assert "courses/exams/practice-basics.yaml:12: 练习考试的抽题规则「etiquette/*」会抽到上岗认证考试的题目" in result.output
