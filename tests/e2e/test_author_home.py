"""A trainer on a phone (375 × 812): the home that says what needs them today, and a notice written with
a live Markdown preview, stores picked with 「全选」 and published to the people the page said it would reach."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms.extensions import db
from tests.e2e.conftest import log_in
from tests.web.trainer_activity import HARD, UNKNOWN_GREETING, make_activity

pytestmark = pytest.mark.no_db

BODY = "## 办理要点\n\n- 月费**129元**，含通用流量30GB\n- 先核验证件，再讲清资费\n\n1. 确认客户需求\n2. 唱收唱付"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _fits(page) -> None:
    """Nothing sticks out sideways on the phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _reach(page) -> int:
    return int(re.search(r"将通知到(\d+)人", page.inner_text("[data-reach]")).group(1))


def test_trainer_home_on_a_phone(browser, live_app, shoot):
    app, base, accounts = live_app
    from lms.accounts.models import User

    with app.app_context():
        learners = db.session.scalars(select(User.id).where(User.emp_no.like("DX3%"), User.role == "staff")
                                      .order_by(User.emp_no)).all()
    make_activity(app, learners[:6])
    page = log_in(browser, base, "PX0001", accounts["PX0001"])
    assert page.url == f"{base}/"
    text = page.inner_text("main")
    assert "今天要处理的事" in text and "份答案待评分" in text
    assert "时限-久等论述" in text and "去评分" in text
    assert "演示：「演示融合套餐」新业务上线" in text  # the demo notice, with its completion
    assert "久等客户的接待" in text and "通过率0%" in text
    assert HARD in text and "得分率0%" in text
    assert UNKNOWN_GREETING in text
    _fits(page)
    shoot(page, "1-home")
    page.click("#items a:has-text('排队-熟人跳号')")
    page.wait_for_load_state()
    assert "/bank/" in page.url and HARD in page.inner_text("main")
    page.goto(f"{base}/")
    page.click("text=去评分")
    page.wait_for_load_state()
    assert page.url.endswith("/grading") and "时限-久等论述" in page.inner_text("main")


def test_trainer_writes_a_notice_on_a_phone(browser, live_app, shoot):
    app, base, accounts = live_app
    page = log_in(browser, base, "PX0001", accounts["PX0001"])
    page.goto(f"{base}/notices/new")
    page.fill("#title", "新业务：5G畅享套餐上线")
    page.fill("#body", BODY)
    page.wait_for_selector("#preview h2")  # the preview follows the typing
    preview = page.inner_html("#preview")
    assert "<h2>办理要点</h2>" in preview and "<strong>129元</strong>" in preview and "<ol>" in preview
    _fits(page)

    page.select_option("#module_id", label="证件核验")
    assert page.input_value("#check_category") == "business-handling/证件核验/练习"  # its own practice items
    assert "业务受理规范 · 证件核验 · 练习" in page.inner_text("#check_category")

    stores = page.locator("fieldset[data-noun='营业厅']")
    everyone = _reach(page)
    stores.locator("[data-pick-all]").check()  # 全选
    boxes = stores.locator("[data-pick-item]")
    assert boxes.count() == 3 and all(boxes.nth(i).is_checked() for i in range(3))
    assert stores.locator("[data-pick-count]").inner_text() == "全部营业厅"
    boxes.nth(2).uncheck()  # all but the third store
    assert not stores.locator("[data-pick-all]").is_checked()
    assert stores.locator("[data-pick-count]").inner_text() == "已选2个营业厅"
    expect(page.locator("[data-reach]")).not_to_contain_text(f"将通知到{everyone}人")  # counted again
    positions = page.locator("fieldset[data-noun='岗位']")
    for name in ("前台销售", "投诉接待"):
        positions.locator(f"label:has-text('{name}') input").check()
    expect(page.locator("[data-reach]")).to_contain_text("将通知到3人")
    shoot(page, "2-notice-form")

    page.click("#submit")
    page.wait_for_load_state()
    assert "/board" in page.url
    text = page.inner_text("main")
    assert "已发布，3人须在48小时内完成学习。" in text and "新业务：5G畅享套餐上线" in text
    notice_id = int(re.search(r"/notices/(\d+)/board", page.url).group(1))
    with app.app_context():
        from lms.notices.models import Notice

        notice = db.session.get(Notice, notice_id)
        assert len(notice.store_ids) == 2 and notice.positions == ["前台销售", "投诉接待"]
        assert "<strong>129元</strong>" in notice.body_html
    shoot(page, "3-board")

    page.goto(f"{base}/")
    home = page.inner_text("#notices")
    assert "新业务：5G畅享套餐上线" in home and "已完成0/3人（0%）" in home
    shoot(page, "4-home-with-notice")
    learner = log_in(browser, base, "DX1004", accounts["DX1004"])  # 前台销售 of the first store
    learner.goto(f"{base}/notices/{notice_id}")
    assert "月费129元" in learner.inner_text("main") and "证件核验" in learner.inner_text("main")
    _fits(learner)
    shoot(learner, "5-learner-reads-it")
