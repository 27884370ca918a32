"""Certification status (pure): which requirements a person meets, and what a manager sees.

A *requirement* is one thing a certification (上岗认证) asks of a position group: every current
module of a course studied in its current version; a scenario passed in typing mode with at least
the rule's score (a run in 新手模式, choosing answers, never counts); the exam passed.

The *status* of a person for a certification: 未开始 (nothing met or started yet) / 进行中 (some
progress, no certificate) / 有效 / 即将到期 (within 30 days) / 已过期 / 已暂停 (the holder has an
overdue new-business notice) / 已撤销 — the last five from the newest certificate. A certificate
that was renewed is 已续期: its successor is the newest one.

*Recertification* (续证): a certification may define a shorter path (an exam, scenarios) and a
window that opens some days before the certificate expires. Each requirement of the path counts
when it was met inside the window; the path complete inside the window renews the certificate from
its old expiry date (`due_for_renewal`, `renewal_period`). After expiry or a revocation the full
path applies again (`due_for_issue`).

*Expiry reminders*: the holder at 60, 30 and 7 days before expiry and on expiry, the store's
managers at 30 days and on expiry (`EXPIRY_REMINDERS`, `reminders_due`).

`evaluate(rule, facts, now)` is the one place these are worked out; the facts are loaded in batch
by `facts.load_facts` (a person is a batch of one) for every page, export, issuance and renewal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Mapping

EXPIRING_DAYS = 30
NOT_REQUIRED = "无需认证"  # the person's position has no certification
RENEWED = "已续期"  # a certificate whose successor renewed it (never a person's status: the successor is newer)
STATUS_LEVEL = {"未开始": "off", "进行中": "warn", "有效": "ok", "即将到期": "warn", "已过期": "bad",
                "已暂停": "bad", "已撤销": "bad", NOT_REQUIRED: "off", RENEWED: "off"}
_EMPTY: Mapping = MappingProxyType({})

# ---------------------------------------------------------------- results: one word for each, on every page and export

NOT_PRACTISED = "未练"  # a scenario never finished
NOT_TAKEN = "未考"  # an exam never handed in
IN_PROGRESS = "进行中"  # begun and not finished: a run or a sitting under way, a course partly studied
FAILED = "未通过"  # finished (a run, a sitting, a check) without passing
PASSED = "通过"  # finished and passed
RESULT_LEVEL = {NOT_PRACTISED: "off", NOT_TAKEN: "off", IN_PROGRESS: "warn", FAILED: "bad", PASSED: "ok"}


def pass_fail(passed: bool | None) -> str:
    """The result word of something finished: 通过 or 未通过 ("" while it has no result, e.g. awaiting grading)."""
    return "" if passed is None else PASSED if passed else FAILED


# ---------------------------------------------------------------- the rule, resolved against the content


@dataclass(frozen=True)
class CourseItem:
    slug: str
    title: str
    course_id: int
    modules: int  # current modules of the course


@dataclass(frozen=True)
class ScenarioItem:
    slug: str
    title: str
    scenario_id: int
    minimum: int  # the lowest score that counts


@dataclass(frozen=True)
class ExamItem:
    slug: str
    title: str
    exam_id: int


@dataclass(frozen=True)
class Recertification:
    """The recertification path (续证) and its window: it opens `window_days` before expiry."""

    window_days: int
    scenarios: tuple[ScenarioItem, ...] = ()
    exam: ExamItem | None = None


@dataclass(frozen=True)
class Rule:
    """A certification's requirements as they stand in the current content (rules naming content
    that no longer exists are left out)."""

    certification_id: int
    courses: tuple[CourseItem, ...] = ()
    scenarios: tuple[ScenarioItem, ...] = ()
    exam: ExamItem | None = None
    validity_months: int = 12
    recertification: Recertification | None = None


# ---------------------------------------------------------------- what a person did


@dataclass(frozen=True)
class Studied:
    """A course: how many of its current modules the person studied in their current version, and
    when the last of them was studied."""

    modules: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class Practised:
    """A scenario: whether any run was finished (any mode), and for each score reached by a passed
    typing-mode run, the last time it was reached."""

    tried: bool = False
    passes: tuple[tuple[int, datetime], ...] = ()


@dataclass(frozen=True)
class Examined:
    """An exam: the best score of any sitting, and when it was last passed."""

    best: float | None = None
    passed_at: datetime | None = None


@dataclass(frozen=True)
class CertificateFacts:
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    id: int | None = None
    code: str = ""
    valid_from: datetime | None = None  # a renewal's period starts at the old expiry (None: at issue)
    renewed_at: datetime | None = None  # when a successor renewed it (None: not renewed)
    revoke_reason: str = ""

    def ended_at(self, now: datetime) -> datetime | None:
        """When the certificate stopped being held (revoked, or expired by now); None while it runs."""
        if self.revoked_at is not None:
            return self.revoked_at
        return self.expires_at if self.expires_at <= now else None


@dataclass(frozen=True)
class PersonFacts:
    """Everything the requirements and the status of one person depend on (ids are database ids)."""

    studied: Mapping[int, Studied] = field(default_factory=lambda: _EMPTY)  # by course
    practised: Mapping[int, Practised] = field(default_factory=lambda: _EMPTY)  # by scenario
    examined: Mapping[int, Examined] = field(default_factory=lambda: _EMPTY)  # by exam
    certificates: Mapping[int, CertificateFacts] = field(default_factory=lambda: _EMPTY)  # newest, by certification
    suspended: bool = False  # an overdue new-business notice


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class Requirement:
    kind: str  # course | scenario | exam
    key: str  # the slug
    title: str
    met: bool
    detail: str = ""  # the progress, as the learner and the manager see it
    met_at: datetime | None = None  # when it was last met
    started: bool = False  # some progress towards it (a module studied, a finished run, a graded sitting)
    minimum: int | None = None  # scenarios: the lowest score that counts

    @property
    def label(self) -> str:
        """The requirement as the learner's page names it."""
        if self.kind == "course":
            return f"课程：{self.title}"
        if self.kind == "scenario":
            return f"情景演练：{self.title}（≥{self.minimum}分）"
        return f"考试：{self.title}"


