"""The question form (pure): a question as a trainer fills it in, one form per type, and back.

A *draft* is what the form shows: every field as typed (so a refusal loses nothing), answers in
numbered rows (`r0-text`, `r0-weight`, …). `draft_from_spec` fills it from a stored question;
`spec_from_draft` checks it and builds the question, with each problem in Chinese keyed by the
field it concerns. The question a form saves always goes through GIFT, the bank's file format
(`as_gift_spec`): it is written with `gift.question_to_gift` and read back with `gift.parse_gift`, and
what is saved is what was read back, so a question saved from the form exports and re-imports as
itself. Weights are percentages as in GIFT (`%50%`), read exactly as `gift.py` reads them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Mapping

from ..forms import whole_number
from .gift import _ANY, MAX_QUESTION, _num, _pct, parse_gift, question_to_gift, to_gift
from .questions import Choice, Numeric, Pair, QuestionSpec

FORM_TYPES = ("single", "multiple", "truefalse", "short", "numerical", "matching", "essay")
ROW_KEYS = {  # the fields of one answer row, per type
    "single": ("text", "weight", "feedback"),
    "multiple": ("text", "correct", "weight", "feedback"),
    "short": ("text", "weight", "feedback"),
    "numerical": ("value", "tolerance", "low", "high", "weight", "feedback"),
    "matching": ("left", "right"),
}
MIN_ROWS = {"single": 4, "multiple": 4, "short": 3, "numerical": 2, "matching": 4}
SPARE_ROWS = 2  # empty rows offered below the filled ones
MAX_ROWS = 40
FIELDS = ("name", "category", "text", "general_feedback", "text_format", "text_after", "correct", "truth",
          "true_feedback", "false_feedback", "other", "other_feedback")
NAME_LIMIT = 200
CATEGORY_LIMIT = 200
TEXT_LIMIT = 4000  # GIFT takes 5,000 characters a question, answers included
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
WHOLE = "__all__"  # the key of a problem that concerns the whole question


@dataclass
class Draft:
    """The form's fields as typed: `values` by field name, answers in `rows` numbered rows."""

    qtype: str
    values: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def row(self, i: int, key: str) -> str:
        return self.values.get(f"r{i}-{key}", "")

    def row_filled(self, i: int) -> bool:
        return any(self.row(i, key).strip() for key in ROW_KEYS.get(self.qtype, ()) if key != "correct")


def _rows_for(qtype: str, filled: int) -> int:
    return min(MAX_ROWS, max(MIN_ROWS.get(qtype, 0), filled + SPARE_ROWS)) if qtype in ROW_KEYS else 0


def percent(fraction: float) -> str:
    """A fraction as the percentage the form shows (50 for 0.5), exactly as GIFT writes it."""
    return _pct(fraction)


def draft_from_spec(spec: QuestionSpec) -> Draft:
    """Fill the form from a stored question."""
    values = {"name": spec.name, "category": spec.category, "text": spec.text, "text_format": spec.text_format,
              "text_after": spec.text_after, "general_feedback": spec.general_feedback}
    n = 0
    if spec.qtype == "single":
        correct = next((i for i, c in enumerate(spec.choices) if c.fraction == 1), 0)
        values["correct"] = str(correct)
        for n, c in enumerate(spec.choices):
            values.update({f"r{n}-text": c.text, f"r{n}-feedback": c.feedback,
                           f"r{n}-weight": percent(c.fraction) if n != correct and c.fraction != 0 else ""})
        n = len(spec.choices)
    elif spec.qtype == "multiple":
        for n, c in enumerate(spec.choices):
            values.update({f"r{n}-text": c.text, f"r{n}-feedback": c.feedback, f"r{n}-correct": "y" if c.fraction > 0 else "",
                           f"r{n}-weight": percent(c.fraction) if c.fraction != 0 else ""})
        n = len(spec.choices)
    elif spec.qtype == "short":
        for n, c in enumerate(spec.choices):
            values.update({f"r{n}-text": c.text, f"r{n}-feedback": c.feedback,
                           f"r{n}-weight": percent(c.fraction) if c.fraction != 1 else ""})
        n = len(spec.choices)
    elif spec.qtype == "numerical":
        for x in spec.numeric:
            if x.low <= -_ANY and x.high >= _ANY and x.fraction == 0 and x.value is None:
                values.update({"other": "y", "other_feedback": x.feedback})
                continue
            if x.value is not None and x.tolerance is not None:
                values.update({f"r{n}-value": _num(x.value), f"r{n}-tolerance": _num(x.tolerance) if x.tolerance else ""})
            else:
                values.update({f"r{n}-low": _num(x.low), f"r{n}-high": _num(x.high)})
            values.update({f"r{n}-weight": percent(x.fraction) if x.fraction != 1 else "", f"r{n}-feedback": x.feedback})
            n += 1
    elif spec.qtype == "matching":
        for n, p in enumerate(spec.pairs):
            values.update({f"r{n}-left": p.left, f"r{n}-right": p.right})
        n = len(spec.pairs)
    elif spec.qtype == "truefalse":
        values.update({"truth": "true" if spec.truth else "false", "true_feedback": spec.true_feedback,
                       "false_feedback": spec.false_feedback})
    return Draft(spec.qtype, values, _rows_for(spec.qtype, n))


