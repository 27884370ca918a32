"""Store pages: a manager sees their own store's staff and each person's course progress."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.access import role_required
from ..accounts.constants import POSITIONS
from ..accounts.forms import choices
from ..accounts.models import Store, User
from ..accounts.scoping import Scope
from ..certification.status import STATUS_LEVEL
from ..clock import LOCAL_TZ, today
from ..courses.service import active_modules, course_progress, courses_for, progress_for_modules
from ..errors import AlreadyDone, DomainError
from ..extensions import db
from . import bp
from .forms import SessionForm
from ..exports import download
from .archive import KINDS, archive_table, certification_status, entries as archive_entries
from .matrix import STATUS_ORDER, build as build_matrix, columns as matrix_columns, matrix_table, sort_rows
from .models import TrainingSession
from .service import store_rows
from .sessions import record_session, weekly
from .xapi import statements as xapi_statements
from ..urls import public_base


@bp.route("/")
@role_required("manager", "admin", "trainer")
def store_home():
    """Send a manager to their store; list stores for admins and trainers."""
    scope = Scope.of(current_user)
    if not scope.all_stores:
        if current_user.store_id is None:
            return render_template("reports/no_store.html")
        return redirect(url_for("reports.store", store_id=current_user.store_id))
    stores = db.session.scalars(scope.stores().order_by(Store.code)).all()
    counts = dict(db.session.execute(
        scope.restrict(select(User.store_id, func.count()).where(User.active.is_(True)), User.store_id)
        .group_by(User.store_id)).all())
    from .service import region_figures

    return render_template("reports/stores.html", stores=stores, counts=counts, figures=region_figures())


@bp.route("/<int:store_id>")
@role_required("manager", "admin", "trainer")
def store(store_id: int):
    """Show a store's active staff with their course progress, leave and new-hire status."""
    scope = Scope.of(current_user)
    store = scope.store(store_id)
    rows = store_rows(scope, store, today())
    from ..notices.board import store_summary

    return render_template("reports/store.html", store=store, rows=rows, notices=store_summary(store.id),
                           levels=STATUS_LEVEL,
                           on_leave=sum(1 for r in rows if r.leave is not None))


@bp.route("/people/<int:user_id>")
@role_required("manager", "admin", "trainer")
def person(user_id: int):
    """Show one person's progress in each of their courses, module by module."""
    person = Scope.of(current_user).person(user_id)
    courses = courses_for(person.position)
    progress = course_progress(person.id, courses)
    detail = []
    for course in courses:
        modules = active_modules(course)
        detail.append((course, progress[course.id], modules, progress_for_modules(person.id, modules)))
    from ..speech.service import latest

    return render_template("reports/person.html", person=person, detail=detail, today=today(),
                           history=_certificate_history(person.id), levels=STATUS_LEVEL,
                           speech=latest([person.id]).get(person.id, {}))


def _certificate_history(user_id: int):
    """Every certificate the person held, with its state and how it ended (certification.facts)."""
    from ..certification.facts import load_history
    from ..notices.service import overdue_people

    return load_history([user_id], overdue_people([user_id]))[user_id]


# ---------------------------------------------------------------- matrix, archive, sessions, xAPI


def _store_people(scope: Scope, store: Store) -> list[User]:
    return db.session.scalars(scope.people().where(User.store_id == store.id, User.active.is_(True))
                              .order_by(User.emp_no)).all()


@bp.route("/<int:store_id>/matrix")
@role_required("manager", "admin", "trainer")
def matrix(store_id: int):
    """People × requirements with status, filterable by position and status, sortable."""
    scope = Scope.of(current_user)
    store = scope.store(store_id)
    position, status, sort = request.args.get("position", ""), request.args.get("status", ""), request.args.get("sort", "status")
    rows = build_matrix(_store_people(scope, store))
    if position:
        rows = [r for r in rows if r.person.position == position]
    if status:
        rows = [r for r in rows if r.status == status]
    rows = sort_rows(rows, sort)
    return render_template("reports/matrix.html", store=store, rows=rows, columns=matrix_columns(rows),
                           position=position, status=status, sort=sort, positions=POSITIONS, statuses=STATUS_ORDER)


