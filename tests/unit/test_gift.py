"""Moodle GIFT import and export: every construct, malformed input and round trips."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
import random
import sys

import pytest

from lms.exams.gift import GiftError, GiftResult, parse_gift, to_gift
from lms.exams.grading import grade
from lms.exams.questions import Choice, Numeric, Pair, QuestionSpec, to_dict

pytestmark = pytest.mark.no_db


def one(source: str) -> QuestionSpec:
    """Parse a source that must hold exactly one good question."""
    result = parse_gift(source)
    assert result.errors == [], result.errors
    assert len(result.questions) == 1, result.questions
    return result.questions[0]


def same(a: list[QuestionSpec], b: list[QuestionSpec]) -> bool:
    return len(a) == len(b) and all(x.same_as(y) for x, y in zip(a, b))


# --- question types --------------------------------------------------------------------------

def test_single_choice_field_by_field():
    q = one("::Q1:: Who's buried in Grant's tomb?{~Grant =no one#Right! ~Napoleon#No}")
    assert q.qtype == "single"
    assert q.name == "Q1"
    assert q.text == "Who's buried in Grant's tomb?"
    assert q.text_format == "moodle"
    assert q.category == ""
    assert q.choices == (Choice("Grant", 0.0), Choice("no one", 1.0, "Right!"), Choice("Napoleon", 0.0, "No"))
    assert q.truth is None and q.numeric == () and q.pairs == ()
    assert q.general_feedback == "" and q.text_after == ""
    assert q.line == 1
    assert not q.missing_word and q.graded


def test_single_choice_keeps_negative_wrong_answers():
    q = one("Pick one {=right ~%-50%bad ~%-100%worse ~meh}")
    assert q.qtype == "single"
    assert [c.fraction for c in q.choices] == [1.0, -0.5, -1.0, 0.0]


def test_multiple_choice_with_weights():
    q = one("Which are fruits? {~%50%apple#yes ~%50%pear ~%-100%brick#no way}")
    assert q.qtype == "multiple"
    assert q.choices == (Choice("apple", 0.5, "yes"), Choice("pear", 0.5), Choice("brick", -1.0, "no way"))


def test_weights_allow_decimals_and_full_range():
    q = one("W {~%33.333%a ~%33.333%b ~%33.334%c ~%-100%d ~%0%e ~%100%f}")
    assert [c.fraction for c in q.choices] == [0.33333, 0.33333, 0.33334, -1.0, 0.0, 1.0]
    assert q.qtype == "multiple"


@pytest.mark.parametrize("block, qtype", [
    ("{=a =b ~c}", "single"),           # two answers at 100 %: still one tick (Moodle: any `=` is single)
    ("{=a ~%50%b ~c}", "single"),       # a partly right `~` answer does not make it multiple-answer
    ("{~%50%a =b ~%50%c}", "single"),   # nor do two of them
    ("{~%100%a ~b}", "multiple"),       # 100 % but not written with =: multiple answers allowed
    ("{~%50%a ~%50%b}", "multiple"),    # no answer at 100 %
])
def test_choice_type_follows_moodle_any_equals_is_single(block, qtype):
    assert one("Q " + block).qtype == qtype


def test_single_with_partial_answers_scores_one_pick_not_all():
    q = one("Q {=a ~%50%b ~c}")
    assert q.choices == (Choice("a", 1.0), Choice("b", 0.5), Choice("c", 0.0))
    assert grade(q, 1).fraction == 0.5
    assert grade(q, [0, 1, 2]).fraction == 0.0  # a single-answer item takes one pick, not a list of ticks


def test_equals_takes_no_weight_as_in_moodle():
    q = one("Q {=%50%half ~b}")
    assert q.qtype == "single"
    assert q.choices[0] == Choice("%50%half", 1.0)


@pytest.mark.parametrize("block", ["{=a ~%50%b ~c}", "{=a =b ~%-50%c}", "{~%100%a ~%50%b ~c}", "{~%50%a ~%50%b}"])
def test_export_is_read_back_as_the_same_type(block):
    q = one("Q " + block)
    text = to_gift([q])
    assert ("=" in text.split("{", 1)[1]) == (q.qtype == "single")  # what Moodle looks at
    assert parse_gift(text).questions[0].same_as(q)


MOODLE_EDGES = Path(__file__).parent / "data" / "moodle_choice_edges.gift"


def test_moodle_choice_edge_cases_give_moodles_counts():
    """Our own file with the choice cases of Moodle's examples.txt; Moodle reads it as 6 single + 2 multiple."""
    result = parse_gift(MOODLE_EDGES.read_text(encoding="utf-8"))
    assert result.errors == []
    kinds = Counter(q.qtype for q in result.questions)
    assert (kinds["single"], kinds["multiple"]) == (6, 2)
    for q in result.questions:
        assert parse_gift(to_gift([q])).questions[0].qtype == q.qtype


