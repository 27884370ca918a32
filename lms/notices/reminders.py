"""Reminders and escalation of the 48-hour rule, each delivered exactly once.

When: deadlines.REMINDERS (the person at due−24 h and due−6 h; the store's managers at due−6 h
and once overdue; the publishing trainer once overdue) — each only while the assignment is still
open. How: `enqueue`
inserts one outbox row per reminder and channel under a unique key (INSERT … ON CONFLICT DO
NOTHING, so two sweeps at once insert it once); `deliver` claims rows in a committed
transaction (a claim expires after LEASE, so a sweep that died after claiming does not lose
them) and marks each sent. In-app messages are written in the same transaction that marks the
row sent: exactly once. E-mail (SMTP, when configured) and the store's WeCom/DingTalk robot
(when set) are retried with backoff; a failure is recorded and never blocks anything.

The outbox is shared: an area above queues its own reminders through `queue` when the sweep asks
(`events.reminders_requested`, e.g. certificates about to expire) and says whether one of them is
stale before it is sent (`events.reminder_stale`).
"""

from __future__ import annotations

import json
import secrets
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update

from .. import events
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..accounts.models import Store, User
from ..accounts.webhooks import WebhookRefused, extra_origins, webhook_problem
from ..clock import now
from ..extensions import db
from ..urls import absolute_url
from .deadlines import OPEN_STATES, REMINDERS, describe_left
from .models import Message, Notice, NoticeAssignment, Outbox

LEASE = timedelta(minutes=5)
BACKOFF_MINUTES = (1, 5, 30, 120, 360)  # then give up


@dataclass
class SweepReport:
    queued: int = 0
    sent: dict = None  # type: ignore[assignment]
    failed: int = 0

    def __post_init__(self):
        self.sent = {"inapp": 0, "email": 0, "webhook": 0}


def _insert_ignore(rows: list[dict]) -> int:
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = maker(Outbox).values(rows).on_conflict_do_nothing(index_elements=["key"]).returning(Outbox.id)
    return len(db.session.execute(statement).all())  # rowcount is not reliable here on every driver


RECENT = timedelta(days=7)  # reminders older than this are not caught up any more


def _due_open(kind: str, at: datetime):
    """Open assignments whose `kind` reminder has come, at a moment within the last week."""
    a = NoticeAssignment
    lead = REMINDERS[kind].lead
    return (select(a, Notice).join(Notice, Notice.id == a.notice_id)
            .where(a.reminder_due(kind, at), Notice.out_at(at), a.due_at > at + lead - RECENT)
            .order_by(a.id))  # one order for every sweep: concurrent sweeps insert without deadlocking


def _link(notice_id: int) -> str:
    return f"/notices/{notice_id}"


