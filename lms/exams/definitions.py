"""Exam definitions (pure): `courses/exams/<id>.yaml`, validated, and the random draw.

    title: 新员工上岗考试
    certification: true          # a certification exam: right answers are never shown
    time_limit_minutes: 30
    pass_mark: 80                # percent
    max_attempts: 3              # 0: unlimited
    cooldown_minutes: 60         # between two attempts
    essays: false                # draw essay questions too (the result then waits for a trainer)
    draw:                        # questions drawn at random, per category (path patterns, below)
      - {category: "etiquette/*", count: 3}
      - {category: complaint-handling/接受投诉, count: 2}

A category is a path such as `etiquette/仪容`; a draw pattern matches it level by level: `*` (and
`?`, `[…]`) stay within one level and `**` spans any number of levels, so `etiquette/*` draws the
topics of the etiquette course but not their practice subcategories (`etiquette/仪容/练习`).

Pools. A category that some certification exam can draw is a certification category: its items are
never shown with their answers, so no practice exam and no module knowledge check may draw them.
A module check draws the practice items at or below its categories (`check_pool`); a practice exam
whose rule matches a certification category is refused with the rule's line.
"""

from __future__ import annotations

import fnmatch
import random
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EXAM_TYPES = ("single", "multiple", "truefalse", "short", "numerical", "matching")  # graded on submission
MAX_PATTERN = 200  # characters of a draw rule's category pattern (a category itself has at most 200)
KEYS = {"title", "certification", "time_limit_minutes", "pass_mark", "max_attempts", "cooldown_minutes", "draw",
        "summary", "essays"}


class ExamError(ValueError):
    """An exam definition has problems: (line, message) pairs."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__("；".join(m for _, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class DrawRule:
    category: str  # a category or a pattern such as "etiquette/*"
    count: int
    line: int | None = field(default=None, compare=False)  # where the rule is written (for errors)

    def matches(self, category: str) -> bool:
        return _path_match(category.split("/"), self.category.split("/"))


def _path_match(parts: list[str], pattern: list[str]) -> bool:
    """Match level by level, one pass over the pattern: at most len(pattern) × len(parts) steps.

    (Trying every split for each `**` in turn would take exponential time on a pattern such as
    `**/**/**/**/x` against a deep category, and recurse once per level.)"""
    reach = [True] + [False] * len(parts)  # reach[i]: the pattern so far matches the first i levels
    for segment in pattern:
        if segment == "**":
            first = reach.index(True) if True in reach else len(reach)
            reach = [i >= first for i in range(len(parts) + 1)]
        else:
            reach = [False] + [reach[i] and fnmatch.fnmatchcase(parts[i], segment) for i in range(len(parts))]
        if True not in reach:
            return False
    return reach[-1]


def is_certification_category(category: str, certification_rules: Sequence[DrawRule]) -> bool:
    """Tell whether a certification exam can draw this category (its answers then stay secret)."""
    return any(rule.matches(category) for rule in certification_rules)


def in_check(category: str, check_categories: Sequence[str]) -> bool:
    """Tell whether a module check over these categories covers this one (subcategories included)."""
    return any(category == c or category.startswith(c.rstrip("/") + "/") for c in check_categories)


def check_pool(pool: Sequence[tuple[int, str]], check_categories: Sequence[str],
               certification_rules: Sequence[DrawRule]) -> list[tuple[int, str]]:
    """The practice items a module check draws from: at or below its categories (all when none), none a
    certification exam can draw. `pool`: (id, category) of the course's items a check may ask."""
    return [(qid, cat) for qid, cat in pool
            if (not check_categories or in_check(cat, check_categories))
            and not is_certification_category(cat, certification_rules)]


def practice_overlaps(spec: "ExamSpec", categories: Iterable[str],
                      certification_rules: Sequence[DrawRule]) -> list[tuple[DrawRule, list[str]]]:
    """For a practice exam: each rule that could draw a certification category, with those categories."""
    if spec.certification:
        return []
    out = []
    for rule in spec.draw:
        bad = sorted(c for c in set(categories) if rule.matches(c) and is_certification_category(c, certification_rules))
        if bad:
            out.append((rule, bad))
    return out


