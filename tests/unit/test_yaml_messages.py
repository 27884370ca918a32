"""YAML mistakes a trainer makes, answered in Chinese with the line to look at; validator problems with 「第N行：」."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lms.roleplay.validate import parse_phrasebook, problem_text, scenario_text_problems
from lms.yamlx import YamlError, at_line, load, yaml_error_message

pytestmark = pytest.mark.no_db
DATA = Path(__file__).parent / "data"
BOOK = parse_phrasebook((DATA / "mini_phrasebook.yaml").read_text(encoding="utf-8"))
TEXT = (DATA / "mini_scenario.yaml").read_text(encoding="utf-8")


def message_of(text: str) -> str:
    with pytest.raises(YamlError) as caught:
        load(text)
    return yaml_error_message(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("a: 1\ntitle: 测试: 情景\n", "第2行：这里不能再写键值对"),            # mapping values are not allowed here
    ("a: 1\nb: 2\n  c: 3\n", "第3行：这里不能再写键值对"),                # indented too far
    ("a: 1\nb\nc: 2\n", "第2行：这一行少了冒号"),                        # could not find expected ':'
    ("a:\n\tb: 1\n", "第2行：这一行有制表符（Tab键）：缩进只能用空格"),     # found character '\t'
    ("a:\n  b: 1\n c: 2\n", "第3行：缩进没有对齐"),                       # expected <block end>
    ("a:\n  - 1\n - 2\n", "第3行：缩进没有对齐"),
    ("a: 1\n- b\n", "第2行：缩进没有对齐"),
    ("a: 'x' y\n", "第1行：引号外面还有文字"),
    ('a: 1\nb: "abc\nc: 2\n', "第2行：从这一行开始的引号没有配对"),       # unclosed quotes: the opening line
    ("a: 1\nb: 'abc\nc: 2\n", "第2行：从这一行开始的引号没有配对"),
    ("a: 1\nb: [1, 2\nc: 3\n", "第2行：方括号「[」没有配对的「]」"),
    ("a: {x: 1\nb: 3\n", "第1行：花括号「{」没有配对的「}」"),
    ("a: 1\nb: @x\n", "第2行：值不能以「@」开头：请给这段文字加上引号"),
    ('a: "\\d"\n', "第1行：双引号里不能写「\\d」"),
    ("a: !foo 1\n", "第1行：不支持「!foo」这样的标签"),
    ("a: * x\n", "第1行：以「*」或「&」开头的文字请加引号"),
    ("a: *x\n", "第1行：不支持YAML的锚点和别名"),                           # never an undefined alias: refused
    ("a: 1\na: 2\n", "第2行：键「a」重复（第1行已有）"),                    # duplicate key
    ("a: 1\n---\nb: 2\n", "第2行：一个文件只能有一份内容"),
    ("? [1]\n: 2\n", "第1行：键不能是列表或键值对"),
    ("a: |x\n  b\n", "第1行：「|」或「>」后面要换行"),
    ("a: }\n", "第1行：这里缺少内容，却出现了「}」"),
    ("a: 1\nb: \x01\n", "第2行：文件里有不能用的控制字符"),
    ("%YAML 1.1\n%YAML 1.1\na: 1\n", "第2行：YAML格式有误（found duplicate YAML directive）"),  # the fallback
])
def test_yaml_mistakes_are_explained_in_chinese_with_their_line(text, expected):
    message = message_of(text)
    assert message.startswith(expected), message
    if "YAML格式有误" not in message:
        assert message.isascii() is False and not any(word in message for word in ("found", "expected", "while"))


def test_pyyaml_errors_translate_the_same_way_directly():
    try:
        yaml.safe_load("a: 1\nb\nc: 2\n")
    except yaml.YAMLError as exc:
        assert yaml_error_message(exc).startswith("第2行：这一行少了冒号")


def test_at_line_writes_the_line_or_nothing():
    assert at_line(12) == "第12行："
    assert at_line(None) == "" and at_line(0) == ""


def test_problems_say_the_line_and_the_node_by_its_title():
    assert problem_text(54, "open", "goto「reqest」不是已有节点", {"open": "受理投诉"}) == \
        "第54行：节点「受理投诉」：goto「reqest」不是已有节点"
    assert problem_text(None, "", "没有任何结局节点") == "没有任何结局节点"


def test_a_broken_scenario_reads_in_chinese_in_the_editor():
    titled = TEXT.replace("  solve:\n", "  solve:\n    title: 提出方案\n", 1)
    broken = titled.replace("goto: follow", "goto: folow", 1)
    line = broken.splitlines().index("        goto: folow") + 1
    assert scenario_text_problems(broken, "mini", BOOK) == [f"第{line}行：节点「提出方案」：goto「folow」不是已有节点"]
    unparsable = titled.replace("stage: solve", "stage: solve: now", 1)
    line = unparsable.splitlines().index("      stage: solve: now") + 1
    assert scenario_text_problems(unparsable, "mini", BOOK) == [
        f"第{line}行：这里不能再写键值对（如「mode: text」）：可能缩进没有对齐（多了空格），或文字里有冒号加空格（请给整段文字加上引号）"]
    assert scenario_text_problems(TEXT, "mini", BOOK) == []
