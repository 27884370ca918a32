"""Phrase analysis (pure): which standard phrases (规范用语) and forbidden phrases (服务忌语) a reply holds.

`Phrasebook.analyze(text)` normalises the reply (NFKC, Traditional→Simplified with OpenCC
`tw2s`, lower case, punctuation and spaces removed, with an offset map back to the original),
finds every phrase in one Aho–Corasick pass over the text folded to its sound (`normalize.sound`:
homophones alike), keeps a match that differs from its phrase in at most one character (a typo or
homophone; for two-character phrases only when they make a whole clause; negators and discouraged
phrases only as written) and that spans no more clauses than the phrase itself (「别找我，找领导去」
holds no 「我找领导去」), then applies the rules of DESIGN.md §4.1:
exception contexts (`unless`, for forbidden rules and must-say categories alike), clause-only
short phrases, negation before a must-say phrase, and 你好 ≠ 您好. Every hit carries its span in the ORIGINAL text so the UI can highlight it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

import ahocorasick

from .normalize import CLAUSE_BREAKS, SPACES, Normalized, normalize, sound, sounds

MUST_IDS = ("welcome", "greeting", "farewell", "inquiry", "apology", "thanks")
SEVERITIES = ("critical", "major")
# Around a clause-only phrase these may stand without making the clause "longer".
LEADING_FILLERS = frozenset("嗯哎唉啊哦呃我也都真就还反正那这个的是可肯定")
TRAILING_PARTICLES = frozenset("啊呀吧了啦的哦呢嘛哈喔")
CURT_EXTRA = 5  # a clause headed by a clause-only phrase is curt if at most this much longer
GAP = "…"  # in a forbidden pattern: up to MAX_GAP other characters
MAX_GAP = 6
BOTH = "+"  # in a forbidden pattern: parts that must all stand in one clause, in any order (找+领导)
CLAUSE_START = "^"  # a forbidden pattern's first character: the match opens its clause (fillers aside)
CLAUSE_END = "$"  # its last character: the match closes its clause (particles aside) — a retort, not a clause that goes on
END_PARTICLES = TRAILING_PARTICLES | frozenset("吗")
DENIAL_GAP = 2  # 「我不是说快下班了……」: a denial stands at most this far before the 服务忌语 it unsays
# A phrase inside quotation marks is mentioned, not said (门口「欢迎光临」的牌子).
QUOTES = {"“": "”", "「": "」", "『": "』", '"': '"', "‘": "’"}
QUESTION_ENDS = frozenset("？?")
QUESTION_PARTICLES = frozenset("吗")  # 呢 ends statements too (「后面还有人排队呢」): only with ？
_ASKING = QUESTION_ENDS | QUESTION_PARTICLES  # a reply without any of these asks nothing


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
    # The phrase is forgiven when the reply itself goes on to do what the rulebook asks instead,
    # e.g. 「不知道具体参数，我请懂行的同事来给您讲解」 (normalised texts, found anywhere after the hit).
    redeemed_by: tuple[str, ...] = ()


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
    def said(self) -> tuple[ForbiddenHit, ...]:
        """The 服务忌语 said, each once (its first stretch of words): what the reply is charged for."""
        return tuple(once_each(self.forbidden, lambda f: f.phrase))

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
_HEARD = (_MUST, _FORBID)  # kinds found in any reading of their characters (a typo sounds like one of them)


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
        questions: tuple[str, ...] = (),
        rebukes: tuple[str, ...] = (),
        denials: tuple[str, ...] = (),
    ):
        self.categories = {c.id: c for c in categories}
        self.must_phrases = must_phrases
        self.must_unless = dict(must_unless or {})
        self.rules = tuple(rules)
        self.negators = tuple(negators)
        self.negator_gap = negator_gap
        self.discouraged = dict(discouraged or {})
        self.questions = tuple(normalize(q).text for q in questions)  # 征询语 by form: see _questions
        self.rebukes = tuple(normalize(r).text for r in rebukes)  # a clause holding one asks nothing
        self.denials = tuple(normalize(d).text for d in denials)  # 「我不是说……」 before a 服务忌语 unsays it
        self.source_hash = source_hash
        self._order = {cid: i for i, cid in enumerate(self.categories)}
        self.labels = {cid: c.label for cid, c in self.categories.items()}  # category id -> its Chinese name
        self._automaton = self._build()

    def _build(self) -> ahocorasick.Automaton:
        """One automaton for every phrase; each key holds its entries grouped by kind."""
        entries: dict[str, list[list]] = {}

        def add(phrase: str, kind: int, entry) -> None:
            norm = normalize(phrase)
            key = norm.text  # as written; the automaton's key is its sound
            if key:
                spans = norm.clause(len(key) - 1) - norm.clause(0)  # clause breaks inside the phrase
                for heard in sounds(key) if kind in _HEARD else (sound(key),):
                    entries.setdefault(heard, [[], [], [], [], []])[kind].append((key, spans, entry))

        for cid, phrases in self.must_phrases.items():
            for phrase in phrases:
                add(phrase, _MUST, (cid, phrase))
            for context in self.must_unless.get(cid, ()):
                add(context, _UNLESS, cid)
        for index, rule in enumerate(self.rules):
            for pattern in (rule.phrase, *rule.match):  # the phrase as listed always counts
                anchors = (pattern.startswith(CLAUSE_START), pattern.endswith(CLAUSE_END))
                pattern = pattern.removeprefix(CLAUSE_START).removesuffix(CLAUSE_END)
                if BOTH in pattern:
                    head, *free = (normalize(part).text for part in pattern.split(BOTH))
                    add(head, _FORBID, (index, (), tuple((part, sound(part)) for part in free), anchors))
                else:
                    head, *rest = pattern.split(GAP)
                    add(head, _FORBID, (index, tuple(sound(normalize(part).text) for part in rest), (), anchors))
            for context in rule.unless:
                add(context, _UNLESS, index)
        for negator in self.negators:
            add(negator, _NEGATOR, True)
        for phrase, advice in self.discouraged.items():
            add(phrase, _DISCOURAGED, (phrase, advice))
        self._keys = frozenset(key for kinds in entries.values() for kind in kinds for key, _, _ in kind)
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
        heard = sound(s)
        keys = self._keys
        broken = not (CLAUSE_BREAKS.isdisjoint(text) and SPACES.isdisjoint(text))  # else no match spans two clauses
        cuts: list[int] | None = None  # where each clause after the first starts (normalised)
        musts: list[tuple[int, int, str, str]] = []
        forbids: list[tuple[int, int, int, bool]] = []  # start, end, rule, anchored
        # Exception contexts by rule index (a forbidden hit inside one is dropped) or by must-say
        # category id (a must-say hit overlapping one is dropped: 受欢迎 / 欢迎您).
        unless: dict[int | str, list[tuple[int, int]]] = {}
        negators: list[tuple[int, int]] = []
        discouraged: list[tuple[int, int, str, str]] = []
        if len(self._automaton):
            for end_index, (length, must, forbid, contexts, negator, advice) in self._automaton.iter(heard):
                start, end = end_index - length + 1, end_index + 1
                written = s[start:end]
                if broken and end - start > 1:  # clause breaks inside the match
                    if cuts is None:
                        cuts = norm.clause_starts()
                    crossed = bisect_right(cuts, end - 1) - bisect_right(cuts, start)
                else:
                    crossed = 0
                for key, spans, (cid, phrase) in must:
                    if crossed <= spans and _close(written, key, norm, start, end, keys):
                        musts.append((start, end, cid, phrase))
                for key, spans, (index, rest, free, anchors) in forbid:
                    if crossed > spans or not _close(written, key, norm, start, end, keys, bool(rest or free)):
                        continue
                    if free:  # the other parts anywhere in the same clause
                        span = _together(norm, heard, start, end, free)
                    else:
                        stop = _follow(heard, end, rest) if rest else end  # gapped: the rest must follow
                        span = (start, stop) if stop >= 0 else None
                    if span is not None and (anchors == (False, False) or _anchored(norm, *span, anchors)):
                        forbids.append((*span, index, anchors != (False, False)))
                for key, spans, ref in contexts:  # a forbidden rule's exception also when mistyped
                    if crossed > spans:
                        continue
                    if written == key or (isinstance(ref, int) and _close(written, key, norm, start, end, keys)):
                        unless.setdefault(ref, []).append((start, end))
                if any(key == written for key, _, _ in negator) and not s.startswith("的话", end):
                    negators.append((start, end))  # 「没有的话您慢走」: 没有的话 is "if not", no negation
                for key, _, (phrase, text_advice) in advice:
                    if key == written:
                        discouraged.append((start, end, phrase, text_advice))

        offsets = norm.offsets if (musts or forbids or discouraged or extra_forbidden) else []
        found: list[tuple[int, int, str, str, str, float]] = []
        for start, end, index, anchored in forbids:
            rule = self.rules[index]
            if index in unless and any(us <= start and end <= ue for us, ue in unless[index]):
                continue
            if rule.clause_only and not anchored and not _curt(norm, start, end):  # anchors say where it stands
                continue
            if rule.redeemed_by and any(r in s[end:] for r in rule.redeemed_by):
                continue
            if self.denials and self._denied(norm, start):
                continue
            category = self.categories[rule.category]
            found.append((start, end, rule.category, rule.phrase, category.severity, category.penalty))
        for phrase in extra_forbidden:
            key = normalize(phrase).text
            position = s.find(key) if key else -1
            while position >= 0:
                found.append((position, position + len(key), "node", phrase, "major", 1.0))
                position = s.find(key, position + 1)
        # A question in a clause that holds a 服务忌语 rebukes; it asks nothing (「想好了没有？快点」).
        rebuking = {c for f in found for c in range(norm.clause(f[0]), norm.clause(f[1] - 1) + 1)} if found else set()
        for rebuke in self.rebukes:  # 「请问你到底想怎么样？」
            position = s.find(rebuke)
            while position >= 0:
                rebuking.add(norm.clause(position))
                position = s.find(rebuke, position + 1)
        quoted = _quoted(text) if not _OPENING_QUOTES.isdisjoint(text) else ()
        hits = [
            Hit(cid, phrase, offsets[start], offsets[end - 1] + 1)
            for start, end, cid, phrase in musts
            if not (negators and self._negated(norm, start, negators))
            and not (cid in unless and any(us < end and start < ue for us, ue in unless[cid]))
            and not (cid == "inquiry" and rebuking and norm.clause(start) in rebuking)
            and not (quoted and any(qs <= offsets[start] and offsets[end - 1] < qe for qs, qe in quoted))
        ]
        if self.questions and not _ASKING.isdisjoint(text):  # after the forbidden filter: a clause that says one is no 征询语
            hits += self._questions(norm, rebuking, unless.get("inquiry", ()))
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

    def _questions(self, norm: Normalized, rebuking: set[int],
                   small_talk: Iterable[tuple[int, int]]) -> list[Hit]:
        """征询语 by its form: a question (a clause ending in ？ or in 吗) in a reply that addresses the
        customer — one that holds a marker such as 您 — asks what they want, unless the clause rebukes
        (a forbidden phrase or a rebuke stands in it)."""
        out = []
        text = norm.text
        if not any(q in text for q in self.questions):
            return out
        for first, last, mark in norm.clauses():
            body = text[first:last].rstrip("啊呀啦哦")
            if not (mark in QUESTION_ENDS or (body and body[-1] in QUESTION_PARTICLES)):
                continue
            if norm.clause(first) in rebuking:
                continue
            if any(us < last and first < ue for us, ue in small_talk):  # 您最近身体好吗？ is small talk
                continue
            a, b = norm.span(first, last)
            out.append(Hit("inquiry", "（问句）", a, b))
        return out

    def _denied(self, norm: Normalized, start: int) -> bool:
        """Whether a denial (我不是说, 并不是要您) ends at most DENIAL_GAP characters before start, in its clause."""
        text = norm.text
        for denial in self.denials:
            at = text.rfind(denial, max(0, start - len(denial) - DENIAL_GAP), start)
            if at >= 0 and at + len(denial) <= start and norm.clause(at) == norm.clause(start):
                return True
        return False

    def _negated(self, norm: Normalized, start: int, negators: list[tuple[int, int]]) -> bool:
        for n_start, n_end in negators:
            if n_end > start:
                continue
            gap = start - n_end
            if gap == 0 or (n_end - n_start > 1 and gap <= self.negator_gap):
                if norm.clause(n_start) == norm.clause(start):  # only when a negator stands close
                    return True
        return False


def _close(written: str, key: str, norm: Normalized, start: int, end: int, keys: frozenset[str],
           more: bool = False) -> bool:
    """Whether the text matched by sound is the phrase: as written, or with one character typed as
    another of the same sound (the same slip twice at most when no phrase stands in the words) when what was written is no phrase of its own (急什么 is not a typo of
    挤什么) — and for a phrase of two characters only when it makes a whole clause (您号，请问… is
    您好; 您号码 is not) or heads a pattern that goes on (归定…不行就不行)."""
    if written == key:
        return True
    if written in keys:
        return False
    typos = {(a, b) for a, b in zip(written, key) if a != b}
    if len(typos) > 1:
        return False
    if sum(a != b for a, b in zip(written, key)) > 1 and _holds_phrase(written, keys):
        return False  # one typo made twice (你董不董), unless the words are a phrase of their own (挤什么挤)
    if len(key) >= 3 or more:  # more: the pattern goes on (归定…不行就不行), so the whole is longer
        return True
    first, last = norm.clause_bounds(start)
    tail = norm.text[end:last].rstrip("".join(TRAILING_PARTICLES))
    return start == first and not tail


def _holds_phrase(written: str, keys: frozenset[str]) -> bool:
    """Whether some phrase of the book (two characters or more) stands inside the written words."""
    n = len(written)
    return any(written[i:j] in keys for i in range(n) for j in range(i + 2, n + 1))


def _together(norm: Normalized, heard: str, start: int, end: int,
              parts: tuple[tuple[str, str], ...]) -> tuple[int, int] | None:
    """Find every other part in the clause of [start, end), in any order (a part of one character
    as written, a longer one by its sound); return the span that holds them all, or None."""
    first, last = norm.clause_bounds(start)
    low, high = start, end
    for written, heard_part in parts:
        text, part = (norm.text, written) if len(written) == 1 else (heard, heard_part)
        found = text.find(part, first, last)
        while found >= 0 and start <= found < end:  # not inside the head itself
            found = text.find(part, found + 1, last)
        if found < 0:
            return None
        low, high = min(low, found), max(high, found + len(part))
    return low, high


def once_each(hits, phrase_of) -> list:
    """The first hit of each 服务忌语: a reply that says one twice is charged, and told, once."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        if phrase_of(hit) not in seen:
            seen.add(phrase_of(hit))
            out.append(hit)
    return out