@pytest.mark.parametrize("block, truth", [
    ("{T}", True), ("{TRUE}", True), ("{F}", False), ("{FALSE}", False), ("{ true }", True), ("{f}", False),
])
def test_truefalse(block, truth):
    q = one("::TF:: The sun rises in the east. " + block)
    assert q.qtype == "truefalse"
    assert q.truth is truth
    assert q.text == "The sun rises in the east."
    assert q.true_feedback == q.false_feedback == "" and q.choices == ()


def test_truefalse_feedback_when_true():
    # The first feedback is for those who answered wrongly (false), the second for the right ones.
    q = one("Grant is buried in Grant's tomb.{T#No, he is.#Yes, well done.}")
    assert q.truth is True
    assert q.false_feedback == "No, he is."
    assert q.true_feedback == "Yes, well done."


def test_truefalse_feedback_when_false():
    q = one("The sun rises in the west.{FALSE#No, it rises in the east.#Right, it does not.}")
    assert q.truth is False
    assert q.true_feedback == "No, it rises in the east."
    assert q.false_feedback == "Right, it does not."


def test_truefalse_only_one_feedback():
    q = one("Only wrong {T#wrong only}")
    assert (q.false_feedback, q.true_feedback) == ("wrong only", "")
    q = one("Only right {F##right only}")
    assert (q.true_feedback, q.false_feedback) == ("", "right only")


def test_short_answer():
    q = one("::cap:: Capital of France? {=Paris =%50%paris city#Nearly =巴黎}")
    assert q.qtype == "short"
    assert q.choices == (Choice("Paris", 1.0), Choice("paris city", 0.5, "Nearly"), Choice("巴黎", 1.0))


def test_short_answer_that_looks_like_true_false_is_short():
    q = one("Letter? {=T}")
    assert q.qtype == "short" and q.choices == (Choice("T", 1.0),)


def test_numerical_value_and_tolerance():
    q = one("::pi:: What is pi to 3 places? {#3.1415:0.0005}")
    assert q.qtype == "numerical"
    (n,) = q.numeric
    assert (n.value, n.tolerance, n.fraction, n.feedback) == (3.1415, 0.0005, 1.0, "")
    assert n.low == pytest.approx(3.141) and n.high == pytest.approx(3.142)


def test_numerical_exact_value():
    (n,) = one("Two? {#2}").numeric
    assert n == Numeric(2.0, 2.0, 1.0, "", 2.0, 0.0)


def test_numerical_range():
    (n,) = one("Between one and five {#1..5}").numeric
    assert n == Numeric(1.0, 5.0, 1.0, "", None, None)
    (n,) = one("Negative {#-1e1..-5.5#note}").numeric
    assert n == Numeric(-10.0, -5.5, 1.0, "note", None, None)


def test_numerical_multiple_answers_with_feedback():
    q = one("When was Ulysses S. Grant born?{#\n=1822:0 # Correct!\n=%50%1822:2 # Close.\n}")
    assert q.numeric == (Numeric(1822.0, 1822.0, 1.0, "Correct!", 1822.0, 0.0),
                         Numeric(1820.0, 1824.0, 0.5, "Close.", 1822.0, 2.0))


def test_numerical_feedback_for_any_other_number():
    q = one("Two? {#=2:0#yes ~#That is not two.}")
    assert q.numeric[0] == Numeric(2.0, 2.0, 1.0, "yes", 2.0, 0.0)
    other = q.numeric[1]
    assert other == Numeric(-sys.float_info.max, sys.float_info.max, 0.0, "That is not two.")
    json.dumps(to_dict(q), allow_nan=False)  # stored as JSON: no infinities


