"""The pure role-play engine: phrase analysis mechanics, conditions, stepping, scoring, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.roleplay.conditions import ConditionError, parse
from lms.roleplay.normalize import normalize
from lms.roleplay.scenario import Node, Option, step
from lms.roleplay.scenario_parse import ScenarioError
from lms.roleplay.scoring import TurnRecord, score_run, score_turn
from lms.roleplay.validate import check_scenario, check_scoring, parse_phrasebook, parse_scenario_text
from lms.yamlx import YamlError

pytestmark = pytest.mark.no_db
DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
BOOK = parse_phrasebook((DATA / "mini_phrasebook.yaml").read_text(encoding="utf-8"))
SCENARIO_TEXT = (DATA / "mini_scenario.yaml").read_text(encoding="utf-8")
SCENARIO = parse_scenario_text(SCENARIO_TEXT, "mini")


# ------------------------------------------------------------------ phrase analysis mechanics

def test_normalize_maps_back_to_original_offsets():
    norm = normalize("您 好，歡迎光臨！ＡＢ１")
    assert norm.text == "您好欢迎光临ab1"
    assert norm.offsets[0] == 0 and norm.offsets[1] == 2  # the space was skipped
    assert norm.clause(0) == 0 and norm.clause(2) == 1  # the comma ended a clause


def test_spans_point_into_the_original_text():
    text = "嗯，您 好！歡迎光臨。"
    analysis = BOOK.analyze(text)
    spans = {h.category: text[h.start:h.end] for h in analysis.hits}
    assert spans == {"greeting": "您 好", "welcome": "歡迎光臨"}


def test_exception_context_and_clause_only():
    assert not BOOK.analyze("如果您不知道密码，可以重置。").forbidden
    assert not BOOK.analyze("不知道您今天办什么业务？").forbidden
    assert not BOOK.analyze("这个我真不知道该怎么跟您解释清楚才好呢").forbidden  # not curt
    hit = BOOK.analyze("不知道。").forbidden
    assert [f.phrase for f in hit] == ["不知道。"]
    assert BOOK.analyze("我也不知道啊，").forbidden


def test_negation_cancels_a_must_phrase_in_the_same_clause_only():
    assert not BOOK.analyze("我不会说对不起的").has("apology")
    assert BOOK.analyze("不要紧，对不起让您担心了").has("apology")  # different clause
    assert not BOOK.analyze("不欢迎您").has("welcome")


def test_nihao_is_not_a_greeting_and_gets_advice():
    analysis = BOOK.analyze("你好，请问办什么？")
    assert not analysis.has("greeting") and analysis.has("inquiry")
    assert analysis.notes and "您好" in analysis.notes[0].advice


def test_contained_forbidden_hits_keep_the_longest():
    analysis = BOOK.analyze("你问我，我问谁？")
    assert [(f.phrase, f.matched) for f in analysis.forbidden] == [("你问我，我问谁。", "你问我，我问谁")]


def test_extra_node_forbidden_phrases():
    analysis = BOOK.analyze("您好，账单您自己看吧", extra_forbidden=["自己看"])
    assert [f.phrase for f in analysis.forbidden] == ["自己看"]


def test_json_shape():
    data = BOOK.analyze("您好！有意见，告去。").to_json()
    assert data["categories"] == ["greeting"]
    assert data["forbidden"][0]["phrase"] == "有意见，告去。" and data["forbidden"][0]["severity"] == "critical"
    assert {"start", "end"} <= set(data["forbidden"][0]) and data["normalized"] == "您好有意见告去"


# ------------------------------------------------------------------ conditions

@pytest.mark.parametrize("text, env, expected", [
    ("score >= 0.6 and not forbidden", {"score": 0.7, "forbidden": False}, True),
    ("score >= 0.6 and not forbidden", {"score": 0.7, "forbidden": True}, False),
    ("anger > 3 or hit.apology", {"anger": 1, "hit": {"apology": True}}, True),
    ("(anger > 3 or critical) and choice == 'wait'", {"anger": 4, "critical": False, "choice": "wait"}, True),
    ("not (elapsed <= 15)", {"elapsed": 20.5}, True),
    ("true", {}, True),
])
def test_conditions_evaluate(text, env, expected):
    assert parse(text).evaluate(env) is expected


@pytest.mark.parametrize("text", ["score >=", "__import__('os')", "a and", "(score > 1", "score > 1 1", "x.y.z", ""])
def test_bad_conditions_are_refused(text):
    with pytest.raises(ConditionError):
        cond = parse(text)
        cond.evaluate({"score": 1, "a": 1, "x": {"y": 1}})


def test_unknown_name_at_evaluation():
    with pytest.raises(ConditionError):
        parse("mystery > 1").evaluate({})


# ------------------------------------------------------------------ stepping and scoring

def test_customer_line_varies_with_variables():
    node = SCENARIO.nodes["listen"]
    assert node.customer_line({"anger": 2}) == "我的话费不对。"
    assert node.customer_line({"anger": 4}) == "你们到底管不管！"


def test_good_reply_scores_and_moves_on_with_effects():
    result = step(SCENARIO, SCENARIO.nodes["listen"], {"anger": 2}, "您好，对不起，您慢慢说。", BOOK)
    assert result.turn.fraction == 1.0 and result.turn.points == 3.0  # greeting 1 + apology weight 2
    assert result.next_node == "explain" and result.variables == {"anger": 1}


def test_partial_reply_loops_back_and_clamps_variables():
    result = step(SCENARIO, SCENARIO.nodes["listen"], {"anger": 5}, "您好，什么事？", BOOK)
    assert result.turn.missing == ("apology",) and round(result.turn.fraction, 2) == 0.33
    assert result.next_node == "listen" and result.variables == {"anger": 5}  # clamped at max


def test_critical_forbidden_scores_zero_and_branches():
    result = step(SCENARIO, SCENARIO.nodes["listen"], {"anger": 2}, "您好，对不起。有意见，告去。", BOOK)
    assert result.analysis.critical and result.turn.fraction == 0 and result.next_node == "angry-end"


def test_major_forbidden_costs_its_penalty():
    result = step(SCENARIO, SCENARIO.nodes["listen"], {"anger": 2}, "您好，对不起，不知道。", BOOK)
    assert result.forbidden and not result.analysis.critical and result.turn.points == 2.0


def test_option_choice_is_analysed_like_text():
    result = step(SCENARIO, SCENARIO.nodes["listen"], {"anger": 2}, "", BOOK, option_id="bad")
    assert result.option_id == "bad" and result.next_node == "angry-end"


def test_patterns_and_hit_conditions():
    result = step(SCENARIO, SCENARIO.nodes["solve"], {"anger": 1}, "我们两个工作日内给您答复", BOOK)
    assert result.turn.patterns_hit == ("timeframe",) and result.next_node == "follow"
    result = step(SCENARIO, SCENARIO.nodes["solve"], {"anger": 1}, "我们会尽快处理", BOOK)
    assert result.turn.patterns_missing == ("timeframe",) and result.next_node == "partial-end"


def test_elapsed_condition():
    node = SCENARIO.nodes["follow"]
    assert step(SCENARIO, node, {"anger": 0}, "谢谢，请慢走", BOOK, elapsed=10).next_node == "good-end"
    assert step(SCENARIO, node, {"anger": 0}, "谢谢，请慢走", BOOK, elapsed=90).next_node == "partial-end"


def _turn(fraction, stage, max_points=2.0, critical=False):
    return TurnRecord(fraction * max_points, max_points, fraction, critical, stage)


def test_run_passes_with_score_stages_in_order_and_good_ending():
    turns = [_turn(1, "listen"), _turn(1, "explain"), _turn(0.5, "solve"), _turn(1, "follow_up")]
    result = score_run(turns, 60, "success", require_stages=True)
    assert result.score == 88 and result.passed and result.stages_reached == ("listen", "explain", "solve", "follow_up")


def test_run_fails_on_stage_order():
    turns = [_turn(1, "listen"), _turn(1, "solve"), _turn(1, "explain"), _turn(1, "follow_up")]
    result = score_run(turns, 60, "success", require_stages=True)
    assert not result.passed and "投诉处理阶段未按顺序走完" in result.reasons[0]


def test_run_fails_on_critical_or_bad_ending_or_low_score():
    assert "说了严重的服务忌语" in score_run([_turn(1, None), _turn(0, None, critical=True)], 40, "success", False).reasons
    assert "演练以失败结局结束" in score_run([_turn(1, None)], 60, "fail", False).reasons
    low = score_run([_turn(0.2, None)], 60, "success", False)
    assert low.score == 20 and not low.passed


def test_run_score_counts_only_visited_turns():
    assert score_run([_turn(1, None, 3), _turn(0, None, 1)], 60, "success", False).score == 75


def test_a_choice_turn_has_a_real_maximum():
    node = Node("decide", 1, (), mode="choice", options=(Option("up", "起身迎接", 1.0), Option("sit", "坐着不动", 0.0)),
                points=2.0)
    wrong = score_turn(node, BOOK.analyze("坐着不动"), BOOK, fixed=0.0)
    right = score_turn(node, BOOK.analyze("起身迎接"), BOOK, fixed=1.0)
    assert (wrong.points, wrong.max_points, wrong.fraction) == (0.0, 2.0, 0.0)
    assert (right.points, right.max_points, right.fraction) == (2.0, 2.0, 1.0)


def test_a_run_where_every_turn_scored_nothing_scores_zero():
    only_a_wrong_choice = score_run([TurnRecord(0.0, 2.0, 0.0, False, None)], 70, "fail", False)
    assert only_a_wrong_choice.score == 0 and not only_a_wrong_choice.passed
    # a turn stored without a maximum (content saved before maxima were required) no longer makes 100
    assert score_run([TurnRecord(0.0, 0.0, 1.0, False, None)], 70, "fail", False).score == 0


def test_a_failing_run_is_shown_below_the_pass_mark_with_its_uncapped_total():
    failed = score_run([_turn(1, None), _turn(1, None), _turn(1, None)], 70, "fail", False)
    assert failed.score == 69 and failed.raw_score == 100 and not failed.passed
    assert failed.reasons == ("演练以失败结局结束", "各轮得分合计100分，但演练未通过，按69分计（及格线70分）")
    out_of_order = score_run([_turn(1, "solve"), _turn(1, "listen")], 60, "success", True)
    assert out_of_order.score == 59 and not out_of_order.passed
    low = score_run([_turn(0.5, None)], 60, "fail", False)  # already below: shown as it is, no cap note
    assert low.score == 50 and low.reasons == ("得分50未达到60分", "演练以失败结局结束")


def test_a_perfect_score_needs_every_point():
    nearly = score_run([_turn(1, None, 249), TurnRecord(0.0, 1.0, 0.0, False, None)], 60, "success", False)
    assert nearly.score == 99 and nearly.passed


# ------------------------------------------------------------------ validator

def _problems(text: str) -> list[str]:
    try:
        scenario = parse_scenario_text(text, "mini")
    except ScenarioError as exc:
        return [f"{line}: {node}: {message}" for line, node, message in exc.problems]
    except YamlError as exc:
        return [f"{exc.line}: {exc}"]
    return [f"{line}: {node}: {message}" for line, node, message in check_scenario(scenario, BOOK)]


def test_shipped_mini_scenario_is_valid():
    assert _problems(SCENARIO_TEXT) == []


@pytest.mark.parametrize("change, expected", [
    (("goto: solve\n  solve:", "goto: nowhere\n  solve:"), "goto「nowhere」不是已有节点"),
    (("      - else: true\n        goto: partial-end\n  follow:", "      - when: true\n        goto: partial-end\n  follow:"), "最后一个分支必须是「else: true」"),
    (("  good-end:", "  orphan:\n    customer: x\n    branches:\n      - else: true\n        goto: good-end\n  good-end:"), "从「start」无法到达这个节点"),
    (("        goto: follow\n      - else: true\n        goto: partial-end\n  follow:",
      "        goto: explain\n      - else: true\n        goto: explain\n  follow:"), "走不到结局"),
    (("categories: [inquiry]", "categories: [inquiry, smile]"), "未知类别「smile」"),
    (("when: score >= 0.6", "when: mood >= 0.6"), "条件中的名称「mood」未知"),
    (("add: {anger: -1}", "add: {calm: -1}"), "「add」中的变量「calm」未声明"),
    (("regex: '查(询|一下)'", "regex: '查(询|一下'"), "无法编译"),
    (("when: score >= 0.6", "when: score >= "), "不完整"),
    (("        next: explain\n        min_score: 0.9", "        next: listen\n        min_score: 0.9"), "应去「listen」"),
    (("outcome: success", "outcome: great"), "「outcome」应为"),
    (("start: listen", "start: begin"), "start「begin」不是已有节点"),
    (("title: 测试情景\n", "title: [测试\n"), "方括号「[」没有配对的「]」"),
])
def test_validator_reports_each_rule_with_line_and_node(change, expected):
    old, new = change
    assert old in SCENARIO_TEXT, old
    problems = _problems(SCENARIO_TEXT.replace(old, new, 1))
    assert any(expected in p for p in problems), problems
    assert all(p.split(":")[0].strip().isdigit() for p in problems if expected in p), problems


CHOICE_START = ("start: listen\nnodes:\n", """start: pick
nodes:
  pick:
    customer: （客户走近柜台）
    mode: choice
    options:
      - {id: up, text: 起身迎接, score: 1}
      - {id: sit, text: 坐着不动, score: 0}
    branches:
      - when: choice == 'sit'
        goto: listen
      - else: true
        goto: listen
