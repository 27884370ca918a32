"""Trainer pages: question bank, GIFT import/export, exam editor, essay grading, item analysis."""

from __future__ import annotations

from flask import Response as FlaskResponse, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from ..accounts.access import role_required
from ..accounts.forms import choices
from ..courses.models import Course
from ..errors import DomainError
from ..extensions import db
from ..versioning import changing_content
from ..yamlx import YamlError, load
from . import bp
from .forms import EssayGradeForm, ExamForm, ExamMetaForm, ImportForm, QuestionForm, QuestionMetaForm
from .definitions import MAX_PATTERN, DrawRule, ExamError, parse_exam, pool_size
from .exam_form import KINDS as EXAM_KINDS, NUMBERS as EXAM_NUMBERS, WHOLE, draft_from_form, field_problems
from .exam_form import draft_from_spec as exam_draft_from_spec, new_draft as new_exam_draft, to_yaml as exam_yaml
from .gift import GiftError, parse_gift, to_gift
from .grading import right_answer_text
from .models import Attempt, Exam, Question, Response
from .questions import QTYPE_LABELS, QTYPES, QuestionSpec, normalise_search
from .question_form import FORM_TYPES, draft_from_spec, empty_draft, name_problem, spec_from_draft
from .question_form import draft_from_form as question_draft_from_form
from .bank import create_question, edit_question, import_questions, save_exam
from .service import bank_findings, exam_spec, grade_essay, pool_problems
from .stats import essays_waiting, item_stats

TRAINERS = ("trainer", "admin")


def _courses():
    return db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.sort_order)).all()


PAGE_SIZE = 50
STATUSES = {"active": "在用", "retired": "已停用", "all": "全部"}


def _bank_filters() -> dict[str, str]:
    """The bank's filters as the URL gives them (kept across pages)."""
    args = request.args
    status = args.get("status", "active")
    return {"q": args.get("q", "").strip()[:100], "course": args.get("course", ""), "category": args.get("category", ""),
            "type": args.get("type", "") if args.get("type", "") in QTYPES else "",
            "status": status if status in STATUSES else "active"}


def _bank_query(filters: dict[str, str]):
    stmt = select(Question).join(Course)
    if filters["status"] != "all":
        stmt = stmt.where(Question.active.is_(filters["status"] == "active"))
    if filters["course"]:
        stmt = stmt.where(Course.slug == filters["course"])
    if filters["category"]:  # the category and those below it
        stmt = stmt.where((Question.category == filters["category"])
                          | Question.category.startswith(filters["category"] + "/", autoescape=True))
    if filters["type"]:
        stmt = stmt.where(Question.qtype == filters["type"])
    for word in normalise_search(filters["q"]).split()[:8]:  # every word, anywhere in the text or the answers
        stmt = stmt.where(Question.search_text.contains(word, autoescape=True))
    return stmt


