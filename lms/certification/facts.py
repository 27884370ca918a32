"""Certification facts: what people did that a certification's requirements look at, loaded in batch.

`load_facts` reads, for any number of people, the facts `status.evaluate` works on, in at most
four grouped queries whatever the head count (study, scenario runs, exam sittings, certificates).
A single person is a batch of one: the learner's 上岗证 page, issuance, the manager's matrix and
its XLSX, the store page and the archive all go through here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Collection, Iterable, Mapping

from sqlalchemy import and_, case, func, select

from ..catalog import Catalog, CertificationInfo, catalog
from ..clock import now
from ..courses.models import Module, ModuleProgress
# The one query shape of "studied in the current version" (courses own it; progress_by_course and
# studied_by_course are built on it): here it is grouped by person as well, with the last time.
from ..courses.service import current_study
from ..exams.models import Attempt
from ..extensions import db
from ..roleplay.models import Run
from .models import NEWEST_FIRST, Certificate, Certification
from .status import (CertificateFacts, CourseItem, Evaluation, Examined, ExamItem, PersonFacts, Practised, Rule,
                     ScenarioItem, Studied, evaluate)

StudiedByCourse = Mapping[int, tuple[int, datetime | None]]  # course id -> (modules, last studied at)


def rule_for(certification: Certification | CertificationInfo, content: Catalog | None = None) -> Rule:
    """Resolve a certification's rule against the current content (module counts, titles, ids)."""
    content = content or catalog()
    spec = certification.rule
    courses = tuple(CourseItem(slug, c.title, c.id, content.module_totals.get(c.id, 0))
                    for slug in spec.get("courses", ()) if (c := content.course_by_slug.get(slug)) is not None)
    scenarios = tuple(ScenarioItem(slug, s.title, s.id, int(minimum))
                      for slug, minimum in spec.get("scenarios", {}).items()
                      if (s := content.scenario_by_slug.get(slug)) is not None)
    exam = content.exam_by_slug.get(spec["exam"]) if spec.get("exam") else None
    return Rule(certification.id, courses, scenarios, ExamItem(exam.slug, exam.title, exam.id) if exam else None,
                int(spec.get("validity_months", 12)))


def load_facts(user_ids: Iterable[int], rules: Iterable[Rule], suspended: Collection[int],
               studied: Mapping[int, StudiedByCourse] | None = None) -> dict[int, PersonFacts]:
    """Load the facts of these people for these rules (`suspended`: the ids of people with an overdue
    notice, as the notices area tells; `studied`: per person, study already read by the caller)."""
    ids = sorted(set(user_ids))
    rules = list(rules)
    if not ids:
        return {}
    course_ids = sorted({c.course_id for r in rules for c in r.courses})
    scenario_ids = sorted({s.scenario_id for r in rules for s in r.scenarios})
    exam_ids = sorted({r.exam.exam_id for r in rules if r.exam})
    certification_ids = sorted({r.certification_id for r in rules})

    study: dict[int, dict[int, Studied]] = defaultdict(dict)
    if studied is not None and set(ids) <= set(studied):  # the caller's own studied_by_course: no query
        for user_id in ids:
            study[user_id] = {c: Studied(n, last) for c, (n, last) in studied[user_id].items()}
    elif course_ids:
        for user_id, course_id, n, last in db.session.execute(
                current_study(ModuleProgress.user_id, Module.course_id, func.count(),
                               func.max(ModuleProgress.completed_at))
                .where(ModuleProgress.user_id.in_(ids), Module.course_id.in_(course_ids))
                .group_by(ModuleProgress.user_id, Module.course_id)):
            study[user_id][course_id] = Studied(n, last)

    runs: dict[tuple[int, int], list[tuple[int | None, datetime | None]]] = defaultdict(list)
    if scenario_ids:  # per score reached: the last time a passed typing-mode run reached it
        for user_id, scenario_id, score, last in db.session.execute(
                select(Run.user_id, Run.scenario_id, Run.score,
                       func.max(case((and_(Run.passed.is_(True), Run.typed), Run.finished_at))))
                .where(Run.user_id.in_(ids), Run.scenario_id.in_(scenario_ids), Run.status == "finished")
                .group_by(Run.user_id, Run.scenario_id, Run.score)):
            runs[(user_id, scenario_id)].append((score, last))
    practised: dict[int, dict[int, Practised]] = defaultdict(dict)
    for (user_id, scenario_id), rows in runs.items():
        passes = tuple(sorted((score, last) for score, last in rows if score is not None and last is not None))
        practised[user_id][scenario_id] = Practised(True, passes)

    examined: dict[int, dict[int, Examined]] = defaultdict(dict)
    if exam_ids:
        for user_id, exam_id, best, passed_at in db.session.execute(
                select(Attempt.user_id, Attempt.exam_id, func.max(Attempt.score),
                       func.max(case((Attempt.passed.is_(True), Attempt.submitted_at))))
                .where(Attempt.user_id.in_(ids), Attempt.exam_id.in_(exam_ids), Attempt.kind == "exam")
                .group_by(Attempt.user_id, Attempt.exam_id)):
            examined[user_id][exam_id] = Examined(best, passed_at)

    newest: dict[int, dict[int, CertificateFacts]] = defaultdict(dict)
    if certification_ids:  # newest first: the first one of each certification is the current one
        for c in db.session.execute(
                select(Certificate.id, Certificate.code, Certificate.user_id, Certificate.certification_id,
                       Certificate.issued_at, Certificate.expires_at, Certificate.revoked_at)
                .where(Certificate.user_id.in_(ids), Certificate.certification_id.in_(certification_ids))
                .order_by(*NEWEST_FIRST)):
            newest[c.user_id].setdefault(c.certification_id, CertificateFacts(
                c.issued_at, c.expires_at, c.revoked_at, c.id, c.code))
    overdue = set(suspended)
    return {user_id: PersonFacts(study.get(user_id, {}), practised.get(user_id, {}), examined.get(user_id, {}),
                                 newest.get(user_id, {}), user_id in overdue) for user_id in ids}


def certificate_facts(certificate: Certificate) -> CertificateFacts:
    """The facts of one certificate, for a page about that certificate."""
    return CertificateFacts(certificate.issued_at, certificate.expires_at, certificate.revoked_at, certificate.id,
                            certificate.code)


def evaluate_person(user_id: int, certification: Certification | CertificationInfo, suspended: bool | None = None,
                    studied: StudiedByCourse | None = None, at: datetime | None = None) -> Evaluation:
    """Evaluate one person (a batch of one); `suspended` is asked of the notices area unless given."""
    if suspended is None:
        from ..notices.service import is_suspended

        suspended = is_suspended(user_id)
    rule = rule_for(certification)
    facts = load_facts([user_id], [rule], [user_id] if suspended else (),
                       {user_id: studied} if studied is not None else None)
    return evaluate(rule, facts[user_id], at or now())


def evaluate_people(people: Iterable[tuple[int, str | None]], suspended: Collection[int],
                    at: datetime | None = None) -> dict[int, tuple[CertificationInfo, Evaluation]]:
    """Evaluate each (user id, position) against their position's certification; people whose
    position needs none are left out."""
    content = catalog()
    wanted = {user_id: c for user_id, position in people if (c := content.certification_for(position)) is not None}
    rules: dict[int, Rule] = {}
    for c in wanted.values():
        if c.id not in rules:
            rules[c.id] = rule_for(c, content)
    facts = load_facts(wanted, rules.values(), suspended)
    at = at or now()
    return {user_id: (c, evaluate(rules[c.id], facts[user_id], at)) for user_id, c in wanted.items()}