def test_matching():
    q = one("::m:: Match the animals. {=dog -> 狗 =cat -> 猫 =cow -> 牛}")
    assert q.qtype == "matching"
    assert q.pairs == (Pair("dog", "狗"), Pair("cat", "猫"), Pair("cow", "牛"))
    assert q.choices == ()


def test_matching_accepts_two_pairs_distractors_and_arrows_on_the_right():
    q = one("M {\n=a -> 1\n=b -> x -> y\n= -> distractor\n}")
    assert q.pairs == (Pair("a", "1"), Pair("b", "x -> y"), Pair("", "distractor"))


@pytest.mark.parametrize("block", ["{}", "{ }", "{\n}"])
def test_essay(block):
    q = one("::e:: Write about your first day. " + block)
    assert q.qtype == "essay"
    assert q.text == "Write about your first day."
    assert q.choices == () and q.general_feedback == ""


def test_essay_with_general_feedback():
    q = one("Essay {####Mention the greeting.}")
    assert (q.qtype, q.general_feedback) == ("essay", "Mention the greeting.")


def test_description():
    q = one("::intro:: 以下题目考察迎宾礼仪。\n请认真作答。")
    assert q.qtype == "description"
    assert q.name == "intro"
    assert q.text == "以下题目考察迎宾礼仪。\n请认真作答。"
    assert not q.graded


# --- missing word ----------------------------------------------------------------------------

def test_missing_word_choice():
    q = one("Moodle costs {~lots of money =nothing ~a small amount} to download.")
    assert q.qtype == "single"
    assert q.text == "Moodle costs"
    assert q.text_after == "to download."
    assert q.missing_word
    assert q.name == "Moodle costs _____ to download."


def test_missing_word_truefalse_and_short():
    q = one("The sky {T} blue.")
    assert (q.qtype, q.text, q.text_after, q.truth) == ("truefalse", "The sky", "blue.", True)
    q = one("Two plus two is {=four =4} exactly.")
    assert (q.qtype, q.text, q.text_after) == ("short", "Two plus two is", "exactly.")


def test_missing_word_at_the_start():
    q = one("{=Paris ~London} is the capital of France.")
    assert (q.text, q.text_after) == ("", "is the capital of France.")
    assert q.name == "_____ is the capital of France."


def test_answer_block_at_the_end_is_not_missing_word():
    q = one("Capital? {=Paris ~London}   ")
    assert q.text_after == "" and not q.missing_word


# --- general feedback ------------------------------------------------------------------------

@pytest.mark.parametrize("source, qtype", [
    ("Q {=a ~b ####General.}", "single"),
    ("Q {~%50%a ~%50%b ####General.}", "multiple"),
    ("Q {T####General.}", "truefalse"),
    ("Q {T#wrong#right####General.}", "truefalse"),
    ("Q {=a =b ####General.}", "short"),
    ("Q {#2:1####General.}", "numerical"),
    ("Q {=a -> 1 =b -> 2 ####General.}", "matching"),
    ("Q {####General.}", "essay"),
])
def test_general_feedback(source, qtype):
    q = one(source)
    assert (q.qtype, q.general_feedback) == (qtype, "General.")


def test_general_feedback_does_not_eat_answer_feedback():
    q = one("Q {=a#fa ~b#fb ####gf}")
    assert q.choices == (Choice("a", 1.0, "fa"), Choice("b", 0.0, "fb"))
    assert q.general_feedback == "gf"


# --- layout: blank lines, comments, multi-line blocks -----------------------------------------

def test_questions_separated_by_blank_lines_and_multiline_blocks():
    source = "Q1 {T}\n\n\n   \nQ2 {\n  =right # good\n  ~wrong\n}\n\t\nQ3 {F}\n"
    result = parse_gift(source)
    assert [q.text for q in result.questions] == ["Q1", "Q2", "Q3"]
    assert [q.line for q in result.questions] == [1, 5, 10]
    assert result.questions[1].choices == (Choice("right", 1.0, "good"), Choice("wrong", 0.0))


