"""The notice form as a trainer uses it: modules and check categories by their titles, stores and
positions picked with checkboxes and 「全选」, a preview of the Markdown, and how many people the
scope reaches before publishing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.notices.models import Notice
from tests.conftest import login, post
from tests.web.test_notices import org  # noqa: F401  (fixture)

RAW_ID = re.compile(r"[a-z-]+/[^<\s]*")  # a bank category as stored: business-handling/证件核验/练习


@pytest.fixture
def trainer(app, org):  # noqa: F811
    client = app.test_client()
    login(client, org["trainer"])
    return client


def _options(page: str, name: str) -> list[tuple[str, str]]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [(v, unescape(label)) for v, label in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>',
                                                             select_html)]


def _publish(trainer, **fields) -> Notice:
    data = {"title": "新业务：范围测试", "body": "读完并确认。", "issued_at": "", **fields}
    response = post(trainer, "/notices/new", data, page="/notices/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    notice_id = int(re.search(r"/notices/(\d+)/board", response.headers["Location"]).group(1))
    with trainer.application.app_context():
        notice = db.session.get(Notice, notice_id)
        db.session.expunge(notice)
        return notice


def test_modules_and_check_categories_are_offered_by_their_titles(trainer):
    page = trainer.get("/notices/new").get_data(as_text=True)
    checks = _options(page, "check_category")
    assert ("business-handling/证件核验/练习", "业务受理规范 · 证件核验 · 练习（6题）") in checks
    assert not [label for _, label in checks if RAW_ID.search(label)]  # no category shown as its id
    assert all("练习" in label for value, label in checks if value)  # certification pools are never offered
    modules = _options(page, "module_id")
    assert any(label == "证件核验" for _, label in modules)
    assert '<optgroup label="业务受理规范">' in page  # modules grouped under their course's title
    # Picking a module suggests its own practice questions as the check.
    option = re.search(r'<option data-check="([^"]*)"[^>]*>证件核验</option>', page)
    assert option and option.group(1) == "business-handling/证件核验/练习"


def test_stores_and_positions_are_checkboxes_with_select_all(trainer, org):  # noqa: F811
    page = trainer.get("/notices/new").get_data(as_text=True)
    for name in ("stores", "positions"):
        assert re.search(rf'<input[^>]*type="checkbox"[^>]*name="{name}"', page)
        assert f'<select multiple id="{name}"' not in page and f'name="{name}" multiple' not in page
    assert page.count("data-pick-all") == 2 and 'name="all_stores"' in page and 'name="all_positions"' in page
    assert "甲厅" in page and "综合受理" in page
    assert "按现在的人员，将通知到5人。" in page  # everyone in the stores: four in A (one a manager), one in B


def test_select_all_every_box_or_none_means_everyone_and_a_few_mean_those(trainer, org):  # noqa: F811
    assert _publish(trainer, all_stores="y", all_positions="y").store_ids == []
    notice = _publish(trainer, title="新业务：逐个勾选", stores=[str(org["a"]), str(org["b"])])  # every store one by one
    assert notice.store_ids == [] and notice.positions == []
    notice = _publish(trainer, stores=[str(org["a"])], positions=["综合受理", "库管"])
    assert notice.store_ids == [org["a"]] and notice.positions == ["库管", "综合受理"]
    with trainer.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 3


def test_preview_shows_the_markdown_as_learners_will_and_publishes_nothing(trainer, org):  # noqa: F811
    body = "## 要点\n\n- 月费**129元**\n- 先核验证件"
    response = post(trainer, "/notices/new", {"title": "新业务：预览", "body": body, "action": "preview",
                                              "stores": [str(org["b"])]}, page="/notices/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    preview = page.split('id="preview"', 1)[1].split("</section>", 1)[0]
    assert "<h2>要点</h2>" in preview and "<strong>129元</strong>" in preview and "**" not in preview
    assert 'value="新业务：预览"' in page and "- 先核验证件" in page  # what was typed is kept
    assert re.search(rf'name="stores" value="{org["b"]}"[^>]* checked', page)
    assert "按现在的人员，将通知到1人。" in page  # B holds one person
    with trainer.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    # The live preview (as the page's script asks for it while the trainer types) renders the same.
    live = post(trainer, "/author/preview", {"body": body}, page="/notices/new").get_data(as_text=True)
    assert "<h2>要点</h2>" in live and "<strong>129元</strong>" in live


def test_the_reach_of_a_scope_is_counted_as_it_is_picked(trainer, org):  # noqa: F811
    def reach(query: str) -> str:
        return trainer.get(f"/notices/audience?{query}").get_json()["text"]

    assert reach("") == "按现在的人员，将通知到5人。"
    assert reach(f"stores={org['a']}&positions=综合受理") == "按现在的人员，将通知到2人。"
    assert reach(f"stores={org['b']}&positions=库管") == "按现在的人员，这个范围里没有人。"
    assert reach(f"stores={org['b']}&all_stores=y") == "按现在的人员，将通知到5人。"  # 全选 wins


def test_a_problem_is_shown_in_chinese_beside_its_field_and_keeps_what_was_typed(trainer, org):  # noqa: F811
    def errors_of(page: str, name: str) -> list[str]:
        """The error lines inside the label or fieldset of a field."""
        box = re.search(rf'<label for="{name}">(.*?)</label>|<fieldset[^>]*>((?:(?!</fieldset>).)*?name="{name}"'
                        rf'(?:(?!</fieldset>).)*)</fieldset>', page, re.S)
        box = box.group(1) or box.group(2)
        return re.findall(r'<small class="[^"]*errors">([^<]*)</small>', box)

    page = post(trainer, "/notices/new", {"title": "", "body": "正文保留", "issued_at": "2026-02-30T10:00",
                                          "stores": ["999999"], "check_category": "x/y"},
                page="/notices/new").get_data(as_text=True)
    assert errors_of(page, "title") == ["请填写标题"]
    assert errors_of(page, "issued_at") == ["不是有效的日期与时间值。"]  # WTForms' own message, in its Chinese
    assert errors_of(page, "check_category") == ["所选题目类别不能出小测，请另选"]
    assert errors_of(page, "stores") == ["所选营业厅已停用或不存在，请重新勾选"]
    assert "正文保留" in page
    page = post(trainer, "/notices/new", {"title": "新业务：太早", "body": "正文", "issued_at": "2026-11-01T10:00"},
                page="/notices/new").get_data(as_text=True)  # the clock is frozen at 2026-11-20
    assert errors_of(page, "issued_at") == ["发布时间最多只能往前补填7天。"]
    assert 'value="新业务：太早"' in page
    with trainer.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_a_body_over_the_markdown_limits_is_refused_beside_it_and_the_preview_says_why(trainer, org):  # noqa: F811
    body = "- a\n" + "".join("  " * depth + "- b\n" for depth in range(1, 40))  # lists 40 deep
    page = post(trainer, "/notices/new", {"title": "新业务：嵌套", "body": body, "issued_at": ""},
                page="/notices/new").get_data(as_text=True)
    label = page.split('<label for="body">', 1)[1].split("</label>", 1)[0]
    assert re.search(r'<small class="errors">通知内容[^<]*嵌套[^<]*</small>', label)
    assert "无法预览" in page.split('id="preview"', 1)[1].split("</section>", 1)[0]
    with trainer.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_the_same_notice_sent_again_within_minutes_is_not_published_twice(trainer, org):  # noqa: F811
    """Back and 发布 again (or a second tap): the first notice is shown, nobody is assigned twice; the same
    text to another store, or after withdrawing the first, is a notice of its own."""
    first = _publish(trainer, stores=[str(org["a"])])
    response = post(trainer, "/notices/new", {"title": "新业务：范围测试", "body": "读完并确认。", "issued_at": "",
                                              "stores": [str(org["a"])]}, page="/notices/new", follow_redirects=True)
    assert "这条通知刚刚已经发布过了（可能是重复点击），没有再发一次。" in response.get_data(as_text=True)
    assert response.request.path == f"/notices/{first.id}/board"
    other = _publish(trainer, stores=[str(org["b"])])
    assert other.id != first.id
    post(trainer, f"/notices/{first.id}/withdraw", {"reason": "发错了"}, page=f"/notices/{first.id}/board")
    again = _publish(trainer, stores=[str(org["a"])])
    assert again.id not in (first.id, other.id)
