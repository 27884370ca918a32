"""Certification status (pure): which requirements a person meets, and what a manager sees.

A *requirement* is one thing a certification (上岗认证) asks of a position group: every current
module of a course studied in its current version; a scenario passed in typing mode with at least
the rule's score (a run in 新手模式, choosing answers, never counts); the exam passed.

The *status* of a person for a certification: 未开始 (nothing met or started yet) / 进行中 (some
progress, no certificate) / 有效 / 即将到期 (within 30 days) / 已过期 / 已暂停 (the holder has an
overdue new-business notice) / 已撤销 — the last five from the newest certificate.

`evaluate(rule, facts, now)` is the one place these are worked out; the facts are loaded in batch
by `facts.load_facts` (a person is a batch of one) for every page, export and issuance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Mapping

EXPIRING_DAYS = 30
NOT_REQUIRED = "无需认证"  # the person's position has no certification
STATUS_LEVEL = {"未开始": "off", "进行中": "warn", "有效": "ok", "即将到期": "warn", "已过期": "bad",
                "已暂停": "bad", "已撤销": "bad", NOT_REQUIRED: "off"}
_EMPTY: Mapping = MappingProxyType({})


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
class Rule:
    """A certification's requirements as they stand in the current content (rules naming content
    that no longer exists are left out)."""

    certification_id: int
    courses: tuple[CourseItem, ...] = ()
    scenarios: tuple[ScenarioItem, ...] = ()
    exam: ExamItem | None = None
    validity_months: int = 12


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

    @property
    def all_met(self) -> bool:
        return bool(self.requirements) and all(r.met for r in self.requirements)


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


def certificate_status(certificate: CertificateFacts, now: datetime, suspended: bool = False) -> str:
    """Return the state of one certificate: 已撤销, 已过期, 已暂停, 即将到期 or 有效."""
    if certificate.revoked_at is not None:
        return "已撤销"
    if now >= certificate.expires_at:
        return "已过期"
    if suspended:
        return "已暂停"
    if certificate.expires_at - now <= timedelta(days=EXPIRING_DAYS):
        return "即将到期"
    return "有效"


def _course(item: CourseItem, studied: Studied) -> Requirement:
    done = min(studied.modules, item.modules)
    met = item.modules > 0 and done >= item.modules
    return Requirement("course", item.slug, item.title, met, "已学完" if met else f"{done}/{item.modules}章",
                       studied.last_at if met else None, done > 0)


def _scenario(item: ScenarioItem, practised: Practised) -> Requirement:
    best = max((score for score, _ in practised.passes), default=None)
    met_at = max((at for score, at in practised.passes if score >= item.minimum), default=None)
    if met_at is not None:
        detail = f"{best}分"
    elif best is not None:
        detail = f"最高{best}分"  # passed, but below the rule's minimum
    else:
        detail = "打字模式未通过" if practised.tried else "未练习"
    return Requirement("scenario", item.slug, item.title, met_at is not None, detail, met_at, practised.tried,
                       item.minimum)


def _exam(item: ExamItem, examined: Examined) -> Requirement:
    met = examined.passed_at is not None
    if met:
        detail = "已通过"
    else:
        detail = f"最高{examined.best:g}分" if examined.best is not None else "未考"
    return Requirement("exam", item.slug, item.title, met, detail, examined.passed_at, examined.best is not None)


def evaluate(rule: Rule, facts: PersonFacts, now: datetime) -> Evaluation:
    """Work out each requirement of the rule for the person, and their status."""
    requirements = (
        *(_course(c, facts.studied.get(c.course_id, Studied())) for c in rule.courses),
        *(_scenario(s, facts.practised.get(s.scenario_id, Practised())) for s in rule.scenarios),
        *((_exam(rule.exam, facts.examined.get(rule.exam.exam_id, Examined())),) if rule.exam else ()),
    )
    certificate = facts.certificates.get(rule.certification_id)
    if certificate is not None:
        status = certificate_status(certificate, now, facts.suspended)
    elif any(r.met or r.started for r in requirements):
        status = "进行中"
    else:
        status = "未开始"
    return Evaluation(requirements, certificate, status)


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
