"""Upgrading a database made by the first migration, with data in it, keeps every row."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from lms.extensions import db
from tests.conftest import make_app

pytestmark = pytest.mark.no_db

ROWS = [
    "INSERT INTO region (id, code, name) VALUES (1, 'R1', '地市')",
    "INSERT INTO store (id, code, name, region_id, address, active, created_at) "
    "VALUES (1, 'S1', '营业厅', 1, '', 1, '2026-01-01 00:00:00')",
    "INSERT INTO users (id, emp_no, name, password_hash, role, position, store_id, hire_date, active, created_at) "
    "VALUES (1, 'E1', '张三', 'x', 'staff', '综合受理', 1, '2025-01-01', 1, '2026-01-01 00:00:00')",
    "INSERT INTO leave (id, user_id, start_date, end_date, reason) VALUES (1, 1, '2026-02-01', '2026-02-03', '年假')",
    "INSERT INTO course (id, slug, title, summary, sort_order, positions, source, source_hash, version, active, "
    "updated_at) VALUES (1, 'c', '课程', '', 1, '[]', 's', 'h', 1, 1, '2026-01-01 00:00:00')",
    "INSERT INTO module (id, course_id, slug, sort_order, title, source, minutes, body_md, body_html, source_hash, "
    "version, active, updated_at) VALUES (1, 1, 'm', 1, '章节', 's', 5, 'x', '<p>x</p>', 'h', 1, 1, "
    "'2026-01-01 00:00:00')",
    "INSERT INTO module_progress (id, user_id, module_id, version, completed_at) VALUES (1, 1, 1, 1, '2026-01-02 00:00:00')",
    "INSERT INTO audit_event (id, at, actor_id, subject_id, verb, object_type, object_id, data) "
    "VALUES (1, '2026-01-02 00:00:00', 1, 1, 'module.completed', 'module', '1', '{}')",
]
TABLES = ["region", "store", "users", "leave", "course", "module", "module_progress", "audit_event"]


def test_upgrade_from_the_first_migration_keeps_all_rows(tmp_path):
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0001")
        with db.engine.begin() as conn:
            for statement in ROWS:
                conn.execute(text(statement))
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
            user = conn.execute(text("SELECT emp_no, name, must_change_password FROM users")).one()
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        db.engine.dispose()
    assert counts == {t: 1 for t in TABLES}
    assert tuple(user) == ("E1", "张三", 0)
    from alembic.script import ScriptDirectory

    with app.app_context():
        expected = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
    assert head == expected
