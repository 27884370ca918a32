"""Three journeys in a real browser: a new hire on a phone, a trainer publishing, a manager exporting."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from lms.extensions import db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.no_db


def _right_choice_positions(app, attempt_id: int, position: int) -> dict:
    """What a learner who knows the answer enters (read on the server, like a trainer would)."""
    from lms.exams.grading import grade
    from lms.exams.models import Attempt

    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        response = next(r for r in attempt.responses if r.position == position)
        spec = response.question_version.as_spec
        if spec.qtype == "single":
            return {"click": [response.order.index(next(i for i, c in enumerate(spec.choices) if c.fraction == 1))]}
        if spec.qtype == "multiple":
            return {"click": [response.order.index(i) for i, c in enumerate(spec.choices) if c.fraction > 0]}
        if spec.qtype == "truefalse":
            return {"radio": "true" if spec.truth else "false"}
        if spec.qtype == "short":
            return {"text": next(c.text for c in spec.choices if c.fraction == 1)}
        if spec.qtype == "numerical":
            return {"text": f"{spec.numeric[0].low:g}"}
        if spec.qtype == "matching":
            return {"match": [p.right for p in spec.pairs]}
        assert grade(spec, None).fraction is None
        return {"text": "首问负责。"}


def _answer(page, how: dict) -> None:
    if "click" in how:
        boxes = page.locator("input[name=answer]")
        for index in how["click"]:
            boxes.nth(index).check()
    elif "radio" in how:
        page.locator(f"input[name=answer][value={how['radio']}]").check()
    elif "text" in how:
        page.fill("[name=answer]", how["text"])
    else:
        for i, right in enumerate(how["match"]):
            page.select_option(f"select[name=match-{i}]", right)


def _attempt_id(page) -> int:
    return int(re.search(r"/attempts/(\d+)/", page.url).group(1))


def _play(app, page, base: str, slug: str, good: bool) -> str:
    """Play a scenario by typing: the model answers (good) or a 服务忌语 (bad); return the debrief text."""
    from lms.roleplay.models import Run
    from lms.roleplay.service import scenario_of

    page.goto(f"{base}/practice/{slug}")
    page.click("text=开始演练（打字回复）")
    for _ in range(15):
        if "/debrief" in page.url:
            break
        run_id = int(re.search(r"/runs/(\d+)", page.url).group(1))
        with app.app_context():
            run = db.session.get(Run, run_id)
            node = scenario_of(run.scenario_version).nodes[run.node]
            reply = node.expect.model or (node.options[0].text if node.options else "您好")
            choice = node.mode == "choice"
        if choice:
            page.locator("button.option").first.click()
        else:
            page.fill("#reply-text", reply if good else "你问我，我问谁？不知道。")
            page.click("button:has-text('发送')")
        page.wait_for_load_state()
    assert "/debrief" in page.url
    return page.inner_text("main")


def test_new_hire_on_a_phone(browser, live_app, shoot):
    app, base, accounts = live_app
    page = log_in(browser, base, "DX1007", accounts["DX1007"])
    assert page.url.endswith("/notices")  # pending new-business notices come first
    shoot(page, "1-notices")
    page.goto(f"{base}/")
    assert "我的课程" in page.inner_text("main")
    shoot(page, "2-home")

    page.goto(f"{base}/courses/etiquette/grooming")
    page.click("text=开始本章小测")
    attempt_id = _attempt_id(page)
    for position in range(1, 4):
        page.goto(f"{base}/attempts/{attempt_id}/{position}")
        _answer(page, _right_choice_positions(app, attempt_id, position))
        page.click("button:has-text('保存并查看全部')")
    shoot(page, "3-check-overview")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('交卷')")
    page.wait_for_load_state()
    assert "小测通过" in page.inner_text("main")
    shoot(page, "4-module-done")

    good = _play(app, page, base, "long-wait", good=True)
    assert "通过" in good and "未通过" not in good.split("对话记录")[0]
    shoot(page, "5-scenario-good")
    bad = _play(app, page, base, "long-wait", good=False)
    assert "未通过" in bad and "服务忌语" in bad
    shoot(page, "6-scenario-bad")

    page.goto(f"{base}/exams/practice-basics")
    page.click("button:has-text('开始考试')")
    attempt_id = _attempt_id(page)
    assert "剩余时间" in page.inner_text("main")
    _answer(page, _right_choice_positions(app, attempt_id, 1))
    page.click("button:has-text('保存并查看全部')")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('交卷')")
    page.wait_for_load_state()
    assert "各类别得分" in page.inner_text("main")
    shoot(page, "7-exam-result")


def test_trainer_publishes_a_notice_and_sees_the_board(browser, live_app, shoot):
    app, base, accounts = live_app
    page = log_in(browser, base, "PX0001", accounts["PX0001"], width=1280, height=900)
    page.goto(f"{base}/notices/new")
    page.fill("#title", "浏览器测试：新业务上线")
    page.fill("#body", "请在 48 小时内学完。")
    page.click("#submit")
    page.wait_for_load_state()
    assert "/board" in page.url
    text = page.inner_text("main")
    assert "浏览器测试：新业务上线" in text and "0/21" in text
    shoot(page, "board")


def test_manager_sees_the_matrix_and_downloads_it(browser, live_app, shoot):
    from openpyxl import load_workbook

    app, base, accounts = live_app
    page = log_in(browser, base, "DX2001", accounts["DX2001"])
    page.goto(f"{base}/store/")
    page.wait_for_load_state()
    assert re.search(r"/store/\d+$", page.url)
    page.click("text=上岗认证矩阵")
    assert "上岗认证" in page.inner_text("main")
    shoot(page, "matrix")
    with page.expect_download() as info:
        page.click("text=导出Excel")
    sheet = load_workbook(io.BytesIO(open(info.value.path(), "rb").read())).active
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["工号", "姓名", "岗位", "状态"] and sheet.max_row >= 3
    with app.app_context():
        from lms.accounts.models import Store, User

        store_id = db.session.scalar(select(User.store_id).where(User.emp_no == "DX2001"))
        names = set(db.session.scalars(select(User.name).where(User.store_id == store_id)))
        other = set(db.session.scalars(select(User.name).join(Store).where(Store.id != store_id)))
    exported = {row[1].value for row in sheet.iter_rows(min_row=3)}
    assert exported <= names and not exported & other


def test_manager_reminds_someone_from_today_on_a_phone(browser, live_app, shoot):
    """The manager's 今天 on a 375 px phone: the list of who needs attention is one form; tapping a
    person's 提醒 reminds that person only, and their card then says so."""
    app, base, accounts = live_app
    page = log_in(browser, base, "DX1001", accounts["DX1001"])
    page.goto(f"{base}/")
    cards = page.locator("ul.today-people > li")
    assert cards.count() >= 2, page.inner_text("main")
    button = cards.nth(1).locator("button", has_text="提醒")
    name = cards.nth(1).locator(".who strong").inner_text()
    first_name = cards.nth(0).locator(".who strong").inner_text()
    box = button.bounding_box()
    assert box and box["x"] + box["width"] <= 375 and box["width"] < 200  # a button, not a full-width bar
    shoot(page, "today")
    button.click()
    page.wait_for_load_state()
    assert f"已提醒{name}" in page.inner_text("main")
    card = page.locator("ul.today-people > li", has_text=name)
    assert "今天已提醒" in card.inner_text() and card.locator("button", has_text="提醒").count() == 0
    assert page.locator("ul.today-people > li", has_text=first_name).locator("button", has_text="提醒").count() == 1
    shoot(page, "reminded")
