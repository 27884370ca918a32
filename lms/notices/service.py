"""New-business notice use cases: publish with fan-out, keep assignments in step with people,
study, check, attest, withdraw; what blocks a person."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from flask import url_for
from sqlalchemy import bindparam, false, func, insert, select, true, update

from .. import audit
from ..accounts.models import Leave, User
from ..accounts.scoping import Scope
from ..clock import now
from ..courses.models import Module, ModuleProgress
from ..dbtypes import UTCDateTime
from ..errors import AlreadyDone, DomainError
from ..extensions import core_rows, db
from ..locks import NOTICE_FAN_OUT, advisory_lock, lock_row
from ..sanitize import markdown_problem, render_markdown
from . import deadlines, tally
from .deadlines import DONE_STATES, OPEN_STATES, schedule
from .models import Message, Notice, NoticeAssignment

MAX_BACKDATE = timedelta(days=7)
MAX_SCHEDULE = timedelta(days=30)
REPEAT_WINDOW = timedelta(minutes=10)  # the same notice from the same person within it is a second tap, not a second notice
CHECK_QUESTIONS = 3
STORE_ROLES = ("staff", "manager")




class NoticeRefusal(DomainError):
    """A notice that cannot be published as written; `field` names the form field it concerns."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NoticeData:
    title: str
    body_md: str
    module_id: int | None
    check_category: str | None
    store_ids: list[int]
    positions: list[str]
    issued_at: datetime | None


def _leaves_by_user(user_ids: list[int]) -> dict[int, list[tuple]]:
    leaves: dict[int, list[tuple]] = {}
    for start in range(0, len(user_ids), 900):
        chunk = user_ids[start:start + 900]
        for user_id, a, b in db.session.execute(
                select(Leave.user_id, Leave.start_date, Leave.end_date).where(Leave.user_id.in_(chunk))):
            leaves.setdefault(user_id, []).append((a, b))
    return leaves


def _scope_query(store_ids: list[int], positions: list[str]):
    """The people a notice of this scope reaches now (empty lists: every store, every position)."""
    stmt = select(User.id, User.store_id, User.hire_date).where(
        User.active.is_(True), User.store_id.is_not(None), User.role.in_(STORE_ROLES))
    if store_ids:
        stmt = stmt.where(User.store_id.in_(store_ids))
    if positions:
        stmt = stmt.where(User.position.in_(positions))
    return stmt


def audience(store_ids: list[int], positions: list[str]) -> int:
    """How many people a notice of this scope would be assigned to if it were published now."""
    return db.session.scalar(select(func.count()).select_from(_scope_query(store_ids, positions).subquery()))


def publish(data: NoticeData, actor_id: int) -> tuple[Notice, int]:
    """Publish a notice and assign it to everyone in scope, in the same transaction."""
    at = now()
    issued = data.issued_at or at
    if issued < at - MAX_BACKDATE:
        raise NoticeRefusal("发布时间最多只能往前补填7天。", "issued_at")
    if issued > at + MAX_SCHEDULE:
        raise NoticeRefusal("定时发布最多提前30天。", "issued_at")
    if not data.title.strip() or not data.body_md.strip():
        raise NoticeRefusal("请填写标题和通知内容。", "body")
    if problem := markdown_problem(data.body_md):
        raise NoticeRefusal(f"通知内容{problem}。", "body")
    _check_steps(data)
    advisory_lock(NOTICE_FAN_OUT)  # a person added at the same moment is seen by one side or the other
    if (twin := _just_published(data, actor_id, at)) is not None:
        raise AlreadyDone("这条通知刚刚已经发布过了（可能是重复点击），没有再发一次。",
                          url_for("notices.board_page", notice_id=twin.id))
    notice = Notice(title=data.title.strip()[:200], body_md=data.body_md, body_html=render_markdown(data.body_md),
                    module_id=data.module_id, check_category=data.check_category or None,
                    store_ids=sorted(set(data.store_ids)), positions=sorted(set(data.positions)),
                    issued_at=issued, published_by=actor_id, created_at=at)
    db.session.add(notice)
    db.session.flush()
    people = db.session.execute(_scope_query(notice.store_ids, notice.positions)).all()
    leaves = _leaves_by_user([p.id for p in people])
    rows = []
    for person in people:
        begin, due = schedule(issued, person.hire_date, leaves.get(person.id, ()))
        rows.append({"notice_id": notice.id, "user_id": person.id, "store_id": person.store_id, "assigned_at": at,
                     "start_at": issued, "available_from": begin, "due_at": due})
    if rows:
        db.session.execute(insert(NoticeAssignment), rows)  # one statement, however many people
        tally.count_new(db.session, rows, issued)
    audit.record("notice.published", actor_id=actor_id, subject_id=None, object_type="notice",
                 object_id=notice.id, title=notice.title, assigned=len(rows), issued_at=issued.isoformat())
    return notice, len(rows)


