"""Grading of responses (pure): how much of a question's points an answer earns.

A response is what the learner gave, in terms of the question as authored (choice indexes in
the authored order, whatever order they were shown in). Every result is a fraction 0 … 1 of
the question's points; weights of single answers may be negative (a wrong pick in a multiple
choice question costs), but a question never scores below 0. Essays return None: a trainer
grades them. Short answers are compared after the same normalisation as the phrase analyser
(full-/half-width, Traditional/Simplified, case, punctuation and spaces do not matter).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..roleplay.normalize import normalize
from .questions import QuestionSpec

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def full_marks(fraction: float | None) -> bool:
    """Whether a graded fraction is the whole question's points (floats: within rounding)."""
    return fraction is not None and fraction >= 0.999


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one response."""

    fraction: float | None  # None: waits for a trainer
    feedback: tuple[str, ...] = ()

    @property
    def correct(self) -> bool:
        return full_marks(self.fraction)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def answer_key(text: str) -> str:
    """Normalise a short answer for comparison."""
    return normalize(text or "").text


def parse_number(text: Any) -> float | None:
    """Read a number typed by a learner (full-width digits, a comma as decimal point, spaces)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace("，", ".").replace(",", ".")
    return float(cleaned) if _NUMBER.match(cleaned) else None


def grade(spec: QuestionSpec, response: Any) -> Grade:
    """Grade a response; an empty or malformed response earns 0 (essays: None)."""
    kind = spec.qtype
    if kind == "essay":
        return Grade(None)
    if kind == "description":
        return Grade(0.0)
    if kind == "single":
        if isinstance(response, bool) or not isinstance(response, int) or not 0 <= response < len(spec.choices):
            return Grade(0.0)
        choice = spec.choices[response]
        return Grade(_clamp(choice.fraction), (choice.feedback,) if choice.feedback else ())
    if kind == "multiple":
        picked = _indexes(response, len(spec.choices))
        total = sum(spec.choices[i].fraction for i in picked)
        feedback = tuple(spec.choices[i].feedback for i in sorted(picked) if spec.choices[i].feedback)
        return Grade(_clamp(total), feedback)
    if kind == "truefalse":
        if not isinstance(response, bool):
            return Grade(0.0)
        feedback = spec.true_feedback if response else spec.false_feedback
        return Grade(1.0 if response == spec.truth else 0.0, (feedback,) if feedback else ())
    if kind == "short":
        key = answer_key(response) if isinstance(response, str) else ""
        best = max((c for c in spec.choices if key and answer_key(c.text) == key),
                   key=lambda c: c.fraction, default=None)
        if best is None:
            return Grade(0.0)
        return Grade(_clamp(best.fraction), (best.feedback,) if best.feedback else ())
    if kind == "numerical":
        value = parse_number(response)
        if value is None:
            return Grade(0.0)
        best = max((n for n in spec.numeric if n.low - 1e-9 <= value <= n.high + 1e-9),
                   key=lambda n: n.fraction, default=None)
        if best is None:
            return Grade(0.0)
        return Grade(_clamp(best.fraction), (best.feedback,) if best.feedback else ())
    if kind == "matching":
        if not isinstance(response, dict) or not spec.pairs:
            return Grade(0.0)
        right = sum(1 for i, pair in enumerate(spec.pairs) if response.get(str(i)) == pair.right)
        return Grade(right / len(spec.pairs))
    raise ValueError(f"unknown question type {kind}")


def _indexes(response: Any, size: int) -> set[int]:
    if not isinstance(response, (list, tuple, set)):
        return set()
    return {i for i in response if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < size}


def right_answer_text(spec: QuestionSpec) -> str:
    """Describe the right answer for a review page (never sent before submission)."""
    kind = spec.qtype
    if kind == "single":  # the full-marks options; a partly right one is not "the right answer"
        best = max((c.fraction for c in spec.choices), default=0)
        return "；".join(c.text for c in spec.choices if c.fraction == best)
    if kind in ("multiple", "short"):
        return "；".join(c.text for c in spec.choices if c.fraction > 0)
    if kind == "truefalse":
        return "正确" if spec.truth else "错误"
    if kind == "numerical":
        return "；".join(f"{n.value:g} ± {n.tolerance:g}" if n.value is not None else f"{n.low:g}–{n.high:g}"
                        for n in spec.numeric if n.fraction > 0)
    if kind == "matching":
        return "；".join(f"{p.left} → {p.right}" for p in spec.pairs)
    return ""


def answer_text(spec: QuestionSpec, response: Any) -> str:
    """Describe what a learner answered, in the words of the question (「未作答」 when nothing was given)."""
    kind = spec.qtype
    if response is None or response == "" or response == [] or response == {}:
        return "未作答"
    if kind == "single" and isinstance(response, int) and not isinstance(response, bool) \
            and 0 <= response < len(spec.choices):
        return spec.choices[response].text
    if kind == "multiple":
        return "；".join(spec.choices[i].text for i in sorted(_indexes(response, len(spec.choices)))) or "未作答"
    if kind == "truefalse" and isinstance(response, bool):
        return "正确" if response else "错误"
    if kind in ("short", "numerical", "essay") and isinstance(response, str):
        return response
    if kind == "matching" and isinstance(response, dict):
        return "；".join(f"{p.left} → {response[str(i)]}" for i, p in enumerate(spec.pairs) if str(i) in response)
    return "未作答"


MAX_TEXT = 5000  # characters of a typed answer (essays included)


def read_response(spec: QuestionSpec, values: dict[str, list[str]], order: list[int] | None = None) -> Any:
    """Turn submitted form values into a response for the question (None: no answer given).

    Form fields: `answer` ("true"/"false", or text; for choice questions the position of the
    option AS SHOWN, mapped back here through the attempt's `order`, so the page never carries
    the authored order, where right answers tend to come first) and, for matching questions,
    `match-<i>` holding the chosen answer text for prompt i.
    """
    given = [v for v in values.get("answer", []) if v is not None]
    kind = spec.qtype
    shown = order if order else list(range(len(spec.choices)))

    def authored(value: str) -> int | None:
        position = _int(value, len(shown))
        return shown[position] if position is not None else None

    if kind == "single":
        return authored(given[0]) if given else None
    if kind == "multiple":
        picked = sorted({i for i in (authored(v) for v in given) if i is not None})
        return picked or None
    if kind == "truefalse":
        return {"true": True, "false": False}.get(given[0]) if given else None
    if kind in ("short", "numerical", "essay"):
        text = (given[0] if given else "").replace("\x00", "").strip()[:MAX_TEXT]
        return text or None
    if kind == "matching":
        rights = {p.right for p in spec.pairs}
        chosen = {str(i): (values.get(f"match-{i}") or [""])[0] for i in range(len(spec.pairs))}
        chosen = {k: v for k, v in chosen.items() if v in rights}
        return chosen or None
    return None


def _int(text: str, size: int) -> int | None:
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value < size else None
