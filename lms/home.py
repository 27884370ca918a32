"""The home page: where the areas come together for one person.

A learner's home (我的课程) shows the person's courses and progress (courses), their pending
new-business notices first (notices) and their 上岗证 status (certification); a trainer's home is
what needs them today (lms/trainer_home.py), with their own courses one link away. It is an
orchestration module: it reads from every area and no area imports it, so the areas stay a one-way
stack (lms/events.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, bindparam, exists, select

from .accounts.access import role_required
from .accounts.models import User
from .accounts.scoping import Scope
from .accounts.service import STORE_NAME
from .catalog import catalog
from .certification.facts import evaluate_person
from .certification.standing import standings, with_kept
from .certification.status import NOT_REQUIRED, RESULT_LEVEL, STATUS_LEVEL, Requirement
from .clock import LOCAL_TZ, now
from .courses.service import course_progress, next_module, study_of
from .errors import DomainError
from .extensions import core_rows, db
from .forms import whole_number
from .locks import lock_row
from .notices.models import Message
from .notices.deadlines import OPEN_STATES
from .notices.service import MESSAGE_COUNTS, header_duties, notice_counts, overdue_among, overdue_count_column
from .reports.matrix import STATUS_ORDER
from .trainer_home import trainer_home

bp = Blueprint("home", __name__)

OK_STATUSES = ("有效", "即将到期", NOT_REQUIRED)  # a manager need not act on these (即将到期: the holder renews)


@dataclass(frozen=True)
class Step:
    """One thing to do now, one tap away."""

    kind: str  # what it is, as the list names it: 新业务, 上岗证, 续证, 继续学习, 练习
    title: str
    detail: str
    url: str
    level: str = "off"  # the badge colour of the detail


@dataclass(frozen=True)
class Studies:
    """What one person has studied, read once per page (courses.service.study_of): per course
    (modules studied in their current version, the last time) and the version of each module."""

    user_id: int
    by_course: dict
    versions: dict

    @classmethod
    def of(cls, user_id: int) -> "Studies":
        return cls(user_id, *study_of(user_id))


def resume(studies: Studies, courses: list) -> tuple | None:
    """Where the person really is: the unfinished course they studied last (else the first unfinished
    one) and its first module not yet studied in its current version; None when all are done."""
    studied = studies.by_course
    progress = course_progress(studies.user_id, courses, studied)
    unfinished = [c for c in courses if not progress[c.id].complete and progress[c.id].total]
    if not unfinished:
        return None
    started = [c for c in unfinished if studied.get(c.id, (0, None))[1] is not None]
    course = max(started, key=lambda c: studied[c.id][1]) if started else unfinished[0]
    return course, next_module(course.id, studies.versions), progress[course.id]


def requirement_url(requirement: Requirement, studies: Studies) -> str:
    """The page that meets a requirement of the 上岗证: the course's next module, the scenario, the exam."""
    if requirement.kind == "course":
        info = catalog().course_by_slug.get(requirement.key)
        where = resume(studies, [info]) if info else None
        if where is not None:
            return url_for("courses.module", slug=info.slug, module_slug=where[1].slug)
        return url_for("courses.course", slug=requirement.key)
    if requirement.kind == "scenario":
        return url_for("roleplay.intro", slug=requirement.key)
    return url_for("exams.exam", slug=requirement.key)


def certification_steps(studies: Studies, position: str | None, suspended: bool):
    """The person's certification, its evaluation and the steps still open towards it (or towards its
    renewal while the window is open), each with the page that meets it."""
    certification = catalog().certification_for(position)
    if certification is None:
        return None, None, []
    at = now()
    evaluation = evaluate_person(studies.user_id, certification, suspended, studies.by_course)
    steps = []
    if evaluation.status in ("未开始", "进行中", "已过期", "已撤销"):
        steps = [Step("上岗证", r.label, r.detail, requirement_url(r, studies), RESULT_LEVEL.get(r.detail, "warn"))
                 for r in evaluation.requirements if not r.met]
    elif evaluation.window_open(at):
        steps = [Step("续证", r.label, r.detail, requirement_url(r, studies), RESULT_LEVEL.get(r.detail, "warn"))
                 for r in evaluation.renewal if not r.met]
    return certification, evaluation, steps


