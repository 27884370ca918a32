"""Item analysis of an exam (pure): how hard each question was and how well it separated learners.

Facility index: the mean score on the question (0–100 %). Discrimination index: the correlation
between the score on the question and the score on the rest of the attempt (Moodle's
"discrimination index"), from -100 to 100 %; below ~30 % the question tells good and weak
learners apart poorly. Option counts: how often each choice was picked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean, pstdev


@dataclass
class ItemStats:
    key: int  # question id
    label: str
    attempts: int = 0
    facility: float | None = None
    discrimination: float | None = None
    options: list[tuple[str, int, bool]] = field(default_factory=list)  # (text, times picked, right)
    text: str = ""  # the question's text


def discrimination(item_scores: list[float], rest_scores: list[float]) -> float | None:
    """Pearson correlation of item and rest-of-test scores, as a percentage (None if undefined)."""
    if len(item_scores) < 2:
        return None
    sx, sy = pstdev(item_scores), pstdev(rest_scores)
    if sx == 0 or sy == 0:
        return None
    mx, my = mean(item_scores), mean(rest_scores)
    cov = sum((x - mx) * (y - my) for x, y in zip(item_scores, rest_scores)) / len(item_scores)
    return round(100 * cov / (sx * sy), 1)


def analyse(rows: list[tuple[int, int, float, float]]) -> dict[int, tuple[int, float, float | None]]:
    """rows: (attempt id, question id, item fraction, attempt total in points). Return per question
    (attempts, facility %, discrimination %)."""
    by_question: dict[int, list[tuple[float, float]]] = {}
    for _attempt, question, fraction, total in rows:
        by_question.setdefault(question, []).append((fraction, total - fraction))
    result = {}
    for question, pairs in by_question.items():
        items = [p[0] for p in pairs]
        rest = [p[1] for p in pairs]
        result[question] = (len(items), round(100 * mean(items), 1), discrimination(items, rest))
    return result