def enqueue(at: datetime | None = None) -> int:
    """Queue every reminder whose time has come; return how many new rows were queued."""
    at = at or now()
    mail = bool(current_app.config.get("MAIL_SERVER"))
    rows: list[dict] = []
    people: dict[int, User] = {}

    def user(user_id: int) -> User:
        if user_id not in people:
            people.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(pending_ids)))})
            if user_id not in people:
                people[user_id] = db.session.get(User, user_id)
        return people[user_id]

    pending_ids: list[int] = []

    due_now = {kind: db.session.execute(_due_open(kind, at)).all() for kind in REMINDERS}
    pending_ids.extend({a.user_id for rows in due_now.values() for a, _ in rows})
    for kind in ("person-24h", "person-6h"):
        for assignment, notice in due_now[kind]:
            left = describe_left(assignment.due_at, at)
            payload = {"title": f"新业务培训提醒：{notice.title}",
                       "body": f"请在截止时间前完成「{notice.title}」的学习并确认（{left}）。", "link": _link(notice.id)}
            # The deadline is part of the key: a deadline moved by a later leave gets its reminders.
            base = f"n{notice.id}:a{assignment.id}:{kind}:{assignment.due_at:%Y%m%dT%H%M%S}"
            rows.append(_row(f"{base}:inapp", kind, "inapp", assignment.user_id, None, notice.id, assignment.id, payload))
            if mail and user(assignment.user_id).email:
                rows.append(_row(f"{base}:email", kind, "email", assignment.user_id, None, notice.id, assignment.id,
                                 payload))
    groups: dict[tuple, list] = {}
    for kind in ("manager-6h", "manager-due", "trainer-due"):
        for assignment, notice in due_now[kind]:
            # People of one store due at the same moment share one message; someone due at another
            # moment (back from leave, joined later) gets their own, so nobody is folded away.
            moment = assignment.due_at.strftime("%Y%m%dT%H%M%S")
            scope = assignment.store_id if kind.startswith("manager") else 0
            groups.setdefault((kind, notice, scope, moment), []).append(assignment)
    for (kind, notice, store_id, hour), assignments in groups.items():
        names = "、".join(sorted(user(a.user_id).name for a in assignments)[:20])
        more = f"等{len(assignments)}人" if len(assignments) > 20 else f"共{len(assignments)}人"
        when = "6小时后到期" if kind == "manager-6h" else "已到期"
        payload = {"title": f"新业务培训{when}：{notice.title}",
                   "body": f"「{notice.title}」的48小时培训{when}，尚未完成：{names}（{more}）。", "link": _link(notice.id)}
        base = f"n{notice.id}:{kind}:s{store_id}:{hour}"
        if kind.startswith("manager"):
            managers = db.session.scalars(select(User).where(User.store_id == store_id, User.role == "manager",
                                                             User.active.is_(True))).all()
            for manager in managers:
                rows.append(_row(f"{base}:inapp:u{manager.id}", kind, "inapp", manager.id, store_id, notice.id, None,
                                 payload))
                if mail and manager.email:
                    rows.append(_row(f"{base}:email:u{manager.id}", kind, "email", manager.id, store_id, notice.id,
                                     None, payload))
            store = db.session.get(Store, store_id)
            if store is not None and store.webhook_url:
                rows.append(_row(f"{base}:webhook", kind, "webhook", None, store_id, notice.id, None, payload))
        else:
            rows.append(_row(f"{base}:inapp", kind, "inapp", notice.published_by, None, notice.id, None, payload))
            if mail and user(notice.published_by).email:
                rows.append(_row(f"{base}:email", kind, "email", notice.published_by, None, notice.id, None, payload))
    return queue(rows)


def queue(rows: list[dict]) -> int:
    """Insert outbox rows (`outbox_row`), each key once: a key already queued is left alone. Return
    how many rows are new."""
    queued = 0
    for start in range(0, len(rows), 500):
        queued += _insert_ignore(rows[start:start + 500])
    db.session.flush()
    return queued


def outbox_row(key: str, kind: str, channel: str, recipient_id: int | None, store_id: int | None, payload: dict,
               notice_id: int | None = None, assignment_id: int | None = None,
               certificate_id: int | None = None) -> dict:
    """One reminder for one channel (inapp, email to the recipient; webhook to the store's robot)."""
    return {"key": key, "kind": kind, "channel": channel, "recipient_id": recipient_id, "store_id": store_id,
            "notice_id": notice_id, "assignment_id": assignment_id, "certificate_id": certificate_id,
            "payload": payload, "created_at": now(), "attempts": 0, "last_error": ""}


def _row(key, kind, channel, recipient_id, store_id, notice_id, assignment_id, payload) -> dict:
    return outbox_row(key, kind, channel, recipient_id, store_id, payload, notice_id, assignment_id)


def claim(at: datetime | None = None, limit: int = 500) -> str | None:
    """Claim up to `limit` unsent rows for this sweep; return the claim token (None: nothing)."""
    at = at or now()
    token = secrets.token_hex(8)
    ready = select(Outbox.id).where(
        Outbox.sent_at.is_(None),
        or_(Outbox.claimed_at.is_(None), Outbox.claimed_at < at - LEASE),
        or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= at),
    ).order_by(Outbox.id).limit(limit)
    ids = db.session.scalars(ready).all()
    if not ids:
        return None
    db.session.execute(update(Outbox).where(
        Outbox.id.in_(ids), Outbox.sent_at.is_(None),
        or_(Outbox.claimed_at.is_(None), Outbox.claimed_at < at - LEASE),
    ).values(claimed_at=at, claim_token=token))
    return token