def test_comments_are_ignored_and_not_part_of_the_question():
    source = ("// GIFT file for 门店\n"
              "// question: 1\n"
              "::Q1:: First {T}\n"
              "\n"
              "// a comment before Q2\n"
              "::Q2:: Second {\n"
              "   // a comment inside the answers\n"
              "   =a\n"
              "   ~b\n"
              "}\n"
              "// trailing comment\n")
    result = parse_gift(source)
    assert result.errors == []
    q1, q2 = result.questions
    assert (q1.name, q1.text, q1.line) == ("Q1", "First", 3)
    assert (q2.name, q2.line) == ("Q2", 6)
    assert q2.choices == (Choice("a", 1.0), Choice("b", 0.0))


def test_slashes_inside_a_line_are_not_comments():
    q = one("See http://example.com/a // not a comment {T}")
    assert q.text == "See http://example.com/a // not a comment"


def test_comment_only_file_and_empty_file():
    assert parse_gift("// nothing here\n\n// at all\n") == GiftResult([], [])
    assert parse_gift("") == GiftResult([], [])


def test_crlf_and_bom():
    result = parse_gift("\ufeff::a:: A {T}\r\n\r\n::b:: B {\r\n=x\r\n~y\r\n}\r\n")
    assert [q.name for q in result.questions] == ["a", "b"]
    assert result.questions[1].line == 3
    assert result.questions[1].choices == (Choice("x", 1.0), Choice("y", 0.0))


# --- names -----------------------------------------------------------------------------------

def test_name_is_stripped_and_may_hold_escapes():
    q = one("::  Grant\\: the tomb \\{1\\}  :: Who? {T}")
    assert q.name == "Grant: the tomb {1}"
    assert q.text == "Who?"


def test_default_name_is_first_40_characters_of_the_plain_text():
    text = "请问在门店迎接顾客时，以下哪一种做法是最符合公司服务规范要求的标准做法？请选择一个最佳答案。"
    q = one(text + "{=a ~b}")
    assert q.name == text[:40]


def test_default_name_collapses_whitespace_and_strips_html():
    q = one("[html]<p>Hello <b>world</b>\nand   more</p>{T}")
    assert q.name == "Hello world and more"
    q = one("[plain]<b>kept</b>{T}")
    assert q.name == "<b>kept</b>"


def test_empty_title_gives_the_default_name():
    assert one("::   :: Text here {T}").name == "Text here"


# --- categories ------------------------------------------------------------------------------

def test_category_applies_to_following_questions():
    source = ("Q0 {T}\n\n"
              "$CATEGORY: 礼仪/仪容\n\n"
              "Q1 {T}\n\n"
              "Q2 {F}\n\n"
              "$CATEGORY: $course$/收银\n\n"
              "Q3 {T}\n\n"
              "$CATEGORY: $module$/top/安全/消防\n\n"
              "Q4 {T}\n\n"
              "$CATEGORY: $course$/top\n\n"
              "Q5 {T}\n")
    result = parse_gift(source)
    assert [(q.text, q.category) for q in result.questions] == [
        ("Q0", ""), ("Q1", "礼仪/仪容"), ("Q2", "礼仪/仪容"), ("Q3", "收银"), ("Q4", "安全/消防"), ("Q5", ""),
    ]


def test_category_line_directly_above_a_question():
    result = parse_gift("$CATEGORY: 陈列\n::Q:: Text {T}\n\n$CATEGORY:\n::R:: Again {F}")
    assert [(q.name, q.category, q.line) for q in result.questions] == [("Q", "陈列", 2), ("R", "", 5)]


# --- formats ---------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix, fmt", [
    ("", "moodle"), ("[moodle]", "moodle"), ("[markdown]", "markdown"), ("[html]", "html"),
    ("[plain]", "plain"), ("[HTML]", "html"),
])
def test_text_formats(prefix, fmt):
    q = one(f"::n::{prefix}**Bold** question {{T}}")
    assert q.text_format == fmt
    assert q.text == "**Bold** question"


def test_format_without_title_and_brackets_that_are_not_a_format():
    q = one("[markdown]*Hi* {T}")
    assert (q.text_format, q.text) == ("markdown", "*Hi*")
    q = one("[注意] 以下说法正确吗？{T}")
    assert (q.text_format, q.text) == ("moodle", "[注意] 以下说法正确吗？")


