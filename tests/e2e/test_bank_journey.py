"""A trainer's question bank in the browser, on a phone (375 × 812) and a PC (1280 × 800): search and filter,
write a matching question in its form with the learner's view beside it, find it again, edit and save it;
then an exam from the form, refused while a rule draws more than its pool holds. What it adds is removed
afterwards, so the other journeys on the shared app see the shipped bank only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from lms.extensions import db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.no_db

NAME = "旅程-证件配对"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _fits(page) -> None:
    """Nothing sticks out sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.fixture
def cleanup(live_app):
    yield
    app = live_app[0]
    from lms.exams.models import Exam, Question, QuestionVersion

    with app.app_context():
        ids = db.session.scalars(select(Question.id).where(Question.name == NAME)).all()
        db.session.execute(delete(QuestionVersion).where(QuestionVersion.question_id.in_(ids)))
        db.session.execute(delete(Question).where(Question.id.in_(ids)))
        db.session.execute(delete(Exam).where(Exam.slug == "journey-practice"))
        db.session.commit()


@pytest.mark.parametrize("width,height", [(375, 812), (1280, 800)])
def test_trainer_searches_filters_writes_and_edits_a_matching_question(browser, live_app, shoot, cleanup, width, height):
    app, base, accounts = live_app
    page = log_in(browser, base, "PX0001", accounts["PX0001"], width, height)
    size = f"{width}"
    page.goto(f"{base}/bank")
    page.fill("input[name=q]", "请慢走")  # a phrase of the answers, not of any question's text
    page.select_option("select[name=type]", "matching")
    page.click("form.bank-filters button[type=submit]")
    page.wait_for_load_state()
    assert "type=matching" in page.url and page.input_value("input[name=q]") == "请慢走"
    rows = page.locator("table.bank-list tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert texts and all("匹配题" in t for t in texts) and any("用语-分类匹配" in t for t in texts)
    _fits(page)
    shoot(page, f"{size}-1-search")

    page.click("text=新建题目")
    page.click("a[role=button]:has-text('匹配题')")
    page.wait_for_load_state()
    page.select_option("select[name=course]", "business-handling")
    page.fill("input[name=name]", NAME)
    page.fill("input[name=category]", "business-handling/证件核验/练习")
    page.fill("textarea[name=text]", "把业务和要核验的证件配对。")
    page.fill("input[name=r0-left]", "过户")
    page.fill("input[name=r0-right]", "新旧机主的有效身份证件")
    page.fill("input[name=r1-left]", "补卡")
    page.fill("input[name=r1-right]", "机主本人的有效身份证件")
    page.fill("input[name=r2-left]", "销户")
    page.fill("input[name=r2-right]", "户口本")
    # the learner's view follows the form as it is typed
    expect(page.locator("#preview select[name=match-1]")).to_be_visible()
    expect(page.locator("#preview")).to_contain_text("补卡")
    options = page.locator("#preview select[name=match-0] option").all_inner_texts()
    assert options == ["（请选择）", "新旧机主的有效身份证件", "机主本人的有效身份证件", "户口本"]
    page.click("[data-add-row]")
    assert page.locator("input[name=r4-left]").count() == 1
    _fits(page)
    shoot(page, f"{size}-2-new-matching")
    page.click("button[value=save]")
    page.wait_for_load_state()
    assert "已新建「旅程-证件配对」（第1版）" in page.inner_text("main")

    # find it again by a word of one of its answers, and filter by course and type
    page.goto(f"{base}/bank")
    page.fill("input[name=q]", "户口本")
    page.select_option("select[name=course]", "business-handling")
    page.select_option("select[name=type]", "matching")
    page.click("form.bank-filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("table.bank-list tbody tr").count() == 1
    page.click(f"text={NAME}")
    page.wait_for_load_state()
    page.fill("input[name=r3-left]", "单位过户")
    page.fill("input[name=r3-right]", "营业执照")
    page.fill("input[name=r2-right]", "机主本人的有效身份证件")  # the same answer twice is fine on the right…
    page.click("button[value=preview]")
    page.wait_for_load_state()
    expect(page.locator("#preview select[name=match-2]")).to_be_visible()
    assert "营业执照" in page.locator("#preview select[name=match-0]").inner_text()
    page.fill("input[name=r1-left]", "过户")  # …but not the same prompt
    page.click("button[value=save]")
    page.wait_for_load_state()
    assert "与第1对的问题重复" in page.inner_text("main") and page.input_value("input[name=r3-left]") == "单位过户"
    page.fill("input[name=r1-left]", "补卡")
    page.click("button[value=save]")
    page.wait_for_load_state()
    assert "已保存为第2版" in page.inner_text("main")
    assert page.input_value("input[name=r3-left]") == "单位过户"
    _fits(page)
    shoot(page, f"{size}-3-saved")


@pytest.mark.parametrize("width,height", [(375, 812), (1280, 800)])
def test_trainer_creates_an_exam_from_the_form(browser, live_app, shoot, cleanup, width, height):
    app, base, accounts = live_app
    page = log_in(browser, base, "PX0001", accounts["PX0001"], width, height)
    size = f"{width}"
    page.goto(f"{base}/exams/manage")
    page.click("text=新建考试")
    page.wait_for_load_state()
    page.fill("input[name=slug]", "journey-practice")
    page.fill("input[name=title]", "证件核验练习")
    page.check("input[name=kind][value=practice]")
    page.fill("input[name=pass_mark]", "60")
    page.fill("input[name=d0-category]", "business-handling/*/练习")
    pool = page.locator("[data-pool]").first
    expect(pool).to_contain_text(re.compile(r"题库中可抽\d+道"))
    have = int(re.search(r"可抽(\d+)道", pool.inner_text()).group(1))
    page.fill("input[name=d0-count]", str(have + 5))
    shoot(page, f"{size}-4-exam-form")
    page.click("form.eform button[type=submit]")
    page.wait_for_load_state()
    row = page.locator("[data-row]").first
    assert f"只有{have}道可抽的题，不够抽{have + 5}道" in row.inner_text()
    assert page.input_value("input[name=title]") == "证件核验练习"
    _fits(page)
    shoot(page, f"{size}-5-exam-refused")
    page.fill("input[name=d0-count]", "5")
    page.click("form.eform button[type=submit]")
    page.wait_for_load_state()
    assert "已保存「证件核验练习」第1版" in page.inner_text("main")
    assert page.url.endswith("/exams/manage/journey-practice")
    page.click("text=YAML格式（高级）")
    page.wait_for_load_state()
    assert 'category: "business-handling/*/练习", count: 5' in page.input_value("textarea[name=yaml_text]")
    _fits(page)
