"""A trainer's edits never depend on a shell: they live in the database, take effect when saved, survive
a restart and `lms init` (what `make run` does first), and no page a trainer sees tells them to run a
command — writing edits back to the files (`lms export`) is the operator's task."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from sqlalchemy import select

from lms.courses.models import Course, Module
from lms.exams.models import Question
from lms.extensions import db
from lms.roleplay.models import Scenario
from lms.roleplay.service import current_version
from tests.conftest import Person, csrf_token, live_database, login, make_app, post

# What only an operator at a shell can act on.
SHELL = re.compile(r"\blms (export|sync|check|init|phrases)\b|flask --app|make run|未导出|导出到文件|"
                   r"courses/|simulations/|FORMAT\.md")


def _shown(html: str) -> str:
    """The text a page shows (tags and attributes left out, textareas too: they hold what is edited)."""
    html = re.sub(r"<(textarea|script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _ids(app) -> dict:
    with app.app_context():
        module = db.session.scalar(select(Module).join(Course).where(Course.slug == "etiquette",
                                                                     Module.slug == "grooming"))
        question = db.session.scalar(select(Question).where(Question.name == "排队-熟人跳号"))
        return {"module": module.id, "module_body": module.body_md, "question": question.id}


def _edit_everything(client, ids: dict) -> list[str]:
    """Save a module, a question, a scenario and a notice through their pages, as a trainer does;
    return the pages each save led to (with its flash message)."""
    shown = []

    def save(page: str, data: dict) -> None:
        response = post(client, page, data, page=page)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        shown.append(_shown(client.get(response.headers["Location"]).get_data(as_text=True)))

    page = f"/author/modules/{ids['module']}"
    save(page, {"title": "仪容规范", "action": "save", "body": ids["module_body"] + "\n\n网页上加的一段：指甲修剪整齐。"})
    page = f"/bank/{ids['question']}/gift"
    save(page, {"gift": "::排队-熟人跳号::网页改过：认识的老客户来了，可以让他跳过叫号先办理。{F}"})
    page = "/author/scenarios/long-wait/yaml"
    yaml_text = unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", client.get(page).get_data(as_text=True),
                                   re.S).group(1))
    save(page, {"yaml_text": re.sub(r"(?m)^title: .*$", "title: 久等客户的接待（网页改过）", yaml_text, count=1)})
    save("/notices/new", {"title": "新业务：重启测试", "body": "正文。", "issued_at": ""})
    return shown


def test_no_page_a_trainer_sees_tells_them_to_run_a_command(app, world):
    client = app.test_client()
    login(client, world["trainer"])
    ids = _ids(app)
    pages = ["/", "/author/", f"/author/modules/{ids['module']}", "/author/scenarios/long-wait", "/author/phrasebook",
             "/author/phrasebook/suggestions", "/bank", f"/bank/{ids['question']}", "/bank/import", "/exams/manage",
             "/exams/manage/practice-basics", "/exams/manage/new", "/grading", "/notices/new", "/store/analytics"]
    before = {url: _shown(client.get(url).get_data(as_text=True)) for url in pages}
    saved = _edit_everything(client, ids)
    assert all("已保存为第2版，已生效。" in text for text in saved[:3]) and "已发布" in saved[3]
    after = {url: _shown(client.get(url).get_data(as_text=True)) for url in pages}
    assert "网页修改" in after["/author/"]  # what changed in the browser is still marked, without a chore
    seen = [*before.items(), *after.items(), *(("after a save", text) for text in saved)]
    found = {url: SHELL.findall(text) for url, text in seen if SHELL.search(text)}
    assert found == {}


def _password(app, emp_no: str) -> str:
    accounts = (Path(app.instance_path) / "demo-accounts.txt").read_text(encoding="utf-8")
    return next(line.split("\t")[1] for line in accounts.splitlines() if line.startswith(f"{emp_no}\t"))


def test_a_trainers_edits_survive_a_restart_and_lms_init(tmp_path):
    url, drop = live_database(tmp_path)
    apps = []
    try:
        first = make_app(tmp_path, DATABASE_URL=url)
        apps.append(first)
        assert first.test_cli_runner().invoke(args=["lms", "init"]).exit_code == 0
        trainer = Person(0, "PX0001", "", "trainer", None, "培训", _password(first, "PX0001"))
        learner = Person(0, "DX1005", "", "staff", None, "综合受理", _password(first, "DX1005"))
        client = first.test_client()
        login(client, trainer)
        ids = _ids(first)
        _edit_everything(client, ids)
        with first.app_context():
            db.engine.dispose()

        # A restart: a new process on the same database, and `lms init` first, as `make run` does.
        second = make_app(tmp_path, DATABASE_URL=url)
        apps.append(second)
        init = second.test_cli_runner().invoke(args=["lms", "init"])
        assert init.exit_code == 0, init.output
        client = second.test_client()
        login(client, trainer)
        assert "网页上加的一段：指甲修剪整齐。" in client.get(f"/author/modules/{ids['module']}").get_data(as_text=True)
        assert "网页改过：认识的老客户来了" in client.get(f"/bank/{ids['question']}").get_data(as_text=True)
        assert "久等客户的接待（网页改过）" in client.get("/author/").get_data(as_text=True)
        assert "新业务：重启测试" in client.get("/notices").get_data(as_text=True)
        with second.app_context():
            scenario = db.session.scalar(select(Scenario).where(Scenario.slug == "long-wait"))
            assert scenario.version == 2 and "网页改过" in current_version(scenario).yaml_text
        staff = second.test_client()
        login(staff, learner)
        page = staff.get("/courses/etiquette/grooming", follow_redirects=True).get_data(as_text=True)
        assert "网页上加的一段：指甲修剪整齐。" in page  # learners read the edit after the restart too
        assert "新业务：重启测试" in staff.get("/notices").get_data(as_text=True)
        assert csrf_token(staff, "/")  # still a working session on the restarted app
    finally:
        for each in apps:
            with each.app_context():
                db.engine.dispose()
        drop()