def test_format_on_a_missing_word_question():
    q = one("::mw::[html]<i>Moodle</i> costs {=nothing ~lots} to download.")
    assert (q.text_format, q.text, q.text_after) == ("html", "<i>Moodle</i> costs", "to download.")


# --- escapes ---------------------------------------------------------------------------------

def test_escapes_in_text_answers_and_feedback():
    q = one(r"::a\:b:: Which is 1\=1 \{set\} \~tilde \#hash\nnext line C\:\\dir? "
            r"{=yes \= really\#1#fb \~ \{ok\}\nline2 ~no\: never#bad \\ slash ####gen\#1}")
    assert q.name == "a:b"
    assert q.text == "Which is 1=1 {set} ~tilde #hash\nnext line C:\\dir?"
    assert q.choices == (Choice("yes = really#1", 1.0, "fb ~ {ok}\nline2"), Choice("no: never", 0.0, "bad \\ slash"))
    assert q.general_feedback == "gen#1"


def test_unknown_escapes_and_lone_backslashes_stay():
    q = one(r"Path C:\temp and \x and 50% {T}")
    assert q.text == "Path C:\\temp and \\x and 50%"


def test_escaped_newline_at_the_edges_is_kept():
    q = one(r"\nindented\n {T}")
    assert q.text == "\nindented\n"


def test_escaped_arrow_keeps_a_short_answer_short():
    q = one(r"Arrow? {=a \-> b}")
    assert (q.qtype, q.choices) == ("short", (Choice("a -> b", 1.0),))


def test_escaped_braces_do_not_open_an_answer_block():
    q = one(r"Use \{ and \} in text")
    assert (q.qtype, q.text) == ("description", "Use { and } in text")


def test_percent_text_without_closing_percent_is_text():
    q = one("Discount? {=%50 off ~none}")
    assert q.choices == (Choice("%50 off", 1.0), Choice("none", 0.0))


# --- malformed input -------------------------------------------------------------------------

GOOD_BEFORE = "::before:: Good one {T}\n\n"
GOOD_AFTER = "\n\n::after:: Good two {=a ~b}\n"


@pytest.mark.parametrize("bad, line, message", [
    ("::bad:: Unclosed {=a ~b", 3, "缺少右花括号「}」"),
    ("::bad:: Unclosed\n{=a ~b\n~c", 4, "缺少右花括号「}」"),
    ("::bad:: Nested {=a {~b}", 3, "缺少右花括号「}」"),
    ("::bad:: Stray } brace {=a ~b}", 3, "多余的右花括号"),
    ("::bad:: Stray after\n{=a ~b} }", 4, "多余的右花括号"),
    ("::bad:: No right answer {~a ~b ~c}", 3, "没有正确答案"),
    ("::bad:: Negative only {~%-50%a ~b}", 3, "没有正确答案"),
    ("::bad:: One option {~a}", 3, "至少需要两个选项"),
    ("::bad:: Empty option {=a ~ ~b}", 3, "答案不能为空"),
    ("::bad:: No mark\n{\nfoo\n~a =b}", 5, "必须以「=」或「~」开头"),
    ("::bad:: Weight too big {\n=a\n~%150%b}", 5, "超出-100～100"),
    ("::bad:: Weight too small {=a ~%-100.5%b}", 3, "超出-100～100"),
    ("::bad:: Weight not a number {=a ~%abc%b}", 3, "不是数字"),
    ("::bad:: Weight empty {=a ~%%b}", 3, "不是数字"),
    ("::bad:: Short weight {=%1,5%a}", 3, "不是数字"),
    ("::bad:: Numerical text {#abc}", 3, "不是数字"),
    ("::bad:: Numerical tolerance {#2:x}", 3, "不是数字"),
    ("::bad:: Numerical missing tolerance {#2:}", 3, "不是数字"),
    ("::bad:: Numerical infinity {#inf}", 3, "不是数字"),
    ("::bad:: Numerical range {#\n=1..x}", 4, "不是数字"),
    ("::bad:: Range reversed {#5..1}", 3, "下限大于上限"),
    ("::bad:: Negative tolerance {#2:-1}", 3, "不能为负数"),
    ("::bad:: Numerical nothing {#}", 3, "数值题没有答案"),
    ("::bad:: Numerical no credit {#=%0%2}", 3, "没有得分的答案"),
    ("::bad:: Numerical tilde {#2 ~junk#fb}", 3, "「~」后面只能写「#反馈」"),
    ("::bad:: Match {\n=a -> 1\n=b 2\n=c -> 3\n}", 5, "缺少「->」"),
    ("::bad:: Match one {=a -> 1}", 3, "至少需要两对"),
    ("::bad:: Match distractors {=a -> 1 = -> 2}", 3, "至少需要两对"),
    ("::bad:: Match empty answer {=a -> 1 =b -> =c -> 3}", 3, "答案不能为空"),
    ("::bad::[rtf]Unknown format {T}", 3, "未知的文本格式「[rtf]」"),
    ("::bad:: Two blocks {T} and {F}", 3, "只能有一个「{}」答案块"),
    ("::bad:: Two blocks\n{=a ~b}\n{=c ~d}", 5, "只能有一个「{}」答案块"),
    ("::bad:: {=a ~b}", 3, "题目内容为空"),
    ("::bad::[html]   {T}", 3, "题目内容为空"),
    ("::only a title::", 3, "题目内容为空"),
    ("::bad Unclosed title {T}", 3, "缺少结束的「::」"),
    ("::bad:: Short no credit {=%-50%x}", 3, "没有得分的答案"),
])
def test_malformed_question_is_reported_and_skipped(bad, line, message):
    result = parse_gift(GOOD_BEFORE + bad + GOOD_AFTER)
    assert [q.name for q in result.questions] == ["before", "after"]
    (error,) = result.errors
    assert isinstance(error, GiftError)
    assert error.line == line
    assert message in error.message
    assert error.text == bad[:200]