def _anchored(norm: Normalized, start: int, end: int, anchors: tuple[bool, bool]) -> bool:
    """Whether [start, end) opens its clause (only fillers before it) and/or closes it (only particles after)."""
    opens, closes = anchors
    text = norm.text
    if opens:
        first, _ = norm.clause_bounds(start)
        if any(ch not in LEADING_FILLERS for ch in text[first:start]):
            return False
    if closes:
        _, last = norm.clause_bounds(end - 1)
        if any(ch not in END_PARTICLES for ch in text[end:last]):
            return False
    return True


_OPENING_QUOTES = frozenset(QUOTES)


def _quoted(text: str) -> list[tuple[int, int]]:
    """The [first, last) of every quotation in the original text (an unclosed quote runs to the end)."""
    spans, k = [], 0
    while k < len(text):
        close = QUOTES.get(text[k])
        if close is None:
            k += 1
            continue
        end = text.find(close, k + 1)
        end = len(text) if end < 0 else end
        spans.append((k + 1, end))
        k = end + 1
    return spans


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
    """One 服务忌语 for one stretch of words: of hits that overlap, keep those that together cover the
    most words, less one per hit — the longer of two that overlap, two side by side over one that
    overlaps both and covers less, one over two that cover no more — sorted by position (weighted
    interval scheduling on hits sorted by end)."""
    if len(found) < 2:
        return list(found)
    ordered = sorted(found, key=lambda f: (f[1], f[0]))
    ends = [f[1] for f in ordered]
    # Half a word more for a hit whose 服务忌语 is also found on other words of the reply: of two readings
    # of the same words (几什么几: 挤什么挤 or 急什么急), the one the rest of the reply goes on with.
    bonus = [0.5 if any(o[3] == f[3] and (o[1] <= f[0] or f[1] <= o[0]) for o in ordered) else 0.0
             for f in ordered]
    best: list[tuple[float, list[tuple]]] = [(0, [])]  # best[i]: (score, hits) using the first i hits
    for i, item in enumerate(ordered):
        before = bisect_right(ends, item[0], 0, i)  # hits that end at or before this one starts
        score = best[before][0] + item[1] - item[0] - 1 + bonus[i]  # a word less per hit: fewer, longer hits at a tie
        best.append((score, best[before][1] + [item]) if score > best[i][0] else best[i])
    return best[-1][1]