def empty_draft(qtype: str) -> Draft:
    """A new question's form."""
    return Draft(qtype, {"text_format": "moodle"}, _rows_for(qtype, 0))


def draft_from_form(qtype: str, form: Mapping[str, str]) -> Draft:
    """The form as posted (every field kept as typed, rows as many as were sent, up to MAX_ROWS)."""
    values = {key: str(form.get(key, "")) for key in FIELDS if form.get(key) is not None}
    last = -1
    for key in form:
        if m := re.fullmatch(r"r(\d{1,3})-([a-z]+)", key):
            i = int(m.group(1))
            if i < MAX_ROWS and m.group(2) in ROW_KEYS.get(qtype, ()):
                values[key] = str(form.get(key, ""))
                last = max(last, i)
    draft = Draft(qtype, values, 0)
    filled = max((i + 1 for i in range(last + 1) if draft.row_filled(i)), default=0)
    draft.rows = max(_rows_for(qtype, filled), last + 1)
    return draft


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _same(text: str) -> str:
    """Two answers that read the same are duplicates: NFKC, case and spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _weight(raw: str, default: float) -> float:
    """A percentage as GIFT reads `%raw%` (exactly), or `default` when blank; ValueError in Chinese."""
    raw = raw.strip().removesuffix("%").strip()
    if not raw:
        return default
    if not NUMBER_RE.fullmatch(raw):
        raise ValueError("得分比例应为数字（如50表示50%）")
    if not -100 <= Decimal(raw) <= 100:
        raise ValueError("得分比例应在-100～100之间")
    return float(Decimal(raw).scaleb(-2))


def _number(raw: str, what: str) -> float:
    raw = raw.strip()
    try:
        value = float(Decimal(raw)) if NUMBER_RE.fullmatch(raw) else None
    except InvalidOperation:
        value = None
    if value is None or not math.isfinite(value) or abs(value) >= _ANY:
        raise ValueError(f"{what}应为数字")
    return value


def spec_from_draft(draft: Draft, name: str) -> tuple[QuestionSpec | None, dict[str, str]]:
    """Check the form and build the question; return (question, {}) or (None, problems by field)."""
    errors: dict[str, str] = {}
    qtype = draft.qtype
    if qtype not in FORM_TYPES and qtype != "description":
        return None, {WHOLE: "未知的题型"}
    text, category = _clean(draft.get("text")), draft.get("category").strip()
    if not text:
        errors["text"] = "请填写题干"
    elif len(text) > TEXT_LIMIT:
        errors["text"] = f"题干太长（{len(text)}个字，最多{TEXT_LIMIT}个）"
    if problem := category_problem(category):
        errors["category"] = problem
    fields: dict = {}
    rows = [i for i in range(draft.rows) if draft.row_filled(i)]
    builder = _BUILDERS.get(qtype)
    if builder is not None:
        fields = builder(draft, rows, errors)
    if errors:
        return None, errors
    spec = QuestionSpec(qtype=qtype, name=name, text=text, text_format=draft.get("text_format") or "moodle",
                        category=category, text_after=_clean(draft.get("text_after")),
                        general_feedback=_clean(draft.get("general_feedback")) if qtype != "description" else "",
                        **fields)
    if (size := len(question_to_gift(spec))) > MAX_QUESTION:
        return None, {WHOLE: f"题目连同答案太长（{size}个字符，最多{MAX_QUESTION}个），请精简"}
    saved = as_gift_spec(spec)
    if saved is None:
        return None, {WHOLE: "这道题无法写成GIFT格式保存，请检查题干和答案中的特殊符号"}
    return saved, {}


def category_problem(category: str) -> str:
    """What is wrong with a category path as a trainer typed it ("" when nothing)."""
    if not category:
        return "请填写类别（如「etiquette/仪容/练习」）"
    if len(category) > CATEGORY_LIMIT:
        return f"类别太长（最多{CATEGORY_LIMIT}个字符）"
    if any(c in category for c in "*?[]\n{}$"):
        return "类别中不能有「*」「?」「[]」「{}」「$」（这些是抽题规则的通配符）"
    if category.startswith("/") or category.endswith("/") or "//" in category or any(
            part != part.strip() for part in category.split("/")):
        return "类别的每一级之间用一个「/」隔开，开头和结尾不要「/」，也不要空格"
    return ""


def as_gift_spec(spec: QuestionSpec) -> QuestionSpec | None:
    """The question as GIFT gives it back (write, then read): what is stored; None if it does not survive."""
    try:
        result = parse_gift(to_gift([spec]))
    except ValueError:
        return None
    if result.errors or len(result.questions) != 1 or not result.questions[0].same_as(spec):
        return None
    back = result.questions[0]
    return QuestionSpec(**{**back.__dict__, "line": 0, "end_line": 0})


def _row_error(errors: dict[str, str], i: int, key: str, message: str) -> None:
    errors.setdefault(f"r{i}-{key}", message)


def _texts(draft: Draft, rows: list[int], key: str, errors: dict[str, str], what: str) -> dict[int, str]:
    """Each filled row's text for `key`, with empty ones and duplicates reported on the row."""
    seen: dict[str, int] = {}
    out = {}
    for n, i in enumerate(rows):
        text = _clean(draft.row(i, key))
        if not text:
            _row_error(errors, i, key, f"请填写{what}，或清空这一行")
            continue
        if (same := _same(text)) in seen:
            _row_error(errors, i, key, f"与第{seen[same] + 1}个{what}重复")
            continue
        seen[same] = n
        out[i] = text
    return out


