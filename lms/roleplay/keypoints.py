"""Key points written as example phrasings (pure): the trainer writes what a good reply says
(「两个工作日内」, 「我帮您登记」), the product builds the pattern.

A key point (`expect.patterns` of a node) is matched against the reply as the phrasebook sees it:
normalised by `normalize.normalize` (NFKC, Traditional→Simplified, lower case, no punctuation and no
spaces). Each phrasing is normalised the same way and then loosened by a few fixed rules, nothing
else — the editor shows the trainer which of their own test replies match, so the rules must be
easy to predict (simulations/FORMAT.md, "Key points as phrasings"):

- a number — a run of digits or Chinese numerals (`NUMERALS`) — stands for any number written either
  way: 「两个工作日内」 also matches 「3个工作日内」 and 「二十四个工作日内」;
- after a number, 「个」 may be there or not (「24小时内」 matches 「24个小时内」);
- before 「内」, 「之」 or 「以」 may be there or not (「三天之内」 matches 「三天内」 and 「三天以内」);
- after 「请」, 「您」 may be there or not (「请稍候」 matches 「请您稍候」 and the other way round);
- 「我」 and 「我们」 are the same, and after them one of the words `INSERTS` (来, 先, 马上 …) may stand
  or not (「我帮您登记」 matches 「我来帮您登记」, 「我们马上帮您登记」); no other word may be inserted.

The phrasing may stand anywhere in the reply (「我帮您登记一下吧」 holds 「我帮您登记」). The pattern
is an RE2 alternation of escaped literals and these few fixed pieces, so no phrasing can break it or
slow it down; it must fit `scenario_parse.MAX_REGEX` like any regex.
"""

from __future__ import annotations

from .normalize import normalize

NUMERALS = "0123456789零〇一二两三四五六七八九十百千半几"
NUMBER = "[" + NUMERALS + "]+"  # a number in the reply: one or more of NUMERALS (an RE2 class)
INSERTS = ("来", "先", "再", "马上", "这就", "立刻", "现在")  # may follow 我/我们 (longest first in the pattern)
MAX_PHRASINGS = 20
MAX_PHRASING = 30  # characters of one phrasing
MAX_PATTERN = 300  # = scenario_parse.MAX_REGEX (kept equal by tests/unit/test_keypoints.py)
# Words nearly every reply holds: a phrasing that is only one of them would match almost any reply.
COMMON_WORDS = frozenset({
    "我们", "你们", "您的", "我的", "这个", "那个", "一下", "可以", "是的", "好的", "没有", "什么", "就是",
    "这样", "然后", "因为", "所以", "但是", "不是", "知道", "现在", "已经", "的话", "一个", "这边", "那边",
    "我们的",
})

_INSERT_GROUP = "(?:" + "|".join(sorted(INSERTS, key=len, reverse=True)) + ")?"


def _optional(text: str) -> str:
    """RE2: the text (one character, or a group) may be there or not."""
    return f"{text}?"


def _one_of(chars: str) -> str:
    """RE2: any one of these characters."""
    return f"[{chars}]"


def _escape(ch: str) -> str:
    """One literal character for RE2 (letters and digits as they are, anything else as a code point)."""
    return ch if ch.isalnum() and ch not in "_" else "\\x{%x}" % ord(ch)


def _phrasing_pattern(text: str) -> str:
    """The RE2 source for one normalised phrasing."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in NUMERALS:
            while i < n and text[i] in NUMERALS:
                i += 1
            if i < n and text[i] == "个":
                i += 1
            out.append(NUMBER + _optional("个"))
            continue
        if ch in "之以" and i + 1 < n and text[i + 1] == "内":
            i += 1  # written in the next step, optional
            continue
        if ch == "内":
            out.extend((_optional(_one_of("之以")), "内"))
            i += 1
            continue
        if ch == "请":
            out.extend(("请", _optional("您")))
            i += 2 if text.startswith("您", i + 1) else 1
            continue
        if ch == "我":
            out.extend(("我", _optional("们")))
            i += 2 if text.startswith("们", i + 1) else 1
            if i < n:
                word = next((w for w in sorted(INSERTS, key=len, reverse=True) if text.startswith(w, i)), "")
                if i + len(word) < n:  # an insert written by the trainer becomes optional too
                    i += len(word)
                    out.append(_INSERT_GROUP)
            continue
        out.append(_escape(ch))
        i += 1
    return "".join(out)


def _normalised(phrasings) -> list[str]:
    """The distinct normalised phrasings, in the order written (empty ones left out)."""
    seen: list[str] = []
    for item in phrasings:
        text = normalize(str(item)).text if isinstance(item, (str, int)) and not isinstance(item, bool) else ""
        if text and text not in seen:
            seen.append(text)
    return seen


def _build(phrasings) -> str:
    pieces: list[str] = []
    for text in _normalised(phrasings):
        piece = _phrasing_pattern(text)
        if piece not in pieces:
            pieces.append(piece)
    return "|".join(pieces)


def pattern_from_phrasings(phrasings: list[str]) -> str:
    """Return the RE2 source matching the reply (normalised) when it says any of the phrasings.

    Raises ValueError with the first of `phrasing_problems` when the phrasings cannot be used.
    """
    problems = phrasing_problems(phrasings)
    if problems:
        raise ValueError(problems[0])
    return _build(phrasings)


def phrasing_problems(phrasings) -> list[str]:
    """What is wrong with a key point's phrasings, in Chinese (empty: they can be used)."""
    if not isinstance(phrasings, (list, tuple)):
        return ["「phrasings」应为说法的列表（每种说法一项）"]
    if not phrasings:
        return ["至少写一种说法"]
    problems: list[str] = []
    if len(phrasings) > MAX_PHRASINGS:
        problems.append(f"说法太多（{len(phrasings)}种，最多{MAX_PHRASINGS}种）：只留最有代表性的")
    seen: dict[str, int] = {}
    for index, item in enumerate(phrasings, 1):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            problems.append(f"第{index}种说法应为一段文字")
            continue
        written = str(item).strip()
        if not written:
            problems.append(f"第{index}种说法是空的")
            continue
        if len(written) > MAX_PHRASING:
            problems.append(f"第{index}种说法「{written[:MAX_PHRASING]}……」太长（{len(written)}个字，最多{MAX_PHRASING}个）："
                            "写出关键的几个字即可")
            continue
        text = normalize(written).text
        if not text:
            problems.append(f"第{index}种说法「{written}」只有标点或空格")
        elif all(ch in NUMERALS for ch in text):
            problems.append(f"第{index}种说法「{written}」只是一个数字，任何数字都会命中：连同单位或前后的字一起写，如「3天内」「100元」")
        elif len(text) == 1:
            problems.append(f"第{index}种说法「{written}」只有一个字，几乎任何回复都会命中：至少写两个字")
        elif text in COMMON_WORDS:
            problems.append(f"第{index}种说法「{written}」是几乎每句话都有的词，几乎任何回复都会命中：写得具体些")
        elif text in seen:
            problems.append(f"第{index}种说法「{written}」与第{seen[text]}种相同")
        else:
            seen[text] = index
    if not problems:
        length = len(_build(phrasings))
        if length > MAX_PATTERN:
            problems.append(f"这些说法合起来太长（生成的规则有{length}个字符，最多{MAX_PATTERN}个）：减少几种说法或写短些")
    return problems
