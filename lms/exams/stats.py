"""What trainers read about exams: the essays waiting for their grade and each item's statistics
(facility, discrimination, option counts; the arithmetic is analysis.py). The grading queue, the item
analysis page and the trainer's home all read them here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from .analysis import ItemStats, analyse
from .models import Attempt, Exam, QuestionVersion, Response


def essays_waiting():
    """Select the answers of handed-in attempts still waiting for a trainer's grade, oldest first."""
    return (select(Response).join(Attempt).join(QuestionVersion)
            .where(Attempt.status == "submitted", Response.fraction.is_(None))
            .order_by(Attempt.submitted_at))


def essays_waiting_count() -> tuple[int, datetime | None]:
    """How many answers wait for a grade, and since when the oldest has waited."""
    waiting = essays_waiting().order_by(None).with_only_columns(Response.id, Attempt.submitted_at).subquery()
    count, oldest = db.session.execute(select(func.count(), func.min(waiting.c.submitted_at))).one()
    return count, oldest


def item_stats(exam: Exam, last: int | None = None) -> tuple[list[ItemStats], int]:
    """Per question of the exam's graded attempts (or of its `last` ones): facility, discrimination
    and how often each option was picked, the hardest first; also how many attempts were read."""
    attempts = select(Attempt.id).where(Attempt.exam_id == exam.id, Attempt.status == "submitted",
                                        Attempt.pending == 0)
    if last is not None:
        attempts = attempts.order_by(Attempt.submitted_at.desc()).limit(last)
    responses = db.session.scalars(select(Response).options(selectinload(Response.question_version))
                                   .where(Response.attempt_id.in_(attempts.scalar_subquery()))).all()
    totals: dict[int, float] = {}
    for r in responses:
        totals[r.attempt_id] = totals.get(r.attempt_id, 0.0) + (r.fraction or 0.0)
    rows = [(r.attempt_id, r.question_version.question_id, r.fraction or 0.0, totals[r.attempt_id]) for r in responses]
    stats = analyse(rows)
    items: dict[int, ItemStats] = {}
    for r in responses:
        spec = r.question_version.as_spec
        qid = r.question_version.question_id
        item = items.get(qid)
        if item is None:
            answered, facility, disc = stats[qid]
            item = ItemStats(qid, spec.name, answered, facility, disc, text=spec.text)
            if spec.qtype in ("single", "multiple"):
                item.options = [(c.text, 0, c.fraction > 0) for c in spec.choices]
            elif spec.qtype == "truefalse":
                item.options = [("正确", 0, spec.truth is True), ("错误", 0, spec.truth is False)]
            items[qid] = item
        picked = r.answer if isinstance(r.answer, list) else [r.answer]
        if spec.qtype == "truefalse":
            picked = [0 if r.answer is True else 1] if isinstance(r.answer, bool) else []
        for index in picked:
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(item.options):
                text, count, right = item.options[index]
                item.options[index] = (text, count + 1, right)
    ordered = sorted(items.values(), key=lambda i: (i.facility if i.facility is not None else 101))
    return ordered, len(totals)