@dataclass(frozen=True)
class ExamSpec:
    id: str
    title: str
    summary: str
    certification: bool
    time_limit_minutes: int
    pass_mark: int
    max_attempts: int
    cooldown_minutes: int
    draw: tuple[DrawRule, ...]
    essays: bool = False

    @property
    def question_count(self) -> int:
        return sum(rule.count for rule in self.draw)


def pool_size(rule: DrawRule, available: Mapping[str, Mapping[str, int]], essays: bool = False) -> int:
    """How many items a draw rule can draw from: `available` is category -> type -> active count."""
    kinds = set(EXAM_TYPES) | ({"essay"} if essays else set())
    return sum(n for cat, types in available.items() if rule.matches(cat) for kind, n in types.items() if kind in kinds)


def parse_exam(data: Any, exam_id: str, available: Mapping[str, Mapping[str, int]] | None = None) -> ExamSpec:
    """Build an exam from parsed YAML; `available` (category -> type -> count) checks the draw."""
    problems: list[tuple[int | None, str]] = []

    def line(key: str | None = None) -> int | None:
        return data.line_of(key) if hasattr(data, "line_of") and key else getattr(data, "line", None)

    if not ID_RE.match(exam_id):
        problems.append((None, "考试文件名只能用小写字母、数字和「-」"))
    if not isinstance(data, dict):
        raise ExamError([(1, "考试定义应为键值对")])
    for key in data:
        if key not in KEYS:
            problems.append((line(key), f"未知字段「{key}」"))
    title = str(data.get("title") or "").strip()
    if not title:
        problems.append((line("title"), "缺少「title」"))
    numbers = {}
    for key, default, low, high in (("time_limit_minutes", 30, 1, 600), ("pass_mark", 60, 1, 100),
                                    ("max_attempts", 0, 0, 100), ("cooldown_minutes", 0, 0, 10080)):
        value = data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append((line(key), f"「{key}」应为{low}～{high}的整数"))
            value = default
        numbers[key] = value
    rules = []
    raw = data.get("draw")
    if not isinstance(raw, list) or not raw:
        problems.append((line("draw"), "「draw」应列出至少一条抽题规则"))
        raw = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("category") or not isinstance(item.get("count"), int) \
                or item["count"] < 1:
            problems.append((getattr(item, "line", line("draw")), "每条抽题规则要有「category」和正整数「count」"))
            continue
        if len(str(item["category"])) > MAX_PATTERN:
            problems.append((getattr(item, "line", line("draw")), f"抽题规则的「category」太长（最多{MAX_PATTERN}个字符）"))
            continue
        rule = DrawRule(str(item["category"]), item["count"], getattr(item, "line", None))
        if available is not None:
            have = pool_size(rule, available, bool(data.get("essays")))
            if have < rule.count:
                problems.append((getattr(item, "line", None), f"类别「{rule.category}」只有{have}道可抽的题，不够抽{rule.count}道"))
        rules.append(rule)
    if problems:
        raise ExamError(problems)
    return ExamSpec(exam_id, title, str(data.get("summary", "")), bool(data.get("certification", False)),
                    numbers["time_limit_minutes"], numbers["pass_mark"], numbers["max_attempts"],
                    numbers["cooldown_minutes"], tuple(rules), bool(data.get("essays", False)))


def draw_questions(spec: ExamSpec, pool: Sequence[tuple[int, str]], rng: random.Random) -> list[int]:
    """Draw question ids per rule, without repeats, in a shuffled order. `pool`: (id, category)."""
    chosen: list[int] = []
    taken: set[int] = set()
    for rule in spec.draw:
        candidates = [qid for qid, cat in pool if rule.matches(cat) and qid not in taken]
        picked = rng.sample(candidates, min(rule.count, len(candidates)))
        chosen += picked
        taken.update(picked)
    rng.shuffle(chosen)
    return chosen
