"""The trainer's home answers "what needs me today" with the same figures as the pages it links to."""

from __future__ import annotations

import re

import pytest

from lms.extensions import db
from lms.notices.service import NoticeData, publish
from tests.conftest import login
from tests.web.trainer_activity import HARD, UNKNOWN_GREETING, make_activity


@pytest.fixture
def busy(app, world, factory):
    """Six learners: runs, exam attempts, an essay waiting; a notice two of them have to learn."""
    learners = [world["staff_a"].id, world["staff_b"].id] + [
        factory.person("staff", world["store_a"], "综合受理").id for _ in range(4)]
    make_activity(app, learners)
    with app.app_context():
        publish(NoticeData("新业务：工作台测试", "正文", None, None, [world["store_b"]], [], None), world["trainer"].id)
        db.session.commit()
    client = app.test_client()
    login(client, world["trainer"])
    return client


def _section(page: str, anchor: str) -> str:
    return page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_the_trainer_lands_on_what_needs_them(busy):
    page = busy.get("/").get_data(as_text=True)
    assert "今天要处理的事" in page and "工作台" in page
    assert "1份答案待评分" in _text(page) and "2组回复值得补进短语库" in _text(page)
    essays = _text(_section(page, "essays"))
    assert "1份简答、论述答案等您评分" in essays and "时限-久等论述" in essays
    notices = _text(_section(page, "notices"))
    assert "新业务：工作台测试" in notices and "已完成0/2人（0%）" in notices  # store B: staff_b and its manager
    scenarios = _text(_section(page, "scenarios"))
    assert scenarios.index("久等客户的接待") < scenarios.index("咨询台迎宾与分流")  # 0 % before 50 %
    assert "通过率0%（6次" in scenarios and "通过率50%（6次" in scenarios and "「不知道。」×" in scenarios
    items = _text(_section(page, "items"))
    assert f"{HARD} 得分率0%（6人作答）" in items and "排队-引导窗口" not in items  # everyone got that one right
    replies = _text(_section(page, "replies"))
    assert UNKNOWN_GREETING in replies and "（3次）" in replies and "缺少：问候语" in replies
    assert re.search(r'href="/author/phrasebook/suggestions/propose\?reply=[^"]+target=phrases:greeting"', page)


def test_the_home_agrees_with_the_pages_it_links_to(busy):
    page = busy.get("/").get_data(as_text=True)
    grading = busy.get("/grading").get_data(as_text=True)
    assert "（1份待评）" in grading
    analytics = _text(busy.get("/store/analytics").get_data(as_text=True))
    assert re.search(r"久等客户的接待 ?6 ?0%", analytics) and re.search(r"咨询台迎宾与分流 ?6 ?50%", analytics)
    analysis = _text(busy.get("/exams/manage/practice-basics/analysis").get_data(as_text=True))
    assert HARD in analysis and "0.0%" in analysis
    suggestions = _text(busy.get("/author/phrasebook/suggestions").get_data(as_text=True))
    assert UNKNOWN_GREETING in suggestions and "共2组" in suggestions
    for link in ("/grading", "/store/analytics", "/exams/manage/practice-basics/analysis",
                 "/author/phrasebook/suggestions", "/notices/new"):
        assert f'href="{link}' in page


def test_an_empty_day_says_so(app, world):
    client = app.test_client()
    login(client, world["trainer"])
    page = _text(client.get("/").get_data(as_text=True))
    for quiet in ("没有待评分的答案。", "近14天没有发布新业务通知。", "没有需要留意的情景演练",
                  "没有需要留意的考试题", "最近的回复里没有需要补进短语库的说法。"):
        assert quiet in page


def test_learners_keep_their_home_and_the_trainer_keeps_their_courses(app, world):
    staff = app.test_client()
    login(staff, world["staff_a"])
    page = staff.get("/").get_data(as_text=True)
    assert "<h1>今天</h1>" in page and "今天要处理的事" not in page  # the learner's 今天 (tests/web/test_today.py)
    assert "<h1>我的课程</h1>" in staff.get("/my-courses").get_data(as_text=True)
    trainer = app.test_client()
    login(trainer, world["trainer"])
    courses = trainer.get("/my-courses").get_data(as_text=True)
    assert "<h1>我的课程</h1>" in courses and "服务礼仪" in courses
    assert 'href="/my-courses">我的课程</a>' in trainer.get("/courses/etiquette").get_data(as_text=True)
