"""Word groups, clause anchors, denials and rebukes in a phrasebook: what a trainer writes once and
what the analyser then hears."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.roleplay.phrasebook_load import PhrasebookError, parse

pytestmark = pytest.mark.no_db
MINI = (Path(__file__).parent / "data" / "mini_phrasebook.yaml").read_text(encoding="utf-8")


def book(extra_top: str = "", rules: str = "") -> str:
    """The mini phrasebook with top-level keys added and one more forbidden category."""
    text = MINI.replace("categories:\n", extra_top + "categories:\n", 1)
    if rules:
        text += "\n  forbid_push_back:\n    label: 推给客户\n    kind: forbidden\n    rules:\n" + rules
    return text


WORDS = "words:\n  自己: [自己, 自个儿]\n  看: [看, 瞅]\n"


def test_a_word_group_stands_for_each_of_its_words():
    phrasebook = parse(book(WORDS, "      - phrase: 墙上贴着，自己看。\n        match: ['{自己}{看}去']\n"))
    for reply in ("自己看去", "自个儿看去", "自个儿瞅去", "自己瞅去"):
        assert [f.phrase for f in phrasebook.analyze(reply).forbidden] == ["墙上贴着，自己看。"], reply
    assert phrasebook.analyze("我帮您看一下").forbidden == ()


@pytest.mark.parametrize("match, message", [
    ("'{自已}看去'", "没有词组「自已」"),
    ("'{自己看去'", "花括号不成对"),
    ("'自己^看去'", "「^」只能写在开头"),
])
def test_a_bad_pattern_is_reported_with_its_line(match, message):
    with pytest.raises(PhrasebookError) as caught:
        parse(book(WORDS, f"      - phrase: 墙上贴着，自己看。\n        match: [{match}]\n"))
    assert any(message in text and line for line, text in caught.value.problems), caught.value.problems


def test_a_pattern_that_would_stand_for_too_many_spellings_is_refused():
    many = "words:\n" + "".join(f"  g{i}: [{', '.join(f'字{i}{j}' for j in range(12))}]\n" for i in range(3))
    with pytest.raises(PhrasebookError) as caught:
        parse(book(many, "      - phrase: 墙上贴着，自己看。\n        match: ['{g0}{g1}{g2}']\n"))
    assert "展开后超过" in str(caught.value)


def test_an_anchored_pattern_must_close_its_clause():
    phrasebook = parse(book("", "      - phrase: 电脑坏了，我有什么办法。\n        match: ['我有什么办法$']\n"))
    assert [f.phrase for f in phrasebook.analyze("电脑坏了，我有什么办法？").forbidden] == ["电脑坏了，我有什么办法。"]
    assert [f.phrase for f in phrasebook.analyze("电脑坏了，我有什么办法啊").forbidden] == ["电脑坏了，我有什么办法。"]
    assert phrasebook.analyze("我有什么办法帮您尽快恢复呢？").forbidden == ()


def test_a_denied_forbidden_phrase_is_not_charged():
    phrasebook = parse(book("denials: [我不是说]\n"))
    assert phrasebook.analyze("我问谁？").forbidden
    assert phrasebook.analyze("我不是说我问谁，是帮您问经理。").forbidden == ()


def test_a_rebuking_question_is_no_inquiry():
    text = book().replace("inquiry: {label: 征询语, kind: must, phrases: [请问, 可以吗]}",
                          "inquiry: {label: 征询语, kind: must, phrases: [请问, 可以吗], rebukes: [你到底想]}")
    phrasebook = parse(text)
    assert phrasebook.analyze("请问您办什么业务？").categories == ("inquiry",)
    assert phrasebook.analyze("请问你到底想怎么样？").categories == ()


def test_overlapping_forbidden_hits_are_charged_once():
    shipped = parse((Path(__file__).resolve().parents[2] / "simulations" / "phrasebook.yaml").read_text(encoding="utf-8"))
    assert [f.phrase for f in shipped.analyze("还没开门呢，催什么催。").forbidden] == ["没到上班时间，急什么。"]
    assert sorted(f.phrase for f in shipped.analyze("请问你懂不懂？不懂就别问了。").forbidden) == [
        "不知道就别说了。", "你懂不懂。"]  # side by side: both


def test_a_forbidden_phrase_said_twice_is_charged_and_told_once():
    from lms.roleplay.scenario import Expect, Node
    from lms.roleplay.scoring import score_turn

    shipped = parse((Path(__file__).resolve().parents[2] / "simulations" / "phrasebook.yaml").read_text(encoding="utf-8"))
    analysis = shipped.analyze("您好，对不起，急啥，没瞅见我手上正忙着吗？")  # one 服务忌语, two stretches
    assert len(analysis.forbidden) == 2 and [f.phrase for f in analysis.said] == ["着什么急，没看见我正忙着。"]
    node = Node("n", 1, (), expect=Expect(categories=("greeting", "apology")))
    turn = score_turn(node, analysis, shipped)
    assert turn.penalty == shipped.categories["forbid_rush"].penalty  # charged once, not twice
    assert turn.points == 2 - turn.penalty