@bp.route("/<int:store_id>/matrix.xlsx")
@role_required("manager", "admin", "trainer")
def matrix_xlsx(store_id: int):
    """The matrix as an Excel workbook."""
    scope = Scope.of(current_user)
    store = scope.store(store_id)
    rows = sort_rows(build_matrix(_store_people(scope, store)), "position")
    return download(matrix_table(store, rows), f"{store.code}-matrix.xlsx")


@bp.route("/people/<int:user_id>/archive")
@role_required("manager", "admin", "trainer")
def archive(user_id: int):
    """A person's training archive, printable on A4."""
    person = Scope.of(current_user).person(user_id)
    certification = certification_status(person.id, person.position)
    return render_template("reports/archive.html", person=person, entries=archive_entries(person.id), kinds=KINDS,
                           certification=certification, levels=STATUS_LEVEL, history=_certificate_history(person.id))


@bp.route("/people/<int:user_id>/archive.xlsx")
@role_required("manager", "admin", "trainer")
def archive_xlsx(user_id: int):
    """The archive as an Excel workbook."""
    person = Scope.of(current_user).person(user_id)
    return download(archive_table(person), f"{person.emp_no}-archive.xlsx")


@bp.route("/people/<int:user_id>/xapi.json")
@role_required("admin", "trainer")
def archive_xapi(user_id: int):
    """The archive as xAPI statements (JSON), for a learning record store: a trainer's or an admin's
    tool, not offered to store managers (they have the page and its Excel)."""
    person = Scope.of(current_user).person(user_id)
    return jsonify(xapi_statements(public_base(), [(person.emp_no, person.name, archive_entries(person.id))]))


@bp.route("/<int:store_id>/sessions", methods=["GET", "POST"])
@role_required("manager", "admin", "trainer")
def sessions(store_id: int):
    """Record an in-person training and see whether each week had one."""
    scope = Scope.of(current_user)
    store = scope.store(store_id)
    people = _store_people(scope, store)
    form = SessionForm()
    form.attendees.choices = choices((p.id, f"{p.name}（{p.position or ''}）") for p in people)
    if request.method == "GET":
        form.trainer_name.data = current_user.name
    if form.validate_on_submit():
        held = form.held_at.data.replace(tzinfo=LOCAL_TZ)
        try:
            record_session(store.id, form.trainer_name.data, held, form.place.data, form.content.data,
                           form.assessment.data or "", form.attendees.data, current_user.id)
        except AlreadyDone:  # the first tap recorded it: the app shows it (lms/web.py)
            raise
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash("已登记培训，已记入参加人员的培训档案。", "success")
            return redirect(url_for("reports.sessions", store_id=store.id))
    recent = db.session.scalars(select(TrainingSession).where(TrainingSession.store_id == store.id)
                                .order_by(TrainingSession.held_at.desc()).limit(20)).all()
    return render_template("reports/sessions.html", store=store, form=form, weeks=weekly(store.id), sessions=recent)


@bp.route("/analytics")
@role_required("trainer", "admin")
def analytics():
    """Where learners struggle in role-play, and the onboarding funnel of new hires."""
    store_id = request.args.get("store", type=int)
    store_id = store_id if store_id and 0 < store_id < 2**31 else None
    position = request.args.get("position", "")
    position = position if position in POSITIONS else None
    from ..exams.models import Exam
    from ..roleplay.phrasebook import MUST_IDS
    from ..roleplay.suggestions import current_book
    from .analytics import onboarding_funnel, scenario_stats

    stores = db.session.scalars(select(Store).order_by(Store.code)).all()
    exams = db.session.scalars(select(Exam).where(Exam.active.is_(True)).order_by(Exam.slug)).all()
    try:
        labels = current_book()[2].labels  # the phrasebook's own names of its categories
    except DomainError:  # no phrasebook loaded yet: the ids stand in
        labels = {}
    return render_template("reports/analytics.html", stats=scenario_stats(store_id, position),
                           funnel=onboarding_funnel(store_id=store_id, position=position), stores=stores,
                           store_id=store_id, position=position or "", positions=POSITIONS, exams=exams,
                           labels={k: labels.get(k, k) for k in MUST_IDS})
