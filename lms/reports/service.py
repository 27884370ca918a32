"""Store page data: the staff of a store with their course progress, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import selectinload

from ..accounts.constants import POSITIONS
from ..accounts.models import Leave, Store, User
from ..accounts.scoping import Scope
from ..catalog import catalog
from ..certification.status import NOT_REQUIRED
from ..courses.service import progress_by_course
from ..extensions import db
from .rules import is_new_hire


@dataclass(frozen=True)
class StaffRow:
    person: User
    studied: int
    total: int
    completed_courses: int
    courses: int
    leave: Leave | None
    new_hire: bool
    certificate: str = ""  # 上岗证 status (certification.status)


def store_rows(scope: Scope, store: Store, today: date) -> list[StaffRow]:
    """Return the active staff of a store in position order, with progress, leave and new-hire flags."""
    people = sorted(
        db.session.scalars(scope.people().where(User.store_id == store.id, User.active.is_(True))
                           .options(selectinload(User.leaves))),
        key=lambda p: (POSITIONS.index(p.position) if p.position in POSITIONS else len(POSITIONS), p.emp_no),
    )
    content = catalog()
    totals = content.module_totals
    done = progress_by_course([p.id for p in people])
    certificates = certificate_statuses(people)
    by_position: dict[str | None, list[tuple[int, int]]] = {}  # (course id, modules) of the position's courses
    rows = []
    for person in people:
        mine = by_position.get(person.position)
        if mine is None:
            mine = by_position[person.position] = [(c.id, totals.get(c.id, 0))
                                                   for c in content.courses_for(person.position)]
        studied = completed = 0
        for course_id, total in mine:
            n = min(done.get((person.id, course_id), 0), total)
            studied += n
            completed += 1 if total and n >= total else 0
        rows.append(StaffRow(person, studied, sum(t for _, t in mine), completed, len(mine), person.on_leave(today),
                             is_new_hire(person.hire_date, today), certificates.get(person.id, NOT_REQUIRED)))
    return rows


def region_figures() -> dict[int, tuple[int, int]]:
    """Per store: people holding a valid certificate, and people with an overdue notice (2 queries)."""
    from sqlalchemy import distinct, func, select

    from ..certification.models import Certificate
    from ..clock import now
    from ..notices.service import overdue_by_store

    at = now()
    valid = dict(db.session.execute(
        select(User.store_id, func.count(distinct(User.id))).join(Certificate, Certificate.user_id == User.id)
        .where(User.active.is_(True), Certificate.revoked_at.is_(None), Certificate.expires_at > at)
        .group_by(User.store_id)).all())
    overdue = overdue_by_store()
    return {store_id: (valid.get(store_id, 0), overdue.get(store_id, 0)) for store_id in set(valid) | set(overdue)}


def certificate_statuses(people: list[User]) -> dict[int, str]:
    """Each person's status for their position's certification, as the matrix shows it (无需认证
    where the position needs none), from their kept standings (certification/standing.py), in a
    fixed number of queries."""
    if not people:
        return {}
    from ..certification.standing import standings
    from ..notices.service import overdue_people

    found = standings(people, overdue_people([p.id for p in people]))
    return {user_id: standing.status for user_id, standing in found.items()}
