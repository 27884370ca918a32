"""Learner pages: home with progress, a course, a module and 「我已学习」."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.forms import ConfirmForm
from ..exams.service import check_available
from ..clock import now
from ..extensions import db
from ..notices.guard import blocked_redirect
from . import bp
from .models import Course, Module
from .service import (active_modules, complete_module, course_progress, courses_for, progress_for_modules,
                      studied_by_course)


def _sees_all() -> bool:
    return current_user.role in ("trainer", "admin")


def _course_or_404(slug: str) -> Course:
    course = db.session.scalar(select(Course).where(Course.slug == slug, Course.active.is_(True)))
    if course is None or not (_sees_all() or course.open_to(current_user.position)):
        abort(404)
    return course


def _module_or_404(course: Course, slug: str) -> Module:
    module = next((m for m in active_modules(course) if m.slug == slug), None)
    if module is None:
        abort(404)
    return module


@bp.route("/")
@login_required
def home():
    """Show the person's courses with a progress bar each."""
    from ..catalog import catalog
    from ..certification.service import status_for  # certification builds on courses
    from ..certification.status import STATUS_LEVEL
    from ..notices.service import pending_for

    content = catalog()
    courses = content.courses_for(current_user.position, everyone=_sees_all())
    studied = studied_by_course(current_user.id)  # for the progress bars and the certification alike
    progress = course_progress(current_user.id, courses, studied)
    next_course = next((c for c in courses if not progress[c.id].complete), None)
    at = now()
    pending = pending_for(current_user.id)
    g.overdue_notices = [a for a in pending if a.in_state(at, "overdue")]  # the header's banner asks for these too
    certification = content.certification_for(current_user.position)
    cert_status = (status_for(current_user.id, certification, suspended=bool(g.overdue_notices), studied=studied)
                   if certification else None)
    return render_template("courses/home.html", courses=courses, progress=progress, next_course=next_course,
                           pending=pending, now=at,
                           certification=certification, cert_status=cert_status,
                           cert_level=STATUS_LEVEL.get(cert_status or "", "off"))


@bp.route("/courses/<slug>")
@login_required
def course(slug: str):
    """Show a course's modules and which ones the person has studied."""
    course = _course_or_404(slug)
    modules = active_modules(course)
    done = progress_for_modules(current_user.id, modules)
    return render_template("courses/course.html", course=course, modules=modules, done=done,
                           progress=course_progress(current_user.id, [course])[course.id])


@bp.route("/courses/<slug>/<module_slug>")
@login_required
def module(slug: str, module_slug: str):
    """Show a module's text, its source section and the 「我已学习」 button."""
    course = _course_or_404(slug)
    modules = active_modules(course)
    module = _module_or_404(course, module_slug)
    index = modules.index(module)
    progress = progress_for_modules(current_user.id, [module]).get(module.id)
    return render_template(
        "courses/module.html", course=course, module=module, progress=progress, form=ConfirmForm(),
        has_check=check_available(module),
        prev=modules[index - 1] if index > 0 else None,
        next=modules[index + 1] if index + 1 < len(modules) else None,
        position=index + 1, count=len(modules),
    )


@bp.route("/courses/<slug>/<module_slug>/complete", methods=["POST"])
@login_required
def complete(slug: str, module_slug: str):
    """Record that the person studied a module that has no knowledge check, then go on."""
    course = _course_or_404(slug)
    module = _module_or_404(course, module_slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if (refused := blocked_redirect(module.id)) is not None:
        return refused
    if check_available(module):
        flash("本章以小测结束：通过小测才算学完。", "info")
        return redirect(url_for("courses.module", slug=slug, module_slug=module_slug))
    _, changed = complete_module(current_user.id, module)
    db.session.commit()
    if changed:
        flash(f"已记录：「{module.title}」学习完成。", "success")
    modules = active_modules(course)
    index = modules.index(module)
    if index + 1 < len(modules):
        return redirect(url_for("courses.module", slug=slug, module_slug=modules[index + 1].slug))
    flash(f"「{course.title}」的全部章节已学完。" if course_progress(current_user.id, [course])[course.id].complete
          else "这是本课程的最后一章。", "info")
    return redirect(url_for("courses.course", slug=slug))