def learner_facts(at: datetime) -> tuple[list, str | None, int]:
    """What a learner's page reads of them besides their study, in one statement (header_duties):
    their notices still to learn (pending_for's), their store's name and how many messages they were
    ever sent. The header's overdue banner and unread badge (lms/web.py) are kept from it."""
    duties = header_duties(current_user.id, STORE_NAME, MESSAGE_COUNTS.c.sent, states=OPEN_STATES,
                           store_id=current_user.store_id)
    g.overdue_notices, g.unread_messages = overdue_among(duties.notices, at), duties.unread
    store_name, sent = duties.extra
    return duties.notices, store_name, sent


@bp.route("/")
@login_required
def index():
    """Each role's home: a trainer's 工作台, a manager's and a learner's 今天; an admin's courses."""
    if current_user.role == "trainer":
        return trainer_home()
    if current_user.role == "manager":
        return manager_today()
    if current_user.role == "staff":
        return learner_today()
    return courses()


def learner_today():
    """What a learner does now, in order: overdue then pending new-business notices, the open steps
    to their 上岗证, then where they left off and practice."""
    at = now()
    pending, store_name, sent = learner_facts(at)
    steps = []
    for a in sorted(pending, key=lambda a: (not a.in_state(at, "overdue"), a.due_at)):
        standing = a.standing(at)
        steps.append(Step("新业务", a.title, standing.left, url_for("notices.view", notice_id=a.notice_id),
                          standing.level))
    studies = Studies.of(current_user.id)
    certification, evaluation, cert_steps = certification_steps(studies, current_user.position, bool(g.overdue_notices))
    steps += cert_steps
    content = catalog()
    where = resume(studies, content.courses_for(current_user.position))
    if where is not None:
        course, module, progress = where
        url = url_for("courses.module", slug=course.slug, module_slug=module.slug)
        if all(step.url != url for step in steps):
            steps.append(Step("继续学习", f"{course.title}：{module.title}",
                              f"已学{progress.done}/{progress.total}章", url))
    steps.append(Step("练习", "情景演练", "练一练接待客户，按规范用语回复", url_for("roleplay.catalogue")))
    first_visit = not studies.by_course and not sent  # nothing studied, never a message
    return render_template("home/today.html", steps=steps, certification=certification, evaluation=evaluation,
                           store_name=store_name,
                           level=STATUS_LEVEL.get(evaluation.status if evaluation else "", "off"),
                           first_visit=first_visit)


@dataclass(frozen=True)
class Attention:
    """A person of the store a manager should act on, and why."""

    person: User  # or a row with its id, emp_no, name and position (the manager's list: _store_people)
    reasons: tuple[str, ...]
    status: str
    level: str
    overdue: int


SHOWN_MISSING = 3  # a manager reads the first few and the count; the person page lists every one


def _first_few(missing: list[str]) -> str:
    """「甲、乙、丙」, or 「甲、乙、丙等14项」 when there are more."""
    shown = "、".join(missing[:SHOWN_MISSING])
    return shown if len(missing) <= SHOWN_MISSING else f"{shown}等{len(missing)}项"


def attention_rows(people: list, late_of: dict[int, int] | None = None) -> list[Attention]:
    """The people who are overdue on a new-business notice or not certified, most urgent first (the
    matrix's order: lms/reports/matrix.py), from their kept standings (certification/standing.py).
    `late_of`: each person's overdue notices, where the caller read them with the people
    (`_store_people`); else they are counted here."""
    if late_of is None:
        late_of = {user_id: late for user_id, (_, late) in notice_counts([p.id for p in people]).items()}
    found = standings(people, {user_id for user_id, late in late_of.items() if late})
    rows = []
    for person in people:
        standing, late = found[person.id], late_of.get(person.id, 0)
        reasons = []
        if late:
            reasons.append(f"新业务逾期{late}条")
        if standing.status not in OK_STATUSES:
            reasons.append(f"上岗证{standing.status}"
                           + (f"：还差{_first_few(list(standing.missing))}" if standing.missing else ""))
        if reasons:
            rows.append(Attention(person, tuple(reasons), standing.status, STATUS_LEVEL[standing.status], late))
    order = {status: i for i, status in enumerate(STATUS_ORDER)}
    return sorted(rows, key=lambda a: (not a.overdue, order.get(a.status, 99), a.person.emp_no))


@lru_cache(maxsize=1)
def _people_of_store():
    """The statement of `_store_people`, built once (building it cost more than running it)."""
    return with_kept(select(User.id, User.emp_no, User.name, User.position, _REMINDED_TODAY,
                            overdue_count_column()).where(
        User.store_id == bindparam("store_id"), User.active.is_(True), User.id != bindparam("me"))
        .order_by(User.emp_no))


