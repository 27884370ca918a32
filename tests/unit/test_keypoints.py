"""Key points written as example phrasings: the pattern the product builds, on replies nobody wrote."""

from __future__ import annotations

import pytest
import re2

from lms.roleplay import keypoints
from lms.roleplay.keypoints import pattern_from_phrasings, phrasing_problems
from lms.roleplay.normalize import normalize
from lms.roleplay.scenario_parse import MAX_REGEX, compile_regex
from tests.timing import time_bound

pytestmark = pytest.mark.no_db


def matches(phrasings: list[str], reply: str) -> bool:
    """Whether a reply holds the key point, read as scoring reads it (the normalised reply)."""
    return bool(compile_regex(pattern_from_phrasings(phrasings)).search(normalize(reply).text))


# phrasings, replies that must match, replies that must not
TABLE = [
    (["两个工作日内"],
     ["3个工作日内", "三个工作日之内", "2 个工作日内", "两个工作日以内", "十个工作日内给您答复",
      "我们会在５个工作日内处理", "兩個工作日內"],
     ["两个工作日", "两周内", "工作日内", "两个小时内", "几个工作人员内", "几个工作日内"]),  # 几 is no number
    (["24小时内"],
     ["二十四小时之内", "48小时内", "24个小时内", "半小时内", "２４小时内给您回复"],
     ["24小时", "一天内", "小时内", "几小时内"]),
    (["三天之内"],
     ["三天内", "3天以内", "十五天之内", "两三天内就好"],
     ["三天后", "明天内"]),
    (["我帮您登记"],
     ["我来帮您登记一下", "我帮您登记", "我马上帮您登记", "我先帮您登记吧", "我们这就帮您登记", "好的，我 帮您 登记。"],
     ["我给您登记", "帮您登记", "我来给您登记", "我去找同事帮您登记", "我想想再帮您登记"]),
    (["我来帮您查"],
     ["我帮您查一下", "我来帮您查", "我马上帮您查"],
     ["您自己查"]),
    (["请稍候"],
     ["请您稍候", "请稍候", "請稍候片刻"],
     ["稍候", "请稍等"]),
    (["收您200元"],
     ["收您两百元", "收您二百元", "收您100元"],
     ["收您钱", "找您200元"]),
    (["接待室", "这边坐"],
     ["请到接待室坐", "您这边坐", "咱们去接待室吧"],
     ["接待", "这边请"]),
    (["新年快乐"],
     ["新年快乐！", "祝您新年快乐"],
     ["新年好"]),
    (["a+b(c)*", "x|y!", "[ab]{9}", "\\dd"],  # special characters are literals, never pattern syntax
     ["A+B(C)*", "abc", "xy", "ab三", "AB 12", "dd"],
     ["aab", "ac", "x", "y", "d", "a b", "abab"]),
]


@pytest.mark.parametrize("phrasings, good, bad", TABLE, ids=[t[0][0] for t in TABLE])
def test_phrasings_match_the_replies_a_trainer_expects(phrasings, good, bad):
    assert phrasing_problems(phrasings) == []
    assert [r for r in good if not matches(phrasings, r)] == []
    assert [r for r in bad if matches(phrasings, r)] == []


def test_the_pattern_is_a_plain_alternation_within_the_regex_limit():
    source = pattern_from_phrasings(["两个工作日内", "24小时内", "三天之内"])
    assert keypoints.MAX_PATTERN == MAX_REGEX
    assert len(source) <= MAX_REGEX and source.count("|") == 2
    assert pattern_from_phrasings(["两个工作日内", "两个工作日之内"]).count("|") == 0  # the same rule once


@pytest.mark.parametrize("phrasings, expected", [
    ([], "至少写一种说法"),
    ("两个工作日内", "应为说法的列表"),
    (["两天内", ""], "第2种说法是空的"),
    (["两天内", "  "], "第2种说法是空的"),
    (["两天内", None], "第2种说法应为一段文字"),
    (["两天内", {"a": 1}], "第2种说法应为一段文字"),
    (["的"], "只有一个字"),
    (["好！"], "只有一个字"),
    (["！？。"], "只有标点或空格"),
    (["10000"], "只是一个数字"),
    (["二十四"], "只是一个数字"),
    (["我们"], "几乎每句话都有的词"),
    (["可以的"], None),
    (["稍候", "稍候。"], "第2种说法「稍候。」与第1种相同"),
    (["这是一段写得非常非常长的例句它超过了三十个字所以应该被拒绝掉才对"], "太长"),
    ([f"说法{i}号" for i in range(25)], "说法太多"),
    ([f"第{c}种办法需要五个工作日内处理" for c in "甲乙丙丁戊己庚辛壬癸"], "合起来太长"),
])
def test_phrasing_problems_say_what_is_wrong_in_chinese(phrasings, expected):
    problems = phrasing_problems(phrasings)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
        with pytest.raises(ValueError):
            pattern_from_phrasings(phrasings)


def test_special_characters_never_break_or_slow_the_pattern():
    nasty = ["(a+)+$", "\\", "[", "(?=x)", "\\1\\1", "{2,}", "^$", ".*.*.*", "(?P<x>", "\\x{41}", "a{99999}"]
    written = [p for p in nasty if phrasing_problems([p]) == []]
    assert written  # most of them are phrasings like any other
    regex = compile_regex(pattern_from_phrasings(written))
    reply = normalize("a" * 50_000 + "！").text
    for attempt in time_bound(0.5):  # linear in the reply, whatever the phrasings
        with attempt:
            regex.search(reply)
    for phrasing in written:  # each matches itself as written, and no mere letter soup
        assert regex.search(normalize(phrasing).text), phrasing
    assert not regex.search("bbbb")


def test_phrasings_fit_re2_on_their_own():
    source = pattern_from_phrasings(["两个工作日内", "我帮您登记", "请稍候"])
    re2.compile(source)  # compiles with RE2 itself, not only through compile_regex
