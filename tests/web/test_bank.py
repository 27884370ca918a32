"""The question bank for people: search, filters and pages; a form per question type with the learner's view."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from lms.courses.models import Course
from lms.exams.bank import import_questions
from lms.exams.gift import parse_gift, to_gift
from lms.exams.models import Question
from lms.exams.questions import Choice, Pair, QuestionSpec
from lms.extensions import db
from tests.conftest import csrf_token, login

NEW = "/bank/new/{qtype}?course=etiquette"


@pytest.fixture
def trainer(app, world):
    client = app.test_client()
    login(client, world["trainer"])
    return client


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _names(page: str) -> list[str]:
    return re.findall(r'href="/bank/\d+"><strong>([^<]+)</strong>', page)


def _submit(client, url: str, data: dict, page: str | None = None):
    return client.post(url.split("?")[0], data={**data, "csrf_token": csrf_token(client, page or url)})


def _add(app, *specs: QuestionSpec, course: str = "etiquette") -> None:
    with app.app_context():
        row = db.session.scalar(select(Course).where(Course.slug == course))
        import_questions(row, list(specs), None)
        db.session.commit()


def _question(app, name: str) -> tuple[int, int, QuestionSpec]:
    with app.app_context():
        q = db.session.scalar(select(Question).where(Question.name == name))
        return q.id, q.version, q.current.as_spec


# --- search, filters, pages ------------------------------------------------------------------

def test_search_finds_a_word_in_an_answer_whatever_its_width_or_case(app, trainer):
    _add(app, QuestionSpec("single", "zz-卡", "客户要办哪种卡？", category="etiquette/仪容/练习",
                           choices=(Choice("ＶＩＰ蓝鲸卡", 1.0), Choice("普通卡", 0.0))),
         QuestionSpec("matching", "zz-配对", "把证件和业务配对。", category="etiquette/仪容/练习",
                      pairs=(Pair("过户", "双方身份证"), Pair("补卡", "本人身份证"))))
    assert _names(trainer.get("/bank?q=蓝鲸").get_data(as_text=True)) == ["zz-卡"]
    assert _names(trainer.get("/bank?q=vip+蓝鲸卡").get_data(as_text=True)) == ["zz-卡"]  # every word, any width and case
    assert _names(trainer.get("/bank?q=双方身份证").get_data(as_text=True)) == ["zz-配对"]
    page = trainer.get("/bank?q=100%25_无此词").get_data(as_text=True)  # % and _ are words, not wildcards
    assert "没有符合条件的题目" in page and 'value="100%_无此词"' in page


def test_each_filter_narrows_the_list_and_the_status_shows_retired_questions(app, trainer):
    _add(app, QuestionSpec("truefalse", "zz-停用", "停用的题目。", category="etiquette/zz甲", truth=True),
         QuestionSpec("truefalse", "zz-在用", "在用的题目。", category="etiquette/zz甲/子类", truth=False),
         QuestionSpec("essay", "zz-论述", "论述题。", category="etiquette/zz乙"))
    with app.app_context():
        db.session.scalar(select(Question).where(Question.name == "zz-停用")).active = False
        db.session.commit()
        singles = db.session.scalar(select(func.count()).select_from(Question).where(
            Question.qtype == "single", Question.active.is_(True)))
        in_course = db.session.scalar(select(func.count()).select_from(Question).join(Course).where(
            Course.slug == "phone-service", Question.active.is_(True)))
    assert _names(trainer.get("/bank?category=etiquette/zz甲").get_data(as_text=True)) == ["zz-在用"]
    assert _names(trainer.get("/bank?category=etiquette/zz甲&status=retired").get_data(as_text=True)) == ["zz-停用"]
    assert sorted(_names(trainer.get("/bank?category=etiquette/zz甲&status=all").get_data(as_text=True))) == ["zz-停用", "zz-在用"]
    assert _names(trainer.get("/bank?q=论述题&category=etiquette/zz乙&type=essay").get_data(as_text=True)) == ["zz-论述"]
    assert _names(trainer.get("/bank?category=etiquette/zz乙&type=truefalse").get_data(as_text=True)) == []
    assert f"共{singles}道" in trainer.get("/bank?type=single").get_data(as_text=True)
    page = trainer.get("/bank?course=phone-service").get_data(as_text=True)
    assert f"共{in_course}道" in page and "导出本课程题库" in page
    assert set(re.findall(r'data-label="课程">([^<]+)<', page)) == {"电话服务"}


def test_pages_of_fifty_keep_the_filters(app, trainer):
    with app.app_context():
        singles = db.session.scalar(select(func.count()).select_from(Question).where(
            Question.qtype == "single", Question.active.is_(True)))
    pages = -(-singles // 50)
    assert pages >= 3
    first = trainer.get("/bank?type=single").get_data(as_text=True)
    assert len(_names(first)) == 50 and f"第1/{pages}页" in first
    links = set(re.findall(r'href="(/bank\?[^"]*page=\d+[^"]*)"', html.unescape(first)))
    assert links and all("type=single" in link for link in links)
    last = trainer.get(f"/bank?type=single&page={pages}").get_data(as_text=True)
    assert len(_names(last)) == singles - 50 * (pages - 1) and f"第{pages}/{pages}页" in last
    assert not set(_names(first)) & set(_names(last))
    assert 'aria-current="page">{}<'.format(pages) in last and "上一页" in last and "下一页" not in last
    assert "共" in trainer.get("/bank?type=single&page=999").get_data(as_text=True)  # past the end: the last page


# --- a form per type -------------------------------------------------------------------------

FORMS = {
    "single": ({"text": "等候不超过几分钟？", "r0-text": "15分钟", "r0-feedback": "对", "r1-text": "30分钟",
                "r1-weight": "50", "r2-text": "45分钟", "correct": "0", "general_feedback": "见服务标准"},
               '<input type="radio" name="answer" value="1"', "45分钟"),
    "multiple": ({"text": "哪些是规范用语？", "r0-text": "您好", "r0-correct": "y", "r1-text": "请稍等",
                  "r1-correct": "y", "r2-text": "不知道", "r2-weight": "-50"},
                 '<input type="checkbox" name="answer"', "可多选"),
    "truefalse": ({"text": "可以说「你好」。", "truth": "false", "true_feedback": "应说您好"},
                  '<input type="radio" name="answer" value="false"', "错误"),
    "short": ({"text": "新业务培训要在多少小时内完成？", "r0-text": "48小时", "r1-text": "四十八小时",
               "r2-text": "两天", "r2-weight": "50", "r2-feedback": "写小时数"},
              '<input type="text" name="answer"', "请输入答案"),
    "numerical": ({"text": "鞋跟高度不超过几厘米？", "r0-value": "5", "r0-tolerance": "0.5", "r1-low": "3",
                   "r1-high": "4", "r1-weight": "50", "other": "y", "other_feedback": "再看一遍仪容"},
                  'inputmode="decimal"', "请输入数字"),
    "matching": ({"text": "把业务和证件配对。", "r0-left": "过户", "r0-right": "双方身份证", "r1-left": "补卡",
                  "r1-right": "本人身份证", "r2-left": "户口迁移", "r2-right": "户口本"},
                 '<select name="match-1">', "户口本"),
    "essay": ({"text": "说说怎样接待一位生气的客户。", "general_feedback": "受理、解释、解决、跟踪"},
              '<textarea name="answer"', "此题由培训岗人工评分"),
}


@pytest.mark.parametrize("qtype", list(FORMS))
def test_each_type_form_saves_a_version_that_round_trips_and_previews_as_the_learner_sees_it(app, trainer, qtype):
    fields, learner_markup, learner_text = FORMS[qtype]
    name = f"zz-form-{qtype}"
    data = {"course": "etiquette", "name": name, "category": "etiquette/仪容/练习", **fields}
    preview = _submit(trainer, NEW.format(qtype=qtype), {**data, "action": "preview"}).get_data(as_text=True)
    assert learner_markup in preview and learner_text in html.unescape(preview) and "学员看到的样子" in preview
    with app.app_context():
        assert db.session.scalar(select(Question).where(Question.name == name)) is None  # a preview saves nothing
    response = _submit(trainer, NEW.format(qtype=qtype), data)
    assert response.status_code == 302, _text(response.get_data(as_text=True))[:500]
    qid, version, spec = _question(app, name)
    assert version == 1 and spec.qtype == qtype and spec.text == fields["text"]
    back = parse_gift(to_gift([spec]))
    assert back.errors == [] and back.questions[0].same_as(spec)
    page = trainer.get(f"/bank/{qid}").get_data(as_text=True)
    assert learner_markup in page and learner_text in html.unescape(page) and "第1版" in page
    # the live preview answers with the same partial
    live = trainer.post(f"/bank/preview/{qtype}", data={**data, "csrf_token": csrf_token(trainer, f"/bank/{qid}")})
    assert learner_markup in live.get_data(as_text=True)
    # editing it in its form makes version 2, and saving it unchanged makes none
    edited = {**data, "text": fields["text"] + "（修订）"}
    assert _submit(trainer, f"/bank/{qid}", edited).status_code == 302
    assert _question(app, name)[1] == 2 and _question(app, name)[2].text.endswith("（修订）")
    _submit(trainer, f"/bank/{qid}", edited)
    assert _question(app, name)[1] == 2
    assert "（修订）" in trainer.get(f"/bank/{qid}/gift").get_data(as_text=True)


def test_a_shipped_question_saved_unchanged_from_its_form_is_unchanged(app, trainer):
    with app.app_context():
        ids = {q.qtype: q.id for q in db.session.scalars(select(Question).where(Question.active.is_(True)))}
    for qtype, qid in ids.items():
        page = trainer.get(f"/bank/{qid}").get_data(as_text=True)
        fields = dict(re.findall(r'<input (?:type="hidden" )?name="([^"]+)" value="([^"]*)"', page))
        fields |= {m[0]: html.unescape(m[1]) for m in re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', page)}
        fields |= {m: "y" for m in re.findall(r'<input type="checkbox" name="([^"]+)" value="y" checked', page)}
        fields |= dict(re.findall(r'<input type="radio" name="(correct|truth)" value="([^"]+)" checked', page))
        fields = {k: html.unescape(v) for k, v in fields.items()}
        with app.app_context():
            version = db.session.get(Question, qid).version
        response = _submit(trainer, f"/bank/{qid}", fields)
        assert response.status_code == 302, (qtype, _text(response.get_data(as_text=True))[:400])
        with app.app_context():
            assert db.session.get(Question, qid).version == version, qtype


REFUSALS = [
    ("single", {"text": "题干甲", "r0-text": "选项甲", "r1-text": "选项乙"}, "请选出正确答案", "选项乙"),
    ("single", {"text": "题干乙", "r0-text": "同一个", "r1-text": "同一个 ", "correct": "0"}, "与第1个选项重复", "题干乙"),
    # a tampered choice: "²" passes str.isdigit but is no number (it was a 500)
    ("single", {"text": "题干乙二", "r0-text": "选项甲", "r1-text": "选项乙", "correct": "²"}, "请选出正确答案", "选项乙"),
    ("multiple", {"text": "题干丙", "r0-text": "甲", "r0-correct": "y", "r0-weight": "50", "r1-text": "乙"},
     "正确选项的得分比例合计应为100%", "题干丙"),
    ("multiple", {"text": "题干丁", "r0-text": "甲", "r1-text": "乙"}, "请至少勾选一个正确选项", "题干丁"),
    ("short", {"text": "题干戊", "r0-text": "答案甲", "r0-weight": "abc"}, "得分比例应为数字", "答案甲"),
    ("numerical", {"text": "题干己", "r0-value": "5", "r0-tolerance": "-1"}, "误差不能为负数", "题干己"),
    ("numerical", {"text": "题干庚", "r0-low": "9", "r0-high": "3"}, "最大值不能小于最小值", "题干庚"),
    ("matching", {"text": "题干辛", "r0-left": "左一", "r0-right": "右一"}, "匹配题至少需要两对", "左一"),
    ("matching", {"text": "题干壬", "r0-left": "左", "r0-right": "右一", "r1-left": "左", "r1-right": "右二"},
     "与第1对的问题重复", "右二"),
    ("truefalse", {"text": "题干癸"}, "请选择这句话是「正确」还是「错误」", "题干癸"),
    ("essay", {"text": ""}, "请填写题干", "etiquette/仪容/练习"),
]


@pytest.mark.parametrize("qtype,fields,message,kept", REFUSALS)
def test_each_refusal_is_in_chinese_beside_the_field_and_keeps_what_was_typed(app, trainer, qtype, fields, message, kept):
    name = "zz-refused"
    data = {"course": "etiquette", "name": name, "category": "etiquette/仪容/练习", **fields}
    response = _submit(trainer, NEW.format(qtype=qtype), data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in _text(page) and kept in html.unescape(page)
    assert 'aria-invalid="true"' in page or message in re.sub(r"\s+", "", _text(page))
    with app.app_context():
        assert db.session.scalar(select(Question).where(Question.name == name)) is None


def test_a_new_question_needs_a_course_a_free_name_and_a_plain_category(app, trainer):
    page = _submit(trainer, NEW.format(qtype="truefalse"), {"course": "", "name": "", "category": "etiquette/*",
                                                            "text": "题干", "truth": "true"}).get_data(as_text=True)
    assert "请选择课程" in page and "请填写题目名称" in page and "抽题规则的通配符" in page and 'value="etiquette/*"' in page
    with app.app_context():
        taken = db.session.scalar(select(Question.name).join(Course).where(Course.slug == "etiquette"))
    page = _submit(trainer, NEW.format(qtype="truefalse"), {"course": "etiquette", "name": taken, "category": "etiquette/x",
                                                            "text": "题干", "truth": "true"}).get_data(as_text=True)
    assert f"已有名为「{taken}」的题目" in html.unescape(page)


def test_new_question_button_offers_every_type(trainer):
    page = trainer.get("/bank").get_data(as_text=True)
    assert 'href="/bank/new"' in page
    choose = trainer.get("/bank/new").get_data(as_text=True)
    for qtype in FORMS:
        assert f'href="/bank/new/{qtype}"' in choose
    assert trainer.get("/bank/new/description").status_code == 404


def test_the_gift_view_is_the_advanced_view_of_the_same_question(app, trainer):
    with app.app_context():
        qid = db.session.scalar(select(Question.id).where(Question.qtype == "matching"))
    page = trainer.get(f"/bank/{qid}").get_data(as_text=True)
    assert f'href="/bank/{qid}/gift"' in page and "学员看到的样子" in page
    gift = trainer.get(f"/bank/{qid}/gift").get_data(as_text=True)
    assert "GIFT格式" in gift and f'href="/bank/{qid}"' in gift and "-&gt;" in gift