def test_every_error_is_collected():
    source = "A {T}\n\nB {=a\n\nC {~x ~y}\n\n// c\nD {#z}\n\nE {F}\n\nF } oops\n"
    result = parse_gift(source)
    assert [q.text for q in result.questions] == ["A", "E"]
    assert [e.line for e in result.errors] == [3, 5, 8, 12]


def test_error_text_is_the_raw_question_cut_at_200_characters():
    bad = "::long:: " + "长" * 300 + " {~a ~b}"
    (error,) = parse_gift(bad).errors
    assert error.text == bad[:200] and len(error.text) == 200
    assert error.line == 1


GARBAGE = list("{}=~#%:->.\\/$[] \n\n\n\tTF0123456789abc中文")
ANSWER_BITS = ["=", "~", "#", "%50%", "%-25%", "%x%", "->", " -> ", "a", "中", "T", "F", "TRUE", "1..2", "2:1",
               "3", " ", "\n", "\\", "\\=", "\\#", "\\->", "####", "%", ":", "*", "//"]


def garbage(rng: random.Random) -> str:
    if rng.random() < 0.5:  # anything at all
        return "".join(rng.choice(GARBAGE) for _ in range(rng.randint(0, 60)))
    bits = "".join(rng.choice(ANSWER_BITS) for _ in range(rng.randint(0, 12)))  # a question with answers
    head = rng.choice(["", "::n::", "::"]) + rng.choice(["Q ", "", "[html]Q"])
    return head + "{" + bits + "}" + rng.choice(["", " after"])


def test_garbage_never_raises():
    rng = random.Random(20240601)
    kinds = set()
    for _ in range(5000):
        source = garbage(rng)
        result = parse_gift(source)
        kinds.update(q.qtype for q in result.questions)
        assert isinstance(result, GiftResult)
        # whatever was accepted can be written back and read again unchanged
        assert same(parse_gift(to_gift(result.questions)).questions, result.questions), source
    assert kinds == {"single", "multiple", "truefalse", "short", "numerical", "matching", "essay", "description"}


# --- export and round trips ------------------------------------------------------------------