def _single(draft: Draft, rows: list[int], errors: dict[str, str]) -> dict:
    texts = _texts(draft, rows, "text", errors, "选项")
    if len(rows) < 2:
        errors.setdefault("choices", "单选题至少需要两个选项")
    correct = draft.get("correct")
    right = whole_number(correct)
    if right is None or right not in rows:
        errors.setdefault("correct", "请选出正确答案（在正确的选项前点选）")
    choices = []
    for i in rows:
        try:
            fraction = 1.0 if i == right else _weight(draft.row(i, "weight"), 0.0)
        except ValueError as exc:
            _row_error(errors, i, "weight", str(exc))
            continue
        choices.append(Choice(texts.get(i, ""), fraction, _clean(draft.row(i, "feedback"))))
    return {"choices": tuple(choices)}


def _multiple(draft: Draft, rows: list[int], errors: dict[str, str]) -> dict:
    texts = _texts(draft, rows, "text", errors, "选项")
    if len(rows) < 2:
        errors.setdefault("choices", "多选题至少需要两个选项")
    right = [i for i in rows if draft.row(i, "correct")]
    if not right:
        errors.setdefault("correct", "请至少勾选一个正确选项")
    blank_right = [i for i in right if not draft.row(i, "weight").strip()]
    weights: dict[int, float] = {}
    for i in rows:
        try:
            weights[i] = _weight(draft.row(i, "weight"), 0.0)
        except ValueError as exc:
            _row_error(errors, i, "weight", str(exc))
            continue
        if i in right and draft.row(i, "weight").strip() and weights[i] <= 0:
            _row_error(errors, i, "weight", "正确选项的得分比例应大于0")
        if i not in right and weights[i] > 0:
            _row_error(errors, i, "weight", "没有勾选为正确的选项不能得正分（勾选它，或填0或负数）")
    if right and len(blank_right) == len(right):  # no weights given: the right options share the points
        for i in right:
            weights[i] = 1 / len(right)
    elif blank_right:
        for i in blank_right:
            _row_error(errors, i, "weight", "请填写得分比例（或把所有正确选项的比例都留空，平分100%）")
    total = sum(w for w in weights.values() if w > 0)
    if right and not blank_right and abs(total - 1) > 0.001 and not any(k.startswith("r") for k in errors):
        errors.setdefault("correct", f"正确选项的得分比例合计应为100%（现为{percent(round(total, 6))}%）")
    return {"choices": tuple(Choice(texts.get(i, ""), weights.get(i, 0.0), _clean(draft.row(i, "feedback")))
                             for i in rows)}


