"""Question specs (pure): what a question is, independent of storage and of GIFT.

Types (DESIGN.md §4.3): single and multiple choice (with weights), true/false, short answer,
numerical (tolerance or range), matching, essay (trainer-graded) and description (text only,
not graded). A `fraction` is the share of the question's points an answer earns, from -1 to 1
(GIFT writes it as a percentage: `~%-50%wrong`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

QTYPES = ("single", "multiple", "truefalse", "short", "numerical", "matching", "essay", "description")
QTYPE_LABELS = {
    "single": "单选题", "multiple": "多选题", "truefalse": "判断题", "short": "简答题（填空）",
    "numerical": "数值题", "matching": "匹配题", "essay": "论述题（人工评分）", "description": "说明（不计分）",
}
FORMATS = ("moodle", "markdown", "html", "plain")


@dataclass(frozen=True)
class Choice:
    """An answer of a choice or short-answer question."""

    text: str
    fraction: float  # -1 … 1
    feedback: str = ""


@dataclass(frozen=True)
class Numeric:
    """An accepted numerical answer: value ± tolerance, or the range [low, high]."""

    low: float
    high: float
    fraction: float = 1.0
    feedback: str = ""
    value: float | None = None  # set when written as value:tolerance (kept for export)
    tolerance: float | None = None


@dataclass(frozen=True)
class Pair:
    """A matching pair: a prompt and its answer."""

    left: str
    right: str


@dataclass(frozen=True)
class QuestionSpec:
    """One question as authored (GIFT or the trainer's editor)."""

    qtype: str
    name: str
    text: str  # the question text; for a missing-word question the part before the blank
    text_format: str = "moodle"
    category: str = ""  # the $CATEGORY path, e.g. "etiquette/仪容"
    choices: tuple[Choice, ...] = ()  # single, multiple, short
    truth: bool | None = None  # truefalse
    true_feedback: str = ""  # truefalse: feedback when the learner answers true
    false_feedback: str = ""  # truefalse: feedback when the learner answers false
    numeric: tuple[Numeric, ...] = ()
    pairs: tuple[Pair, ...] = ()
    general_feedback: str = ""
    text_after: str = ""  # missing-word questions: the text after the blank
    line: int = 0  # where it starts in its source file (not part of the question's identity)
    end_line: int = 0  # its last line in the source file (not part of its identity either)

    @property
    def missing_word(self) -> bool:
        return bool(self.text_after)

    @property
    def graded(self) -> bool:
        return self.qtype != "description"

    def same_as(self, other: "QuestionSpec") -> bool:
        """Compare two specs ignoring where they were read from."""
        return self.identity() == other.identity()

    def identity(self) -> tuple:
        """Everything that makes the question what it is (not its line number)."""
        return (self.qtype, self.name, self.text, self.text_format, self.category, self.choices, self.truth,
                self.true_feedback, self.false_feedback, self.numeric, self.pairs, self.general_feedback,
                self.text_after)


def to_dict(spec: QuestionSpec) -> dict:
    """Turn a spec into JSON-ready data (for storage)."""
    return {
        "qtype": spec.qtype, "name": spec.name, "text": spec.text, "text_format": spec.text_format,
        "category": spec.category, "truth": spec.truth, "true_feedback": spec.true_feedback,
        "false_feedback": spec.false_feedback, "general_feedback": spec.general_feedback,
        "text_after": spec.text_after,
        "choices": [[c.text, c.fraction, c.feedback] for c in spec.choices],
        "numeric": [[n.low, n.high, n.fraction, n.feedback, n.value, n.tolerance] for n in spec.numeric],
        "pairs": [[p.left, p.right] for p in spec.pairs],
    }


def from_dict(data: dict) -> QuestionSpec:
    """Rebuild a spec from stored data."""
    return QuestionSpec(
        qtype=data["qtype"], name=data["name"], text=data["text"], text_format=data.get("text_format", "moodle"),
        category=data.get("category", ""), truth=data.get("truth"), true_feedback=data.get("true_feedback", ""),
        false_feedback=data.get("false_feedback", ""), general_feedback=data.get("general_feedback", ""),
        text_after=data.get("text_after", ""),
        choices=tuple(Choice(t, float(f), fb) for t, f, fb in data.get("choices", [])),
        numeric=tuple(Numeric(float(lo), float(hi), float(f), fb, v, tol) for lo, hi, f, fb, v, tol in data.get("numeric", [])),
        pairs=tuple(Pair(left, right) for left, right in data.get("pairs", [])),
    )


SEARCH_LIMIT = 20_000  # characters kept of a question's search text (one question has at most 5,000)


def normalise_search(text: str) -> str:
    """Text as the bank's search compares it: NFKC (全角 ＡＢ１ → AB1), case folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def search_text(spec: QuestionSpec) -> str:
    """What the bank's search looks in: the name, category, question text and every answer and pair."""
    parts = [spec.name, spec.category, spec.text, spec.text_after]
    parts += [c.text for c in spec.choices]
    parts += [f"{p.left} {p.right}" for p in spec.pairs]
    parts += [format(n.value, "g") for n in spec.numeric if n.value is not None]
    return normalise_search(" ".join(p for p in parts if p))[:SEARCH_LIMIT]
