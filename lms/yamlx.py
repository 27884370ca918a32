"""YAML with line numbers (pure): every mapping remembers the line of itself and of each key.

Content validators report `file:line`; PyYAML's safe loader is used underneath (no arbitrary
objects), with mappings built as `LineDict`.
"""

from __future__ import annotations

from typing import Any

import yaml


class LineDict(dict):
    """A dict from YAML that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        """Return the line of a key, or the mapping's own line if the key is absent."""
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


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
    """The text is not valid YAML; `line` says where (1-based)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def load(text: str) -> Any:
    """Parse YAML safely into plain values, with LineDict mappings."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(f"YAML格式错误：{problem}", mark.line + 1 if mark is not None else None) from exc
