"""YAML with line numbers (pure): every mapping remembers the line of itself and of each key.

Content validators report `file:line`; PyYAML's safe loader is used underneath (no arbitrary
objects), with mappings built as `LineDict`.

This is the one YAML reader for content, whether a file or what a trainer types in an editor, and
it holds the one rule for YAML from people: no anchors (`&x`) and no aliases (`*x`) — they are
what a few kilobytes of "alias bomb" expand into gigabytes with — and no more than `MAX_DEPTH`
mappings and lists inside one another (deeper nesting would exhaust Python's stack). Both are
refused while the text is read, before anything is built; a value that looks like a date or a
number but is none (`2026-13-45`, an integer of 5,000 digits) is refused with its line too. A text
longer than `MAX_TEXT` is refused before it is read at all (PyYAML reads about half a megabyte a
second, and the editors check what is typed as it is typed).

PyYAML's own messages are English and speak its grammar (「mapping values are not allowed here」);
`_translate` turns the common ones into Chinese that says what to change, and `YamlError` carries
that message and its line; `yaml_error_message` and `at_line` write them as 「第12行：……」.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

MAX_DEPTH = 32  # mappings and lists inside one another; content needs about 6
MAX_TEXT = 100_000  # characters; the largest shipped file (the phrasebook) has about 15,000


class LineDict(dict):
    """A dict from YAML that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        """Return the line of a key, or the mapping's own line if the key is absent."""
        return self.key_lines.get(key, self.line)


class _Refused(ComposerError):
    """What the rules above refuse (the message needs no 「YAML格式错误」 in front)."""


