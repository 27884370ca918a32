"""Migration 0013 fills the bank's search text of the questions already in a database from their latest version."""

from __future__ import annotations

import json

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from lms.extensions import db
from tests.conftest import make_app

pytestmark = pytest.mark.no_db


def test_upgrade_fills_the_search_text_from_each_questions_latest_version(tmp_path):
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    directory = app.extensions["migrate"].directory
    old = {"qtype": "single", "name": "q", "text": "旧题干", "category": "c/t",
           "choices": [["旧答案", 1.0, ""], ["乙", 0.0, ""]]}
    new = {**old, "text": "新题干", "choices": [["ＶＩＰ蓝鲸卡", 1.0, ""], ["乙", 0.0, ""]]}
    with app.app_context():
        upgrade(directory=directory, revision="0011")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO course (id, slug, title, summary, sort_order, positions, source, source_hash, "
                              "version, active, updated_at) VALUES (1, 'c', '课程', '', 1, '[]', 's', 'h', 1, 1, "
                              "'2026-01-01 00:00:00')"))
            conn.execute(text("INSERT INTO question (id, course_id, name, category, qtype, version, source_hash, "
                              "active, origin, updated_at) VALUES (1, 1, 'q', 'c/t', 'single', 2, 'h', 1, 'file', "
                              "'2026-01-01 00:00:00')"))
            for number, spec in ((2, new), (1, old)):
                conn.execute(text("INSERT INTO question_version (question_id, version, spec, created_at) "
                                  "VALUES (1, :v, :spec, '2026-01-01 00:00:00')"),
                             {"v": number, "spec": json.dumps(spec, ensure_ascii=False)})
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            found = conn.execute(text("SELECT search_text FROM question WHERE id = 1")).scalar()
        db.engine.dispose()
    assert found == "q c/t 新题干 vip蓝鲸卡 乙"
