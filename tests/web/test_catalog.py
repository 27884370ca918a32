"""The content catalogue kept per process: two workers on one database (as two gunicorn
workers or two hosts) — content synced through one is what the other shows on its next page,
and learners' own writes do not make the workers read the content again.

Runs against a database of its own (see test_concurrency): the rolled-back test transaction
cannot be shared by two apps.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.catalog import ContentStamp
from lms.extensions import db
from tests.conftest import add_live_person, csrf_token, live_database, login, make_app

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).resolve().parents[2]
NEW_MODULE = """---
title: 班前仪容互检
source: 第一章 二、服务礼仪 (一)仪容
minutes: 3
---

每天上岗前，同班组的同事两两对照仪容规范互相检查：头发、面容、手部和工牌，发现问题当场整改。
"""


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers")
    courses = tmp / "courses"
    shutil.copytree(ROOT / "courses", courses)
    url, drop = live_database(tmp)
    first = make_app(tmp / "a", DATABASE_URL=url, CONTENT_DIR=str(courses))
    second = make_app(tmp / "b", DATABASE_URL=url, CONTENT_DIR=str(courses))
    result = first.test_cli_runner().invoke(args=["lms", "init", "--no-demo"])
    assert result.exit_code == 0, result.output
    person = add_live_person(first, "WORK01", "学员甲", "Work-pass-123", store=("W001", "双进程测试厅"))
    yield first, second, person, courses
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()
    drop()


def _etiquette_modules(client) -> str:
    page = client.get("/my-courses").get_data(as_text=True)  # every course with its progress
    card = page[page.index("<strong>服务礼仪</strong>"):]
    return re.search(r"已学(\d+)/(\d+)章", card).group(0)


def _stamp(app) -> int:
    with app.app_context():
        return db.session.scalar(select(ContentStamp.value))


def test_content_synced_on_one_worker_shows_on_the_other(workers):
    first, second, person, courses = workers
    learner = second.test_client()
    login(learner, person)
    assert _etiquette_modules(learner) == "已学0/5章"
    assert _etiquette_modules(learner) == "已学0/5章"  # now served from the second worker's catalogue

    (courses / "etiquette" / "06-peer-check.md").write_text(NEW_MODULE, encoding="utf-8")
    result = first.test_cli_runner().invoke(args=["lms", "sync"])
    assert result.exit_code == 0, result.output

    assert _etiquette_modules(learner) == "已学0/6章"
    page = learner.get("/courses/etiquette").get_data(as_text=True)
    assert "班前仪容互检" in page


def test_a_learner_practising_does_not_move_the_content_stamp(workers):
    """Only content moves the stamp: a learner's own records leave every worker's catalogue in place."""
    first, second, person, _ = workers
    learner = first.test_client()
    login(learner, person)
    before = _stamp(first)
    token = csrf_token(learner, "/practice/billing-complaint")
    started = learner.post("/practice/billing-complaint/start", data={"mode": "text", "csrf_token": token})
    assert started.status_code == 302
    run = re.search(r"/runs/(\d+)", started.headers["Location"]).group(1)
    turn = learner.post(f"/runs/{run}/turns", data={"csrf_token": token, "seq": 1,
                                                     "reply": "您好，先生，请到这边坐，您慢慢说，我来详细记录。"})
    assert turn.status_code == 302
    assert _stamp(first) == before
    result = first.test_cli_runner().invoke(args=["lms", "sync"])  # files unchanged: nothing to read again
    assert result.exit_code == 0, result.output
    assert _stamp(first) == before


def test_content_changed_and_rolled_back_is_never_shown(workers):
    """A course edited in a transaction that is then rolled back: the catalogue asked for in
    between must not keep it, even when another worker's commit later moves the stamp on."""
    first, second, person, _ = workers
    from lms.catalog import catalog
    from lms.courses.models import Course

    with second.test_request_context("/", method="POST"):  # a request that edits (a GET never writes)
        course = db.session.scalar(select(Course).where(Course.slug == "etiquette"))
        course.title = "回滚的标题"
        assert [c.title for c in catalog().courses if c.slug == "etiquette"] == ["回滚的标题"]
        db.session.rollback()
    with first.app_context():
        other = db.session.scalar(select(Course).where(Course.slug == "communication"))
        other.summary = other.summary + "（已更新）"
        db.session.commit()
    learner = second.test_client()
    login(learner, person)
    page = learner.get("/my-courses").get_data(as_text=True)
    assert "<strong>服务礼仪</strong>" in page and "回滚的标题" not in page
    assert "（已更新）" in page


def test_first_turns_on_a_fresh_worker_compile_the_phrasebook_once(workers, monkeypatch):
    """A worker that has just started gets its threads' first role-play turns together: one of them
    compiles the phrasebook (about 0.3 s of CPU), the others wait for it and use the same one, instead
    of each compiling it again while the learners wait."""
    import threading
    import time
    from types import SimpleNamespace

    from lms.roleplay import service
    from lms.roleplay.models import PhrasebookVersion

    first, second, _, _ = workers
    compiled, real = [], service.parse_phrasebook

    def slow_compile(text):
        compiled.append(text)
        time.sleep(0.2)  # long enough for every thread to ask while it runs
        return real(text)

    monkeypatch.setattr(service, "parse_phrasebook", slow_compile)
    service._phrasebook.cache_clear()
    second.extensions.pop("lms_phrasebooks", None)
    books, ready = [], threading.Barrier(4)

    def first_turn():
        with second.app_context():
            version = db.session.scalar(select(PhrasebookVersion).order_by(PhrasebookVersion.version.desc()).limit(1))
            run = SimpleNamespace(phrasebook_version_id=version.id, phrasebook_version=version)
            ready.wait()
            books.append(service.run_phrasebook(run))
            db.session.remove()

    threads = [threading.Thread(target=first_turn) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(books) == 4 and len(compiled) == 1
    assert all(book is books[0] for book in books)
    assert books[0].analyze("您好，请问有什么可以帮您？")  # a working phrasebook
