"""Phrase sets to read aloud (朗读材料), taken from the content as it stands: never copies.

- 服务用语: the example sentences the phrasebook gives for its must-say categories (欢迎语, 问候语 …,
  each category's `hint`), one set;
- each 服务忌语 category: what to say instead (its `instead`), one set a category;
- each active scenario: its nodes' model answers, in the scenario's order.

A set is cut into passages of at most PASSAGE_CHARS read characters (about 50 seconds at 150 字/分,
well inside the longest recording), so each reading is one passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..roleplay.models import Scenario
from ..roleplay.phrasebook import MUST_IDS
from ..roleplay.service import current_phrasebook_version, current_version, phrasebook_of, scenario_of
from .measure import count_characters

PASSAGE_CHARS = 120
MIN_LINE_CHARS = 2  # a quoted single word (「您」) is no sentence to read
QUOTED = re.compile(r"「([^「」]+)」")
RING_SCENARIO = "phone-call"  # the phone drill's greeting is this scenario's first model answer


@dataclass(frozen=True)
class Line:
    text: str
    label: str = ""  # the category or node it comes from


@dataclass(frozen=True)
class PhraseSet:
    key: str
    title: str
    group: str  # 服务用语 | 服务忌语的规范说法 | 情景演练
    source: str  # rulebook citation
    passages: tuple[tuple[Line, ...], ...]

    @property
    def characters(self) -> int:
        return sum(count_characters(line.text) for passage in self.passages for line in passage)


def _passages(lines: list[Line]) -> tuple[tuple[Line, ...], ...]:
    """Cut lines into passages of at most PASSAGE_CHARS read characters (a longer line stands alone)."""
    out: list[list[Line]] = []
    size = 0
    for line in lines:
        n = count_characters(line.text)
        if not out or size + n > PASSAGE_CHARS:
            out.append([])
            size = 0
        out[-1].append(line)
        size += n
    return tuple(tuple(p) for p in out)


def _quotes(text: str) -> list[str]:
    return [q for q in QUOTED.findall(text or "") if count_characters(q) >= MIN_LINE_CHARS]


def phrase_sets() -> list[PhraseSet]:
    """Every phrase set, from the newest phrasebook and the active scenarios' newest versions."""
    sets: list[PhraseSet] = []
    version = current_phrasebook_version()
    if version is not None:
        book = phrasebook_of(version)
        lines, seen = [], set()
        for cid in MUST_IDS:
            category = book.categories.get(cid)
            for quote in _quotes(category.hint if category else ""):
                if quote not in seen:
                    seen.add(quote)
                    lines.append(Line(quote, category.label))
        if lines:
            sets.append(PhraseSet("book-service", "服务用语", "服务用语", "第一章 五、基本语言 2、服务用语", _passages(lines)))
        for category in book.categories.values():
            if category.kind == "must":
                continue
            quotes = _quotes(category.instead)
            if quotes:
                sets.append(PhraseSet(f"book-{category.id}", f"不说「{category.label}」的话，这样说", "服务忌语的规范说法",
                                      category.source, _passages([Line(q) for q in quotes])))
    for row in db.session.scalars(select(Scenario).where(Scenario.active.is_(True))
                                  .order_by(Scenario.category, Scenario.difficulty, Scenario.slug)):
        spec = scenario_of(current_version(row))
        lines, seen = [], set()
        for node in spec.nodes.values():
            model = (node.expect.model or "").strip()
            if not node.end and model and model not in seen and count_characters(model) >= MIN_LINE_CHARS:
                seen.add(model)
                lines.append(Line(model))
        if lines:
            sets.append(PhraseSet(f"scenario-{row.slug}", row.title, "情景演练", "、".join(spec.source[:1]),
                                  _passages(lines)))
    return sets


def phrase_set(key: str) -> PhraseSet | None:
    """The phrase set with this key, or None."""
    return next((s for s in phrase_sets() if s.key == key), None)


def ring_greeting() -> str:
    """The greeting the phone drill asks for: the phone-call scenario's first model answer."""
    row = db.session.scalar(select(Scenario).where(Scenario.slug == RING_SCENARIO, Scenario.active.is_(True)))
    if row is None:
        return ""
    spec = scenario_of(current_version(row))
    return spec.nodes[spec.start].expect.model if spec.start in spec.nodes else ""
