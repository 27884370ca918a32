"""Certification use cases: sync the rules, issue, renew, revoke (requirements: `facts` + `status`).

A certificate is issued, or renewed through the recertification path, the moment the last
requirement is met (`check_and_issue`, called on every module, passed exam and passed typing-mode
run); nobody re-stamps one by hand. A trainer or an admin can revoke one, with a reason.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..catalog import CertificationInfo, catalog
from ..clock import now
from ..errors import DomainError
from ..extensions import db
from .facts import StudiedByCourse, certificate_facts, evaluate_person, rule_for
from .models import NEWEST_FIRST, Certificate, Certification
from .rules import CertificationRule
from .standing import evaluate_for_decision
from .status import Evaluation, add_months, due_for_issue, due_for_renewal, renewal_period, window_opening

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def sync_rules(rules: list[CertificationRule]) -> list[str]:
    """Store the rules; return the ids that changed."""
    rows = {c.slug: c for c in db.session.scalars(select(Certification))}
    changed = []
    for rule in rules:
        data = {"courses": list(rule.courses), "scenarios": dict(rule.scenarios), "exam": rule.exam,
                "validity_months": rule.validity_months}
        if rule.recertification is not None:
            path = rule.recertification
            data["recertification"] = {"window_days": path.window_days, "scenarios": dict(path.scenarios),
                                       "exam": path.exam}
        row = rows.get(rule.id)
        if row is None:
            row = Certification(slug=rule.id, version=0)
            db.session.add(row)
        if row.rule != data or row.title != rule.title or row.positions != list(rule.positions) or not row.active:
            row.version += 1
            row.title, row.positions, row.rule, row.active, row.updated_at = rule.title, list(rule.positions), data, True, now()
            changed.append(rule.id)
    for slug, row in rows.items():
        if slug not in {r.id for r in rules} and row.active:
            row.active = False
            changed.append(slug)
    db.session.flush()
    return changed


def certification_for(position: str | None) -> CertificationInfo | None:
    """Return the certification a person in this position needs, if any (from the content catalogue)."""
    return catalog().certification_for(position)


def current_certificate(user_id: int, certification: Certification | CertificationInfo) -> Certificate | None:
    """Return the person's newest certificate of this certification."""
    return db.session.scalar(select(Certificate).where(
        Certificate.user_id == user_id, Certificate.certification_id == certification.id)
        .order_by(*NEWEST_FIRST).limit(1))


def status_for(user_id: int, certification: Certification | CertificationInfo, suspended: bool | None = None,
               studied: StudiedByCourse | None = None) -> str:
    """Return the person's status label for the certification (已暂停 while a notice is overdue;
    pass `suspended` when the caller already knows, `studied` when it has studied_by_course at hand)."""
    return evaluate_person(user_id, certification, suspended, studied).status


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        if db.session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def _issue(user_id: int, certification: Certification | CertificationInfo, evaluation: Evaluation, at: datetime,
           actor_id: int | None, renewed_from: Certificate | None = None) -> Certificate:
    months = certification.rule.get("validity_months", 12)
    if renewed_from is not None:  # from the old expiry date: nobody loses time by renewing early
        valid_from, expires_at = renewal_period(certificate_facts(renewed_from), months)
        met = evaluation.renewal
    else:
        valid_from, expires_at = at, add_months(at, months)
        met = evaluation.requirements
    certificate = Certificate(
        code=_new_code(), user_id=user_id, certification_id=certification.id, issued_at=at, valid_from=valid_from,
        expires_at=expires_at, renewed_from_id=renewed_from.id if renewed_from else None,
        basis={r.key: {"kind": r.kind, "met_at": r.met_at.isoformat() if r.met_at else None} for r in met},
    )
    db.session.add(certificate)
    db.session.flush()
    audit.record("certificate.renewed" if renewed_from else "certificate.issued", actor_id=actor_id or user_id,
                 subject_id=user_id, object_type="certificate", object_id=certificate.code,
                 certification=certification.slug, expires=certificate.expires_at.isoformat(),
                 **({"renewed": renewed_from.code} if renewed_from else {}))
    return certificate


def check_and_issue(user_id: int, position: str | None) -> Certificate | None:
    """Issue or renew the certificate the moment the last requirement is met; return the new one.

    While a certificate is running, only the recertification path completed inside its window renews
    it (`status.due_for_renewal`); after a revocation or an expiry the full path applies, once a
    requirement has been met again (`status.due_for_issue`).
    """
    certification = certification_for(position)
    if certification is None:
        return None
    from ..accounts.models import User
    from ..locks import lock_row

    lock_row(User, user_id)  # two last requirements met at once issue one certificate
    # An overdue notice does not hold issuance back (the new certificate then shows 已暂停), so
    # the notices area is not asked here. The evaluation also gives the person's kept standing at
    # the commit, unless something they did changes after it (standing.py).
    evaluation = evaluate_for_decision(db.session(), user_id, certification)
    at = now()
    if due_for_renewal(evaluation, at):
        return _issue(user_id, certification, evaluation, at, None,
                      renewed_from=db.session.get(Certificate, evaluation.certificate.id))
    if not due_for_issue(evaluation, at):
        return None
    return _issue(user_id, certification, evaluation, at, None)


def attempts_reset_at(user_id: int, exam_slug: str) -> datetime | None:
    """When the person's attempt count for an exam starts afresh: the end of their last certificate
    (revoked or expired) of a certification that requires this exam, or the opening of the renewal
    window of a running one whose recertification path requires it."""
    at, starts = now(), []
    current: set[int] = set()  # certifications whose newest certificate was seen
    for certificate in db.session.scalars(select(Certificate).join(Certification).where(
            Certificate.user_id == user_id).order_by(*NEWEST_FIRST)):
        certification = certificate.certification
        newest = certification.id not in current
        current.add(certification.id)
        facts = certificate_facts(certificate)
        if certification.rule.get("exam") == exam_slug and (end := facts.ended_at(at)) is not None:
            starts.append(end)
        path = (certification.rule.get("recertification") or {}) if newest else {}
        if path.get("exam") == exam_slug and facts.ended_at(at) is None:
            recertification = rule_for(certification).recertification
            if recertification is not None and (opens := window_opening(facts, recertification)) <= at:
                starts.append(opens)
    return max(starts, default=None)


def revoke(certificate: Certificate, reason: str, actor_id: int) -> None:
    """Revoke a certificate with a reason (audited); it stays on record."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("撤销上岗证必须填写原因。")
    from ..accounts.models import User
    from ..locks import lock_row

    lock_row(User, certificate.user_id)  # as issuing and renewing do: a renewal at the same moment comes before or after
    certificate = lock_row(Certificate, certificate.id)  # a second revocation at the same moment waits, then sees it
    if certificate.revoked_at is not None:
        raise DomainError("这张上岗证已经撤销。")
    successor = db.session.scalar(select(Certificate.code).where(Certificate.renewed_from_id == certificate.id))
    if successor is not None:
        raise DomainError(f"这张上岗证已续期为新证（编号{successor}），要撤销请撤销新证。")
    certificate.revoked_at, certificate.revoked_by, certificate.revoke_reason = now(), actor_id, reason[:500]
    audit.record("certificate.revoked", actor_id=actor_id, subject_id=certificate.user_id,
                 object_type="certificate", object_id=certificate.code, reason=certificate.revoke_reason)
    db.session.flush()


def after_progress(user_id: int) -> Certificate | None:
    """Call after anything that may meet a requirement (module, scenario, exam)."""
    from ..accounts.models import User

    user = db.session.get(User, user_id)
    return check_and_issue(user_id, user.position) if user is not None else None
