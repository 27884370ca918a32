"""Learner pages: exams, an attempt one question at a time, results; module knowledge checks."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.forms import ConfirmForm
from ..accounts.scoping import Scope
from ..clock import now
from ..courses.models import Course, Module
from ..errors import DomainError
from ..extensions import db
from ..locks import lock_row
from . import bp
from .models import Attempt, Exam
from .questions import QTYPE_LABELS
from .service import (answer_review, category_title, exam_spec, exam_status, expire_if_due,
                      own_response, save_answer, spec_of, start_check, start_exam, submit)
from .grading import read_response


def _own_attempt(attempt_id: int, lock: bool = False) -> Attempt:
    """The learner's own attempt, else 404 (`lock`: locked for the rest of the transaction, for a
    save, so that it is read once and not again by the service)."""
    attempt = (lock_row(Attempt, attempt_id, Attempt.user_id == current_user.id) if lock  # never another's
               else db.session.get(Attempt, attempt_id))
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    return attempt


def _after_submit(attempt: Attempt):
    """Where to go once an attempt is closed."""
    if attempt.kind == "notice":
        if attempt.passed:
            flash(f"小测通过（{attempt.score:g}分），请确认「已学习并掌握」。", "success")
        else:
            flash(f"小测未通过（{attempt.score:g}分，需{attempt.pass_mark}分），请再读一遍通知后重测。", "error")
        return redirect(url_for("notices.view", notice_id=attempt.notice_id))
    if attempt.kind == "check":
        module = db.session.get(Module, attempt.module_id)
        if attempt.passed:
            flash(f"小测通过（{attempt.score:g}分），「{module.title}」已完成。", "success")
        else:
            flash(f"小测未通过（{attempt.score:g}分，需{attempt.pass_mark}分），请复习本章后重新测验。", "error")
        return redirect(url_for("courses.module", slug=module.course.slug, module_slug=module.slug))
    return redirect(url_for("exams.result", attempt_id=attempt.id))


@bp.route("/exams")
@login_required
def exams():
    """List the exams with the learner's attempts and best score."""
    rows = db.session.scalars(select(Exam).where(Exam.active.is_(True)).order_by(Exam.certification.desc(),
                                                                                 Exam.slug)).all()
    mine = db.session.scalars(select(Attempt).where(Attempt.user_id == current_user.id, Attempt.kind == "exam")).all()
    best = {}
    for a in mine:
        if a.score is not None:
            best[a.exam_id] = max(best.get(a.exam_id, 0), a.score)
    return render_template("exams/list.html", exams=rows, best=best,
                           specs={e.id: exam_spec(e) for e in rows},
                           passed={a.exam_id for a in mine if a.passed})


@bp.route("/exams/<slug>")
@login_required
def exam(slug: str):
    """Show an exam's rules and the learner's attempts; start or resume."""
    row = db.session.scalar(select(Exam).where(Exam.slug == slug, Exam.active.is_(True)))
    if row is None:
        abort(404)
    open_attempt, refusal = exam_status(current_user.id, row)
    attempts = db.session.scalars(select(Attempt).where(Attempt.user_id == current_user.id, Attempt.exam_id == row.id)
                                  .order_by(Attempt.started_at.desc())).all()
    return render_template("exams/exam.html", exam=row, spec=exam_spec(row), attempts=attempts,
                           open_attempt=open_attempt, refusal=refusal, form=ConfirmForm())


@bp.route("/exams/<slug>/start", methods=["POST"])
@login_required
def start(slug: str):
    """Start (or resume) a sitting."""
    row = db.session.scalar(select(Exam).where(Exam.slug == slug, Exam.active.is_(True)))
    if row is None or not ConfirmForm().validate_on_submit():
        abort(404 if row is None else 400)
    attempt = start_exam(current_user.id, row)
    return redirect(url_for("exams.question", attempt_id=attempt.id, position=1))


@bp.route("/courses/<slug>/<module_slug>/check", methods=["POST"])
@login_required
def check(slug: str, module_slug: str):
    """Start (or resume) the knowledge check that completes a module."""
    module = db.session.scalar(select(Module).join(Course).where(
        Course.slug == slug, Module.slug == module_slug, Module.active.is_(True), Course.active.is_(True)))
    if module is None or not (current_user.role in ("trainer", "admin") or module.course.open_to(current_user.position)):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt = start_check(current_user.id, module)
    if attempt is None:
        abort(404)
    return redirect(url_for("exams.question", attempt_id=attempt.id, position=1))