def _store_people(store_id: int) -> list:
    """The active people of the manager's own store but the manager, as rows of what the page shows
    of them (id, 工号, name, position), each with their kept standing (certification/standing.py),
    how many of their notices are overdue (overdue_count_column) and whether they were reminded
    today, in one statement: the page lists up to a whole store on every visit."""
    return core_rows(_people_of_store(), {"store_id": store_id, "me": current_user.id,
                                          "since": _today_start(), "at": now()}).all()


@dataclass(frozen=True)
class StoreHead:
    """What the page shows of the manager's store: its id and name."""

    id: int
    name: str


def manager_today():
    """Who in the manager's store is overdue or not certified, and what to do about it."""
    if current_user.store_id is None:
        return courses()
    # A manager's scope is their own store (accounts/scoping.py), so its name is read with the
    # header's duties, in their statement, rather than loading the store.
    duties = header_duties(current_user.id, STORE_NAME, store_id=current_user.store_id)
    g.overdue_notices, g.unread_messages = duties.notices, duties.unread  # the header's (lms/web.py)
    store = StoreHead(current_user.store_id, duties.extra[0])
    people = _store_people(store.id)
    rows = attention_rows(people, {p.id: p.late for p in people})
    reminded = {r.person.id for r in rows if r.person.reminded}
    return render_template("home/manager.html", store=store, rows=rows, total=len(people), reminded=reminded)


REMINDER_TITLE = "营业厅经理提醒"


def _today_start() -> datetime:
    local = now().astimezone(LOCAL_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


_SENT_TODAY = and_(Message.title == REMINDER_TITLE, Message.created_at >= bindparam("since"))  # a reminder of today
_REMINDED = select(Message.user_id).where(Message.user_id.in_(bindparam("user_ids", expanding=True)), _SENT_TODAY)
# the same, of the person of a statement's row (the manager's list)
_REMINDED_TODAY = exists().where(Message.user_id == User.id, _SENT_TODAY).label("reminded")


def reminded_today(user_ids: list[int]) -> set[int]:
    """The people the store manager already reminded today (one reminder a person a day)."""
    if not user_ids:
        return set()
    return set(core_rows(_REMINDED, {"user_ids": list(user_ids), "since": _today_start()}).scalars())


@bp.route("/today/remind", methods=["POST"])
@role_required("manager")
def remind():
    """Send a person of the manager's store (the form's `user_id`: the list on 今天 is one form,
    each 提醒 button naming its person) an in-app reminder of what they must do (once a day)."""
    user_id = whole_number(request.form.get("user_id"))
    if user_id is None:
        abort(400)
    scope = Scope.of(current_user)
    person = scope.person(user_id)
    lock_row(User, person.id)  # a double tap sends one reminder: the second sees the first's
    if person.id in reminded_today([person.id]):
        raise DomainError(f"今天已经提醒过{person.name}了，明天可以再提醒。", url_for("home.index"))
    row = next(iter(attention_rows([person])), None)
    if row is None:
        raise DomainError(f"{person.name}没有逾期的新业务，上岗证也没有问题，不需要提醒。", url_for("home.index"))
    db.session.add(Message(user_id=person.id, title=REMINDER_TITLE,
                           body=f"{current_user.name}提醒您：{'；'.join(row.reasons)}。请打开「今天」按顺序完成。",
                           link=url_for("home.index")))
    flash(f"已提醒{person.name}（站内消息）。", "success")
    return redirect(url_for("home.index"))


@bp.route("/my-courses")
@login_required
def courses():
    """Show the person's pending notices, courses with a progress bar each, and their 上岗证 status."""
    content = catalog()
    courses = content.courses_for(current_user.position, everyone=current_user.role in ("trainer", "admin"))
    studies = Studies.of(current_user.id)  # for the progress bars, where to go on and the certification alike
    studied = studies.by_course
    progress = course_progress(current_user.id, courses, studied)
    where = resume(studies, courses)
    at = now()
    pending, store_name, _ = learner_facts(at)
    certification = content.certification_for(current_user.position)
    cert_status = (evaluate_person(current_user.id, certification, bool(g.overdue_notices), studied).status
                   if certification else None)
    return render_template("courses/home.html", courses=courses, progress=progress, where=where,
                           store_name=store_name,
                           pending=pending, now=at,
                           certification=certification, cert_status=cert_status,
                           cert_level=STATUS_LEVEL.get(cert_status or "", "off"))
