"""The shipped banks: practice and certification pools kept apart, each drawing well, and the bank linter."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.courses.loader import load_courses
from lms.exams.definitions import DrawRule, check_pool, is_certification_category
from lms.exams.lint import Item, lint, lint_files, pools
from lms.exams.loading import load_exam_content
from lms.exams.questions import Choice, Numeric, QuestionSpec
from lms.exams.service import CHECK_EXCLUDED, CHECK_QUESTIONS

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).resolve().parents[2] / "courses"
WELL = 2  # "draws well": a pool holds at least twice what one sitting draws from it


@pytest.fixture(scope="module")
def shipped():
    courses = load_courses(ROOT)
    content = load_exam_content(ROOT, [c.slug for c in courses.courses])
    assert courses.errors == [] and content.errors == []
    return courses, content


def _items(content):
    return [(slug, q) for slug, qs in content.banks.items() for q in qs]


def test_draw_patterns_match_level_by_level():
    rule = DrawRule("etiquette/*", 1)
    assert rule.matches("etiquette/仪容") and not rule.matches("etiquette/仪容/练习")
    assert DrawRule("etiquette/*/练习", 1).matches("etiquette/仪容/练习")
    assert DrawRule("**/练习", 1).matches("etiquette/仪容/练习") and not DrawRule("**/练习", 1).matches("练习x")


def test_every_module_check_draws_well_from_practice_items_only(shipped):
    courses, content = shipped
    rules = content.certification_rules()
    for course in courses.courses:
        bank = [(i, q.category) for i, q in enumerate(content.banks[course.slug]) if q.qtype not in CHECK_EXCLUDED]
        for module in course.modules:
            pool = check_pool(bank, module.check, rules)
            assert len(pool) >= WELL * CHECK_QUESTIONS, (module.path, len(pool))
            assert not any(is_certification_category(cat, rules) for _, cat in pool)


def test_every_exam_rule_draws_well_and_practice_never_meets_certification(shipped):
    _, content = shipped
    rules = content.certification_rules()
    items = _items(content)
    for spec, _ in content.exams:
        for rule in spec.draw:
            matched = [q for _, q in items if rule.matches(q.category) and q.qtype not in ("description", "essay")]
            assert len(matched) >= WELL * rule.count, (spec.id, rule.category, len(matched))
            assert all(is_certification_category(q.category, rules) == spec.certification for q in matched)


def test_a_practice_exam_that_could_draw_a_certification_item_is_an_error_with_file_and_line(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "questions.gift").write_text(
        "$CATEGORY: c/topic\n\n::a::A {T}\n\n::b::B {F}\n\n$CATEGORY: c/topic/练习\n\n::p::P {T}\n", encoding="utf-8")
    (tmp_path / "exams").mkdir()
    draw = "certification: {cert}\ndraw:\n  - {{category: \"c/topic\", count: 1}}\n  - {{category: \"{pattern}\", count: 1}}\n"
    (tmp_path / "exams" / "cert.yaml").write_text("title: 认证\n" + draw.format(cert="true", pattern="c/topic"))
    (tmp_path / "exams" / "peek.yaml").write_text("title: 练习\n" + draw.format(cert="false", pattern="c/**"))
    errors = [str(e) for e in load_exam_content(tmp_path, ["c"]).errors]
    assert len(errors) == 2 and all(e.startswith(f"{tmp_path.name}/exams/peek.yaml:") for e in errors)
    assert ":4:" in errors[0] and ":5:" in errors[1] and "「c/topic」" in errors[1]
    (tmp_path / "exams" / "peek.yaml").write_text("title: 练习\n" + draw.format(cert="false", pattern="c/*/练习")
                                                  .replace('"c/topic", count: 1}}\n  - {{', "").replace(
                                                      "  - {category: \"c/topic\", count: 1}\n", ""))
    assert load_exam_content(tmp_path, ["c"]).errors == []


def test_the_shipped_banks_pass_the_linter(shipped):
    courses, content = shipped
    assert [f.message() for f in lint_files(content, courses.courses)] == []


def _short(name, text, answer, category="x/t"):
    return QuestionSpec("short", name, text, category=category, choices=(Choice(answer, 1.0),))


def test_linter_finds_a_typed_answer_in_another_item_of_the_same_pool_only():
    items = [Item("x", _short("a", "窗口暂停办理时摆什么牌？", "暂停营业")),
             Item("x", QuestionSpec("truefalse", "b", "离席时翻转「暂停营业」牌。", category="x/t", truth=True)),
             Item("x", QuestionSpec("single", "c", "哪句是欢迎语？", category="x/u",
                                    choices=(Choice("欢迎光临", 1.0), Choice("下一位", 0.0))))]
    found = lint(items, {"甲": [0, 1, 2]})
    assert [(f.kind, f.item.spec.name, f.other.spec.name, f.detail) for f in found] == [("leak", "a", "b", "暂停营业")]
    assert lint(items, {"甲": [0, 2], "乙": [1]}) == []  # never drawn together: no giveaway


def test_numerical_answers_count_with_the_unit_their_question_asks_for():
    wait = QuestionSpec("numerical", "w", "客户等候不能超过多少分钟？", category="x/t",
                        numeric=(Numeric(15, 15, 1.0, value=15, tolerance=0),))
    items = [Item("x", wait), Item("x", QuestionSpec("truefalse", "s", "抽查比例为15%。", category="x/t", truth=True)),
             Item("x", QuestionSpec("truefalse", "t", "等了15 分钟的客户要致歉。", category="x/t", truth=True))]
    assert [f.other.spec.name for f in lint(items, {"p": [0, 1, 2]})] == ["t"]


def test_near_duplicates_are_found_within_a_course_bank_across_pools():
    a = _short("a", "男士营业员的指甲不得长于多少毫米？", "1毫米")
    b = _short("b", "女士营业员的指甲不得长于多少毫米？", "1毫米", category="x/t/练习")
    c = _short("c", "客户等候时间不能超过多少分钟？", "15分钟")
    found = lint([Item("x", a), Item("x", b), Item("x", c)], {"认证": [0, 2], "练习": [1]})
    assert [(f.kind, f.item.spec.name, f.other.spec.name) for f in found] == [("duplicate", "a", "b")]
    assert "题库「x」" in found[0].pool


def test_pools_of_exams_and_checks():
    specs = [QuestionSpec("truefalse", n, n, category=c, truth=True)
             for n, c in (("a", "x/t"), ("b", "x/t/练习"), ("e", "x/t/练习"))]
    items = [Item("x", s) for s in specs[:2]] + [Item("x", QuestionSpec("essay", "e", "e", category="x/t/练习"))]
    from lms.exams.definitions import ExamSpec
    cert = ExamSpec("c", "认证", "", True, 10, 60, 0, 0, (DrawRule("x/*", 1),))
    out = pools(items, [cert], [("x", "一章", ("x/t",))], list(cert.draw))
    assert out == {"考试「认证」": [0], "章节测验「一章」": [1]}
