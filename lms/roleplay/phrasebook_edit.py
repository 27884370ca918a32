"""Edit the phrasebook's YAML text in place (pure): add one entry to one list, keep every comment.

A *target* names the list an entry goes to: the `phrases` (新说法) or the `unless` (例外语境)
of a must-say category, or the `unless` of one forbidden rule (the n-th item of a category's
`rules`). The text is changed by inserting characters at positions PyYAML's composer reports,
never by dumping the document again, so comments, order and layout stay as the trainer wrote
them; the result is parsed once more and must hold exactly one more entry, else ValueError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from .. import yamlx

FIELDS = ("phrases", "unless")


@dataclass(frozen=True)
class Target:
    """The list an entry is added to: `field` of category `category`, or of its rule number `rule`."""

    category: str
    field: str
    rule: int | None = None

    def __post_init__(self):
        if self.field not in FIELDS or (self.rule is not None and self.field != "unless"):
            raise ValueError(f"unknown target {self.field!r}")

    @property
    def key(self) -> str:
        """The target as one string (for forms and links): phrases:greeting, unless:greeting, unless:forbid_rush:1."""
        return ":".join([self.field, self.category] + ([str(self.rule)] if self.rule is not None else []))

    @classmethod
    def parse(cls, key: str) -> "Target":
        """Read a target back from `key` (ValueError if malformed)."""
        parts = (key or "").split(":")
        if len(parts) == 2:
            return cls(parts[1], parts[0])
        if len(parts) == 3 and parts[2].isdigit():
            return cls(parts[1], parts[0], int(parts[2]))
        raise ValueError(f"unknown target {key!r}")


def entries(text: str, target: Target) -> list[str]:
    """The entries of the target's list in `text` (empty if the list is absent)."""
    node = _mapping_of(yamlx.load(text), target)
    values = node.get(target.field) or []
    return [str(v) for v in values] if isinstance(values, list) else []


def add_entry(text: str, target: Target, entry: str) -> str:
    """Return `text` with `entry` appended to the target's list (the list is created if absent)."""
    entry = entry.strip()
    if not entry or "\n" in entry:
        raise ValueError("an entry is one non-empty line")
    before = yamlx.load(text)
    old = entries(text, target)
    if entry in old:
        raise ValueError(f"「{entry}」 is already listed")
    root = yamlx.compose(text)
    mapping = _node_of(root, target)
    value = _value(mapping, target.field)
    lines = text.splitlines(keepends=True)
    if value is None:
        new = _add_key(text, lines, mapping, target.field, entry)
    elif isinstance(value, yaml.SequenceNode) and value.flow_style:
        new = _add_to_flow(text, value, entry)
    elif isinstance(value, yaml.SequenceNode) and value.value:
        new = _add_to_block(text, lines, value, entry)
    else:
        raise ValueError(f"{target.field} is not a list")
    # The guarantee: the same document with exactly this one entry more.
    after = yamlx.load(new)
    _mapping_of(before, target)[target.field] = old + [entry]
    if after != before:
        raise ValueError("the edit would change more than one entry")
    return new


def _mapping_of(data, target: Target) -> dict:
    try:
        spec = data["categories"][target.category]
        if target.rule is not None:
            spec = spec["rules"][target.rule]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"no such target {target.key}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"no such target {target.key}")
    return spec


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _node_of(root: yaml.Node, target: Target) -> yaml.MappingNode:
    node = root
    for step in ("categories", target.category):
        node = _value(node, step) if isinstance(node, yaml.MappingNode) else None
    if target.rule is not None:
        rules = _value(node, "rules") if isinstance(node, yaml.MappingNode) else None
        node = rules.value[target.rule] if isinstance(rules, yaml.SequenceNode) and target.rule < len(rules.value) else None
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise ValueError(f"no such target {target.key}")
    return node


def scalar(entry: str, flow: bool) -> str:
    """The entry as YAML: plain where it reads back as the same string, else double-quoted."""
    probe = f"k: [{entry}]" if flow else f"k:\n  - {entry}"
    try:
        if yamlx.load(probe) == {"k": [entry]}:
            return entry
    except yamlx.YamlError:
        pass
    return json.dumps(entry, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _add_to_flow(text: str, seq: yaml.SequenceNode, entry: str) -> str:
    close = seq.end_mark.index - 1  # the closing ]
    if text[close] != "]":
        raise ValueError("unexpected flow list")
    written = scalar(entry, flow=True)
    return text[:close] + (f", {written}" if seq.value else written) + text[close:]


def _add_to_block(text: str, lines: list[str], seq: yaml.SequenceNode, entry: str) -> str:
    first = seq.value[0].start_mark
    dash = lines[first.line].rfind("-", 0, first.column)  # the item's "- " (the column of the list)
    at = _after(lines, seq.value[-1])
    newline = "" if text[:at].endswith("\n") else "\n"
    return text[:at] + newline + " " * dash + "- " + scalar(entry, flow=False) + "\n" + text[at:]


def _add_key(text: str, lines: list[str], mapping: yaml.MappingNode, key: str, entry: str) -> str:
    if mapping.flow_style:  # {label: …, phrases: […]}: the new key goes before the closing brace
        close = mapping.end_mark.index - 1
        if text[close] != "}":
            raise ValueError("unexpected flow mapping")
        return text[:close] + f", {key}: [{scalar(entry, flow=True)}]" + text[close:]
    indent = mapping.value[0][0].start_mark.column  # the column of the mapping's keys
    at = _after(lines, mapping.value[-1][1])
    newline = "" if text[:at].endswith("\n") else "\n"
    return text[:at] + newline + " " * indent + f"{key}: [{scalar(entry, flow=True)}]\n" + text[at:]


def _after(lines: list[str], node: yaml.Node) -> int:
    """The position just after the line on which `node`'s content ends (its comment included).

    A block collection ends where the next token starts — past any comments below it — so its
    end is the end of its last item."""
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    end = node.end_mark
    line = end.line if end.column else end.line - 1  # a block scalar ends at the start of the next line
    return sum(len(row) for row in lines[:line + 1])
