"""What the 48-hour rule does when other areas report or ask (lms/events.py): assignments follow
people in and out of scope, a passed notice check is recorded, an overdue notice blocks other
training, and pending notices come first after log-in."""

from __future__ import annotations

from flask import url_for

from .. import events
from .service import active_notices, blocking, pending_for, reconcile_person, record_check


@events.person_changed.connect
def _person_changed(sender, users: list, **_) -> None:
    notices = active_notices() if len(users) > 1 else None  # a roster import: read the notices once
    for user in users:
        reconcile_person(user, notices)


@events.attempt_passed.connect
def _attempt_passed(sender, attempt, **_) -> None:
    if attempt.kind == "notice":
        record_check(attempt)


@events.start_requested.connect
def _start_requested(sender, user_id: int, module_id: int | None = None, **_):
    assignment = blocking(user_id, module_id)
    if assignment is None:
        return None
    return events.Refusal(f"请先完成已逾期的新业务培训「{assignment.title}」，完成后才能开始其他培训。",
                          url_for("notices.view", notice_id=assignment.notice_id))


@events.landing_requested.connect
def _landing_requested(sender, user_id: int, **_):
    return url_for("notices.index") if pending_for(user_id) else None
