"""Store pages: a manager sees their own store's staff and each person's course progress."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.access import role_required
from ..accounts.models import Store, User
from ..accounts.scoping import Scope
from ..clock import now, today
from ..courses.service import active_modules, course_progress, courses_for, progress_for_modules
from ..extensions import db
from . import bp
from .service import store_rows


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
    return render_template("reports/stores.html", stores=stores, counts=counts)


@bp.route("/<int:store_id>")
@role_required("manager", "admin", "trainer")
def store(store_id: int):
    """Show a store's active staff with their course progress, leave and new-hire status."""
    scope = Scope.of(current_user)
    store = scope.store(store_id)
    rows = store_rows(scope, store, today())
    from ..notices.board import store_summary
    from ..notices.deadlines import describe_left

    from ..certification.status import STATUS_LEVEL

    return render_template("reports/store.html", store=store, rows=rows, notices=store_summary(store.id),
                           levels=STATUS_LEVEL,
                           on_leave=sum(1 for r in rows if r.leave is not None), now=now(), describe_left=describe_left)


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
    return render_template("reports/person.html", person=person, detail=detail, today=today())
