"""Trainer pages: question bank, GIFT import/export, exam editor, essay grading, item analysis."""

from __future__ import annotations

from flask import Response as FlaskResponse, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.access import role_required
from ..accounts.forms import choices
from ..courses.models import Course
from ..errors import DomainError
from ..extensions import db
from ..yamlx import YamlError, load
from . import bp
from .forms import EssayGradeForm, ExamForm, ImportForm, QuestionForm
from .definitions import ExamError, parse_exam
from .gift import GiftError, parse_gift, to_gift
from .grading import right_answer_text
from .models import Attempt, Exam, Question, Response
from .questions import QTYPE_LABELS, QTYPES
from .bank import edit_question, import_questions, save_exam
from .service import bank_findings, grade_essay, pool_problems
from .stats import essays_waiting, item_stats

TRAINERS = ("trainer", "admin")


def _courses():
    return db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.sort_order)).all()


@bp.route("/bank")
@role_required(*TRAINERS)
def bank():
    """Browse the question bank by course, category, type or text."""
    course_slug, qtype, q = request.args.get("course", ""), request.args.get("type", ""), request.args.get("q", "").strip()
    stmt = select(Question).join(Course).where(Question.active.is_(True))
    if course_slug:
        stmt = stmt.where(Course.slug == course_slug)
    if qtype in QTYPES:
        stmt = stmt.where(Question.qtype == qtype)
    if q:
        stmt = stmt.where(Question.name.like(f"%{q}%") | Question.category.like(f"%{q}%"))
    rows = db.session.scalars(stmt.order_by(Course.sort_order, Question.category, Question.name).limit(500)).all()
    counts = db.session.execute(select(Course.slug, Question.qtype, func.count()).join(Course)
                                .where(Question.active.is_(True)).group_by(Course.slug, Question.qtype)).all()
    return render_template("exams/bank.html", questions=rows, courses=_courses(), course_slug=course_slug,
                           qtype=qtype, q=q, labels=QTYPE_LABELS, counts=counts, findings=bank_findings())


@bp.route("/bank/<int:question_id>", methods=["GET", "POST"])
@role_required(*TRAINERS)
def question_edit(question_id: int):
    """Edit one question as GIFT text; every save is a new version, the old ones stay."""
    question = db.get_or_404(Question, question_id)
    form = QuestionForm()
    errors = []
    if form.validate_on_submit():
        result = parse_gift(form.gift.data)
        errors = result.errors
        if not errors and len(result.questions) != 1:
            errors = [GiftError(1, "请只写一道题", "")]
        if not errors:
            spec = result.questions[0]
            if not spec.category or spec.category == question.course.slug:
                spec = type(spec)(**{**spec.__dict__, "category": spec.category or question.category})
            try:
                changed = edit_question(question, spec, current_user.id)
            except DomainError as exc:  # shown beside the text, which keeps what was typed
                form.gift.errors = [str(exc)]
            else:
                flash(f"已保存为第{question.version}版，已生效。" if changed
                      else "内容没有变化。", "success" if changed else "info")
                return redirect(url_for("exams.question_edit", question_id=question.id))
    elif request.method == "GET":
        form.gift.data = to_gift([question.current.as_spec])
    return render_template("exams/question_edit.html", question=question, form=form, errors=errors,
                           labels=QTYPE_LABELS, right=right_answer_text(question.current.as_spec))


@bp.route("/bank/import", methods=["GET", "POST"])
@role_required(*TRAINERS)
def bank_import():
    """Import a GIFT file into a course's bank; with errors nothing is imported unless asked."""
    form = ImportForm()
    form.course.choices = choices((c.slug, c.title) for c in _courses())
    report = None
    if form.validate_on_submit():
        course = db.session.scalar(select(Course).where(Course.slug == form.course.data))
        try:
            text = form.file.data.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors.append("文件不是UTF-8编码，请另存为UTF-8后再导入")
        else:
            result = parse_gift(text)
            report = {"errors": result.errors, "imported": {}, "written": False}
            if result.errors and not form.valid_only.data:
                flash(f"文件有{len(result.errors)}处错误，未导入任何题目。", "error")
            elif not result.questions:
                flash("文件里没有可导入的题目。", "error")
            else:
                imported = import_questions(course, result.questions, current_user.id)
                report.update(imported=imported.counts(), written=True, identical=imported.identical,
                              renamed=imported.renamed)
                flash(f"已导入{len(imported.created)}道题" + (f"，{len(imported.identical)}道与题库中已有的题目完全相同，未重复导入"
                      if imported.identical else "") + "。", "success")
    return render_template("exams/import.html", form=form, report=report, labels=QTYPE_LABELS)


