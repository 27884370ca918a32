"""The home page: where the areas come together for one person.

A learner's home (我的课程) shows the person's courses and progress (courses), their pending
new-business notices first (notices) and their 上岗证 status (certification); a trainer's home is
what needs them today (lms/trainer_home.py), with their own courses one link away. It is an
orchestration module: it reads from every area and no area imports it, so the areas stay a one-way
stack (lms/events.py).
"""

from __future__ import annotations

from flask import Blueprint, g, render_template
from flask_login import current_user, login_required

from .catalog import catalog
from .certification.service import status_for
from .certification.status import STATUS_LEVEL
from .clock import now
from .courses.service import course_progress, studied_by_course
from .notices.service import pending_for
from .trainer_home import trainer_home

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """Show a trainer what needs them today; anyone else their courses (courses())."""
    if current_user.role == "trainer":
        return trainer_home()
    return courses()


@bp.route("/my-courses")
@login_required
def courses():
    """Show the person's pending notices, courses with a progress bar each, and their 上岗证 status."""
    content = catalog()
    courses = content.courses_for(current_user.position, everyone=current_user.role in ("trainer", "admin"))
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
