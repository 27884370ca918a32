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
# Internet spellings of the same length as the word they stand for (positions stay the same).
SPELLINGS = {"神马": "什么", "木有": "没有", "肿么": "怎么", "蟹蟹": "谢谢"}
_SPELLING_STARTS = frozenset(k[0] for k in SPELLINGS)
# Punctuation that ends a clause; other punctuation (、「」 …) is dropped without ending one.
CLAUSE_BREAKS = frozenset(",.!?;:，。！？；：\n…")
# A space ends a clause too where it separates words — on a phone keyboard it is how a clerk separates
# clauses (「不行就是不行 别磨了」) — but not in text spaced out character by character (「您 好 ，」).
SPACES = frozenset(" \u3000\t")
_SPACE_RUNS = re.compile(r"[ \u3000\t]+")
_PIECE = r"[^ \u3000\t,.!?;:，。！？；：\n…]"
_WORD_BEFORE = re.compile(_PIECE + "{2}$")  # two characters that are no space or clause punctuation
_WORD_AFTER = re.compile(_PIECE + "{2}")

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
        if ends_clause:
            _BREAKING.add(ch)  # always: clause punctuation is a handful of characters
        if len(self) >= _TABLE_LIMIT:  # do not let odd input grow the table without bound
            _UNCACHED[0] += 1
            return value
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


def word_spaces(text: str) -> list[int]:
    """The spaces of a text that separate words: a run of spaces with at least two characters on each
    side before the next space or clause punctuation (「不行就是不行 别磨了」, not 「您 好」)."""
    out = []
    for match in _SPACE_RUNS.finditer(text):
        before = _WORD_BEFORE.search(text, 0, match.start())
        after = _WORD_AFTER.match(text, match.end())
        if before and after:
            out.append(match.start())
    return out


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

    def _break_positions(self) -> list[int]:
        """Where clauses end in the original text: clause punctuation, and spaces that separate words."""
        if self._breaks is None:
            breaks = [m.start() for m in _class_pattern("breaking", _BREAKING).finditer(self.original)]
            if not SPACES.isdisjoint(self.original):
                breaks = sorted({*breaks, *word_spaces(self.original)})
            self._breaks = breaks
        return self._breaks

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
        return bisect_right(self._break_positions(), self.offsets[k])

    def clause_bounds(self, k: int) -> tuple[int, int]:
        """Return the normalised [first, last) of the clause that holds character k."""
        c = self.clause(k)
        breaks = self._breaks
        low = breaks[c - 1] + 1 if c > 0 else 0
        high = breaks[c] if c < len(breaks) else len(self.original)
        return self._kept_before(low), self._kept_before(high)

    def clauses(self) -> list[tuple[int, int, str]]:
        """Every clause as its normalised [first, last) and the punctuation that ends it ("" for none)."""
        self._break_positions()
        out, low = [], 0
        for position in [*self._breaks, len(self.original)]:
            first, last = self._kept_before(low), self._kept_before(position)
            if last > first:
                out.append((first, last, self.original[position] if position < len(self.original) else ""))
            low = position + 1
        return out

    def clause_starts(self) -> list[int]:
        """The normalised index where each clause after the first starts (no repeats)."""
        self._break_positions()
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
    if not _SPELLING_STARTS.isdisjoint(out):
        for spelling, word in SPELLINGS.items():
            out = out.replace(spelling, word)
    if _UNCACHED[0] != misses or (_EXPANDED and not _EXPANDED.isdisjoint(text)):
        table = _TABLE  # character by character: expansions, or characters the table did not keep
        return Normalized(out, text, [i for i, ch in enumerate(text) for _ in table[ch][0]])
    return Normalized(out, text)


# Fuzzy pinyin, as phone keyboards offer it for regional accents: zh/z, ch/c, sh/s, n/l at the start,
# ang/an, eng/en, ing/in at the end are one sound (是/四, 您/林, 帮/般).
_FUZZY_START = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_END = (("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fuzzy(syllable: str) -> str:
    for long, short in _FUZZY_START:
        if syllable.startswith(long) and syllable != "n":
            syllable = short + syllable[len(long):]
            break
    for long, short in _FUZZY_END:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


def _syllable_codes(code: int) -> list[int]:
    """The private-use code of each toneless reading of a Chinese character, the most common first
    (了: le, liao); a character that is not Chinese is its own code."""
    readings = PINYIN_DICT.get(code)
    if readings is None:
        return [code]
    out: list[int] = []
    for reading in readings.split(","):
        toneless = _fuzzy("".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c)))
        with _SYLLABLE_LOCK:  # two threads must never give two syllables one code
            value = _SYLLABLES.setdefault(toneless, 0xF0000 + len(_SYLLABLES))
        if value not in out:
            out.append(value)
    return out


class _SoundTable(dict):
    """For str.translate: ord(Chinese character) -> one private-use character per toneless syllable
    (the most common reading)."""

    def __missing__(self, code: int) -> int:
        value = _syllable_codes(code)[0]
        self[code] = value
        return value


_SYLLABLES: dict[str, int] = {}
_SYLLABLE_LOCK = threading.Lock()
_SOUND = _SoundTable()


def sound(normalized: str) -> str:
    """Fold a normalised text to its sound, one character for one (see the module docstring)."""
    return normalized.translate(_SOUND)


def sounds(normalized: str, limit: int = 8) -> list[str]:
    """Every way a phrase may sound, its characters read in any of their readings (了 as le or liao,
    so that 解决不聊 is heard as 解决不了), the most common first; at most `limit`. A reply is folded
    with `sound()`, the most common reading of each character; a phrase with all of its readings."""
    variants = [""]
    for ch in normalized:
        codes = _syllable_codes(ord(ch))
        variants = [v + chr(c) for v in variants for c in codes][:limit]
    return variants