def _just_published(data: NoticeData, actor_id: int, at: datetime) -> Notice | None:
    """The notice this person published within REPEAT_WINDOW with the same text, step and scope (and
    not withdrawn), if any: asked under the fan-out lock, so of two taps at once the second finds the
    first's. (One sent at a wrong time is withdrawn before it is sent again.)"""
    candidates = db.session.scalars(select(Notice).where(
        Notice.published_by == actor_id, Notice.title == data.title.strip()[:200],
        Notice.withdrawn_at.is_(None), Notice.created_at >= at - REPEAT_WINDOW))
    same = (data.body_md, data.module_id, data.check_category or None, sorted(set(data.store_ids)),
            sorted(set(data.positions)))
    return next((n for n in candidates
                 if (n.body_md, n.module_id, n.check_category, n.store_ids, n.positions) == same), None)


def _certification_category(category: str) -> bool:
    from ..exams.definitions import is_certification_category
    from ..exams.service import certification_draws

    return is_certification_category(category, certification_draws())


def _gradable():
    """The questions a notice's check may ask: active and graded by the machine (no essays)."""
    from ..exams.models import Question

    return Question.active.is_(True), Question.qtype.not_in(("essay", "description"))


def check_categories() -> list[tuple[str, int]]:
    """The bank categories a notice's short check may draw, with how many questions each holds:
    practice ones only (a check is retaken until passed and shows its score, so a certification item
    in it would leak the certification key), and only those with a question the machine grades."""
    from ..exams.models import Question

    counts = db.session.execute(select(Question.category, func.count()).where(*_gradable())
                                .group_by(Question.category).order_by(Question.category)).all()
    return [(c, n) for c, n in counts if not _certification_category(c)]


def _check_pool(category: str) -> list[int]:
    from ..exams.models import Question

    if _certification_category(category):  # a notice published before the pools were kept apart
        return []
    return db.session.scalars(select(Question.id).where(*_gradable(), Question.category == category)).all()


def _check_steps(data: NoticeData) -> None:
    """Refuse a notice whose steps some people in scope could not complete."""
    if data.module_id is not None:
        module = db.session.get(Module, data.module_id)
        if module is None or not module.active or not module.course.active:
            raise NoticeRefusal("所选章节已下线，请另选。", "module_id")
        limited = module.course.positions
        if limited and (not data.positions or set(data.positions) - set(limited)):
            raise NoticeRefusal(f"所选章节所在课程只对{'、'.join(limited)}开放，请缩小岗位范围或另选章节。", "module_id")
    if data.check_category and _certification_category(data.check_category):
        raise NoticeRefusal("所选题目类别是上岗认证考试的题库，不能用于通知小测，请选练习题目类别。", "check_category")
    if data.check_category and not _check_pool(data.check_category):
        raise NoticeRefusal("所选题目类别里没有可自动评分的题，无法出小测。", "check_category")


WITHDRAWN = "通知撤回"  # cancel_reason of the assignments still open when their notice was withdrawn


