"""Scenarios for people: node titles, key points written as phrasings, every shipped node named."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.roleplay.scenario import MAX_NODE_TITLE, step
from lms.roleplay.scenario_parse import ScenarioError
from lms.roleplay.validate import parse_phrasebook, parse_scenario_text

pytestmark = pytest.mark.no_db
DATA = Path(__file__).parent / "data"
BOOK = parse_phrasebook((DATA / "mini_phrasebook.yaml").read_text(encoding="utf-8"))
TEXT = (DATA / "mini_scenario.yaml").read_text(encoding="utf-8")
SOLVE_PATTERN = ("        - {id: timeframe, label: 说明处理时限, regex: '([0-9一二两三四五六七八九十]+)(个)?(工作日|小时|天)(之)?内', "
                 "weight: 2}\n")


def problems_of(text: str) -> list[tuple]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario_text(text, "mini")
    return caught.value.problems


def test_a_node_without_title_is_shown_by_its_id():
    scenario = parse_scenario_text(TEXT, "mini")
    assert scenario.nodes["listen"].title == "listen"


def test_titles_are_parsed_for_turns_and_endings():
    text = TEXT.replace("  listen:\n", "  listen:\n    title: 受理投诉\n", 1).replace(
        "  explain:\n", "  explain:\n    title: ' 解释原因 '\n", 1)
    scenario = parse_scenario_text(text, "mini")
    assert scenario.nodes["listen"].title == "受理投诉"
    assert scenario.nodes["explain"].title == "解释原因"


@pytest.mark.parametrize("title, expected", [
    ("这是一个超过了二十个字的节点名称所以太长了吧", f"最多{MAX_NODE_TITLE}个"),
    ("''", "「title」是空的"),
])
def test_a_bad_title_is_reported_on_its_line(title, expected):
    text = TEXT.replace("  explain:\n", f"  explain:\n    title: {title}\n", 1)
    line = text.splitlines().index(f"    title: {title}") + 1
    problems = problems_of(text)
    assert any(expected in message and where == line and node == "explain" for where, node, message in problems), problems


def test_two_nodes_with_one_title_are_reported():
    text = TEXT.replace("  listen:\n", "  listen:\n    title: 受理\n", 1).replace(
        "  solve:\n", "  solve:\n    title: 受理\n", 1)
    problems = problems_of(text)
    assert any(node == "solve" and "「受理」与节点「listen」重复" in message for _, node, message in problems), problems


def test_a_key_point_written_as_phrasings_scores_and_branches():
    text = TEXT.replace(SOLVE_PATTERN, "        - id: timeframe\n          label: 说明处理时限\n"
                                      "          phrasings: [两个工作日内, 24小时内]\n          weight: 2\n", 1)
    assert text != TEXT
    scenario = parse_scenario_text(text, "mini")
    pattern = scenario.nodes["solve"].expect.patterns[0]
    assert pattern.phrasings == ("两个工作日内", "24小时内")
    node = scenario.nodes["solve"]
    said = step(scenario, node, scenario.initial_variables(), "我们会在三个工作日之内处理好。", BOOK)
    assert said.turn.patterns_hit == ("timeframe",) and said.next_node == "follow"
    vague = step(scenario, node, scenario.initial_variables(), "我们会尽快处理。", BOOK)
    assert vague.turn.patterns_hit == () and vague.next_node == "partial-end"


def test_a_regex_key_point_has_no_phrasings():
    assert parse_scenario_text(TEXT, "mini").nodes["solve"].expect.patterns[0].phrasings == ()


@pytest.mark.parametrize("body, expected", [
    ("          phrasings: [两天内]\n          regex: '两天内'\n", "不能同时写「regex」和「phrasings」"),
    ("          weight: 2\n", "要写「phrasings」（例句）或「regex」（正则）之一"),
    ("          phrasings: [两天内, 的]\n", "要点「timeframe」：第2种说法「的」只有一个字"),
    ("          phrasings: []\n", "至少写一种说法"),
    ("          phrasings: 两天内\n", "应为说法的列表"),
])
def test_key_point_problems_are_in_chinese_with_their_line(body, expected):
    text = TEXT.replace(SOLVE_PATTERN, "        - id: timeframe\n          label: 说明处理时限\n" + body, 1)
    problems = problems_of(text)
    assert any(expected in message and node == "solve" and where for where, node, message in problems), problems

