"""Grading of every question type, partial credit and negative weights; exam draws; item analysis."""

from __future__ import annotations

import random

import pytest

from lms.exams.analysis import analyse, discrimination
from lms.exams.definitions import ExamError, draw_questions, parse_exam
from lms.exams.grading import grade, parse_number, read_response, right_answer_text
from lms.exams.questions import Choice, Numeric, Pair, QuestionSpec, from_dict, to_dict

pytestmark = pytest.mark.no_db

SINGLE = QuestionSpec("single", "s", "等候时间最长不超过？", choices=(
    Choice("15 分钟", 1.0), Choice("30 分钟", 0.0, "太长了"), Choice("5 分钟", -0.5)))
MULTI = QuestionSpec("multiple", "m", "哪些是致谢语？", choices=(
    Choice("谢谢", 0.5), Choice("感谢您的耐心", 0.5), Choice("快点", -1.0), Choice("你问我我问谁", -0.5)))
TF = QuestionSpec("truefalse", "t", "可以对客户说你好。", truth=False, true_feedback="应说您好", false_feedback="对")
SHORT = QuestionSpec("short", "sh", "新业务培训须在多少小时内完成？", choices=(
    Choice("48小时", 1.0), Choice("两天", 0.5)))
NUM = QuestionSpec("numerical", "n", "女员工鞋跟高度下限（厘米）", numeric=(
    Numeric(3, 3, 1.0, value=3, tolerance=0), Numeric(2, 4, 0.5, "接近了")))
MATCH = QuestionSpec("matching", "mt", "配对", pairs=(Pair("欢迎语", "欢迎光临"), Pair("送别语", "请慢走"),
                                                      Pair("道歉语", "对不起")))
ESSAY = QuestionSpec("essay", "e", "谈谈首问负责制。")


@pytest.mark.parametrize("spec, response, fraction", [
    (SINGLE, 0, 1.0), (SINGLE, 1, 0.0), (SINGLE, 2, 0.0), (SINGLE, 9, 0.0), (SINGLE, None, 0.0), (SINGLE, True, 0.0),
    (MULTI, [0, 1], 1.0), (MULTI, [0], 0.5), (MULTI, [0, 1, 3], 0.5), (MULTI, [0, 2], 0.0), (MULTI, [], 0.0),
    (MULTI, [0, 0, 1], 1.0), (MULTI, "0", 0.0),
    (TF, False, 1.0), (TF, True, 0.0), (TF, "false", 0.0),
    (SHORT, "48小时", 1.0), (SHORT, "４８ 小時", 1.0), (SHORT, "两天", 0.5), (SHORT, "一天", 0.0), (SHORT, "", 0.0),
    (NUM, "3", 1.0), (NUM, "３", 1.0), (NUM, "3.0", 1.0), (NUM, "2.5", 0.5), (NUM, "5", 0.0), (NUM, "三", 0.0),
    (MATCH, {"0": "欢迎光临", "1": "请慢走", "2": "对不起"}, 1.0), (MATCH, {"0": "欢迎光临", "1": "对不起"}, 1 / 3),
    (MATCH, None, 0.0),
])
def test_grade(spec, response, fraction):
    assert grade(spec, response).fraction == pytest.approx(fraction)


def test_essay_waits_for_a_trainer_and_description_scores_nothing():
    assert grade(ESSAY, "很长的回答").fraction is None
    assert grade(QuestionSpec("description", "d", "说明"), None).fraction == 0.0


def test_feedback_comes_with_the_grade():
    assert grade(SINGLE, 1).feedback == ("太长了",)
    assert grade(TF, True).feedback == ("应说您好",)
    assert grade(NUM, "2.5").feedback == ("接近了",)


