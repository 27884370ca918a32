"""Phrase analysis (pure): which standard phrases (规范用语) and forbidden phrases (服务忌语) a reply holds.

`Phrasebook.analyze(text)` normalises the reply (NFKC, Traditional→Simplified with OpenCC
`tw2s`, lower case, punctuation and spaces removed, with an offset map back to the original),
finds every phrase in one Aho–Corasick pass, then applies the rules of DESIGN.md §4.1:
exception contexts (`unless`, for forbidden rules and must-say categories alike), clause-only
short phrases, negation before a must-say phrase, and 你好 ≠ 您好. Every hit carries its span in the ORIGINAL text so the UI can highlight it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

import ahocorasick

from ..digest import text_hash
from .normalize import Normalized, normalize

MUST_IDS = ("welcome", "greeting", "farewell", "inquiry", "apology", "thanks")
SEVERITIES = ("critical", "major")
# Around a clause-only phrase these may stand without making the clause "longer".
LEADING_FILLERS = frozenset("嗯哎唉啊哦呃我也都真就还反正那这个")
TRAILING_PARTICLES = frozenset("啊呀吧了啦的哦呢嘛哈喔")
CURT_EXTRA = 5  # a clause headed by a clause-only phrase is curt if at most this much longer
GAP = "…"  # in a forbidden pattern: up to MAX_GAP other characters
MAX_GAP = 6


@dataclass(frozen=True)
class Category:
    """A phrase category: must-say (规范用语) or forbidden (服务忌语)."""

    id: str
    label: str
    kind: str
    weight: float = 1.0
    severity: str = "major"
    penalty: float = 1.0
    source: str = ""
    hint: str = ""
    instead: str = ""


@dataclass(frozen=True)
class Rule:
    """One forbidden phrase as the rulebook lists it, and what to look for."""

    category: str
    phrase: str
    match: tuple[str, ...]
    clause_only: bool = False
    unless: tuple[str, ...] = ()


class Hit(NamedTuple):
    """A must-say phrase found in the reply."""

    category: str
    phrase: str
    start: int
    end: int


class ForbiddenHit(NamedTuple):
    """A forbidden phrase found in the reply."""

    category: str
    phrase: str  # the 服务忌语 as the rulebook lists it
    matched: str  # the words in the reply
    start: int
    end: int
    severity: str
    penalty: float


class Note(NamedTuple):
    """A discouraged phrase (e.g. 你好 for 您好) with the advice to show."""

    phrase: str
    advice: str
    start: int
    end: int


@dataclass(slots=True)
class Analysis:
    """What a reply contains."""

    text: str
    normalized: str
    categories: tuple[str, ...]
    hits: tuple[Hit, ...]
    forbidden: tuple[ForbiddenHit, ...]
    notes: tuple[Note, ...] = ()
    _norm: Normalized | None = field(default=None, repr=False, compare=False)

    def has(self, category: str) -> bool:
        return category in self.categories

    @property
    def critical(self) -> bool:
        return any(f.severity == "critical" for f in self.forbidden)

    def to_json(self) -> dict[str, Any]:
        """Return the analysis as plain JSON-ready data (the `lms phrases check` output)."""
        return {
            "categories": list(self.categories),
            "forbidden": [
                {"phrase": f.phrase, "matched": f.matched, "start": f.start, "end": f.end,
                 "category": f.category, "severity": f.severity}
                for f in self.forbidden
            ],
            "hits": [{"category": h.category, "phrase": h.phrase, "start": h.start, "end": h.end} for h in self.hits],
            "notes": [{"phrase": n.phrase, "advice": n.advice, "start": n.start, "end": n.end} for n in self.notes],
            "normalized": self.normalized,
        }


# Entry kinds in the automaton.
_MUST, _FORBID, _UNLESS, _NEGATOR, _DISCOURAGED = range(5)


class Phrasebook:
    """The standard and forbidden phrases, compiled for fast analysis."""

    def __init__(
        self,
        categories: Iterable[Category],
        must_phrases: dict[str, tuple[str, ...]],
        rules: Iterable[Rule],
        negators: Iterable[str] = (),
        negator_gap: int = 3,
        discouraged: dict[str, str] | None = None,
        source_hash: str = "",
        must_unless: dict[str, tuple[str, ...]] | None = None,
    ):
        self.categories = {c.id: c for c in categories}
        self.must_phrases = must_phrases
        self.must_unless = dict(must_unless or {})
        self.rules = tuple(rules)
        self.negators = tuple(negators)
        self.negator_gap = negator_gap
        self.discouraged = dict(discouraged or {})
        self.source_hash = source_hash
        self._order = {cid: i for i, cid in enumerate(self.categories)}
        self._automaton = self._build()

    def _build(self) -> ahocorasick.Automaton:
        """One automaton for every phrase; each key holds its entries grouped by kind."""
        entries: dict[str, list[list]] = {}

        def add(phrase: str, kind: int, entry) -> None:
            key = normalize(phrase).text
            if key:
                entries.setdefault(key, [[], [], [], [], []])[kind].append(entry)

        for cid, phrases in self.must_phrases.items():
            for phrase in phrases:
                add(phrase, _MUST, (cid, phrase))
            for context in self.must_unless.get(cid, ()):
                add(context, _UNLESS, cid)
        for index, rule in enumerate(self.rules):
            for pattern in rule.match:
                head, *rest = pattern.split(GAP)
                add(head, _FORBID, (index, tuple(normalize(part).text for part in rest)))
            for context in rule.unless:
                add(context, _UNLESS, index)
        for negator in self.negators:
            add(negator, _NEGATOR, True)
        for phrase, advice in self.discouraged.items():
            add(phrase, _DISCOURAGED, (phrase, advice))
        automaton = ahocorasick.Automaton()
        for key, kinds in entries.items():
            automaton.add_word(key, (len(key), *(tuple(k) for k in kinds)))
        if len(automaton):
            automaton.make_automaton()
        return automaton

    @property
    def must_categories(self) -> list[Category]:
        return [c for c in self.categories.values() if c.kind == "must"]

    @property
    def forbidden_categories(self) -> list[Category]:
        return [c for c in self.categories.values() if c.kind == "forbidden"]

    def analyze(self, text: str, extra_forbidden: Iterable[str] = ()) -> Analysis:
        """Analyse a reply; `extra_forbidden` adds phrases forbidden in this context only."""
        norm = normalize(text)
        s = norm.text
        musts: list[tuple[int, int, str, str]] = []
        forbids: list[tuple[int, int, int]] = []
        # Exception contexts by rule index (a forbidden hit inside one is dropped) or by must-say
        # category id (a must-say hit overlapping one is dropped: 受欢迎 / 欢迎您).
        unless: dict[int | str, list[tuple[int, int]]] = {}
        negators: list[tuple[int, int]] = []
        discouraged: list[tuple[int, int, str, str]] = []
        if len(self._automaton):
            for end_index, (length, must, forbid, contexts, negator, advice) in self._automaton.iter(s):
                start, end = end_index - length + 1, end_index + 1
                for cid, phrase in must:
                    musts.append((start, end, cid, phrase))
                for index, rest in forbid:
                    stop = _follow(s, end, rest) if rest else end  # gapped: the rest must follow
                    if stop >= 0:
                        forbids.append((start, stop, index))
                for ref in contexts:
                    unless.setdefault(ref, []).append((start, end))
                if negator:
                    negators.append((start, end))
                for phrase, text_advice in advice:
                    discouraged.append((start, end, phrase, text_advice))

        offsets = norm.offsets if (musts or forbids or discouraged or extra_forbidden) else []
        hits = [
            Hit(cid, phrase, offsets[start], offsets[end - 1] + 1)
            for start, end, cid, phrase in musts
            if not (negators and self._negated(norm, start, negators))
            and not (cid in unless and any(us < end and start < ue for us, ue in unless[cid]))
        ]
        found: list[tuple[int, int, str, str, str, float]] = []
        for start, end, index in forbids:
            rule = self.rules[index]
            if index in unless and any(us <= start and end <= ue for us, ue in unless[index]):
                continue
            if rule.clause_only and not _curt(norm, start, end):
                continue
            category = self.categories[rule.category]
            found.append((start, end, rule.category, rule.phrase, category.severity, category.penalty))
        for phrase in extra_forbidden:
            key = normalize(phrase).text
            position = s.find(key) if key else -1
            while position >= 0:
                found.append((position, position + len(key), "node", phrase, "major", 1.0))
                position = s.find(key, position + 1)
        forbidden = []
        if found:
            for start, end, cat, phrase, severity, penalty in _outermost(found):
                a, b = offsets[start], offsets[end - 1] + 1
                forbidden.append(ForbiddenHit(cat, phrase, text[a:b], a, b, severity, penalty))
        notes = [Note(phrase, advice, offsets[start], offsets[end - 1] + 1)
                 for start, end, phrase, advice in discouraged]
        order = self._order
        categories = tuple(sorted({h.category for h in hits}, key=order.__getitem__))
        hits.sort(key=_start_of)
        return Analysis(text, s, categories, tuple(hits), tuple(forbidden), tuple(notes), norm)

    def _negated(self, norm: Normalized, start: int, negators: list[tuple[int, int]]) -> bool:
        for n_start, n_end in negators:
            if n_end > start:
                continue
            gap = start - n_end
            if gap == 0 or (n_end - n_start > 1 and gap <= self.negator_gap):
                if norm.clause(n_start) == norm.clause(start):  # only when a negator stands close
                    return True
        return False


def _follow(text: str, position: int, parts: tuple[str, ...]) -> int:
    """Find each part after the previous one, at most MAX_GAP characters on; return the end or -1."""
    for part in parts:
        found = text.find(part, position, position + MAX_GAP + len(part))
        if found < 0:
            return -1
        position = found + len(part)
    return position


def _start_of(hit: Hit) -> int:
    return hit.start


def _curt(norm: Normalized, start: int, end: int) -> bool:
    """Tell whether [start, end) is a whole clause or the head of a curt clause."""
    first, last = norm.clause_bounds(start)
    head = norm.text[first:start]
    if any(ch not in LEADING_FILLERS for ch in head):
        return False
    tail = norm.text[end:last].rstrip("".join(TRAILING_PARTICLES))
    return len(tail) <= CURT_EXTRA


def _outermost(found: list[tuple]) -> list[tuple]:
    """Drop forbidden hits that lie inside another hit (keep the longest), sorted by position."""
    ordered = sorted(found, key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[tuple] = []
    for item in ordered:
        if any(k[0] <= item[0] and item[1] <= k[1] for k in kept):
            continue
        kept.append(item)
    return kept


class PhrasebookError(ValueError):
    """The phrasebook file has problems; `problems` lists (line, message)."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__("；".join(m for _, m in problems))
        self.problems = problems