ALL_TYPES = r"""
// A file with every question type.
$CATEGORY: $course$/top/礼仪/仪容

::single::[html]<p>Who greets first?</p>{
    =The staff#Always.
    ~The customer#No.
    ~%-50%Nobody
    ####Greet within 3 seconds.
}

::multiple:: Which are required? {~%50%Name badge ~%50%Uniform ~%-100%Sunglasses#Never.}

::tf:: The badge is worn on the left.{T#It is the left.#Right.####Left side.}

::tf false::[markdown]**Smoking** is allowed at the counter.{FALSE##Correct.}

$CATEGORY: 收银

::short:: Say the greeting: {=欢迎光临 =%50%你好#Use the full greeting.}

::numerical:: Change for 100 - 37.5? {#=62.5:0#Exact. =%50%60..65#Close. ~#Count again.####Use the till.}

::range:: Pick 1 to 5. {#1..5}

::matching:: Match. {=POS -> 收银机 =SKU -> 商品编号 =VIP -> 会员 = -> 干扰项 ####Learn these.}

$CATEGORY: $module$/安全

::essay::[plain]Describe the fire exit route. {####Mention both exits.}

::description:: 以下题目考察\n消防安全。

::missing word:: Always {=greet ~ignore} the customer.

Escapes\: \{ \} \= \~ \# \\ and a \nnewline {=a\->b \-> c ~%10%d\:e#f\#g}
"""


def test_round_trip_of_a_file_with_every_type():
    original = parse_gift(ALL_TYPES)
    assert original.errors == []
    assert [q.qtype for q in original.questions] == [
        "single", "multiple", "truefalse", "truefalse", "short", "numerical", "numerical", "matching",
        "essay", "description", "single", "single",  # one = makes it single (Moodle), ~%10% or not
    ]
    assert [q.category for q in original.questions] == ["礼仪/仪容"] * 4 + ["收银"] * 4 + ["安全"] * 4
    exported = to_gift(original.questions)
    again = parse_gift(exported)
    assert again.errors == []
    assert same(again.questions, original.questions)
    assert to_gift(again.questions) == exported  # stable


def test_round_trip_details_of_the_escapes_question():
    q = parse_gift(ALL_TYPES).questions[-1]
    assert q.text == "Escapes: { } = ~ # \\ and a \nnewline"
    assert q.choices == (Choice("a->b -> c", 1.0), Choice("d:e", 0.1, "f#g"))
    assert q.name == "Escapes: { } = ~ # \\ and a newline"


def test_export_looks_like_moodle_gift():
    q = QuestionSpec("single", "Q1", "2 + 2 = ?", choices=(Choice("4", 1.0, "Yes"), Choice("5", 0.0)),
                     category="算术", general_feedback="Basic.")
    assert to_gift([q]) == "$CATEGORY: 算术\n\n::Q1::2 + 2 \\= ?{\n\t=4#Yes\n\t~5\n\t####Basic.\n}\n"
    tf = QuestionSpec("truefalse", "T", "Sky is blue", truth=True, true_feedback="Right", false_feedback="Wrong")
    assert to_gift([tf]) == "::T::Sky is blue{TRUE#Wrong#Right}\n"
    assert to_gift([]) == ""


def test_export_protects_texts_that_would_read_as_syntax():
    specs = [
        QuestionSpec("single", "p", "Percent", choices=(Choice("%50% off", 1.0), Choice("%none", 0.0))),
        QuestionSpec("short", "s", "[html] is not a format here", choices=(Choice("T", 1.0), Choice("x->y", 0.5))),
        QuestionSpec("description", "", "// not a comment"),
        QuestionSpec("essay", "cat", "Odd category", category="$course$/kept"),
        QuestionSpec("multiple", "m", "One full", choices=(Choice("a", 1.0), Choice("b", 0.0))),
    ]
    again = parse_gift(to_gift(specs))
    assert again.errors == []
    assert same(again.questions[:2], specs[:2])
    assert again.questions[2].text == "// not a comment"
    assert again.questions[3].category == "$course$/kept"
    assert again.questions[4].same_as(specs[4])


def test_category_is_written_only_when_it_changes():
    specs = [QuestionSpec("essay", f"q{i}", "t", category=c) for i, c in enumerate(["a", "a", "b", "", "b"])]
    text = to_gift(specs)
    assert text.count("$CATEGORY:") == 4
    assert [q.category for q in parse_gift(text).questions] == ["a", "a", "b", "", "b"]


# --- randomised round trip -------------------------------------------------------------------

