"""Text normalisation for phrase matching (pure).

NFKC, Traditional→Simplified with OpenCC `tw2s`, lower case, punctuation and spaces removed,
colloquial spellings written out (啥 → 什么, 咋 → 怎么) — with a map from every normalised
character back to the original text, and clause numbers.

`sound()` folds a normalised text to how it sounds: every Chinese character becomes one code for
its toneless syllable (好, 号 and 浩 fold alike), one character for one character, so positions
stay the same. Matching on the folded text finds phrases typed with a homophone — what a pinyin
keyboard gives a clerk every day (您号, 谢写, 环迎) — and the analyser then accepts a match that
differs from the phrase in at most one character (phrasebook.py).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right

import opencc
from pypinyin.constants import PINYIN_DICT

# Colloquial spellings that mean exactly the written word, in every context.
COLLOQUIAL = {"啥": "什么", "咋": "怎么"}
# Punctuation that ends a clause; other punctuation (、「」 …) is dropped without ending one.
CLAUSE_BREAKS = frozenset(",.!?;:，。！？；：\n…")

_to_simplified = opencc.OpenCC("tw2s")
_to_traditional = opencc.OpenCC("s2tw")


def _is_dropped(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "PZC" or category in ("Sm", "Sc", "Sk", "So") or ch.isspace()


def _simplify(ch: str) -> str:
    """Convert one character Traditional→Simplified, leaving Simplified characters alone.

    Converted alone, some Simplified characters come out wrong (么 → 幺): a character that
    round-trips through Traditional back to itself is already Simplified and is kept.
    """
    converted = _to_simplified.convert(ch)
    if converted != ch and _to_simplified.convert(_to_traditional.convert(ch)) == ch:
        return ch
    return converted




class _CharTable(dict):
    """Per-character normalisation, computed on first sight: char -> (output, ends a clause).

    NFKC, then Traditional→Simplified one character at a time (whole-string OpenCC costs
    several times more and gives the same result for the phrases we match), then lower case;
    punctuation and spaces produce no output, clause punctuation marks a clause end. Each
    character is also filed as dropped or expanding, for the offset map of `Normalized`.
    """

    def __missing__(self, ch: str) -> tuple[str, bool]:
        out: list[str] = []
        ends_clause = False
        for piece in unicodedata.normalize("NFKC", ch):
            for c in COLLOQUIAL.get(piece, _simplify(piece)).lower():
                if c in CLAUSE_BREAKS:
                    ends_clause = True
                elif not _is_dropped(c):
                    out.append(c)
        value = ("".join(out), ends_clause)
        if len(self) >= _TABLE_LIMIT:  # do not let odd input grow the table without bound
            _UNCACHED[0] += 1
            return value
        if ends_clause:
            _BREAKING.add(ch)
        if not value[0]:
            _DROPPED.add(ch)
        elif len(value[0]) > 1:
            _EXPANDED.add(ch)
        self[ch] = value
        return value


class _OutputTable(dict):
    """The same table for str.translate: ord(char) -> output."""

    def __missing__(self, code: int) -> str:
        value = _TABLE[chr(code)][0]
        if chr(code) in _TABLE:
            self[code] = value
        return value


_DROPPED: set[str] = set()  # characters that produce nothing (punctuation, spaces)
_BREAKING: set[str] = set()  # characters that end a clause (。，！？ …)
_EXPANDED: set[str] = set()  # characters that produce several (NFKC expansions)
_TABLE_LIMIT = 40_000  # characters remembered (CJK and common symbols fit many times over)
_UNCACHED = [0]  # characters normalised without being remembered (the table was full)
_TABLE = _CharTable()
_OUTPUT = _OutputTable()
_patterns: dict[str, tuple[int, re.Pattern]] = {}


def _class_pattern(name: str, chars: set[str]) -> re.Pattern:
    """A regex matching any character of a growing set (rebuilt when the set grows)."""
    cached = _patterns.get(name)
    if cached is None or cached[0] != len(chars):
        body = "[" + "".join(re.escape(c) for c in sorted(chars)) + "]" if chars else "(?!)"
        cached = (len(chars), re.compile(body))
        _patterns[name] = cached
    return cached[1]


def _dropper() -> re.Pattern:
    """A regex matching every dropped character seen so far."""
    return _class_pattern("dropped", _DROPPED)


class Normalized:
    """A reply as the matcher sees it, with maps back to the original text.

    Most characters map to exactly one character and punctuation to none. Then the original
    positions follow from the positions of the few dropped characters (found by one regex scan,
    filled in with range()), and clauses from the positions of the clause punctuation; both are
    worked out only when a hit needs them. Texts with characters that expand (NFKC) get an
    explicit offset list instead.
    """

    __slots__ = ("text", "original", "_offsets", "_breaks")

    def __init__(self, text: str, original: str, offsets: list[int] | None = None,
                 breaks: list[int] | None = None):
        self.text = text
        self.original = original
        self._offsets = offsets
        self._breaks: list[int] | None = breaks

    @property
    def offsets(self) -> list[int]:
        """Original index of every normalised character (built from the dropped positions)."""
        if self._offsets is None:
            offsets: list[int] = []
            previous = 0
            for match in _dropper().finditer(self.original):
                offsets.extend(range(previous, match.start()))
                previous = match.start() + 1
            offsets.extend(range(previous, len(self.original)))
            self._offsets = offsets
        return self._offsets

    def clause(self, k: int) -> int:
        """Return the clause number of normalised character k."""
        if self._breaks is None:
            self._breaks = [m.start() for m in _class_pattern("breaking", _BREAKING).finditer(self.original)]
        return bisect_right(self._breaks, self.offsets[k])

    def clause_bounds(self, k: int) -> tuple[int, int]:
        """Return the normalised [first, last) of the clause that holds character k."""
        c = self.clause(k)
        breaks = self._breaks
        low = breaks[c - 1] + 1 if c > 0 else 0
        high = breaks[c] if c < len(breaks) else len(self.original)
        return self._kept_before(low), self._kept_before(high)

    def clauses(self) -> list[tuple[int, int, str]]:
        """Every clause as its normalised [first, last) and the punctuation that ends it ("" for none)."""
        if self._breaks is None:
            self._breaks = [m.start() for m in _class_pattern("breaking", _BREAKING).finditer(self.original)]
        out, low = [], 0
        for position in [*self._breaks, len(self.original)]:
            first, last = self._kept_before(low), self._kept_before(position)
            if last > first:
                out.append((first, last, self.original[position] if position < len(self.original) else ""))
            low = position + 1
        return out

    def clause_starts(self) -> list[int]:
        """The normalised index where each clause after the first starts (no repeats)."""
        if self._breaks is None:
            self._breaks = [m.start() for m in _class_pattern("breaking", _BREAKING).finditer(self.original)]
        offsets, n = self.offsets, len(self.text)
        starts = {bisect_left(offsets, b + 1) for b in self._breaks}
        return sorted(k for k in starts if 0 < k < n)

    def _kept_before(self, position: int) -> int:
        """Count the normalised characters that come from before an original position."""
        return bisect_left(self.offsets, position)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) to the original text's [start, end)."""
        offsets = self.offsets
        return offsets[start], offsets[end - 1] + 1