def from_data(data: Any, source_hash: str = "") -> Phrasebook:
    """Build a phrasebook from parsed YAML (yamlx LineDicts), or raise PhrasebookError."""
    problems: list[tuple[int | None, str]] = []

    def line(obj: Any, key: str | None = None) -> int | None:
        if hasattr(obj, "line_of"):
            return obj.line_of(key) if key else obj.line
        return None

    if not isinstance(data, dict):
        raise PhrasebookError([(1, "「phrasebook」应为键值对（mapping）")])
    raw = data.get("categories")
    if not isinstance(raw, dict) or not raw:
        raise PhrasebookError([(line(data, "categories"), "缺少「categories」")])
    categories: list[Category] = []
    must_phrases: dict[str, tuple[str, ...]] = {}
    must_unless: dict[str, tuple[str, ...]] = {}
    rules: list[Rule] = []
    discouraged: dict[str, str] = {}
    seen_match: dict[str, str] = {}
    for cid, spec in raw.items():
        if not isinstance(spec, dict):
            problems.append((line(raw, cid), f"类别「{cid}」应为键值对"))
            continue
        kind = spec.get("kind")
        if kind not in ("must", "forbidden"):
            problems.append((line(spec, "kind"), f"类别「{cid}」：「kind」应为「must」或「forbidden」"))
            continue
        severity = spec.get("severity", "major")
        if severity not in SEVERITIES:
            problems.append((line(spec, "severity"), f"类别「{cid}」：「severity」应为「critical」或「major」"))
        try:
            weight, penalty = float(spec.get("weight", 1)), float(spec.get("penalty", 1))
        except (TypeError, ValueError):
            problems.append((line(spec), f"类别「{cid}」：「weight」「penalty」应为数字"))
            weight, penalty = 1.0, 1.0
        if not spec.get("label"):
            problems.append((line(spec), f"类别「{cid}」：缺少「label」"))
        categories.append(Category(str(cid), str(spec.get("label", cid)), kind, weight, severity, penalty,
                                   str(spec.get("source", "")), str(spec.get("hint", "")),
                                   str(spec.get("instead", ""))))
        if kind == "must":
            phrases = spec.get("phrases") or []
            if not isinstance(phrases, list) or not phrases:
                problems.append((line(spec, "phrases"), f"类别「{cid}」：缺少「phrases」"))
                phrases = []
            for phrase in phrases:
                key = normalize(str(phrase)).text
                if not key:
                    problems.append((line(spec, "phrases"), f"类别「{cid}」：短语「{phrase}」去掉标点后为空"))
                elif key in seen_match and seen_match[key] != cid:
                    problems.append((line(spec, "phrases"), f"短语「{phrase}」同时属于「{seen_match[key]}」和「{cid}」"))
                seen_match[key] = str(cid)
            must_phrases[str(cid)] = tuple(str(p) for p in phrases)
            unless = spec.get("unless") or []
            if not isinstance(unless, list):
                problems.append((line(spec, "unless"), f"类别「{cid}」：「unless」应为列表"))
                unless = []
            must_unless[str(cid)] = tuple(str(u) for u in unless)
            for phrase, advice in (spec.get("discouraged") or {}).items():
                discouraged[str(phrase)] = str(advice)
        else:
            raw_rules = spec.get("rules") or []
            if not isinstance(raw_rules, list) or not raw_rules:
                problems.append((line(spec, "rules"), f"类别「{cid}」：缺少「rules」"))
                raw_rules = []
            for rule in raw_rules:
                if not isinstance(rule, dict) or not rule.get("phrase"):
                    problems.append((line(rule) or line(spec, "rules"), f"类别「{cid}」：每条规则要有「phrase」"))
                    continue
                match = rule.get("match") or [rule["phrase"]]
                if not isinstance(match, list):
                    problems.append((line(rule, "match"), f"「{rule['phrase']}」：「match」应为列表"))
                    continue
                for m in match:
                    if not all(normalize(part).text for part in str(m).split(GAP)):
                        problems.append((line(rule, "match"), f"「{rule['phrase']}」：match「{m}」去掉标点后为空"))
                unless = rule.get("unless") or []
                if not isinstance(unless, list):
                    problems.append((line(rule, "unless"), f"「{rule['phrase']}」：「unless」应为列表"))
                    unless = []
                rules.append(Rule(str(cid), str(rule["phrase"]), tuple(str(m) for m in match),
                                  bool(rule.get("clause_only", False)), tuple(str(u) for u in unless)))
    ids = [c.id for c in categories if c.kind == "must"]
    if sorted(ids) != sorted(MUST_IDS):
        problems.append((line(data, "categories"),
                         f"必说类别应正好是{'、'.join(MUST_IDS)}（现有：{'、'.join(ids) or '无'}）"))
    negators = data.get("negators") or []
    if not isinstance(negators, list):
        problems.append((line(data, "negators"), "「negators」应为列表"))
        negators = []
    gap = data.get("negator_gap", 3)
    if not isinstance(gap, int) or gap < 0:
        problems.append((line(data, "negator_gap"), "「negator_gap」应为非负整数"))
        gap = 3
    if problems:
        raise PhrasebookError(problems)
    return Phrasebook(categories, must_phrases, rules, [str(n) for n in negators], gap, discouraged, source_hash,
                      must_unless)


def parse(text: str) -> Phrasebook:
    """Parse phrasebook YAML text (raises PhrasebookError or yamlx.YamlError)."""
    from ..yamlx import load

    return from_data(load(text), text_hash(text))