def withdraw(notice: Notice, reason: str, actor_id: int) -> None:
    """Withdraw a notice (it is never deleted): nobody is chased for it any more.

    Every assignment still open is cancelled with it, so "cancelled" is a state of the assignment
    itself and no query needs to look at the notice to know who is still to learn it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("撤回通知必须填写原因。")
    advisory_lock(NOTICE_FAN_OUT)  # nobody's assignment of it opens, moves or completes meanwhile
    db.session.refresh(notice)  # as it stands now: a second withdrawal at the same moment waited for the first
    if notice.withdrawn_at is not None:
        raise DomainError("这条通知已经撤回。")
    at = now()
    notice.withdrawn_at, notice.withdrawn_by, notice.withdraw_reason = at, actor_id, reason[:500]
    a = NoticeAssignment
    db.session.execute(update(a).where(a.notice_id == notice.id, a.in_state(at, *OPEN_STATES))
                       .values(cancelled_at=at, cancel_reason=WITHDRAWN))
    tally.cancel_open(db.session, notice.id)
    audit.record("notice.withdrawn", actor_id=actor_id, subject_id=None, object_type="notice", object_id=notice.id,
                 reason=notice.withdraw_reason)
    db.session.flush()


def reconcile_person(user: User, notices: list[Notice] | None = None) -> None:
    """Bring a person's assignments in line with who and where they are now (event-driven).

    Called when a person is created, edited (store or position), deactivated or reactivated,
    and when their leave changes. People who come into a notice's scope later get it with the
    clock starting then; people who leave the scope have theirs cancelled (kept on record);
    open assignments follow leave changes.
    """
    at = now()
    advisory_lock(NOTICE_FAN_OUT)
    if notices is None:
        notices = active_notices()
    if not notices:
        return
    mine = {a.notice_id: a for a in db.session.scalars(
        select(NoticeAssignment).where(NoticeAssignment.user_id == user.id))}
    leaves = [(lv.start_date, lv.end_date) for lv in user.leaves]
    in_store = user.active and user.role in STORE_ROLES and user.store_id is not None
    for notice in notices:
        assignment = mine.get(notice.id)
        covered = in_store and notice.covers(user.store_id, user.position)
        if assignment is None:
            if covered:
                start = max(notice.issued_at, at)
                begin, due = schedule(start, user.hire_date, leaves)
                db.session.add(NoticeAssignment(
                    notice_id=notice.id, user_id=user.id, store_id=user.store_id, assigned_at=at, start_at=start,
                    available_from=begin, due_at=due))
            continue
        if assignment.state(at) in DONE_STATES:  # a completion stays as it is, wherever the person goes
            continue
        if not covered and assignment.cancelled_at is None:
            assignment.cancelled_at = at
            assignment.cancel_reason = "停用" if not user.active else "调出范围"
            continue
        if covered:
            if assignment.cancelled_at is not None:  # back in scope: the clock starts again now
                assignment.cancelled_at, assignment.cancel_reason = None, ""
                assignment.start_at, assignment.assigned_at = max(notice.issued_at, at), at
            assignment.store_id = user.store_id
            assignment.available_from, assignment.due_at = schedule(assignment.start_at, user.hire_date, leaves)
    db.session.flush()


def active_notices() -> list[Notice]:
    """Notices not withdrawn (the ones people can still be assigned)."""
    return db.session.scalars(select(Notice).where(Notice.withdrawn_at.is_(None))).all()


def _issued_in(at, *states: str) -> tuple:
    """Assignments of issued notices (the statement joins Notice) in one of `states` at `at`."""
    return NoticeAssignment.in_state(at, *states), Notice.out_at(at)


def _mine_where(*states: str) -> tuple:
    """A person's assignments of issued notices in one of `states`: the person (`user_id`) and the
    moment (`at`) are parameters bound when the statement runs."""
    return NoticeAssignment.user_id == bindparam("user_id"), *_issued_in(bindparam("at", type_=UTCDateTime()), *states)


@dataclass(frozen=True)
class OpenNotice:
    """One of a person's notices still to learn, as pages show it: the assignment's moments (its
    state and time left follow from them by the rule in deadlines, as for the assignment itself)
    and the notice's title and module. Read as plain columns: every page a learner opens asks for
    these (the header's overdue banner), and ORM objects with the notice's whole text cost more."""

    assignment_id: int
    notice_id: int
    title: str
    module_id: int | None
    available_from: datetime
    due_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None

    def in_state(self, at: datetime, *states: str) -> bool:
        """Tell whether the assignment is in one of `states` at `at`."""
        return deadlines.state(self, at) in states

    def standing(self, at: datetime) -> deadlines.Standing:
        """State, label, badge class and time left, for a page."""
        return deadlines.standing(self, at)


@lru_cache(maxsize=None)
def _mine(*states: str):
    """The statement of those assignments with their notices' titles, most urgent first, built once
    per set of states (they run on every learner page; building the state conditions cost more
    than running them)."""
    a = NoticeAssignment
    return (select(a.id, a.notice_id, Notice.title, Notice.module_id, a.available_from, a.due_at, a.completed_at,
                   a.cancelled_at).join(Notice).where(*_mine_where(*states)).order_by(a.due_at, a.id))


@lru_cache(maxsize=None)
def _any_overdue():
    return select(select(NoticeAssignment.id).join(Notice).where(*_mine_where("overdue")).exists())


def _now_for(user_id: int) -> dict:
    return {"user_id": user_id, "at": now()}


def pending_for(user_id: int) -> list[OpenNotice]:
    """The person's notices still to learn, most urgent first."""
    return [OpenNotice(*row) for row in core_rows(_mine(*OPEN_STATES), _now_for(user_id))]


def overdue_among(pending: list[OpenNotice], at: datetime) -> list[OpenNotice]:
    """Those of a person's notices still to learn (pending_for) that are past their deadline at `at`:
    what overdue_for reads, without reading again."""
    return [a for a in pending if a.in_state(at, "overdue")]


def overdue_for(user_id: int) -> list[OpenNotice]:
    """The person's notices past their deadline and not done (these block other training)."""
    return [OpenNotice(*row) for row in core_rows(_mine("overdue"), _now_for(user_id))]


def is_suspended(user_id: int) -> bool:
    """Tell whether the person has an overdue notice (their certificate shows 已暂停)."""
    return bool(db.session.scalar(_any_overdue(), _now_for(user_id)))


def overdue_people(user_ids: list[int]) -> set[int]:
    """Those of these people who have an overdue notice (one query)."""
    if not user_ids:
        return set()
    a = NoticeAssignment
    return set(db.session.scalars(select(a.user_id).where(a.user_id.in_(user_ids), a.in_state(now(), "overdue"))))


def overdue_by_store() -> dict[int, int]:
    """Per store, how many people have an overdue notice (one grouped query)."""
    a = NoticeAssignment
    return dict(db.session.execute(select(a.store_id, func.count(func.distinct(a.user_id)))
                                   .where(a.in_state(now(), "overdue")).group_by(a.store_id)).all())


@lru_cache(maxsize=None)
def _open_states_of_people():
    """(person, state) of the open assignments of issued notices of some people (`user_ids`) at a
    moment (`at`); built once, as it runs on every manager's home and store page."""
    a, at = NoticeAssignment, bindparam("at", type_=UTCDateTime())
    return (select(a.user_id, a.state(at)).join(Notice)
            .where(a.user_id.in_(bindparam("user_ids", expanding=True)), *_issued_in(at, *OPEN_STATES)))


@lru_cache(maxsize=None)
def overdue_count_column():
    """How many of the person's issued notices are overdue (notice_counts' second count), as a column
    `late` of a statement whose rows are people (it selects from User), at a moment (`at`) bound when
    it runs: a page that lists a store's people reads it with them in one statement (the manager's
    今天); built once."""
    a, at = NoticeAssignment, bindparam("at", type_=UTCDateTime())
    return (select(func.count()).select_from(a).join(Notice)
            .where(a.user_id == User.id, *_issued_in(at, "overdue")).scalar_subquery().label("late"))


def notice_counts(user_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per person: issued notices still to learn, and how many of those are overdue (one query;
    overdue_count_column reads the second with a statement of people)."""
    if not user_ids:
        return {}
    counts: dict[int, tuple[int, int]] = {}
    for user_id, state in core_rows(_open_states_of_people(), {"user_ids": list(user_ids), "at": now()}):
        open_, overdue = counts.get(user_id, (0, 0))
        counts[user_id] = (open_ + 1, overdue + (state == "overdue"))
    return counts


# A person's (`user_id`) unread messages and all they were ever sent, as a subquery for a page's
# one statement of small facts (lms/home.py): the header's badge, and whether anything came yet.
MESSAGE_COUNTS = select(func.count().filter(Message.read_at.is_(None)).label("unread"), func.count().label("sent")
                        ).select_from(Message).where(Message.user_id == bindparam("user_id")).subquery()
_UNREAD = select(MESSAGE_COUNTS.c.unread)


def unread_count(user_id: int) -> int:
    """How many in-app messages the person has not read (the header's badge, on every page)."""
    return core_rows(_UNREAD, {"user_id": user_id}).scalar() or 0


@lru_cache(maxsize=None)
def _duties(states: tuple[str, ...], *extra):
    """overdue_for (or pending_for, or another set of `states`) and unread_count as one statement
    (built once per set of states and `extra` columns): the message counts' one row, with the
    `extra` columns, joined to each of the person's notices in those states, or to none (its columns
    then NULL)."""
    notices = _mine(*states).order_by(None).subquery()
    return (select(MESSAGE_COUNTS.c.unread, *extra, *notices.c).select_from(MESSAGE_COUNTS)
            .outerjoin(notices, true()).order_by(notices.c.due_at, notices.c.id))


class Duties(NamedTuple):
    notices: list[OpenNotice]  # the person's notices in the states asked for (the overdue ones by default)
    unread: int  # how many messages they have not read (unread_count: the header's badge)
    extra: tuple  # the values of the columns a page asked for too


def header_duties(user_id: int, *extra, states: tuple[str, ...] = ("overdue",), **params) -> Duties:
    """What every page's header shows a logged-in person, in one statement: their overdue notices
    (overdue_for: the blocking banner) and how many messages they have not read (unread_count). A
    page that lists the person's notices in other `states` reads those instead (pending_for's:
    OPEN_STATES), and one that needs `extra` columns of one value reads them in the same statement
    (the 今天 pages: the person's store's name), with the parameters they take (`params`)."""
    rows = core_rows(_duties(tuple(states), *extra), {**params, **_now_for(user_id)}).all()
    start = 1 + len(extra)
    return Duties([OpenNotice(*row[start:]) for row in rows if row[start] is not None], rows[0][0] or 0,
                  tuple(rows[0][1:start]))


def blocking(user_id: int, module_id: int | None = None) -> OpenNotice | None:
    """The overdue notice that stops the person starting other training (None if nothing blocks).

    Studying the module of any notice the person still has to learn is always allowed.
    """
    pending = pending_for(user_id)
    overdue = overdue_among(pending, now())
    if not overdue:
        return None
    if module_id is not None and module_id in {a.module_id for a in pending}:
        return None
    return overdue[0]


def assignment_for(notice: Notice, user_id: int) -> NoticeAssignment | None:
    return db.session.scalar(select(NoticeAssignment).where(
        NoticeAssignment.notice_id == notice.id, NoticeAssignment.user_id == user_id))


def module_done(assignment: NoticeAssignment) -> bool:
    """Tell whether the notice's module (if any) is studied in its current version."""
    module = assignment.notice.module
    if module is None:
        return True
    return db.session.scalar(select(func.count()).select_from(ModuleProgress).where(
        ModuleProgress.user_id == assignment.user_id, ModuleProgress.module_id == module.id,
        ModuleProgress.version == module.version)) > 0


def visible_notices(scope: Scope):
    """Select the notices a viewer may see besides their own: every one for trainers and admins
    (scheduled ones included: they write them), for a manager the published ones that reach their
    store (through Scope, like every manager query), for staff none."""
    if scope.all_stores:
        return select(Notice)
    if scope.role != "manager":
        return select(Notice).where(false())
    reached = scope.restrict(select(NoticeAssignment.notice_id), NoticeAssignment.store_id)
    return select(Notice).where(Notice.id.in_(reached), Notice.out_at(now()))


def may_see_notice(notice: Notice, scope: Scope, assigned: bool = False) -> bool:
    """The one rule of who may open a notice (its page, board and sign-in sheet): trainers and admins
    always; anyone else only once it is published (its issue time has come), and only if it is theirs
    to learn (`assigned`) or, for a manager, it reaches their store."""
    if scope.all_stores:
        return True
    if not notice.out_at(now()):
        return False
    return assigned or db.session.scalar(
        visible_notices(scope).where(Notice.id == notice.id).with_only_columns(Notice.id)) is not None


def mark_read(assignment: NoticeAssignment) -> None:
    """Record that the person has read the notice (its text is part of the training): the 「我已阅读」 step."""
    at = now()
    if not assignment.notice.out_at(at) or assignment.state(at) == "cancelled":
        raise DomainError("这条通知现在不需要您学习。")
    if assignment.studied_at is None:
        assignment.studied_at = at
        db.session.flush()


def start_check(assignment: NoticeAssignment):
    """Start (or resume) the notice's short check; None if it has none or no questions."""
    from ..exams.models import Attempt
    from ..exams.service import create_attempt

    notice = assignment.notice
    if not notice.check_category:
        return None
    lock_row(User, assignment.user_id)  # a double tap waits here, then finds the first one's attempt
    existing = db.session.scalar(select(Attempt).where(
        Attempt.user_id == assignment.user_id, Attempt.notice_id == notice.id, Attempt.status == "open"))
    if existing is not None:
        return existing
    pool = _check_pool(notice.check_category)
    if not pool:
        return None
    rng = random.Random(secrets.randbits(64))
    chosen = rng.sample(list(pool), min(CHECK_QUESTIONS, len(pool)))
    return create_attempt(assignment.user_id, "notice", chosen, rng, notice_id=notice.id, pass_mark=60)


def check_passed(assignment: NoticeAssignment) -> bool:
    """The check is passed, or there is none (its questions may have been retired since)."""
    category = assignment.notice.check_category
    return category is None or assignment.check_passed_at is not None or not _check_pool(category)


def record_check(attempt) -> None:
    """After a notice check is handed in: a pass is recorded on the assignment."""
    if not attempt.passed or attempt.notice_id is None:
        return
    assignment = db.session.scalar(select(NoticeAssignment).where(
        NoticeAssignment.notice_id == attempt.notice_id, NoticeAssignment.user_id == attempt.user_id))
    if assignment is not None and assignment.check_passed_at is None:
        assignment.check_passed_at = attempt.submitted_at
        db.session.flush()


def attest(assignment: NoticeAssignment) -> bool:
    """「已学习并掌握」: record the completion once; return whether it was recorded now."""
    if assignment.completed_at is not None:
        return False
    # completions run together, but not beside a withdrawal or a change of people (which move the
    # same counts): without this, one could hold its row and wait for a count the other holds
    advisory_lock(NOTICE_FAN_OUT, shared=True)
    db.session.flush()
    db.session.refresh(assignment, with_for_update=True)  # as it is now, held until commit: its counts move with it
    if assignment.completed_at is not None:
        return False
    if assignment.state(now()) == "cancelled":
        raise DomainError("这条通知已不需要您学习。")
    if assignment.studied_at is None or not module_done(assignment):
        raise DomainError("请先学习通知内容和关联章节。")
    if not check_passed(assignment):
        raise DomainError("请先通过本通知的小测。")
    at = now()
    before = tally.facts_of(assignment)
    claimed = db.session.execute(
        NoticeAssignment.__table__.update()
        .where(NoticeAssignment.id == assignment.id, NoticeAssignment.completed_at.is_(None))
        .values(completed_at=at)).rowcount
    db.session.refresh(assignment)
    if claimed:
        tally.moved(db.session, before, tally.facts_of(assignment), assignment.notice.issued_at)
        audit.record("notice.completed", actor_id=assignment.user_id, object_type="notice",
                     object_id=assignment.notice_id, at=at, due=assignment.due_at.isoformat(),
                     on_time=assignment.state(at) == "done_on_time")
        db.session.flush()
    return bool(claimed)


def scheduled_notices() -> list[Notice]:
    """Notices waiting for their issue time (定时发布), not withdrawn, the soonest first."""
    return db.session.scalars(select(Notice).where(~Notice.out_at(now()), Notice.withdrawn_at.is_(None))
                              .order_by(Notice.issued_at)).all()
