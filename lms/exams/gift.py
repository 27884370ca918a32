"""Moodle GIFT import and export (pure: no Flask, no database).

GIFT (https://docs.moodle.org/en/GIFT_format) writes one question per paragraph:

    // a comment
    $CATEGORY: etiquette/仪容
    ::title::[markdown]Question text {=right#feedback ~wrong ~%-50%bad ####general feedback}

`parse_gift` turns a file into `QuestionSpec`s and collects one `GiftError` (with its line
number, in Chinese) for every malformed question, which is left out; it never raises. It takes time
linear in the text (every search below stops at the next mark it looks for), and a text longer than
`MAX_CHARS` is refused whole, with one error, before anything is parsed; so is one question longer
than `MAX_QUESTION` (the bank linter compares questions pairwise, in time that grows with the
square of their length).
`to_gift` writes specs back so that `parse_gift(to_gift(qs))` gives the same questions.

Parsing works on the text with every escape (`\\~ \\= \\# \\{ \\} \\: \\\\ \\n`, and `\\->` for a
literal arrow) replaced by a Unicode noncharacter, so that the syntax can be found with plain
string methods; `_text` turns them back into the characters they stand for.
"""

from __future__ import annotations

import html
import math
import re
import sys
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable

from .questions import FORMATS, Choice, Numeric, Pair, QuestionSpec

__all__ = ["GiftError", "GiftResult", "category_path", "parse_gift", "question_to_gift", "to_gift"]


@dataclass(frozen=True)
class GiftError:
    """One malformed question."""

    line: int  # 1-based line where the question starts (or where the problem is)
    message: str
    text: str  # the raw question text (first 200 characters)


@dataclass
class GiftResult:
    questions: list[QuestionSpec] = field(default_factory=list)
    errors: list[GiftError] = field(default_factory=list)


class _Bad(Exception):
    """A malformed question: the message and the position (in the hidden text) of the problem."""

    def __init__(self, message: str, pos: int = 0):
        super().__init__(message)
        self.message, self.pos = message, pos


# --- escapes -------------------------------------------------------------------------------

_SPECIALS = "\\~=#{}:n-"
_HIDE = {c: chr(0xFDD0 + i) for i, c in enumerate(_SPECIALS)}  # noncharacters U+FDD0…
_SHOW = str.maketrans({h: ("\n" if c == "n" else c) for c, h in _HIDE.items()})
_SCRUB = str.maketrans({h: "\ufffd" for h in _HIDE.values()})  # never trust them in input
_ESCAPE_RE = re.compile(r"\\([\\~=#{}:n]|-(?=>))")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FORMAT_RE = re.compile(r"\s*\[([A-Za-z]+)\]")
_CONTEXT_RE = re.compile(r"\$(?:course|module|system|coursecategory)\$/")
_TRUTH = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_TAG_RE = re.compile(r"<[^<>]*>")  # not <[^>]*>: from every "<" that one scans to the end (quadratic)
MAX_CHARS = 500_000  # characters of one GIFT text (file or editor); the largest shipped bank has about 10,000
MAX_QUESTION = 5_000  # characters of one question, answers included; the longest shipped one has about 250
_ANY = sys.float_info.max  # `~#feedback` in a numerical question: any other number (finite: JSON-safe)


def _hide(raw: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _HIDE[m.group(1)], raw.translate(_SCRUB))


def _text(hidden: str) -> str:
    """The real text of a piece of hidden text, without outer whitespace."""
    return hidden.strip().translate(_SHOW)


def _esc(text: str, arrow: bool = False) -> str:
    """Escape text for GIFT; `arrow` also escapes `->` (needed inside answer blocks)."""
    out = text.replace("\\", "\\\\")
    for c in "~=#{}:":
        out = out.replace(c, "\\" + c)
    out = out.replace("\n", "\\n")
    return out.replace("->", "\\->") if arrow else out


