"""Exam definitions in a form: draws with their pool sizes, refusals beside the field, the same definition as YAML."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from lms.exams.definitions import parse_exam
from lms.exams.models import Exam, Question
from lms.exams.service import exam_spec
from lms.extensions import db
from lms.yamlx import load
from tests.conftest import csrf_token, login


@pytest.fixture
def trainer(app, world):
    client = app.test_client()
    login(client, world["trainer"])
    return client


def _submit(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def _pool(app, pattern: str) -> int:
    """Items a rule can draw, counted here straight from the bank (graded types, active)."""
    from lms.exams.definitions import DrawRule, EXAM_TYPES

    rule = DrawRule(pattern, 1)
    with app.app_context():
        rows = db.session.execute(select(Question.category, Question.qtype).where(Question.active.is_(True))).all()
    return sum(1 for cat, kind in rows if rule.matches(cat) and kind in EXAM_TYPES)


FORM = {"slug": "zz-form-exam", "title": "表单考试", "summary": "用表单建的练习考试", "kind": "practice",
        "time_limit_minutes": "20", "pass_mark": "70", "max_attempts": "2", "cooldown_minutes": "10",
        "d0-category": "etiquette/*/练习", "d0-count": "4", "d1-category": "phone-service/*/练习", "d1-count": "2"}


def test_the_form_shows_each_rules_pool_and_the_categories_with_their_counts(app, trainer):
    page = html.unescape(trainer.get("/exams/manage/practice-basics").get_data(as_text=True))
    with app.app_context():
        spec = exam_spec(db.session.scalar(select(Exam).where(Exam.slug == "practice-basics")))
    for i, rule in enumerate(spec.draw):
        assert f'name="d{i}-category" value="{rule.category}"' in page
        assert f"题库中可抽{_pool(app, rule.category)}道" in page
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Question).where(
            Question.category == "etiquette/仪容/练习", Question.active.is_(True)))
    assert f"<td>etiquette/仪容/练习</td><td>{n}</td>" in page
    assert trainer.get("/bank/pool?category=etiquette/*/练习").get_json() == {"count": _pool(app, "etiquette/*/练习")}
    assert 'href="/exams/manage/practice-basics/yaml"' in page


def test_a_draw_larger_than_the_pool_is_refused_beside_its_rule_with_everything_kept(app, trainer):
    have = _pool(app, "etiquette/*/练习")
    data = {**FORM, "d0-count": str(have + 1), "title": "超出题库的考试"}
    response = _submit(trainer, "/exams/manage/new", data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert f"类别「etiquette/*/练习」只有{have}道可抽的题，不够抽{have + 1}道" in page
    row = page[page.index('name="d0-category"'):page.index('name="d1-category"')]
    assert "不够抽" in row and 'aria-invalid="true"' in row  # beside its own rule
    assert 'value="超出题库的考试"' in page and f'value="{have + 1}"' in page
    assert "用表单建的练习考试" in page  # the summary is a textarea: kept as typed
    with app.app_context():
        assert db.session.scalar(select(Exam).where(Exam.slug == "zz-form-exam")) is None


@pytest.mark.parametrize("change,message,field", [
    ({"time_limit_minutes": "abc"}, "「限时（分钟）」应为1～600的整数", "time_limit_minutes"),
    ({"pass_mark": "0"}, "「及格分（百分制）」应为1～100的整数", "pass_mark"),
    ({"title": " "}, "缺少「考试名称」", "title"),
    ({"slug": "Bad Slug"}, "考试编号只能用小写字母、数字和「-」", "slug"),
    ({"d0-category": "", "d1-category": "", "d0-count": "", "d1-count": ""}, "「抽题规则」应列出至少一条抽题规则", None),
    ({"kind": "practice", "d0-category": "etiquette/*"}, "会抽到上岗认证考试的题目", "d0-count"),
])
def test_each_refusal_of_the_exam_form_is_in_chinese_and_keeps_the_input(app, trainer, change, message, field):
    response = _submit(trainer, "/exams/manage/new", {**FORM, **change})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and message in page, re.sub(r"<[^>]+>", " ", page)[-1500:]
    assert 'value="etiquette/*' in page or change.get("d0-category") == ""
    if field:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Exam).where(Exam.slug.in_(["zz-form-exam", "Bad Slug"]))) == 0


def test_form_and_yaml_views_make_the_same_definition_and_a_save_is_a_new_version(app, trainer):
    assert _submit(trainer, "/exams/manage/new", FORM).status_code == 302
    with app.app_context():
        row = db.session.scalar(select(Exam).where(Exam.slug == "zz-form-exam"))
        text, version, by_form = row.yaml_text, row.version, exam_spec(row)
    assert version == 1 and by_form.title == "表单考试" and not by_form.certification
    assert (by_form.time_limit_minutes, by_form.pass_mark, by_form.max_attempts, by_form.cooldown_minutes) == (20, 70, 2, 10)
    assert [(r.category, r.count) for r in by_form.draw] == [("etiquette/*/练习", 4), ("phone-service/*/练习", 2)]
    # the YAML view shows that text, and the same text typed there makes the same definition
    yaml_page = html.unescape(trainer.get("/exams/manage/zz-form-exam/yaml").get_data(as_text=True))
    assert text in yaml_page
    assert _submit(trainer, "/exams/manage/new/yaml", {"slug": "zz-yaml-exam", "yaml_text": text}).status_code == 302
    with app.app_context():
        by_yaml = exam_spec(db.session.scalar(select(Exam).where(Exam.slug == "zz-yaml-exam")))
    assert by_yaml == parse_exam(load(text), "zz-yaml-exam") and by_yaml.draw == by_form.draw
    assert {**by_yaml.__dict__, "id": ""} == {**by_form.__dict__, "id": ""}
    # the form reads a definition written as YAML and saves it unchanged: no new version
    assert _submit(trainer, "/exams/manage/zz-yaml-exam", _form_of(trainer, "/exams/manage/zz-yaml-exam")).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Exam.version).where(Exam.slug == "zz-yaml-exam")) == 1
    # a change in the form is a new version
    assert _submit(trainer, "/exams/manage/zz-form-exam", {**FORM, "pass_mark": "75"}).status_code == 302
    with app.app_context():
        row = db.session.scalar(select(Exam).where(Exam.slug == "zz-form-exam"))
        assert row.version == 2 and exam_spec(row).pass_mark == 75


def _form_of(client, url: str) -> dict:
    page = html.unescape(client.get(url).get_data(as_text=True))
    fields = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', page))
    fields |= dict(re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', page))
    fields |= dict(re.findall(r'<input type="radio" name="(kind)" value="([^"]+)" checked', page))
    return fields


def test_every_shipped_exam_saved_unchanged_from_its_form_keeps_its_version(app, trainer):
    with app.app_context():
        exams = {e.slug: e.version for e in db.session.scalars(select(Exam))}
    for slug, version in exams.items():
        fields = _form_of(trainer, f"/exams/manage/{slug}")
        response = _submit(trainer, f"/exams/manage/{slug}", fields)
        assert response.status_code == 302, (slug, re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))[-800:])
        with app.app_context():
            row = db.session.scalar(select(Exam).where(Exam.slug == slug))
            assert row.version == version  # the same definition: no new version
            assert exam_spec(row) == parse_exam(load(row.yaml_text), slug)


def test_the_exam_list_leads_to_the_form_and_the_yaml_is_the_advanced_view(trainer):
    page = trainer.get("/exams/manage").get_data(as_text=True)
    assert 'href="/exams/manage/new"' in page and 'href="/exams/manage/practice-basics"' in page
    new = trainer.get("/exams/manage/new").get_data(as_text=True)
    assert 'name="d0-category"' in new and 'href="/exams/manage/new/yaml"' in new
    assert 'name="yaml_text"' in trainer.get("/exams/manage/practice-basics/yaml").get_data(as_text=True)