def _truefalse(draft: Draft, rows: list[int], errors: dict[str, str]) -> dict:
    truth = draft.get("truth")
    if truth not in ("true", "false"):
        errors["truth"] = "请选择这句话是「正确」还是「错误」"
    return {"truth": truth == "true", "true_feedback": _clean(draft.get("true_feedback")),
            "false_feedback": _clean(draft.get("false_feedback"))}


def _short(draft: Draft, rows: list[int], errors: dict[str, str]) -> dict:
    texts = _texts(draft, rows, "text", errors, "答案")
    choices = []
    for i in rows:
        try:
            fraction = _weight(draft.row(i, "weight"), 1.0)
        except ValueError as exc:
            _row_error(errors, i, "weight", str(exc))
            continue
        choices.append(Choice(texts.get(i, ""), fraction, _clean(draft.row(i, "feedback"))))
    if not any(c.fraction > 0 for c in choices):
        errors.setdefault("choices", "请至少填写一个得分的答案")
    return {"choices": tuple(choices)}


def _numerical(draft: Draft, rows: list[int], errors: dict[str, str]) -> dict:
    numeric = []
    for i in rows:
        value, tolerance, low, high = (draft.row(i, k).strip() for k in ("value", "tolerance", "low", "high"))
        try:
            fraction = _weight(draft.row(i, "weight"), 1.0)
        except ValueError as exc:
            _row_error(errors, i, "weight", str(exc))
            continue
        feedback = _clean(draft.row(i, "feedback"))
        try:
            if value:
                x, tol = _number(value, "答案"), _number(tolerance, "误差") if tolerance else 0.0
                if tol < 0:
                    _row_error(errors, i, "tolerance", "误差不能为负数")
                    continue
                numeric.append(Numeric(x - tol, x + tol, fraction, feedback, x, tol))
            elif low or high:
                lo, hi = _number(low, "最小值"), _number(high, "最大值")
                if lo > hi:
                    _row_error(errors, i, "high", "最大值不能小于最小值")
                    continue
                numeric.append(Numeric(lo, hi, fraction, feedback))
            else:
                _row_error(errors, i, "value", "请填写答案（或最小值和最大值），或清空这一行")
        except ValueError as exc:
            key = "value" if value else "low"
            if "误差" in str(exc):
                key = "tolerance"
            elif "最大值" in str(exc):
                key = "high"
            _row_error(errors, i, key, str(exc))
    if not any(x.fraction > 0 for x in numeric) and not any(k.startswith("r") for k in errors):
        errors.setdefault("choices", "请至少填写一个得分的答案")
    if draft.get("other"):
        numeric.append(Numeric(-_ANY, _ANY, 0.0, _clean(draft.get("other_feedback"))))
    return {"numeric": tuple(numeric)}


def _matching(draft: Draft, rows: list[int], errors: dict[str, str]) -> dict:
    pairs, seen = [], {}
    for i in rows:
        left, right = _clean(draft.row(i, "left")), _clean(draft.row(i, "right"))
        if not left:  # a GIFT pair without a prompt (a distractor) is not graded as Moodle grades it: not offered
            _row_error(errors, i, "left", "请填写左边的问题")
            continue
        if not right:
            _row_error(errors, i, "right", "请填写与之匹配的答案")
            continue
        if (same := _same(left)) in seen:
            _row_error(errors, i, "left", f"与第{seen[same]}对的问题重复")
            continue
        seen[same] = len(pairs) + 1
        pairs.append(Pair(left, right))
    if sum(1 for p in pairs if p.left) < 2:
        errors.setdefault("choices", "匹配题至少需要两对「问题—答案」")
    return {"pairs": tuple(pairs)}


_BUILDERS = {"single": _single, "multiple": _multiple, "truefalse": _truefalse, "short": _short,
             "numerical": _numerical, "matching": _matching}


def name_problem(name: str) -> str:
    """What is wrong with a new question's name, its fixed identity in the course ("" when nothing)."""
    if not name:
        return "请填写题目名称（本课程内唯一，保存后不能修改）"
    if len(name) > NAME_LIMIT:
        return f"题目名称太长（最多{NAME_LIMIT}个字）"
    if "\n" in name or "\r" in name:
        return "题目名称只能写一行"
    return ""
