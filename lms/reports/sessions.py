"""Training sessions: recording them, and the weekly rule (「营业厅经理每周组织全员培训不少于1次」)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for
from sqlalchemy import select

from .. import audit
from ..accounts.models import Store, User
from ..clock import LOCAL_TZ, now
from ..errors import AlreadyDone, DomainError
from ..extensions import db
from ..locks import lock_row
from .models import SessionAttendance, TrainingSession




def record_session(store_id: int, trainer_name: str, held_at: datetime, place: str, content: str,
                   assessment: str, attendee_ids: list[int], actor_id: int) -> TrainingSession:
    """Record a session; attendees must be active people of that store. The same session (store,
    time and content) is recorded once: the store's row is locked first, so of two taps at the same
    moment the second finds the first's."""
    if held_at > now() + timedelta(minutes=5):
        raise DomainError("培训时间不能晚于现在（先培训，后登记）。")
    if not attendee_ids:
        raise DomainError("请选择参加培训的人员。")
    valid = set(db.session.scalars(select(User.id).where(User.id.in_(attendee_ids), User.store_id == store_id,
                                                         User.active.is_(True))))
    if valid != set(attendee_ids):
        raise DomainError("参加人员必须是本营业厅的在岗人员。")
    lock_row(Store, store_id)
    if db.session.scalar(select(TrainingSession.id).where(
            TrainingSession.store_id == store_id, TrainingSession.held_at == held_at,
            TrainingSession.content == content.strip()).limit(1)) is not None:
        raise AlreadyDone("这次培训已经登记过了（可能是重复点击），没有再登记一次。",
                          url_for("reports.sessions", store_id=store_id))
    session = TrainingSession(store_id=store_id, trainer_name=trainer_name.strip()[:50], held_at=held_at,
                              place=place.strip()[:100], content=content.strip(), assessment=assessment.strip(),
                              recorded_by=actor_id)
    session.attendees = [SessionAttendance(user_id=u) for u in sorted(valid)]
    db.session.add(session)
    db.session.flush()
    audit.record("session.recorded", actor_id=actor_id, subject_id=None, object_type="session",
                 object_id=session.id, store_id=store_id, attendees=len(valid))
    return session


def sessions_attended(user_id: int) -> list[TrainingSession]:
    return db.session.scalars(select(TrainingSession).join(SessionAttendance).where(
        SessionAttendance.user_id == user_id).order_by(TrainingSession.held_at)).all()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Week:
    start: date
    sessions: int

    @property
    def met(self) -> bool:
        return self.sessions >= 1


def weekly(store_id: int, weeks: int = 8, today: date | None = None) -> list[Week]:
    """The last `weeks` weeks (Monday to Sunday, Beijing time), newest first, with sessions held."""
    today = today or now().astimezone(LOCAL_TZ).date()
    first = week_start(today) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, datetime.min.time(), LOCAL_TZ)
    counts: dict[date, int] = {}
    for held_at in db.session.scalars(select(TrainingSession.held_at).where(
            TrainingSession.store_id == store_id, TrainingSession.held_at >= since)):
        start = week_start(held_at.astimezone(LOCAL_TZ).date())
        counts[start] = counts.get(start, 0) + 1
    return [Week(week_start(today) - timedelta(weeks=i), counts.get(week_start(today) - timedelta(weeks=i), 0))
            for i in range(weeks)]
