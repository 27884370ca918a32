"""Authoring in the browser: versions, restore, live checks, test-play, export → sync round trip, conflicts."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.courses.models import Course, Module
from lms.extensions import db
from lms.roleplay.models import Run, Scenario
from tests.conftest import csrf_token, login, post

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(app, tmp_path):
    """Copies of courses/ and simulations/ that export writes to and sync reads from."""
    courses, sims = tmp_path / "courses", tmp_path / "simulations"
    shutil.copytree(ROOT / "courses", courses)
    shutil.copytree(ROOT / "simulations", sims)
    old = app.config["CONTENT_DIR"], app.config["SIMULATIONS_DIR"]
    app.config["CONTENT_DIR"], app.config["SIMULATIONS_DIR"] = str(courses), str(sims)
    yield courses, sims
    app.config["CONTENT_DIR"], app.config["SIMULATIONS_DIR"] = old


def _module(app, slug="grooming"):
    with app.app_context():
        module = db.session.scalar(select(Module).join(Course).where(Course.slug == "etiquette", Module.slug == slug))
        return module.id, module.version, module.title, module.body_md


@pytest.fixture
def trainer(app, world):
    client = app.test_client()
    login(client, world["trainer"])
    return client


def test_edit_export_sync_round_trip(app, trainer, files):
    courses, _ = files
    module_id, version, title, body = _module(app)
    response = post(trainer, f"/author/modules/{module_id}", {"title": title, "body": body + "\n\n新增一段说明。",
                                                              "action": "save"}, page=f"/author/modules/{module_id}")
    assert response.status_code == 302
    with app.app_context():
        module = db.session.get(Module, module_id)
        assert module.version == version + 1 and module.dirty and "新增一段说明" in module.body_html
        assert module.versions[-1].origin == "browser"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "export"])
    assert result.exit_code == 0 and "写入1个文件" in result.output
    assert "新增一段说明。" in (courses / "etiquette" / "01-grooming.md").read_text(encoding="utf-8")
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 0, result.output
    assert "更新0" in result.output and "冲突" not in result.output
    with app.app_context():
        module = db.session.get(Module, module_id)
        assert module.version == version + 1 and not module.dirty


def test_sync_reports_a_conflict_and_keeps_the_browser_edit(app, trainer, files):
    courses, _ = files
    module_id, version, title, body = _module(app)
    post(trainer, f"/author/modules/{module_id}", {"title": title, "body": body + "\n\n网页上的修改。", "action": "save"},
         page=f"/author/modules/{module_id}")
    path = courses / "etiquette" / "01-grooming.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n文件里的另一处修改。\n", encoding="utf-8")
    other = courses / "etiquette" / "02-dress.md"
    other.write_text(other.read_text(encoding="utf-8") + "\n\n其他章节正常更新。\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["lms", "sync"])
    assert result.exit_code == 0, result.output
    assert "冲突，已跳过：「etiquette/grooming」" in result.output and "更新（版本+1）：etiquette/dress" in result.output
    with app.app_context():
        module = db.session.get(Module, module_id)
        assert "网页上的修改" in module.body_md and "另一处修改" not in module.body_md and module.dirty


def test_restore_an_earlier_version(app, trainer):
    module_id, version, title, body = _module(app)
    post(trainer, f"/author/modules/{module_id}", {"title": "改过的标题", "body": body, "action": "save"},
         page=f"/author/modules/{module_id}")
    post(trainer, f"/author/modules/{module_id}/restore/{version}", page=f"/author/modules/{module_id}")
    with app.app_context():
        module = db.session.get(Module, module_id)
        assert module.title == title and module.version == version + 2 and module.versions[-1].origin == "restore"


def test_preview_is_sanitised(trainer):
    token = csrf_token(trainer, "/author/")
    html = trainer.post("/author/preview", data={"csrf_token": token,
                                                 "body": "## 标题\n<script>alert(1)</script>[x](javascript:alert(1))"})
    text = html.get_data(as_text=True)
    assert "<h2>标题</h2>" in text and "<script" not in text and "javascript:" not in text


def test_scenario_editor_validates_draws_and_test_plays(app, trainer, world):
    page = trainer.get("/author/scenarios/long-wait").get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == "long-wait"))
        from lms.roleplay.service import current_version

        text, version = current_version(row).yaml_text, row.version
        nodes = len(__import__("yaml").safe_load(text)["nodes"])
    assert page.count("<rect ") == nodes
    token = csrf_token(trainer, "/author/scenarios/long-wait/yaml")
    broken = text.replace("goto:", "goto: nowhere #", 1)
    problems = json.loads(trainer.post("/author/scenarios/long-wait/validate",
                                       data={"csrf_token": token, "yaml_text": broken}).get_data())["problems"]
    assert any("不是已有节点" in p for p in problems) and re.match(r"^第\d+行：节点「[^」]+」：", problems[0])
    refused = post(trainer, "/author/scenarios/long-wait/yaml", {"yaml_text": broken}, page="/author/scenarios/long-wait/yaml")
    assert "不是已有节点" in refused.get_data(as_text=True)
    edited = text.replace("title: 久等客户的接待", "title: 久等客户的接待（修订）", 1)
    assert edited != text
    post(trainer, "/author/scenarios/long-wait/yaml", {"yaml_text": edited}, page="/author/scenarios/long-wait/yaml")
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == "long-wait"))
        assert row.version == version + 1 and row.dirty and row.title.endswith("（修订）")
    start = post(trainer, "/author/scenarios/long-wait/test", page="/author/scenarios/long-wait")
    run_id = int(start.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Run, run_id).mode == "test"
    assert "久等客户的接待" not in trainer.get("/practice/history").get_data(as_text=True)


def test_phrasebook_editor_tests_replies_and_guards_the_scenarios(app, trainer):
    token = csrf_token(trainer, "/author/phrasebook")
    data = json.loads(trainer.post("/author/phrasebook/test", data={"csrf_token": token,
                                                                    "reply": "您好，歡迎光臨！"}).get_data())
    cli = json.loads(app.test_cli_runner().invoke(args=["lms", "phrases", "check", "您好，歡迎光臨！", "--json"]).output)
    assert data["categories"] == cli["categories"] and data["normalized"] == cli["normalized"]
    text = (ROOT / "simulations" / "phrasebook.yaml").read_text(encoding="utf-8")
    weakened = text.replace("      - 您好              #", "      - 您好好好好好      #", 1)
    assert weakened != text
    page = post(trainer, "/author/phrasebook", {"yaml_text": weakened}, page="/author/phrasebook").get_data(as_text=True)
    assert "应命中" in page or "得分应至少" in page or "应去" in page  # scenario tests would break: not saved
    broken = post(trainer, "/author/phrasebook", {"yaml_text": "categories: [oops"}, page="/author/phrasebook")
    assert "第1行：方括号「[」没有配对的「]」" in broken.get_data(as_text=True)