def deliver(token: str, report: SweepReport) -> None:
    """Deliver the rows claimed with `token`, committing after each one."""
    ids = db.session.scalars(select(Outbox.id).where(Outbox.claim_token == token, Outbox.sent_at.is_(None))
                             .order_by(Outbox.id)).all()
    for outbox_id in ids:
        renewed = db.session.execute(update(Outbox).where(  # keep the lease while this row is handled
            Outbox.id == outbox_id, Outbox.claim_token == token, Outbox.sent_at.is_(None)).values(claimed_at=now()))
        db.session.commit()
        if renewed.rowcount != 1:
            continue  # another sweep took it over
        row = db.session.get(Outbox, outbox_id)
        if _stale(row):  # done or withdrawn since it was queued: nothing to remind of
            _mark_sent(row, token, "skipped: no longer open")
            db.session.commit()
            continue
        try:
            if row.channel == "inapp":
                db.session.add(Message(user_id=row.recipient_id, title=row.payload["title"], body=row.payload["body"],
                                       link=row.payload.get("link", ""), created_at=now()))
            elif row.channel == "email":
                _send_email(db.session.get(User, row.recipient_id).email, row.payload)
            else:
                _send_webhook(db.session.get(Store, row.store_id).webhook_url, row.payload)
        except Exception as exc:  # a failed delivery is retried later; it never stops the sweep
            db.session.rollback()
            row = db.session.get(Outbox, outbox_id)
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            row.claimed_at, row.claim_token = None, None
            if row.attempts <= len(BACKOFF_MINUTES):
                row.next_attempt_at = now() + timedelta(minutes=BACKOFF_MINUTES[row.attempts - 1])
            else:
                row.next_attempt_at = now() + timedelta(days=3650)  # gave up; the error stays on record
            db.session.commit()
            report.failed += 1
            continue
        if _mark_sent(row, token):
            db.session.commit()
            report.sent[row.channel] += 1
        else:
            db.session.rollback()  # someone else sent it meanwhile: drop our in-app copy


def _mark_sent(row: Outbox, token: str, note: str = "") -> bool:
    """Mark a row sent if this sweep still holds it; tell whether it did."""
    done = db.session.execute(update(Outbox).where(
        Outbox.id == row.id, Outbox.claim_token == token, Outbox.sent_at.is_(None)
    ).values(sent_at=now(), attempts=Outbox.attempts + 1, last_error=note)).rowcount
    return done == 1


def _stale(row: Outbox) -> bool:
    """A reminder whose assignment is no longer open (done or cancelled), or whose notice was withdrawn;
    another area's reminder is stale when that area says so."""
    if row.notice_id is None:
        return any(events.ask(events.reminder_stale, row=row))
    notice = db.session.get(Notice, row.notice_id)
    if notice is None or not notice.active:
        return True
    if row.assignment_id is None:
        return False
    assignment = db.session.get(NoticeAssignment, row.assignment_id)
    return assignment is None or not assignment.in_state(now(), *OPEN_STATES)


def _send_email(address: str, payload: dict) -> None:
    config = current_app.config
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = payload["title"], config.get("MAIL_FROM", ""), address
    link = absolute_url(payload["link"]) if payload.get("link") else ""  # PublicUrlMissing: retried once it is set
    message.set_content(payload["body"] + ("\n\n" + link if link else ""))
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT", 25)), timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(message)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A robot answers itself; a redirect (to an address the rule never saw) is refused, not followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirects)


def _send_webhook(url: str, payload: dict) -> None:
    """Post a text message to a WeCom or DingTalk group robot (both take this JSON).

    The address is checked again here, not only where the admin saved it: a row saved before the
    rule, or written past the form, must not make the server post to an address of the operator's
    own network (http://127.0.0.1, http://169.254.169.254 …).
    """
    problem = webhook_problem(url, extra_origins(current_app.config))
    if problem:
        raise WebhookRefused(problem)
    body = json.dumps({"msgtype": "text", "text": {"content": f"{payload['title']}\n{payload['body']}"}},
                      ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with _OPENER.open(request, timeout=5) as response:  # noqa: S310 - checked by webhook_problem above
        answer = json.loads(response.read() or b"{}")
    if answer.get("errcode", 0) != 0:
        raise RuntimeError(f"robot answered {answer}")


def sweep(at: datetime | None = None) -> SweepReport:
    """Queue what is due and deliver what is queued (committing as it goes)."""
    report = SweepReport()
    report.queued = enqueue(at) + sum(events.ask(events.reminders_requested, at=at or now()))
    db.session.commit()
    while True:
        token = claim(at)
        db.session.commit()  # the claim is visible to other sweeps before anything is sent
        if token is None:
            break
        deliver(token, report)
    return report

