"""Expiry reminders of certificates (上岗证到期提醒), sent through the notices' outbox.

When: `status.EXPIRY_REMINDERS` — the holder at 60, 30 and 7 days before expiry and on expiry, the
store's managers at 30 days and on expiry — for each person's current certificate of the
certification their position needs, while it is neither revoked nor renewed (`status.reminders_due`).

How: `lms sweep` asks every area for its reminders (`events.reminders_requested`); this queues one
outbox row per certificate, reminder kind and channel under a unique key
(``cert<id>:<kind>:<channel>``, a manager's with ``:u<id>``), so each goes out exactly once however
often the sweep runs: in-app always, e-mail when it is configured and the person has an address,
and the managers' reminders to the store's WeCom/DingTalk robot. A row whose certificate was
renewed, revoked or superseded before it went out is skipped (`events.reminder_stale`).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from ..accounts.models import Store, User
from ..catalog import CertificationInfo, catalog
from ..clock import now
from ..extensions import db
from ..notices.reminders import outbox_row, queue
from ..web import local_date
from .facts import current_certificates, facts_of, rule_for
from .models import Certificate
from .status import REMINDER_CATCH_UP, REMINDER_HORIZON, ExpiryReminder, reminders_due


def _path(certification: CertificationInfo) -> str:
    """The recertification path in words, e.g. 情景演练「话费计费不准确的投诉」（≥70分）和考试「…」."""
    path = rule_for(certification).recertification
    if path is None:
        return ""
    parts = [f"情景演练「{s.title}」（≥{s.minimum}分）" for s in path.scenarios]
    if path.exam is not None:
        parts.append(f"考试「{path.exam.title}」")
    return "、".join(parts[:-1]) + ("和" if len(parts) > 1 else "") + parts[-1] if parts else ""


def _payload(reminder: ExpiryReminder, certificate: Certificate, holder: User,
             certification: CertificationInfo) -> dict:
    title, date = certification.title, local_date(certificate.expires_at)
    path = _path(certification)
    renew = (f"到期前通过{path}即可续证，新证有效期从{date}起算，提前续证不损失天数。" if path
             else "到期后需重新完成全部认证要求。")
    again = "需重新完成全部认证要求，完成后自动发新证。"
    if reminder.to == "holder":
        if reminder.days:
            return {"title": f"上岗证将于{date}到期", "link": "/certificates",
                    "body": f"您的「{title}」（证书编号{certificate.code}）将于{date}到期。{renew}"}
        return {"title": "上岗证已到期", "link": "/certificates",
                "body": f"您的「{title}」（证书编号{certificate.code}）已于{date}到期，{again}"}
    link = f"/store/people/{holder.id}"
    if reminder.days:
        return {"title": f"员工上岗证将于{date}到期：{holder.name}", "link": link,
                "body": f"{holder.name}的「{title}」将于{date}到期。{renew}"}
    return {"title": f"员工上岗证已到期：{holder.name}", "link": link,
            "body": f"{holder.name}的「{title}」已于{date}到期，{again}"}


def enqueue(at: datetime | None = None) -> int:
    """Queue every expiry reminder whose time has come; return how many new rows were queued."""
    at = at or now()
    content = catalog()
    mail = bool(current_app.config.get("MAIL_SERVER"))
    found = db.session.execute(current_certificates().where(
        Certificate.revoked_at.is_(None), User.active.is_(True),
        Certificate.expires_at <= at + REMINDER_HORIZON, Certificate.expires_at > at - REMINDER_CATCH_UP)
        .order_by(Certificate.id)).all()  # one order for every sweep: concurrent sweeps insert without deadlocking
    managers: dict[int, list[User]] = {}
    rows: list[dict] = []
    for certificate, holder in found:
        certification = content.certification_for(holder.position)
        if certification is None or certification.id != certificate.certification_id:
            continue  # the holder's position no longer needs this certificate
        # current (none issued after it) and not revoked: neither renewed nor ended but by expiry
        for reminder in reminders_due(facts_of(certificate), at):
            payload = _payload(reminder, certificate, holder, certification)
            base, kind, cid = f"cert{certificate.id}:{reminder.kind}", reminder.kind, certificate.id
            if reminder.to == "holder":
                rows.append(outbox_row(f"{base}:inapp", kind, "inapp", holder.id, None, payload, certificate_id=cid))
                if mail and holder.email:
                    rows.append(outbox_row(f"{base}:email", kind, "email", holder.id, None, payload,
                                           certificate_id=cid))
                continue
            if holder.store_id is None:
                continue
            if holder.store_id not in managers:
                managers[holder.store_id] = db.session.scalars(select(User).where(
                    User.store_id == holder.store_id, User.role == "manager", User.active.is_(True))
                    .order_by(User.id)).all()
            for manager in managers[holder.store_id]:
                if manager.id == holder.id:
                    continue  # a manager's own certificate: the holder's reminders say it
                rows.append(outbox_row(f"{base}:inapp:u{manager.id}", kind, "inapp", manager.id, holder.store_id,
                                       payload, certificate_id=cid))
                if mail and manager.email:
                    rows.append(outbox_row(f"{base}:email:u{manager.id}", kind, "email", manager.id,
                                           holder.store_id, payload, certificate_id=cid))
            store = db.session.get(Store, holder.store_id)
            if store is not None and store.webhook_url:
                rows.append(outbox_row(f"{base}:webhook", kind, "webhook", None, holder.store_id, payload,
                                       certificate_id=cid))
    return queue(rows)


def stale(certificate_id: int) -> bool:
    """Tell whether a queued expiry reminder has nothing left to remind of: its certificate was
    revoked, renewed or superseded by a newer one, or its holder left."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.revoked_at is not None or not certificate.holder.active:
        return True
    newer = aliased(Certificate)
    return bool(db.session.scalar(select(exists().where(
        newer.user_id == certificate.user_id, newer.certification_id == certificate.certification_id,
        or_(newer.issued_at > certificate.issued_at,
            and_(newer.issued_at == certificate.issued_at, newer.id > certificate.id))))))
