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
"""

from __future__ import annotations

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


def _error(exc: yaml.YAMLError) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    message = problem if isinstance(exc, _Refused) else f"YAML格式错误：{problem}"
    return YamlError(message, mark.line + 1 if mark is not None else None)


def _too_long(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise YamlError(f"YAML内容太长（{len(text)}个字符，最多{MAX_TEXT}个）", None)


def _read(text: str, step: str) -> Any:
    """Run one of the loader's reading steps on the text under the rules above."""
    _too_long(text)
    loader = _Loader(text)
    try:
        return getattr(loader, step)()
    except yaml.YAMLError as exc:
        raise _error(exc) from exc
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """Parse YAML safely into plain values, with LineDict mappings."""
    return _read(text, "get_single_data")


def compose(text: str) -> yaml.Node | None:
    """Parse YAML into PyYAML's node tree (with positions), under the same rules as `load`."""
    return _read(text, "get_single_node")
