"""The bank linter (pure): items that give each other away within a draw pool, and near duplicates.

A *draw pool* is the set of items that one sitting can put side by side: everything the rules of an
exam can draw, or the practice items of a module check. Within a pool an item *gives another away*
when an answer the learner has to produce — a short answer's accepted answer, or a numerical answer
with the unit its question asks for (「多少分钟」: 「15分钟」) — stands in the other's text or options.
(A choice question shows its options anyway: a term of it in another item is no giveaway by itself.)
Two items are *near duplicates* when their texts and answers are nearly the same (difflib's ratio ≥
`SIMILAR`); they are looked for within each pool and within each course bank, so that a practice item
cannot mirror a certification item either.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Iterable, Sequence

from .definitions import ExamSpec, check_pool
from .questions import QuestionSpec

SIMILAR = 0.85  # a ratio above this reads as the same question to a learner
MIN_ANSWER = 2  # characters: shorter answers (「是」) stand in other texts by chance
_NOISE = re.compile(r"[\s\W_]+")
_UNIT = re.compile(r"(?:多少|几)(个百分点|小时|分钟|厘米|毫米|[^\s\W\d的是]{1})")


@dataclass(frozen=True)
class Item:
    """A question of a course bank, with where it is written (for `lms check`) or its id (for pages)."""

    course: str
    spec: QuestionSpec
    where: str = ""  # "courses/etiquette/questions.gift:12", or "" for questions from the database
    id: int | None = None


@dataclass(frozen=True)
class Finding:
    """One problem: `item` gives `other` away (kind "leak"), or the two are near duplicates."""

    kind: str
    item: Item
    other: Item
    pool: str
    detail: str  # the answer found, or the similarity

    def message(self) -> str:
        """The finding in Chinese, for `lms check` and the bank page."""
        a, b = self.item.spec.name, self.other.spec.name
        if self.kind == "leak":
            return f"「{a}」的答案「{self.detail}」出现在同一抽题范围（{self.pool}）的「{b}」的题干或选项里，一起抽到时等于送答案"
        return f"「{a}」与「{b}」几乎相同（相似度{self.detail}，{self.pool}）：请删去一道或改写"


def normal(text: str) -> str:
    """Text compared without width, case, spaces or punctuation."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def accepted_answers(spec: QuestionSpec) -> list[str]:
    """The answers a learner has to produce, as they would stand in another item's text."""
    if spec.qtype == "short":
        return [a for a in (normal(c.text) for c in spec.choices if c.fraction > 0) if len(a) >= MIN_ANSWER]
    if spec.qtype == "numerical":
        unit = _UNIT.search(spec.text)
        suffix = normal(unit.group(1)) if unit else ""
        return [f"{n.value:g}{suffix}" for n in spec.numeric if n.fraction > 0 and n.value is not None
                and (suffix or abs(n.value) >= 10)]  # a bare one-digit number turns up anywhere
    return []


def shown_text(spec: QuestionSpec) -> str:
    """Everything a learner reads of an item before answering: text, options, matching prompts and answers."""
    parts = [spec.text, spec.text_after]
    if spec.qtype in ("single", "multiple"):
        parts += [c.text for c in spec.choices]
    parts += [p.left for p in spec.pairs] + [p.right for p in spec.pairs]
    return normal(" ".join(parts))


def _contains(text: str, answer: str) -> bool:
    if answer[:1].isdigit() or answer[:1] == "-":
        return re.search(rf"(?<![\d.]){re.escape(answer)}(?![\d.])", text) is not None
    return answer in text


def pools(items: Sequence[Item], exams: Iterable[ExamSpec], checks: Iterable[tuple[str, str, Sequence[str]]],
          certification_rules) -> dict[str, list[int]]:
    """Each draw pool's items (indexes into `items`): exams by title, module checks as (course, title, categories)."""
    out: dict[str, list[int]] = {}
    for spec in exams:
        drawable = [i for i, it in enumerate(items) if it.spec.qtype != "description"
                    and (spec.essays or it.spec.qtype != "essay")]
        out[f"考试「{spec.title}」"] = [i for i in drawable if any(r.matches(items[i].spec.category) for r in spec.draw)]
    for course, title, categories in checks:
        candidates = [(i, it.spec.category) for i, it in enumerate(items)
                      if it.course == course and it.spec.qtype not in ("description", "essay")]
        out[f"章节测验「{title}」"] = [i for i, _ in check_pool(candidates, categories, certification_rules)]
    return out


def lint(items: Sequence[Item], draw_pools: dict[str, list[int]]) -> list[Finding]:
    """Every giveaway within a pool, and every near-duplicate pair within a pool or a course bank."""
    answers = [accepted_answers(it.spec) for it in items]
    shown = [shown_text(it.spec) for it in items]
    found: dict[tuple, Finding] = {}
    for pool, members in draw_pools.items():
        for i in members:
            for j in members:
                if i == j:
                    continue
                for answer in answers[i]:
                    if ("leak", i, j) not in found and _contains(shown[j], answer):
                        found[("leak", i, j)] = Finding("leak", items[i], items[j], pool, answer)
    groups = dict(draw_pools)
    for course in sorted({it.course for it in items}):
        groups[f"题库「{course}」"] = [i for i, it in enumerate(items) if it.course == course]
    whole = [shown[i] + "|" + "|".join(answers[i]) for i in range(len(items))]
    for pool, members in groups.items():
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                key = ("duplicate", min(i, j), max(i, j))
                if key in found or items[i].spec.qtype == "description":
                    continue
                matcher = SequenceMatcher(None, whole[i], whole[j], autojunk=False)
                if matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR \
                        and (ratio := matcher.ratio()) >= SIMILAR:
                    found[key] = Finding("duplicate", items[i], items[j], pool, f"{ratio:.0%}")
    return sorted(found.values(), key=lambda f: (f.item.where, f.item.spec.name, f.kind, f.other.spec.name))


def lint_files(content, courses, root_name: str = "courses") -> list[Finding]:
    """Lint the banks and exams read from files (`ExamContent`) with the courses' module checks."""
    items = [Item(slug, q, f"{root_name}/{slug}/questions.gift:{q.line}")
             for slug, questions in content.banks.items() for q in questions]
    checks = [(course.slug, module.title, module.check) for course in courses for module in course.modules]
    return lint(items, pools(items, [spec for spec, _ in content.exams], checks, content.certification_rules()))