@pytest.mark.parametrize("text, value", [("3", 3.0), ("３.５", 3.5), (" 12 ", 12.0), ("1,5", 1.5), ("abc", None), ("", None)])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_read_response_from_form_values():
    assert read_response(SINGLE, {"answer": ["1"]}) == 1
    assert read_response(SINGLE, {"answer": ["7"]}) is None
    assert read_response(MULTI, {"answer": ["2", "0", "x"]}) == [0, 2]
    assert read_response(TF, {"answer": ["false"]}) is False
    assert read_response(SHORT, {"answer": ["  48小时 "]}) == "48小时"
    assert read_response(MATCH, {"match-0": ["请慢走"], "match-1": ["伪造"], "match-2": [""]}) == {"0": "请慢走"}
    assert read_response(ESSAY, {"answer": ["x" * 9000]}) == "x" * 5000
    assert read_response(SHORT, {}) is None
    # choice questions post the position as shown; the attempt's order maps it back
    assert read_response(SINGLE, {"answer": ["2"]}, order=[2, 1, 0]) == 0
    assert read_response(MULTI, {"answer": ["0", "3"]}, order=[3, 2, 1, 0]) == [0, 3]


def test_spec_round_trips_through_storage():
    for spec in (SINGLE, MULTI, TF, SHORT, NUM, MATCH, ESSAY):
        assert from_dict(to_dict(spec)).same_as(spec)


EXAM = {"title": "上岗考试", "certification": True, "time_limit_minutes": 20, "pass_mark": 80, "max_attempts": 2,
        "cooldown_minutes": 30, "draw": [{"category": "etiquette/*", "count": 2}, {"category": "communication/忌语", "count": 1}]}


def test_parse_exam_and_draw_without_repeats():
    spec = parse_exam(EXAM, "final", {"etiquette/仪容": {"single": 2}, "etiquette/着装": {"truefalse": 1},
                                      "communication/忌语": {"single": 3}})
    assert spec.question_count == 3 and spec.certification
    pool = [(1, "etiquette/仪容"), (2, "etiquette/仪容"), (3, "etiquette/着装"), (4, "communication/忌语"),
            (5, "communication/忌语"), (6, "other")]
    for seed in range(20):
        drawn = draw_questions(spec, pool, random.Random(seed))
        assert len(drawn) == len(set(drawn)) == 3
        assert sum(1 for q in drawn if q in (1, 2, 3)) == 2 and sum(1 for q in drawn if q in (4, 5)) == 1


@pytest.mark.parametrize("change, message", [
    ({"title": ""}, "缺少「title」"),
    ({"pass_mark": 0}, "pass_mark"),
    ({"draw": []}, "draw"),
    ({"draw": [{"category": "etiquette/*", "count": 5}]}, "不够抽5道"),
    ({"extra": 1}, "未知字段"),
])
def test_bad_exam_definitions(change, message):
    with pytest.raises(ExamError) as info:
        parse_exam({**EXAM, **change}, "final", {"etiquette/仪容": {"single": 2, "essay": 4},
                                                 "communication/忌语": {"single": 3}})
    assert any(message in m for _, m in info.value.problems)


def test_item_analysis_facility_and_discrimination():
    rows = [(1, 10, 1.0, 3.0), (2, 10, 1.0, 2.0), (3, 10, 0.0, 0.0), (4, 10, 0.0, 1.0),
            (1, 11, 0.0, 3.0), (2, 11, 1.0, 2.0), (3, 11, 1.0, 0.0 + 1.0)]
    stats = analyse(rows)
    assert stats[10][:2] == (4, 50.0) and stats[10][2] > 30
    assert discrimination([1.0], [1.0]) is None
    assert discrimination([1, 1, 1], [0, 1, 2]) is None


def test_right_answer_of_a_single_choice_is_its_full_marks_option():
    spec = QuestionSpec("single", "q", "Q", choices=(Choice("对", 1.0), Choice("半对", 0.5), Choice("错", 0.0)))
    assert right_answer_text(spec) == "对"
    multiple = QuestionSpec("multiple", "m", "M", choices=(Choice("甲", 0.5), Choice("乙", 0.5), Choice("丙", -1)))
    assert right_answer_text(multiple) == "甲；乙"
