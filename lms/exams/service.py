"""Exam and knowledge-check use cases: sync banks and exams, start, save, submit, grade."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from sqlalchemy import func, select

from .. import audit, events
from ..catalog import ItemInfo, catalog, contribute, version_cached
from ..clock import now
from ..courses.models import Course, Module
from ..courses.service import complete_module
from ..accounts.models import User
from ..errors import DomainError
from ..extensions import db
from ..locks import lock_row
from ..yamlx import load
from .definitions import (DrawRule, ExamSpec, check_pool, draw_questions, is_certification_category,
                          parse_exam, practice_overlaps)
from .grading import answer_text, full_marks, grade, right_answer_text
from .models import Attempt, Exam, Question, Response
from .questions import QuestionSpec

CHECK_QUESTIONS = 3  # questions in a module's knowledge check
CHECK_PASS_MARK = 60  # percent
CHECK_EXCLUDED = ("description", "essay")  # what a knowledge check never draws (not graded, or graded by hand)




@lru_cache(maxsize=64)
def _exam_spec(exam_id: int, version: int, slug: str, text: str) -> ExamSpec:
    return parse_exam(load(text), slug)


def exam_spec(exam: Exam) -> ExamSpec:
    """Return the parsed definition of an exam (cached per version)."""
    return _exam_spec(exam.id, exam.version, exam.slug, exam.yaml_text)


def _pool(types_excluded: tuple[str, ...], course_id: int | None = None, categories: list[str] | None = None):
    stmt = select(Question.id, Question.category).where(Question.active.is_(True),
                                                        Question.qtype.not_in(types_excluded))
    if course_id is not None:
        stmt = stmt.where(Question.course_id == course_id)
    if categories:
        stmt = stmt.where(Question.category.in_(categories))
    return [(qid, cat) for qid, cat in db.session.execute(stmt.order_by(Question.id))]


def _order_for(spec: QuestionSpec, rng: random.Random) -> list[int]:
    if spec.qtype in ("single", "multiple"):
        order = list(range(len(spec.choices)))
    elif spec.qtype == "matching":
        order = list(range(len(spec.pairs)))
    else:
        return []
    rng.shuffle(order)
    return order


def create_attempt(user_id: int, kind: str, question_ids: list[int], rng: random.Random, **fields) -> Attempt:
    """Open an attempt over these questions (their current versions), with the choices shuffled by rng."""
    attempt = Attempt(user_id=user_id, kind=kind, status="open", started_at=now(), **fields)
    db.session.add(attempt)
    questions = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(question_ids)))}
    for position, qid in enumerate(question_ids, start=1):
        version = questions[qid].current
        attempt.responses.append(Response(position=position, question_version=version,
                                          order=_order_for(version.as_spec, rng)))
    db.session.flush()
    return attempt


def exam_status(user_id: int, exam: Exam) -> tuple[Attempt | None, str | None]:
    """Return the learner's open attempt (if any) and why a new one cannot start (if so)."""
    spec = exam_spec(exam)
    attempts = db.session.scalars(select(Attempt).where(Attempt.user_id == user_id, Attempt.exam_id == exam.id)
                                  .order_by(Attempt.started_at)).all()
    open_attempt = next((a for a in attempts if a.open), None)
    if open_attempt is not None:
        return open_attempt, None
    reset = events.latest(events.ask(events.attempts_counted_from, user_id=user_id, exam_slug=exam.slug))
    counted = [a for a in attempts if reset is None or a.started_at > reset]
    if spec.max_attempts and len(counted) >= spec.max_attempts:
        return None, f"已用完全部{spec.max_attempts}次考试机会。"
    if attempts and spec.cooldown_minutes:
        ready = attempts[-1].submitted_at + timedelta(minutes=spec.cooldown_minutes)
        if ready > now():
            minutes = int((ready - now()).total_seconds() // 60) + 1
            return None, f"两次考试之间需间隔{spec.cooldown_minutes}分钟，请{minutes}分钟后再考。"
    return None, None


def start_exam(user_id: int, exam: Exam) -> Attempt:
    """Start (or resume) a sitting: draw the questions, shuffle them, set the server deadline."""
    events.ensure_may_start(user_id)
    lock_row(User, user_id)  # two starts at once: the second waits and counts the first
    open_attempt, refusal = exam_status(user_id, exam)
    if open_attempt is not None:
        return open_attempt
    if refusal:
        raise DomainError(refusal)
    spec = exam_spec(exam)
    rng = random.Random(secrets.randbits(64))
    pool = _pool(("description",) if spec.essays else ("description", "essay"))
    if not spec.certification:  # validated at sync; this holds after browser edits of categories too
        draws = certification_draws()
        pool = [(qid, cat) for qid, cat in pool if not is_certification_category(cat, draws)]
    chosen = draw_questions(spec, pool, rng)
    if len(chosen) < spec.question_count:
        raise DomainError("题库中的题目不足，暂时无法开考，请联系培训岗。")
    at = now()
    attempt = create_attempt(user_id, "exam", chosen, rng, exam_id=exam.id, exam_version=exam.version,
                              deadline_at=at + timedelta(minutes=spec.time_limit_minutes), pass_mark=spec.pass_mark)
    audit.record("exam.attempted", actor_id=user_id, object_type="exam", object_id=exam.slug, attempt=attempt.id)
    return attempt


def start_check(user_id: int, module: Module) -> Attempt | None:
    """Start (or resume) a module's knowledge check; None when the course has no questions."""
    events.ensure_may_start(user_id, module.id)
    lock_row(User, user_id)
    existing = db.session.scalar(select(Attempt).where(Attempt.user_id == user_id, Attempt.module_id == module.id,
                                                       Attempt.status == "open"))
    if existing is not None:
        return existing
    pool = check_pool(_pool(CHECK_EXCLUDED, module.course_id), module.check_categories, certification_draws())
    if not pool:
        return None
    rng = random.Random(secrets.randbits(64))
    chosen = [qid for qid, _ in rng.sample(pool, min(CHECK_QUESTIONS, len(pool)))]
    return create_attempt(user_id, "check", chosen, rng, module_id=module.id, pass_mark=CHECK_PASS_MARK)


def certification_draws() -> list[DrawRule]:
    """The draw rules of every active certification exam."""
    rules = []
    for exam in db.session.scalars(select(Exam).where(Exam.active.is_(True), Exam.certification.is_(True))):
        rules.extend(exam_spec(exam).draw)
    return rules


def pool_problems(spec: ExamSpec) -> list[tuple[int | None, str]]:
    """What saving this exam definition would break: practice and certification pools must stay apart."""
    categories = set(db.session.scalars(select(Question.category).distinct().where(Question.active.is_(True))))
    others = [e for e in db.session.scalars(select(Exam).where(Exam.active.is_(True), Exam.slug != spec.id))]
    if not spec.certification:
        return [(rule.line, f"练习考试的抽题规则「{rule.category}」会抽到上岗认证考试的题目（{'、'.join(bad[:3])}），"
                            "练习交卷后会公布答案") for rule, bad in practice_overlaps(
            spec, categories, [r for e in others if e.certification for r in exam_spec(e).draw])]
    return [(None, f"上岗认证考试会抽到练习考试「{e.title}」的题目（{'、'.join(bad[:3])}），练习会公布这些题的答案")
            for e in others if not e.certification
            for _, bad in practice_overlaps(exam_spec(e), categories, spec.draw)[:1]]


@dataclass(frozen=True)
class ReviewItem:
    """One item of a handed-in attempt as the learner may see it afterwards."""

    response: Response
    spec: QuestionSpec
    right_answer: str  # "" when it stays secret
    marked: bool  # whether the page may say 正确 / 错误 for this item
    own_answer: str = ""  # what the learner answered, in words
    feedback: tuple[str, ...] = ()  # the feedback of the answer given, then the question's general feedback

    @property
    def mark(self) -> tuple[str, str]:
        """The item's mark as the page shows it: (words, badge level)."""
        fraction = self.response.fraction
        if fraction is None:
            return "待评分", "warn"
        if full_marks(fraction):
            return "正确", "ok"
        if fraction > 0:
            return f"部分正确{round(fraction * 100)}%", "warn"
        return "错误", "bad"


def answer_review(attempt: Attempt) -> list[ReviewItem] | None:
    """What a handed-in attempt may show item by item (None: nothing, as for a certification exam).

    The one rule of who sees right answers: a certification exam shows only per-category scores; a
    practice exam or a check shows each item's right answer, the learner's own answer and the
    feedback. Their pools hold no item a certification exam can draw (validated at sync, filtered at
    the draw); should one be there all the same (an attempt from before the pools were separated), it
    keeps its answer and its mark secret, or practice would hand out the key.
    """
    if attempt.open or (attempt.exam is not None and attempt.exam.certification):
        return None
    draws = certification_draws()
    items = []
    for response in attempt.responses:
        spec = spec_of(response)
        if is_certification_category(spec.category, draws):
            items.append(ReviewItem(response, spec, "", False))
            continue
        graded = grade(spec, response.answer)
        general = (spec.general_feedback,) if spec.general_feedback else ()
        items.append(ReviewItem(response, spec, right_answer_text(spec), True, answer_text(spec, response.answer),
                                graded.feedback + general))
    return items


def bank_findings() -> list:
    """The bank linter's findings over the active questions, exams and module checks (lint.py)."""
    from .lint import Item, lint, pools

    rows = db.session.execute(select(Question, Course.slug).join(Course, Question.course_id == Course.id)
                              .where(Question.active.is_(True)).order_by(Question.id)).all()
    items = [Item(slug, question.current.as_spec, id=question.id) for question, slug in rows]
    exams = [exam_spec(e) for e in db.session.scalars(select(Exam).where(Exam.active.is_(True)).order_by(Exam.slug))]
    checks = [(slug, module.title, module.check_categories) for module, slug in db.session.execute(
        select(Module, Course.slug).join(Course, Module.course_id == Course.id).where(Module.active.is_(True)))]
    return lint(items, pools(items, exams, checks, certification_draws()))


def category_title(category: str) -> str:
    """A category as a learner reads it: 「服务礼仪 · 仪容 · 练习」 for `etiquette/仪容/练习`."""
    head, _, rest = category.partition("/")
    course = catalog().course_by_slug.get(head)
    parts = ([course.title] if course else [head]) + [p for p in rest.split("/") if p]
    return " · ".join(parts)


def expire_if_due(attempt: Attempt) -> bool:
    """Submit an attempt whose deadline has passed, with what was saved; tell whether it did."""
    if attempt.time_up:
        submit(attempt, auto=True)
        return True
    return False


def spec_of(response: Response) -> QuestionSpec:
    """The question a response answers, by version id (kept per process: versions never change)."""
    return version_cached("lms_question_specs", response.question_version_id,
                          lambda: response.question_version.as_spec, maxsize=4096)


def own_response(user_id: int, attempt_id: int, position: int) -> Response | None:
    """A person's response at `position` of their attempt (None: not theirs, or no such question),
    read without locking the attempt: a save reads what it answers first, then locks the attempt
    for the write alone (save_answer)."""
    return db.session.scalar(select(Response).join(Attempt, Attempt.id == Response.attempt_id).where(
        Response.attempt_id == attempt_id, Response.position == position, Attempt.user_id == user_id))


def save_answer(attempt: Attempt, response: Response, answer) -> Response:
    """Save one answer (a response of the attempt) as it is given; refused once the attempt is
    closed or its time is up."""
    attempt = lock_row(Attempt, attempt.id)  # never store an answer into a graded attempt
    if expire_if_due(attempt):
        raise DomainError("考试时间已到，答卷已按已保存的答案自动提交。")
    if not attempt.open:
        raise DomainError("答卷已提交，不能再修改。")
    if response.attempt_id != attempt.id:
        raise DomainError("没有这道题。")
    response.answer, response.saved_at = answer, now()
    db.session.flush()
    return response


def submit(attempt: Attempt, auto: bool = False) -> Attempt:
    """Grade and close an attempt; a second submission changes nothing."""
    locked = lock_row(Attempt, attempt.id)  # a second hand-in waits here, then sees it submitted
    if locked is None or locked.status != "open":
        return attempt
    attempt.status, attempt.submitted_at, attempt.auto_submitted = "submitted", now(), auto
    if auto and attempt.deadline_at is not None:
        attempt.submitted_at = min(attempt.submitted_at, attempt.deadline_at)
    for response in attempt.responses:
        response.fraction = grade(spec_of(response), response.answer).fraction
    _score(attempt)
    audit.record("exam.submitted" if attempt.kind == "exam" else "check.submitted", actor_id=attempt.user_id,
                 object_type=attempt.kind, object_id=attempt.exam.slug if attempt.exam else attempt.module_id,
                 attempt=attempt.id, auto=auto, score=attempt.score, passed=attempt.passed)
    db.session.flush()
    _apply_pass(attempt)
    return attempt


def _apply_pass(attempt: Attempt) -> None:
    """A passed check completes its module; a passed exam may complete a certification."""
    if not attempt.passed:
        return
    if attempt.kind == "check":
        complete_module(attempt.user_id, db.session.get(Module, attempt.module_id))
    events.attempt_passed.send(None, attempt=attempt)


def _score(attempt: Attempt) -> None:
    """Work out the score, pass and the per-category result from the graded responses."""
    per: dict[str, list[float]] = {}
    pending = 0
    for response in attempt.responses:
        category = response.question_version.spec.get("category", "")
        got = per.setdefault(category, [0.0, 0.0])
        got[1] += 1
        if response.fraction is None:
            pending += 1
        else:
            got[0] += response.fraction
    total = sum(v[1] for v in per.values())
    attempt.pending = pending
    attempt.result = {cat: {"score": round(100 * v[0] / v[1], 1), "questions": int(v[1])} for cat, v in per.items()}
    if pending:
        attempt.score, attempt.passed = None, None
        return
    attempt.score = round(100 * sum(v[0] for v in per.values()) / total, 1) if total else 0.0
    attempt.passed = attempt.score >= attempt.pass_mark


def grade_essay(response: Response, fraction: float, comment: str, grader_id: int) -> Attempt:
    """Record a trainer's grade for an essay answer and rescore its attempt."""
    if not 0 <= fraction <= 1:
        raise DomainError("得分应在0到满分之间。")
    if response.question_version.spec.get("qtype") != "essay":
        raise DomainError("只有论述题需要人工评分。")
    attempt = lock_row(Attempt, response.attempt_id)  # two graders of one attempt: one after the other
    for other in attempt.responses:
        db.session.refresh(other)
    if attempt.open:
        raise DomainError("答卷还没有提交。")
    response.fraction, response.comment = fraction, comment.strip()
    response.graded_by, response.graded_at = grader_id, now()
    was_pending = attempt.pending
    _score(attempt)
    audit.record("essay.graded", actor_id=grader_id, subject_id=attempt.user_id, object_type="response",
                 object_id=response.id, fraction=fraction)
    if was_pending and not attempt.pending:
        audit.record("exam.graded", actor_id=grader_id, subject_id=attempt.user_id, object_type="exam",
                     object_id=attempt.exam.slug if attempt.exam else "", attempt=attempt.id, score=attempt.score,
                     passed=attempt.passed)
        db.session.flush()
        _apply_pass(attempt)
    db.session.flush()
    return attempt


def expire_due_attempts() -> int:
    """Auto-submit every open attempt whose deadline has passed (for the sweep)."""
    due = db.session.scalars(select(Attempt.id).where(Attempt.status == "open", Attempt.deadline_at <= now())).all()
    done = 0
    for attempt_id in due:  # one at a time, so one bad attempt does not hold up the others
        try:
            submit(db.session.get(Attempt, attempt_id), auto=True)
            db.session.commit()
            done += 1
        except Exception:
            db.session.rollback()
    return done


def attempts_count(user_id: int, exam: Exam) -> int:
    return db.session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.user_id == user_id, Attempt.exam_id == exam.id)) or 0


def _catalog_part(session) -> dict:
    """The exams' part of the content catalogue: each exam's id, title and whether it is active, and the
    courses whose modules end with a knowledge check (those whose bank has a practice item a check can draw)."""
    draws = [rule for text, slug in session.execute(select(Exam.yaml_text, Exam.slug).where(
        Exam.active.is_(True), Exam.certification.is_(True))) for rule in parse_exam(load(text), slug).draw]
    return {"exam_by_slug": MappingProxyType({e.slug: ItemInfo(e.id, e.slug, e.title, e.active) for e in session.execute(
        select(Exam.id, Exam.slug, Exam.title, Exam.active))}),
        "courses_with_check": frozenset(course_id for course_id, category in session.execute(
            select(Question.course_id, Question.category).distinct().where(
                Question.active.is_(True), Question.qtype.not_in(CHECK_EXCLUDED)))
            if not is_certification_category(category, draws))}


contribute("exams", _catalog_part)