class _Loader(yaml.SafeLoader):
    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            mark = "*" if isinstance(event, yaml.AliasEvent) else "&"
            raise _Refused(None, None, f"不支持YAML的锚点和别名（「{mark}{event.anchor}」）：请把内容直接写出来",
                           event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise _Refused(None, None, f"嵌套太深（列表和键值对最多{MAX_DEPTH}层）", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # int("1" * 5000), date(2026, 13, 45): PyYAML lets them through
            if isinstance(exc, yaml.YAMLError):
                raise
            shown = node.value if isinstance(node, yaml.ScalarNode) and len(node.value) <= 40 else "…"
            raise ConstructorError(None, None, f"无法读取的值「{shown}」（像日期或数字，却不是）",
                                   node.start_mark) from exc


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark)
        if key in result:  # PyYAML would keep the last one silently
            raise yaml.constructor.ConstructorError(
                None, None, f"键「{key}」重复（第{result.key_lines[key]}行已有）", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlError(ValueError):
    """The text is not valid YAML, or is refused by the rules above; `line` says where (1-based)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def at_line(line: int | None) -> str:
    """The prefix that says where a problem is: 「第12行：」 ("" when there is no line)."""
    return f"第{line}行：" if line else ""


# PyYAML's messages (scanner, parser, composer, constructor) in Chinese, for people who never read
# YAML's grammar: (the English problem, as a regex; the message; whether the line is where the
# context began, e.g. the opening quote, rather than where PyYAML noticed). The first that matches wins.
_ENGLISH = (
    (r"^mapping values are not allowed here",
     "这里不能再写键值对（如「mode: text」）：可能缩进没有对齐（多了空格），或文字里有冒号加空格（请给整段文字加上引号）", False),
    (r"^found unexpected ':'", "这里不能有冒号「:」：文字里有冒号时请给整段文字加上引号", False),
    (r"^could not find expected ':'", "这一行少了冒号：键和值之间写冒号，冒号后加一个空格（如「mode: text」）", True),
    (r"^found character '\\t' that cannot start any token|tab character",
     "这一行有制表符（Tab键）：缩进只能用空格", False),
    (r"^found character '(?P<c>.)' that cannot start any token",
     "值不能以「{c}」开头：请给这段文字加上引号", False),
    (r"^found unexpected end of stream", "从这一行开始的引号没有配对：到文件末尾也没有找到结束的引号", True),
    (r"^found unknown escape character '(?P<c>.*)'",
     "双引号里不能写「\\{c}」：改用单引号把这段文字括起来", False),
    (r"^expected ',' or '\]'", "方括号「[」没有配对的「]」，或列表的项之间少了逗号", True),
    (r"^expected ',' or '\}'", "花括号「{{」没有配对的「}}」，或项之间少了逗号", True),
    (r"^expected <block end>, but found '<scalar>'", "引号外面还有文字，或缩进没有对齐：整段文字都放进引号里", False),
    (r"^expected <block end>", "缩进没有对齐：同一级的键（或以短横线「-」开头的列表项）要从同一列开始", False),
    (r"^did not find expected key", "缩进没有对齐，或少了键名和冒号：同一级的键要从同一列开始", False),
    (r"^did not find expected '-' indicator", "列表的每一项要以短横线「-」加空格开头，并和上一项对齐", False),
    (r"^expected the node content, but found '(?P<c>.*)'", "这里缺少内容，却出现了「{c}」：以它开头的文字请加引号", False),
    (r"^found undefined alias", "用了没有定义的别名「*」：请把内容直接写出来", False),
    (r"^expected alphabetic or numeric character", "以「*」或「&」开头的文字请加引号", False),
    (r"^could not determine a constructor for the tag '(?P<c>.*)'",
     "不支持「{c}」这样的标签：以「!」开头的文字请加引号", False),
    (r"^but found another document", "一个文件只能有一份内容：「---」只能写在开头", False),
    (r"^found an unhashable key", "键不能是列表或键值对", False),
    (r"^expected chomping or indentation indicators", "「|」或「>」后面要换行：文字从下一行开始，并多缩进两格", False),
    (r"^found duplicate key", "键重复了", False),
)
_MESSAGES = tuple((re.compile(pattern), message, at_context) for pattern, message, at_context in _ENGLISH)


def _translate(exc: yaml.YAMLError, text: str = "") -> tuple[str, int | None]:
    """PyYAML's error as (a Chinese message, its 1-based line or None): the one translation of them."""
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: it has a position, no line
        line = text.count("\n", 0, exc.position) + 1 if text else None
        return f"文件里有不能用的控制字符（编码{exc.character:#06x}）：请删掉它", line
    problem = getattr(exc, "problem", None) or ""
    problem_mark, context_mark = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    line = (problem_mark or context_mark).line + 1 if (problem_mark or context_mark) else None
    if isinstance(exc, _Refused) or (problem and not problem.isascii()):  # ours, already in Chinese
        return problem, line
    for pattern, message, at_context in _MESSAGES:
        found = pattern.search(problem)
        if found:
            if at_context and context_mark is not None:
                line = context_mark.line + 1
            return message.format(**found.groupdict()), line
    context = getattr(exc, "context", None)
    english = "; ".join(part for part in (context, problem) if part) or str(exc).splitlines()[0]
    return f"YAML格式有误（{english}）", line


def yaml_error_message(exc: yaml.YAMLError | YamlError) -> str:
    """A YAML error as a person reads it: 「第12行：这里不能写「键: 值」……」."""
    if isinstance(exc, YamlError):
        return at_line(exc.line) + str(exc)
    message, line = _translate(exc)
    return at_line(line) + message


def _error(exc: yaml.YAMLError, text: str = "") -> YamlError:
    message, line = _translate(exc, text)
    return YamlError(message, line)


def _too_long(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise YamlError(f"YAML内容太长（{len(text)}个字符，最多{MAX_TEXT}个）", None)


def _read(text: str, step: str) -> Any:
    """Run one of the loader's reading steps on the text under the rules above."""
    _too_long(text)
    try:
        loader = _Loader(text)  # the reader refuses control characters here already
    except yaml.YAMLError as exc:
        raise _error(exc, text) from exc
    try:
        return getattr(loader, step)()
    except yaml.YAMLError as exc:
        raise _error(exc, text) from exc
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """Parse YAML safely into plain values, with LineDict mappings."""
    return _read(text, "get_single_data")


def compose(text: str) -> yaml.Node | None:
    """Parse YAML into PyYAML's node tree (with positions), under the same rules as `load`."""
    return _read(text, "get_single_node")