@dataclass(frozen=True)
class Evaluation:
    requirements: tuple[Requirement, ...]
    certificate: CertificateFacts | None  # the newest certificate of this certification
    status: str
    renewal: tuple[Requirement, ...] = ()  # the recertification path, each met only inside the window
    window_opens: datetime | None = None  # of the running certificate (None: no path, or nothing to renew)

    @property
    def all_met(self) -> bool:
        return bool(self.requirements) and all(r.met for r in self.requirements)

    def window_open(self, now: datetime) -> bool:
        """Tell whether the running certificate can be renewed now (its window is open, it has not expired)."""
        return (self.window_opens is not None and self.certificate is not None
                and self.window_opens <= now < self.certificate.expires_at)


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, keeping the day where the month allows it."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def window_opening(certificate: CertificateFacts, path: Recertification) -> datetime:
    """When the recertification window of a certificate opens: `window_days` before it expires."""
    return certificate.expires_at - timedelta(days=path.window_days)


def certificate_status(certificate: CertificateFacts, now: datetime, suspended: bool = False) -> str:
    """Return the state of one certificate: 已撤销, 已续期, 已过期, 已暂停, 即将到期 or 有效."""
    if certificate.revoked_at is not None:
        return "已撤销"
    if certificate.renewed_at is not None and certificate.renewed_at <= now:
        return RENEWED
    if now >= certificate.expires_at:
        return "已过期"
    if suspended:
        return "已暂停"
    if certificate.expires_at - now <= timedelta(days=EXPIRING_DAYS):
        return "即将到期"
    return "有效"


def person_status(certificate: CertificateFacts | None, progressed: bool, suspended: bool, now: datetime) -> str:
    """A person's status for a certification: their newest certificate's state, else 进行中 when
    some requirement was met or started, else 未开始 (`evaluate`, and the kept standings of
    lms/certification/standing.py, which hold these three facts and ask the clock when read)."""
    if certificate is not None:
        return certificate_status(certificate, now, suspended)
    return "进行中" if progressed else "未开始"


def _course(item: CourseItem, studied: Studied) -> Requirement:
    done = min(studied.modules, item.modules)
    met = item.modules > 0 and done >= item.modules
    return Requirement("course", item.slug, item.title, met, "已学完" if met else f"{done}/{item.modules}章",
                       studied.last_at if met else None, done > 0)


def _scenario(item: ScenarioItem, practised: Practised, since: datetime | None = None) -> Requirement:
    """The scenario requirement; with `since`, only passes at or after it count (a renewal window)."""
    passes = [(score, at) for score, at in practised.passes if since is None or at >= since]
    best = max((score for score, _ in passes), default=None)
    met_at = max((at for score, at in passes if score >= item.minimum), default=None)
    if met_at is not None:
        detail = f"{PASSED}（{best}分）"
    elif best is not None:
        detail = f"{FAILED}（最高{best}分）"  # passed, but below the rule's minimum
    elif since is not None:
        detail = f"续证期内{FAILED}"
    else:
        detail = FAILED if practised.tried else NOT_PRACTISED  # tried: finished runs, none passed in typing mode
    return Requirement("scenario", item.slug, item.title, met_at is not None, detail, met_at,
                       bool(passes) if since is not None else practised.tried, item.minimum)


def _exam(item: ExamItem, examined: Examined, since: datetime | None = None) -> Requirement:
    """The exam requirement; with `since`, only a pass at or after it counts (a renewal window)."""
    passed_at = examined.passed_at
    if since is not None and passed_at is not None and passed_at < since:
        passed_at = None  # passed before the window opened
    met = passed_at is not None
    if met:
        detail = PASSED
    elif since is not None:
        detail = f"续证期内{FAILED}"
    else:
        detail = f"{FAILED}（最高{examined.best:g}分）" if examined.best is not None else NOT_TAKEN
    return Requirement("exam", item.slug, item.title, met, detail, passed_at,
                       met if since is not None else examined.best is not None)


