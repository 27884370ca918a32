"""A scenario's YAML as an editable document (round-trip: comments, order and quoting kept).

The editor's forms change this document and write it back as YAML, so a trainer who saves a form
keeps every comment and every key the forms do not show. What is read and written goes through
`lms.yamlx` first (no anchors or aliases, nesting depth, size): ruamel only re-reads text that
the one YAML rule has already accepted.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .. import yamlx
from ..errors import DomainError
from ..roleplay.scenario import NODE_RE

# `name op value`; the value is any one word, so a mistyped number (「很高」) stays in its box to be fixed
SIMPLE_WHEN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(>=|<=|==|>|<)\s*([^\s()'\"]+)\s*$")
COMPARISONS = (">=", "<=", ">", "<", "==")
COMPARISON_LABELS = {">=": "≥", "<=": "≤", ">": "＞", "<": "＜", "==": "＝"}


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096  # never fold a long Chinese line
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load(text: str) -> CommentedMap:
    """Read scenario YAML for editing: the one YAML rule first, then ruamel's round-trip reader."""
    data = yamlx.load(text)  # raises YamlError (with its line) for what people may not write
    if not isinstance(data, dict):
        raise yamlx.YamlError("情景应为键值对（mapping）", 1)
    doc = _yaml().load(text)
    if doc.get("nodes") is None:
        doc["nodes"] = CommentedMap()
    return doc


def dump(doc: CommentedMap) -> str:
    """Write the document back as YAML text, checked by the one YAML rule again."""
    out = io.StringIO()
    _yaml().dump(doc, out)
    text = out.getvalue()
    yamlx.load(text)
    return text


def nodes(doc: CommentedMap) -> CommentedMap:
    value = doc.get("nodes")
    return value if isinstance(value, dict) else CommentedMap()


def title_of(node_id: str, spec: Any) -> str:
    """A node's name for people: its `title:`, or its id when it has none."""
    title = spec.get("title") if isinstance(spec, dict) else None
    return str(title).strip() if title and str(title).strip() else node_id


def targets(spec: Any) -> list[str]:
    """Where a node's branches go, in order, each once."""
    if not isinstance(spec, dict) or not isinstance(spec.get("branches"), list):
        return []
    return list(dict.fromkeys(str(b.get("goto")) for b in spec["branches"] if isinstance(b, dict) and b.get("goto")))


# ------------------------------------------------------------------ nodes: add, rename, delete, move


def referrers(doc: CommentedMap, node_id: str) -> list[str]:
    """What points to a node, in words: the start, each branch and each test reply naming it."""
    found = []
    if doc.get("start") == node_id:
        found.append("开场节点（start）")
    for other, spec in nodes(doc).items():
        if other == node_id or not isinstance(spec, dict):
            continue
        name = title_of(other, spec)
        if node_id in targets(spec):
            found.append(f"「{name}」的分支")
        tests = spec.get("tests") if isinstance(spec.get("tests"), list) else []
        if any(isinstance(t, dict) and t.get("next") == node_id for t in tests):
            found.append(f"「{name}」的测试回复")
    return found


def check_node_id(doc: CommentedMap, node_id: str) -> str:
    node_id = (node_id or "").strip()
    if not NODE_RE.match(node_id) or len(node_id) > 64:
        raise DomainError("节点编号只能用英文字母、数字、「-」和「_」，以字母或数字开头，最多64个字符。")
    if node_id in nodes(doc):
        raise DomainError(f"已有编号为「{node_id}」的节点，请换一个。")
    return node_id


