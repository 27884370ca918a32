"""Certification use cases: sync the rules, work out requirements, issue, renew, revoke."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from ..errors import DomainError
from .. import audit
from ..catalog import CertificationInfo, catalog
from ..clock import now
from ..courses.models import Module
from ..courses.service import studied_by_course
from ..exams.models import Attempt
from ..extensions import db
from ..roleplay.models import Run
from .models import Certificate, Certification
from .rules import CertificationRule
from .status import CertificateFacts, Requirement, add_months, all_met, status_of

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"




def sync_rules(rules: list[CertificationRule]) -> list[str]:
    """Store the rules; return the ids that changed."""
    rows = {c.slug: c for c in db.session.scalars(select(Certification))}
    changed = []
    for rule in rules:
        data = {"courses": list(rule.courses), "scenarios": dict(rule.scenarios), "exam": rule.exam,
                "validity_months": rule.validity_months}
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


def requirements(user_id: int, certification: Certification | CertificationInfo,
                 studied: dict | None = None) -> list[Requirement]:
    """Work out each requirement of the certification for the person, with when it was last met
    (`studied`: the person's studied_by_course for all courses, if the caller has it)."""
    rule = certification.rule
    result: list[Requirement] = []
    content = catalog()
    courses = {slug: content.course_by_slug[slug] for slug in rule.get("courses", []) if slug in content.course_by_slug}
    totals = content.module_totals
    if studied is None:  # one grouped query for all the courses together
        studied = studied_by_course(user_id, [c.id for c in courses.values()])
    for slug in rule.get("courses", []):
        course = courses.get(slug)
        if course is None:
            continue
        total = totals.get(course.id, 0)
        done, last = studied.get(course.id, (0, None))
        met = bool(total) and done == total
        result.append(Requirement("course", slug, f"课程：{course.title}", met, f"{done}/{total} 章",
                                  last if met else None, done > 0))
    scenarios = {slug: content.scenario_by_slug[slug] for slug in rule.get("scenarios", {})
                 if slug in content.scenario_by_slug}
    minimums = {s.id: rule["scenarios"][slug] for slug, s in scenarios.items()}
    tops, passed_at = {}, {}
    if minimums:  # one query for all the scenarios: the best score, and the last passing run at its minimum
        at_minimum = or_(*(and_(Run.scenario_id == i, Run.score >= m) for i, m in minimums.items()))
        for scenario_id, top, last in db.session.execute(select(
                Run.scenario_id, func.max(Run.score),
                func.max(case((and_(Run.passed.is_(True), Run.mode == "text", at_minimum), Run.finished_at))))
                .where(Run.user_id == user_id, Run.scenario_id.in_(list(minimums)), Run.status == "finished")
                .group_by(Run.scenario_id)):
            tops[scenario_id] = top
            if last is not None:
                passed_at[scenario_id] = last
    for slug, minimum in rule.get("scenarios", {}).items():
        scenario = scenarios.get(slug)
        if scenario is None:
            continue
        top = tops.get(scenario.id)
        result.append(Requirement("scenario", slug, f"情景演练：{scenario.title}（≥{minimum} 分）",
                                  scenario.id in passed_at, f"最好 {top} 分" if top is not None else "",
                                  passed_at.get(scenario.id), top is not None))
    exam = content.exam_by_slug.get(rule["exam"]) if rule.get("exam") else None
    if exam is not None:  # one query: the best score, and when it was last passed
        tried, passed_at_exam = db.session.execute(select(
            func.max(Attempt.score), func.max(case((Attempt.passed.is_(True), Attempt.submitted_at))))
            .where(Attempt.user_id == user_id, Attempt.exam_id == exam.id)).one()
        result.append(Requirement("exam", exam.slug, f"考试：{exam.title}", passed_at_exam is not None,
                                  f"最好 {tried:g} 分" if tried is not None else "", passed_at_exam,
                                  tried is not None))
    return result


def current_certificate(user_id: int, certification: Certification | CertificationInfo) -> Certificate | None:
    """Return the person's newest certificate of this certification."""
    return db.session.scalar(select(Certificate).where(
        Certificate.user_id == user_id, Certificate.certification_id == certification.id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(1))


def facts(certificate: Certificate | None) -> CertificateFacts | None:
    if certificate is None:
        return None
    return CertificateFacts(certificate.issued_at, certificate.expires_at, certificate.revoked_at)


def status_for(user_id: int, certification: Certification | CertificationInfo, suspended: bool | None = None,
               studied: dict | None = None) -> str:
    """Return the person's status label for the certification (已暂停 while a notice is overdue;
    pass `suspended` when the caller already knows)."""
    if suspended is None:
        from ..notices.service import is_suspended

        suspended = is_suspended(user_id)
    return status_of(requirements(user_id, certification, studied), facts(current_certificate(user_id, certification)),
                     now(), suspended)


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        if db.session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def _issue(user_id: int, certification: Certification, reqs: list[Requirement], at: datetime,
           actor_id: int | None, renewed_from: Certificate | None = None) -> Certificate:
    certificate = Certificate(
        code=_new_code(), user_id=user_id, certification_id=certification.id, issued_at=at,
        expires_at=add_months(at, certification.rule.get("validity_months", 12)),
        renewed_from_id=renewed_from.id if renewed_from else None,
        basis={r.key: {"kind": r.kind, "met_at": r.met_at.isoformat() if r.met_at else None} for r in reqs},
    )
    db.session.add(certificate)
    db.session.flush()
    audit.record("certificate.renewed" if renewed_from else "certificate.issued", actor_id=actor_id or user_id,
                 subject_id=user_id, object_type="certificate", object_id=certificate.code,
                 certification=certification.slug, expires=certificate.expires_at.isoformat())
    return certificate


def check_and_issue(user_id: int, position: str | None) -> Certificate | None:
    """Issue the certificate the moment the last requirement is met; return it if one was issued.

    Nothing is issued while a valid certificate exists. After a revocation or expiry, a new one is
    issued only when a requirement was met again after that (a new exam pass, for example).
    """
    certification = certification_for(position)
    if certification is None:
        return None
    from ..accounts.models import User
    from ..locks import lock_row

    lock_row(User, user_id)  # two last requirements met at once issue one certificate
    reqs = requirements(user_id, certification)
    if not all_met(reqs):
        return None
    latest = current_certificate(user_id, certification)
    at = now()
    if latest is not None:
        ended = latest.revoked_at or (latest.expires_at if latest.expires_at <= at else None)
        if ended is None:
            return None
        # After a revocation or expiry the exam must be passed again (a practice run is not enough).
        exam = next((r for r in reqs if r.kind == "exam"), None)
        again = [exam] if exam is not None else reqs
        if not any(r.met_at and r.met_at > ended for r in again):
            return None
    return _issue(user_id, certification, reqs, at, None)


def attempts_reset_at(user_id: int, exam_slug: str) -> datetime | None:
    """When the person's attempt count for an exam starts afresh: the end of their last
    certificate (revoked or expired) of a certification that requires this exam."""
    ends = []
    for certificate in db.session.scalars(select(Certificate).join(Certification).where(
            Certificate.user_id == user_id)):
        if certificate.certification.rule.get("exam") != exam_slug:
            continue
        end = certificate.revoked_at or (certificate.expires_at if certificate.expires_at <= now() else None)
        if end is not None:
            ends.append(end)
    return max(ends, default=None)


def renew(certificate: Certificate, actor_id: int) -> Certificate:
    """Re-issue a certificate (new code and validity) for a holder who still meets every requirement."""
    if certificate.revoked_at is not None:
        raise DomainError("已撤销的上岗证不能续期。")
    reqs = requirements(certificate.user_id, certificate.certification)
    if not all_met(reqs):
        raise DomainError("持证人目前没有满足全部要求，不能续期。")
    latest = current_certificate(certificate.user_id, certificate.certification)
    if latest is not None and latest.id != certificate.id:
        raise DomainError("这张上岗证已被新证取代。")
    return _issue(certificate.user_id, certificate.certification, reqs, now(), actor_id, renewed_from=certificate)


def revoke(certificate: Certificate, reason: str, actor_id: int) -> None:
    """Revoke a certificate with a reason (audited); it stays on record."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("撤销上岗证必须填写原因。")
    if certificate.revoked_at is not None:
        raise DomainError("这张上岗证已经撤销。")
    certificate.revoked_at, certificate.revoked_by, certificate.revoke_reason = now(), actor_id, reason[:500]
    audit.record("certificate.revoked", actor_id=actor_id, subject_id=certificate.user_id,
                 object_type="certificate", object_id=certificate.code, reason=certificate.revoke_reason)
    db.session.flush()


def after_progress(user_id: int) -> Certificate | None:
    """Call after anything that may meet a requirement (module, scenario, exam)."""
    from ..accounts.models import User

    user = db.session.get(User, user_id)
    return check_and_issue(user_id, user.position) if user is not None else None


def module_for(module_id: int) -> Module | None:
    return db.session.get(Module, module_id)