TRICKY = list("ab 中文題~=#{}:\\\n->%[]/$*.") + ["->", "::", "####", "//", "\\n", "$CATEGORY:", "[html]", "T"]


def tricky(rng: random.Random, empty_ok: bool = False) -> str:
    while True:
        text = "".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 12))).strip()
        if text or empty_ok:
            return text


def random_spec(rng: random.Random) -> QuestionSpec:
    qtype = rng.choice(["single", "multiple", "truefalse", "short", "numerical", "matching", "essay", "description"])
    fields = {}
    fb = lambda: tricky(rng, empty_ok=True) if rng.random() < 0.5 else ""  # noqa: E731
    if qtype == "single":
        wrong = [Choice(tricky(rng), rng.choice([0.0, -0.5, -1 / 3, -1.0]), fb()) for _ in range(rng.randint(1, 4))]
        wrong.insert(rng.randint(0, len(wrong)), Choice(tricky(rng), 1.0, fb()))
        fields["choices"] = tuple(wrong)
    elif qtype == "multiple":
        choices = [Choice(tricky(rng), rng.choice([0.5, 1 / 3, 0.25, 0.1, 2 / 3, 1.0]), fb())]
        choices += [Choice(tricky(rng), rng.choice([0.0, 0.5, -0.25, 1 / 3, -1.0, 0.125]), fb())
                    for _ in range(rng.randint(1, 4))]
        rng.shuffle(choices)
        fields["choices"] = tuple(choices)
    elif qtype == "truefalse":
        fields.update(truth=rng.random() < 0.5, true_feedback=fb(), false_feedback=fb())
    elif qtype == "short":
        choices = [Choice(tricky(rng), rng.choice([1.0, 0.5, 0.9]), fb())]
        choices += [Choice(tricky(rng), rng.choice([1.0, 0.5, 0.0, -0.1]), fb()) for _ in range(rng.randint(0, 3))]
        fields["choices"] = tuple(choices)
    elif qtype == "numerical":
        numeric = []
        for _ in range(rng.randint(1, 3)):
            frac = rng.choice([1.0, 0.5, 1 / 3])
            if rng.random() < 0.5:
                value, tol = rng.uniform(-1e4, 1e4), rng.choice([0.0, 0.5, rng.uniform(0, 10)])
                numeric.append(Numeric(value - tol, value + tol, frac, fb(), value, tol))
            else:
                low = rng.uniform(-100, 100)
                numeric.append(Numeric(low, low + rng.choice([0.0, rng.uniform(0, 50)]), frac, fb()))
        numeric[0] = Numeric(numeric[0].low, numeric[0].high, 1.0, numeric[0].feedback,
                             numeric[0].value, numeric[0].tolerance)
        if rng.random() < 0.3:
            numeric.append(Numeric(-sys.float_info.max, sys.float_info.max, 0.0, fb()))
        fields["numeric"] = tuple(numeric)
    elif qtype == "matching":
        pairs = [Pair(tricky(rng), tricky(rng)) for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.3:
            pairs.append(Pair("", tricky(rng)))
        fields["pairs"] = tuple(pairs)
    if qtype != "description":
        fields["general_feedback"] = fb()
        if rng.random() < 0.3:
            fields["text_after"] = tricky(rng)
    return QuestionSpec(
        qtype=qtype, name=tricky(rng), text=tricky(rng, empty_ok="text_after" in fields),
        text_format=rng.choice(["moodle", "moodle", "markdown", "html", "plain"]),
        category=rng.choice(["", "礼仪", "礼仪/仪容", "a b/c d", "$course$/x"]), **fields,
    )


def test_randomised_round_trip():
    rng = random.Random(1234)
    specs = [random_spec(rng) for _ in range(800)]
    exported = to_gift(specs)
    result = parse_gift(exported)
    assert result.errors == []
    assert len(result.questions) == len(specs)
    for spec, back in zip(specs, result.questions):
        assert back.same_as(spec), (spec, back)


def test_randomised_round_trip_one_question_at_a_time():
    rng = random.Random(99)
    for _ in range(500):
        spec = random_spec(rng)
        source = to_gift([spec])
        result = parse_gift(source)
        assert result.errors == [], source
        (back,) = result.questions
        assert back.same_as(spec), source