@bp.route("/bank/export/<slug>")
@role_required(*TRAINERS)
def bank_export(slug: str):
    """Download a course's bank as a GIFT file."""
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        abort(404)
    questions = db.session.scalars(select(Question).where(Question.course_id == course.id, Question.active.is_(True))
                                   .order_by(Question.category, Question.id)).all()
    body = to_gift([q.current.as_spec for q in questions])
    return FlaskResponse(body, mimetype="text/plain; charset=utf-8",
                         headers={"Content-Disposition": f"attachment; filename={slug}-questions.gift"})


@bp.route("/exams/manage")
@role_required(*TRAINERS)
def exams_manage():
    """List exams for editing and analysis."""
    rows = db.session.scalars(select(Exam).order_by(Exam.slug)).all()
    counts = dict(db.session.execute(select(Attempt.exam_id, func.count()).where(
        Attempt.kind == "exam", Attempt.status == "submitted").group_by(Attempt.exam_id)).all())
    return render_template("exams/manage.html", exams=rows, counts=counts)


def _available() -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for category, qtype, n in db.session.execute(select(Question.category, Question.qtype, func.count()).where(
            Question.active.is_(True)).group_by(Question.category, Question.qtype)):
        counts.setdefault(category, {})[qtype] = n
    return counts


@bp.route("/exams/manage/new", methods=["GET", "POST"])
@bp.route("/exams/manage/<slug>", methods=["GET", "POST"])
@role_required(*TRAINERS)
def exam_edit(slug: str | None = None):
    """Edit an exam definition (YAML) with validation against the bank; saving makes a new version."""
    exam = db.session.scalar(select(Exam).where(Exam.slug == slug)) if slug else None
    if slug and exam is None:
        abort(404)
    form = ExamForm()
    new_slug = request.form.get("slug", "").strip() if exam is None else exam.slug
    problems: list[tuple[int | None, str]] = []
    if form.validate_on_submit():
        try:
            spec = parse_exam(load(form.yaml_text.data), new_slug, _available())
        except YamlError as exc:
            problems = [(exc.line, str(exc))]
        except ExamError as exc:
            problems = exc.problems
        else:
            if exam is None and db.session.scalar(select(Exam).where(Exam.slug == new_slug)) is not None:
                problems = [(None, f"考试编号「{new_slug}」已存在")]
            problems = problems or pool_problems(spec)
            if not problems:
                exam, changed = save_exam(exam, new_slug, form.yaml_text.data, spec, current_user.id)
                flash(f"已保存「{spec.title}」第{exam.version}版。" if changed else "内容没有变化。",
                      "success" if changed else "info")
                return redirect(url_for("exams.exam_edit", slug=exam.slug))
    elif request.method == "GET" and exam is not None:
        form.yaml_text.data = exam.yaml_text
    return render_template("exams/exam_edit.html", exam=exam, form=form, problems=problems, new_slug=new_slug,
                           available=sorted((cat, sum(types.values())) for cat, types in _available().items()))


@bp.route("/grading")
@role_required(*TRAINERS)
def grading_queue():
    """List essay answers waiting for a grade, oldest first."""
    rows = db.session.scalars(essays_waiting().limit(200)).all()
    return render_template("exams/grading.html", responses=rows, form=EssayGradeForm())


@bp.route("/grading/<int:response_id>", methods=["POST"])
@role_required(*TRAINERS)
def grade_response(response_id: int):
    """Record the grade of one essay answer."""
    response = db.get_or_404(Response, response_id)
    form = EssayGradeForm()
    if form.validate_on_submit():
        try:
            grade_essay(response, float(form.score.data) / 100, form.comment.data or "", current_user.id)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash("已评分。", "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
    return redirect(url_for("exams.grading_queue"))


@bp.route("/exams/manage/<slug>/analysis")
@role_required(*TRAINERS)
def item_analysis(slug: str):
    """Facility and discrimination per question and how often each option was picked."""
    exam = db.session.scalar(select(Exam).where(Exam.slug == slug))
    if exam is None:
        abort(404)
    ordered, attempts = item_stats(exam)
    return render_template("exams/analysis.html", exam=exam, items=ordered, attempts=attempts)
