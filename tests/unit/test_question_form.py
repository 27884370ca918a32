"""The question form (pure): every shipped question survives form → GIFT → form, and each refusal names its field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lms.exams.exam_form import draft_from_form as exam_draft, field_problems, to_yaml
from lms.exams.definitions import parse_exam
from lms.exams.gift import parse_gift, to_gift
from lms.exams.question_form import (WHOLE, draft_from_form, draft_from_spec, empty_draft, spec_from_draft)
from lms.exams.questions import Choice, Numeric, Pair, QuestionSpec, normalise_search, search_text
from lms.yamlx import load

pytestmark = pytest.mark.no_db
ROOT = Path(__file__).resolve().parents[2] / "courses"


def _shipped() -> list[QuestionSpec]:
    out = []
    for path in sorted(ROOT.glob("*/questions.gift")):
        result = parse_gift(path.read_text(encoding="utf-8"))
        assert result.errors == []
        out += [replace(q, line=0, end_line=0) for q in result.questions]
    return out


def _round_trip(spec: QuestionSpec) -> QuestionSpec:
    """Fill the form from a question, post it as it stands, build the question again."""
    draft = draft_from_spec(spec)
    built, errors = spec_from_draft(draft_from_form(spec.qtype, draft.values), spec.name)
    assert errors == {}, (spec.name, errors)
    return built


def test_every_shipped_question_survives_the_form_unchanged():
    shipped = _shipped()
    assert len(shipped) >= 300 and {q.qtype for q in shipped} >= {"single", "multiple", "truefalse", "short",
                                                                    "numerical", "matching", "essay"}
    for spec in shipped:
        assert _round_trip(spec).same_as(spec), spec.name


HANDMADE = [
    QuestionSpec("single", "a", "含有{花括号}和#号、=号~号的题干：", category="c/t",
                 choices=(Choice("甲 -> 乙", 1.0, "对#"), Choice("%50%不是权重", 0.0), Choice("丙", 0.5, "半对"),
                          Choice("丁", -0.25))),
    QuestionSpec("multiple", "b", "多选", category="c/t", choices=(Choice("甲", 1 / 3), Choice("乙", 1 / 3),
                                                                 Choice("丙", 1 / 3), Choice("丁", -1.0, "错"))),
    QuestionSpec("numerical", "c", "数值", category="c/t", general_feedback="总体",
                 numeric=(Numeric(4.5, 5.5, 1.0, "好", 5.0, 0.5), Numeric(-3.0, 1e-3, 0.5), )),
    QuestionSpec("matching", "d", "配对", category="c/t", pairs=(Pair("甲", "一"), Pair("乙", "二"), Pair("丙", "一"))),
    QuestionSpec("truefalse", "e", "对错", category="c/t", truth=True, true_feedback="是", false_feedback="否"),
    QuestionSpec("short", "f", "简答", category="c/t", choices=(Choice("48小时", 1.0), Choice("两天", 0.5, "写小时"))),
    QuestionSpec("essay", "g", "论述\n第二行", category="c/t", general_feedback="要点"),
]


@pytest.mark.parametrize("spec", HANDMADE, ids=lambda s: s.qtype)
def test_parse_of_render_is_the_spec_for_what_the_form_builds(spec):
    built = _round_trip(spec)
    assert built.same_as(spec)
    assert parse_gift(to_gift([built])).questions[0].same_as(built)


def _build(qtype: str, **values: str):
    draft = empty_draft(qtype)
    draft.values.update({"category": "c/t", "text": "题干", **values})
    draft = draft_from_form(qtype, draft.values)
    return spec_from_draft(draft, "n")


@pytest.mark.parametrize("qtype,values,field,message", [
    ("single", {"r0-text": "甲", "r1-text": "乙"}, "correct", "请选出正确答案"),
    ("single", {"r0-text": "甲", "correct": "0"}, "choices", "至少需要两个选项"),
    ("single", {"r0-text": "Ａ", "r1-text": "a", "correct": "0"}, "r1-text", "与第1个选项重复"),
    ("single", {"r0-text": "甲", "r1-feedback": "只写了反馈", "correct": "0"}, "r1-text", "请填写选项"),
    ("multiple", {"r0-text": "甲", "r1-text": "乙", "r1-weight": "20"}, "r1-weight", "不能得正分"),
    ("multiple", {"r0-text": "甲", "r0-correct": "y", "r0-weight": "60", "r1-text": "乙", "r1-correct": "y",
                  "r1-weight": "60"}, "correct", "合计应为100%（现为120%）"),
    ("short", {"r0-text": "甲", "r0-weight": "0"}, "choices", "至少填写一个得分的答案"),
    ("short", {"r0-text": "甲", "r0-weight": "150"}, "r0-weight", "-100～100"),
    ("numerical", {"r0-value": "五"}, "r0-value", "答案应为数字"),
    ("numerical", {"r0-value": "5", "r0-tolerance": "-0.5"}, "r0-tolerance", "误差不能为负数"),
    ("numerical", {"r0-low": "5", "r0-high": "1"}, "r0-high", "最大值不能小于最小值"),
    ("numerical", {"r0-value": "1e999"}, "r0-value", "答案应为数字"),
    ("matching", {"r0-left": "甲", "r0-right": "一"}, "choices", "至少需要两对"),
    ("matching", {"r0-left": "甲", "r0-right": "一", "r1-left": "乙"}, "r1-right", "请填写与之匹配的答案"),
    ("matching", {"r0-left": "甲", "r0-right": "一", "r1-right": "二"}, "r1-left", "请填写左边的问题"),
    ("truefalse", {}, "truth", "请选择"),
    ("essay", {"text": " "}, "text", "请填写题干"),
    ("essay", {"category": "c/*"}, "category", "通配符"),
    ("essay", {"category": "/c/t"}, "category", "开头和结尾不要「/」"),
])
def test_each_refusal_names_its_field_in_chinese(qtype, values, field, message):
    spec, errors = _build(qtype, **values)
    assert spec is None and message in errors.get(field, ""), errors


def test_a_question_too_long_for_gift_is_refused_whole():
    spec, errors = _build("short", **{f"r{i}-text": f"{i}" + "长" * 300 for i in range(20)})
    assert spec is None and "题目连同答案太长" in errors[WHOLE]


def test_multiple_choice_right_options_share_the_points_when_no_weight_is_given():
    spec, errors = _build("multiple", **{"r0-text": "甲", "r0-correct": "y", "r1-text": "乙", "r1-correct": "y",
                                         "r2-text": "丙", "r2-correct": "y", "r3-text": "丁", "r3-weight": "-100"})
    assert errors == {} and [c.fraction for c in spec.choices] == [1 / 3, 1 / 3, 1 / 3, -1.0]


def test_rows_beyond_the_offered_ones_are_read_and_spare_rows_are_offered():
    draft = draft_from_form("matching", {f"r{i}-{k}": f"{k}{i}" for i in range(7) for k in ("left", "right")})
    assert draft.rows == 9 and draft.row(6, "left") == "left6"
    assert empty_draft("single").rows == 4


def test_search_text_holds_the_stem_and_every_answer_normalised():
    spec = QuestionSpec("matching", "名", "ＶＩＰ  客户", category="c/t", pairs=(Pair("过户", "双方身份证"),))
    assert search_text(spec) == "名 c/t vip 客户 过户 双方身份证"
    assert normalise_search(" ＶＩＰ\t客户 ") == "vip 客户"


def test_the_exam_form_writes_yaml_whose_problems_come_back_beside_their_fields():
    draft = exam_draft({"title": "考试", "kind": "certification", "time_limit_minutes": "30", "pass_mark": "101",
                        "max_attempts": "3", "cooldown_minutes": "x", "d0-category": "c/*", "d0-count": "2",
                        "d2-category": "c/t", "d2-count": "9"})
    text, fields = to_yaml(draft)
    try:
        parse_exam(load(text), "e", {"c/t": {"single": 5}})
    except ValueError as exc:
        problems = field_problems(exc.problems, fields)
    assert set(problems) == {"pass_mark", "cooldown_minutes", "d2-count"}, problems
    assert "「及格分（百分制）」应为1～100的整数" in problems["pass_mark"]
    assert problems["d2-count"] == ["类别「c/t」只有5道可抽的题，不够抽9道"]
    good = exam_draft({**draft.values, "pass_mark": "80", "cooldown_minutes": "0", "d2-count": "3"})
    spec = parse_exam(load(to_yaml(good)[0]), "e", {"c/t": {"single": 5}})
    assert spec.certification and [(r.category, r.count) for r in spec.draw] == [("c/*", 2), ("c/t", 3)]
    assert WHOLE not in problems
