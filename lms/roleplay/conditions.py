"""The condition language of scenario branches (pure; parsed here, never `eval`).

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := value (("==" | "!=" | "<" | "<=" | ">" | ">=") value)?
    value   := NUMBER | STRING | "true" | "false" | NAME ("." NAME)? | "(" expr ")"

Names are looked up in an environment dict; `hit.apology` looks up env["hit"]["apology"].

A chain of `and` (or of `or`) is one node with all its operands, so a long chain is as deep as a
short one; parentheses and `not` may nest at most `MAX_NESTING` deep, so a typed condition can never
exhaust Python's stack (in parsing or in evaluating).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>==|!=|<=|>=|<|>|\(|\)|\.)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
MAX_NESTING = 16  # parentheses and `not` inside one another; a real condition needs two or three
_KEYWORDS = {"and", "or", "not", "true", "false"}


class ConditionError(ValueError):
    """The condition text cannot be parsed or evaluated."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its text and syntax tree."""

    text: str
    tree: tuple

    def names(self) -> set[str]:
        """Return every name the condition reads (dotted names as 'hit.apology')."""
        found: set[str] = set()
        _collect(self.tree, found)
        return found

    def evaluate(self, env: Mapping[str, Any]) -> bool:
        """Evaluate the condition in an environment; unknown names raise ConditionError."""
        return bool(_eval(self.tree, env))


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"条件「{text}」第{position + 1}个字符无法识别")
        position = match.end()
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
    return tokens


def parse(text: Any) -> Condition:
    """Parse a condition; booleans are allowed as literal conditions."""
    if isinstance(text, bool):
        return Condition(str(text).lower(), ("lit", text))
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("条件不能为空")
    parser = _Parser(_tokenize(text), text)
    tree = parser.expr()
    if parser.position != len(parser.tokens):
        raise ConditionError(f"条件「{text}」在「{parser.tokens[parser.position][1]}」处多余")
    return Condition(text, tree)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str):
        self.tokens, self.text, self.position, self.depth = tokens, text, 0, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConditionError(f"条件「{self.text}」不完整")
        self.position += 1
        return token

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == value and token[0] in ("name", "op"):
            self.position += 1
            return True
        return False

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            shown = self.text if len(self.text) <= 60 else self.text[:60] + "……"
            raise ConditionError(f"条件「{shown}」中括号和「not」嵌套太深（最多{MAX_NESTING}层）")

    def expr(self) -> tuple:
        operands = [self.conj()]
        while self.accept("or"):
            operands.append(self.conj())
        return operands[0] if len(operands) == 1 else ("or", *operands)

    def conj(self) -> tuple:
        operands = [self.neg()]
        while self.accept("and"):
            operands.append(self.neg())
        return operands[0] if len(operands) == 1 else ("and", *operands)

    def neg(self) -> tuple:
        if self.accept("not"):
            self.nest()
            node = ("not", self.neg())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> tuple:
        left = self.value()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in _COMPARE:
            self.take()
            return ("cmp", token[1], left, self.value())
        return left

    def value(self) -> tuple:
        kind, text = self.take()
        if kind == "num":
            return ("lit", float(text) if "." in text else int(text))
        if kind == "str":
            return ("lit", text[1:-1])
        if kind == "op" and text == "(":
            self.nest()
            node = self.expr()
            if not self.accept(")"):
                raise ConditionError(f"条件「{self.text}」缺少右括号")
            self.depth -= 1
            return node
        if kind == "name":
            if text in ("true", "false"):
                return ("lit", text == "true")
            if text in _KEYWORDS:
                raise ConditionError(f"条件「{self.text}」中「{text}」的位置不对")
            if self.accept("."):
                sub_kind, sub = self.take()
                if sub_kind != "name":
                    raise ConditionError(f"条件「{self.text}」中「{text}.」后应为名称")
                return ("name", text, sub)
            return ("name", text, None)
        raise ConditionError(f"条件「{self.text}」中「{text}」的位置不对")


def _collect(tree: tuple, found: set[str]) -> None:
    tag = tree[0]
    if tag == "name":
        found.add(tree[1] if tree[2] is None else f"{tree[1]}.{tree[2]}")
    elif tag in ("and", "or"):
        for operand in tree[1:]:
            _collect(operand, found)
    elif tag == "not":
        _collect(tree[1], found)
    elif tag == "cmp":
        _collect(tree[2], found)
        _collect(tree[3], found)


def _eval(tree: tuple, env: Mapping[str, Any]) -> Any:
    tag = tree[0]
    if tag == "lit":
        return tree[1]
    if tag == "name":
        if tree[1] not in env:
            raise ConditionError(f"未知名称「{tree[1]}」")
        value = env[tree[1]]
        if tree[2] is not None:
            if not isinstance(value, Mapping) or tree[2] not in value:
                raise ConditionError(f"未知名称「{tree[1]}.{tree[2]}」")
            value = value[tree[2]]
        return value
    if tag == "and":
        return all(_eval(operand, env) for operand in tree[1:])
    if tag == "or":
        return any(_eval(operand, env) for operand in tree[1:])
    if tag == "not":
        return not _eval(tree[1], env)
    op, left, right = tree[1], _eval(tree[2], env), _eval(tree[3], env)
    try:
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        return left >= right
    except TypeError as exc:
        raise ConditionError(f"无法比较「{left}」和「{right}」") from exc