def evaluate(rule: Rule, facts: PersonFacts, now: datetime) -> Evaluation:
    """Work out each requirement of the rule for the person, and their status."""
    requirements = (
        *(_course(c, facts.studied.get(c.course_id, Studied())) for c in rule.courses),
        *(_scenario(s, facts.practised.get(s.scenario_id, Practised())) for s in rule.scenarios),
        *((_exam(rule.exam, facts.examined.get(rule.exam.exam_id, Examined())),) if rule.exam else ()),
    )
    certificate = facts.certificates.get(rule.certification_id)
    status = person_status(certificate, any(r.met or r.started for r in requirements), facts.suspended, now)
    renewal: tuple[Requirement, ...] = ()
    opens = None
    path = rule.recertification
    if path is not None and certificate is not None and certificate.revoked_at is None:
        opens = window_opening(certificate, path)
        renewal = (*(_scenario(s, facts.practised.get(s.scenario_id, Practised()), opens) for s in path.scenarios),
                   *((_exam(path.exam, facts.examined.get(path.exam.exam_id, Examined()), opens),)
                     if path.exam else ()))
    return Evaluation(requirements, certificate, status, renewal, opens)


def due_for_issue(evaluation: Evaluation, now: datetime) -> bool:
    """Tell whether a certificate is to be issued now.

    Every requirement must be met and no certificate may be running. After a revocation or an
    expiry something must have been met again since: the exam, where the rule has one (a practice
    run is not enough), else any requirement.
    """
    if not evaluation.all_met:
        return False
    if evaluation.certificate is None:
        return True
    ended = evaluation.certificate.ended_at(now)
    if ended is None:
        return False
    exam = [r for r in evaluation.requirements if r.kind == "exam"]
    return any(r.met_at is not None and r.met_at > ended for r in exam or evaluation.requirements)


def due_for_renewal(evaluation: Evaluation, now: datetime) -> bool:
    """Tell whether the running certificate is to be renewed now: its window is open, it has not
    expired, and every requirement of the recertification path was met inside the window."""
    return (evaluation.window_open(now) and bool(evaluation.renewal)
            and all(r.met for r in evaluation.renewal))


def renewal_period(certificate: CertificateFacts, validity_months: int) -> tuple[datetime, datetime]:
    """The period of the certificate that renews this one: from its old expiry date (nobody loses
    time by renewing early) for the validity of the certification."""
    return certificate.expires_at, add_months(certificate.expires_at, validity_months)


def ending(certificate: CertificateFacts, now: datetime) -> tuple[str, datetime] | None:
    """How and when a certificate ended (已撤销, 已续期 or 已过期); None while it runs."""
    if certificate.revoked_at is not None and certificate.revoked_at <= now:
        return "已撤销", certificate.revoked_at
    if certificate.renewed_at is not None and certificate.renewed_at <= now:
        return RENEWED, certificate.renewed_at
    if certificate.expires_at <= now:
        return "已过期", certificate.expires_at
    return None


# ---------------------------------------------------------------- expiry reminders


@dataclass(frozen=True)
class ExpiryReminder:
    kind: str  # the outbox kind (and part of its key)
    days: int  # before expiry; 0: at expiry
    to: str  # holder | manager


EXPIRY_REMINDERS = (
    ExpiryReminder("cert-60d", 60, "holder"),
    ExpiryReminder("cert-30d", 30, "holder"),
    ExpiryReminder("cert-7d", 7, "holder"),
    ExpiryReminder("cert-expired", 0, "holder"),
    ExpiryReminder("cert-mgr-30d", 30, "manager"),
    ExpiryReminder("cert-mgr-expired", 0, "manager"),
)
REMINDER_CATCH_UP = timedelta(days=7)  # a reminder whose time came longer ago than this is not sent late
REMINDER_HORIZON = timedelta(days=max(r.days for r in EXPIRY_REMINDERS))


def reminder_at(certificate: CertificateFacts, reminder: ExpiryReminder) -> datetime:
    """When a reminder of this certificate comes."""
    return certificate.expires_at - timedelta(days=reminder.days)


def reminders_due(certificate: CertificateFacts, now: datetime) -> tuple[ExpiryReminder, ...]:
    """The expiry reminders of a person's current certificate that are due at `now`.

    For each recipient, the latest reminder whose time has come, if it came after the certificate
    was issued and less than REMINDER_CATCH_UP ago: a sweep that was down for a while sends the
    news that is still true, not a stale 「60天后到期」. None for a revoked or renewed certificate.
    """
    if certificate.revoked_at is not None or certificate.renewed_at is not None:
        return ()
    due = []
    for to in ("holder", "manager"):
        came = [r for r in EXPIRY_REMINDERS if r.to == to and reminder_at(certificate, r) <= now]
        if not came:
            continue
        latest = min(came, key=lambda r: r.days)
        moment = reminder_at(certificate, latest)
        if moment >= certificate.issued_at and now - moment < REMINDER_CATCH_UP:
            due.append(latest)
    return tuple(due)