def _context(attempt: Attempt) -> dict:
    if attempt.exam is not None:
        title = attempt.exam.title
    elif attempt.module_id is not None:
        title = f"小测：{db.session.get(Module, attempt.module_id).title}"
    else:
        title = "新业务小测"
    remaining = int((attempt.deadline_at - now()).total_seconds()) if attempt.deadline_at else None
    answered = sum(1 for r in attempt.responses if r.answer is not None)
    return {"attempt": attempt, "title": title, "remaining": remaining, "answered": answered,
            "total": len(attempt.responses), "labels": QTYPE_LABELS}


def _save(attempt_id: int, position: int):
    """Save one answer (the page's autosave, or a move to another question). What it answers is read
    and the answer worked out first; the attempt is locked only for the write, where it is checked
    still open (on SQLite that lock is the database's one write lock: lms/sqlitegate.py)."""
    response = own_response(current_user.id, attempt_id, position)
    if response is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    values = {key: request.form.getlist(key) for key in request.form}
    answer = read_response(spec_of(response), values, response.order)
    attempt = _own_attempt(attempt_id, lock=True)
    if expire_if_due(attempt):
        flash("考试时间已到，答卷已按已保存的答案自动提交。", "info")
        return _after_submit(attempt)
    if not attempt.open:
        return _after_submit(attempt)
    try:
        save_answer(attempt, response, answer)
    except DomainError as exc:
        flash(str(exc), "error")
        return _after_submit(attempt)
    go = request.form.get("go", "next")
    if go == "stay":  # the page's autosave: nothing to show
        return "", 204
    if go == "prev" and position > 1:
        return redirect(url_for("exams.question", attempt_id=attempt.id, position=position - 1))
    if go == "next" and position < len(attempt.responses):
        return redirect(url_for("exams.question", attempt_id=attempt.id, position=position + 1))
    return redirect(url_for("exams.overview", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/<int:position>", methods=["GET", "POST"])
@login_required
def question(attempt_id: int, position: int):
    """Show one question; saving it keeps the answer at once (a closed tab loses nothing)."""
    if request.method == "POST":
        return _save(attempt_id, position)
    attempt = _own_attempt(attempt_id)
    if attempt.time_up:  # looking changes nothing: the overview offers the hand-in (the sweep does it too)
        return redirect(url_for("exams.overview", attempt_id=attempt.id))
    if not attempt.open:
        return _after_submit(attempt)
    response = next((r for r in attempt.responses if r.position == position), None)  # the page counts them all
    if response is None:
        abort(404)
    form = ConfirmForm()
    spec = spec_of(response)
    rights = []
    if spec.qtype == "matching":
        seen = set()
        for i in response.order:
            if spec.pairs[i].right not in seen:
                seen.add(spec.pairs[i].right)
                rights.append(spec.pairs[i].right)
    return render_template("exams/question.html", response=response, spec=spec, position=position, form=form,
                           rights=rights, **_context(attempt))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def overview(attempt_id: int):
    """Show every question's state, the time left and the submit button."""
    attempt = _own_attempt(attempt_id)
    if not attempt.open:
        return _after_submit(attempt)
    return render_template("exams/overview.html", form=ConfirmForm(), **_context(attempt))


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit_attempt(attempt_id: int):
    """Hand in the attempt; submitting twice grades once."""
    attempt = _own_attempt(attempt_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not expire_if_due(attempt):
        submit(attempt)
    return _after_submit(attempt)


@bp.route("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    """Show the score per category; right answers only for exams that are not for certification."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    Scope.of(current_user).person(attempt.user_id)  # one's own, or a person in one's scope; else 404
    if attempt.open:
        if attempt.user_id == current_user.id:
            return redirect(url_for("exams.overview", attempt_id=attempt.id))
        abort(404)
    review = answer_review(attempt)
    return render_template("exams/result.html", attempt=attempt, reveal=review is not None, review=review or [],
                           labels=QTYPE_LABELS, category_title=category_title)
