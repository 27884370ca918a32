"""The trainer's home (培训岗工作台): what needs the trainer today, on one page.

Essays waiting for a grade, the new-business notices under way with their completion, the scenarios
and exam items learners fail most, and learners' replies the phrasebook may be missing. Every figure
comes from the query its own page uses (the grading queue, the compliance board, 分析, the item
analysis, the phrasebook suggestions), so the home and those pages always agree. Like lms/home.py it
reads from every area and no area imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from sqlalchemy import select

from .errors import DomainError
from .exams.models import Exam
from .exams.stats import essays_waiting, essays_waiting_count, item_stats
from .extensions import db
from .notices.board import store_summary
from .notices.service import scheduled_notices
from .reports.analytics import scenario_stats
from .roleplay.suggestions import current_book, default_target, suggestion_groups

SHOWN = 5  # rows per section; each section links to its full page
NOTICE_DAYS = 14  # notices issued this many days back are still "under way" on the home
ITEM_WINDOW = 300  # the latest graded attempts per exam that the item figures are read from
ITEM_MIN_ANSWERS = 5  # an item answered fewer times says nothing yet
REPLY_WINDOW = 1000  # the latest typed replies read for phrasebook suggestions


@dataclass(frozen=True)
class HardItem:
    """An exam question learners score low on."""

    exam: Exam
    question_id: int
    name: str
    text: str
    facility: float
    answers: int


def _hard_items() -> list[HardItem]:
    found = []
    for exam in db.session.scalars(select(Exam).where(Exam.active.is_(True)).order_by(Exam.slug)):
        items, _ = item_stats(exam, last=ITEM_WINDOW)
        found += [HardItem(exam, i.key, i.label, i.text, i.facility, i.attempts) for i in items
                  if i.facility is not None and i.facility < 100 and i.attempts >= ITEM_MIN_ANSWERS]
    return sorted(found, key=lambda h: (h.facility, -h.answers))[:SHOWN]


def _suggestions():
    """The most frequent groups of replies the phrasebook found wanting (each with the list a proposal
    would most likely go to), how many groups there are, and the categories' labels."""
    try:
        _, _, book = current_book()
    except DomainError:  # no phrasebook loaded yet
        return [], 0, {}
    groups, _ = suggestion_groups(book, limit=REPLY_WINDOW)
    rows = [(g, default_target(book, g)) for g in groups[:3]]
    return rows, len(groups), book.labels


def _notices():
    """Notices of the last days with their figures: those with people overdue first, then the
    ones still running, then the finished ones."""
    rows = store_summary(None, NOTICE_DAYS)
    return sorted(rows, key=lambda nr: (nr[1].complete, -nr[1].overdue, -nr[0].issued_at.timestamp()))


def trainer_home():
    """Render the trainer's home."""
    waiting, oldest = essays_waiting_count()
    groups, group_count, labels = _suggestions()
    notices = _notices()
    return render_template(
        "home/trainer.html", waiting=waiting, oldest=oldest,
        essays=db.session.scalars(essays_waiting().limit(SHOWN)).all(),
        notices=notices[:SHOWN], notice_count=len(notices), overdue=sum(r.overdue for _, r in notices),
        scheduled=scheduled_notices(), scenarios=[s for s in scenario_stats(worst=3) if s.pass_rate < 100],
        items=_hard_items(),
        groups=groups, group_count=group_count, labels=labels, reply_window=REPLY_WINDOW,
        item_window=ITEM_WINDOW, item_min=ITEM_MIN_ANSWERS, notice_days=NOTICE_DAYS)
