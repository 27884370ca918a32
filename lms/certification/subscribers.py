"""What certification does when other areas report progress (lms/events.py): issue or renew the
上岗证 the moment the last requirement is met, say since when exam attempts count, and queue the
expiry reminders when the sweep asks."""

from __future__ import annotations

from .. import events
from . import reminders
from .service import after_progress, attempts_reset_at


@events.module_completed.connect
def _module_completed(sender, user_id: int, module, **_) -> None:
    after_progress(user_id)


@events.attempt_passed.connect
def _attempt_passed(sender, attempt, **_) -> None:
    if attempt.kind == "exam":
        after_progress(attempt.user_id)


@events.run_finished.connect
def _run_finished(sender, run, passed: bool, **_) -> None:
    if passed and run.typed:  # only a typed run counts towards certification
        after_progress(run.user_id)


@events.attempts_counted_from.connect
def _attempts_counted_from(sender, user_id: int, exam_slug: str, **_):
    return attempts_reset_at(user_id, exam_slug)


@events.reminders_requested.connect
def _reminders_requested(sender, at, **_) -> int:
    return reminders.enqueue(at)


@events.reminder_stale.connect
def _reminder_stale(sender, row, **_):
    if row.certificate_id is not None:
        return reminders.stale(row.certificate_id)
    return None