# --- parsing -------------------------------------------------------------------------------

def parse_gift(text: str) -> GiftResult:
    """Read a GIFT file; malformed questions become errors and are left out."""
    result, category = GiftResult(), ""
    if len(text) > MAX_CHARS:
        result.errors.append(GiftError(1, f"GIFT内容太长（{len(text)}个字符，最多{MAX_CHARS}个），请分成几个文件导入", ""))
        return result
    for lines in _blocks(text.removeprefix("\ufeff")):
        if lines[0][1].startswith("$CATEGORY:"):
            category = category_path(lines[0][1][len("$CATEGORY:"):])
            lines = lines[1:]
            if not lines:
                continue
        raw = "\n".join(line for _, line in lines)
        if len(raw) > MAX_QUESTION:
            result.errors.append(GiftError(lines[0][0], f"题目太长（{len(raw)}个字符，最多{MAX_QUESTION}个）", raw[:200]))
            continue
        hidden = _hide(raw)
        try:
            result.questions.append(replace(_question(hidden, lines[0][0], category), end_line=lines[-1][0]))
        except _Bad as bad:
            line = lines[hidden.count("\n", 0, bad.pos)][0]
            result.errors.append(GiftError(line, bad.message, raw[:200]))
    return result


def _blocks(text: str):
    """The paragraphs of a file as lists of (line number, stripped line), comments left out."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        line = line.strip()
        if line.startswith("//"):
            continue
        if line:
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def category_path(path: str) -> str:
    """The category a `$CATEGORY:` line names (Moodle's `$course$/top/` prefix taken off)."""
    path = path.strip()
    if m := _CONTEXT_RE.match(path):  # as Moodle exports it: $course$/top/…
        path = path[m.end():]
        if path == "top" or path.startswith("top/"):
            path = path[4:]
    return path


def _question(s: str, line: int, category: str) -> QuestionSpec:
    pos, name = 0, ""
    if s.startswith("::"):
        end = s.find("::", 2)
        if end < 0:
            raise _Bad("题目名称缺少结束的「::」", 0)
        name, pos = _text(s[2:end]), end + 2
    block = _answer_block(s, pos)
    if block is None:
        before, after, body, at = s[pos:], "", None, 0
    else:
        before, after, body, at = s[pos:block[0]], s[block[1] + 1:], s[block[0] + 1:block[1]], block[0] + 1
    fmt, before = _text_format(before, pos)
    text, text_after = _text(before), _text(after)
    if not text and not text_after:
        raise _Bad("题目内容为空", pos)
    spec = QuestionSpec(qtype="description", name=name or _default_name(text, text_after, fmt), text=text,
                        text_format=fmt, category=category, text_after=text_after, line=line)
    return spec if body is None else _with_answers(spec, body, at)


def _answer_block(s: str, pos: int) -> tuple[int, int] | None:
    """Where the answer block is (index of `{`, index of `}`), or None when there is none."""
    opening, closing = s.find("{", pos), s.find("}", pos)
    if opening < 0 and closing < 0:
        return None
    if closing >= 0 and (opening < 0 or closing < opening):
        raise _Bad("多余的右花括号「}」（前面没有「{」；普通文字中请写成「\\}」）", closing)
    if closing < 0 or "{" in s[opening + 1:closing]:
        raise _Bad("缺少右花括号「}」", opening)
    if extra := re.search(r"[{}]", s[closing + 1:]):
        where = closing + 1 + extra.start()
        if extra.group() == "{":
            raise _Bad("一道题只能有一个「{}」答案块", where)
        raise _Bad("多余的右花括号「}」（普通文字中请写成「\\}」）", where)
    return opening, closing


def _text_format(before: str, pos: int) -> tuple[str, str]:
    m = _FORMAT_RE.match(before)
    if not m:
        return "moodle", before
    if m.group(1).lower() not in FORMATS:
        raise _Bad(f"未知的文本格式「[{m.group(1)}]」（可用：{'、'.join(FORMATS)}）", pos + m.start(1))
    return m.group(1).lower(), before[m.end():]


def _default_name(text: str, after: str, fmt: str) -> str:
    """Like Moodle: the start of the plain question text."""
    plain = f"{text} _____ {after}" if after else text
    if fmt != "plain":
        plain = html.unescape(_TAG_RE.sub(" ", plain))
    return " ".join(plain.split())[:40].strip()


def _with_answers(spec: QuestionSpec, body: str, at: int) -> QuestionSpec:
    general = ""
    if (cut := body.rfind("####")) >= 0:
        body, general = body[:cut], _text(body[cut + 4:])
    head = body.strip()
    if not head:
        fields = {"qtype": "essay"}
    elif head.startswith("#"):
        fields = _numerical(body, at)
    elif "~" in head:
        fields = _choice(body, at)
    elif "=" in head and "->" in head:
        fields = _matching(body, at)
    elif head.partition("#")[0].strip().upper() in _TRUTH:
        fields = _truefalse(head)
    else:
        fields = _short(body, at)
    return replace(spec, general_feedback=general, **fields)


def _answers(body: str, at: int, marks: str, lead_ok: bool = False) -> list[tuple[int, str, str]]:
    """Split an answer block before each mark: [(position, mark, text)]."""
    parts = re.split(f"([{marks}])", body)
    lead = parts[0]
    if lead.strip() and not lead_ok:
        raise _Bad(f"每个答案都必须以{'或'.join(f'「{mark}」' for mark in marks)}开头", at + len(lead) - len(lead.lstrip()))
    out = [(at, "", lead)] if lead.strip() else []
    pos = at + len(lead)
    for mark, text in zip(parts[1::2], parts[2::2]):
        out.append((pos, mark, text))
        pos += 1 + len(text)
    return out


def _weight(item: str, pos: int, default: float) -> tuple[float, str]:
    """An answer's `%n%` weight (as a fraction) and the rest of it."""
    item = item.lstrip()
    end = item.find("%", 1) if item.startswith("%") else -1
    if end < 0:
        return default, item
    raw = item[1:end].strip()
    if not _NUMBER_RE.fullmatch(raw):
        raise _Bad(f"权重「%{_text(raw)}%」不是数字", pos)
    if not -100 <= Decimal(raw) <= 100:
        raise _Bad(f"权重「%{raw}%」超出-100～100的范围", pos)
    return float(Decimal(raw).scaleb(-2)), item[end + 1:]  # exact: reads back what _pct wrote


def _required(answer: str, pos: int) -> str:
    if not (text := _text(answer)):
        raise _Bad("答案不能为空", pos)
    return text


def _choice(body: str, at: int) -> dict:
    """A choice question, typed as Moodle types it: one `=` answer (or more) makes it single-answer.

    Moodle's GIFT import reads `=` as 100 % and `~` as 0 % unless a `%n%` weight is given, and makes
    the question single-answer whenever an `=` answer is present, whatever the `~%n%` weights say
    (a learner then ticks one option and earns its weight). Without `=` it is multiple-answer. Text
    after `=` is taken as it stands: Moodle reads no weight there, so `=%50%x` is the option "%50%x".
    """
    choices, has_right = [], False
    for pos, mark, item in _answers(body, at, "=~"):
        has_right = has_right or mark == "="
        # `=` is 100 % and takes no weight: Moodle keeps a "%n%" after it as the start of the option's text
        fraction, rest = (1.0, item.lstrip()) if mark == "=" else _weight(item, pos, 0.0)
        answer, _, feedback = rest.partition("#")
        choices.append(Choice(_required(answer, pos), fraction, _text(feedback)))
    if len(choices) < 2:
        raise _Bad("选择题至少需要两个选项", at)
    if not any(c.fraction > 0 for c in choices):
        raise _Bad("选择题没有正确答案（用「=」标出正确选项，或给出正的「%权重%」）", at)
    return {"qtype": "single" if has_right else "multiple", "choices": tuple(choices)}


def _short(body: str, at: int) -> dict:
    choices = []
    for pos, _, item in _answers(body, at, "="):
        fraction, rest = _weight(item, pos, 1.0)
        answer, _, feedback = rest.partition("#")
        choices.append(Choice(_required(answer, pos), fraction, _text(feedback)))
    if not any(c.fraction > 0 for c in choices):
        raise _Bad("简答题没有得分的答案", at)
    return {"qtype": "short", "choices": tuple(choices)}


def _truefalse(head: str) -> dict:
    # {T#shown to those who answered wrongly#shown to those who answered right}
    answer, _, rest = head.partition("#")
    wrong, _, right = (_text(part) for part in rest.partition("#"))
    truth = _TRUTH[answer.strip().upper()]
    return {"qtype": "truefalse", "truth": truth,
            "true_feedback": right if truth else wrong, "false_feedback": wrong if truth else right}


def _numerical(body: str, at: int) -> dict:
    start = body.index("#") + 1
    main, tilde, wrong = body[start:].partition("~")
    at += start
    numeric = []
    for pos, _, item in _answers(main, at, "=", lead_ok=True):
        fraction, rest = _weight(item, pos, 1.0)
        answer, _, feedback = rest.partition("#")
        numeric.append(_number_answer(answer.strip(), fraction, _text(feedback), pos))
    if not numeric:
        raise _Bad("数值题没有答案", at)
    if not any(n.fraction > 0 for n in numeric):
        raise _Bad("数值题没有得分的答案", at)
    if tilde:  # ~#feedback: any other number
        extra, _, feedback = wrong.partition("#")
        if extra.strip():
            raise _Bad("数值题中「~」后面只能写「#反馈」", at + len(main))
        numeric.append(Numeric(-_ANY, _ANY, 0.0, _text(feedback)))
    return {"qtype": "numerical", "numeric": tuple(numeric)}


def _number_answer(raw: str, fraction: float, feedback: str, pos: int) -> Numeric:
    def number(part: str) -> float:
        part = part.strip()
        if not _NUMBER_RE.fullmatch(part) or not math.isfinite(float(part)):
            raise _Bad(f"数值题的答案「{_text(raw)}」不是数字", pos)
        return float(part)

    if ".." in raw:
        low, high = (number(part) for part in raw.split("..", 1))
        if low > high:
            raise _Bad(f"数值范围「{_text(raw)}」的下限大于上限", pos)
        return Numeric(low, high, fraction, feedback)
    value, colon, tolerance = raw.partition(":")
    value, tolerance = number(value), number(tolerance) if colon else 0.0
    if tolerance < 0:
        raise _Bad(f"数值题的误差「{_text(raw)}」不能为负数", pos)
    return Numeric(value - tolerance, value + tolerance, fraction, feedback, value, tolerance)


def _matching(body: str, at: int) -> dict:
    pairs = []
    for pos, _, item in _answers(body, at, "="):
        left, arrow, right = item.partition("->")
        if not arrow:
            raise _Bad("匹配题的每一项都要写成「=问题 -> 答案」（缺少「->」）", pos)
        pairs.append(Pair(_text(left), _required(right, pos)))
    if sum(1 for p in pairs if p.left) < 2:
        raise _Bad("匹配题至少需要两对「=问题 -> 答案」", at)
    return {"qtype": "matching", "pairs": tuple(pairs)}


# --- export --------------------------------------------------------------------------------

def to_gift(questions: Iterable[QuestionSpec]) -> str:
    """Write questions as GIFT, with a $CATEGORY line wherever the category changes."""
    chunks, category = [], ""
    for q in questions:
        if q.category != category:
            path = f"$course$/top/{q.category}" if _CONTEXT_RE.match(q.category) else q.category
            chunks.append(f"$CATEGORY: {path}")
            category = q.category
        chunks.append(_export(q))
    return "\n\n".join(chunks) + "\n" if chunks else ""


def question_to_gift(q: QuestionSpec) -> str:
    """One question as GIFT, without its $CATEGORY line."""
    return _export(q)


def _export(q: QuestionSpec) -> str:
    head = f"::{_esc(q.name)}::" if q.name else ""
    if q.text_format != "moodle" or q.text.startswith("[") or (not head and q.text.startswith("/")):
        head += f"[{q.text_format}]"
    text, block = head + _esc(q.text), _block(q)
    if block is None:
        return text
    if q.text_after:
        return " ".join(part for part in (text, block, _esc(q.text_after)) if part)
    return text + block


def _pct(fraction: float) -> str:
    """The shortest percentage that reads back as exactly this fraction."""
    return format(Decimal(repr(float(fraction))).scaleb(2).normalize(), "f")


def _num(x: float) -> str:
    out = repr(float(x))
    return out[:-2] if out.endswith(".0") else out


def _feedback(text: str) -> str:
    return f"#{_esc(text, True)}" if text else ""


def _block(q: QuestionSpec) -> str | None:
    general = f"####{_esc(q.general_feedback, True)}" if q.general_feedback else ""
    if q.qtype == "description":
        return None
    if q.qtype == "essay":
        return "{" + general + "}"
    if q.qtype == "truefalse":
        wrong, right = (q.false_feedback, q.true_feedback) if q.truth else (q.true_feedback, q.false_feedback)
        feedback = f"#{_esc(wrong, True)}#{_esc(right, True)}" if right else _feedback(wrong)
        return "{" + ("TRUE" if q.truth else "FALSE") + feedback + general + "}"
    lines = []
    if q.qtype == "single":  # Moodle reads a block with an `=` answer as single-answer, so one must be there
        if not any(c.fraction == 1 for c in q.choices):
            raise ValueError("a single-answer question needs an answer worth 100 %")
        lines = [f"={_esc(c.text, True)}{_feedback(c.feedback)}" if c.fraction == 1
                 else _answer_line("~", c, c.fraction != 0) for c in q.choices]
    elif q.qtype == "multiple":  # and without one as multiple-answer: every answer is `~`, 100 % as ~%100%
        lines = [_answer_line("~", c, c.fraction != 0) for c in q.choices]
    elif q.qtype == "short":
        lines = [_answer_line("=", c, c.fraction != 1) for c in q.choices]
    elif q.qtype == "matching":
        lines = [f"={_esc(p.left, True)} -> {_esc(p.right, True)}" for p in q.pairs]
    elif q.qtype == "numerical":
        for n in q.numeric:
            if n.low <= -_ANY and n.high >= _ANY and n.fraction == 0 and n.value is None:
                lines.append("~" + _feedback(n.feedback))
                continue
            value = (f"{_num(n.value)}:{_num(n.tolerance)}" if n.value is not None and n.tolerance is not None
                     else f"{_num(n.low)}..{_num(n.high)}")
            weight = f"%{_pct(n.fraction)}%" if n.fraction != 1 else ""
            lines.append(f"={weight}{value}{_feedback(n.feedback)}")
        lines.sort(key=lambda line: line.startswith("~"))  # any-other-number feedback comes last
    else:
        raise ValueError(f"unknown question type {q.qtype!r}")
    if general:
        lines.append(general)
    return "{" + ("#" if q.qtype == "numerical" else "") + "".join(f"\n\t{line}" for line in lines) + "\n}"


def _answer_line(mark: str, c: Choice, weight: bool) -> str:
    weight = weight or c.text.startswith("%")  # else the text would read as a weight
    return f"{mark}{f'%{_pct(c.fraction)}%' if weight else ''}{_esc(c.text, True)}{_feedback(c.feedback)}"
