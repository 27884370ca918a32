"""Domain events (领域事件): how one area tells the others that something happened, or asks them.

The areas build on each other in one direction only — accounts → courses → roleplay → exams →
notices → certification — and a lower area never imports a higher one. When something happens
that a higher area cares about, the lower area sends one of these blinker signals; the higher
area subscribes in its own `subscribers.py`, connected when its package is imported. Receivers run
at once, in the sender's database transaction: what they write is committed (or rolled back)
together with the change that caused it.

Two kinds:
- *Events* say what happened; receivers return nothing.
- *Questions* ask the areas above for an answer (`ask()` collects the receivers' non-None answers):
  may this person start training now, where should they land after log-in, since when do exam
  attempts count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blinker import Namespace

from .errors import DomainError

_signals = Namespace()

# --- events ---------------------------------------------------------------------------------

person_changed = _signals.signal("person-changed", doc="""People were created or changed (store, position, role,
hire date, leave, active). Sender: None. kwargs: users (list of User), reason (str). Notices subscribe:
assignments follow the person in and out of a notice's scope.""")

module_completed = _signals.signal("module-completed", doc="""A person studied a module (first time or a new
version). Sender: None. kwargs: user_id, module (Module). Certification subscribes: the module may be the last
requirement.""")

attempt_passed = _signals.signal("attempt-passed", doc="""An attempt (exam, module check or notice check) was
passed: on hand-in, or when a trainer finished grading it. Sender: None. kwargs: attempt (Attempt). Notices
subscribe (a passed notice check), certification subscribes (a passed exam may be the last requirement).""")

run_finished = _signals.signal("run-finished", doc="""A role-play run reached an ending and was scored. Sender:
None. kwargs: run (Run), passed (bool). Certification subscribes (a scenario passed in typing mode may be the last
requirement).""")

# --- questions ------------------------------------------------------------------------------

start_requested = _signals.signal("start-requested", doc="""May this person start training now? Asked before a
module is completed, a check, a scenario or an exam is started. Sender: None. kwargs: user_id, module_id (the
module being studied, or None). A receiver that objects answers a Refusal. Notices answer: an overdue
new-business notice blocks everything but its own module.""")

landing_requested = _signals.signal("landing-requested", doc="""Where should this person land right after
logging in? Sender: None. kwargs: user_id. A receiver answers a URL (or None). Notices answer: pending
new-business notices come first.""")

attempts_counted_from = _signals.signal("attempts-counted-from", doc="""Since when do this person's attempts at
an exam count towards its attempt limit? Sender: None. kwargs: user_id, exam_slug. A receiver answers a datetime
(or None). Certification answers: after a revoked or expired certificate, the count starts afresh.""")


reminders_requested = _signals.signal("reminders-requested", doc="""The sweep is queueing reminders: which of yours
are due? Sender: None. kwargs: at (datetime). A receiver queues its own outbox rows (notices.reminders.queue, each
under a unique key) and answers how many were new. Certification answers: certificates about to expire or expired.""")

reminder_stale = _signals.signal("reminder-stale", doc="""Is this queued reminder, not a notice's, no longer worth
sending (what it reminds of was done or undone since)? Sender: None. kwargs: row (Outbox). A receiver answers True
for a stale row of its own (or None). Certification answers for certificates renewed, revoked or superseded.""")


@dataclass(frozen=True)
class Refusal:
    """A higher area's objection: the Chinese message, and where the person can put it right."""

    message: str
    url: str


def ensure_may_start(user_id: int, module_id: int | None = None) -> None:
    """Refuse (DomainError, pointing at the page that puts it right) when an area above objects to this
    person starting training now."""
    answers = ask(start_requested, user_id=user_id, module_id=module_id)
    if answers:
        raise DomainError(answers[0].message, url=answers[0].url)


def ask(signal, **kwargs: Any) -> list[Any]:
    """Send a question and return the receivers' answers that are not None."""
    return [answer for _, answer in signal.send(None, **kwargs) if answer is not None]


def latest(answers: list[datetime]) -> datetime | None:
    """The latest of some moments (None when there are none)."""
    return max(answers) if answers else None