""")


def _with_choice(old: str = "", new: str = "") -> str:
    text = SCENARIO_TEXT.replace(*CHOICE_START, 1)
    assert old in text, old
    return text.replace(old, new, 1)


def test_a_scored_choice_node_passes_the_scoring_checks():
    assert _problems(_with_choice()) == []


@pytest.mark.parametrize("old, new, expected", [
    ("{id: sit, text: 坐着不动, score: 0}", "{id: sit, text: 坐着不动}", "每个选项都要有「score」（缺：sit）"),
    ("{id: up, text: 起身迎接, score: 1}", "{id: up, text: 起身迎接, score: 0.5}", "最好的选项应得满分"),
    ("    mode: choice\n", "    mode: choice\n    points: 0\n", "「points」应为正数"),
    ("    cite: 第三章", "    points: 3\n    cite: 第三章", "「points」只用于没有「expect」的「choice」节点"),
    ("        goto: listen\n      - else", "        goto: angry-end\n      - else", "一句话都不用说就结束"),
    ("    expect:\n      categories: [thanks, farewell]\n      stage: follow_up\n", "", "文字节点要有「expect」"),
    ("model: 您好，对不起给您添麻烦了，您慢慢说。", "model: 您慢慢说。", "参考说法应得满分"),
    ("      - {id: good, text: 您好，对不起，您慢慢说。}\n", "", "新手模式的选项中应有一个得满分"),
])
def test_the_scoring_checks_report_each_rule_with_line_and_node(old, new, expected):
    problems = _problems(_with_choice(old, new))
    assert any(expected in p for p in problems), problems
    assert all(p.split(":")[0].strip().isdigit() for p in problems if expected in p), problems


def test_a_pass_mark_of_zero_is_refused():
    scenario = parse_scenario_text(SCENARIO_TEXT.replace("pass_score: 60", "pass_score: 0"), "mini")
    assert any("「pass_score」至少为1" in message for _, _, message in check_scoring(scenario, BOOK))


def test_versions_saved_before_the_scoring_checks_still_load_and_play():
    """Stored scenario versions are parsed without the scoring checks: old runs stay readable."""
    legacy = parse_scenario_text(_with_choice("{id: sit, text: 坐着不动, score: 0}", "{id: sit, text: 坐着不动}"), "mini")
    assert check_scoring(legacy, BOOK)  # `lms check` refuses it as new content …
    result = step(legacy, legacy.nodes["pick"], {"anger": 2}, "", BOOK, option_id="sit")  # … but it still plays
    assert result.next_node == "listen" and result.turn.max_points == 0


def test_choice_literal_must_be_an_option():
    text = SCENARIO_TEXT.replace("      - when: critical\n", "      - when: choice == 'nope'\n", 1)
    assert any("选项「nope」不是本节点的option id" in p for p in _problems(text))


def test_fast_offsets_agree_with_the_character_by_character_map():
    import random

    from lms.roleplay.normalize import _TABLE, normalize, word_spaces

    rng = random.Random(7)
    alphabet = list("您好，欢迎光临！請問ＡＢ１ ㈠、「」…abc。？\n著麼了ﬁ_-")
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        norm = normalize(text)
        expected = [i for i, ch in enumerate(text) for _ in _TABLE[ch][0]]
        assert norm.offsets == expected, text
        assert norm.text == "".join(_TABLE[ch][0] for ch in text)
        breaks = [i for i, ch in enumerate(text) if _TABLE[ch][1]] + word_spaces(text)
        assert [norm.clause(k) for k in range(len(norm.text))] == [
            sum(1 for b in breaks if b < offset) for offset in expected], text


def test_a_space_between_words_ends_a_clause_but_not_between_spaced_out_characters():
    from lms.roleplay.normalize import normalize

    norm = normalize("不行就是不行 别磨了")
    assert norm.clause(0) == 0 and norm.clause(len(norm.text) - 1) == 1
    spaced = normalize("您 好 ， 欢 迎")
    assert spaced.clause(0) == spaced.clause(1) == 0
    shipped = parse_phrasebook((ROOT / "simulations" / "phrasebook.yaml").read_text(encoding="utf-8"))
    assert shipped.analyze("您 好 ， 欢 迎 光 临 ！").categories == ("welcome", "greeting")
    assert [f.phrase for f in shipped.analyze("不行就是不行 别磨了").forbidden] == ["不行。"]  # a whole clause



def test_simplified_characters_survive_conversion():
    from lms.roleplay.normalize import normalize

    assert normalize("什么、怎么、這麼、著急、乾淨").text == "什么怎么这么着急干净"


def test_a_full_character_table_still_normalises_exactly(monkeypatch):
    from lms.roleplay import normalize as module

    monkeypatch.setattr(module, "_TABLE_LIMIT", 0)  # nothing new is remembered from here on
    text = "您好\U000F0001，歡迎光臨\U000F0002！"
    norm = module.normalize(text)
    assert norm.text == "您好欢迎光临"
    assert [text[i] for i in norm.offsets] == list("您好歡迎光臨")
    assert norm.clause(0) == 0 and norm.clause(2) == 1