def add_node(doc: CommentedMap, node_id: str, title: str, kind: str, after: str | None = None) -> str:
    """Add a node (a customer turn, or an ending) after `after` (at the end when absent)."""
    node_id = check_node_id(doc, node_id)
    spec = CommentedMap()
    if title.strip():
        spec["title"] = title.strip()
    if kind == "end":
        spec["end"] = True
        spec["outcome"] = "success"
        spec["customer"] = "（客户满意地离开）"
        spec["debrief"] = ""
    else:
        spec["customer"] = ""
        spec["mode"] = "text"
        spec["expect"] = CommentedMap([("categories", CommentedSeq())])
        spec["branches"] = CommentedSeq([CommentedMap([("else", True), ("goto", node_id)])])
    table = nodes(doc)
    keys = list(table)
    position = keys.index(after) + 1 if after in table else len(keys)
    table.insert(position, node_id, spec)
    doc["nodes"] = table
    if not doc.get("start"):
        doc["start"] = node_id
    return node_id


def rename_node(doc: CommentedMap, old: str, new: str) -> None:
    """Give a node a new id; the start, every branch and every test pointing to it follow."""
    table = nodes(doc)
    if old not in table:
        raise DomainError(f"没有编号为「{old}」的节点。")
    if new == old:
        return
    new = check_node_id(doc, new)
    position = list(table).index(old)
    spec = table.pop(old)
    table.insert(position, new, spec)
    if doc.get("start") == old:
        doc["start"] = new
    for other in table.values():
        if not isinstance(other, dict):
            continue
        for item in other.get("branches") or []:
            if isinstance(item, dict) and item.get("goto") == old:
                item["goto"] = new
        for item in other.get("tests") or []:
            if isinstance(item, dict) and item.get("next") == old:
                item["next"] = new


def delete_node(doc: CommentedMap, node_id: str) -> None:
    """Remove a node nothing points to; otherwise say what points to it."""
    if node_id not in nodes(doc):
        raise DomainError(f"没有编号为「{node_id}」的节点。")
    pointing = referrers(doc, node_id)
    if pointing:
        raise DomainError(f"不能删除「{title_of(node_id, nodes(doc)[node_id])}」：{'、'.join(pointing)}"
                          "还指向它。请先把它们改为指向别的节点。")
    del nodes(doc)[node_id]


def move_node(doc: CommentedMap, node_id: str, step: int) -> None:
    """Move a node up (-1) or down (+1) in the file and on the map."""
    table = nodes(doc)
    keys = list(table)
    if node_id not in table:
        raise DomainError(f"没有编号为「{node_id}」的节点。")
    index = keys.index(node_id)
    target = max(0, min(len(keys) - 1, index + step))
    if target == index:
        return
    spec = table.pop(node_id)
    table.insert(target, node_id, spec)


# ------------------------------------------------------------------ conditions the forms can say


@dataclass(frozen=True)
class SimpleWhen:
    name: str
    op: str
    value: str


def simple_when(text: Any) -> SimpleWhen | None:
    """`anger >= 3` as (name, op, value); None for anything the form cannot show."""
    match = SIMPLE_WHEN.match(str(text)) if text is not None else None
    return SimpleWhen(*match.groups()) if match else None


BRANCH_KINDS = {
    "forbidden": "说了忌语",
    "critical": "说了严重忌语",
    "score": "得分≥",
    "var": "变量≥",
    "else": "其他情况",
}


def branch_kind(item: Any) -> tuple[str, str, str]:
    """(kind, variable, value) of a branch as the form shows it; kind `complex` is shown read-only."""
    if not isinstance(item, dict):
        return "complex", "", ""
    if item.get("else"):
        return "else", "", ""
    when = str(item.get("when", "")).strip()
    if when in ("forbidden", "critical"):
        return when, "", ""
    simple = simple_when(when)
    if simple and simple.op == ">=":
        if simple.name == "score":
            return "score", "", simple.value
        if simple.name not in ("elapsed", "rings", "turns", "choice"):
            return "var", simple.name, simple.value
    return "complex", "", ""


def branch_when(kind: str, variable: str, value: str) -> str | None:
    """The `when:` text for a branch chosen in the form (None: `else: true`)."""
    if kind in ("forbidden", "critical"):
        return kind
    if kind == "score":
        return f"score >= {value}"
    if kind == "var":
        return f"{variable} >= {value}"
    return None