@bp.route("/bank")
@role_required(*TRAINERS)
def bank():
    """Search the question bank by text and filter it by course, category, type and status, 50 a page."""
    filters = _bank_filters()
    stmt = _bank_query(filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = db.session.scalars(stmt.options(selectinload(Question.versions), contains_eager(Question.course))
                              .order_by(Course.sort_order, Question.category, Question.name, Question.id)
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    cat_stmt = select(Question.category).distinct().join(Course).where(Question.active.is_(True))
    if filters["course"]:
        cat_stmt = cat_stmt.where(Course.slug == filters["course"])
    kept = {k: v for k, v in filters.items() if v and not (k == "status" and v == "active")}
    return render_template("exams/bank.html", questions=rows, courses=_courses(), filters=filters, total=total,
                           page=page, pages=pages, page_links=_page_links(page, pages), kept=kept,
                           categories=sorted(db.session.scalars(cat_stmt)), labels=QTYPE_LABELS,
                           form_types=FORM_TYPES, statuses=STATUSES, findings=bank_findings())


def _page_links(page: int, pages: int) -> list[int | None]:
    """The page numbers to link: the first, the last and two around the current one (None: a gap)."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def _preview(spec: QuestionSpec | None) -> dict:
    """What the learner's question partial needs to show a question as a learner sees it."""
    if spec is None:
        return {"spec": None}
    rights = list(dict.fromkeys(p.right for p in spec.pairs))
    return {"spec": spec, "order": list(range(len(spec.choices))), "answer": None, "rights": rights}


def _question_page(question: Question | None, draft, errors: dict, preview_spec, course_slug: str = ""):
    courses = _courses()
    course = question.course if question else next((c for c in courses if c.slug == course_slug), None)
    categories = sorted(db.session.scalars(select(Question.category).distinct().where(
        Question.course_id == course.id, Question.active.is_(True)))) if course else []
    return render_template("exams/question_edit.html", question=question, draft=draft, errors=errors,
                           labels=QTYPE_LABELS, courses=courses, course=course, categories=categories,
                           form=QuestionMetaForm(), preview=_preview(preview_spec), whole=WHOLE)


@bp.route("/bank/new")
@role_required(*TRAINERS)
def question_new_choose():
    """Choose the type (and course) of a new question."""
    return render_template("exams/question_new.html", labels=QTYPE_LABELS, form_types=FORM_TYPES,
                           courses=_courses(), course_slug=request.args.get("course", ""))


@bp.route("/bank/new/<qtype>", methods=["GET", "POST"])
@role_required(*TRAINERS)
def question_new(qtype: str):
    """Write a new question in the form of its type; saving makes its first version."""
    if qtype not in FORM_TYPES:
        abort(404)
    if request.method == "GET":
        draft = empty_draft(qtype)
        draft.values["course"] = request.args.get("course", "")
        return _question_page(None, draft, {}, None, draft.get("course"))
    form = QuestionMetaForm()
    if not form.validate_on_submit():
        abort(400)
    draft = question_draft_from_form(qtype, request.form)
    course_slug = request.form.get("course", "")
    draft.values["course"], draft.values["name"] = course_slug, request.form.get("name", "").strip()
    course = next((c for c in _courses() if c.slug == course_slug), None)
    spec, errors = spec_from_draft(draft, draft.get("name"))
    if problem := name_problem(draft.get("name")):
        errors["name"] = problem
    if course is None:
        errors["course"] = "请选择课程"
    if errors or request.form.get("action") == "preview":
        return _question_page(None, draft, errors, spec, course_slug), 200 if not errors else 422
    try:
        question = create_question(course, spec, current_user.id)
    except DomainError as exc:
        return _question_page(None, draft, {"name": str(exc)}, spec, course_slug), 422
    flash(f"已新建「{question.name}」（第1版），已生效。", "success")
    return redirect(url_for("exams.question_edit", question_id=question.id))


@bp.route("/bank/<int:question_id>", methods=["GET", "POST"])
@role_required(*TRAINERS)
def question_edit(question_id: int):
    """Edit one question in the form of its type, with the learner's view beside it; a save is a new version."""
    question = db.get_or_404(Question, question_id)
    if request.method == "GET":
        spec = question.current.as_spec
        return _question_page(question, draft_from_spec(spec), {}, spec)
    if not QuestionMetaForm().validate_on_submit():
        abort(400)
    draft = question_draft_from_form(question.qtype, request.form)
    draft.values["name"] = question.name
    spec, errors = spec_from_draft(draft, question.name)
    if errors or request.form.get("action") == "preview":
        return _question_page(question, draft, errors, spec), 200 if not errors else 422
    changed = edit_question(question, spec, current_user.id)
    flash(f"已保存为第{question.version}版，已生效。" if changed else "内容没有变化。", "success" if changed else "info")
    return redirect(url_for("exams.question_edit", question_id=question.id))


@bp.route("/bank/preview/<qtype>", methods=["POST"])
@role_required(*TRAINERS)
def question_preview(qtype: str):
    """The learner's view of the question as the form now stands (the page's live preview)."""
    if qtype not in FORM_TYPES or not QuestionMetaForm().validate_on_submit():
        abort(400)
    spec, errors = spec_from_draft(question_draft_from_form(qtype, request.form), request.form.get("name", "").strip() or "预览")
    return render_template("exams/_question_preview.html", preview=_preview(spec), errors=errors, labels=QTYPE_LABELS)


@bp.route("/bank/<int:question_id>/gift", methods=["GET", "POST"])
@role_required(*TRAINERS)
def question_gift(question_id: int):
    """The question as GIFT (advanced view): the text import and export use; saving it is a new version too."""
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
                return redirect(url_for("exams.question_gift", question_id=question.id))
    elif request.method == "GET":
        form.gift.data = to_gift([question.current.as_spec])
    return render_template("exams/question_gift.html", question=question, form=form, errors=errors,
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


def _save_exam_text(exam: Exam | None, slug: str, text: str,
                    by_form: bool = False) -> tuple[Exam | None, list[tuple[int | None, str]]]:
    """Read, check and save an exam definition's YAML (the form's and the advanced editor's one path).

    The form writes its own YAML (a file's comments and layout are not kept): when it describes the
    definition in force, nothing is saved."""
    try:
        spec = parse_exam(load(text), slug, _available())
    except YamlError as exc:
        return None, [(exc.line, str(exc))]
    except ExamError as exc:
        return None, exc.problems
    if by_form and exam is not None and exam.active and spec == exam_spec(exam):
        flash("内容没有变化。", "info")
        return exam, []
    if exam is None:
        changing_content()
    if exam is None and db.session.scalar(select(Exam).where(Exam.slug == slug)) is not None:
        return None, [(None, f"考试编号「{slug}」已存在")]
    if problems := pool_problems(spec):
        return None, problems
    exam, changed = save_exam(exam, slug, text, spec, current_user.id)
    flash(f"已保存「{spec.title}」第{exam.version}版。" if changed else "内容没有变化。", "success" if changed else "info")
    return exam, []


def _exam_row(slug: str | None) -> Exam | None:
    exam = db.session.scalar(select(Exam).where(Exam.slug == slug)) if slug else None
    if slug and exam is None:
        abort(404)
    return exam


def _pools(draft, available) -> dict[int, int]:
    essays = bool(draft.get("essays"))
    return {i: pool_size(DrawRule(draft.row(i, "category").strip(), 1), available, essays)
            for i in draft.filled() if draft.row(i, "category").strip()}


@bp.route("/exams/manage/new", methods=["GET", "POST"])
@bp.route("/exams/manage/<slug>", methods=["GET", "POST"])
@role_required(*TRAINERS)
def exam_edit(slug: str | None = None):
    """Edit an exam definition in a form (draws with their pool sizes); saving makes a new version."""
    exam = _exam_row(slug)
    form = ExamMetaForm()
    available = _available()
    problems: dict[str, list[str]] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        draft = draft_from_form(request.form)
        new_slug = exam.slug if exam else draft.get("slug").strip()
        text, fields = exam_yaml(draft)
        saved, found = _save_exam_text(exam, new_slug, text, by_form=True)
        if saved is not None:
            return redirect(url_for("exams.exam_edit", slug=saved.slug))
        problems = field_problems(found, fields)
    elif exam is not None:
        draft = exam_draft_from_spec(exam_spec(exam))
    else:
        draft = new_exam_draft()
    categories = sorted((cat, sum(n for kind, n in types.items() if kind != "description"))
                        for cat, types in available.items())
    return render_template("exams/exam_edit.html", exam=exam, form=form, draft=draft, problems=problems,
                           pools=_pools(draft, available), categories=categories, numbers=EXAM_NUMBERS,
                           patterns=sorted({cat.split("/")[0] + "/*" for cat, _ in categories}),
                           kinds=EXAM_KINDS, whole=WHOLE), 422 if problems else 200


@bp.route("/exams/manage/new/yaml", methods=["GET", "POST"])
@bp.route("/exams/manage/<slug>/yaml", methods=["GET", "POST"])
@role_required(*TRAINERS)
def exam_yaml_edit(slug: str | None = None):
    """Edit an exam definition as YAML (advanced view) with validation against the bank; a save is a new version."""
    exam = _exam_row(slug)
    form = ExamForm()
    new_slug = request.form.get("slug", "").strip() if exam is None else exam.slug
    problems: list[tuple[int | None, str]] = []
    if form.validate_on_submit():
        saved, problems = _save_exam_text(exam, new_slug, form.yaml_text.data)
        if saved is not None:
            return redirect(url_for("exams.exam_yaml_edit", slug=saved.slug))
    elif request.method == "GET" and exam is not None:
        form.yaml_text.data = exam.yaml_text
    return render_template("exams/exam_yaml.html", exam=exam, form=form, problems=problems, new_slug=new_slug,
                           available=sorted((cat, sum(types.values())) for cat, types in _available().items()))


@bp.route("/bank/pool")
@role_required(*TRAINERS)
def pool_count():
    """How many active items a draw rule's category (or pattern) can draw (the exam form's live count)."""
    category = request.args.get("category", "").strip()[:MAX_PATTERN]
    count = pool_size(DrawRule(category, 1), _available(), request.args.get("essays") == "y") if category else 0
    return jsonify({"count": count})


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