def normalize(text: str) -> Normalized:
    """Normalise a reply: NFKC, Traditional→Simplified, lower case, no punctuation or spaces."""
    misses = _UNCACHED[0]
    out = text.translate(_OUTPUT)  # C speed; fills the table for characters seen the first time
    if _UNCACHED[0] != misses or (_EXPANDED and not _EXPANDED.isdisjoint(text)):
        table = _TABLE  # character by character: expansions, or characters the table did not keep
        return Normalized(out, text, [i for i, ch in enumerate(text) for _ in table[ch][0]],
                          [i for i, ch in enumerate(text) if table[ch][1]])
    return Normalized(out, text)


class _SoundTable(dict):
    """For str.translate: ord(Chinese character) -> one private-use character per toneless syllable."""

    def __missing__(self, code: int) -> int:
        readings = PINYIN_DICT.get(code)
        if readings is None:
            value = code  # not Chinese: itself
        else:
            first = readings.split(",")[0]  # the most common reading
            toneless = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
            with _SYLLABLE_LOCK:  # two threads must never give two syllables one code
                value = _SYLLABLES.setdefault(toneless, 0xF0000 + len(_SYLLABLES))
        self[code] = value
        return value


_SYLLABLES: dict[str, int] = {}
_SYLLABLE_LOCK = threading.Lock()
_SOUND = _SoundTable()


def sound(normalized: str) -> str:
    """Fold a normalised text to its sound, one character for one (see the module docstring)."""
    return normalized.translate(_SOUND)
